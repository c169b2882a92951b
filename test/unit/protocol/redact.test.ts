// --redact: each mode's values become ?, and nothing else changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactorFor, redactMessage } from '../../../src/protocol/redact';
import { PREVIEW_MAX } from '../../../src/protocol/message';

function red(mode: string, text: string): string {
  const b = Buffer.alloc(PREVIEW_MAX);
  const n = b.write(text, 'latin1');
  return b.toString('latin1', 0, redactorFor(mode)(b, n));
}

test('SQL: strings, numbers, prefixed and dollar-quoted literals become ?; names, placeholders and comments stay', () => {
  assert.equal(red('mysql', `SELECT * FROM t1 WHERE a = 'x''y' AND b = "z\\"q" AND c IN (1, 2.5, -3e4, 0x1F) AND d = X'ab'`), 'SELECT * FROM t1 WHERE a = ? AND b = ? AND c IN (?, ?, -?, ?) AND d = ?');
  assert.equal(red('mysql', 'INSERT INTO `t2` (`a`) VALUES (?)'), 'INSERT INTO `t2` (`a`) VALUES (?)');
  assert.equal(red('pgsql', `SELECT "col1" FROM t WHERE a = $1 AND b = 'it''s' AND c = $$raw 'x'$$ AND d = E'a\\'b' /* 42 */`), 'SELECT "col1" FROM t WHERE a = $1 AND b = ? AND c = ? AND d = ? /* 42 */');
  assert.equal(red('pgsql', `SELECT 'cut off`), 'SELECT ?');
});

test('a cut preview keeps its "..." after redaction', () => {
  const long = `SELECT '${'a'.repeat(300)}`;
  const b = Buffer.from(long.slice(0, PREVIEW_MAX), 'latin1');
  const n = redactorFor('pgsql')(b, PREVIEW_MAX);
  assert.equal(b.toString('latin1', 0, n), 'SELECT ?...');
});

test('redis keeps the command and key; memcached hides incr amounts; http hides query values', () => {
  assert.equal(red('redis', 'SET user:1 secret EX 10'), 'SET user:1 ? ? ?');
  assert.equal(red('redis', 'AUTH hunter2'), 'AUTH ?');
  assert.equal(red('redis', 'GET k'), 'GET k');
  assert.equal(red('memcached', 'incr counter 5'), 'incr counter ?');
  assert.equal(red('memcached', 'set k 0 0 5'), 'set k 0 0 5');
  assert.equal(red('http', 'GET /search?q=alice&page=2#top'), 'GET /search?q=?&page=?#top');
  assert.equal(red('dns', 'example.com A'), 'example.com A');
});

test('error messages lose every quoted part and number', () => {
  assert.equal(redactMessage(`Duplicate entry 'bob@example.com' for key 'email'`), 'Duplicate entry ? for key ?');
  assert.equal(redactMessage('invalid input syntax for type integer: "abc"'), 'invalid input syntax for type integer: ?');
});

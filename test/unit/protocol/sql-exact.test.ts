// What the SQL modes share (src/protocol/sql.ts) and --redact
// (src/protocol/redact.ts), function by function with exact values: the
// statement text as one line, every kind of literal and what is not one, the
// interned names and the per-connection statement table. Written for the
// survivors of `make mutate` (test/TESTING.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageInfo, PREVIEW_MAX } from '../../../src/protocol/message';
import { InternTable, MYSQL_DIALECT, PGSQL_DIALECT, STRICT_DIALECT, StatementTable, appendSql, redactSql, redactSqlPreview, redactSqlText, trimSql, type SqlDialect } from '../../../src/protocol/sql';
import { redactMessage, redactorFor } from '../../../src/protocol/redact';

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');
const shown = (info: MessageInfo): string => info.preview.toString('latin1', 0, info.previewLen);

test('appendSql: one line; leading white space dropped, each run of it one space, control bytes and DEL as "."', () => {
  const info = new MessageInfo();
  const buf = latin1('xx \t\n\v\f\rSELECT\t\t1,\r\n  a\x01\x08\x0e\x1f\x7f\x80b  ');
  appendSql(info, buf, 2, buf.length - 1);
  assert.equal(shown(info), 'SELECT 1, a.....\x80b ');
  trimSql(info);
  assert.equal(shown(info), 'SELECT 1, a.....\x80b');
  // Appended after text that ends in a space: no second space; after other text: one.
  appendSql(info, latin1('  c'), 0, 3);
  assert.equal(shown(info), 'SELECT 1, a.....\x80b c');
  info.previewLen = 2;
  info.preview[1] = 0x20;
  appendSql(info, latin1('\t\td'), 0, 3);
  assert.equal(shown(info).slice(1), ' d');
  // Only white space: nothing.
  const empty = new MessageInfo();
  appendSql(empty, latin1(' \t \n'), 0, 4);
  assert.equal(empty.previewLen, 0);
  trimSql(empty);
  assert.equal(empty.previewLen, 0);
});

test('appendSql stops at PREVIEW_MAX; trimSql leaves a full preview as it is', () => {
  const info = new MessageInfo();
  const text = `${'a'.repeat(PREVIEW_MAX - 1)} b c`;
  appendSql(info, latin1(text), 0, text.length);
  assert.equal(info.previewLen, PREVIEW_MAX);
  assert.equal(shown(info), `${'a'.repeat(PREVIEW_MAX - 1)} `);
  trimSql(info);
  assert.equal(info.previewLen, PREVIEW_MAX, 'a full preview is cut text: its last space stays');
  const two = new MessageInfo();
  appendSql(two, latin1('x   '), 0, 4);
  appendSql(two, latin1('   '), 0, 3);
  assert.equal(shown(two), 'x ');
  trimSql(two);
  assert.equal(shown(two), 'x');
});

function redact(text: string, d: SqlDialect): string {
  const b = latin1(text);
  return b.toString('latin1', 0, redactSql(b, b.length, d));
}

test('redactSql: strings, with their prefixes, doubled quotes and (MySQL, E\'\') backslashes', () => {
  const both: [string, string][] = [
    [`'a'`, '?'],
    [`a = 'x''y'`, 'a = ?'],
    [`''`, '?'],
    [`'' ''`, '? ?'],
    [`X'4142' x'41' B'01' b'1' N'n' n'n'`, '? ? ? ? ? ?'],
    [`f(x'41',1)`, 'f(?,?)'],
    // The letter is part of a word: not a prefix.
    [`tex'a'`, 'tex?'],
    [`ax'a'`, 'ax?'],
    [`'cut off`, '?'],
    [`'a' 'b`, '? ?'],
    [`t1.a`, 't1.a'],
  ];
  for (const [text, out] of both) {
    assert.equal(redact(text, MYSQL_DIALECT), out, `mysql: ${text}`);
    assert.equal(redact(text, PGSQL_DIALECT), out, `pgsql: ${text}`);
  }
  // Backslashes: MySQL escapes with them, PostgreSQL only in E'...'.
  assert.equal(redact(`'a\\'b' c`, MYSQL_DIALECT), '? c');
  // PostgreSQL: the string ends at the second quote; then b'...' is a bit string, to the end.
  assert.equal(redact(`'a\\'b' c`, PGSQL_DIALECT), '??');
  assert.equal(redact(`'a\\'+' c`, PGSQL_DIALECT), '?+?');
  assert.equal(redact(`E'a\\'b' c`, PGSQL_DIALECT), '? c');
  assert.equal(redact(`e'a\\'b' c`, PGSQL_DIALECT), '? c');
  assert.equal(redact(`'a\\\\' c`, MYSQL_DIALECT), '? c');
  // Double quotes: a string in MySQL, a name in PostgreSQL.
  assert.equal(redact(`"a""b" = "c\\"d"`, MYSQL_DIALECT), '? = ?');
  assert.equal(redact(`"a""b" = 1`, PGSQL_DIALECT), '"a""b" = ?');
  assert.equal(redact('`x 1` = 2', MYSQL_DIALECT), '`x 1` = ?');
  assert.equal(redact('`cut 1', MYSQL_DIALECT), '`cut 1');
});

test('redactSql: numbers, and what only looks like one', () => {
  const cases: [string, string][] = [
    ['1', '?'],
    ['0', '?'],
    ['a=12', 'a=?'],
    ['2.5 .5 5.', '? ? ?'],
    ['1e10 1E+5 1e-5 2.5e3', '? ? ? ?'],
    ['0x1F 0X1f 0xZZ', '? ? ?'],
    ['0x', '?'],
    ['x 0', 'x ?'],
    ['-3', '-?'],
    ['a-1', 'a-?'],
    // Names with digits in them, or starting with digits (MySQL allows 1abc).
    ['t1 a2b _3 é4', 't1 a2b _3 é4'],
    ['1abc 2e 3ex', '1abc 2e 3ex'],
    ['1e+', '1e+'],
    ['1e+x', '1e+x'],
    ['9 .', '? .'],
    ['a.5', 'a.?'],
    ['(1)', '(?)'],
    ['$1 $23', '$1 $23'],
  ];
  for (const [text, out] of cases) assert.equal(redact(text, MYSQL_DIALECT), out, `mysql: ${text}`);
  assert.equal(redact('a.5', PGSQL_DIALECT), 'a.?');
  assert.equal(redact('1e+', PGSQL_DIALECT), '1e+');
});

test('redactSql: comments stay, with the numbers in them', () => {
  const cases: [string, string][] = [
    ['1 -- 2', '? -- 2'],
    ['1 - 2', '? - ?'],
    ['1 -', '? -'],
    ['/* 42 */ 7', '/* 42 */ ?'],
    ['/* 42 * / 7', '/* 42 * / 7'],
    ['/* 1 */', '/* 1 */'],
    ['/*/ 1 */ 2', '/*/ 1 */ ?'],
    ['/**/3', '/**/?'],
    ['/ 3', '/ ?'],
    ['3 /', '? /'],
    ['/*', '/*'],
    ['/* 5 *', '/* 5 *'],
  ];
  for (const [text, out] of cases) {
    assert.equal(redact(text, MYSQL_DIALECT), out, `mysql: ${text}`);
    assert.equal(redact(text, PGSQL_DIALECT), out, `pgsql: ${text}`);
  }
});

test('redactSql: PostgreSQL dollar quotes ($$, $tag$) and $1 parameters; MySQL has neither', () => {
  const cases: [string, string][] = [
    ['$$a$$', '?'],
    ['$$ it\'s $$ x', '? x'],
    ['$t$ a $$ b $t$ 1', '? ?'],
    ['$tag1$ x $tag1$', '?'],
    ['$t$ cut', '?'],
    ['$t$ a $t', '?'],
    ['$$', '?'],
    ['$1', '$1'],
    ['$12, $3', '$12, $3'],
    ['$1a', '$1a'],
    ['a$$b$$', 'a$$b$$'],
    ['x = $', 'x = $'],
    ['$ 5', '$ ?'],
    ['$a 5', '$a ?'],
  ];
  for (const [text, out] of cases) assert.equal(redact(text, PGSQL_DIALECT), out, `pgsql: ${text}`);
  assert.equal(redact('$$a$$ 1', MYSQL_DIALECT), '$$a$$ ?');
  assert.equal(redact('$1', MYSQL_DIALECT), '$1');
});

test('redactSqlPreview: a full (cut) preview ends in "..." when redaction made room; redactSqlText and redactMessage', () => {
  const full = latin1(`SELECT '${'x'.repeat(PREVIEW_MAX - 8)}`);
  assert.equal(full.length, PREVIEW_MAX);
  const n = redactSqlPreview(full, PREVIEW_MAX, PGSQL_DIALECT);
  assert.equal(full.toString('latin1', 0, n), 'SELECT ?...');
  // Nothing to redact in a full preview: as it is, no room for "...".
  const names = latin1('a'.repeat(PREVIEW_MAX));
  assert.equal(redactSqlPreview(names, PREVIEW_MAX, MYSQL_DIALECT), PREVIEW_MAX);
  // One byte shorter after redaction than full: the dots take what room there is.
  const almost = latin1(`${'a '.repeat((PREVIEW_MAX - 2) / 2)}12`);
  assert.equal(almost.length, PREVIEW_MAX);
  const m = redactSqlPreview(almost, PREVIEW_MAX, MYSQL_DIALECT);
  assert.equal(m, PREVIEW_MAX);
  assert.equal(almost.toString('latin1', PREVIEW_MAX - 4, m), 'a ?.');
  // Not full: no dots.
  const short = Buffer.alloc(PREVIEW_MAX);
  const k = short.write(`a = 'b'`, 'latin1');
  assert.equal(short.toString('latin1', 0, redactSqlPreview(short, k, MYSQL_DIALECT)), 'a = ?');
  assert.equal(redactSqlText(''), '');
  assert.equal(redactMessage(''), '');
  // Errors: every quoted thing and number, whatever the dialect would say.
  assert.equal(redactSqlText(`a "x" 'it\\'s' $$y$$ $t$z$t$ 5 \`n\` é`), 'a ? ? ? ? ? `n` é');
  assert.equal(STRICT_DIALECT.doubleQuoteIsString && STRICT_DIALECT.backslashEscapes && STRICT_DIALECT.dollarQuotes, true);
});

function red(mode: string, text: string, full = false): string {
  const b = Buffer.alloc(PREVIEW_MAX, 0x7e);
  const n = full ? b.write(text.padEnd(PREVIEW_MAX, 'z'), 'latin1') : b.write(text, 'latin1');
  return b.toString('latin1', 0, redactorFor(mode)(b, n));
}

test('redactors: redis keeps two tokens (AUTH, HELLO, ECHO one), memcached hides incr/decr/ma amounts, http query values', () => {
  const cases: [string, string, string][] = [
    ['redis', 'SET k v', 'SET k ?'],
    ['redis', 'set  k   v  w', 'set  k   ?  ?'],
    ['redis', 'GET', 'GET'],
    ['redis', ' GET k v', ' GET k ?'],
    ['redis', 'auth user pass', 'auth ? ?'],
    ['redis', 'HELLO 3 AUTH u p', 'HELLO ? ? ? ?'],
    ['redis', 'ECHO hi', 'ECHO ?'],
    ['redis', 'AUTHX a b', 'AUTHX a ?'],
    ['redis', 'AUT a b', 'AUT a ?'],
    ['redis', 'ECH a b', 'ECH a ?'],
    ['memcached', 'decr n 7', 'decr n ?'],
    ['memcached', 'DECR n 7', 'DECR n ?'],
    ['memcached', 'ma k D 5', 'ma k ? ?'],
    ['memcached', 'mg k v', 'mg k v'],
    ['memcached', 'incrx n 7', 'incrx n 7'],
    ['memcached', 'inc n 7', 'inc n 7'],
    ['memcached', 'incr', 'incr'],
    // An empty value stays empty (a ? there once overwrote the rest of the line: ?&d HTTP/1.1 became ????...).
    ['http', 'GET /a?b=1&c=&d HTTP/1.1', 'GET /a?b=?&c=&d HTTP/1.1'],
    ['http', 'GET /a?b=', 'GET /a?b='],
    // After '#' (a fragment, which clients do not send) a value is hidden too: the safe side.
    ['http', 'GET /a?b=#c=1', 'GET /a?b=#c=?'],
    ['http', 'GET /a=1?b=2=3#x=4', 'GET /a=1?b=?#x=?'],
    ['http', 'GET /p?a=1 /q=2 ?r=3', 'GET /p?a=? /q=2 ?r=?'],
    ['http', 'GET /p?a=1??b=2', 'GET /p?a=?'],
    ['http', 'GET /p??a=1', 'GET /p??a=?'],
    ['http', 'POST /x', 'POST /x'],
    ['pgsql', `SELECT "a", 'b'`, `SELECT "a", ?`],
    ['mysql', `SELECT "a", 'b'`, 'SELECT ?, ?'],
    ['dns', 'example.com A', 'example.com A'],
    ['kafka', 'Produce t 1', 'Produce t 1'],
  ];
  for (const [mode, text, out] of cases) assert.equal(red(mode, text), out, `${mode}: ${text}`);
  // A full preview (cut) keeps its "..." when there is room.
  assert.equal(red('redis', 'SET k v', true), `SET k ?...`);
  assert.equal(red('memcached', 'incr k 5', true), 'incr k ?...');
  assert.equal(red('http', 'GET /?a=1', true), 'GET /?a=?...');
  assert.equal(red('redis', 'GET k', true), `GET k${'z'.repeat(PREVIEW_MAX - 5)}`);
  assert.equal(red('http', 'GET /p', true), `GET /p${'z'.repeat(PREVIEW_MAX - 6)}`);
});

test('InternTable: the same string for the same bytes, wherever they are; only printable names; bounded', () => {
  const t = new InternTable(3, 'OTHER', ['SELECT']);
  const a = t.get(latin1('xxSELECT'), 2, 6);
  assert.equal(a, 'SELECT');
  assert.equal(t.get(latin1('SELECTED'), 0, 8), 'SELECTED');
  assert.equal(t.get(latin1('SELECTED'), 0, 6), 'SELECT');
  assert.equal(t.get(latin1('SELECTOR'), 0, 6), 'SELECT');
  assert.equal(t.get(latin1('SELECTS'), 0, 7), 'SELECTS');
  assert.equal(t.get(latin1(''), 0, 0), '');
  // Full (three): a new one is OTHER, known ones still found, with their first byte or not.
  assert.equal(t.get(latin1('INSERT'), 0, 6), 'OTHER');
  assert.equal(t.get(latin1('SELECTS'), 0, 7), 'SELECTS');
  assert.equal(t.get(latin1('SELECTEE'), 0, 8), 'OTHER');
  // Not printable, a quote or a backslash: OTHER, and not counted.
  const u = new InternTable(2, '?');
  for (const bad of ['a\x1fb', 'a\x7fb', 'a"b', 'a\\b', '\x80', 'a\x00']) assert.equal(u.get(latin1(bad), 0, bad.length), '?', JSON.stringify(bad));
  assert.equal(u.get(latin1(' ~'), 0, 2), ' ~');
  assert.equal(u.get(latin1('!'), 0, 1), '!');
  assert.equal(u.get(latin1('#'), 0, 1), '?');
  // Texts that differ only after their first byte, or in length.
  const v = new InternTable(10, '?');
  assert.equal(v.get(latin1('ab'), 0, 2), 'ab');
  assert.equal(v.get(latin1('ac'), 0, 2), 'ac');
  assert.equal(v.get(latin1('abc'), 0, 3), 'abc');
  assert.equal(v.get(latin1('a'), 0, 1), 'a');
  assert.equal(v.get(latin1('ab'), 0, 2), 'ab');
  assert.equal(v.get(latin1('zac'), 1, 2), 'ac');
});

const name = (s: string): Uint8Array => latin1(s);
const text = (s: string): Uint8Array => latin1(s);
const get = (t: StatementTable, s: string): string | null => {
  const r = t.get(latin1(`..${s}`), 2, s.length);
  return r === null ? null : Buffer.from(r).toString('latin1');
};

test('StatementTable: set, replace, get by bytes at an offset, delete, clear', () => {
  const t = new StatementTable(4);
  t.set(latin1('..s1'), 2, 2, text('SELECT 1'));
  t.set(name('s2'), 0, 2, text('SELECT 2'));
  t.set(name('s10'), 0, 3, text('SELECT 10'));
  assert.equal(get(t, 's1'), 'SELECT 1');
  assert.equal(get(t, 's2'), 'SELECT 2');
  assert.equal(get(t, 's10'), 'SELECT 10');
  assert.equal(get(t, 's'), null);
  assert.equal(get(t, 's3'), null);
  t.set(name('s2'), 0, 2, text('SELECT 22'));
  assert.equal(get(t, 's2'), 'SELECT 22');
  t.delete(name('s1'), 0, 2);
  assert.equal(get(t, 's1'), null);
  assert.equal(get(t, 's2'), 'SELECT 22');
  assert.equal(get(t, 's10'), 'SELECT 10');
  t.delete(name('nope'), 0, 4);
  t.delete(name('s10'), 0, 3);
  assert.equal(get(t, 's10'), null);
  assert.equal(get(t, 's2'), 'SELECT 22');
  t.delete(name('s2'), 0, 2);
  assert.equal(get(t, 's2'), null);
  t.set(name('a'), 0, 1, text('A'));
  t.clear();
  assert.equal(get(t, 'a'), null);
  t.set(name('b'), 0, 1, text('B'));
  assert.equal(get(t, 'b'), 'B');
});

test('StatementTable: when full, the oldest entry goes, then the next oldest', () => {
  const t = new StatementTable(3);
  for (const n of ['a', 'b', 'c']) t.set(name(n), 0, 1, text(n.toUpperCase()));
  t.set(name('d'), 0, 1, text('D'));
  assert.deepEqual(['a', 'b', 'c', 'd'].map((n) => get(t, n)), [null, 'B', 'C', 'D']);
  t.set(name('e'), 0, 1, text('E'));
  assert.deepEqual(['b', 'c', 'd', 'e'].map((n) => get(t, n)), [null, 'C', 'D', 'E']);
  // Replacing a name evicts nothing.
  t.set(name('c'), 0, 1, text('C2'));
  assert.deepEqual(['c', 'd', 'e'].map((n) => get(t, n)), ['C2', 'D', 'E']);
  t.set(name('f'), 0, 1, text('F'));
  t.set(name('g'), 0, 1, text('G'));
  assert.deepEqual(['c', 'd', 'e', 'f', 'g'].map((n) => get(t, n)), [null, null, 'E', 'F', 'G']);
  // A delete when full: the next set fills the hole, nothing else goes.
  const u = new StatementTable(3);
  for (const n of ['a', 'b', 'c']) u.set(name(n), 0, 1, text(n));
  u.set(name('d'), 0, 1, text('d')); // evicts a; the next to go is b
  u.delete(name('c'), 0, 1);
  u.set(name('e'), 0, 1, text('e'));
  assert.deepEqual(['a', 'b', 'c', 'd', 'e'].map((n) => get(u, n)), [null, 'b', null, 'd', 'e']);
  u.set(name('f'), 0, 1, text('f'));
  assert.deepEqual(['b', 'd', 'e', 'f'].map((n) => get(u, n)), [null, 'd', 'e', 'f']);
  // Deleting down to fewer than the next slot: eviction starts again at the first.
  const v = new StatementTable(2);
  for (const n of ['a', 'b', 'c']) v.set(name(n), 0, 1, text(n)); // c replaced a; next is slot 1 (b)
  v.delete(name('b'), 0, 1);
  v.delete(name('c'), 0, 1);
  for (const n of ['x', 'y', 'z']) v.set(name(n), 0, 1, text(n));
  assert.deepEqual(['x', 'y', 'z'].map((n) => get(v, n)), [null, 'y', 'z']);
});

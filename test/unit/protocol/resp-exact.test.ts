// The RESP parser, field by field: the status text of error replies (the
// one-pass path and the state machine), malformed lengths, nested requests,
// inline commands' spacing and long arguments, pub/sub's first element, what
// a gap reports, and MessageInfo.begin()'s SQL fields. Written for the
// survivors of `make mutate` (test/TESTING.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newPairedConnection } from '../../../src/pairing/connection';
import { RespParser } from '../../../src/protocol/resp';
import { MessageInfo, MessageKind, ResetReason } from '../../../src/protocol/message';
import { FullRecorder, msg, type Full } from '../../helpers/full-recorder';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Feeds each chunk at time (i + 1, 10 * (i + 1)), at offset 3 of a larger buffer. */
function parse(request: boolean, chunks: string[]): FullRecorder {
  const rec = new FullRecorder();
  const p = new RespParser(newPairedConnection(), request, rec);
  chunks.forEach((c, i) => {
    const buf = Buffer.concat([b('\n\n\n'), b(c), b('xx')]);
    p.feed(buf, 3, 3 + c.length, i + 1, 10 * (i + 1));
  });
  return rec;
}

const reply = (f: Partial<Full>): Full => msg({ fromClient: false, ...f });

test('error replies: the first word is the status text, whole or split anywhere', () => {
  const cases: [string, string][] = [
    ['-ERR unknown command\r\n', 'ERR'],
    ['-WRONGTYPE Operation against a key\r\n', 'WRONGTYPE'],
    ['-NOAUTH_2x Authentication required.\r\n', 'NOAUTH_2x'],
    ['- leading space\r\n', ''],
    ['-\r\n', ''],
    [`-${'E'.repeat(40)} x\r\n`, 'E'.repeat(32)],
  ];
  for (const [wire, code] of cases) {
    const whole = parse(false, [wire]);
    assert.deepEqual(whole.seen, [reply({ error: true, statusText: code, bytes: wire.length, start: [1, 10], end: [1, 10] })], JSON.stringify(wire));
    // Split anywhere, the word itself included, into two chunks and into three.
    for (let at = 1; at < wire.length; at++) {
      const r = parse(false, [wire.slice(0, at), wire.slice(at)]);
      assert.deepEqual(r.seen.map((s) => [s.error, s.statusText, s.bytes]), [[true, code, wire.length]], `${JSON.stringify(wire)} split at ${at}`);
      for (let at2 = at + 1; at2 < wire.length; at2++) {
        const r3 = parse(false, [wire.slice(0, at), wire.slice(at, at2), wire.slice(at2)]);
        assert.deepEqual(r3.seen.map((s) => s.statusText), [code], `${JSON.stringify(wire)} split at ${at} and ${at2}`);
      }
    }
    // Split right after the '-': the word comes whole in the second chunk.
    const after = parse(false, ['-', wire.slice(1)]);
    assert.deepEqual(after.seen.map((s) => s.statusText), [code]);
  }
  // Other replies: no status text, whole or split.
  for (const wire of ['+OK\r\n', ':42\r\n', '$3\r\nERR\r\n', '*1\r\n+ERR\r\n', '!3\r\nERR\r\n']) {
    for (const chunks of [[wire], [wire.slice(0, 1), wire.slice(1)]]) {
      const r = parse(false, chunks);
      assert.deepEqual(r.seen.map((s) => [s.statusText, s.error]), [['', wire[0] === '!']], JSON.stringify(chunks));
    }
  }
  // An error nested in an array is no status.
  assert.deepEqual(parse(false, ['*1\r\n-ERR x\r\n']).seen.map((s) => [s.statusText, s.error]), [['', false]]);
  // A word cut by one segment does not leak into the next error's.
  assert.deepEqual(parse(false, ['-WRONG', 'TYPE x\r\n-E', 'RR y\r\n-', 'NOAUTH z\r\n']).seen.map((s) => s.statusText), ['WRONGTYPE', 'ERR', 'NOAUTH']);
});

test('the status word is read once: a simple string after a split error has none', () => {
  const r = parse(false, ['-', 'ERR x\r\n', '+', 'OK\r\n', '-', 'BUSY y\r\n', ':', '1\r\n']);
  assert.deepEqual(r.seen.map((s) => [s.statusText, s.error]), [
    ['ERR', true],
    ['', false],
    ['BUSY', true],
    ['', false],
  ]);
  // A reset between the '-' and its line forgets the word too.
  const rec = new FullRecorder();
  const p = new RespParser(newPairedConnection(), false, rec);
  p.feed(b('-'), 0, 1, 1, 0);
  p.reset();
  p.feed(b('+'), 0, 1, 2, 0);
  p.feed(b('OK\r\n'), 0, 4, 3, 0);
  assert.deepEqual(rec.seen, [reply({ statusText: '', bytes: 5, start: [2, 0], end: [3, 0] })]);
  // After a blob error (RESP3 '!'), no word is waiting either.
  const blob = parse(false, ['!3\r\nERR\r\n', '+', 'OK\r\n']);
  assert.deepEqual(blob.seen.map((s) => [s.statusText, s.error]), [
    ['', true],
    ['', false],
  ]);
  // Requests have no status, whatever their bytes.
  const q = parse(true, ['-ERR\r\n']);
  assert.deepEqual(q.seen.map((s) => [s.text, s.statusText, s.error]), [['-ERR', '', false]]);
});

test('malformed lengths reset; -1 is a null; a request\'s *-1 and *0 are no commands', () => {
  for (const wire of ['$x\r\n', '$\r\n', '$1x\r\n', '*-2\r\n', '$-5\r\n', '*--1\r\n', '*1-\r\n', '%-\r\n']) {
    for (const chunks of [[wire], [wire.slice(0, 2), wire.slice(2)]]) {
      const r = parse(false, chunks);
      assert.deepEqual(r.seen, [], JSON.stringify(chunks));
      assert.deepEqual(r.resets, [{ fromClient: false, reason: ResetReason.Malformed }], JSON.stringify(chunks));
    }
  }
  for (const wire of ['$-1\r\n', '*-1\r\n', '$0\r\n\r\n', '*0\r\n', '%0\r\n', '_\r\n', '*1\r\n$-1\r\n']) {
    const r = parse(false, [wire.slice(0, 1), wire.slice(1)]);
    assert.deepEqual(r.resets, [], wire);
    assert.deepEqual(r.seen.map((s) => s.bytes), [wire.length], wire);
  }
  const q = parse(true, ['*-1\r\n', '*0\r\n', '*1\r\n$4\r\nPING\r\n']);
  assert.deepEqual(q.resets, []);
  assert.deepEqual(q.seen.map((s) => [s.text, s.bytes]), [['PING', 14]]);
  // A bulk string in a request outside its array, and an array inside one: malformed.
  for (const wire of ['$4\r\nPING\r\n', '*1\r\n*1\r\n$1\r\na\r\n', '*1\r\n*0\r\n', '*2\r\n$1\r\na\r\n:1\r\n']) {
    const r = parse(true, [wire.slice(0, 1), wire.slice(1)]);
    assert.deepEqual(r.resets.map((x) => x.reason), wire.startsWith('$') ? [] : [ResetReason.Malformed], wire);
  }
});

test('inline commands: runs of spaces and tabs are one space, none at either end; a long argument is cut at 64', () => {
  const r = parse(true, [' \t PING \t  a\tb  \r\n']);
  assert.deepEqual(r.seen, [msg({ text: 'PING a b', bytes: 18, start: [1, 10], end: [1, 10] })]);
  const long = 'x'.repeat(70);
  const l = parse(true, [`SET ${long} ${'y'.repeat(64)} z\r\n`]);
  assert.deepEqual(l.seen.map((s) => s.text), [`SET ${'x'.repeat(64)}... ${'y'.repeat(64)} z`]);
  const cut = parse(true, [`GET ${'k'.repeat(65)}\r\n`]);
  assert.deepEqual(cut.seen.map((s) => s.text), [`GET ${'k'.repeat(64)}...`]);
  // Arrays: the same limit per argument.
  const arr = parse(true, [`*3\r\n$3\r\nSET\r\n$65\r\n${'k'.repeat(65)}\r\n$64\r\n${'v'.repeat(64)}\r\n`]);
  assert.deepEqual(arr.seen.map((s) => s.text), [`SET ${'k'.repeat(64)}... ${'v'.repeat(64)}`]);
  const split = parse(true, ['*2\r\n$3\r\nGET\r\n$65\r\n', 'k'.repeat(30), `${'k'.repeat(35)}\r\n`]);
  assert.deepEqual(split.seen.map((s) => [s.text, s.start, s.end]), [[`GET ${'k'.repeat(64)}...`, [1, 10], [3, 30]]]);
});

test('pub/sub: a response array of 3 or 4 whose first element is a 7 to 12 byte bulk string shows it (up to 16 bytes)', () => {
  const cases: [string, string][] = [
    ['*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n', 'message'],
    ['*4\r\n$8\r\npmessage\r\n$2\r\np*\r\n$2\r\nch\r\n$2\r\nhi\r\n', 'pmessage'],
    ['*3\r\n$12\r\npunsubscribe\r\n$2\r\nch\r\n:0\r\n', 'punsubscribe'],
    ['*3\r\n$6\r\nsubscr\r\n$2\r\nch\r\n:1\r\n', ''],
    ['*3\r\n$13\r\npunsubscribes\r\n$2\r\nch\r\n:1\r\n', ''],
    ['*2\r\n$7\r\nmessage\r\n$2\r\nch\r\n', ''],
    ['*5\r\n$7\r\nmessage\r\n:1\r\n:2\r\n:3\r\n:4\r\n', ''],
    ['*3\r\n:1\r\n$7\r\nmessage\r\n:2\r\n', ''],
    ['>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n', ''],
  ];
  for (const [wire, first] of cases) {
    for (const at of [0, 10, 13, 16]) {
      const chunks = at === 0 ? [wire] : [wire.slice(0, at), wire.slice(at)];
      const r = parse(false, chunks);
      assert.deepEqual(r.seen.map((s) => [s.text, s.bytes]), [[first, wire.length]], `${JSON.stringify(wire)} at ${at}`);
    }
  }
  const push = parse(false, ['>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n']);
  assert.deepEqual(push.seen.map((s) => s.kind), [MessageKind.Push]);
  // Requests never: an array of 3 is a command.
  assert.deepEqual(parse(true, ['*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n']).seen.map((s) => s.text), ['message ch hi']);
});

test('a gap: the request so far is reported incomplete, then the gap; a skip inside a bulk string counts its bytes', () => {
  const rec = new FullRecorder();
  const p = new RespParser(newPairedConnection(), true, rec);
  const w = b('*2\r\n$3\r\nSET\r\n$10\r\n0123');
  p.feed(w, 0, w.length, 1, 5);
  assert.equal(p.skip(50, 2, 6), false);
  assert.deepEqual(rec.order, [msg({ text: 'SET 0123', incomplete: true, bytes: w.length, start: [1, 5], end: [2, 6] }), { fromClient: true, reason: ResetReason.Gap }]);
  // Within the bulk string: its bytes counted, the argument shown as cut.
  const rec2 = new FullRecorder();
  const q = new RespParser(newPairedConnection(), true, rec2);
  q.feed(w, 0, w.length, 1, 5);
  assert.equal(q.skip(6, 2, 6), true);
  const tail = b('\r\n');
  q.feed(tail, 0, 2, 3, 7);
  assert.deepEqual(rec2.order, [msg({ text: 'SET 0123...', bytes: w.length + 8, start: [1, 5], end: [3, 7] })]);
  // A gap between messages: nothing to report but the gap.
  const rec3 = new FullRecorder();
  const r = new RespParser(newPairedConnection(), false, rec3);
  r.feed(b('+OK\r\n'), 0, 5, 1, 0);
  assert.equal(r.skip(1, 2, 0), false);
  assert.deepEqual(rec3.order, [reply({ bytes: 5, start: [1, 0], end: [1, 0] }), { fromClient: false, reason: ResetReason.Gap }]);
});

test('MessageInfo.begin() resets the SQL fields too', () => {
  const m = new MessageInfo();
  Object.assign(m, { statusCount: 3, rows: 4, affectedRows: 5, errorCode: 1062, sqlState: '23000', errorMessage: 'dup' });
  m.begin(1, 2);
  assert.deepEqual([m.statusCount, m.rows, m.affectedRows, m.errorCode, m.sqlState, m.errorMessage], [-1, -1, -1, -1, '', '']);
});

test('a first reply that is a plain bulk string of 7 to 12 bytes is no pub/sub message: no text', () => {
  for (const chunks of [['$7\r\nmessage\r\n'], ['$7\r\n', 'message\r\n'], ['$', '7\r\nmess', 'age\r\n']]) {
    const r = parse(false, chunks);
    assert.deepEqual(r.seen.map((s) => [s.text, s.bytes]), [['', 13]], JSON.stringify(chunks));
  }
});

test('skip(): "..." only for a request argument\'s own bytes, and only once it has shown what it may', () => {
  const run = (request: boolean, before: string, n: number, after: string): string[] => {
    const rec = new FullRecorder();
    const p = new RespParser(newPairedConnection(), request, rec);
    p.feed(b(before), 0, before.length, 1, 0);
    assert.equal(p.skip(n, 2, 0), true);
    p.feed(b(after), 0, after.length, 3, 0);
    return rec.seen.map((s) => s.text);
  };
  // The bytes missing are the argument's CRLF only: nothing was hidden.
  assert.deepEqual(run(true, '*2\r\n$3\r\nGET\r\n$2\r\nab', 1, '\n'), ['GET ab']);
  // 64 bytes shown, then some missing: "...".
  const k = 'k'.repeat(64);
  assert.deepEqual(run(true, `*2\r\n$3\r\nGET\r\n$70\r\n${k}`, 3, 'kkk\r\n'), [`GET ${k}...`]);
  // ... also when the missing bytes are the argument's last ones.
  assert.deepEqual(run(true, `*2\r\n$3\r\nGET\r\n$70\r\n${k}`, 6, '\r\n'), [`GET ${k}...`]);
  // A response's bulk string: never a preview.
  assert.deepEqual(run(false, '$10\r\n01234', 3, '56\r\n'), ['']);
  // Inside a nested array of a response: no preview either.
  assert.deepEqual(run(false, '*1\r\n$10\r\n01234', 3, '56\r\n'), ['']);
});

test('aggregates nest 32 deep at most; deeper is malformed', () => {
  const nest = (n: number): string => `${'*1\r\n'.repeat(n)}:1\r\n`;
  const ok = parse(false, [nest(32)]);
  assert.deepEqual([ok.seen.length, ok.resets.length], [1, 0]);
  const deep = parse(false, [nest(33)]);
  assert.deepEqual([deep.seen.length, deep.resets.map((r) => r.reason)], [0, [ResetReason.Malformed]]);
});

// The PostgreSQL parsers, field by field: every type byte each side may
// send, bytes that start no message, the startup-form requests (CANCEL, a
// protocol other than 3), command tags and their counts, batches whose
// Executes show nothing, a flushed batch's Sync, Close of a portal, and the
// count of requests waiting for ReadyForQuery. Written for the survivors of
// `make mutate` (TESTING.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newPairedConnection } from '../../../src/pairing/connection';
import { pgsqlParser } from '../../../src/protocol/pgsql';
import { isBackType, isFrontType, tagCountsAffected, tagCountsRows } from '../../../src/protocol/pgsql/names';
import { MessageKind, ResetReason, type StreamParser } from '../../../src/protocol/message';
import { FullRecorder, msg, type Full } from '../../helpers/full-recorder';
import { pg, pgMsg } from '../../helpers/sql-wire';

const i32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'latin1'), Buffer.from([0])]);
/** A startup-form message: its length, the code, then name/value pairs and the closing NUL. */
const startupForm = (code: number, ...params: string[]): Buffer => {
  const body = Buffer.concat([...params.map(cstr), Buffer.from([0])]);
  return Buffer.concat([i32(8 + body.length), i32(code), body]);
};

interface Pair {
  rec: FullRecorder;
  req: StreamParser;
  rsp: StreamParser;
  t: number;
  c(b: Buffer): void;
  s(b: Buffer): void;
}

/** A connection's two parsers; each feed at time (t, t * 1000), t counting up from 1. */
function pair(): Pair {
  const rec = new FullRecorder();
  const conn = newPairedConnection();
  const p: Pair = {
    rec,
    req: pgsqlParser(conn, true, rec),
    rsp: pgsqlParser(conn, false, rec),
    t: 0,
    c(b) {
      p.t++;
      p.req.feed(Buffer.concat([Buffer.from('zz'), b]), 2, 2 + b.length, p.t, p.t * 1000);
    },
    s(b) {
      p.t++;
      p.rsp.feed(Buffer.concat([Buffer.from('zz'), b]), 2, 2 + b.length, p.t, p.t * 1000);
    },
  };
  return p;
}

const at = (t: number): [number, number] => [t, t * 1000];
const rsp = (f: Partial<Full>): Full => msg({ fromClient: false, ...f });

test('the type bytes each side may send, and no others', () => {
  for (let b = 0; b < 256; b++) {
    const c = String.fromCharCode(b);
    assert.equal(isFrontType(b), 'BCDEFHPQSXcdfp'.includes(c), `front ${b}`);
    assert.equal(isBackType(b), '123ACDEGHIKNRSTVWZcdnstv'.includes(c), `back ${b}`);
  }
  assert.deepEqual(['SELECT', 'FETCH', 'MOVE', 'COPY', 'INSERT 0', 'UPDATE', 'OTHER', 'select'].map(tagCountsRows), [true, true, true, true, false, false, false, false]);
  assert.deepEqual(['INSERT 0', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'SELECT', 'COPY', 'delete'].map(tagCountsAffected), [true, true, true, true, true, false, false, false]);
});

test('a byte that starts no message resets, once, on the side that sent it; the next chunk is tried again', () => {
  const p = pair();
  p.c(pg.query('SELECT 1'));
  p.c(Buffer.concat([pgMsg('Z', Buffer.from('I')), pg.query('SELECT 2')]));
  p.c(pg.query('SELECT 3'));
  p.s(Buffer.concat([pgMsg('Q', cstr('x')), pg.ready()]));
  p.s(Buffer.concat([pg.complete('SELECT 1'), pg.ready()]));
  assert.deepEqual(p.rec.order, [
    msg({ text: 'SELECT 1', bytes: 14, start: at(1), end: at(1) }),
    { fromClient: true, reason: ResetReason.Malformed },
    msg({ text: 'SELECT 3', bytes: 14, start: at(3), end: at(3) }),
    { fromClient: false, reason: ResetReason.Malformed },
    rsp({ statusText: 'SELECT', statusCount: 1, rows: 1, bytes: 20, start: at(5), end: at(5) }),
  ]);
});

test('a length below 4, or over 1 GB, resets', () => {
  for (const len of [3, 0, 0x40000001]) {
    const p = pair();
    p.c(pg.query('SELECT 1'));
    p.c(Buffer.concat([Buffer.from('Q'), i32(len), Buffer.alloc(8)]));
    assert.deepEqual(p.rec.resets, [{ fromClient: true, reason: ResetReason.Malformed }], `length ${len}`);
  }
  // Exactly 4 (no body) is a message: Sync.
  const p = pair();
  p.c(pg.query('SELECT 1'));
  p.c(pg.sync());
  assert.deepEqual(p.rec.seen.map((s) => s.text), ['SELECT 1', 'SYNC']);
});

test('startup-form requests: CANCEL expects nothing; a protocol other than 3 is malformed; SSL asked and refused goes on', () => {
  const cancel = Buffer.concat([i32(16), i32(80877102), i32(42), i32(4242)]);
  const p = pair();
  p.c(cancel);
  assert.deepEqual(p.rec.order, [msg({ text: 'CANCEL', kind: MessageKind.NoReply, bytes: 16, start: at(1), end: at(1) })]);
  const v2 = pair();
  v2.c(startupForm(0x00020000, 'user', 'ann'));
  assert.deepEqual(v2.rec.order, [{ fromClient: true, reason: ResetReason.Malformed }]);
  // Protocol 3.1 is still 3.
  const v31 = pair();
  v31.c(startupForm(0x00030001, 'user', 'ann'));
  assert.deepEqual(v31.rec.seen.map((s) => s.text), ['STARTUP ann ann']);
  // A startup with a database but no user: STARTUP alone.
  const nouser = pair();
  nouser.c(startupForm(196608, 'database', 'db'));
  assert.deepEqual(nouser.rec.seen.map((s) => s.text), ['STARTUP']);
});

test('an empty query string shows nothing; EmptyQueryResponse is its status', () => {
  const p = pair();
  p.c(pg.query(''));
  p.s(Buffer.concat([pgMsg('I'), pg.ready()]));
  assert.deepEqual(p.rec.order, [
    msg({ text: '', bytes: 6, start: at(1), end: at(1) }),
    rsp({ statusText: 'EMPTY', bytes: 11, start: at(2), end: at(2) }),
  ]);
});

test('command tags: the trailing number is the count (any digits); a tag of digits alone, or with no space before them, has none', () => {
  const cases: [string, string, number, number, number][] = [
    ['SELECT 9', 'SELECT', 9, 9, -1],
    ['SELECT 90', 'SELECT', 90, 90, -1],
    ['INSERT 0 19', 'INSERT 0', 19, -1, 19],
    ['UPDATE 0', 'UPDATE', 0, -1, 0],
    ['FETCH 5', 'FETCH', 5, 5, -1],
    ['MOVE 3', 'MOVE', 3, 3, -1],
    ['COPY 7', 'COPY', 7, 7, -1],
    ['DELETE 8', 'DELETE', 8, -1, 8],
    ['MERGE 2', 'MERGE', 2, -1, 2],
    ['CREATE TABLE', 'CREATE TABLE', -1, -1, -1],
    ['SELECT9', 'SELECT9', -1, -1, -1],
    ['42', '42', -1, -1, -1],
    ['X 1234567890123456', 'X 1234567890123456', -1, -1, -1],
    ['X 123456789012345', 'X', 123456789012345, -1, -1],
  ];
  for (const [tag, status, count, rows, affected] of cases) {
    const p = pair();
    p.c(pg.query('q'));
    p.s(Buffer.concat([pg.complete(tag), pg.ready()]));
    assert.deepEqual(p.rec.seen[1], rsp({ statusText: status, statusCount: count, rows, affectedRows: affected, bytes: 6 + tag.length + 6, start: at(2), end: at(2) }), tag);
  }
});

test('a batch: Executes joined by "; ", one that shows nothing adds no separator; a portal closed is forgotten', () => {
  const p = pair();
  p.c(Buffer.concat([pg.parse('e', ''), pg.bind('pe', 'e'), pg.parse('', 'SELECT 1'), pg.bind('', ''), pg.execute('pe'), pg.execute(''), pg.execute(''), pg.sync()]));
  p.s(pg.ready());
  assert.deepEqual(p.rec.seen.map((s) => s.text), ['SELECT 1; SELECT 1', '']);
  // Close 'P' forgets a portal, Close 'S' a statement; Close of something else forgets neither.
  p.c(Buffer.concat([pgMsg('C', Buffer.from('X'), cstr('pe')), pg.execute('pe'), pg.sync()]));
  p.c(Buffer.concat([pgMsg('C', Buffer.from('P'), cstr('pe')), pg.execute('pe'), pg.sync()]));
  p.c(Buffer.concat([pg.parse('s1', 'SELECT 2'), pg.bind('p2', 's1'), pgMsg('C', Buffer.from('S'), cstr('s1')), pg.execute('p2'), pg.bind('p3', 's1'), pg.execute('p3'), pg.sync()]));
  // (Close 'X': pe still names the empty statement, so the batch shows nothing.)
  assert.deepEqual(p.rec.seen.slice(2).map((s) => s.text), ['', 'EXECUTE pe', 'SELECT 2; EXECUTE p3']);
});

test('a batch reported by flushPartial(): its Sync reports nothing, a later bare Sync does; after a reset() too', () => {
  for (const resetFirst of [false, true]) {
    const p = pair();
    p.c(Buffer.concat([pg.parse('', 'SELECT 5'), pg.bind('', ''), pg.execute('')]));
    assert.equal(p.req.flushPartial(), true);
    assert.equal(p.req.flushPartial(), false);
    if (resetFirst) p.req.reset();
    else p.c(pg.sync());
    p.c(pg.sync());
    assert.deepEqual(p.rec.seen.map((s) => [s.text, s.incomplete]), [
      ['SELECT 5', true],
      ['SYNC', false],
    ], resetFirst ? 'after a reset' : 'after its Sync');
  }
});

test('requests waiting for ReadyForQuery are counted, never below zero: a notification when none waits is a push', () => {
  const p = pair();
  p.c(pg.query('SELECT 1'));
  p.s(pg.ready());
  // A ReadyForQuery nobody asked for, then a notification.
  p.s(pg.ready());
  p.s(pg.notification('ch', 'hi'));
  assert.deepEqual(p.rec.seen.map((s) => [s.fromClient, s.kind, s.text]), [
    [true, MessageKind.Normal, 'SELECT 1'],
    [false, MessageKind.Normal, ''],
    [false, MessageKind.Normal, ''],
    [false, MessageKind.Push, ''],
  ]);
  // After reset(), nothing waits.
  const q = pair();
  q.c(pg.query('SELECT 1'));
  q.rsp.reset();
  q.s(pg.notification('ch', 'x'));
  assert.deepEqual(q.rec.seen.map((s) => s.kind), [MessageKind.Normal, MessageKind.Push]);
});

test('timestamps: a request from its first byte to its last, a response from its first message to ReadyForQuery', () => {
  const p = pair();
  const q = pg.query('SELECT 1');
  p.c(q.subarray(0, 3));
  p.c(q.subarray(3));
  p.s(pg.complete('SELECT 1'));
  p.s(pg.ready());
  assert.deepEqual(p.rec.seen.map((s) => [s.start, s.end]), [
    [at(1), at(2)],
    [at(3), at(4)],
  ]);
});

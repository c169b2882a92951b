// The PostgreSQL parsers, field by field: every type byte each side may
// send, bytes that start no message, the startup-form requests (CANCEL, a
// protocol other than 3), command tags and their counts, batches whose
// Executes show nothing, a flushed batch's Sync, Close of a portal, and the
// count of requests waiting for ReadyForQuery. Written for the survivors of
// `make mutate` (test/TESTING.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pgsqlParser } from '../../../src/protocol/pgsql';
import { isBackType, isFrontType, tagCountsAffected, tagCountsRows } from '../../../src/protocol/pgsql/names';
import { MessageKind, ResetReason } from '../../../src/protocol/message';
import { msg, parserPair, type Full, type ParserPair } from '../../helpers/full-recorder';
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

type Pair = ParserPair;

/** A connection's two parsers; each feed at time (t, t * 1000), t counting up from 1, at an offset in a larger buffer. */
const pair = (): Pair => parserPair(pgsqlParser, 2);

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

/** An ErrorResponse from fields [code, value]; `end` false leaves off the closing NUL (and the last value's). */
const errorMsg = (fields: [string, string][], end = true): Buffer => {
  const parts = fields.map(([c, v]) => Buffer.concat([Buffer.from(c), cstr(v)]));
  let body = Buffer.concat([...parts, Buffer.from([0])]);
  if (!end) body = body.subarray(0, body.length - 2);
  return pgMsg('E', body);
};

test('errors: SQLSTATE and message in any order, a message cut at 200 bytes, FATAL or PANIC (S or V) ends the response', () => {
  const long = 'm'.repeat(250);
  const cases: [Buffer, Partial<Full>, boolean][] = [
    [errorMsg([['S', 'ERROR'], ['V', 'ERROR'], ['C', '42601'], ['M', 'syntax error']]), { statusText: '42601', sqlState: '42601', errorMessage: 'syntax error' }, false],
    [errorMsg([['M', 'first'], ['C', '23505'], ['D', 'detail']]), { statusText: '23505', sqlState: '23505', errorMessage: 'first' }, false],
    [errorMsg([['C', '22001'], ['M', long]]), { statusText: '22001', sqlState: '22001', errorMessage: 'm'.repeat(200) }, false],
    [errorMsg([['C', '22001'], ['M', 'm'.repeat(200)]]), { statusText: '22001', sqlState: '22001', errorMessage: 'm'.repeat(200) }, false],
    [errorMsg([['S', 'FATAL'], ['C', '57P01'], ['M', 'bye']]), { statusText: '57P01', sqlState: '57P01', errorMessage: 'bye' }, true],
    [errorMsg([['V', 'PANIC'], ['C', 'XX000'], ['M', 'oops']]), { statusText: 'XX000', sqlState: 'XX000', errorMessage: 'oops' }, true],
    [errorMsg([['S', 'FATALE'], ['C', '57P01']]), { statusText: '57P01', sqlState: '57P01' }, false],
    // Cut: the last field has no NUL (nor the closing one): read to the end of what was kept.
    [errorMsg([['C', '42P01'], ['M', 'no such']], false), { statusText: '42P01', sqlState: '42P01', errorMessage: 'no such' }, false],
  ];
  for (const [err, fields, fatal] of cases) {
    const p = pair();
    p.c(pg.query('SELECT 1'));
    p.s(err);
    if (!fatal) p.s(pg.ready());
    const r = p.rec.seen.filter((s) => !s.fromClient);
    assert.equal(r.length, 1, JSON.stringify(fields));
    const got = Object.fromEntries(Object.keys(fields).map((k) => [k, r[0][k as keyof Full]]));
    assert.deepEqual([got, r[0].error], [fields, true], JSON.stringify(fields));
  }
});

test('SSLRequest and GSSENCRequest: N goes on in the clear, S or G is encrypted, an ErrorResponse is read as one', () => {
  for (const [code, answer, encrypted] of [
    [80877103, 'N', false],
    [80877103, 'S', true],
    [80877104, 'G', true],
    [80877104, 'N', false],
  ] as [number, string, boolean][]) {
    const p = pair();
    p.c(Buffer.concat([i32(8), i32(code)]));
    p.s(Buffer.from(answer));
    p.c(startupForm(196608, 'user', 'ann'));
    p.s(Buffer.concat([pg.auth(0), pg.ready()]));
    assert.deepEqual(p.rec.resets.map((r) => [r.fromClient, r.reason]), encrypted ? [[false, ResetReason.Encrypted]] : [], `${code} ${answer}`);
    assert.deepEqual(p.rec.seen.map((s) => [s.text, s.statusText]), encrypted ? [] : [['STARTUP ann ann', ''], ['', 'OK']], `${code} ${answer}`);
  }
  const e = pair();
  e.c(Buffer.concat([i32(8), i32(80877103)]));
  e.s(Buffer.concat([errorMsg([['S', 'FATAL'], ['C', '08P01'], ['M', 'no ssl']])]));
  assert.deepEqual(e.rec.seen.map((s) => [s.fromClient, s.statusText]), [[false, '08P01']]);
  // Encrypted: skip() is fine and nothing more is read, also after reset().
  const x = pair();
  x.c(Buffer.concat([i32(8), i32(80877103)]));
  x.s(Buffer.from('S'));
  x.c(Buffer.from([0x16, 3, 1, 0, 5]));
  assert.equal(x.req.skip(10, 3, 0), true);
  x.req.reset();
  x.c(pg.query('SELECT 1'));
  assert.deepEqual(x.rec.seen, []);
  assert.equal(x.rec.resets.length, 1);
});

test('startup parameters in any order; names that only look like user or database are other parameters', () => {
  const cases: [string[], string][] = [
    [['database', 'shop', 'user', 'ann'], 'STARTUP ann shop'],
    [['usex', 'x', 'user', 'ann', 'databasx', 'y'], 'STARTUP ann ann'],
    [['users', 'x', 'user', 'bob'], 'STARTUP bob bob'],
    [['application_name', 'psql', 'user', 'cy', 'database', 'd'], 'STARTUP cy d'],
    [[], 'STARTUP'],
  ];
  for (const [params, text] of cases) {
    const p = pair();
    p.c(startupForm(196608, ...params));
    assert.deepEqual(p.rec.seen.map((s) => s.text), [text], params.join(','));
  }
  // A parameter list cut off (no value, or no NUL): what came before it counts.
  const cut = pair();
  const m = Buffer.concat([i32(8 + 13), i32(196608), cstr('user'), cstr('eve'), Buffer.from('data')]);
  cut.c(m);
  assert.deepEqual(cut.rec.seen.map((s) => s.text), ['STARTUP eve eve']);
  // Too short for a code: nothing.
  const tiny = pair();
  tiny.c(Buffer.concat([i32(6), Buffer.from([0, 3])]));
  assert.deepEqual([tiny.rec.seen.length, tiny.rec.resets.length], [0, 0]);
});

test('when no request waits: a notification is a push, a notice or parameter status is nothing; while one waits they belong to its response', () => {
  const p = pair();
  p.s(Buffer.concat([pg.notice('hello'), pg.param('TimeZone', 'UTC'), pg.notification('ch', 'x')]));
  assert.deepEqual(p.rec.seen.map((s) => [s.kind, s.bytes]), [[MessageKind.Push, pg.notification('ch', 'x').length]]);
  p.c(pg.query('LISTEN ch'));
  const body = Buffer.concat([pg.notice('n'), pg.notification('ch', 'y'), pg.complete('LISTEN'), pg.ready()]);
  p.s(body);
  assert.deepEqual(p.rec.seen.slice(1).map((s) => [s.fromClient, s.kind, s.statusText, s.bytes]), [
    [true, MessageKind.Normal, '', 15],
    [false, MessageKind.Normal, 'LISTEN', body.length],
  ]);
  // Terminate expects nothing and leaves nothing waiting: a notification after it is a push.
  p.c(pgMsg('X'));
  p.s(pg.notification('ch', 'z'));
  assert.deepEqual(p.rec.seen.slice(3).map((s) => [s.text, s.kind]), [
    ['TERMINATE', MessageKind.NoReply],
    ['', MessageKind.Push],
  ]);
});

test('rows without a tag (a portal suspended, rows then an error) count the DataRows; FUNCTION CALL; a batch\'s bytes add up', () => {
  const p = pair();
  p.c(Buffer.concat([pg.bind('', ''), pg.execute('', 2), pg.sync()]));
  p.s(Buffer.concat([pg.bindComplete(), pg.dataRow('1'), pg.dataRow('2'), pg.portalSuspended(), pg.ready()]));
  p.c(pg.query('SELECT x'));
  p.s(Buffer.concat([pg.dataRow('1'), errorMsg([['C', '22012'], ['M', 'division by zero']]), pg.ready()]));
  const f = pgMsg('F', i32(42), Buffer.from([0, 0, 0, 0, 0, 0]));
  p.c(f);
  p.s(Buffer.concat([pgMsg('V', i32(1), Buffer.from('1')), pg.ready()]));
  const batch = [pg.parse('', 'SELECT 1'), pg.bind('', ''), pg.describe(''), pg.execute(''), pgMsg('H'), pg.copyData('zz'), pg.sync()];
  p.c(Buffer.concat(batch));
  assert.deepEqual(p.rec.seen.map((s) => [s.fromClient, s.text, s.rows, s.statusText, s.bytes]), [
    [true, 'EXECUTE ', -1, '', pg.bind('', '').length + pg.execute('', 2).length + pg.sync().length],
    [false, '', 2, '', p.rec.seen[1].bytes],
    [true, 'SELECT x', -1, '', 14],
    [false, '', 1, '22012', p.rec.seen[3].bytes],
    [true, 'FUNCTION CALL', -1, '', f.length],
    [false, '', -1, '', p.rec.seen[5].bytes],
    [true, 'SELECT 1', -1, '', batch.reduce((n, b) => n + b.length, 0)],
  ]);
});

test('a Query and a Parse whose SQL was cut (no NUL kept): "..."; a Close of an empty name does nothing', () => {
  const p = pair();
  const q = pg.query('SELECT 12345');
  p.c(q.subarray(0, q.length - 3));
  assert.equal(p.req.flushPartial(), true);
  assert.deepEqual(p.rec.seen.map((s) => [s.text, s.incomplete]), [['SELECT 123...', true]]);
  const r = pair();
  r.c(Buffer.concat([pgMsg('C', Buffer.from('S'), cstr('')), pg.parse('s', 'SELECT 9'), pg.bind('', 's'), pg.execute(''), pg.sync()]));
  assert.deepEqual(r.rec.seen.map((s) => s.text), ['SELECT 9']);
});

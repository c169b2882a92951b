// The MySQL parsers, field by field: every command by name, a command byte
// past the known ones, MySQL 8's query attributes, affected rows in 3- and
// 8-byte length-encoded integers, an SSL request told from a login, the
// EOF rules in a result set, COM_FIELD_LIST, a greeting cut before its
// capabilities. Written for the survivors of `make mutate` (test/TESTING.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { mysqlParser } from '../../../src/protocol/mysql';
import { COMMAND_NAMES, expectsNoReply } from '../../../src/protocol/mysql/names';
import { MessageKind, ResetReason } from '../../../src/protocol/message';
import { msg, parserPair, type Full, type ParserPair } from '../../helpers/full-recorder';
import { BASE_CAPS, CAP, my, myFrame, myPkt } from '../../helpers/sql-wire';

const QUERY_ATTRIBUTES = 0x08000000;
const DEPRECATE_EOF = 0x01000000;

type Pair = ParserPair;

/** A connection's two parsers; each feed at time (t, t * 1000), t counting up from 1, at an offset in a larger buffer. */
const pair = (): Pair => parserPair(mysqlParser, 3);

/** A pair after a greeting and a login with these capabilities (both sides), and the login's OK. */
function loggedIn(caps: number): Pair {
  const p = pair();
  p.s(my.greeting(caps));
  p.c(my.login(caps, 'u', 'db'));
  p.s(my.ok(2));
  p.rec.seen.length = 0;
  p.rec.order.length = 0;
  return p;
}

const at = (t: number): [number, number] => [t, t * 1000];
const rsp = (f: Partial<Full>): Full => msg({ fromClient: false, ...f });

test('every command by name (those with arguments show them), and which expect no reply', () => {
  assert.equal(COMMAND_NAMES.length, 32);
  const names = ['SLEEP', 'QUIT', 'INIT_DB', 'QUERY', 'FIELD_LIST', 'CREATE_DB', 'DROP_DB', 'REFRESH', 'SHUTDOWN', 'STATISTICS', 'PROCESS_INFO', 'CONNECT', 'PROCESS_KILL', 'DEBUG', 'PING', 'TIME', 'DELAYED_INSERT', 'CHANGE_USER', 'BINLOG_DUMP', 'TABLE_DUMP', 'CONNECT_OUT', 'REGISTER_SLAVE', 'STMT_PREPARE', 'STMT_EXECUTE', 'STMT_SEND_LONG_DATA', 'STMT_CLOSE', 'STMT_RESET', 'SET_OPTION', 'STMT_FETCH', 'DAEMON', 'BINLOG_DUMP_GTID', 'RESET_CONNECTION'];
  assert.deepEqual([...COMMAND_NAMES], names);
  for (let com = 0; com < 32; com++) assert.equal(expectsNoReply(com), com === 0x01 || com === 0x18 || com === 0x19, `command ${com}`);
  const plain = [0x00, 0x01, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x12, 0x13, 0x14, 0x15, 0x1b, 0x1d, 0x1e, 0x1f];
  for (const com of plain) {
    const p = loggedIn(BASE_CAPS);
    p.c(my.com(com));
    assert.deepEqual(p.rec.order, [msg({ text: names[com], kind: com === 1 ? MessageKind.NoReply : MessageKind.Normal, bytes: 5, start: at(4), end: at(4) })], names[com]);
  }
});

test('a command byte past the known ones (0x20 and up) is malformed', () => {
  for (const com of [0x20, 0x21, 0x7f, 0xff]) {
    const p = loggedIn(BASE_CAPS);
    p.c(my.com(com, 'x'));
    p.c(my.query('SELECT 1'));
    assert.deepEqual(p.rec.order, [{ fromClient: true, reason: ResetReason.Malformed }, msg({ text: 'SELECT 1', bytes: 13, start: at(5), end: at(5) })], `command ${com}`);
  }
});

/** COM_QUERY with MySQL 8's attributes prefix: no parameters, one parameter set. */
const attrQuery = (sql: string): Buffer => my.com(3, Buffer.concat([Buffer.from([0, 1]), Buffer.from(sql)]));

test('query attributes: the two counts before the SQL are skipped when both sides agreed on them, or when the bytes say so', () => {
  // Both sides have the capability.
  const both = loggedIn(BASE_CAPS | QUERY_ATTRIBUTES);
  both.c(attrQuery('SELECT 1'));
  assert.deepEqual(both.rec.seen.map((s) => s.text), ['SELECT 1']);
  // Only the client: the bytes are SQL (the counts show as control bytes).
  const clientOnly = pair();
  clientOnly.s(my.greeting(BASE_CAPS));
  clientOnly.c(my.login(BASE_CAPS | QUERY_ATTRIBUTES, 'u', 'db'));
  clientOnly.s(my.ok(2));
  clientOnly.c(attrQuery('SELECT 2'));
  assert.deepEqual(clientOnly.rec.seen.map((s) => s.text).slice(-1), ['..SELECT 2']);
  // Both have it, with parameters: the attributes are not skipped (shown as they are), nor cut-off counts.
  const params = loggedIn(BASE_CAPS | QUERY_ATTRIBUTES);
  params.c(my.com(3, Buffer.concat([Buffer.from([1, 1]), Buffer.from('SELECT 3')])));
  params.c(my.com(3, Buffer.from([0])));
  assert.deepEqual(params.rec.seen.map((s) => s.text), ['..SELECT 3', '.']);
  // No handshake seen: 0, 1 then SQL is taken for the counts; anything else is SQL.
  for (const [payload, shown] of [
    [Buffer.concat([Buffer.from([0, 1]), Buffer.from('SELECT 4')]), 'SELECT 4'],
    [Buffer.concat([Buffer.from([0, 2]), Buffer.from('SELECT 5')]), '..SELECT 5'],
    [Buffer.concat([Buffer.from([1, 1]), Buffer.from('SELECT 6')]), '..SELECT 6'],
    [Buffer.from([0]), '.'],
    [Buffer.from('SELECT 7'), 'SELECT 7'],
  ] as [Buffer, string][]) {
    const p = pair();
    p.c(my.com(3, payload));
    assert.deepEqual(p.rec.seen.map((s) => s.text), [shown], shown);
  }
  // Known capabilities without the flag: never skipped, whatever the bytes.
  const without = loggedIn(BASE_CAPS);
  without.c(attrQuery('SELECT 8'));
  assert.deepEqual(without.rec.seen.map((s) => s.text), ['..SELECT 8']);
});

const u16 = (n: number): Buffer => Buffer.from([n & 255, n >> 8]);

test('affected rows in 1-, 3- and 8-byte length-encoded integers; an OK cut inside one counts nothing', () => {
  const cases: [Buffer, number][] = [
    [Buffer.from([0xfa]), 250],
    [Buffer.from([0xfc, 0x34, 0x12]), 0x1234],
    [Buffer.from([0xfd, 0x56, 0x34, 0x12]), 0x123456],
    [Buffer.from([0xfe, 5, 0, 0, 0, 1, 0, 0, 0]), 0x100000005],
  ];
  for (const [n, value] of cases) {
    const p = loggedIn(BASE_CAPS);
    p.c(my.query('UPDATE t SET a = 1'));
    const ok = myPkt(1, Buffer.concat([Buffer.from([0]), n, Buffer.from([0]), u16(2), u16(0)]));
    p.s(ok);
    assert.deepEqual(p.rec.seen[1], rsp({ statusText: 'OK', statusCount: value, affectedRows: value, bytes: ok.length, start: at(5), end: at(5) }), `${value}`);
  }
  // An OK that ends right after its 8-byte integer (no status flags).
  {
    const p = loggedIn(BASE_CAPS);
    p.c(my.query('UPDATE t SET a = 1'));
    p.s(myPkt(1, Buffer.from([0, 0xfe, 5, 0, 0, 0, 1, 0, 0, 0])));
    assert.deepEqual([p.rec.seen[1].statusText, p.rec.seen[1].affectedRows], ['OK', 0x100000005]);
  }
  // An OK (7 bytes at least) whose payload ends inside its 8-byte integer, or with no integer (0xfb, 0xff): nothing counted.
  for (const n of [Buffer.from([0xfe, 1, 2, 3, 4, 5, 6, 7]), Buffer.from([0xfb, 0, 0, 0, 0, 0]), Buffer.from([0xff, 0, 0, 0, 0, 0])]) {
    const p = loggedIn(BASE_CAPS);
    p.c(my.query('UPDATE t SET a = 1'));
    p.s(myPkt(1, Buffer.concat([Buffer.from([0]), n])));
    assert.deepEqual([p.rec.seen[1].statusText, p.rec.seen[1].affectedRows], ['OK', 0], JSON.stringify([...n]));
  }
});

test('a 32-byte handshake response with CLIENT_SSL is an SSL request; a longer one with it, or a short one without, is a login', () => {
  const ssl = pair();
  ssl.s(my.greeting(BASE_CAPS | CAP.ssl));
  ssl.c(my.sslRequest(BASE_CAPS));
  ssl.c(my.query('SELECT 1'));
  assert.deepEqual(ssl.rec.order, [{ fromClient: true, reason: ResetReason.Encrypted }]);
  const login = pair();
  login.s(my.greeting(BASE_CAPS | CAP.ssl));
  login.c(my.login(BASE_CAPS | CAP.ssl, 'ann', 'shop'));
  assert.deepEqual(login.rec.seen.map((s) => s.text), ['LOGIN ann shop']);
  const short = pair();
  short.s(my.greeting(BASE_CAPS));
  const req = my.sslRequest(BASE_CAPS);
  req[4 + 1] &= ~(CAP.ssl >> 8); // the same 32 bytes without CLIENT_SSL
  short.c(req);
  assert.deepEqual(short.rec.order, [msg({ text: 'LOGIN', bytes: 36, start: at(2), end: at(2) })]);
});

test('a result set: an EOF is 0xfe and shorter than 9 bytes; with DEPRECATE_EOF an 0xfe OK of any length ends it', () => {
  // Without DEPRECATE_EOF: a 9-byte packet starting with 0xfe is a row.
  const p = loggedIn(BASE_CAPS);
  p.c(my.query('SELECT a FROM t'));
  p.s(Buffer.concat([my.columnCount(1, 1), my.column(2, 'a'), my.eof(3), myPkt(4, Buffer.from([0xfe, 0, 0, 0, 0, 0, 0, 0, 0])), my.row(5, 'x'), my.eof(6)]));
  assert.deepEqual([p.rec.seen[1].statusText, p.rec.seen[1].rows], ['rows', 2]);
  // With it: the rows end at an 0xfe OK, short or long (it may carry info).
  for (const info of ['', 'Rows matched: 1 Changed: 1']) {
    const q = loggedIn(BASE_CAPS | DEPRECATE_EOF);
    q.c(my.query('SELECT a FROM t'));
    const end = myPkt(4, Buffer.concat([Buffer.from([0xfe, 0, 0]), u16(2), u16(0), Buffer.from(info)]));
    q.s(Buffer.concat([my.columnCount(1, 1), my.column(2, 'a'), my.row(3, 'x'), end]));
    q.c(my.query('SELECT 2'));
    assert.deepEqual(q.rec.seen.map((s) => [s.fromClient, s.statusText, s.rows]), [
      [true, '', -1],
      [false, 'rows', 1],
      [true, '', -1],
    ], `info ${JSON.stringify(info)}`);
  }
});

test('COM_FIELD_LIST: column definitions up to an EOF, status OK, no rows', () => {
  const p = loggedIn(BASE_CAPS);
  p.c(my.com(4, Buffer.concat([Buffer.from('t'), Buffer.from([0])])));
  p.s(Buffer.concat([my.column(1, 'a'), my.column(2, 'b'), my.eof(3)]));
  p.c(my.com(4, Buffer.from('u')));
  p.s(my.eof(1));
  assert.deepEqual(p.rec.seen.map((s) => [s.text, s.statusText, s.rows, s.statusCount]), [
    ['FIELD_LIST t', '', -1, -1],
    ['', 'OK', -1, -1],
    ['FIELD_LIST u', '', -1, -1],
    ['', 'OK', -1, -1],
  ]);
});

test('a greeting cut before its capability flags leaves them unknown; cut after the low half, the high half is 0', () => {
  // The full greeting has DEPRECATE_EOF (in the high half): the result ends at an 0xfe OK after the rows.
  const full = my.greeting(BASE_CAPS | DEPRECATE_EOF);
  const payloadLen = full.readUIntLE(0, 3);
  // protocol (1), version (16 with its NUL), id (4), scramble (8), filler (1): the low flags at 30.
  for (const [keep, deprecated] of [
    [payloadLen, true],
    [31, false],
    [32, false],
    [36, false],
    [37, true],
  ] as [number, boolean][]) {
    const p = pair();
    const g = Buffer.from(full.subarray(0, 4 + keep));
    g.writeUIntLE(keep, 0, 3);
    p.s(g);
    p.c(my.login(BASE_CAPS | DEPRECATE_EOF, 'u', 'db'));
    p.s(my.ok(2));
    p.c(my.query('SELECT a FROM t'));
    // With DEPRECATE_EOF agreed: no EOF after the columns; a row starting with 0xfe... is read by length.
    const end = myPkt(3, Buffer.concat([Buffer.from([0xfe, 0, 0]), u16(2), u16(0), Buffer.from('xxxxxxxx')]));
    p.s(Buffer.concat([my.columnCount(1, 1), my.column(2, 'a'), end]));
    const last = p.rec.seen[p.rec.seen.length - 1];
    assert.deepEqual([last.fromClient, last.statusText, last.rows], deprecated ? [false, 'rows', 0] : [true, '', -1], `greeting of ${keep} bytes`);
  }
});

test('flushPartial() after a whole command reports nothing', () => {
  const p = loggedIn(BASE_CAPS);
  p.c(my.query('SELECT 1'));
  assert.equal(p.req.flushPartial(), false);
  assert.equal(p.rec.seen.length, 1);
});

test('a column count cut inside its integer is malformed', () => {
  // (0xfe and fewer than 8 bytes is an EOF: the whole answer.)
  for (const count of [Buffer.from([0xfc, 1]), Buffer.from([0xfd, 1, 0])]) {
    const p = loggedIn(BASE_CAPS);
    p.c(my.query('SELECT 1'));
    p.s(myPkt(1, count));
    assert.deepEqual(p.rec.resets, [{ fromClient: false, reason: ResetReason.Malformed }], JSON.stringify([...count]));
  }
  // Whole, the same sizes are column counts: the response goes on to its rows.
  const p = loggedIn(BASE_CAPS);
  p.c(my.query('SELECT 1'));
  p.s(Buffer.concat([myPkt(1, Buffer.from([0xfd, 1, 0, 0])), my.column(2, 'a'), my.eof(3), my.row(4, '1'), my.eof(5)]));
  assert.deepEqual(p.rec.resets, []);
  assert.deepEqual([p.rec.seen[1].statusText, p.rec.seen[1].rows], ['rows', 1]);
});

test('a greeting cut after one byte of its low capability flags has none; with both bytes, CLIENT_COMPRESS counts', () => {
  for (const [keep, compressed] of [
    [31, false],
    [32, true],
  ] as [number, boolean][]) {
    const p = pair();
    const full = my.greeting(BASE_CAPS | CAP.compress);
    const g = Buffer.from(full.subarray(0, 4 + keep));
    g.writeUIntLE(keep, 0, 3);
    p.s(g);
    p.c(my.login(BASE_CAPS | CAP.compress, 'u', 'db'));
    p.s(my.ok(2));
    p.c(compressed ? myFrame(0, my.query('SELECT 1'), false) : my.query('SELECT 1'));
    assert.deepEqual(p.rec.seen.map((x) => x.text), ['LOGIN u db', '', 'SELECT 1'], `greeting of ${keep} bytes`);
    assert.deepEqual(p.rec.resets, [], `greeting of ${keep} bytes`);
  }
});

test('commands waiting for their responses: at most 16, the oldest forgotten; each response read by its own command\'s shape', () => {
  const p = loggedIn(BASE_CAPS);
  // 17 pipelined commands: STATISTICS first (its answer is a bare string), then 16 queries.
  p.c(Buffer.concat([my.com(0x09), ...Array.from({ length: 16 }, (_v, i) => my.query(`SELECT ${i}`))]));
  // The STATISTICS was forgotten: the first answer is read as the first query's (an OK here).
  p.s(my.ok(1, 3));
  const rsp = p.rec.seen.filter((s) => !s.fromClient);
  assert.deepEqual(rsp.map((s) => [s.statusText, s.affectedRows]), [['OK', 3]]);
  // Two commands, the second a FIELD_LIST: after the first's OK, an EOF alone answers the second.
  const q = loggedIn(BASE_CAPS);
  q.c(Buffer.concat([my.query('SELECT 1'), my.com(4, Buffer.from('t\0'))]));
  q.s(Buffer.concat([my.ok(1), my.eof(1)]));
  assert.deepEqual(q.rec.seen.filter((s) => !s.fromClient).map((s) => [s.statusText, s.statusCount]), [
    ['OK', 0],
    ['OK', -1],
  ]);
});

test('prepared statements: ids matched to PREPAREs in order, at most 16 waiting; the definitions after the OK end at their EOFs', () => {
  const p = loggedIn(BASE_CAPS);
  p.c(my.com(0x16, 'SELECT ? FROM a'));
  p.c(my.com(0x16, 'SELECT ? FROM b'));
  // The first OK: 1 column, 1 parameter: two definitions and two EOFs follow.
  p.s(Buffer.concat([my.prepareOk(1, 7, 1, 1), my.column(2, 'p'), my.eof(3), my.column(4, 'c'), my.eof(5)]));
  // The second: no columns, two parameters: two definitions and one EOF.
  p.s(Buffer.concat([my.prepareOk(1, 8, 0, 2), my.column(2, 'p1'), my.column(3, 'p2'), my.eof(4)]));
  p.c(my.execute(8));
  p.c(my.execute(7));
  assert.deepEqual(p.rec.seen.map((s) => [s.fromClient, s.text, s.statusText]), [
    [true, 'PREPARE SELECT ? FROM a', ''],
    [true, 'PREPARE SELECT ? FROM b', ''],
    [false, '', 'OK'],
    [false, '', 'OK'],
    [true, 'SELECT ? FROM b', ''],
    [true, 'SELECT ? FROM a', ''],
  ]);
  // 17 PREPAREs before any answer: the oldest text is dropped, the answers go to the 16 later ones.
  const q = loggedIn(BASE_CAPS);
  for (let i = 0; i < 17; i++) q.c(my.com(0x16, `SELECT ${i}`));
  for (let i = 0; i < 16; i++) q.s(my.prepareOk(1, 100 + i, 0, 0));
  q.c(my.execute(100));
  q.c(my.execute(115));
  assert.deepEqual(q.rec.seen.filter((s) => s.fromClient).slice(-2).map((s) => s.text), ['SELECT 1', 'SELECT 16']);
  // An EXECUTE too short for its statement id shows the name alone.
  const r = loggedIn(BASE_CAPS);
  r.c(my.com(0x17, Buffer.from([1, 2, 3])));
  r.c(my.com(0x19, Buffer.from([9, 0, 0, 0])));
  assert.deepEqual(r.rec.seen.map((s) => [s.text, s.kind]), [
    ['', MessageKind.Normal],
    ['STMT_CLOSE 9', MessageKind.NoReply],
  ]);
});

test('the login: the database after an 8-bit-length auth (SECURE_CONNECTION) or a NUL-ended one (neither flag); none without CONNECT_WITH_DB', () => {
  const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s), Buffer.from([0])]);
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n >>> 0);
    return b;
  };
  const head = (caps: number): Buffer => Buffer.concat([u32(caps), u32(16777216), Buffer.from([33]), Buffer.alloc(23), cstr('ann')]);
  const P41 = 0x200;
  const cases: [number, Buffer, string][] = [
    [P41 | 0x8000 | 0x8, Buffer.concat([Buffer.from([3, 1, 2, 3]), cstr('shop')]), 'LOGIN ann shop'],
    [P41 | 0x8, Buffer.concat([cstr('xyz'), cstr('shop')]), 'LOGIN ann shop'],
    [P41 | 0x8000, Buffer.concat([Buffer.from([3, 1, 2, 3]), cstr('shop')]), 'LOGIN ann'],
    [P41 | 0x8000 | 0x8, Buffer.from([3, 1, 2, 3]), 'LOGIN ann'],
    [P41 | 0x8000 | 0x8, Buffer.concat([Buffer.from([3, 1, 2, 3]), Buffer.from([0])]), 'LOGIN ann'],
    [P41 | 0x8, cstr('xyz'), 'LOGIN ann'],
    [P41 | 0x8, Buffer.from('xyz'), 'LOGIN ann'],
  ];
  for (const [caps, rest, text] of cases) {
    const p = pair();
    p.s(my.greeting(BASE_CAPS));
    p.c(myPkt(1, Buffer.concat([head(caps), rest])));
    assert.deepEqual(p.rec.seen.map((s) => s.text), [text], `caps ${caps.toString(16)}, ${JSON.stringify([...rest])}`);
  }
});

test('an OK\'s status flags: read after both integers, also at the very end of the packet; cut, none', () => {
  // SERVER_MORE_RESULTS_EXISTS (8) set: another result follows, so the response goes on.
  for (const [payload, more] of [
    [Buffer.from([0, 0, 0, 8, 0, 0, 0]), true],
    [Buffer.from([0, 0xfc, 1, 0, 0, 8, 0]), true],
    [Buffer.from([0, 0, 0xfc, 1, 0, 8, 0]), true],
    [Buffer.from([0, 0xfc, 1, 0, 0xfc, 1, 0, 8, 0]), true],
    [Buffer.from([0, 0, 0, 2, 0, 0, 0]), false],
    // Both integers take the packet: no flags.
    [Buffer.from([0, 0xfc, 1, 0, 0xfc, 1, 0]), false],
    [Buffer.from([0, 0xfc, 1, 0, 0xfc, 1, 0, 8]), false],
  ] as [Buffer, boolean][]) {
    const p = loggedIn(BASE_CAPS);
    p.c(my.query('CALL p()'));
    p.s(myPkt(1, payload));
    p.s(my.ok(2, 0, 2));
    // Another result follows: the second OK is part of the response; else it answers nothing, on its own.
    const answers = p.rec.seen.filter((s) => !s.fromClient).map((s) => s.bytes);
    assert.deepEqual(answers, more ? [4 + payload.length + 11] : [4 + payload.length, 11], JSON.stringify([...payload]));
  }
});

test('flushPartial() of the responses: only an answer to something, begun, on a connection in the clear', () => {
  // Nothing waits and no login: a packet in progress is a greeting, not reported.
  const a = pair();
  a.s(my.greeting(BASE_CAPS).subarray(0, 10));
  assert.equal(a.rsp.flushPartial(), false);
  // A query waits: its answer in progress is reported, incomplete, once.
  const b = loggedIn(BASE_CAPS);
  b.c(my.query('SELECT 1'));
  b.s(my.columnCount(1, 1).subarray(0, 3));
  assert.equal(b.rsp.flushPartial(), true);
  assert.equal(b.rsp.flushPartial(), false);
  assert.deepEqual(b.rec.seen.filter((s) => !s.fromClient).map((s) => s.incomplete), [true]);
  // The login waits (Auth): its answer in progress counts.
  const c = pair();
  c.s(my.greeting(BASE_CAPS));
  c.c(my.login(BASE_CAPS, 'u', 'db'));
  c.s(my.ok(2).subarray(0, 2));
  assert.equal(c.rsp.flushPartial(), true);
  // A query waits but nothing of its answer came: nothing to report.
  const d = loggedIn(BASE_CAPS);
  d.c(my.query('SELECT 1'));
  assert.equal(d.rsp.flushPartial(), false);
  assert.equal(d.rec.seen.filter((s) => !s.fromClient).length, 0);
});

test('the waiting queue keeps the newest 16: pipelined queries then a FIELD_LIST, the first answer is a query\'s', () => {
  const p = loggedIn(BASE_CAPS);
  p.c(Buffer.concat([...Array.from({ length: 16 }, (_v, i) => my.query(`SELECT ${i}`)), my.com(4, Buffer.from('t\0'))]));
  p.s(my.ok(1, 2));
  assert.deepEqual(p.rec.seen.filter((s) => !s.fromClient).map((s) => [s.statusText, s.affectedRows]), [['OK', 2]]);
});

test('a 9-byte PREPARE OK (no filler) still names the statement; a statement with columns and no parameters has one EOF', () => {
  const p = loggedIn(BASE_CAPS);
  p.c(my.com(0x16, 'SELECT 1'));
  p.s(myPkt(1, Buffer.from([0, 5, 0, 0, 0, 0, 0, 0, 0])));
  p.c(my.execute(5));
  p.s(my.ok(1));
  p.c(my.com(0x16, 'SELECT a, b FROM t'));
  p.s(Buffer.concat([my.prepareOk(1, 6, 2, 0), my.column(2, 'a'), my.column(3, 'b'), my.eof(4)]));
  p.c(my.query('SELECT 2'));
  p.s(my.ok(1));
  assert.deepEqual(p.rec.seen.map((s) => [s.fromClient, s.text, s.statusText]), [
    [true, 'PREPARE SELECT 1', ''],
    [false, '', 'OK'],
    [true, 'SELECT 1', ''],
    [false, '', 'OK'],
    [true, 'PREPARE SELECT a, b FROM t', ''],
    [false, '', 'OK'],
    [true, 'SELECT 2', ''],
    [false, '', 'OK'],
  ]);
});

test('a result set of two columns: both definitions before the EOF, then the rows', () => {
  const p = loggedIn(BASE_CAPS);
  p.c(my.query('SELECT a, b FROM t'));
  p.s(Buffer.concat([my.columnCount(1, 2), my.column(2, 'a'), my.column(3, 'b'), my.eof(4), my.row(5, '1', 'x'), my.row(6, '2', 'y'), my.row(7, '3', 'z'), my.eof(8)]));
  assert.deepEqual(p.rec.seen.filter((s) => !s.fromClient).map((s) => [s.statusText, s.rows]), [['rows', 3]]);
});

// ---------------------------------------------------------------- the whole-unit run of 2026-12-06 (test/TESTING.md)

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s), Buffer.from([0])]);
const texts = (p: Pair): string[] => p.rec.seen.map((s) => (s.fromClient ? `> ${s.text}` : `< ${s.statusText} ${s.rows} ${s.affectedRows}${s.incomplete ? ' incomplete' : ''}`));

test('COM_CHANGE_USER: the user shown; its answer (an auth switch, then the OK) is its own, and the next result set is the next query\'s', () => {
  const p = loggedIn(BASE_CAPS);
  p.c(my.com(0x11, Buffer.concat([cstr('bob'), Buffer.from([0])])));
  const authSwitch = myPkt(1, Buffer.concat([Buffer.from([0xfe]), cstr('mysql_native_password'), Buffer.alloc(20, 1)]));
  p.s(authSwitch);
  p.c(myPkt(3, Buffer.alloc(20, 2)));
  p.s(my.ok(4));
  p.c(my.query('SELECT a FROM t'));
  p.s(Buffer.concat([my.columnCount(1, 1), my.column(2, 'a'), my.eof(3), my.row(4, 'x'), my.eof(5)]));
  p.c(my.query('SELECT 2'));
  p.s(my.ok(1));
  assert.deepEqual(texts(p), ['> CHANGE_USER bob', '< OK -1 -1', '> SELECT a FROM t', '< rows 1 -1', '> SELECT 2', '< OK -1 0']);
  assert.deepEqual(p.rec.seen[1], rsp({ statusText: 'OK', bytes: authSwitch.length + 11, start: at(5), end: at(7) }));
  // A user name without its NUL runs to the packet's end; an ERR answers it too.
  const q = loggedIn(BASE_CAPS);
  q.c(my.com(0x11, 'eve'));
  q.s(my.err(1, 1045, '28000', 'Access denied'));
  q.c(my.query('SELECT 3'));
  q.s(my.ok(1, 1));
  assert.deepEqual(q.rec.seen.map((s) => [s.text, s.statusText, s.errorCode, s.affectedRows]), [
    ['CHANGE_USER eve', '', -1, -1],
    ['', '1045', 1045, -1],
    ['SELECT 3', '', -1, -1],
    ['', 'OK', -1, 1],
  ]);
});

test('ERR packets: a code alone, no SQLSTATE before 4.1 (no "#"), "#" and the SQLSTATE exactly, the message cut at 200 bytes', () => {
  const cases: [Buffer, Partial<Full>][] = [
    [Buffer.from([0xff, 0x15]), { errorCode: -1, statusText: '', sqlState: '', errorMessage: '' }],
    [Buffer.from([0xff, 0x28, 0x04]), { errorCode: 1064, statusText: '1064', sqlState: '', errorMessage: '' }],
    [Buffer.concat([Buffer.from([0xff, 0x10, 0x04]), Buffer.from('Too many connections')]), { errorCode: 1040, statusText: '1040', sqlState: '', errorMessage: 'Too many connections' }],
    [Buffer.concat([Buffer.from([0xff, 0x7a, 0x04]), Buffer.from('#42S02')]), { errorCode: 1146, statusText: '1146', sqlState: '42S02', errorMessage: '' }],
    [Buffer.concat([Buffer.from([0xff, 0x7a, 0x04]), Buffer.from('#42S0')]), { errorCode: 1146, statusText: '1146', sqlState: '', errorMessage: '#42S0' }],
    [Buffer.concat([Buffer.from([0xff, 0x7a, 0x04]), Buffer.from('#\x0142S0x')]), { errorCode: 1146, statusText: '1146', sqlState: 'HY000', errorMessage: 'x' }],
    [Buffer.concat([Buffer.from([0xff, 0x7a, 0x04]), Buffer.from(`#42S02${'m'.repeat(195)}`)]), { errorCode: 1146, statusText: '1146', sqlState: '42S02', errorMessage: 'm'.repeat(195) }],
    [Buffer.concat([Buffer.from([0xff, 0x7a, 0x04]), Buffer.from(`#42S02${'m'.repeat(200)}`)]), { errorCode: 1146, statusText: '1146', sqlState: '42S02', errorMessage: 'm'.repeat(200) }],
    [Buffer.concat([Buffer.from([0xff, 0x7a, 0x04]), Buffer.from(`#42S02${'n'.repeat(201)}`)]), { errorCode: 1146, statusText: '1146', sqlState: '42S02', errorMessage: 'n'.repeat(200) }],
    [Buffer.concat([Buffer.from([0xff, 0x7a, 0x04]), Buffer.from(`${'o'.repeat(250)}`)]), { errorCode: 1146, statusText: '1146', sqlState: '', errorMessage: 'o'.repeat(200) }],
  ];
  for (const [payload, want] of cases) {
    const p = loggedIn(BASE_CAPS);
    // A longer packet first leaves other bytes in the parser's buffer past this one's end.
    p.c(my.query('SELECT 0'));
    p.s(myPkt(1, Buffer.concat([Buffer.from([0xff, 0x10, 0x04, 0x23]), Buffer.from('x'.repeat(300))])));
    p.c(my.query('SELECT 1'));
    p.s(myPkt(1, payload));
    assert.deepEqual(p.rec.seen[3], rsp({ error: true, bytes: 4 + payload.length, start: at(7), end: at(7), ...want }), JSON.stringify(payload.toString('latin1')));
  }
  // An ERR in the middle of the rows (the query was killed) ends the response as an error.
  const k = loggedIn(BASE_CAPS);
  k.c(my.query('SELECT a FROM t'));
  k.s(Buffer.concat([my.columnCount(1, 1), my.column(2, 'a'), my.eof(3), my.row(4, 'x'), my.err(5, 1317, '70100', 'Query execution was interrupted')]));
  k.c(my.query('SELECT 2'));
  k.s(my.ok(1));
  assert.deepEqual(k.rec.seen.map((s) => [s.statusText, s.error, s.sqlState, s.rows]), [['', false, '', -1], ['1317', true, '70100', -1], ['', false, '', -1], ['OK', false, '', -1]]);
});

test('skip(): inside a payload it counts the bytes (ending a packet too); in a header, past the payload, or compressed, it is a gap; encrypted, nothing', () => {
  // A query whose last bytes are lost: reported from what was kept, at the skip's time, then the next parses.
  const p = loggedIn(BASE_CAPS);
  const q = my.query('SELECT 123456');
  p.c(q.subarray(0, 9));
  assert.equal(p.req.skip(q.length - 9, 9, 9000), true);
  p.c(my.query('SELECT 2'));
  assert.deepEqual(p.rec.seen.map((s) => [s.text, s.bytes, s.end]), [['SELE...', q.length, [9, 9000]], ['SELECT 2', 13, at(5)]]);
  assert.deepEqual(p.rec.resets, []);
  // Part of a payload, then the rest of it: the bytes seen are kept (the lost ones are not), cut.
  const part = loggedIn(BASE_CAPS);
  part.c(q.subarray(0, 9));
  assert.equal(part.req.skip(2, 5, 0), true);
  part.c(q.subarray(11));
  part.c(my.query('SELECT 2'));
  assert.deepEqual(part.rec.seen.map((s) => s.text), ['SELE 123456...', 'SELECT 2']);
  // Past the payload's end, or in a header: a gap.
  const a = loggedIn(BASE_CAPS);
  a.c(q.subarray(0, 9));
  assert.equal(a.req.skip(q.length - 8, 5, 0), false);
  const b = loggedIn(BASE_CAPS);
  b.c(q.subarray(0, 2));
  assert.equal(b.req.skip(1, 5, 0), false);
  // Compressed: a gap even inside a packet's payload.
  const c = pair();
  c.s(my.greeting(BASE_CAPS | CAP.compress));
  c.c(my.login(BASE_CAPS | CAP.compress, 'u', 'db'));
  c.s(my.ok(2));
  const f = myFrame(0, my.query('SELECT 123456'), false);
  c.c(f.subarray(0, 14));
  assert.equal(c.req.skip(2, 5, 0), false);
  assert.deepEqual([...a.rec.resets, ...b.rec.resets, ...c.rec.resets], [
    { fromClient: true, reason: ResetReason.Gap },
    { fromClient: true, reason: ResetReason.Gap },
    { fromClient: true, reason: ResetReason.Gap },
  ]);
  // After an SSL request nothing is parsed, and nothing lost matters.
  const s = pair();
  s.s(my.greeting(BASE_CAPS | CAP.ssl));
  s.c(my.sslRequest(BASE_CAPS));
  assert.equal(s.req.skip(10, 3, 0), true);
  assert.deepEqual(s.rec.order, [{ fromClient: true, reason: ResetReason.Encrypted }]);
});

test('after an SSL request the server\'s bytes are not parsed either, even ones that look like MySQL', () => {
  const p = pair();
  p.s(my.greeting(BASE_CAPS | CAP.ssl));
  p.c(Buffer.concat([my.sslRequest(BASE_CAPS), my.query('SELECT 1')]));
  p.s(my.ok(2));
  p.c(my.query('SELECT 2'));
  p.s(Buffer.concat([my.columnCount(1, 1), my.column(2, 'a'), my.eof(3), my.eof(4)]));
  assert.deepEqual(p.rec.order, [{ fromClient: true, reason: ResetReason.Encrypted }]);
});

test('reset() in the middle of a packet: the next bytes start a packet, on both sides; a flushed message is not remembered', () => {
  const p = loggedIn(BASE_CAPS);
  p.c(my.query('SELECT 1').subarray(0, 7));
  p.req.reset();
  p.c(my.query('SELECT 2'));
  p.s(Buffer.concat([my.columnCount(1, 1), my.column(2, 'a')]));
  p.rsp.reset();
  p.c(my.query('SELECT 3'));
  p.s(my.ok(1, 5));
  assert.deepEqual(texts(p), ['> SELECT 2', '> SELECT 3', '< OK -1 5']);
  // A response reported by flushPartial(), then reset(): the next response is reported.
  const q = loggedIn(BASE_CAPS);
  q.c(my.query('SELECT 1'));
  q.s(my.ok(1).subarray(0, 6));
  assert.equal(q.rsp.flushPartial(), true);
  q.rsp.reset();
  q.c(my.query('SELECT 2'));
  q.s(my.ok(1, 2));
  assert.deepEqual(texts(q), ['> SELECT 1', '< OK -1 0 incomplete', '> SELECT 2', '< OK -1 2']);
});

test('flushPartial() of a request: not for auth data or a LOCAL INFILE file (sequence ids past 0), nor for a packet with no payload byte yet', () => {
  const a = pair();
  a.s(my.greeting(BASE_CAPS));
  a.c(my.login(BASE_CAPS, 'u', 'db'));
  a.s(myPkt(2, Buffer.concat([Buffer.from([0xfe]), cstr('mysql_native_password'), Buffer.alloc(20, 1)])));
  a.c(myPkt(3, Buffer.alloc(20, 2)).subarray(0, 10));
  assert.equal(a.req.flushPartial(), false);
  const p = loggedIn(BASE_CAPS);
  p.c(my.query("LOAD DATA LOCAL INFILE 'f' INTO TABLE t"));
  p.s(myPkt(1, Buffer.concat([Buffer.from([0xfb]), Buffer.from('f')])));
  p.c(myPkt(2, Buffer.from('1,2\n3,4\n')).subarray(0, 8));
  assert.equal(p.req.flushPartial(), false);
  const q = loggedIn(BASE_CAPS);
  q.c(my.query('SELECT 1').subarray(0, 4));
  assert.equal(q.req.flushPartial(), false);
  assert.deepEqual([a.rec.seen.map((s) => s.text), p.rec.seen.map((s) => s.text), q.rec.seen], [['LOGIN u db'], ["LOAD DATA LOCAL INFILE 'f' INTO TABLE t"], []]);
});

test('flushPartial(), then the rest of the same packet and the next messages: each reported once, complete', () => {
  const p = loggedIn(BASE_CAPS);
  const q = my.query('SELECT 1');
  p.c(q.subarray(0, 8));
  assert.equal(p.req.flushPartial(), true);
  p.c(q.subarray(8));
  p.c(my.query('SELECT 2'));
  const ok = my.ok(1, 3);
  p.s(ok.subarray(0, 6));
  assert.equal(p.rsp.flushPartial(), true);
  p.s(ok.subarray(6));
  p.s(my.ok(1, 4));
  p.c(my.query('SELECT 3'));
  p.s(my.ok(1, 6));
  assert.deepEqual(texts(p), ['> SEL...', '> SELECT 2', '< OK -1 0 incomplete', '< OK -1 4', '> SELECT 3', '< OK -1 6']);
  assert.deepEqual(p.rec.seen.map((s) => s.incomplete), [true, false, true, false, false, false]);
});

test('a command of 16 MB and more (its packets stepped over by skip()): held to its last packet, or flushed incomplete', () => {
  const head = (len: number, seq: number): Buffer => {
    const h = Buffer.alloc(4);
    h.writeUIntLE(len, 0, 3);
    h[3] = seq;
    return h;
  };
  const start = Buffer.concat([head(0xffffff, 0), Buffer.from([0x03]), Buffer.from('INSERT INTO t VALUES (1)')]);
  // Two full packets and a short one: one request, all of its bytes.
  const p = loggedIn(BASE_CAPS);
  p.c(start);
  assert.equal(p.req.skip(0xffffff - 25, 5, 0), true);
  p.c(head(0xffffff, 1));
  assert.equal(p.req.skip(0xffffff, 6, 0), true);
  p.c(Buffer.concat([head(3, 2), Buffer.from('abc')]));
  assert.deepEqual(p.rec.seen.map((s) => [s.text, s.bytes, s.incomplete]), [['INSERT INTO t VALUES (1)...', 3 * 4 + 2 * 0xffffff + 3, false]]);
  // A payload of exactly 16 MB - 1 ends with an empty packet.
  const e = loggedIn(BASE_CAPS);
  e.c(start);
  assert.equal(e.req.skip(0xffffff - 25, 5, 0), true);
  e.c(head(0, 1));
  assert.deepEqual(e.rec.seen.map((s) => [s.bytes, s.incomplete]), [[8 + 0xffffff, false]]);
  // Flushed while held: incomplete, once; its later packets add nothing; reset() forgets a held one.
  const f = loggedIn(BASE_CAPS);
  f.c(start);
  assert.equal(f.req.skip(0xffffff - 25, 5, 0), true);
  assert.equal(f.req.flushPartial(), true);
  f.c(Buffer.concat([head(3, 1), Buffer.from('abc')]));
  assert.equal(f.req.flushPartial(), false);
  f.c(my.query('SELECT 2'));
  assert.deepEqual(f.rec.seen.map((s) => [s.text, s.bytes, s.incomplete]), [['INSERT INTO t VALUES (1)...', 4 + 0xffffff, true], ['SELECT 2', 13, false]]);
  const r = loggedIn(BASE_CAPS);
  r.c(start);
  assert.equal(r.req.skip(0xffffff - 25, 5, 0), true);
  r.req.reset();
  assert.equal(r.req.flushPartial(), false);
  assert.deepEqual(r.rec.seen, []);
});

test('a malformed command with more bytes after it in the same chunk: one reset, the rest of the chunk dropped', () => {
  const p = loggedIn(BASE_CAPS);
  p.c(Buffer.concat([my.com(0x20, 'x'), my.query('SELECT 1')]));
  p.c(my.query('SELECT 2'));
  assert.deepEqual(p.rec.order, [{ fromClient: true, reason: ResetReason.Malformed }, msg({ text: 'SELECT 2', bytes: 13, start: at(5), end: at(5) })]);
});

test('prepared statements: STMT_CLOSE forgets the SQL, EXECUTE and RESET do not; a PREPARE past 1,024 bytes is marked cut', () => {
  const p = loggedIn(BASE_CAPS);
  p.c(my.com(0x16, 'SELECT ?'));
  p.s(my.prepareOk(1, 7, 0, 0));
  p.c(my.execute(7));
  p.s(my.ok(1));
  p.c(my.com(0x1a, u32(7)));
  p.s(my.ok(1));
  p.c(my.execute(7));
  p.s(my.ok(1));
  p.c(my.close(7));
  p.c(my.execute(7));
  assert.deepEqual(p.rec.seen.filter((s) => s.fromClient).map((s) => s.text), ['PREPARE SELECT ?', 'SELECT ?', 'STMT_RESET 7', 'SELECT ?', 'STMT_CLOSE 7', 'EXECUTE 7']);
  const long = loggedIn(BASE_CAPS);
  long.c(my.com(0x16, `SELECT${' '.repeat(1100)}1`));
  long.s(my.prepareOk(1, 8, 0, 0));
  long.c(my.execute(8));
  assert.deepEqual(long.rec.seen.filter((s) => s.fromClient).map((s) => s.text), ['PREPARE SELECT ...', 'SELECT ...']);
});

test('a cursor (COM_STMT_EXECUTE): the result ends at the EOF after the columns; a bare 1-byte EOF there is not one with a status', () => {
  const eof = (seq: number, status: number): Buffer => myPkt(seq, Buffer.concat([Buffer.from([0xfe]), u16(0), u16(status)]));
  for (const status of [0x42, 0x4a]) {
    const p = loggedIn(BASE_CAPS);
    p.c(my.com(0x16, 'SELECT a FROM t'));
    p.s(Buffer.concat([my.prepareOk(1, 3, 1, 0), my.column(2, 'a'), my.eof(3)]));
    p.c(my.execute(3));
    p.s(Buffer.concat([my.columnCount(1, 1), my.column(2, 'a'), eof(3, status)]));
    p.c(my.query('SELECT 2'));
    p.s(my.ok(1));
    assert.deepEqual(texts(p), ['> PREPARE SELECT a FROM t', '< OK -1 -1', '> SELECT a FROM t', '< rows 0 -1', '> SELECT 2', '< OK -1 0'], `status ${status}`);
  }
  // A 1-byte EOF (no status) after the columns and after the rows.
  const q = loggedIn(BASE_CAPS);
  q.c(my.query('SELECT a FROM t'));
  q.s(Buffer.concat([my.columnCount(1, 1), my.column(2, 'a'), myPkt(3, Buffer.from([0xfe])), my.row(4, 'x'), my.row(5, 'y'), myPkt(6, Buffer.from([0xfe]))]));
  q.c(my.query('SELECT 2'));
  q.s(my.ok(1));
  assert.deepEqual(texts(q), ['> SELECT a FROM t', '< rows 2 -1', '> SELECT 2', '< OK -1 0']);
});

test('the EOF that ends rows: its status read from offset 3 (warnings first), a long 0xfe OK\'s after its integers', () => {
  // An EOF whose warning count starts with 0xfc (not an integer prefix here) and SERVER_MORE_RESULTS_EXISTS: another result follows.
  const p = loggedIn(BASE_CAPS);
  p.c(my.query('CALL p()'));
  p.s(Buffer.concat([my.columnCount(1, 1), my.column(2, 'a'), my.eof(3), my.row(4, 'x'), myPkt(5, Buffer.from([0xfe, 0xfc, 0, 8, 0]))]));
  p.s(my.ok(6, 1));
  assert.deepEqual(texts(p), ['> CALL p()', '< rows 1 -1']);
  // DEPRECATE_EOF: an OK with 0xfe whose affected rows take 3 bytes; its status (MORE) comes after both integers.
  const q = loggedIn(BASE_CAPS | DEPRECATE_EOF);
  q.c(my.query('CALL p()'));
  q.s(Buffer.concat([my.columnCount(1, 1), my.column(2, 'a'), my.row(3, 'x'), myPkt(4, Buffer.from([0xfe, 0xfc, 1, 0, 0, 8, 0, 0, 0]))]));
  q.s(my.ok(5, 1));
  assert.deepEqual(texts(q), ['> CALL p()', '< rows 1 -1']);
  // DEPRECATE_EOF: a row of 16 MB that starts with 0xfe is a row (its packet is full), not the end.
  const r = loggedIn(BASE_CAPS | DEPRECATE_EOF);
  r.c(my.query('SELECT b FROM t'));
  const h = Buffer.from([0xff, 0xff, 0xff, 3, 0xfe]);
  r.s(Buffer.concat([my.columnCount(1, 1), my.column(2, 'b'), h]));
  assert.equal(r.rsp.skip(0xffffff - 1, 5, 0), true);
  r.s(Buffer.concat([myPkt(4, Buffer.from('tail')), my.row(5, 'y'), myPkt(6, Buffer.from([0xfe, 0, 0, 2, 0, 0, 0]))]));
  assert.deepEqual(texts(r), ['> SELECT b FROM t', '< rows 2 -1']);
});

test('without the handshake: a 9-byte packet starting with 0xfe after the columns is a row, not the EOF', () => {
  const p = pair();
  p.c(my.query('SELECT a FROM t'));
  p.s(Buffer.concat([my.columnCount(1, 1), my.column(2, 'a'), myPkt(3, Buffer.from([0xfe, 1, 2, 3, 4, 5, 6, 7, 8])), my.row(4, 'x'), my.eof(5)]));
  assert.deepEqual(texts(p), ['> SELECT a FROM t', '< rows 2 -1']);
});

test('answers with no command waiting (the capture began later) count affected rows; a column count of 0, 0xfc-encoded or short, is read exactly', () => {
  const p = pair();
  p.s(my.ok(1, 3));
  assert.deepEqual(p.rec.seen, [rsp({ statusText: 'OK', statusCount: 3, affectedRows: 3, bytes: 11, start: at(1), end: at(1) })]);
  // A column count in 3 bytes (0xfc), whole.
  const q = loggedIn(BASE_CAPS);
  q.c(my.query('SELECT a FROM t'));
  q.s(Buffer.concat([myPkt(1, Buffer.from([0xfc, 1, 0])), my.column(2, 'a'), my.eof(3), my.row(4, 'x'), my.eof(5)]));
  assert.deepEqual(texts(q), ['> SELECT a FROM t', '< rows 1 -1']);
  // A 1-byte 0 (an OK shorter than 7 bytes): no column count, malformed; so is a 5-byte OK.
  for (const payload of [Buffer.from([0]), Buffer.from([0, 0, 0, 2, 0])]) {
    const r = loggedIn(BASE_CAPS);
    r.c(my.query('SELECT 1'));
    r.s(myPkt(1, payload));
    assert.deepEqual(r.rec.resets, [{ fromClient: false, reason: ResetReason.Malformed }], JSON.stringify([...payload]));
  }
  // An OK whose affected rows slot is 0xfb (NULL) with 8 more bytes after it: nothing counted.
  const n = loggedIn(BASE_CAPS);
  n.c(my.query('UPDATE t SET a = 1'));
  n.s(myPkt(1, Buffer.from([0, 0xfb, 5, 0, 0, 0, 0, 0, 0, 0, 2, 0])));
  assert.deepEqual(n.rec.seen[1].affectedRows, 0);
});

test('COM_SET_OPTION answered by an EOF alone: OK', () => {
  const p = loggedIn(BASE_CAPS);
  p.c(my.com(0x1b, u16(1)));
  p.s(my.eof(1));
  p.c(my.query('SELECT 2'));
  p.s(my.ok(1, 1));
  assert.deepEqual(texts(p), ['> SET_OPTION', '< OK -1 -1', '> SELECT 2', '< OK -1 1']);
  assert.deepEqual(p.rec.resets, []);
});

test('logins: a pre-4.1 handshake response is not shown; a seq-1 packet under 32 bytes is no login; a lenenc auth of 300 bytes', () => {
  const head = (caps: number): Buffer => Buffer.concat([u32(caps), u32(16777216), Buffer.from([33]), Buffer.alloc(23), cstr('ann')]);
  const old = pair();
  old.s(my.greeting(BASE_CAPS));
  old.c(myPkt(1, Buffer.concat([head(CAP.connectWithDb | CAP.secure), Buffer.from([3, 1, 2, 3]), cstr('shop')])));
  const short = pair();
  short.s(my.greeting(BASE_CAPS));
  short.c(myPkt(1, Buffer.concat([u32(BASE_CAPS), Buffer.alloc(20)])));
  assert.deepEqual([old.rec.seen, short.rec.seen], [[], []]);
  const big = pair();
  big.s(my.greeting(BASE_CAPS));
  big.c(myPkt(1, Buffer.concat([head(BASE_CAPS), Buffer.from([0xfc, 0x2c, 0x01]), Buffer.alloc(300, 0x41), cstr('shop')])));
  assert.deepEqual(big.rec.seen.map((s) => s.text), ['LOGIN ann shop']);
});

/** A greeting with this version string and capabilities. */
function greetingWith(version: string, caps: number): Buffer {
  return myPkt(0, Buffer.concat([Buffer.from([10]), cstr(version), u32(7), Buffer.alloc(8, 0x61), Buffer.from([0]), u16(caps & 0xffff), Buffer.from([33]), u16(2), u16(caps >>> 16), Buffer.alloc(10)]));
}

test('greetings: an empty version string is read past; one with no NUL at all gives no capabilities; a short one never reads stale bytes', () => {
  const ended = (p: Pair): string[] => {
    p.c(my.login(BASE_CAPS | DEPRECATE_EOF, 'u', 'db'));
    p.s(my.ok(2));
    p.c(my.query('SELECT a FROM t'));
    // DEPRECATE_EOF agreed: no EOF after the columns, and the 0xfe OK of 9 bytes ends the rows.
    p.s(Buffer.concat([my.columnCount(1, 1), my.column(2, 'a'), my.row(3, 'x'), myPkt(4, Buffer.from([0xfe, 0, 0, 2, 0, 0, 0, 0, 0]))]));
    p.c(my.query('SELECT 2'));
    return texts(p).slice(2);
  };
  const agreed = ['> SELECT a FROM t', '< rows 1 -1', '> SELECT 2'];
  const not = ['> SELECT a FROM t', '> SELECT 2'];
  const empty = pair();
  empty.s(greetingWith('', BASE_CAPS | DEPRECATE_EOF));
  assert.deepEqual(ended(empty), agreed);
  // No NUL anywhere (40 bytes of 'y'): read as capabilities they would include DEPRECATE_EOF.
  const noNul = pair();
  noNul.s(myPkt(0, Buffer.concat([Buffer.from([10]), Buffer.alloc(40, 0x79)])));
  assert.deepEqual(ended(noNul), not);
  // A full greeting, then one cut after its low flags: the high flags are not the first one's.
  const cut = pair();
  cut.s(my.greeting(BASE_CAPS | DEPRECATE_EOF));
  const g = Buffer.from(my.greeting(BASE_CAPS).subarray(0, 4 + 36));
  g.writeUIntLE(36, 0, 3);
  cut.s(g);
  assert.deepEqual(ended(cut), not);
});

test('the compressed protocol: two frames in one chunk, a first frame 256 bytes long, an inflate error, a 16 MB frame header', () => {
  const caps = BASE_CAPS | CAP.compress;
  const compressed = (): Pair => {
    const p = pair();
    p.s(my.greeting(caps));
    p.c(my.login(caps, 'u', 'db'));
    p.s(my.ok(2));
    return p;
  };
  const two = compressed();
  two.c(Buffer.concat([myFrame(0, my.query('SELECT 1'), false), myFrame(0, my.query('SELECT 2'), true)]));
  assert.deepEqual(two.rec.seen.map((s) => s.text).slice(2), ['SELECT 1', 'SELECT 2']);
  // A stored frame of 256 bytes (its length's low byte 0) first.
  const f256 = compressed();
  const sql = `SELECT '${'x'.repeat(242)}'`;
  const frame = myFrame(0, my.query(sql), false);
  assert.equal(frame.readUIntLE(0, 3), 256);
  f256.c(frame);
  f256.c(myFrame(0, my.query('SELECT 3'), false));
  assert.deepEqual(f256.rec.seen.map((s) => s.text).slice(2), [sql, 'SELECT 3']);
  // A deflated frame that does not inflate: malformed.
  const bad = compressed();
  const junk = Buffer.from([5, 0, 0, 0, 9, 0, 0, 1, 2, 3, 4, 5]);
  bad.c(junk);
  assert.deepEqual(bad.rec.resets, [{ fromClient: true, reason: ResetReason.Malformed }]);
  // A deflated frame header claiming 16 MB - 1 compressed bytes is no error (its bytes are still to come).
  const big = compressed();
  big.c(Buffer.from([0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0x78, 0x9c]));
  assert.deepEqual(big.rec.resets, []);
});

test('the compressed protocol without the handshake: the first frame\'s shape, exactly (at an offset in a larger buffer)', () => {
  const stored = (inner: Buffer): Buffer => myFrame(0, inner, false);
  const frameOf = (clen: number, seq: number, ulen: number, body: Buffer): Buffer => {
    const h = Buffer.alloc(7);
    h.writeUIntLE(clen, 0, 3);
    h[3] = seq;
    h.writeUIntLE(ulen, 4, 3);
    return Buffer.concat([h, body]);
  };
  const ping = my.com(0x0e);
  // Not a frame: the frame header is read as a packet header, and its payload as COM_SLEEP (or, 4 first, FIELD_LIST).
  const cases: [string, Buffer, string[]][] = [
    ['a stored PING: 12 bytes, enough', stored(ping), ['PING']],
    ['RESET_CONNECTION (0x1f), the last command', stored(my.com(0x1f)), ['RESET_CONNECTION']],
    ['a deflated PING (5 bytes uncompressed)', myFrame(0, ping, true), ['PING']],
    ['command 0x20 inside: not a frame', stored(my.com(0x20)), ['SLEEP']],
    ['an inner packet with sequence id 1: not a frame', stored(myPkt(1, Buffer.from([0x0e]))), ['SLEEP']],
    ['a frame with sequence id 1: not a frame (nor a command)', frameOf(5, 1, 0, ping), []],
    ['an inner length that does not match: not a frame', frameOf(6, 0, 0, Buffer.concat([ping, Buffer.from([0])])), ['SLEEP']],
    ['a deflated frame of 4 bytes uncompressed: not a frame', frameOf(12, 0, 4, zlib.deflateSync(Buffer.from([1, 0, 0, 0]))), ['FIELD_LIST ']],
  ];
  for (const [what, first, want] of cases) {
    // 12 bytes of something else before it: reading before the frame's start would see them.
    const p = parserPair(mysqlParser, 12);
    p.c(first);
    assert.deepEqual([p.rec.seen.map((s) => s.text), p.rec.resets], [want, []], what);
  }
  // The first 11 bytes alone are too few to tell, stored or deflated: plain packets.
  const split = pair();
  const f = stored(ping);
  split.c(f.subarray(0, 11));
  split.c(f.subarray(11));
  assert.deepEqual(split.rec.seen.map((s) => s.text), ['SLEEP']);
  const dsplit = pair();
  const d = myFrame(0, ping, true);
  dsplit.c(d.subarray(0, 11));
  dsplit.c(d.subarray(11));
  // (Read as a plain packet: 5, the uncompressed length, is COM_CREATE_DB.)
  assert.deepEqual(dsplit.rec.seen.map((s) => s.text), ['CREATE_DB']);
  // The server's first bytes are never taken for a frame: an OK of 11 bytes read as one (with a frame's bytes) of 15.
  const server = pair();
  server.s(stored(my.ok(1)));
  assert.deepEqual(server.rec.seen.map((s) => [s.statusText, s.bytes]), [['OK', 15]]);
  // After a login without compression, a COM_SLEEP whose bytes look like a frame is a COM_SLEEP.
  const plain = loggedIn(BASE_CAPS);
  plain.c(my.com(0x00, Buffer.from([0, 0, 8, 0, 0, 0, 0x0e, 1, 2, 3, 4])));
  plain.c(my.query('SELECT 1'));
  assert.deepEqual(plain.rec.seen.map((s) => s.text), ['SLEEP', 'SELECT 1']);
  // So is one after a first command without the handshake: only the first chunk is looked at.
  const later = pair();
  later.c(my.query('SELECT 0'));
  later.c(my.com(0x00, Buffer.from([0, 0, 8, 0, 0, 0, 0x0e, 1, 2, 3, 4])));
  later.c(my.query('SELECT 1'));
  assert.deepEqual(later.rec.seen.map((s) => s.text), ['SELECT 0', 'SLEEP', 'SELECT 1']);
  // Without the handshake, a chunk that starts inside a query's payload is not looked at.
  const mid = pair();
  const q = my.com(3, Buffer.concat([Buffer.from('SELECT '), Buffer.from([5, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x0e])]));
  mid.c(q.subarray(0, 12));
  mid.c(q.subarray(12));
  mid.c(my.query('SELECT 2'));
  assert.deepEqual(mid.rec.seen.map((s) => s.text), ['SELECT ............', 'SELECT 2']);
});

// Last: it fills the process-wide table of error code names.
test('error codes past the 1,024 the table keeps show as ERR', () => {
  const p = loggedIn(BASE_CAPS);
  const names: string[] = [];
  for (let code = 20000; code < 21100; code++) {
    p.c(my.query('SELECT 1'));
    p.s(my.err(1, code, 'HY000', 'x'));
    names.push(p.rec.seen[p.rec.seen.length - 1].statusText);
  }
  assert.equal(names[0], '20000');
  assert.deepEqual(names.slice(-3), ['ERR', 'ERR', 'ERR']);
});

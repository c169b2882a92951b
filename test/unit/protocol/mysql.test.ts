// The MySQL parsers: every conversation split at every byte (and fed byte by
// byte) parses the same; what both directions share (capabilities, the
// commands waiting, prepared statements) is per connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mysqlParser } from '../../../src/protocol/mysql';
import { MessageKind, ResetReason } from '../../../src/protocol/message';
import { newPairedConnection } from '../../../src/pairing/connection';
import { BASE_CAPS, CAP, SqlRecorder, everySplit, my, myFrame, myPkt, play, type Step } from '../../helpers/sql-wire';

const C = true;
const S = false;
const EOF_LESS = BASE_CAPS | CAP.deprecateEof;
/** SERVER_STATUS_AUTOCOMMIT, and with SERVER_MORE_RESULTS_EXISTS. */
const AUTOCOMMIT = 0x0002;
const MORE = 0x0008 | AUTOCOMMIT;

/** The handshake and a successful login under these capabilities. */
function login(caps: number, user = 'alice', db = 'shop'): Step[] {
  return [
    [S, my.greeting(caps)],
    [C, my.login(caps, user, db)],
    [S, my.ok(2)],
  ];
}
const LOGIN_OK = [
  { client: true, text: 'LOGIN alice shop', kind: MessageKind.Normal },
  { client: false, status: 'OK', error: false, count: -1, affected: -1 },
];

test('handshake and login: one LOGIN user db line, ok at the server\'s OK; the greeting answers nothing', () => {
  const steps = login(BASE_CAPS);
  everySplit(mysqlParser, steps, [
    { ...LOGIN_OK[0], bytes: steps[1][1].length },
    { ...LOGIN_OK[1], bytes: steps[2][1].length },
  ]);
});

test('a login denied: the ERR\'s code, SQLSTATE and message', () => {
  const msg = "Access denied for user 'alice'@'10.0.0.2' (using password: YES)";
  everySplit(mysqlParser, [
    [S, my.greeting(BASE_CAPS)],
    [C, my.login(BASE_CAPS, 'alice', 'shop')],
    [S, my.err(2, 1045, '28000', msg)],
  ], [
    { text: 'LOGIN alice shop' },
    { client: false, error: true, status: '1045', code: 1045, sqlState: '28000', message: msg, count: -1 },
  ]);
});

test('an auth switch is part of the login: the response runs to the OK', () => {
  const switchReq = myPkt(2, Buffer.concat([Buffer.from([0xfe]), Buffer.from('mysql_native_password\0'), Buffer.alloc(20, 0x41), Buffer.from([0])]));
  const steps: Step[] = [
    [S, my.greeting(BASE_CAPS)],
    [C, my.login(BASE_CAPS, 'alice', 'shop')],
    [S, switchReq],
    [C, myPkt(3, Buffer.alloc(20, 0x42))],
    [S, my.ok(4)],
    [C, my.com(0x0e)],
    [S, my.ok(1)],
  ];
  everySplit(mysqlParser, steps, [
    LOGIN_OK[0],
    { ...LOGIN_OK[1], bytes: switchReq.length + steps[4][1].length },
    { client: true, text: 'PING' },
    { client: false, status: 'OK', count: -1 },
  ]);
});

test('COM_QUERY answered by OK (affected rows) and by ERR (code, SQLSTATE, message)', () => {
  everySplit(mysqlParser, [
    ...login(BASE_CAPS),
    [C, my.query("INSERT INTO t VALUES (1, 'a'), (2, 'b')")],
    [S, my.ok(1, 2)],
    [C, my.query('SELECT * FROM nope')],
    [S, my.err(1, 1146, '42S02', "Table 'shop.nope' doesn't exist")],
  ], [
    ...LOGIN_OK,
    { client: true, text: "INSERT INTO t VALUES (1, 'a'), (2, 'b')" },
    { client: false, status: 'OK', count: 2, affected: 2, rows: -1, error: false, code: -1, sqlState: '' },
    { client: true, text: 'SELECT * FROM nope' },
    { client: false, status: '1146', error: true, code: 1146, sqlState: '42S02', message: "Table 'shop.nope' doesn't exist", rows: -1, affected: -1 },
  ]);
});

/** A one-column result set of `rows` rows from sequence id `seq` on, with the EOF after the columns unless `eofLess`. */
function resultSet(seq: number, rows: string[], eofLess: boolean, status = AUTOCOMMIT): Buffer[] {
  const out = [my.columnCount(seq++, 1), my.column(seq++, 'a')];
  if (!eofLess) out.push(my.eof(seq++));
  for (const r of rows) out.push(my.row(seq++, r));
  out.push(eofLess ? my.ok(seq++, 0, status, 0xfe) : my.eof(seq++, status));
  return out;
}

test('a result set with EOF packets: its rows counted', () => {
  const rsp = Buffer.concat(resultSet(1, ['x', 'y', 'z'], false));
  everySplit(mysqlParser, [...login(BASE_CAPS), [C, my.query('SELECT a FROM t')], [S, rsp]], [
    ...LOGIN_OK,
    { text: 'SELECT a FROM t' },
    { client: false, status: 'rows', count: 3, rows: 3, affected: -1, bytes: rsp.length },
  ]);
});

test('CLIENT_DEPRECATE_EOF (MySQL 8, MariaDB): no EOF after the columns, an OK with 0xfe ends the rows', () => {
  const rsp = Buffer.concat(resultSet(1, ['x', 'y'], true));
  everySplit(mysqlParser, [...login(EOF_LESS), [C, my.query('SELECT a FROM t')], [S, rsp], [C, my.query('SELECT a FROM t WHERE 0')], [S, Buffer.concat(resultSet(1, [], true))]], [
    ...LOGIN_OK,
    { text: 'SELECT a FROM t' },
    { status: 'rows', count: 2, rows: 2, bytes: rsp.length },
    { text: 'SELECT a FROM t WHERE 0' },
    { status: 'rows', count: 0, rows: 0 },
  ]);
});

test('without the handshake: result sets with and without EOF packets are both read to their end', () => {
  everySplit(mysqlParser, [
    [C, my.query('SELECT a FROM t')],
    [S, Buffer.concat(resultSet(1, ['x', 'y'], false))],
    [C, my.query('SELECT a FROM u')],
    [S, Buffer.concat(resultSet(1, ['x', 'y', 'z'], true))],
    [C, my.query('DELETE FROM u')],
    [S, my.ok(1, 3)],
  ], [
    { text: 'SELECT a FROM t' },
    { status: 'rows', rows: 2 },
    { text: 'SELECT a FROM u' },
    { status: 'rows', rows: 3 },
    { text: 'DELETE FROM u' },
    { status: 'OK', affected: 3 },
  ]);
});

test('multi-result sets (SERVER_MORE_RESULTS_EXISTS): one response to the last result, rows added up', () => {
  for (const eofLess of [false, true]) {
    const first = resultSet(1, ['1'], eofLess, MORE);
    const second = resultSet(1 + first.length, ['2', '3'], eofLess, MORE);
    const rsp = Buffer.concat([...first, ...second, my.ok(1 + first.length + second.length, 0, AUTOCOMMIT)]);
    everySplit(mysqlParser, [...login(eofLess ? EOF_LESS : BASE_CAPS), [C, my.query('CALL two_results()')], [S, rsp], [C, my.com(0x0e)], [S, my.ok(1)]], [
      ...LOGIN_OK,
      { text: 'CALL two_results()' },
      { status: 'rows', rows: 3, count: 3, bytes: rsp.length },
      { text: 'PING' },
      { status: 'OK' },
    ]);
  }
  // OKs of several statements in one COM_QUERY: affected rows add up.
  everySplit(mysqlParser, [...login(BASE_CAPS), [C, my.query('UPDATE a SET x=1; UPDATE b SET y=2')], [S, Buffer.concat([my.ok(1, 2, MORE), my.ok(2, 5, AUTOCOMMIT)])]], [
    ...LOGIN_OK,
    { text: 'UPDATE a SET x=1; UPDATE b SET y=2' },
    { status: 'OK', count: 7, affected: 7 },
  ]);
});

test('prepared statements: PREPARE, then EXECUTE shown as the prepared SQL with ?; STMT_CLOSE expects nothing', () => {
  for (const eofLess of [false, true]) {
    const defs = eofLess
      ? [my.column(2, '?'), my.column(3, 'id')]
      : [my.column(2, '?'), my.eof(3), my.column(4, 'id'), my.eof(5)];
    everySplit(mysqlParser, [
      ...login(eofLess ? EOF_LESS : BASE_CAPS),
      [C, my.com(0x16, 'SELECT id FROM t WHERE id = ?')],
      [S, Buffer.concat([my.prepareOk(1, 7, 1, 1), ...defs])],
      [C, my.execute(7)],
      [S, Buffer.concat(resultSet(1, ['42'], eofLess))],
      [C, my.close(7)],
      [C, my.execute(7)],
      [S, my.err(1, 1243, 'HY000', 'Unknown prepared statement handler (7) given to mysqld_stmt_execute')],
    ], [
      ...LOGIN_OK,
      { client: true, text: 'PREPARE SELECT id FROM t WHERE id = ?' },
      { client: false, status: 'OK', count: -1 },
      { client: true, text: 'SELECT id FROM t WHERE id = ?' },
      { client: false, status: 'rows', rows: 1 },
      { client: true, text: 'STMT_CLOSE 7', kind: MessageKind.NoReply },
      { client: true, text: 'EXECUTE 7' },
      { client: false, error: true, code: 1243 },
    ]);
  }
});

test('COM_QUIT and COM_STMT_SEND_LONG_DATA expect no response; COM_INIT_DB and the rest by name', () => {
  everySplit(mysqlParser, [
    ...login(BASE_CAPS),
    [C, my.com(0x02, 'other')],
    [S, my.ok(1)],
    [C, my.com(0x18, Buffer.from([7, 0, 0, 0, 0, 0, 0x61, 0x62]))],
    [C, my.com(0x09)],
    [S, myPkt(1, Buffer.from('Uptime: 5  Threads: 1'))],
    [C, my.com(0x01)],
  ], [
    ...LOGIN_OK,
    { text: 'INIT_DB other' },
    { status: 'OK' },
    { text: 'STMT_SEND_LONG_DATA 7', kind: MessageKind.NoReply },
    { text: 'STATISTICS', kind: MessageKind.Normal },
    { status: 'OK', error: false },
    { text: 'QUIT', kind: MessageKind.NoReply },
  ]);
});

test('LOCAL INFILE: the server asks for a file, the client sends it, the OK ends the response', () => {
  everySplit(mysqlParser, [
    ...login(BASE_CAPS),
    [C, my.query("LOAD DATA LOCAL INFILE '/tmp/x.csv' INTO TABLE t")],
    [S, myPkt(1, Buffer.concat([Buffer.from([0xfb]), Buffer.from('/tmp/x.csv')]))],
    [C, Buffer.concat([myPkt(2, Buffer.from('1,a\n2,b\n')), myPkt(3, Buffer.alloc(0))])],
    [S, my.ok(4, 2)],
    [C, my.com(0x0e)],
    [S, my.ok(1)],
  ], [
    ...LOGIN_OK,
    { text: "LOAD DATA LOCAL INFILE '/tmp/x.csv' INTO TABLE t" },
    { status: 'OK', affected: 2, count: 2 },
    { text: 'PING' },
    { status: 'OK' },
  ]);
});

test('an SSL request in the handshake is counted once (Encrypted), and nothing after it is parsed', () => {
  everySplit(mysqlParser, [
    [S, my.greeting(BASE_CAPS | CAP.ssl)],
    [C, my.sslRequest(BASE_CAPS)],
    [C, Buffer.from([0x16, 0x03, 0x01, 0x00, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])],
    [S, Buffer.from([0x16, 0x03, 0x03, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8])],
  ], [], [ResetReason.Encrypted]);
});

/** A payload of `n` bytes as packets of at most 0xffffff bytes (an exact multiple ends with an empty one). */
function bigPackets(seq: number, payload: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  for (;;) {
    const n = Math.min(0xffffff, payload.length - off);
    out.push(myPkt(seq++, payload.subarray(off, off + n)));
    off += n;
    if (n < 0xffffff) return out;
  }
}

test('payloads over 16 MB span packets: a query, a row and an OK after them are each read whole', () => {
  const sql = Buffer.alloc(0xffffff + 1000, 0x20);
  Buffer.from("INSERT INTO blobs VALUES ('").copy(sql, 1);
  sql[0] = 0x03;
  const query = Buffer.concat(bigPackets(0, sql));
  const bigRow = Buffer.concat([Buffer.from([0xfd]), Buffer.from([0xf0, 0xff, 0xff]), Buffer.alloc(0xfffff0, 0x78), Buffer.alloc(20, 0x79)]);
  const rows = [my.columnCount(1, 1), my.column(2, 'b'), my.eof(3), ...bigPackets(4, bigRow), my.eof(6)];
  const rsp = Buffer.concat(rows);
  const steps: Step[] = [...login(BASE_CAPS), [C, query], [S, my.ok(2, 1)], [C, my.query('SELECT b FROM blobs')], [S, rsp], [C, my.com(0x0e)], [S, my.ok(1)]];
  const want = [
    ...LOGIN_OK,
    { client: true, text: "INSERT INTO blobs VALUES (' ...", bytes: query.length },
    { client: false, status: 'OK', affected: 1 },
    { text: 'SELECT b FROM blobs' },
    { status: 'rows', rows: 1, bytes: rsp.length },
    { text: 'PING' },
    { status: 'OK' },
  ];
  // Every byte would take hours: whole, and split at each packet boundary and either side of it.
  const check = (rec: SqlRecorder, what: string): void => {
    assert.equal(rec.seen.length, want.length, what);
    rec.seen.forEach((e, i) => {
      const got = Object.fromEntries(Object.keys(want[i]).map((k) => [k, e[k as keyof typeof e]]));
      assert.deepEqual(got, want[i], `${what}: event ${i}`);
    });
    assert.deepEqual(rec.resets, [], what);
  };
  check(play(mysqlParser, steps), 'whole');
  for (const at of [1, 3, 4, 5, 0xffffff + 3, 0xffffff + 4, 0xffffff + 5, 0xffffff + 8, query.length - 1]) check(play(mysqlParser, steps, 3, at), `query split at ${at}`);
  const rowStart = rows[0].length + rows[1].length + rows[2].length;
  for (const at of [rowStart + 2, rowStart + 4 + 0xffffff, rowStart + 4 + 0xffffff + 3, rsp.length - 5]) check(play(mysqlParser, steps, 6, at), `response split at ${at}`);
});

test('the compressed protocol after a login that agreed on it: deflated and stored frames', () => {
  const caps = BASE_CAPS | CAP.compress;
  const rs = Buffer.concat(resultSet(1, ['x', 'y'], false));
  everySplit(mysqlParser, [
    ...login(caps),
    [C, myFrame(0, my.query('SELECT a FROM t WHERE a LIKE "%xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx%"'), true)],
    [S, myFrame(0, rs, true)],
    [C, myFrame(0, my.query('DELETE FROM t'), false)],
    [S, myFrame(0, my.ok(1, 4), false)],
  ], [
    ...LOGIN_OK,
    { text: 'SELECT a FROM t WHERE a LIKE "%xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx%"' },
    { status: 'rows', rows: 2 },
    { text: 'DELETE FROM t' },
    { status: 'OK', affected: 4 },
  ]);
});

test('the compressed protocol without the handshake: recognized from the first command frame\'s shape', () => {
  for (const deflate of [false, true]) {
    const steps: Step[] = [
      [C, myFrame(0, my.query('SELECT a FROM t /* a comment long enough to be worth deflating, deflating */'), deflate)],
      [S, myFrame(0, Buffer.concat(resultSet(1, ['x'], false)), deflate)],
      [C, myFrame(0, my.query('UPDATE t SET a = 1'), deflate)],
      [S, myFrame(0, my.ok(1, 1), deflate)],
    ];
    // The shape is read from the first chunk: split later than its frame header and first packet header.
    const rec = play(mysqlParser, steps);
    assert.deepEqual(rec.seen.map((e) => [e.text, e.status, e.rows, e.affected]), [
      ['SELECT a FROM t /* a comment long enough to be worth deflating, deflating */', '', -1, -1],
      ['', 'rows', 1, -1],
      ['UPDATE t SET a = 1', '', -1, -1],
      ['', 'OK', -1, 1],
    ], `deflate ${deflate}`);
    for (let s = 1; s < steps.length; s++) {
      for (let at = 1; at < steps[s][1].length; at++) {
        const r = play(mysqlParser, steps, s, at);
        assert.deepEqual(r.seen.map((e) => e.text || e.status), ['SELECT a FROM t /* a comment long enough to be worth deflating, deflating */', 'rows', 'UPDATE t SET a = 1', 'OK'], `deflate ${deflate} step ${s} at ${at}`);
      }
    }
  }
});

test('flushPartial: a command and a result set cut short are reported once, incomplete', () => {
  const rec = new SqlRecorder();
  const sink = rec;
  const incomplete = rec.incomplete;
  const conn = newPairedConnection();
  const req = mysqlParser(conn, true, sink);
  const rsp = mysqlParser(conn, false, sink);
  const q = my.query('SELECT a FROM t');
  req.feed(q, 0, 10, 1, 0);
  assert.equal(req.flushPartial(), true);
  assert.equal(req.flushPartial(), false);
  req.feed(q, 10, q.length, 1, 1);
  const rs = Buffer.concat(resultSet(1, ['x', 'y'], false));
  rsp.feed(rs, 0, rs.length - 5, 2, 0);
  assert.equal(rsp.flushPartial(), true);
  assert.equal(rsp.flushPartial(), false);
  rsp.feed(rs, rs.length - 5, rs.length, 2, 1);
  assert.equal(req.flushPartial(), false);
  assert.equal(rsp.flushPartial(), false);
  assert.deepEqual(rec.seen.map((e) => [e.client, e.text, e.status, e.rows]), [
    [true, 'SELEC...', '', -1],
    [false, '', 'rows', 2],
  ]);
  assert.deepEqual(incomplete, [true, true]);
});

test('snaplen: a payload cut short is skipped by counting; a skip outside a payload resets', () => {
  const conn = newPairedConnection();
  const rec = new SqlRecorder();
  const req = mysqlParser(conn, true, rec);
  const rsp = mysqlParser(conn, false, rec);
  const q = my.query('SELECT a FROM t');
  req.feed(q, 0, q.length, 0, 0);
  const rs = Buffer.concat(resultSet(1, ['x'.repeat(100)], false));
  const rowAt = rs.length - 9 - 105;
  rsp.feed(rs, 0, rowAt + 20, 1, 0);
  assert.equal(rsp.skip(85, 1, 0), true);
  rsp.feed(rs, rowAt + 105, rs.length, 1, 0);
  assert.deepEqual(rec.seen.map((e) => e.text || `${e.status} ${e.rows}`), ['SELECT a FROM t', 'rows 1']);
  assert.equal(rsp.skip(10, 2, 0), false);
  assert.deepEqual(rec.resets, [ResetReason.Gap]);
});

// The PostgreSQL parsers: every conversation split at every byte parses the
// same; what both directions share (SSL answers, prepared statements, the
// requests waiting for ReadyForQuery) is per connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pgsqlParser } from '../../../src/protocol/pgsql';
import { MessageKind, ResetReason } from '../../../src/protocol/message';
import { SqlRecorder, everySplit, pg, pgMsg, play, type Step } from '../../helpers/sql-wire';
import { newPairedConnection } from '../../../src/pairing/connection';

const C = true;
const S = false;

test('startup with a password exchange is one STARTUP line, answered at ReadyForQuery', () => {
  const steps: Step[] = [
    [C, pg.startup('alice', 'shop')],
    [S, pg.auth(5, Buffer.from('salt'))],
    [C, pg.password('md5abc')],
    [S, Buffer.concat([pg.auth(0), pg.param('server_version', '15.5'), pg.keyData(), pg.ready()])],
  ];
  everySplit(pgsqlParser, steps, [
    { client: true, text: 'STARTUP alice shop', kind: MessageKind.Normal, bytes: steps[0][1].length },
    { client: false, status: 'OK', error: false, bytes: steps[1][1].length + steps[3][1].length },
  ]);
});

test('a startup without a database names the user as the database; a FATAL error ends it', () => {
  everySplit(pgsqlParser, [
    [C, pg.startup('bob')],
    [S, pg.error('28P01', 'password authentication failed for user "bob"', 'FATAL')],
  ], [
    { text: 'STARTUP bob bob' },
    { error: true, status: '28P01', sqlState: '28P01', message: 'password authentication failed for user "bob"' },
  ]);
});

test('a simple query: its tag is the status, DataRows and tags give rows', () => {
  everySplit(pgsqlParser, [
    [C, pg.query('SELECT id,\n  name FROM users')],
    [S, Buffer.concat([pg.rowDescription('id', 'name'), pg.dataRow('1', 'a'), pg.dataRow('2', 'b'), pg.complete('SELECT 2'), pg.ready()])],
  ], [
    { client: true, text: 'SELECT id, name FROM users' },
    { client: false, status: 'SELECT', count: 2, rows: 2, affected: -1, error: false },
  ]);
});

test('a query string of several statements: rows and affected rows add up, the last tag shows', () => {
  everySplit(pgsqlParser, [
    [C, pg.query('INSERT INTO t VALUES (1); UPDATE t SET a = 2; SELECT 1')],
    [S, Buffer.concat([pg.complete('INSERT 0 1'), pg.complete('UPDATE 3'), pg.rowDescription('x'), pg.dataRow('1'), pg.complete('SELECT 1'), pg.ready()])],
  ], [{}, { status: 'SELECT', count: 1, rows: 1, affected: 4 }]);
});

test('an error: SQLSTATE and message; a notice before it is no answer', () => {
  everySplit(pgsqlParser, [
    [C, pg.query('SELECT * FROM nope')],
    [S, Buffer.concat([pg.notice('just so you know'), pg.error('42P01', 'relation "nope" does not exist'), pg.ready()])],
  ], [{ text: 'SELECT * FROM nope' }, { error: true, status: '42P01', sqlState: '42P01', message: 'relation "nope" does not exist', count: -1 }]);
});

test('an extended batch is one request shown as its SQL; a named statement is remembered for later batches', () => {
  const sql = 'SELECT name FROM users WHERE id = $1';
  everySplit(pgsqlParser, [
    [C, Buffer.concat([pg.parse('by_id', sql), pg.bind('', 'by_id', ['7']), pg.describe(''), pg.execute(''), pg.sync()])],
    [S, Buffer.concat([pg.parseComplete(), pg.bindComplete(), pg.rowDescription('name'), pg.dataRow('x'), pg.complete('SELECT 1'), pg.ready()])],
    [C, Buffer.concat([pg.bind('', 'by_id', ['8']), pg.execute(''), pg.sync()])],
    [S, Buffer.concat([pg.bindComplete(), pg.complete('SELECT 0'), pg.ready()])],
    [C, Buffer.concat([pg.bind('', 'unknown_stmt'), pg.execute(''), pg.sync()])],
    [S, Buffer.concat([pg.error('26000', 'prepared statement "unknown_stmt" does not exist'), pg.ready()])],
  ], [
    { text: sql },
    { status: 'SELECT', count: 1, rows: 1 },
    { text: sql },
    { status: 'SELECT', count: 0, rows: 0 },
    { text: 'EXECUTE ' },
    { error: true, sqlState: '26000' },
  ]);
});

test('pipelined batches (several Syncs in one segment) pair in order', () => {
  const rec = play(pgsqlParser, [
    [C, Buffer.concat([1, 2, 3].flatMap((i) => [pg.parse('', `SELECT ${i}`), pg.bind('', ''), pg.execute(''), pg.sync()]))],
    [S, Buffer.concat([1, 2, 3].flatMap((i) => [pg.parseComplete(), pg.bindComplete(), pg.dataRow(String(i)), pg.complete('SELECT 1'), pg.ready()]))],
  ]);
  assert.deepEqual(rec.seen.map((e) => [e.client, e.text || e.status]), [
    [true, 'SELECT 1'], [true, 'SELECT 2'], [true, 'SELECT 3'], [false, 'SELECT'], [false, 'SELECT'], [false, 'SELECT'],
  ]);
});

test('a batch that executes two statements shows both; one that only prepares shows what it parsed', () => {
  everySplit(pgsqlParser, [
    [C, Buffer.concat([pg.parse('', 'SELECT 1'), pg.bind('', ''), pg.execute(''), pg.parse('', 'SELECT 2'), pg.bind('', ''), pg.execute(''), pg.sync()])],
    [S, Buffer.concat([pg.parseComplete(), pg.bindComplete(), pg.complete('SELECT 1'), pg.parseComplete(), pg.bindComplete(), pg.complete('SELECT 1'), pg.ready()])],
    [C, Buffer.concat([pg.parse('s2', 'DELETE FROM t'), pg.describe(''), pg.sync()])],
    [S, Buffer.concat([pg.parseComplete(), pg.noData(), pg.ready()])],
  ], [{ text: 'SELECT 1; SELECT 2' }, { rows: 2 }, { text: 'DELETE FROM t' }, { status: '', rows: -1 }]);
});

test('an Execute with a row limit (PortalSuspended): the rows sent count', () => {
  everySplit(pgsqlParser, [
    [C, Buffer.concat([pg.parse('', 'SELECT * FROM big'), pg.bind('', ''), pg.execute('', 2), pg.sync()])],
    [S, Buffer.concat([pg.parseComplete(), pg.bindComplete(), pg.dataRow('1'), pg.dataRow('2'), pg.portalSuspended(), pg.ready()])],
  ], [{ text: 'SELECT * FROM big' }, { rows: 2, status: '' }]);
});

test('COPY FROM STDIN: the client\'s data is part of the request\'s exchange, COPY n its status', () => {
  everySplit(pgsqlParser, [
    [C, pg.query('COPY t FROM STDIN')],
    [S, pg.copyIn()],
    [C, Buffer.concat([pg.copyData('1\n'), pg.copyData('2\n'), pg.copyDone()])],
    [S, Buffer.concat([pg.complete('COPY 2'), pg.ready()])],
  ], [{ text: 'COPY t FROM STDIN' }, { status: 'COPY', count: 2, rows: 2 }]);
});

test('SSLRequest answered N goes on in the clear; answered S the connection is counted encrypted once', () => {
  everySplit(pgsqlParser, [
    [C, pg.sslRequest()],
    [S, Buffer.from('N')],
    [C, pg.startup('u', 'd')],
    [S, Buffer.concat([pg.auth(0), pg.ready()])],
  ], [{ text: 'STARTUP u d' }, { status: 'OK' }]);
  everySplit(pgsqlParser, [
    [C, pg.sslRequest()],
    [S, Buffer.from('S')],
    [C, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])],
    [S, Buffer.from([0x16, 0x03, 0x03, 0x00, 0x7a])],
  ], [], [ResetReason.Encrypted]);
});

test('a NotificationResponse when nothing waits is a push; Terminate expects no response', () => {
  everySplit(pgsqlParser, [
    [C, pg.query('LISTEN ch')],
    [S, Buffer.concat([pg.complete('LISTEN'), pg.ready()])],
    [S, pg.notification('ch', 'hello')],
    [C, pg.terminate()],
  ], [
    { text: 'LISTEN ch' },
    { status: 'LISTEN', count: -1 },
    { client: false, kind: MessageKind.Push },
    { client: true, text: 'TERMINATE', kind: MessageKind.NoReply },
  ]);
});

test('snaplen: a body cut short is skipped by counting; a skip outside a body resets', () => {
  const rec = play(pgsqlParser, [[C, pg.query('SELECT 1')]]);
  assert.equal(rec.seen.length, 1);
  const conn = { proto: 6, sport: 5432 };
  const sink = play(pgsqlParser, []);
  const rsp = pgsqlParser(conn, false, sink);
  const row = pg.dataRow('x'.repeat(100));
  const all = Buffer.concat([row, pg.complete('SELECT 1'), pg.ready()]);
  rsp.feed(all, 0, 20, 0, 0);
  assert.equal(rsp.skip(row.length - 20, 0, 0), true);
  rsp.feed(all, row.length, all.length, 0, 0);
  assert.equal(sink.seen.length, 1);
  assert.equal(sink.seen[0].rows, 1);
  assert.equal(rsp.skip(10, 0, 0), false);
  assert.deepEqual(sink.resets, [ResetReason.Gap]);
});

test('random bytes never throw, and a long query is cut at the preview with "..."', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, client) => {
      play(pgsqlParser, [[client, Buffer.from(bytes)]]);
    }),
    { numRuns: 500 },
  );
  const rec = play(pgsqlParser, [[C, pg.query(`SELECT '${'x'.repeat(2000)}'`)]]);
  assert.equal(rec.seen[0].text.length, 256);
});

test('flushPartial: a Query, a batch without its Sync and a response cut short are reported once, incomplete', () => {
  const rec = new SqlRecorder();
  const sink = rec;
  const incomplete = rec.incomplete;
  const conn = newPairedConnection();
  const req = pgsqlParser(conn, true, sink);
  const rsp = pgsqlParser(conn, false, sink);
  const q = pg.query('SELECT a FROM t');
  req.feed(q, 0, 10, 1, 0);
  assert.equal(req.flushPartial(), true);
  assert.equal(req.flushPartial(), false);
  req.feed(q, 10, q.length, 1, 1);
  const r = Buffer.concat([pg.rowDescription('a'), pg.dataRow('x'), pg.dataRow('y'), pg.complete('SELECT 2'), pg.ready()]);
  rsp.feed(r, 0, r.length - 3, 2, 0);
  assert.equal(rsp.flushPartial(), true);
  assert.equal(rsp.flushPartial(), false);
  rsp.feed(r, r.length - 3, r.length, 2, 1);
  const batch = Buffer.concat([pg.parse('', 'SELECT $1'), pg.bind('', '', ['1']), pg.execute('')]);
  req.feed(batch, 0, batch.length, 3, 0);
  assert.equal(req.flushPartial(), true);
  req.feed(pg.sync(), 0, 5, 3, 1);
  assert.equal(req.flushPartial(), false);
  assert.deepEqual(rec.seen.map((e) => [e.client, e.text, e.status, e.rows]), [
    [true, 'SELEC...', '', -1],
    [false, '', 'SELECT', 2],
    [true, 'SELECT $1', '', -1],
  ]);
  assert.deepEqual(incomplete, [true, true, true]);
});

test('COPY TO STDOUT: CopyOutResponse and the server\'s CopyData are the answer, COPY n its status; the next query pairs', () => {
  const copyOut = pgMsg('H', Buffer.from([0]), Buffer.from([0, 1, 0, 0]));
  const rsp = Buffer.concat([copyOut, pg.copyData('1\talice\n'), pg.copyData('2\tbob\n'), pg.copyDone(), pg.complete('COPY 2'), pg.ready()]);
  everySplit(pgsqlParser, [
    [C, pg.query('COPY t TO STDOUT')],
    [S, rsp],
    [C, pg.query('SELECT 1')],
    [S, Buffer.concat([pg.rowDescription('x'), pg.dataRow('1'), pg.complete('SELECT 1'), pg.ready()])],
  ], [
    { text: 'COPY t TO STDOUT' },
    { status: 'COPY', count: 2, rows: 2, bytes: rsp.length, error: false },
    { text: 'SELECT 1' },
    { status: 'SELECT', count: 1, rows: 1 },
  ]);
});

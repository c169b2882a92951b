// scripts/sql-stats.lua end to end: a synthetic MySQL capture and a
// PostgreSQL one through -m mysql/pgsql -S, and its table checked byte for
// byte (normalized statements, count, errors, mean, p99, slowest first).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Conversation, writePcap } from '../helpers/pcap-writer';
import { ROOT, tcpkit } from '../helpers/run';
import { my, pg } from '../helpers/sql-wire';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-sql-lua-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const T0 = 1_580_000_000_000_000;
const SCRIPT = path.join(ROOT, 'scripts', 'sql-stats.lua');

const rows = (n: number): Buffer => {
  const out = [my.columnCount(1, 1), my.column(2, 'a'), my.eof(3)];
  for (let i = 0; i < n; i++) out.push(my.row(4 + i, String(i)));
  out.push(my.eof(4 + n));
  return Buffer.concat(out);
};

test('scripts/sql-stats.lua, -m mysql: per normalized statement, count, errors, mean and p99, slowest first', () => {
  const a = new Conversation('ethernet', '10.0.0.2', 40000, '10.0.0.1', 3306).handshake(T0);
  a.request(T0 + 1_000, my.query('SELECT * FROM t WHERE id = 7')).response(T0 + 2_000, rows(1));
  a.request(T0 + 10_000, my.query('SELECT * FROM t  WHERE id = 8')).response(T0 + 13_000, rows(1));
  a.request(T0 + 20_000, my.query("SELECT * FROM t WHERE id = 'x'")).response(T0 + 20_500, my.err(1, 1054, '42S22', "Unknown column 'x'"));
  a.request(T0 + 30_000, my.query("UPDATE t SET name = 'it''s', score = 1.5e3 WHERE id = 0x1F")).response(T0 + 32_000, my.ok(1, 1));
  a.request(T0 + 40_000, my.query('SELECT SLEEP(0.2)')).response(T0 + 240_123, rows(1));
  a.request(T0 + 300_000, my.query('SELECT a1, b_2 FROM t2 WHERE c = "text" LIMIT 10')).response(T0 + 300_900, rows(2));
  a.request(T0 + 310_000, my.query('DELETE FROM t WHERE id = 3'));
  const file = path.join(dir, 'mysql.pcap');
  writePcap(file, 'ethernet', a.frames);
  const r = tcpkit(['-r', file, '-p', '3306', '-m', 'mysql', '-S', SCRIPT]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    '  count  errors    mean ms     p99 ms  statement\n' +
      '      1       0    200.123    200.000  SELECT SLEEP(?)\n' +
      '      1       0      2.000      2.000  UPDATE t SET name = ?, score = ? WHERE id = ?\n' +
      '      3       1      1.500      3.000  SELECT * FROM t WHERE id = ?\n' +
      '      1       0      0.900      0.900  SELECT a1, b_2 FROM t2 WHERE c = ? LIMIT ?\n' +
      '      1       0      0.000      0.000  DELETE FROM t WHERE id = ?\n',
  );
});

test('scripts/sql-stats.lua, -m pgsql: $n placeholders stay, the 99th percentile of 100 statements, logins are statements', () => {
  const a = new Conversation('ethernet', '10.0.0.2', 40000, '10.0.0.1', 5432).handshake(T0);
  a.request(T0 + 1_000, pg.startup('app', 'shop')).response(T0 + 1_500, Buffer.concat([pg.auth(0), pg.ready()]));
  // 100 lookups: 98 at 1 ms, one at 5 ms, one at 50 ms: p99 is the 99th, 5 ms.
  for (let i = 0; i < 100; i++) {
    const at = T0 + 10_000 + i * 100_000;
    const took = i === 40 ? 5_000 : i === 70 ? 50_000 : 1_000;
    const batch = Buffer.concat([pg.parse('', 'SELECT name FROM users WHERE id = $1'), pg.bind('', '', [String(i)]), pg.execute(''), pg.sync()]);
    a.request(at, batch).response(at + took, Buffer.concat([pg.dataRow('n'), pg.complete('SELECT 1'), pg.ready()]));
  }
  const file = path.join(dir, 'pgsql.pcap');
  writePcap(file, 'ethernet', a.frames);
  const r = tcpkit(['-r', file, '-p', '5432', '-m', 'pgsql', '-S', SCRIPT]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    '  count  errors    mean ms     p99 ms  statement\n' +
      '    100       0      1.530      5.000  SELECT name FROM users WHERE id = $1\n' +
      '      1       0      0.500      0.500  STARTUP app shop\n',
  );
});

test('TLS on a SQL port is counted once per connection and not decoded: MySQL\'s SSL request, PostgreSQL\'s SSLRequest answered S', () => {
  const a = new Conversation('ethernet', '10.0.0.2', 40000, '10.0.0.1', 3306).handshake(T0);
  a.response(T0 + 1_000, my.greeting(0x8000 | 0x200 | 0x800));
  a.request(T0 + 2_000, my.sslRequest(0x8000 | 0x200));
  a.request(T0 + 3_000, Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]));
  const b = new Conversation('ethernet', '10.0.0.3', 40001, '10.0.0.1', 5432).handshake(T0);
  b.request(T0 + 1_000, pg.sslRequest()).response(T0 + 1_100, 'S');
  b.request(T0 + 2_000, Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]));
  const c = new Conversation('ethernet', '10.0.0.4', 40002, '10.0.0.1', 5432).handshake(T0);
  c.request(T0 + 1_000, pg.sslRequest()).response(T0 + 1_100, 'N');
  c.request(T0 + 2_000, pg.query('SELECT 1')).response(T0 + 3_000, Buffer.concat([pg.dataRow('1'), pg.complete('SELECT 1'), pg.ready()]));
  const my3306 = path.join(dir, 'tls-mysql.pcap');
  writePcap(my3306, 'ethernet', a.frames);
  const pg5432 = path.join(dir, 'tls-pgsql.pcap');
  writePcap(pg5432, 'ethernet', [...b.frames, ...c.frames].sort((x, y) => x.tsUs - y.tsUs));
  const m = tcpkit(['-r', my3306, '-p', '3306', '-m', 'mysql']);
  assert.equal(m.code, 0, m.stderr);
  assert.equal(m.stdout, '');
  assert.match(m.stderr, /[^\d]1 connection in TLS: not decoded/);
  const p = tcpkit(['-r', pg5432, '-p', '5432', '-m', 'pgsql']);
  assert.equal(p.code, 0, p.stderr);
  // The one answered N goes on in the clear.
  assert.equal(p.stdout, '2020-01-26 00:53:20.003000 10.0.0.4:40002 => 10.0.0.1:5432 | 1.000 ms | SELECT 1 | SELECT 1\n');
  assert.match(p.stderr, /[^\d]1 connection in TLS: not decoded/);
});

test('process_transaction(tx) gets the SQL fields: rows, affected_rows, error_code, sqlstate, error_message (nil when none)', () => {
  const a = new Conversation('ethernet', '10.0.0.2', 40000, '10.0.0.1', 3306).handshake(T0);
  a.request(T0 + 1_000, my.query('SELECT a FROM t')).response(T0 + 2_000, rows(3));
  a.request(T0 + 3_000, my.query('DELETE FROM t')).response(T0 + 4_000, my.ok(1, 3));
  a.request(T0 + 5_000, my.query('SELECT * FROM nope')).response(T0 + 6_000, my.err(1, 1146, '42S02', "Table 'shop.nope' doesn't exist"));
  const file = path.join(dir, 'fields.pcap');
  writePcap(file, 'ethernet', a.frames);
  const script = path.join(dir, 'fields.lua');
  fs.writeFileSync(script, 'function process_transaction(tx) print(tx.request, tx.status, tx.status_text, tx.rows, tx.affected_rows, tx.error_code, tx.sqlstate, tx.error_message) end\n');
  const r = tcpkit(['-r', file, '-p', '3306', '-m', 'mysql', '-S', script]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'SELECT a FROM t\tok\trows\t3\tnil\tnil\tnil\tnil\n' +
      'DELETE FROM t\tok\tOK\tnil\t3\tnil\tnil\tnil\n' +
      "SELECT * FROM nope\terror\t1146\tnil\tnil\t1146\t42S02\tTable 'shop.nope' doesn't exist\n",
  );
});

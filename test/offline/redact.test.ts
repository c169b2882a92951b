// --redact end to end, for every mode that carries values, in every output:
// the lines on standard output, --json, -o FILE, a Lua script's tx.request
// and tx.error_message, and the statistics (the exit summary's per-command
// table). No literal of the test's data may appear anywhere; what is kept
// (command, key, path, statement shape) must, so the test is not passed by
// printing nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Conversation, writePcap } from '../helpers/pcap-writer';
import { tcpkit } from '../helpers/run';
import { my, pg } from '../helpers/sql-wire';
import { RECORDS, produceRequest, produceResponse } from '../helpers/kafka-wire';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-redact-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const T0 = 1_580_000_000_000_000;

const LUA = path.join(dir, 'show.lua');
fs.writeFileSync(LUA, 'function process_transaction(tx) print("LUA " .. tx.request .. " | " .. (tx.error_message or "")) end\n');

interface Case {
  mode: string;
  port: number;
  /** Client and server bytes, in turn. */
  exchange: (string | Buffer)[];
  /** Values that must appear nowhere. */
  secrets: string[];
  /** What --redact leaves of the requests, in order, as the line shows them. */
  kept: string[];
}

/** A DNS message over TCP (its 2-byte length first): one question. */
function dnsTcp(id: number, name: string, response: boolean): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(response ? 0x8180 : 0x0100, 2);
  header.writeUInt16BE(1, 4);
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const msg = Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length);
  return Buffer.concat([len, msg]);
}

const cases: Case[] = [
  {
    mode: 'redis',
    port: 6379,
    exchange: [
      '*3\r\n$3\r\nSET\r\n$7\r\nuser:42\r\n$14\r\nsecret-s3cr3t!\r\n', '+OK\r\n',
      '*2\r\n$4\r\nAUTH\r\n$9\r\nhunter2pw\r\n', '-WRONGPASS invalid username-password pair\r\n',
      '*4\r\n$5\r\nHMSET\r\n$4\r\nh:k1\r\n$5\r\nemail\r\n$17\r\nbob@mail.invalid\r\n', '+OK\r\n',
    ],
    secrets: ['secret-s3cr3t!', 'hunter2pw', 'bob@mail.invalid', 'email'],
    kept: ['SET user:42 ?', 'AUTH ?', 'HMSET h:k1 ? ?'],
  },
  {
    mode: 'memcached',
    port: 11211,
    exchange: ['set session:9 0 0 13\r\ntoken-xyz-987\r\n', 'STORED\r\n', 'incr visits 424242\r\n', '500000\r\n'],
    secrets: ['token-xyz-987', '424242'],
    kept: ['set session:9 0 0 13', 'incr visits ?'],
  },
  {
    mode: 'http',
    port: 80,
    exchange: ['GET /search?q=private-words&token=abc123xyz HTTP/1.1\r\nHost: x\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'],
    secrets: ['private-words', 'abc123xyz'],
    kept: ['GET /search?q=?&token=?'],
  },
  {
    mode: 'kafka',
    port: 9092,
    exchange: [produceRequest(9, 1, 1, [{ name: 'orders', partitions: [0] }]), produceResponse(9, 1, [{ name: 'orders', partitions: [0] }])],
    // The record batch's bytes (tcpkit never prints message contents).
    secrets: [RECORDS.toString('latin1', 0, 12)],
    kept: ['Produce v9 orders[0]'],
  },
  {
    mode: 'mysql',
    port: 3306,
    exchange: [
      my.query("SELECT * FROM users WHERE email = 'alice@corp.invalid' AND pin = 98765"), Buffer.concat([my.columnCount(1, 1), my.column(2, 'a'), my.eof(3), my.row(4, 'alice'), my.eof(5)]),
      my.query("INSERT INTO users VALUES ('alice@corp.invalid', 0x5eC7e7)"), my.err(1, 1062, '23000', "Duplicate entry 'alice@corp.invalid' for key 'PRIMARY'"),
    ],
    secrets: ['alice@corp.invalid', '98765', '0x5eC7e7', '5eC7e7'],
    kept: ['SELECT * FROM users WHERE email = ? AND pin = ?', 'INSERT INTO users VALUES (?, ?)'],
  },
  {
    mode: 'pgsql',
    port: 5432,
    exchange: [
      pg.query("UPDATE accounts SET balance = 31337.5 WHERE owner = 'bob''s-secret'"), Buffer.concat([pg.complete('UPDATE 1'), pg.ready()]),
      Buffer.concat([pg.parse('', "SELECT * FROM t WHERE note = E'hidden\\ntext' AND id = $1"), pg.bind('', '', ['777']), pg.execute(''), pg.sync()]),
      Buffer.concat([pg.error('22P02', 'invalid input syntax for type integer: "notanumber-4711"'), pg.ready()]),
    ],
    secrets: ['31337', "bob''s-secret", 's-secret', 'hidden', 'notanumber-4711', '4711'],
    kept: ['UPDATE accounts SET balance = ? WHERE owner = ?', 'SELECT * FROM t WHERE note = ? AND id = $1'],
  },
  {
    // A question holds no value: it is kept as it is, and nothing else is shown.
    mode: 'dns',
    port: 53,
    exchange: [dnsTcp(0x4242, 'www.example.org', false), dnsTcp(0x4242, 'www.example.org', true)],
    secrets: [],
    kept: ['www.example.org A'],
  },
];

function capture(c: Case): string {
  const conv = new Conversation('ethernet', '10.0.0.2', 40000, '10.0.0.1', c.port).handshake(T0);
  c.exchange.forEach((bytes, i) => {
    const at = T0 + 1000 * (i + 1);
    if (i % 2 === 0) conv.request(at, bytes);
    else conv.response(at, bytes);
  });
  conv.close(T0 + 1000 * (c.exchange.length + 2));
  const file = path.join(dir, `${c.mode}.pcap`);
  writePcap(file, 'ethernet', conv.frames);
  return file;
}

for (const c of cases) {
  test(`--redact, -m ${c.mode}: no value in the lines, --json, -o, Lua or the statistics; ${c.kept.join(' / ')} kept`, () => {
    const file = capture(c);
    const base = ['-r', file, '-p', String(c.port), '-m', c.mode, '--redact'];
    const out = path.join(dir, `${c.mode}.out`);
    const runs = {
      lines: tcpkit(base),
      json: tcpkit([...base, '--json']),
      file: tcpkit([...base, '-o', out]),
      lua: tcpkit([...base, '-S', LUA]),
    };
    for (const [what, r] of Object.entries(runs)) assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    const written = fs.readFileSync(out, 'utf8');
    const texts: [string, string][] = [
      ['lines', runs.lines.stdout],
      ['--json', runs.json.stdout],
      ['-o', written],
      ['Lua', runs.lua.stdout],
      ...Object.entries(runs).map(([what, r]) => [`${what}'s summary and statistics`, r.stderr] as [string, string]),
    ];
    for (const [what, text] of texts) {
      for (const secret of c.secrets) assert.ok(!text.includes(secret), `${what} shows ${JSON.stringify(secret)}:\n${text}`);
    }
    // What is kept: each request, in order, in every output.
    const requests = (text: string): string[] => text.split('\n').filter(Boolean).map((l) => l.split(' | ')[2]);
    assert.deepEqual(requests(runs.lines.stdout), c.kept);
    assert.deepEqual(requests(written), c.kept);
    assert.deepEqual(runs.json.stdout.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { request: string }).request), c.kept);
    assert.deepEqual(runs.lua.stdout.split('\n').filter(Boolean).map((l) => l.slice(4).split(' | ')[0]), c.kept);
    // Without --redact the values are there: the data does hold them.
    const plain = tcpkit(['-r', file, '-p', String(c.port), '-m', c.mode, '--json']).stdout;
    if (c.mode !== 'kafka' && c.secrets.length > 0) assert.ok(c.secrets.some((s) => plain.includes(s)), plain);
  });
}

test('--redact, SQL error messages: quoted parts and numbers become ?, the words stay', () => {
  const mysql = tcpkit(['-r', path.join(dir, 'mysql.pcap'), '-p', '3306', '-m', 'mysql', '--redact', '--json']);
  const errors = mysql.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { error_message: string | null; error_code: number | null });
  assert.deepEqual(errors.map((e) => [e.error_code, e.error_message]), [[null, null], [1062, 'Duplicate entry ? for key ?']]);
  const pgsql = tcpkit(['-r', path.join(dir, 'pgsql.pcap'), '-p', '5432', '-m', 'pgsql', '--redact', '--json']);
  const pgErrors = pgsql.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { error_message: string | null; sqlstate: string | null });
  assert.deepEqual(pgErrors.map((e) => [e.sqlstate, e.error_message]), [[null, null], ['22P02', 'invalid input syntax for type integer: ?']]);
});

// -S end to end through the CLI: scripts in the original tool's style and the
// ones in scripts/, on the recorded Redis capture and on synthetic captures
// (DNS over UDP and TCP, handshakes with SYN retransmits and refusals). The
// expected outputs in test/fixtures/lua/*.out were checked against tcpkit's
// own -m redis and raw lines for the same capture.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ACK, Conversation, RST, SYN, tcpPacket, udpPacket, writePcap, type Frame } from '../helpers/pcap-writer';
import { FIXTURES, ROOT, tcpkit } from '../helpers/run';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-lua-cli-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const DEMO = path.join(FIXTURES, 'redis-demo.pcap');
const LUA = path.join(FIXTURES, 'lua');
const SCRIPTS = path.join(ROOT, 'scripts');
const T0 = 1_580_000_000_000_000; // 2020-01-26 00:53:20 UTC, in µs

function script(name: string, source: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, source);
  return file;
}

function expected(name: string): string {
  return fs.readFileSync(path.join(LUA, name), 'utf8');
}

test('a script in the original style (bit32, os.date, %u, packet.request, process) sees every packet, SYN and FIN too', () => {
  const r = tcpkit(['-r', DEMO, '-p', '6379', '-S', path.join(LUA, 'original-style.lua')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, expected('original-style.out'));
  assert.match(r.stdout, /REQ seq=3626633900 ack=0 SYN {9}size=0/);
  assert.match(r.stdout, /\n57 packets, 6939 bytes of payload\n$/);
  // Raw mode prints its summary too (issue 16, item 12): what was read, and nothing went wrong.
  assert.match(r.stderr, /^tcpkit: pcap-file \S+redis-demo\.pcap: 57 packets in [\d.]+ s: 57 to or from the watched ports; 3 connections\n$/);
});

test('item 12: raw mode without a script, and a script\'s errors, end with the summary', () => {
  const raw = tcpkit(['-r', DEMO, '-p', '6379', '-m', 'raw']);
  assert.equal(raw.code, 0, raw.stderr);
  assert.match(raw.stderr, /^tcpkit: pcap-file \S+: 57 packets in [\d.]+ s: 57 to or from the watched ports; 3 connections\n$/);
  const script = path.join(os.tmpdir(), `tk-fails-${process.pid}.lua`);
  fs.writeFileSync(script, 'function process(p)\n  if p.size > 0 then error("no") end\nend\n');
  try {
    const r = tcpkit(['-r', DEMO, '-p', '6379', '-S', script]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^tcpkit: pcap-file \S+: 57 packets in [\d.]+ s: 57 to or from the watched ports; 3 connections\n\d+ script errors\n$/m);
  } finally {
    fs.rmSync(script, { force: true });
  }
});

test('the blog style: process_packet(item) with src, dst, len, incoming, is_client', () => {
  const r = tcpkit(['-r', DEMO, '-p', '6379', '-S', path.join(LUA, 'blog-style.lua')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, expected('blog-style.out'));
});

test('scripts/example.lua prints each packet with data, payload escaped', () => {
  const r = tcpkit(['-r', DEMO, '-p', '6379', '-S', path.join(SCRIPTS, 'example.lua')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, expected('example.out'));
  assert.equal(
    r.stdout.split('\n')[0],
    '2026-11-23 15:27:37.857521\t10.77.58.2:45854=>10.77.58.1:6379\tREQ\t38\t*3\\r\\n$3\\r\\nSET\\r\\n$8\\r\\ntest_key\\r\\n$5\\r\\nhello\\r\\n',
  );
});

test('scripts/redis_mc_monitor.lua: the latencies -m redis gives, from packets alone', () => {
  const r = tcpkit(['-r', DEMO, '-p', '6379', '-S', path.join(SCRIPTS, 'redis_mc_monitor.lua')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, expected('redis_mc_monitor.out'));
  // The same times and latencies as tcpkit's own lines (which also name and mark the error reply).
  const own = tcpkit(['-r', DEMO, '-p', '6379', '-m', 'redis']);
  const ownLines = new Set(own.stdout.split('\n').map((l) => l.replace(/ \| WRONGTYPE \| error$/, '')));
  for (const line of r.stdout.trimEnd().split('\n')) assert.ok(ownLines.has(line), line);
});

test('scripts/redis_mc_monitor.lua on memcached text: a request per line, retransmissions skipped', () => {
  const c = new Conversation('ethernet', '10.0.0.2', 41000, '10.0.0.1', 11211)
    .handshake(T0)
    .request(T0 + 1000, 'set k 0 0 5\r\nhello\r\n')
    .response(T0 + 1300, 'STORED\r\n')
    .request(T0 + 2000, 'get k\r\n')
    .retransmit(T0 + 2100, true, 'get k\r\n', 7)
    .response(T0 + 2500, 'VALUE k 0 5\r\nhello\r\nEND\r\n');
  const file = path.join(dir, 'memcached.pcap');
  writePcap(file, 'ethernet', c.frames);
  const r = tcpkit(['-r', file, '-p', '11211', '-S', path.join(SCRIPTS, 'redis_mc_monitor.lua')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    '2020-01-26 00:53:20.001300 10.0.0.2:41000 => 10.0.0.1:11211 | 0.300 ms | set k 0 0 5\n' +
      '2020-01-26 00:53:20.002500 10.0.0.2:41000 => 10.0.0.1:11211 | 0.500 ms | get k\n',
  );
});

/** A memcached binary message: magic, opcode, key and value, body length in its header. */
function binary(magic: number, opcode: number, key: string, value = ''): Buffer {
  const h = Buffer.alloc(24);
  h[0] = magic;
  h[1] = opcode;
  h.writeUInt16BE(key.length, 2);
  h.writeUInt32BE(key.length + value.length, 8);
  return Buffer.concat([h, Buffer.from(key), Buffer.from(value)]);
}

test('item 18: scripts/redis_mc_monitor.lua reports every memcached binary request, a long value split over segments too', () => {
  const value = 'v'.repeat(3000);
  const c = new Conversation('ethernet', '10.0.0.2', 41001, '10.0.0.1', 11211)
    .handshake(T0)
    .request(T0 + 1000, binary(0x80, 0x00, 'a'))
    .response(T0 + 1200, binary(0x81, 0x00, '', 'xyz'))
    .request(T0 + 2000, binary(0x80, 0x01, 'big', value), 1448)
    .response(T0 + 2400, binary(0x81, 0x01, ''))
    // Two requests in one segment, answered in one.
    .request(T0 + 3000, Buffer.concat([binary(0x80, 0x00, 'b'), binary(0x80, 0x00, 'c')]))
    .response(T0 + 3300, Buffer.concat([binary(0x81, 0x00, '', '12'), binary(0x81, 0x00, '', '34')]))
    .request(T0 + 4000, 'get k\r\n')
    .response(T0 + 4100, 'END\r\n');
  const file = path.join(dir, 'memcached-binary.pcap');
  writePcap(file, 'ethernet', c.frames);
  const r = tcpkit(['-r', file, '-p', '11211', '-S', path.join(SCRIPTS, 'redis_mc_monitor.lua')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    '2020-01-26 00:53:20.001200 10.0.0.2:41001 => 10.0.0.1:11211 | 0.200 ms | binary opcode 0x00\n' +
      '2020-01-26 00:53:20.002400 10.0.0.2:41001 => 10.0.0.1:11211 | 0.400 ms | binary opcode 0x01\n' +
      '2020-01-26 00:53:20.003300 10.0.0.2:41001 => 10.0.0.1:11211 | 0.300 ms | binary opcode 0x00\n' +
      '2020-01-26 00:53:20.003300 10.0.0.2:41001 => 10.0.0.1:11211 | 0.300 ms | binary opcode 0x00\n' +
      '2020-01-26 00:53:20.004100 10.0.0.2:41001 => 10.0.0.1:11211 | 0.100 ms | get k\n',
  );
});

test('scripts/command-stats.lua: per-command table from process_transaction(tx), printed by process_end()', () => {
  const r = tcpkit(['-r', DEMO, '-m', 'redis', '-S', path.join(SCRIPTS, 'command-stats.lua')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, expected('command-stats.out'));
  assert.match(r.stdout, /^INCR {14}11 {7}1 {9}0 {6}0\.165 {6}0\.182$/m);
  // The script's output replaces tcpkit's lines; the summary stays.
  assert.match(r.stderr, /requests: 22 answered \(1 error\), 0 without response/);
});

// --- DNS ------------------------------------------------------------------------

function dnsMessage(id: number, name: string, qtype: number, response: boolean, rcode = 0): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(response ? 0x8180 | rcode : 0x0100, 2);
  header.writeUInt16BE(1, 4);
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(qtype, 1);
  tail.writeUInt16BE(1, 3);
  return Buffer.concat([header, ...labels, tail]);
}

test('scripts/dns.lua with -u: latency per answer, NXDOMAIN, IPv6, unanswered at the end; UDP has no seq or flags', () => {
  const q = (tsUs: number, src: string, sport: number, dst: string, payload: Buffer): Frame => ({ tsUs, data: udpPacket('ethernet', src, sport, dst, 53, payload) });
  const a = (tsUs: number, src: string, dst: string, dport: number, payload: Buffer): Frame => ({ tsUs, data: udpPacket('ethernet', src, 53, dst, dport, payload) });
  const frames: Frame[] = [
    q(T0, '10.0.0.2', 5353, '10.0.0.1', dnsMessage(0x1234, 'example.com', 1, false)),
    a(T0 + 1234, '10.0.0.1', '10.0.0.2', 5353, dnsMessage(0x1234, 'example.com', 1, true)),
    q(T0 + 2000, '10.0.0.2', 5354, '10.0.0.1', dnsMessage(7, 'nope.example', 28, false)),
    a(T0 + 27000, '10.0.0.1', '10.0.0.2', 5354, dnsMessage(7, 'nope.example', 28, true, 3)),
    q(T0 + 30000, 'fd00::2', 6000, 'fd00::1', dnsMessage(9, 'v6.example.org', 15, false)),
    a(T0 + 31000, '10.0.0.1', '10.0.0.2', 5355, dnsMessage(99, 'stray.example', 1, true)),
  ];
  const file = path.join(dir, 'dns-udp.pcap');
  writePcap(file, 'ethernet', frames);
  const r = tcpkit(['-r', file, '-p', '53', '-u', '-S', path.join(SCRIPTS, 'dns.lua')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    '2020-01-26 00:53:20.001234 10.0.0.2:5353 => 10.0.0.1:53 #4660 | 1.234 ms | example.com. A | NOERROR\n' +
      '2020-01-26 00:53:20.027000 10.0.0.2:5354 => 10.0.0.1:53 #7 | 25.000 ms | nope.example. AAAA | NXDOMAIN\n' +
      '2020-01-26 00:53:20.030000 [fd00::2]:6000 => [fd00::1]:53 #9 | no response | v6.example.org. MX\n',
  );
  const fields = script('udp-fields.lua', 'function process(p) print(p.udp, p.seq, p.ack, p.flags, p.size, p.request) end');
  const u = tcpkit(['-r', file, '-p', '53', '-u', '-S', fields]);
  assert.equal(u.stdout.split('\n')[0], '1\tnil\tnil\tnil\t29\ttrue');
  // Without -u the script watches TCP, and this capture has none.
  assert.equal(tcpkit(['-r', file, '-p', '53', '-S', fields]).stdout, '');
});

test('scripts/dns.lua over TCP: the two-byte length in front', () => {
  const query = dnsMessage(5, 'tcp.example', 1, false);
  const answer = dnsMessage(5, 'tcp.example', 1, true);
  const len = (m: Buffer): Buffer => Buffer.concat([Buffer.from([m.length >> 8, m.length & 255]), m]);
  const c = new Conversation('ethernet', '10.0.0.2', 42000, '10.0.0.1', 53).handshake(T0).request(T0 + 100, len(query)).response(T0 + 600, len(answer)).close(T0 + 1000);
  const file = path.join(dir, 'dns-tcp.pcap');
  writePcap(file, 'ethernet', c.frames);
  const r = tcpkit(['-r', file, '-p', '53', '-S', path.join(SCRIPTS, 'dns.lua')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '2020-01-26 00:53:20.000600 10.0.0.2:42000 => 10.0.0.1:53 #5 | 0.500 ms | tcp.example. A | NOERROR\n');
});

// --- TCP connect -----------------------------------------------------------------

test('scripts/tcp-connect.lua: connect time and SYN retransmits, refusals, SYNs never answered', () => {
  const tcp = (tsUs: number, fromClient: boolean, cport: number, seq: number, ack: number, flags: number, payload = ''): Frame => ({
    tsUs,
    data: fromClient
      ? tcpPacket('ethernet', '10.0.0.2', cport, '10.0.0.1', 80, seq, ack, flags, Buffer.from(payload))
      : tcpPacket('ethernet', '10.0.0.1', 80, '10.0.0.2', cport, seq, ack, flags, Buffer.from(payload)),
  });
  const S = 1_000_000;
  const frames: Frame[] = [
    // Two SYNs lost: answered after the third.
    tcp(T0, true, 40001, 100, 0, SYN),
    tcp(T0 + 1 * S, true, 40001, 100, 0, SYN),
    tcp(T0 + 3 * S, true, 40001, 100, 0, SYN),
    tcp(T0 + 3 * S + 200, false, 40001, 900, 101, SYN | ACK),
    tcp(T0 + 3 * S + 250, true, 40001, 101, 901, ACK),
    // A quick one, with data after (which the script skips).
    tcp(T0 + 5 * S, true, 40002, 500, 0, SYN),
    tcp(T0 + 5 * S + 150, false, 40002, 700, 501, SYN | ACK),
    tcp(T0 + 5 * S + 160, true, 40002, 501, 701, ACK),
    tcp(T0 + 5 * S + 300, true, 40002, 501, 701, ACK, 'GET / HTTP/1.1\r\n\r\n'),
    // Refused.
    tcp(T0 + 6 * S + 999_950, true, 40003, 800, 0, SYN),
    tcp(T0 + 7 * S + 30, false, 40003, 0, 801, RST | ACK),
    // Never answered.
    tcp(T0 + 8 * S, true, 40004, 1000, 0, SYN),
    tcp(T0 + 9 * S, true, 40004, 1000, 0, SYN),
  ];
  const file = path.join(dir, 'connect.pcap');
  writePcap(file, 'ethernet', frames);
  const r = tcpkit(['-r', file, '-p', '80', '-S', path.join(SCRIPTS, 'tcp-connect.lua')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    [
      'time                       client => server                                retries   connect ms',
      '2020-01-26 00:53:23.000200 10.0.0.2:40001 => 10.0.0.1:80                         2     3000.200',
      '2020-01-26 00:53:25.000150 10.0.0.2:40002 => 10.0.0.1:80                         0        0.150',
      '2020-01-26 00:53:27.000030 10.0.0.2:40003 => 10.0.0.1:80                         0        0.080 refused',
      '2020-01-26 00:53:28.000000 10.0.0.2:40004 => 10.0.0.1:80                         1    no answer',
      '',
    ].join('\n'),
  );
});

// --- errors, refusals, output ------------------------------------------------------

test('a script that fails on some packets: file:line on stderr, counted in the summary, capture goes on', () => {
  const file = script(
    'fails.lua',
    ['local n = 0', 'function process(packet)', '  if packet.size > 0 and packet.request then', '    return packet.payload.nope.x', '  end', '  n = n + 1', 'end', 'function process_end() print(n .. " packets without an error") end'].join('\n'),
  );
  const r = tcpkit(['-r', DEMO, '-p', '6379', '-S', file]);
  assert.equal(r.code, 0, r.stderr);
  // 57 packets, 15 of them requests with data.
  assert.equal(r.stdout, '42 packets without an error\n');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.filter((l) => l.startsWith('tcpkit: script error: ')).length, 10);
  assert.match(lines[0], /^tcpkit: script error: .*fails\.lua:4: attempt to index a nil value \(field 'nope'\)$/);
  assert.match(r.stderr, /fails\.lua: further script errors are counted, not shown\n/);
  assert.match(r.stderr, /^15 script errors$/m);
});

test('refused before capture: one line, exit 1, nothing on standard output', () => {
  const cases: [string, string, string[], RegExp][] = [
    ['no callback', 'local x = 1\nprint("loaded")\n', [], /^tcpkit: -S .*none\.lua: the script defines neither process\(packet\) nor process_packet\(item\)$/],
    ['a syntax error', 'function process(p)\n  if p.size then\nend\n', [], /^tcpkit: .*syntax\.lua:4: 'end' expected \(to close 'function' at line 1\) near <eof>$/],
    ['an error at the top level', 'local cfg = nil\nlocal port = cfg.port\nfunction process() end\n', [], /^tcpkit: .*toplevel\.lua:2: attempt to index a nil value \(local 'cfg'\)$/],
    ['process_transaction without -m', 'function process_transaction(tx) end\n', [], /^tcpkit: -S .*txonly\.lua: process_transaction\(tx\) needs a protocol mode/],
    ['no callback for -m redis', 'x = 1\n', ['-m', 'redis'], /^tcpkit: -S .*nothing\.lua: the script defines none of process\(packet\), process_packet\(item\), process_transaction\(tx\)$/],
  ];
  const names = ['none.lua', 'syntax.lua', 'toplevel.lua', 'txonly.lua', 'nothing.lua'];
  cases.forEach(([what, source, extra, message], i) => {
    const r = tcpkit(['-r', DEMO, '-p', '6379', '-S', script(names[i], source), ...extra]);
    assert.equal(r.code, 1, `${what}: ${r.stderr}`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `${what}: ${r.stderr}`);
    assert.match(lines[0], message, what);
    assert.equal(r.stdout, '', what);
  });
});

test('-S without -m is raw mode even on a well-known port; -o sends the script output to a file', () => {
  const out = path.join(dir, 'out.txt');
  const file = script('count.lua', 'local n = 0\nfunction process(p) n = n + 1 end\nfunction process_end() print(n) end\n');
  const r = tcpkit(['-r', DEMO, '-p', '6379', '-S', file, '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(fs.readFileSync(out, 'utf8'), '57\n');
  // With -m redis, process(packet) still gets every packet, next to the pairing.
  const m = tcpkit(['-r', DEMO, '-m', 'redis', '-S', file]);
  assert.equal(m.stdout, '54\n');
  assert.match(m.stderr, /requests: 22 answered/);
});

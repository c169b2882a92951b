// The script host in-process: the packet table's fields (written in place,
// and through __index only: the same values), scripts that change the table,
// error reporting and counting, the callbacks a mode needs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpProto, Packet } from '../../../src/decode/packet';
import { Transaction, TxStatus } from '../../../src/pairing/transaction';
import { newPairedConnection } from '../../../src/pairing/connection';
import { ScriptError } from '../../../src/lua/host';
import { loadLua } from '../../helpers/lua';

const BUF = Buffer.from('xxxxGET k\r\n+OK\r\n');

interface Spec {
  v6?: boolean;
  udp?: boolean;
  flags?: number;
  payload?: [number, number];
  fromClient: boolean;
  sec: number;
  nsec: number;
}

function packet(s: Spec): Packet {
  const p = new Packet();
  p.family = s.v6 ? 6 : 4;
  p.proto = s.udp ? IpProto.Udp : IpProto.Tcp;
  p.tsSec = s.sec;
  p.tsNsec = s.nsec;
  const client = s.v6 ? [0xfd000000, 0, 0, 2] : [0, 0, 0, 0x0a000002];
  const server = s.v6 ? [0xfd000000, 0, 0, 1] : [0, 0, 0, 0x0a000001];
  const [src, dst] = s.fromClient ? [client, server] : [server, client];
  [p.s0, p.s1, p.s2, p.s3] = src;
  [p.d0, p.d1, p.d2, p.d3] = dst;
  p.sport = s.fromClient ? 40000 : 6379;
  p.dport = s.fromClient ? 6379 : 40000;
  p.seq = s.fromClient ? 3000000000 : 1000;
  p.ack = s.fromClient ? 1000 : 3000000000;
  p.flags = s.flags ?? 0x18;
  const [off, len] = s.payload ?? [0, 0];
  p.payloadOff = off;
  p.payloadCap = len;
  p.payloadLen = len;
  return p;
}

const PACKETS: Spec[] = [
  { fromClient: true, sec: 1580000000, nsec: 1000, flags: 0x02 }, // SYN
  { fromClient: false, sec: 1580000000, nsec: 2000, flags: 0x12 }, // SYN+ACK
  { fromClient: true, sec: 1580000001, nsec: 999_999_999, payload: [4, 7] }, // GET k
  { fromClient: false, sec: 1580000002, nsec: 5000, payload: [11, 5] }, // +OK
  { fromClient: true, sec: 1580000002, nsec: 6000, payload: [4, 7], v6: true },
  { fromClient: true, sec: 1580000003, nsec: 0, payload: [4, 3], udp: true },
  { fromClient: false, sec: 1580000003, nsec: 1000, flags: 0x14 }, // RST+ACK
];

const SCRIPT = `
function process(packet)
  local fields = {}
  for _, k in ipairs({"tv_sec", "tv_usec", "sip", "sport", "dip", "dport", "seq", "ack", "flags", "request",
                      "size", "len", "payload", "src", "dst", "udp", "incoming", "is_client"}) do
    fields[#fields + 1] = k .. "=" .. tostring(packet[k])
  end
  print(table.concat(fields, " "))
  -- read twice, change a field for this call only (as tcp-connect.lua does)
  assert(packet.payload == packet.payload and packet.sip == packet.src)
  packet.tv_sec = packet.tv_sec - 1
  assert(packet.tv_sec == ${PACKETS[0].sec - 1} or packet.tv_sec < 1580000003)
  -- keys a script adds or removes do not outlive the packet
  assert(packet.note == nil, "a key from the last packet")
  packet.note = "x"
  if packet.udp == 1 then packet.size = nil end
  local n = 0
  for k, v in pairs(packet) do n = n + 1 end
  assert(n >= 15, "pairs sees the fields")
end
`;

const EXPECTED = [
  'tv_sec=1580000000 tv_usec=1 sip=10.0.0.2 sport=40000 dip=10.0.0.1 dport=6379 seq=3000000000 ack=1000 flags=2 request=true size=0 len=0 payload= src=10.0.0.2 dst=10.0.0.1 udp=0 incoming=1 is_client=0',
  'tv_sec=1580000000 tv_usec=2 sip=10.0.0.1 sport=6379 dip=10.0.0.2 dport=40000 seq=1000 ack=3000000000 flags=18 request=false size=0 len=0 payload= src=10.0.0.1 dst=10.0.0.2 udp=0 incoming=0 is_client=0',
  'tv_sec=1580000001 tv_usec=999999 sip=10.0.0.2 sport=40000 dip=10.0.0.1 dport=6379 seq=3000000000 ack=1000 flags=24 request=true size=7 len=7 payload=GET k\r\n src=10.0.0.2 dst=10.0.0.1 udp=0 incoming=1 is_client=0',
  'tv_sec=1580000002 tv_usec=5 sip=10.0.0.1 sport=6379 dip=10.0.0.2 dport=40000 seq=1000 ack=3000000000 flags=24 request=false size=5 len=5 payload=+OK\r\n src=10.0.0.1 dst=10.0.0.2 udp=0 incoming=0 is_client=0',
  'tv_sec=1580000002 tv_usec=6 sip=fd00::2 sport=40000 dip=fd00::1 dport=6379 seq=3000000000 ack=1000 flags=24 request=true size=7 len=7 payload=GET k\r\n src=fd00::2 dst=fd00::1 udp=0 incoming=1 is_client=0',
  'tv_sec=1580000003 tv_usec=0 sip=10.0.0.2 sport=40000 dip=10.0.0.1 dport=6379 seq=nil ack=nil flags=nil request=true size=3 len=3 payload=GET src=10.0.0.2 dst=10.0.0.1 udp=1 incoming=1 is_client=0',
  'tv_sec=1580000003 tv_usec=1 sip=10.0.0.1 sport=6379 dip=10.0.0.2 dport=40000 seq=1000 ack=3000000000 flags=20 request=false size=0 len=0 payload= src=10.0.0.1 dst=10.0.0.2 udp=0 incoming=0 is_client=0',
];

for (const inPlace of [true, false]) {
  test(`packet fields, ${inPlace ? 'written in place' : 'all through __index'}: the original's names and values`, () => {
    const { host, out, errors } = loadLua(SCRIPT, 'raw', { inPlace });
    assert.equal(host.inPlace, inPlace, 'fengari 0.1.5 has the table internals the fast path expects');
    for (const s of PACKETS) host.packet(packet(s), BUF, s.fromClient);
    assert.deepEqual(errors, []);
    assert.equal(out.text(), EXPECTED.map((l) => `${l}\n`).join(''));
  });
}

test('a script that changes the metatable or removes a field still gets every field next packet', () => {
  const { host, out, errors } = loadLua(`
    local seen = 0
    function process(p)
      seen = seen + 1
      print(seen, p.size, p.sport, p.sip, p.payload)
      if seen == 1 then setmetatable(p, nil) end
      if seen == 2 then p.sport = nil; p.sip = nil end
      if seen == 3 then rawset(p, "payload", nil); p.payload = "stale" end
    end`);
  for (let i = 0; i < 4; i++) host.packet(packet(PACKETS[2]), BUF, true);
  assert.deepEqual(errors, []);
  assert.equal(out.text(), '1\t7\t40000\t10.0.0.2\tGET k\r\n\n'.repeat(1) + '2\t7\t40000\t10.0.0.2\tGET k\r\n\n' + '3\t7\t40000\t10.0.0.2\tGET k\r\n\n' + '4\t7\t40000\t10.0.0.2\tGET k\r\n\n');
});

test('fields are written only once read: one set before any read, or first read later on, is still the packet\'s own', () => {
  const { host, out, errors } = loadLua(`
    local n = 0
    function process(p)
      n = n + 1
      if n == 1 then p.size = 99; p.seq = "x"; p.sip = "y" end
      if n >= 2 then print(n, p.size, p.seq, p.flags, p.sip) end
      if n == 3 then p.flags = 0; p.size = -1 end
    end`);
  for (const s of [PACKETS[2], PACKETS[3], PACKETS[2], PACKETS[5]]) host.packet(packet(s), BUF, s.fromClient);
  assert.deepEqual(errors, []);
  assert.equal(out.text(), '2\t5\t1000\t24\t10.0.0.1\n3\t7\t3000000000\t24\t10.0.0.2\n4\t3\tnil\tnil\t10.0.0.2\n');
});

test('errors: file and line, counted, the first ten shown, capture goes on', () => {
  const { host, out, errors } = loadLua(
    [
      'function process(p)',
      '  if p.request then',
      '    local missing',
      '    return missing.field', // line 4
      '  end',
      '  print("response", p.size)',
      'end',
    ].join('\n'),
  );
  for (let i = 0; i < 12; i++) {
    host.packet(packet(PACKETS[2]), BUF, true);
    host.packet(packet(PACKETS[3]), BUF, false);
  }
  assert.equal(host.luaErrors, 12);
  assert.equal(out.text(), 'response\t5\n'.repeat(12));
  assert.equal(errors.length, 11);
  assert.match(errors[0], /^tcpkit: script error: .*script\.lua:4: attempt to index a nil value \(local 'missing'\)\n$/);
  assert.match(errors[10], /^tcpkit: .*script\.lua: further script errors are counted, not shown\n$/);
});

test('errors without a position get the line they were raised on; non-string errors are named', () => {
  const { host, errors } = loadLua('function process(p)\n  if p.size > 0 then error("plain", 0) end\n  error({})\nend');
  host.packet(packet(PACKETS[2]), BUF, true);
  host.packet(packet(PACKETS[0]), BUF, true);
  assert.match(errors[0], /script\.lua:2: plain\n$/);
  assert.match(errors[1], /script\.lua:3: \(error object is a table value\)\n$/);
  assert.equal(host.luaErrors, 2);
});

test('refused at start: no callback, a syntax error, an error at the top level, process_transaction without a mode', () => {
  assert.throws(() => loadLua('local x = 1'), (e: Error) => e instanceof ScriptError && /script\.lua: the script defines neither process\(packet\) nor process_packet\(item\)$/.test(e.message));
  assert.throws(() => loadLua('x = 1', 'redis'), /defines none of process\(packet\), process_packet\(item\), process_transaction\(tx\)$/);
  assert.throws(() => loadLua('function process(p)\n  return p +\nend'), (e: Error) => e instanceof ScriptError && /script\.lua:3: unexpected symbol near 'end'$/.test(e.message));
  assert.throws(() => loadLua('local t = nil\nprint(t.x)\nfunction process() end'), /script\.lua:2: attempt to index a nil value \(local 't'\)$/);
  assert.throws(() => loadLua('function process_transaction(tx) end'), /process_transaction\(tx\) needs a protocol mode/);
  // process = 1 is not a callback
  assert.throws(() => loadLua('process = 1'), /defines neither/);
});

test('process_packet(item) is the callback when process is absent; process_end runs once at close', () => {
  const { host, out } = loadLua('function process_packet(item) print("item", item.len) end\nfunction process_end() print("end") end');
  host.packet(packet(PACKETS[2]), BUF, true);
  host.close();
  host.close();
  assert.equal(out.text(), 'item\t7\nend\n');
  assert.equal(out.closed, true);
});

test('process_transaction(tx): protocol, endpoints, request, status, times, latency, sizes', () => {
  const { host, out, errors } = loadLua(
    'function process_transaction(tx)\n' +
      '  print(tx.protocol, tx.client, tx.server, tx.request, tx.status, tx.status_text, tx.tv_sec, tx.tv_usec,\n' +
      '        tx.req_tv_sec, tx.req_tv_usec, tx.latency_us, tx.complete_us, tx.request_size, tx.response_size)\n' +
      'end',
    'redis',
  );
  assert.equal(host.wantsPackets, false);
  const conn = newPairedConnection();
  conn.family = 4;
  conn.c3 = 0x0a000002;
  conn.cport = 40000;
  conn.s3 = 0x0a000001;
  conn.sport = 6379;
  const tx = new Transaction();
  tx.conn = conn;
  tx.protocol = 'redis';
  tx.status = TxStatus.Error;
  tx.reqSec = 1580000000;
  tx.reqNsec = 999_000;
  tx.rspSec = 1580000001;
  tx.rspNsec = 270_500;
  tx.latencyNs = 999_271_500;
  tx.completeNs = 999_300_000;
  tx.reqBytes = 26;
  tx.rspBytes = 68;
  tx.preview = Buffer.alloc(64);
  tx.previewLen = tx.preview.write('INCR user:1');
  host.transaction(tx);
  tx.status = TxStatus.NoResponse;
  tx.preview = Buffer.from('GET aaaa');
  tx.previewLen = 8; // cut short: shown with "..."
  host.transaction(tx);
  assert.deepEqual(errors, []);
  assert.equal(
    out.text(),
    'redis\t10.0.0.2:40000\t10.0.0.1:6379\tINCR user:1\terror\t\t1580000001\t270\t1580000000\t999\t999271.5\t999300\t26\t68\n' +
      'redis\t10.0.0.2:40000\t10.0.0.1:6379\tGET aaaa...\tno response\t\t1580000001\t270\t1580000000\t999\t999271.5\t999300\t26\t68\n',
  );
});

test('an endless loop is stopped by the watchdog, counted, and the script skipped until the next batch', () => {
  const { host, out, errors } = loadLua('local n = 0\nfunction process(p)\n  n = n + 1\n  if n == 2 then while true do end end\n  print(n)\nend', 'raw', { watchdogInstructions: 1_000_000 });
  for (let i = 0; i < 3; i++) host.packet(packet(PACKETS[2]), BUF, true);
  host.flush(); // the batch ends: the event loop (and Ctrl-C) get their turn
  host.packet(packet(PACKETS[2]), BUF, true);
  assert.equal(host.luaErrors, 1);
  assert.match(errors[0], /script\.lua:4: stopped after 1 million Lua instructions in one call \(an endless loop\?\); the script gets no more packets in this batch\n$/);
  assert.equal(out.text(), '1\n3\n');
});

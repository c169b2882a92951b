// CPU nanoseconds a packet that a Lua script's process() costs, in-process:
// the redis-benchmark capture's records (copied to 8-byte boundaries, as the
// engine's batches have them) decoded once without and once with
// LuaHost.packet, ROUNDS times; the difference of the two loops' CPU time
// (process.cpuUsage) over the packets. No pipeline, no output, no start-up:
// what the script path costs, to compare two builds of it (BENCHMARKS.md,
// "The size+payload row"). Run several times, alternating the builds: the
// machine's load moves single runs by a factor of two.
//
//   node test/bench/lua-inprocess.cjs [TREE] SCRIPT [ROUNDS]
//     TREE: a tree with dist/ built (default: this one); the capture comes
//     from test/bench/offline.sh redis ($BENCH_DIR, default /tmp/tcpkit-bench)
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const args = process.argv.slice(2);
const root = args.length >= 2 && fs.existsSync(path.join(args[0], 'dist')) ? path.resolve(args.shift()) : path.resolve(__dirname, '..', '..');
const script = args[0];
const rounds = Number(args[1] ?? 5);
if (!script) {
  console.error('usage: node test/bench/lua-inprocess.cjs [TREE] SCRIPT [ROUNDS]');
  process.exit(2);
}
const capture = path.join(process.env.BENCH_DIR ?? '/tmp/tcpkit-bench', 'redis-benchmark.pcap');
const { decodePacket, Packet } = require(path.join(root, 'dist/src/decode/packet'));
const { LuaHost } = require(path.join(root, 'dist/src/lua/host'));

const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const raw = fs.readFileSync(capture);
const link = raw.readUInt32LE(20);
const batch = Buffer.alloc(raw.length * 2);
/** Offset and captured length of each record's packet in `batch`. */
const records = [];
let at = 0;
for (let off = 24; off + 16 <= raw.length; ) {
  const cap = raw.readUInt32LE(off + 8);
  at = (at + 7) & ~7;
  raw.copy(batch, at, off + 16, off + 16 + cap);
  records.push(at, cap);
  at += cap;
  off += 16 + cap;
}
const sink = { writeBytes() {}, writeByte() {}, flush() {}, close() {} };
const host = LuaHost.open(script, sink, 'raw', {});
const p = new Packet();

function loop(withLua) {
  let n = 0;
  for (let i = 0; i < records.length; i += 2) {
    if (decodePacket(batch, records[i], records[i + 1], link, p) !== 0) continue;
    n++;
    if (withLua) host.packet(p, batch, p.dport === 6379);
  }
  return n;
}

loop(true);
const ns = [];
for (let r = 0; r < rounds; r++) {
  const t0 = cpu();
  const n = loop(false);
  const t1 = cpu();
  loop(true);
  const t2 = cpu();
  ns.push(((t2 - t1 - (t1 - t0)) * 1000) / n);
}
ns.sort((a, b) => a - b);
console.log(`${path.basename(script)} ${root}: ${ns[ns.length >> 1].toFixed(1)} ns a packet (median of ${rounds}; all: ${ns.map((x) => x.toFixed(0)).join(' ')})`);

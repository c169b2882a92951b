// What --top adds per transaction, beside what the statistics cost: the same
// transactions (10 commands, 1,000 clients, latencies spread from 50 µs to
// 50 ms) through Stats alone, then through Stats and TopModel, best of a few
// runs; and what one tick (the once-a-second redraw's figures) costs.
//
//   node dist/test/bench/top-model.js [TRANSACTIONS]
import { newPairedConnection, type PairedConnection } from '../../src/pairing/connection';
import { Transaction, TxStatus } from '../../src/pairing/transaction';
import { Stats } from '../../src/stats/stats';
import { TopModel } from '../../src/top/model';
import type { RunCounters } from '../../src/stats/counters';

const N = Number(process.argv[2] ?? 2_000_000);
const COMMANDS = ['GET k', 'SET k v', 'DEL k', 'INCR c', 'HGET h f', 'HSET h f v', 'LPUSH l v', 'LRANGE l 0 9', 'EXPIRE k 9', 'MGET a b'];
const counters = { packetsSeen: 0, packetsLost: 0, connectionsOpen: 0 } as RunCounters;

const conns: PairedConnection[] = [];
for (let i = 0; i < 1000; i++) {
  const c = newPairedConnection();
  c.family = 4;
  c.c3 = 0x0a000000 + i;
  c.cport = 40000 + i;
  c.s3 = 0x0a0000fe;
  c.sport = 6379;
  conns.push(c);
}
const txs: Transaction[] = COMMANDS.map((cmd) => {
  const t = new Transaction();
  t.protocol = 'redis';
  t.preview = Buffer.alloc(256);
  t.previewLen = t.preview.write(cmd);
  t.reqBytes = 30;
  t.rspBytes = 10;
  return t;
});
// Latencies: mostly fast, a long tail, fixed by a simple generator.
const lat = new Float64Array(65536);
let seed = 12345;
for (let i = 0; i < lat.length; i++) {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  const u = seed / 2 ** 32;
  lat[i] = Math.round(50_000 + 49_950_000 * u ** 8);
}

function run(withTop: boolean): number {
  const stats = new Stats('redis', [6379], 0);
  const top = withTop ? new TopModel(stats, () => counters, Date.now()) : null;
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const tx = txs[i % COMMANDS.length];
    tx.conn = conns[(i * 7) % conns.length];
    tx.status = i % 97 === 0 ? TxStatus.Error : TxStatus.Ok;
    tx.latencyNs = lat[i & 65535];
    tx.rspSec = 1_700_000_000 + Math.floor(i / 100_000);
    tx.commandId = -1;
    stats.transaction(tx);
    if (top !== null) top.transaction(tx);
  }
  return Number(process.hrtime.bigint() - start) / N;
}

function tickCost(): number {
  const stats = new Stats('redis', [6379], 0);
  const top = new TopModel(stats, () => counters, 1000);
  let best = Infinity;
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 100_000; i++) {
      const tx = txs[i % COMMANDS.length];
      tx.conn = conns[(i * 7) % conns.length];
      tx.status = TxStatus.Ok;
      tx.latencyNs = lat[(i + round) & 65535];
      tx.commandId = -1;
      stats.transaction(tx);
      top.transaction(tx);
    }
    const start = process.hrtime.bigint();
    top.tick(2000 + round * 1000);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6);
  }
  return best;
}

let stats = Infinity;
let both = Infinity;
for (let r = 0; r < 5; r++) {
  stats = Math.min(stats, run(false));
  both = Math.min(both, run(true));
}
const tick = tickCost();
process.stdout.write(`transactions: ${N} a run, best of 5\n`);
process.stdout.write(`stats alone:        ${stats.toFixed(1)} ns a transaction\n`);
process.stdout.write(`stats and --top:    ${both.toFixed(1)} ns a transaction (--top adds ${(both - stats).toFixed(1)} ns, ${((both - stats) / stats * 100).toFixed(0)}% of what stats cost)\n`);
process.stdout.write(`one tick (10 commands, 1,000 clients, 100,000 transactions since the last): ${tick.toFixed(2)} ms\n`);

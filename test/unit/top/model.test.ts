// The --top model: interval figures are what the interval's requests alone
// give, figures since the start are exactly the statistics' (what the exit
// summary prints), `c` starts them again without touching the statistics,
// and the slow list and the clients keep what they say they keep.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as hdr from 'hdr-histogram-js';
import { newPairedConnection } from '../../../src/pairing/connection';
import { Transaction, TxStatus } from '../../../src/pairing/transaction';
import { Stats } from '../../../src/stats/stats';
import { CLIENTS_MAX, SLOW_KEEP, TopModel, WINDOW_TICKS, type RowSnapshot } from '../../../src/top/model';
import type { RunCounters } from '../../../src/stats/counters';

interface TxSpec {
  cmd: string;
  /** µs; null: no response. */
  us: number | null;
  error?: boolean;
  port?: number;
  /** IPv4 address as a number, or an IPv6 address as four words. */
  client?: number | [number, number, number, number];
  cport?: number;
  /** Response time, seconds. */
  at?: number;
}

function makeTx(s: TxSpec): Transaction {
  const conn = newPairedConnection();
  if (Array.isArray(s.client)) {
    conn.family = 6;
    [conn.c0, conn.c1, conn.c2, conn.c3] = s.client;
    conn.s0 = 0xfd770000;
    conn.s3 = 1;
  } else {
    conn.family = 4;
    conn.c3 = s.client ?? 0x0a000002;
    conn.s3 = 0x0a000001;
  }
  conn.cport = s.cport ?? 40000;
  conn.sport = s.port ?? 6379;
  const tx = new Transaction();
  tx.conn = conn;
  tx.protocol = 'redis';
  tx.status = s.us === null ? TxStatus.NoResponse : s.error ? TxStatus.Error : TxStatus.Ok;
  tx.latencyNs = (s.us ?? 10_000_000) * 1000;
  tx.rspSec = s.at ?? 1_700_000_000;
  tx.rspNsec = 0;
  tx.reqBytes = 10;
  tx.rspBytes = 5;
  const text = Buffer.from(s.cmd);
  tx.preview = Buffer.alloc(256);
  text.copy(tx.preview);
  tx.previewLen = text.length;
  return tx;
}

const COUNTERS: RunCounters = {
  packetsSeen: 0, packetsLost: 0, packetsDelivered: 0, packetsMatched: 0, packetsUndecoded: 0, packetsUndecodedBy: [],
  requestPackets: 0, responsePackets: 0, requestBytes: 0, responseBytes: 0,
  connectionsOpen: 0, connectionsOpened: 0, connectionsClosed: 0, connectionsExpired: 0, connectionsRefused: 0, connectionsEvicted: 0,
  parserResets: 0, gaps: 0, segmentsReordered: 0, ipFragments: 0, datagramsReassembled: 0, fragmentsDropped: 0, orphanResponses: 0, serverPushes: 0, requestsDropped: 0, luaErrors: 0,
  answeredIncomplete: 0, requestsWaiting: 0, connectionsEncrypted: 0,
};

function setup(opts: { ports?: number[]; thresholdMs?: number; counters?: () => RunCounters } = {}) {
  const stats = new Stats('redis', opts.ports ?? [6379], opts.thresholdMs ?? 0);
  const model = new TopModel(stats, opts.counters ?? (() => COUNTERS), 1_000_000);
  const feed = (...specs: TxSpec[]) => {
    for (const s of specs) {
      const tx = makeTx(s);
      // As the run's outputs: the statistics first, then the view.
      stats.transaction(tx);
      model.transaction(tx);
    }
  };
  return { stats, model, feed };
}

function row(rows: RowSnapshot[], name: string): RowSnapshot {
  const r = rows.find((x) => x.name === name);
  assert.ok(r, `no row ${name} in ${rows.map((x) => x.name).join(', ')}`);
  return r;
}

test('interval figures are those of the interval\'s requests alone; since-start figures are the statistics\' own', () => {
  const latency = fc.oneof(fc.integer({ min: 1, max: 5_000 }), fc.integer({ min: 1, max: 3_000_000 }));
  const tick = fc.array(fc.record({ cmd: fc.constantFrom('GET', 'SET'), us: fc.option(latency, { freq: 8 }) }), { maxLength: 60 });
  fc.assert(
    fc.property(fc.array(tick, { minLength: 1, maxLength: 6 }), (ticks) => {
      const { stats, model, feed } = setup();
      let now = 1_000_000;
      for (const batch of ticks) {
        feed(...batch);
        now += 1000;
        const snap = model.tick(now);
        assert.equal(snap.intervalSec, 1);
        for (const name of ['GET', 'SET']) {
          const mine = batch.filter((t) => t.cmd === name);
          const r = snap.rows.find((x) => x.name === name);
          if (r === undefined) {
            assert.equal(stats.topCommands().some(([id]) => stats.commands.name(id) === name), false);
            continue;
          }
          // The interval: a histogram of its own requests, as stats rounds them, within 2 digits as per command.
          const answered = mine.filter((t) => t.us !== null).map((t) => t.us!);
          assert.equal(r.interval.requests, mine.length);
          assert.equal(r.interval.answered, answered.length);
          assert.equal(r.interval.unanswered, mine.length - answered.length);
          if (answered.length === 0) {
            assert.deepEqual([r.interval.p50, r.interval.p99, r.interval.p999, r.interval.max], [-1, -1, -1, -1]);
          } else {
            const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 2 });
            for (const us of answered) h.recordValue(Math.round(us));
            const max = Math.max(...answered);
            assert.equal(r.interval.max, max);
            assert.equal(r.interval.p50, Math.min(h.getValueAtPercentile(50), max));
            assert.equal(r.interval.p99, Math.min(h.getValueAtPercentile(99), max));
            assert.equal(r.interval.p999, Math.min(h.getValueAtPercentile(99.9), max));
          }
          // Since the start: what the summary reads.
          const id = stats.topCommands().find(([i]) => stats.commands.name(i) === name)![0];
          const s = stats.command(id);
          assert.equal(r.since.requests, s.requests);
          assert.equal(r.since.errors, s.errors);
          assert.equal(r.since.unanswered, s.unanswered);
          if (s.answered > 0) {
            assert.equal(r.since.p50, s.percentileUs(50));
            assert.equal(r.since.p99, s.percentileUs(99));
            assert.equal(r.since.p999, s.percentileUs(99.9));
            assert.equal(r.since.max, s.maxUs);
          }
        }
      }
    }),
    { numRuns: 60 },
  );
});

test('header totals: requests per interval and in all, packets from the run\'s counters', () => {
  let counters = { ...COUNTERS, packetsSeen: 100, packetsLost: 2, connectionsOpen: 3 };
  const { model, feed } = setup({ counters: () => counters });
  feed({ cmd: 'GET', us: 100 }, { cmd: 'GET', us: 200 }, { cmd: 'SET', us: null });
  let snap = model.tick(1_002_000);
  assert.equal(snap.intervalSec, 2);
  assert.equal(snap.requestsInterval, 3);
  assert.equal(snap.requestsSince, 3);
  assert.equal(snap.packetsSeenInterval, 100);
  assert.equal(snap.packetsLostInterval, 2);
  assert.equal(snap.connectionsOpen, 3);
  counters = { ...counters, packetsSeen: 150, packetsLost: 2, connectionsOpen: 1 };
  feed({ cmd: 'GET', us: 100 });
  snap = model.tick(1_003_000);
  assert.deepEqual(
    [snap.intervalSec, snap.requestsInterval, snap.requestsSince, snap.packetsSeenInterval, snap.packetsLostInterval, snap.packetsSeen, snap.connectionsOpen],
    [1, 1, 4, 50, 0, 150, 1],
  );
});

test('several ports: a row per port, with the port\'s own figures', () => {
  const { stats, model, feed } = setup({ ports: [6379, 6380] });
  feed({ cmd: 'GET', us: 100, port: 6379 }, { cmd: 'GET', us: 900, port: 6380 }, { cmd: 'SET', us: 300, port: 6380 });
  const snap = model.tick(1_001_000);
  assert.deepEqual(snap.rows.map((r) => r.name), ['port 6379', 'port 6380', 'GET', 'SET']);
  const p = row(snap.rows, 'port 6380');
  const s = stats.port(stats.ports[1]);
  assert.deepEqual([p.since.requests, p.since.p50, p.since.max], [2, s.percentileUs(50), 900]);
  assert.deepEqual([p.interval.requests, p.interval.max], [2, 900]);
  assert.equal(row(snap.rows, 'GET').since.requests, 2);
});

test('one port: no port rows', () => {
  const { model, feed } = setup();
  feed({ cmd: 'GET', us: 100 });
  assert.deepEqual(model.tick(1_001_000).rows.map((r) => r.name), ['GET']);
});

test('c: since-start figures start again; the statistics (summary, -P) keep the whole run', () => {
  const { stats, model, feed } = setup();
  feed({ cmd: 'GET', us: 50_000 }, { cmd: 'GET', us: 100 });
  model.tick(1_001_000);
  model.clear(1_001_500);
  feed({ cmd: 'GET', us: 300 }, { cmd: 'GET', us: 200, error: true });
  const snap = model.tick(1_002_000);
  const g = row(snap.rows, 'GET');
  assert.deepEqual([g.since.requests, g.since.errors, g.since.max, g.since.p50], [2, 1, 300, 200]);
  assert.equal(snap.sinceMs, 1_001_500);
  assert.equal(snap.requestsSince, 2);
  assert.equal(g.spark.filter((v) => v >= 0).length, 1, 'the sparkline started again');
  const s = stats.command(0);
  assert.deepEqual([s.requests, s.maxUs], [4, 50_000], 'the statistics are untouched');
});

test('sparkline: the interval p99 at each tick, oldest first, -1 where nothing was answered', () => {
  const { model, feed } = setup();
  feed({ cmd: 'GET', us: 100 });
  model.tick(1_001_000);
  model.tick(1_002_000);
  feed({ cmd: 'GET', us: 700 });
  const spark = row(model.tick(1_003_000).rows, 'GET').spark;
  assert.equal(spark.length, 60);
  assert.deepEqual(spark.slice(-3), [100, -1, 700]);
  assert.deepEqual(spark.slice(0, -3), new Array(57).fill(-1));
});

test('without -t: the slowest of the last ticks, slowest first, no response included; older ticks leave', () => {
  const { model, feed } = setup();
  feed({ cmd: 'GET a', us: 100 }, { cmd: 'DEBUG SLEEP 0.25', us: 250_123, cport: 5 }, { cmd: 'GET b', us: 900 }, { cmd: 'BLPOP q 0', us: null });
  let snap = model.tick(1_001_000);
  assert.deepEqual(snap.slow.map((s) => [s.request, s.latencyUs, s.noResponse]), [
    ['BLPOP q 0', 10_000_000, true],
    ['DEBUG SLEEP 0.25', 250_123, false],
    ['GET b', 900, false],
    ['GET a', 100, false],
  ]);
  assert.equal(snap.slow[1].client, '10.0.0.2:5');
  assert.equal(snap.slow[1].server, '10.0.0.1:6379');
  assert.equal(snap.slow[1].timeMs, 1_700_000_000_000);
  for (let i = 1; i < WINDOW_TICKS; i++) snap = model.tick(1_001_000 + i * 1000);
  assert.equal(snap.slow.length, 4, 'still in the window');
  assert.equal(snap.windowSec, WINDOW_TICKS);
  snap = model.tick(1_001_000 + WINDOW_TICKS * 1000);
  assert.equal(snap.slow.length, 0, 'gone with the window');
});

test('without -t: each tick keeps its slowest SLOW_KEEP, whatever the order they came in', () => {
  const { model, feed } = setup();
  const us = Array.from({ length: 500 }, (_, i) => ((i * 7919) % 500) + 1);
  feed(...us.map((u) => ({ cmd: `GET k${u}`, us: u })));
  const snap = model.tick(1_001_000);
  assert.deepEqual(snap.slow.map((s) => s.latencyUs), Array.from({ length: SLOW_KEEP }, (_, i) => 500 - i));
  assert.equal(model.tick(1_002_000, 5).slow.length, 5, 'no more than a screen shows');
});

test('with -t: the last requests at or above it, newest first, the text copied out of the reused transaction', () => {
  const { model, feed } = setup({ thresholdMs: 5 });
  feed({ cmd: 'GET fast', us: 4_999 }, { cmd: 'GET slow1', us: 5_000 }, { cmd: 'GET slow2', us: 7_000, error: true }, { cmd: 'GET gone', us: null });
  const snap = model.tick(1_001_000);
  assert.deepEqual(snap.slow.map((s) => [s.request, s.error, s.noResponse]), [
    ['GET gone', false, true],
    ['GET slow2', true, false],
    ['GET slow1', false, false],
  ]);
  feed(...Array.from({ length: SLOW_KEEP + 3 }, (_, i) => ({ cmd: `SET n${i}`, us: 6_000 })));
  const later = model.tick(1_002_000);
  assert.equal(later.slow.length, SLOW_KEEP);
  assert.equal(later.slow[0].request, `SET n${SLOW_KEEP + 2}`);
  assert.equal(later.slow[SLOW_KEEP - 1].request, 'SET n3');
});

test('clients: per address (IPv4 and IPv6, high words too), requests and time waited over the window', () => {
  const { model, feed } = setup();
  const v6: [number, number, number, number] = [0xfd770003, 0, 0, 0x80000002];
  feed(
    { cmd: 'GET', us: 100, client: 0x0a000002, cport: 1 },
    { cmd: 'GET', us: 300, client: 0x0a000002, cport: 2 },
    { cmd: 'GET', us: null, client: 0x0a000002, cport: 3 },
    { cmd: 'GET', us: 5_000, client: v6, cport: 4 },
    { cmd: 'GET', us: 1_000, client: v6, cport: 5 },
  );
  let snap = model.tick(1_002_000);
  assert.deepEqual(snap.clients, [
    { client: '10.0.0.2', requests: 3, waitUs: 400 },
    { client: 'fd77:3::8000:2', requests: 2, waitUs: 6_000 },
  ]);
  assert.equal(snap.windowSec, 2);
  feed({ cmd: 'GET', us: 100, client: v6 });
  snap = model.tick(1_003_000);
  assert.deepEqual(snap.clients.map((c) => [c.client, c.requests]), [['fd77:3::8000:2', 3], ['10.0.0.2', 3]], 'as many requests: the longer wait first');
  for (let i = 0; i < WINDOW_TICKS - 1; i++) snap = model.tick(1_004_000 + i * 1000);
  assert.deepEqual(snap.clients.map((c) => [c.client, c.requests]), [['fd77:3::8000:2', 1]], 'the first tick left the window');
  snap = model.tick(1_100_000);
  assert.deepEqual(snap.clients, []);
});

test(`clients: past ${CLIENTS_MAX} at once the rest are one line; the top of each order is kept`, () => {
  const { model, feed } = setup();
  const specs: TxSpec[] = [];
  for (let i = 0; i < CLIENTS_MAX + 10; i++) specs.push({ cmd: 'GET', us: 10, client: 0x0b000000 + i });
  // The busiest, and the one that waited longest.
  for (let i = 0; i < 5; i++) specs.push({ cmd: 'GET', us: 10, client: 0x0b000007 });
  specs.push({ cmd: 'GET', us: 2_000_000, client: 0x0b000009 });
  feed(...specs);
  const snap = model.tick(1_001_000, 3);
  assert.equal(snap.clients[0].client, '11.0.0.7');
  assert.equal(snap.clients[0].requests, 6);
  assert.ok(snap.clients.some((c) => c.client === '11.0.0.9' && c.waitUs === 2_000_010));
  const other = snap.clients[snap.clients.length - 1];
  assert.deepEqual(other, { client: 'other clients', requests: 10, waitUs: 100 });
});

test('-r: the interval is capture time, starting at the first packet', () => {
  const stats = new Stats('redis', [6379], 0);
  const model = new TopModel(stats, () => COUNTERS, 0);
  model.observe(1_700_000_000, 0);
  const tx = makeTx({ cmd: 'GET', us: 100, at: 1_700_000_004 });
  stats.transaction(tx);
  model.transaction(tx);
  assert.equal(model.dataMs, 1_700_000_004_000);
  const snap = model.tick(model.dataMs);
  assert.equal(snap.intervalSec, 4);
  assert.equal(snap.requestsInterval, 1);
});

test('clients: requests in a run on one connection count to its client, across ticks and entries that moved', () => {
  const { stats, model } = setup();
  const a = makeTx({ cmd: 'GET', us: 100, client: 0x0a000002 });
  const b = makeTx({ cmd: 'GET', us: 100, client: 0x0a000003 });
  const feed = (tx: Transaction, n: number) => {
    for (let i = 0; i < n; i++) {
      tx.commandId = -1;
      stats.transaction(tx);
      model.transaction(tx);
    }
  };
  feed(a, 3);
  feed(b, 1);
  feed(a, 2);
  let snap = model.tick(1_001_000);
  assert.deepEqual(snap.clients.map((c) => [c.client, c.requests]), [['10.0.0.2', 5], ['10.0.0.3', 1]]);
  // b alone for a window: a's entry goes, b's moves to the first place.
  for (let i = 0; i < WINDOW_TICKS; i++) {
    feed(b, 1);
    snap = model.tick(1_002_000 + i * 1000);
  }
  assert.deepEqual(snap.clients.map((c) => [c.client, c.requests]), [['10.0.0.3', WINDOW_TICKS]]);
  feed(a, 2);
  feed(b, 1);
  snap = model.tick(1_100_000);
  assert.deepEqual(snap.clients.map((c) => [c.client, c.requests]), [['10.0.0.3', WINDOW_TICKS], ['10.0.0.2', 2]]);
});

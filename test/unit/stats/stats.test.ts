// The statistics: histograms fed through their arrays read as if fed directly,
// counts per port and command add up, command names are interned and capped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as hdr from 'hdr-histogram-js';
import { newPairedConnection } from '../../../src/pairing/connection';
import { Transaction, TxStatus } from '../../../src/pairing/transaction';
import { CommandTable, MAX_COMMANDS, OTHER } from '../../../src/stats/commands';
import { LatencyHistogram, Series, Stats, Tally, bucketOf, SEED_BUCKETS_US } from '../../../src/stats/stats';

const PERCENTILES = [0, 1, 50, 90, 99, 99.9, 99.99, 100];

for (const [digits, smallUs] of [[3, 1 << 15], [2, 1 << 12]]) {
  test(`percentiles (${digits} digits, array below ${smallUs} µs) equal those of a histogram fed every latency as it came`, () => {
    const latencyNs = fc.oneof(
      fc.integer({ min: -2_000, max: 200_000 }),
      fc.integer({ min: 0, max: 150_000_000 }),
      fc.integer({ min: 0, max: 4_000_000_000_000 }), // past the histogram's hour: it resizes
    );
    fc.assert(
      fc.property(fc.array(latencyNs, { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 4 }), (values, reads) => {
        const latency = new LatencyHistogram(digits, smallUs);
        const tally = new Tally();
        const read = (): Series => {
          const series = new Series(latency.histogram);
          series.add(tally);
          return series;
        };
        const direct = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: digits as 2 | 3 });
        let maxUs = 0;
        // Read percentiles part way too: counts gathered since are still added.
        const every = Math.ceil(values.length / reads);
        values.forEach((ns, i) => {
          const us = ns / 1000;
          const v = us < 1 ? 1 : Math.round(us);
          tally.answer(false, us, bucketOf(us), false, 0, 0);
          latency.record(v);
          if (us > maxUs) maxUs = us;
          direct.recordValue(v);
          if ((i + 1) % every === 0) {
            const series = read();
            for (const p of PERCENTILES) assert.equal(series.percentileUs(p), Math.min(direct.getValueAtPercentile(p), maxUs));
          }
        });
        const series = read();
        for (const p of PERCENTILES) assert.equal(series.percentileUs(p), Math.min(direct.getValueAtPercentile(p), maxUs));
        const h = latency.histogram;
        assert.equal(h.totalCount, direct.totalCount);
        assert.equal(h.maxValue, direct.maxValue);
        assert.equal(h.minNonZeroValue, direct.minNonZeroValue);
      }),
      { numRuns: 100 },
    );
  });
}

test('seed buckets: upper bounds inclusive, as the original and Prometheus le', () => {
  assert.equal(bucketOf(0), 0);
  assert.equal(bucketOf(100), 0);
  assert.equal(bucketOf(100.001), 1);
  assert.equal(bucketOf(20_000_000), 16);
  assert.equal(bucketOf(20_000_001), 17);
  for (let i = 0; i < SEED_BUCKETS_US.length; i++) {
    assert.equal(bucketOf(SEED_BUCKETS_US[i]), i);
    assert.equal(bucketOf(SEED_BUCKETS_US[i] + 0.5), i + 1);
  }
});

function names(mode: 'redis' | 'memcached' | 'http' | 'dns', texts: string[]): string[] {
  const t = new CommandTable(mode);
  return texts.map((s) => t.name(t.idOf(Buffer.from(s, 'latin1'), Buffer.byteLength(s, 'latin1'))));
}

test('command names: the first token (Redis folded up, memcached down), for DNS the query type', () => {
  assert.deepEqual(names('redis', ['GET k', 'get k', 'Set k v', 'PING', 'CLIENT LIST']), ['GET', 'GET', 'SET', 'PING', 'CLIENT']);
  assert.deepEqual(names('memcached', ['get a b', 'GET key', 'GETQ key', 'set k 0 0 1']), ['get', 'get', 'getq', 'set']);
  assert.deepEqual(names('http', ['GET /index.html', 'get /x', 'M-SEARCH *']), ['GET', 'get', 'M-SEARCH']);
  assert.deepEqual(names('dns', ['example.com A', 'UPDATE example.com SOA', '. NS', 'example.com TYPE65', 'example.co...', '']), ['A', 'SOA', 'NS', 'TYPE65', 'other', 'other']);
});

test('command names that are not plausible names are other: empty, too long, quotes, backslashes, non-ASCII', () => {
  assert.deepEqual(names('redis', ['', ' GET', 'x'.repeat(33), 'A"B', 'A\\B', 'caf\xe9', 'x'.repeat(32)]), ['other', 'other', 'other', 'other', 'other', 'other', 'X'.repeat(32)]);
});

test('command ids: the same name, the same id; past MAX_COMMANDS distinct names, other', () => {
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[a-z0-9]{1,6}$/), { minLength: 1, maxLength: 400 }), (tokens) => {
      const t = new CommandTable('http');
      const reference = new Map<string, number>();
      for (const tok of tokens) {
        const id = t.idOf(Buffer.from(`${tok} /path`, 'latin1'), tok.length + 6);
        let want = reference.get(tok);
        if (want === undefined) {
          want = reference.size < MAX_COMMANDS ? reference.size : OTHER;
          if (want !== OTHER) reference.set(tok, want);
        }
        assert.equal(id, want, tok);
        assert.equal(t.name(id), want === OTHER ? 'other' : tok);
      }
      assert.ok(t.size <= MAX_COMMANDS);
    }),
    { numRuns: 100 },
  );
});

test('command ids in redis mode: any mix of case, the same command; a recent-token cache never changes the answer', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom('get', 'set', 'incr', 'lpush', 'hgetall', 'x'.repeat(31), 'y'.repeat(33)), fc.array(fc.boolean(), { minLength: 33, maxLength: 33 }), fc.constantFrom('', ' k', ' key:1 v')), { maxLength: 200 }),
      (reqs) => {
        const t = new CommandTable('redis');
        const fresh = (text: string) => {
          const f = new CommandTable('redis');
          return f.name(f.idOf(Buffer.from(text, 'latin1'), text.length));
        };
        for (const [name, upper, rest] of reqs) {
          const cased = [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join('');
          const text = cased + rest;
          const got = t.name(t.idOf(Buffer.from(text.padEnd(64, '#'), 'latin1'), text.length));
          assert.equal(got, name.length > 32 ? 'other' : name.toUpperCase(), text);
          assert.equal(got, fresh(text));
        }
      },
    ),
    { numRuns: 200 },
  );
});

function tx(port: number, text: string, latencyMs: number | null, opts: { error?: boolean; reqBytes?: number; rspBytes?: number } = {}): Transaction {
  const conn = newPairedConnection();
  conn.family = 4;
  conn.sport = port;
  const t = new Transaction();
  t.conn = conn;
  t.preview = Buffer.from(text.padEnd(300, ' '), 'latin1');
  t.previewLen = text.length;
  t.status = latencyMs === null ? TxStatus.NoResponse : opts.error ? TxStatus.Error : TxStatus.Ok;
  t.latencyNs = (latencyMs ?? 10_000) * 1e6;
  t.reqBytes = opts.reqBytes ?? 10;
  t.rspBytes = latencyMs === null ? 0 : (opts.rspBytes ?? 5);
  return t;
}

test('counts per port, per command and per command on a port add up to the totals', () => {
  const stats = new Stats('redis', [6379, 6380], 5);
  const txs = [
    tx(6379, 'GET a', 0.05), tx(6379, 'GET b', 7), tx(6379, 'SET a 1', 1, { error: true }),
    tx(6380, 'GET c', 12), tx(6380, 'DEL c', null), tx(6381, 'PING', 0.2),
  ];
  for (const t of txs) stats.transaction(t);
  assert.deepEqual(stats.ports.map((p) => p.port), [6379, 6380, 6381], 'watched ports first, then others seen');
  const t = stats.total();
  assert.equal(t.requests, 6);
  assert.equal(t.answered, 5);
  assert.equal(t.unanswered, 1);
  assert.equal(t.errors, 1);
  assert.equal(t.slow, 2, 'at or above 5 ms');
  assert.equal(t.requestBytes, 60);
  assert.equal(t.responseBytes, 25);
  assert.equal(t.maxUs, 12_000);
  assert.equal(t.percentileUs(100), 12_000);
  assert.equal(t.percentileUs(0), 50, 'the total histogram is the ports\' added up');
  assert.equal(t.hist!.totalCount, 5);
  const p6379 = stats.port(stats.ports[0]);
  assert.equal(p6379.answered, 3);
  assert.equal(Math.round(p6379.totalUs), 8_050);
  assert.deepEqual(Array.from(p6379.buckets), [1, 0, 0, 1, 0, 1, ...Array(12).fill(0)]);
  assert.equal(p6379.percentileUs(50), 1000);
  const get = stats.commands.idOf(Buffer.from('GET'), 3);
  assert.equal(stats.command(get).requests, 3);
  assert.equal(stats.command(get).percentileUs(100), 12_000);
  assert.equal(stats.ports[0].commands[get]!.requests, 2);
  assert.equal(stats.ports[1].commands[get]!.requests, 1);
  const top = stats.topCommands();
  assert.deepEqual(top.map(([id]) => stats.commands.name(id)), ['GET', 'SET', 'DEL', 'PING']);
  // Every way of adding up gives the totals.
  for (const key of ['requests', 'answered', 'errors', 'unanswered', 'slow', 'requestBytes', 'responseBytes'] as const) {
    const byPort = stats.ports.reduce((n, p) => n + stats.port(p)[key], 0);
    const byCommand = top.reduce((n, [, c]) => n + c[key], 0);
    assert.equal(byPort, t[key], key);
    assert.equal(byCommand, t[key], key);
  }
});

test('a flood of distinct command names keeps at most MAX_COMMANDS + other', () => {
  const stats = new Stats('redis', [6379], 0);
  for (let i = 0; i < 10_000; i++) stats.transaction(tx(6379, `CMD${i} x`, 1));
  assert.equal(stats.commands.size, MAX_COMMANDS);
  assert.equal(stats.topCommands().length, MAX_COMMANDS + 1);
  assert.equal(stats.ports[0].commands.filter((c) => c !== undefined).length, MAX_COMMANDS + 1);
  assert.equal(stats.command(OTHER).requests, 10_000 - MAX_COMMANDS);
});

// The statistics as users read them: the seed JSON (its exact shape), the full
// JSON, Prometheus text checked against the exposition format, and the stats
// port serving them to a bare TCP client and to HTTP, without letting a
// client that never reads or never finishes hold the server.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { newPairedConnection } from '../../../src/pairing/connection';
import { Transaction, TxStatus } from '../../../src/pairing/transaction';
import { Stats, SEED_BUCKETS_US } from '../../../src/stats/stats';
import { seedJson, fullJson } from '../../../src/stats/stats-json';
import { PrometheusReport } from '../../../src/stats/prometheus';
import { StatsServer, type StatsSource } from '../../../src/stats/stats-server';
import type { RunCounters } from '../../../src/stats/counters';
import { parseExposition, sampleValue } from '../../helpers/exposition';
import { readRaw, request } from '../../helpers/stats-client';

const COUNTERS: RunCounters = {
  packetsSeen: 1000, packetsLost: 3, packetsDelivered: 990, packetsMatched: 900, packetsUndecoded: 2, packetsUndecodedBy: [0, 2, 0, 0, 0, 0],
  requestPackets: 500, responsePackets: 400, requestBytes: 12_345, responseBytes: 67_890,
  connectionsOpen: 4, connectionsOpened: 10, connectionsClosed: 5, connectionsExpired: 1, connectionsRefused: 0, connectionsEvicted: 0,
  parserResets: 6, gaps: 7, segmentsReordered: 0, ipFragments: 0, datagramsReassembled: 0, fragmentsDropped: 0, orphanResponses: 8, serverPushes: 9, connectionsEncrypted: 0, requestsDropped: 0, answeredIncomplete: 0, requestsWaiting: 0, luaErrors: 11,
};
const INFO = { version: '0.1.0', engine: 'pcap-file', source: 'x.pcap' };

function tx(port: number, text: string, latencyUs: number | null, error = false): Transaction {
  const conn = newPairedConnection();
  conn.family = 4;
  conn.sport = port;
  const t = new Transaction();
  t.conn = conn;
  t.protocol = 'redis';
  t.preview = Buffer.from(text.padEnd(64), 'latin1');
  t.previewLen = text.length;
  t.status = latencyUs === null ? TxStatus.NoResponse : error ? TxStatus.Error : TxStatus.Ok;
  t.latencyNs = (latencyUs ?? 5_000_000) * 1000;
  t.reqBytes = 20;
  t.rspBytes = latencyUs === null ? 0 : 7;
  return t;
}

/** The seed README's example: port 6379, 7 requests, 5 ms threshold; 6380 idle. */
function sample(): Stats {
  const stats = new Stats('redis', [6379, 6380], 5);
  for (const us of [6000, 7000, 9000, 11_000, 15_000, 19_000]) stats.transaction(tx(6379, 'GET k', us));
  stats.transaction(tx(6379, 'SET k v', 9785, true));
  stats.transaction(tx(6379, 'SET k v', null));
  stats.transaction(tx(6380, 'weird"name x', 90)); // not a plausible name: "other"
  return stats;
}

test('the seed JSON: the original shape, field for field', () => {
  const stats = new Stats('redis', [6379, 6380], 5);
  for (const us of [6000, 7000, 9000, 11_000, 15_000, 19_000, 29_785]) stats.transaction(tx(6379, 'GET k', us));
  const text = seedJson(stats, COUNTERS);
  assert.equal(
    text,
    '{"type":"redis","ports":[' +
      '{"6379":{"total_reqs":7,"total_costs":96785,"slow_reqs":7,"latencies":[0,0,0,0,0,3,3,1,0,0,0,0,0,0,0,0,0,0]}},' +
      '{"6380":{"total_reqs":0,"total_costs":0,"slow_reqs":0,"latencies":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}}],' +
      '"in_packets":500,"out_packets":400,"in_bytes":12345,"out_bytes":67890}',
  );
});

test('the full JSON: totals, ports with their commands, commands with percentiles, counters', () => {
  const j = JSON.parse(fullJson(sample(), COUNTERS, INFO, Date.now()));
  assert.equal(j.type, 'redis');
  assert.equal(j.threshold_ms, 5);
  assert.deepEqual(j.bucket_bounds_us, SEED_BUCKETS_US);
  assert.equal(j.totals.requests, 9);
  assert.equal(j.totals.answered, 8);
  assert.equal(j.totals.unanswered, 1);
  assert.equal(j.totals.errors, 1);
  assert.equal(j.totals.latency_us.max, 19_000);
  assert.equal(j.totals.latencies.reduce((a: number, b: number) => a + b, 0), 8);
  assert.deepEqual(j.ports.map((p: { port: number }) => p.port), [6379, 6380]);
  assert.deepEqual(j.ports[0].commands.map((c: { command: string; requests: number }) => [c.command, c.requests]), [['GET', 6], ['SET', 2]]);
  assert.deepEqual(j.ports[1].commands.map((c: { command: string }) => c.command), ['other']);
  const get = j.commands.find((c: { command: string }) => c.command === 'GET');
  // Per command, 2 significant digits: within 1%.
  assert.ok(Math.abs(get.latency_us.p50 - 9000) <= 90, String(get.latency_us.p50));
  assert.equal(get.latency_us.max, 19_000);
  assert.ok(get.latency_us.p90 >= 15_000 && get.latency_us.p90 <= 19_000, String(get.latency_us.p90));
  assert.equal(j.counters.lua_errors, 11);
  assert.equal(j.counters.packets_lost, 3);
  assert.equal(j.counters.parser_resets, 6);
});

test('Prometheus text: valid exposition format; histograms by port and command match the counts', async () => {
  const stats = sample();
  const text = await new PrometheusReport(stats, () => COUNTERS, INFO).render();
  const fams = parseExposition(text);
  const h = fams.get('tcpkit_request_duration_seconds')!;
  assert.equal(h.type, 'histogram');
  assert.equal(sampleValue(fams, 'tcpkit_request_duration_seconds_count', { port: '6379', command: 'GET' }), 6);
  assert.equal(sampleValue(fams, 'tcpkit_request_duration_seconds_count', { port: '6379', command: 'SET' }), 1);
  assert.equal(sampleValue(fams, 'tcpkit_request_duration_seconds_bucket', { port: '6379', command: 'GET', le: '0.01' }), 3);
  assert.equal(sampleValue(fams, 'tcpkit_request_duration_seconds_bucket', { port: '6379', command: 'GET', le: '0.02' }), 6);
  assert.equal(sampleValue(fams, 'tcpkit_request_duration_seconds_bucket', { port: '6379', command: 'GET', le: '+Inf' }), 6);
  assert.ok(Math.abs(sampleValue(fams, 'tcpkit_request_duration_seconds_sum', { port: '6379', command: 'GET' })! - 0.067) < 1e-9);
  assert.equal(sampleValue(fams, 'tcpkit_request_duration_seconds_count', { port: '6380', command: 'other' }), 1);
  // Buckets: 18 per series, +Inf included.
  assert.equal(h.samples.filter((s) => s.name.endsWith('_bucket') && s.labels.command === 'GET').length, 18);
  assert.equal(sampleValue(fams, 'tcpkit_requests_total', { port: '6379', command: 'SET' }), 2);
  assert.equal(sampleValue(fams, 'tcpkit_requests_unanswered_total', { port: '6379', command: 'SET' }), 1);
  assert.equal(sampleValue(fams, 'tcpkit_request_errors_total', { port: '6379', command: 'SET' }), 1);
  assert.equal(sampleValue(fams, 'tcpkit_slow_requests_total', { port: '6379', command: 'GET' }), 6);
  assert.equal(sampleValue(fams, 'tcpkit_packets_seen_total'), 1000);
  assert.equal(sampleValue(fams, 'tcpkit_packets_lost_total'), 3);
  assert.equal(sampleValue(fams, 'tcpkit_parser_resets_total', { reason: 'gap' }), 7);
  assert.equal(sampleValue(fams, 'tcpkit_lua_errors_total'), 11);
  assert.equal(sampleValue(fams, 'tcpkit_connections_open'), 4);
  assert.equal(sampleValue(fams, 'tcpkit_slow_threshold_seconds'), 0.005);
  assert.equal(sampleValue(fams, 'tcpkit_info', { version: '0.1.0', mode: 'redis', engine: 'pcap-file' }), 1);
  for (const f of fams.values()) if (f.type === 'counter') assert.ok(f.name.endsWith('_total'), f.name);
});

test('Prometheus text: a second scrape gives the same text, then counts that grew', async () => {
  const stats = sample();
  const prom = new PrometheusReport(stats, () => COUNTERS, INFO);
  const a = await prom.render();
  assert.equal(await prom.render(), a);
  stats.transaction(tx(6379, 'GET k', 50));
  const fams = parseExposition(await prom.render());
  assert.equal(sampleValue(fams, 'tcpkit_request_duration_seconds_count', { port: '6379', command: 'GET' }), 7);
  assert.equal(sampleValue(fams, 'tcpkit_request_duration_seconds_bucket', { port: '6379', command: 'GET', le: '0.0001' }), 1);
});

test('the exposition reader refuses what Prometheus would', () => {
  const ok = '# HELP a_total x\n# TYPE a_total counter\na_total{b="c"} 1\n';
  assert.equal(parseExposition(ok).get('a_total')!.samples[0].value, 1);
  const bad: [string, string][] = [
    ['no newline at the end', ok.slice(0, -1)],
    ['no TYPE', 'a_total 1\n'],
    ['an unquoted label', '# HELP a_total x\n# TYPE a_total counter\na_total{b=c} 1\n'],
    ['a value that is not a number', '# HELP a_total x\n# TYPE a_total counter\na_total one\n'],
    ['buckets not cumulative', '# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
    ['+Inf not equal to _count', '# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 2\n'],
    ['no +Inf', '# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    ['samples apart', '# HELP a_total x\n# TYPE a_total counter\na_total 1\n# HELP b x\n# TYPE b gauge\nb 1\na_total{x="y"} 2\n'],
  ];
  for (const [why, text] of bad) assert.throws(() => parseExposition(text), Error, why);
});

describe('the stats port', () => {
  let server: StatsServer;
  const stats = sample();
  const prom = new PrometheusReport(stats, () => COUNTERS, INFO);
  let big = false;
  const source: StatsSource = {
    seed: () => (big ? 'x'.repeat(16 << 20) : seedJson(stats, COUNTERS)),
    json: () => fullJson(stats, COUNTERS, INFO),
    metrics: () => prom.render(),
    metricsContentType: prom.contentType,
  };
  const host = '127.0.0.1';

  before(async () => {
    server = await StatsServer.listen(source, { host, port: 0, idleMs: 400 });
  });
  after(async () => {
    await server?.close();
  });

  test('a bare TCP connection that sends nothing reads the seed JSON, then the server closes', async () => {
    assert.equal(await readRaw(host, server.port), seedJson(stats, COUNTERS));
  });

  test('a client that sends something that is not HTTP gets the seed JSON too', async () => {
    const got = await new Promise<string>((resolve, reject) => {
      let data = '';
      const s = net.connect({ host, port: server.port }, () => s.write('stats\n'));
      s.setEncoding('utf8');
      s.on('data', (d: string) => (data += d)).on('end', () => resolve(data)).on('error', reject);
    });
    assert.equal(got, seedJson(stats, COUNTERS));
  });

  test('GET /stats: the full JSON; GET /: the seed JSON', async () => {
    const a = await request(host, server.port, 'GET', '/stats');
    assert.equal(a.status, 200);
    assert.match(String(a.headers['content-type']), /^application\/json/);
    assert.equal(JSON.parse(a.body).totals.requests, 9);
    const b = await request(host, server.port, 'GET', '/');
    assert.equal(b.body, seedJson(stats, COUNTERS));
  });

  test('GET /metrics: Prometheus text with its content type', async () => {
    const a = await request(host, server.port, 'GET', '/metrics?name[]=x');
    assert.equal(a.status, 200);
    assert.equal(a.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(sampleValue(parseExposition(a.body), 'tcpkit_requests_total', { port: '6379', command: 'GET' }), 6);
  });

  test('HEAD, an unknown path, another method', async () => {
    const head = await request(host, server.port, 'HEAD', '/stats');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.ok(Number(head.headers['content-length']) > 100);
    assert.equal((await request(host, server.port, 'GET', '/nope')).status, 404);
    const post = await request(host, server.port, 'POST', '/stats');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });

  test('a request head that never ends is cut off at 8 KiB', async () => {
    const got = await new Promise<string>((resolve, reject) => {
      let data = '';
      const s = net.connect({ host, port: server.port }, () => s.write(`GET /${'a'.repeat(9000)}`));
      s.setEncoding('utf8');
      s.on('data', (d: string) => (data += d)).on('end', () => resolve(data)).on('error', reject);
    });
    assert.match(got, /^HTTP\/1\.1 431 /);
  });

  test('a client that starts a request and stalls is dropped after the idle time', async () => {
    const t0 = Date.now();
    const closed = await new Promise<string>((resolve) => {
      const s = net.connect({ host, port: server.port }, () => s.write('GET /sta'));
      s.on('data', () => {}).on('close', () => resolve('closed')).on('error', () => {});
    });
    assert.equal(closed, 'closed');
    assert.ok(Date.now() - t0 >= 350, 'not before the idle time');
  });

  test('a client that never reads a large answer is dropped after the idle time, not buffered for ever', async () => {
    big = true;
    try {
      const received = await new Promise<number>((resolve) => {
        let n = 0;
        const s = net.connect({ host, port: server.port });
        s.pause();
        s.on('error', () => {});
        // Read nothing for longer than the idle time, then see what is left.
        setTimeout(() => {
          s.on('data', (d: Buffer) => (n += d.length));
          s.on('close', () => resolve(n));
          s.resume();
        }, 1500);
      });
      assert.ok(received < 16 << 20, `read ${received} bytes: the answer was cut off`);
    } finally {
      big = false;
    }
  });

  test('a port in use is one clear error', async () => {
    await assert.rejects(StatsServer.listen(source, { host, port: server.port }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ESTATS');
      assert.equal(e.message, `stats port: 127.0.0.1:${server.port} is already in use`);
      return true;
    });
  });
});

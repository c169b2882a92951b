// Long polls (a Kafka Fetch held to max_wait_ms and answered empty) are
// counted apart: requests, but not answered latencies, buckets or slow
// counts; /stats says long_polls, Prometheus tcpkit_long_polls_total.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newPairedConnection } from '../../../src/pairing/connection';
import { Transaction, TxStatus } from '../../../src/pairing/transaction';
import { Stats } from '../../../src/stats/stats';
import { fullJson } from '../../../src/stats/stats-json';
import { PrometheusReport } from '../../../src/stats/prometheus';
import { renderSummary } from '../../../src/output/summary';
import type { RunCounters } from '../../../src/stats/counters';
import { parseExposition, sampleValue } from '../../helpers/exposition';

const COUNTERS: RunCounters = {
  packetsSeen: 10, packetsLost: 0, packetsDelivered: 10, packetsMatched: 10, packetsUndecoded: 0, packetsUndecodedBy: [0, 0, 0, 0, 0, 0],
  requestPackets: 5, responsePackets: 5, requestBytes: 500, responseBytes: 500,
  connectionsOpen: 1, connectionsOpened: 1, connectionsClosed: 0, connectionsExpired: 0, connectionsRefused: 0, connectionsEvicted: 0,
  parserResets: 0, gaps: 0, segmentsReordered: 0, ipFragments: 0, datagramsReassembled: 0, fragmentsDropped: 0, orphanResponses: 0, serverPushes: 0,
  connectionsEncrypted: 2, requestsDropped: 0, answeredIncomplete: 0, requestsWaiting: 0, luaErrors: 0,
};

function tx(text: string, latencyUs: number, longPoll: boolean): Transaction {
  const conn = newPairedConnection();
  conn.family = 4;
  conn.sport = 9092;
  const t = new Transaction();
  t.conn = conn;
  t.protocol = 'kafka';
  t.preview = Buffer.from(text.padEnd(64), 'latin1');
  t.previewLen = text.length;
  t.status = TxStatus.Ok;
  t.latencyNs = latencyUs * 1000;
  t.longPoll = longPoll;
  t.reqBytes = 100;
  t.rspBytes = 50;
  return t;
}

function sample(): Stats {
  const stats = new Stats('kafka', [9092], 100);
  stats.transaction(tx('Fetch v12 max_wait_ms=500 t[0]', 500_300, true));
  stats.transaction(tx('Fetch v12 max_wait_ms=500 t[0]', 500_100, true));
  stats.transaction(tx('Fetch v12 max_wait_ms=500 t[0]', 2_000, false));
  stats.transaction(tx('Produce v9 t[0]', 3_000, false));
  return stats;
}

test('long polls: counted as requests and long_polls, not in the latencies', () => {
  const stats = sample();
  const t = stats.total();
  assert.deepEqual([t.requests, t.answered, t.longPolls, t.slow, t.maxUs, t.percentileUs(99)], [4, 2, 2, 0, 3000, 3000]);
  const j = JSON.parse(fullJson(stats, COUNTERS, { version: '0', engine: 'pcap-file', source: 'x' }, Date.now()));
  const fetch = j.commands.find((c: { command: string }) => c.command === 'Fetch');
  assert.deepEqual([fetch.requests, fetch.answered, fetch.long_polls, fetch.latency_us.max], [3, 1, 2, 2000]);
  assert.equal(j.totals.long_polls, 2);
  assert.equal(j.counters.connections_encrypted, 2);
  const s = renderSummary(stats, [], COUNTERS);
  assert.match(s, /^requests: 2 answered, 0 without response, 2 long polls \(Fetch held to max_wait_ms, empty; not in the latencies\)$/m);
  assert.match(s, /\b2 connections in TLS: not decoded\b/);
});

test('long polls in Prometheus: tcpkit_long_polls_total by port and command, not in the duration histogram', async () => {
  const fams = parseExposition(await new PrometheusReport(sample(), () => COUNTERS, { version: '0', engine: 'pcap-file', source: 'x' }).render());
  assert.equal(sampleValue(fams, 'tcpkit_long_polls_total', { port: '9092', command: 'Fetch' }), 2);
  assert.equal(sampleValue(fams, 'tcpkit_long_polls_total', { port: '9092', command: 'Produce' }), 0);
  assert.equal(sampleValue(fams, 'tcpkit_request_duration_seconds_count', { port: '9092', command: 'Fetch' }), 1);
  assert.equal(sampleValue(fams, 'tcpkit_requests_total', { port: '9092', command: 'Fetch' }), 3);
  assert.equal(sampleValue(fams, 'tcpkit_connections_encrypted_total'), 2);
});

// -m kafka end to end on captures built from the protocol specification:
// correlation ids reused across connections, pipelined requests answered in
// order, acks=0, long polls, error codes, messages split across segments,
// retransmissions, snaplen; and tcpkit's reading of them beside tshark's
// Kafka dissector.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Conversation, writePcap, type Frame } from '../helpers/pcap-writer';
import { parseLines, parseSummary, tcpkit } from '../helpers/run';
import {
  apiVersionsRequest, apiVersionsResponse, fetchRequest, fetchResponse, metadataRequest, metadataResponse, produceRequest, produceResponse,
  request, response, RECORDS,
} from '../helpers/kafka-wire';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-kafka-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const T0 = 1_580_000_000_000_000;
const ms = 1000;

function file(frames: Frame[]): string {
  const f = path.join(dir, `${Math.random().toString(36).slice(2)}.pcap`);
  writePcap(f, 'ethernet', frames);
  return f;
}

function run(frames: Frame[], extra: string[] = []) {
  const r = tcpkit(['-r', file(frames), '-p', '9092', '-m', 'kafka', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return r;
}

const orders = [{ name: 'orders', partitions: [0] }];

test('correlation ids reused on two connections pair within their own connection', () => {
  const a = new Conversation('ethernet', '10.0.0.2', 40000, '10.0.0.1', 9092).handshake(T0);
  const b = new Conversation('ethernet', '10.0.0.3', 40001, '10.0.0.1', 9092).handshake(T0);
  // Both clients use ids 1 and 2; B's answers come first, and A's id 1 is slow.
  a.request(T0 + 1 * ms, produceRequest(9, 1, 1, orders, 'app-a'));
  b.request(T0 + 2 * ms, metadataRequest(12, 1, ['orders'], 'app-b'));
  a.request(T0 + 3 * ms, produceRequest(9, 2, 1, orders, 'app-a'));
  b.request(T0 + 4 * ms, fetchRequest(12, 2, 500, orders, 'app-b'));
  b.response(T0 + 5 * ms, metadataResponse(12, 1, [{ id: 1, host: '10.0.0.1', port: 9092 }], orders));
  b.response(T0 + 6 * ms, fetchResponse(12, 2, orders, RECORDS));
  a.response(T0 + 30 * ms, produceResponse(9, 1, orders));
  a.response(T0 + 31 * ms, produceResponse(9, 2, orders, [[6]]));
  a.close(T0 + 40 * ms);
  b.close(T0 + 40 * ms);
  const r = run([...a.frames, ...b.frames], ['--json']);
  const evs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(
    evs.map((e) => [e.client, e.request, e.correlation_id, e.client_id, e.latency_us, e.status, e.error_code, e.error]),
    [
      ['10.0.0.3:40001', 'Metadata v12 orders', 1, 'app-b', 3000, 'OK', 0, false],
      ['10.0.0.3:40001', 'Fetch v12 max_wait_ms=500 orders[0]', 2, 'app-b', 2000, 'OK', 0, false],
      ['10.0.0.2:40000', 'Produce v9 orders[0]', 1, 'app-a', 29000, 'OK', 0, false],
      ['10.0.0.2:40000', 'Produce v9 orders[0]', 2, 'app-a', 28000, 'NOT_LEADER_OR_FOLLOWER', 6, true],
    ],
  );
  assert.deepEqual(evs[0].topics, ['orders']);
  assert.equal(evs[0].api_version, 12);
  const s = parseSummary(r.stderr);
  assert.deepEqual([s.answered, s.errors, s.noResponse, s.orphans], [4, 1, 0, 0]);
});

test('acks=0: no response expected, none reported missing', () => {
  const c = new Conversation('ethernet', '10.0.0.2', 40002, '10.0.0.1', 9092).handshake(T0);
  c.request(T0 + ms, produceRequest(9, 1, 0, orders));
  c.request(T0 + 2 * ms, produceRequest(9, 2, 0, orders));
  c.request(T0 + 3 * ms, produceRequest(9, 3, -1, orders));
  c.response(T0 + 5 * ms, produceResponse(9, 3, orders));
  // The capture ends 20 s later: anything still waiting would be `no response`.
  c.close(T0 + 20_000 * ms);
  const r = run(c.frames);
  assert.deepEqual(parseLines(r.stdout).map((l) => [l.request, l.latencyMs, l.status]), [['Produce v9 orders[0]', 2, 'OK']]);
  assert.doesNotMatch(r.stdout, /no response/);
  const s = parseSummary(r.stderr);
  assert.deepEqual([s.answered, s.noResponse], [1, 0]);
});

test('long polls are flagged on the line and counted apart from the latencies', () => {
  const c = new Conversation('ethernet', '10.0.0.2', 40003, '10.0.0.1', 9092).handshake(T0);
  for (let i = 0; i < 5; i++) {
    const t = T0 + i * 1000 * ms;
    c.request(t, fetchRequest(12, 10 + i, 500, orders));
    // Four idle polls answered empty at max_wait, one answered with data after 2 ms.
    if (i === 2) c.response(t + 2 * ms, fetchResponse(12, 10 + i, orders, RECORDS));
    else c.response(t + 500 * ms + 300, fetchResponse(12, 10 + i, orders, null));
  }
  c.close(T0 + 6000 * ms);
  const r = run(c.frames);
  assert.deepEqual(
    parseLines(r.stdout).map((l) => [l.latencyMs, l.status]),
    [[500.3, 'OK (long poll)'], [500.3, 'OK (long poll)'], [2, 'OK'], [500.3, 'OK (long poll)'], [500.3, 'OK (long poll)']],
  );
  // Only the Fetch that got data is in the latencies: p99 is 2 ms, not 500.
  assert.match(r.stderr, /^requests: 1 answered, 0 without response, 4 long polls \(Fetch held to max_wait_ms, empty; not in the latencies\)$/m);
  assert.match(r.stderr, /^latency: avg 2\.000 ms, p50 2\.000 ms, p90 2\.000 ms, p99 2\.000 ms, p99\.9 2\.000 ms, max 2\.000 ms$/m);
  const j = run(c.frames, ['--json']).stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(j.map((e) => e.long_poll), [true, true, false, true, true]);
});

test('messages split across segments, retransmitted, and cut by snaplen pair as whole ones', () => {
  const c = new Conversation('ethernet', '10.0.0.2', 40004, '10.0.0.1', 9092).handshake(T0);
  const big = [{ name: 'orders', partitions: [0, 1, 2] }];
  const rq = produceRequest(9, 1, 1, big);
  c.request(T0 + ms, rq, 7); // 7-byte segments
  c.retransmit(T0 + ms + 500, true, rq.subarray(rq.length - 7), 7);
  c.response(T0 + 3 * ms, produceResponse(9, 1, big), 5);
  c.request(T0 + 10 * ms, apiVersionsRequest(3, 2));
  c.response(T0 + 11 * ms, apiVersionsResponse(3, 2, [[0, 0, 11]]));
  const before = c.frames.length;
  // A Fetch response whose records snaplen cut off.
  c.request(T0 + 20 * ms, fetchRequest(12, 3, 100, orders));
  c.response(T0 + 22 * ms, fetchResponse(12, 3, orders, Buffer.alloc(3000, 1)));
  c.request(T0 + 30 * ms, metadataRequest(9, 4, null));
  c.response(T0 + 31 * ms, metadataResponse(9, 4, [{ id: 1, host: 'h', port: 9092 }], orders));
  c.close(T0 + 40 * ms);
  c.frames[before + 1].capLen = 54 + 60;
  const r = run(c.frames);
  assert.deepEqual(
    parseLines(r.stdout).map((l) => [l.request, l.latencyMs, l.status]),
    [
      ['Produce v9 orders[0,1,2]', 2, 'OK'],
      ['ApiVersions v3', 1, 'OK'],
      // The partition's error code was captured; its records were not.
      ['Fetch v12 max_wait_ms=100 orders[0]', 2, 'OK'],
      ['Metadata v9', 1, 'OK'],
    ],
  );
  const s = parseSummary(r.stderr);
  assert.deepEqual([s.answered, s.noResponse, s.orphans, s.malformed, s.gaps], [4, 0, 0, 0, 0]);
});

test('a TLS connection to the Kafka port is counted once, not parsed', () => {
  const c = new Conversation('ethernet', '10.0.0.2', 40005, '10.0.0.1', 9092).handshake(T0);
  c.request(T0 + ms, Buffer.from('16030100c4010000c00303' + 'ab'.repeat(190), 'hex'));
  c.response(T0 + 2 * ms, Buffer.from('160303005a020000560303' + 'cd'.repeat(86), 'hex'));
  c.request(T0 + 3 * ms, Buffer.from('1703030040' + 'ef'.repeat(64), 'hex'));
  c.close(T0 + 4 * ms);
  const r = run(c.frames);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /\b1 connection in TLS: not decoded\b/);
  const s = parseSummary(r.stderr);
  assert.deepEqual([s.answered, s.malformed, s.orphans], [0, 0, 0]);
});

/** Every decoded API and a few others, classic and flexible, pipelined in twos: the capture tshark reads too. */
function manyApis(): { frames: Frame[]; expected: [string, number, number, number | null][] } {
  const c = new Conversation('ethernet', '10.0.0.2', 40010, '10.0.0.1', 9092).handshake(T0);
  const expected: [string, number, number, number | null][] = [];
  let t = T0 + ms;
  let corr = 100;
  const add = (rq: Buffer, rs: Buffer, api: string, ver: number, error: number | null) => {
    c.request(t, rq);
    c.response(t + 700, rs);
    expected.push([api, ver, corr, error]);
    t += ms;
    corr++;
  };
  const two = [{ name: 'orders', partitions: [0, 1] }];
  for (const ver of [2, 3, 7, 9]) add(produceRequest(ver, corr, 1, two), produceResponse(ver, corr, two, [[0, ver === 7 ? 3 : 0]]), 'Produce', ver, ver === 7 ? 3 : 0);
  for (const ver of [4, 11, 12]) add(fetchRequest(ver, corr, 100, orders), fetchResponse(ver, corr, orders, RECORDS), 'Fetch', ver, 0);
  for (const ver of [1, 8, 9, 12]) add(metadataRequest(ver, corr, ['orders']), metadataResponse(ver, corr, [{ id: 1, host: 'h', port: 9092 }], orders, [ver === 8 ? 5 : 0]), 'Metadata', ver, ver === 8 ? 5 : 0);
  for (const ver of [0, 3]) add(request(18, ver, corr, 'c', (w) => { if (ver >= 3) w.str('x').str('1').tags(); }), apiVersionsResponse(ver, corr, [[0, 0, 9]]), 'ApiVersions', ver, 0);
  add(request(12, 3, corr, 'c', (w) => w.str('g').i32(1).str('m').str(null)), response(12, 3, corr, (w) => w.i32(0).i16(27)), 'Heartbeat', 3, 27);
  add(request(12, 4, corr, 'c', (w) => w.str('g').i32(1).str('m').str(null).tags()), response(12, 4, corr, (w) => w.i32(0).i16(0).tags()), 'Heartbeat', 4, 0);
  add(request(17, 1, corr, 'c', (w) => w.str('PLAIN')), response(17, 1, corr, (w) => w.i16(0).array(['PLAIN'], (w, m) => w.str(m))), 'SaslHandshake', 1, 0);
  add(request(16, 4, corr, 'c', (w) => w.array([], () => {}).tags()), response(16, 4, corr, (w) => w.i32(0).i16(0).array([], () => {}).tags()), 'ListGroups', 4, 0);
  c.close(t + ms);
  return { frames: c.frames, expected };
}

test('every request of a capture of many APIs and versions is reported once, with its API, version and error code', () => {
  const { frames, expected } = manyApis();
  const r = run(frames, ['--json']);
  const evs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(evs.map((e) => [e.command, e.api_version, e.correlation_id, e.error_code]), expected);
  assert.ok(evs.every((e) => e.latency_us === 700));
});

const tshark = spawnSync('tshark', ['--version']).status === 0;

test('tshark reads the same APIs, versions, correlation ids and error codes', { skip: tshark ? false : 'tshark is not installed' }, () => {
  const { frames, expected } = manyApis();
  const f = file(frames);
  const t = spawnSync('tshark', [
    '-r', f, '-o', 'tcp.analyze_sequence_numbers:FALSE', '-d', 'tcp.port==9092,kafka', '-Y', 'kafka',
    '-T', 'fields', '-e', 'tcp.dstport', '-e', 'kafka.request_key', '-e', 'kafka.api_version', '-e', 'kafka.correlation_id', '-e', 'kafka.error',
  ], { encoding: 'utf8' });
  assert.equal(t.status, 0, t.stderr);
  const rows = t.stdout.trim().split('\n').map((l) => l.split('\t'));
  const requests = rows.filter((r) => r[0] === '9092').map((r) => [Number(r[1]), Number(r[2]), Number(r[3])]);
  // A response's error codes, top level and per partition: tcpkit reports the first nonzero one, else 0.
  const responses = rows.filter((r) => r[0] !== '9092').map((r) => {
    const codes = (r[4] ?? '') === '' ? [] : r[4].split(',').map(Number);
    return [Number(r[3]), codes.length === 0 ? null : codes.find((c) => c !== 0) ?? 0];
  });
  const keyOf: Record<string, number> = { Produce: 0, Fetch: 1, Metadata: 3, Heartbeat: 12, ListGroups: 16, SaslHandshake: 17, ApiVersions: 18 };
  assert.deepEqual(requests, expected.map(([api, ver, corr]) => [keyOf[api], ver, corr]));
  const ours = run(frames, ['--json']).stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(responses.map((r) => r[0]), ours.map((e) => e.correlation_id));
  // tshark 4.0 decodes no error code in Produce v9, Fetch v12 and ListGroups v4
  // responses (its dissector stops at Produce v8, Fetch v11, ListGroups v3);
  // everywhere else its codes are tcpkit's.
  const undecoded = ours.filter((e, i) => responses[i][1] === null).map((e) => e.request.split(' ').slice(0, 2).join(' '));
  assert.deepEqual(undecoded, ['Produce v9', 'Fetch v12', 'ListGroups v4']);
  assert.deepEqual(
    responses.filter((r) => r[1] !== null),
    ours.filter((e, i) => responses[i][1] !== null).map((e) => [e.correlation_id, e.error_code]),
  );
});

// Conformance: tcpkit's Kafka pairing on real broker exchanges from
// deepflow's test suite (../shared/corpus/deepflow/kafka__*.pcap), against
// deepflow's expected parse (the .result beside each capture: a KafkaInfo per
// request and response) and tshark's Kafka dissector on the same files.
//
// Compared: the API name and version, the correlation id, the client_id, the
// topic, the response's error code (deepflow's status_code, tshark's
// kafka.error) and the latency (deepflow's rrt, first byte to first byte, as
// tcpkit's). Each capture holds one request: it is reported exactly once.
//
// Where tcpkit says more than deepflow: the Fetch v12 of 01-fetch-v12-ok was
// answered empty after 499.6 ms of its max_wait_ms of 500, a long poll:
// tcpkit flags it (`OK (long poll)`) and keeps it out of the latencies.
// tshark 4.0 misreads that request's body (it gives max_wait -16777215: it
// does not step over the flexible header's tagged fields there), so only its
// header fields are compared for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CORPUS, tcpkit } from '../helpers/run';

const DEEPFLOW = path.join(CORPUS, 'deepflow');
const why = fs.existsSync(DEEPFLOW) ? null : `no ../shared/corpus/deepflow: ${DEEPFLOW} does not exist`;
if (why) process.stdout.write(`# deepflow-kafka: skipped, ${why}\n`);
const tshark = spawnSync('tshark', ['--version']).status === 0;

interface Expected {
  api: string;
  version: number;
  corr: number;
  clientId: string;
  topic: string;
  status: number;
  rrtUs: number;
}

/** deepflow's request and response KafkaInfo lines, merged. */
function expected(result: string): Expected {
  const lines = fs.readFileSync(result, 'utf8').trim().split('\n');
  const field = (line: string, name: string): string => {
    const m = new RegExp(`\\b${name}: (?:Some\\()?("[^"]*"|[^,)]+)`).exec(line);
    assert.ok(m, `${name} in ${line}`);
    return m[1].replace(/^"|"$/g, '');
  };
  const [rq, rs] = lines;
  assert.match(rq, /msg_type: Request/);
  assert.match(rs, /msg_type: Response/);
  return {
    api: field(rq, 'api_key'),
    version: Number(field(rq, 'api_version')),
    corr: Number(field(rq, 'correlation_id')),
    clientId: field(rq, 'client_id'),
    topic: field(rq, 'topic_name'),
    status: Number(field(rs, 'status_code')),
    rrtUs: Number(field(rs, 'rrt')),
  };
}

const captures = why ? [] : fs.readdirSync(DEEPFLOW).filter((f) => /^kafka__.*\.pcap$/.test(f)).sort();

test('the corpus has the five Kafka captures', { skip: why ?? false }, () => {
  assert.deepEqual(captures, [
    'kafka__00-produce-v2.pcap', 'kafka__01-fetch-v12-ok.pcap', 'kafka__11-join-group-v7.pcap', 'kafka__13-leave-group-v4.pcap', 'kafka__18-api-versions-v3.pcap',
  ]);
});

for (const name of captures) {
  const pcap = path.join(DEEPFLOW, name);
  const want = expected(pcap.replace(/\.pcap$/, '.result'));
  const port = name.includes('00-produce') || name.includes('18-api') ? '9092' : '36333';

  test(`${name}: as deepflow expects`, () => {
    const r = tcpkit(['-r', pcap, '-p', port, '-m', 'kafka', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const evs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(evs.length, 1, 'one request, reported once');
    const e = evs[0];
    assert.deepEqual(
      [e.command, e.api_version, e.correlation_id, e.client_id, e.error_code, e.error, e.latency_us, e.answered],
      [want.api, want.version, want.corr, want.clientId, want.status, want.status !== 0, want.rrtUs, true],
    );
    if (want.topic !== '') assert.deepEqual(e.topics, [want.topic]);
    else assert.deepEqual(e.topics, []);
  });

  test(`${name}: as tshark reads it`, { skip: tshark ? false : 'tshark is not installed' }, () => {
    const t = spawnSync('tshark', [
      '-r', pcap, '-o', 'tcp.analyze_sequence_numbers:FALSE', '-d', `tcp.port==${port},kafka`, '-Y', 'kafka',
      '-T', 'fields', '-e', 'kafka.request_key', '-e', 'kafka.api_version', '-e', 'kafka.correlation_id', '-e', 'kafka.client_id', '-e', 'kafka.error', '-e', 'kafka.topic_name',
    ], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
    const [rq, rs] = t.stdout.replace(/\n$/, '').split('\n').map((l) => l.split('\t'));
    const r = tcpkit(['-r', pcap, '-p', port, '-m', 'kafka', '--json']);
    const e = JSON.parse(r.stdout.trim());
    const keyOf: Record<string, number> = { Produce: 0, Fetch: 1, JoinGroup: 11, LeaveGroup: 13, ApiVersions: 18 };
    assert.deepEqual([Number(rq[0]), Number(rq[1]), Number(rq[2]), rq[3]], [keyOf[e.command], e.api_version, e.correlation_id, e.client_id]);
    assert.equal(Number(rs[2]), e.correlation_id);
    const codes = (rs[4] ?? '') === '' ? [] : rs[4].split(',').map(Number);
    if (e.command === 'Fetch') assert.deepEqual(codes, [], 'tshark 4.0 decodes no Fetch v12 response body');
    else assert.equal(codes.find((c) => c !== 0) ?? 0, e.error_code);
    if (e.command !== 'Fetch') assert.deepEqual((rq[5] ?? '') === '' ? [] : rq[5].split(','), e.topics);
  });
}

test('01-fetch-v12-ok: the empty Fetch answered at max_wait_ms is a long poll, kept out of the latencies', { skip: why ?? false }, () => {
  const r = tcpkit(['-r', path.join(DEEPFLOW, 'kafka__01-fetch-v12-ok.pcap'), '-p', '36333', '-m', 'kafka']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '2024-09-13 08:36:38.525222 10.50.71.3:41972 => 10.50.71.3:36333 | 499.610 ms | Fetch v12 max_wait_ms=500 zqy-test[0] | OK (long poll)\n');
  assert.match(r.stderr, /^requests: 0 answered, 0 without response, 1 long poll \(/m);
});

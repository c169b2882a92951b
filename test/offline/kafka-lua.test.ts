// Kafka and Lua: scripts/kafka.lua (the original's kafka_monitor, from packets
// alone) with its exact output, and process_transaction(tx) with -m kafka.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Conversation, writePcap } from '../helpers/pcap-writer';
import { ROOT, tcpkit } from '../helpers/run';
import { fetchRequest, fetchResponse, metadataRequest, metadataResponse, produceRequest, produceResponse, request, response, RECORDS } from '../helpers/kafka-wire';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-kafka-lua-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const T0 = 1_580_000_000_000_000; // 2020-01-26 00:53:20 UTC, in µs
const ms = 1000;
const SCRIPT = path.join(ROOT, 'scripts', 'kafka.lua');

/** Two clients reusing correlation ids, pipelining, splitting and retransmitting; acks=0; a Produce with a large batch. */
function capture(): string {
  const orders = [{ name: 'orders', partitions: [0, 1] }, { name: 'audit', partitions: [2] }];
  const logs = [{ name: 'logs', partitions: [0] }];
  const a = new Conversation('ethernet', '10.0.0.2', 40000, '10.0.0.1', 9092).handshake(T0);
  const b = new Conversation('ethernet', '10.0.0.3', 40001, '10.0.0.1', 9092).handshake(T0);
  a.request(T0 + 1 * ms, Buffer.concat([metadataRequest(1, 1, ['orders', 'audit']), produceRequest(3, 2, 1, orders)]), 60);
  b.request(T0 + 2 * ms, fetchRequest(12, 1, 500, logs));
  a.retransmit(T0 + 3 * ms, true, Buffer.alloc(10, 0), 10);
  b.request(T0 + 3 * ms, produceRequest(9, 2, 0, logs)); // acks=0: no answer
  a.response(T0 + 4 * ms, metadataResponse(1, 1, [{ id: 1, host: '10.0.0.1', port: 9092 }], orders));
  b.response(T0 + 5 * ms, fetchResponse(12, 1, logs, RECORDS));
  a.response(T0 + 9 * ms, produceResponse(3, 2, orders), 9);
  b.request(T0 + 10 * ms, request(11, 7, 3, 'c', (w) => w.str('grp').i32(10000).i32(10000).str('').str(null).str('consumer').array([], () => {}).str(null).tags()));
  b.response(T0 + 13 * ms, response(11, 7, 3, (w) => w.i32(0).i16(0).i32(1).str(null).str(null).str('').str('m').array([], () => {}).tags()));
  // A Produce of 100 KB: more than the script keeps of one message.
  const big = produceRequest(9, 4, 1, [{ name: 'big', partitions: [0] }]);
  const huge = Buffer.concat([big.subarray(0, big.length - RECORDS.length - 3), Buffer.from([0x81, 0x8d, 0x06]), Buffer.alloc(100_000, 7), Buffer.from([0, 0, 0])]);
  huge.writeUInt32BE(huge.length - 4, 0);
  a.request(T0 + 20 * ms, huge, 1448);
  a.response(T0 + 25 * ms, produceResponse(9, 4, [{ name: 'big', partitions: [0] }]));
  const file = path.join(dir, 'kafka.pcap');
  writePcap(file, 'ethernet', [...a.frames, ...b.frames]);
  return file;
}

test('scripts/kafka.lua: one line per answered request, paired by correlation id per connection, from packets alone', () => {
  const file = capture();
  const r = tcpkit(['-r', file, '-p', '9092', '-S', SCRIPT]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    '2020-01-26 00:53:20.004000 | 10.0.0.1:9092 | 10.0.0.2:40000 | Metadata Topics: orders audit | 3.000 ms\n' +
      '2020-01-26 00:53:20.005000 | 10.0.0.1:9092 | 10.0.0.3:40001 | Fetch Topics: logs | 3.000 ms\n' +
      '2020-01-26 00:53:20.009000 | 10.0.0.1:9092 | 10.0.0.2:40000 | Produce Topics: orders audit | 8.000 ms\n' +
      '2020-01-26 00:53:20.013000 | 10.0.0.1:9092 | 10.0.0.3:40001 | JoinGroup | 3.000 ms\n' +
      '2020-01-26 00:53:20.025000 | 10.0.0.1:9092 | 10.0.0.2:40000 | Produce Topics: big | 5.000 ms\n',
  );
  assert.ok(r.stderr.split('\n').filter((l) => l !== '').every((l) => l.startsWith('tcpkit: ') && !/script error/.test(l)), r.stderr);
  // The same requests and latencies as -m kafka.
  const own = tcpkit(['-r', file, '-p', '9092', '-m', 'kafka']);
  assert.deepEqual(
    own.stdout.trimEnd().split('\n').map((l) => l.split(' | ').slice(1, 3).join(' | ')),
    ['3.000 ms | Metadata v1 orders audit', '3.000 ms | Fetch v12 max_wait_ms=500 logs[0]', '8.000 ms | Produce v3 orders[0,1] audit[2]', '3.000 ms | JoinGroup v7 group=grp', '5.000 ms | Produce v9 big[0]'],
  );
});

test('process_transaction(tx) with -m kafka gets api, api_version, correlation_id, client_id, topics, error_code, long_poll', () => {
  const script = path.join(dir, 'tx.lua');
  fs.writeFileSync(
    script,
    'function process_transaction(tx)\n' +
      '  print(tx.api, tx.api_key, tx.api_version, tx.correlation_id, tx.client_id, table.concat(tx.topics, ","), tx.error_code, tx.long_poll, tx.status, tx.status_text)\n' +
      'end\n',
  );
  const c = new Conversation('ethernet', '10.0.0.2', 40000, '10.0.0.1', 9092).handshake(T0);
  const logs = [{ name: 'logs', partitions: [0] }];
  c.request(T0 + ms, produceRequest(9, 7, 1, [...logs, { name: 'x', partitions: [1] }], 'app'));
  c.response(T0 + 2 * ms, produceResponse(9, 7, [...logs, { name: 'x', partitions: [1] }], [[0], [3]]));
  c.request(T0 + 3 * ms, fetchRequest(12, 8, 100, logs, 'app'));
  c.response(T0 + 103 * ms, fetchResponse(12, 8, logs, null));
  c.request(T0 + 200 * ms, metadataRequest(12, 9, null, 'app'));
  c.close(T0 + 30_000 * ms);
  const file = path.join(dir, 'tx.pcap');
  writePcap(file, 'ethernet', c.frames);
  const r = tcpkit(['-r', file, '-p', '9092', '-m', 'kafka', '-S', script]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'Produce\t0\t9\t7\tapp\tlogs,x\t3\tfalse\terror\tUNKNOWN_TOPIC_OR_PARTITION\n' +
      'Fetch\t1\t12\t8\tapp\tlogs\t0\ttrue\tok\tOK (long poll)\n' +
      'Metadata\t3\t12\t9\tapp\t\tnil\tfalse\tno response\t\n',
  );
});

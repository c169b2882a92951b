// The Kafka parser: requests and responses of every API key, in classic and
// flexible versions, split at every byte; pairing facts (correlation id,
// NoReply for acks=0); error codes by name; long polls; snaplen; TLS; junk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzRuns } from '../../helpers/fuzz-runs';
import { newPairedConnection } from '../../../src/pairing/connection';
import { KafkaParser, apiName, errorName, isFlexible, requestFields, requestTopics } from '../../../src/protocol/kafka';
import { MessageKind, ResetReason, type MessageInfo } from '../../../src/protocol/message';
import { Recorder } from '../../helpers/recorder';
import {
  apiVersionsRequest, apiVersionsResponse, fetchRequest, fetchResponse, metadataRequest, metadataResponse, produceRequest, produceResponse,
  request, response, RECORDS,
} from '../../helpers/kafka-wire';

/** Both directions of one connection, recording what each reports. */
class Pair {
  readonly conn = newPairedConnection();
  readonly req = new Recorder();
  readonly rsp = new Recorder();
  readonly details: { detail: Buffer; longPoll: boolean }[] = [];
  readonly client: KafkaParser;
  readonly server: KafkaParser;
  constructor() {
    const details = this.details;
    const keep = (rec: Recorder): Recorder => {
      const message = rec.message.bind(rec);
      rec.message = (c, f, m: MessageInfo) => {
        details.push({ detail: Buffer.from(m.detail.subarray(0, m.detailLen)), longPoll: m.longPoll });
        message(c, f, m);
      };
      return rec;
    };
    this.client = new KafkaParser(this.conn, true, keep(this.req));
    this.server = new KafkaParser(this.conn, false, keep(this.rsp));
  }
  send(b: Buffer, sec = 0, nsec = 0, split = -1): this {
    feedSplit(this.client, b, sec, nsec, split);
    return this;
  }
  answer(b: Buffer, sec = 0, nsec = 0, split = -1): this {
    feedSplit(this.server, b, sec, nsec, split);
    return this;
  }
}

function feedSplit(p: KafkaParser, b: Buffer, sec: number, nsec: number, split: number): void {
  if (split <= 0 || split >= b.length) p.feed(b, 0, b.length, sec, nsec);
  else {
    p.feed(b, 0, split, sec, nsec);
    p.feed(b, split, b.length, sec, nsec);
  }
}

const T = (t: { name: string; partitions: number[] }[]) => t;

test('names: API keys, flexible versions, error codes', () => {
  assert.equal(apiName(0).toString(), 'Produce');
  assert.equal(apiName(18).toString(), 'ApiVersions');
  assert.equal(apiName(36).toString(), 'SaslAuthenticate');
  assert.equal(apiName(92).toString(), 'DeleteShareGroupOffsets');
  assert.equal(apiName(99).toString(), 'api_key 99');
  assert.equal(isFlexible(0, 8), false);
  assert.equal(isFlexible(0, 9), true);
  assert.equal(isFlexible(1, 11), false);
  assert.equal(isFlexible(1, 12), true);
  assert.equal(isFlexible(18, 3), true);
  assert.equal(isFlexible(17, 1), false);
  assert.equal(isFlexible(60, 0), true);
  assert.equal(errorName(0), 'OK');
  assert.equal(errorName(-1), 'UNKNOWN_SERVER_ERROR');
  assert.equal(errorName(3), 'UNKNOWN_TOPIC_OR_PARTITION');
  assert.equal(errorName(6), 'NOT_LEADER_OR_FOLLOWER');
  assert.equal(errorName(79), 'MEMBER_ID_REQUIRED');
  assert.equal(errorName(100), 'UNKNOWN_TOPIC_ID');
  assert.equal(errorName(133), 'SHARE_SESSION_LIMIT_REACHED');
  assert.equal(errorName(999), 'ERROR_999');
  assert.equal(errorName(999), errorName(999));
});

test('Produce v2 and v9: topics and partitions, error codes, split at every byte', () => {
  const topics = T([{ name: 'orders', partitions: [0, 1] }, { name: 'audit', partitions: [3] }]);
  for (const ver of [2, 9]) {
    const rq = produceRequest(ver, 7, 1, topics);
    const rs = produceResponse(ver, 7, topics, [[0, 6]]);
    for (let i = 0; i <= rq.length; i++) {
      const p = new Pair().send(rq, 1, 0, i).answer(rs, 1, 500_000, i % (rs.length + 1));
      assert.deepEqual(p.req.resets, [], `split at ${i}`);
      assert.deepEqual(p.rsp.resets, [], `split at ${i}`);
      assert.deepEqual(
        p.req.seen.map((s) => [s.text, s.kind, s.matchId, s.bytes]),
        [[`Produce v${ver} orders[0,1] audit[3]`, MessageKind.Normal, 7, rq.length]],
        `v${ver} split at ${i}`,
      );
      assert.deepEqual(
        p.rsp.seen.map((s) => [s.matchId, s.status, s.statusText, s.error, s.bytes]),
        [[7, 6, 'NOT_LEADER_OR_FOLLOWER', true, rs.length]],
        `v${ver} split at ${i}`,
      );
    }
  }
});

test('Produce acks=0 expects no response: NoReply, and its correlation id is not waited on', () => {
  const topics = T([{ name: 'logs', partitions: [0] }]);
  const p = new Pair().send(produceRequest(9, 1, 0, topics)).send(produceRequest(9, 2, -1, topics)).answer(produceResponse(9, 2, topics));
  assert.deepEqual(p.req.seen.map((s) => [s.text, s.kind, s.matchId]), [
    ['Produce v9 logs[0]', MessageKind.NoReply, 1],
    ['Produce v9 logs[0]', MessageKind.Normal, 2],
  ]);
  assert.deepEqual(p.rsp.seen.map((s) => [s.matchId, s.statusText]), [[2, 'OK']]);
});

test('Fetch: max_wait_ms on the line; a long poll is an empty answer after at least 90% of max_wait', () => {
  const topics = T([{ name: 'zqy-test', partitions: [0] }]);
  for (const ver of [4, 11, 12]) {
    // Empty at 499.6 ms of 500: a long poll.
    let p = new Pair().send(fetchRequest(ver, 9, 500, topics), 10, 0).answer(fetchResponse(ver, 9, topics, null), 10, 499_600_000);
    assert.deepEqual(p.req.seen.map((s) => s.text), [`Fetch v${ver} max_wait_ms=500 zqy-test[0]`]);
    assert.deepEqual(p.rsp.seen.map((s) => [s.statusText, s.error, s.status]), [['OK (long poll)', false, 0]]);
    assert.equal(p.details[1].longPoll, true);
    // Empty records (length 0) count as none too.
    p = new Pair().send(fetchRequest(ver, 9, 500, topics), 10, 0).answer(fetchResponse(ver, 9, topics, Buffer.alloc(0)), 10, 460_000_000);
    assert.deepEqual(p.rsp.seen.map((s) => s.statusText), ['OK (long poll)']);
    // With records: data came, the latency is the broker's.
    p = new Pair().send(fetchRequest(ver, 9, 500, topics), 10, 0).answer(fetchResponse(ver, 9, topics, RECORDS), 10, 499_600_000);
    assert.deepEqual(p.rsp.seen.map((s) => [s.statusText, s.error]), [['OK', false]]);
    assert.equal(p.details[1].longPoll, false);
    // Empty but early (less than 90% of max_wait): not a long poll.
    p = new Pair().send(fetchRequest(ver, 9, 500, topics), 10, 0).answer(fetchResponse(ver, 9, topics, null), 10, 300_000_000);
    assert.deepEqual(p.rsp.seen.map((s) => s.statusText), ['OK']);
    // An error is an error, however long it took.
    p = new Pair().send(fetchRequest(ver, 9, 500, topics), 10, 0).answer(fetchResponse(ver, 9, topics, null, [[1]]), 10, 499_000_000);
    assert.deepEqual(p.rsp.seen.map((s) => [s.statusText, s.error]), [['OFFSET_OUT_OF_RANGE', true]]);
  }
  // v12's top-level error code.
  const p = new Pair().send(fetchRequest(12, 3, 500, topics)).answer(fetchResponse(12, 3, [], null, [], 70));
  assert.deepEqual(p.rsp.seen.map((s) => [s.statusText, s.error]), [['FETCH_SESSION_ID_NOT_FOUND', true]]);
});

test('Metadata v1, v9, v12: topic names, topic errors', () => {
  for (const ver of [1, 9, 12]) {
    const topics = T([{ name: 'a', partitions: [0, 1] }, { name: 'missing', partitions: [] }]);
    const p = new Pair()
      .send(metadataRequest(ver, 4, ['a', 'missing']))
      .answer(metadataResponse(ver, 4, [{ id: 1, host: 'b1', port: 9092 }], topics, [0, 3]));
    assert.deepEqual(p.req.seen.map((s) => s.text), [`Metadata v${ver} a missing`]);
    assert.deepEqual(p.rsp.seen.map((s) => [s.statusText, s.error]), [['UNKNOWN_TOPIC_OR_PARTITION', true]], `v${ver}`);
  }
  // All topics (null): no names.
  const p = new Pair().send(metadataRequest(12, 5, null)).answer(metadataResponse(12, 5, [{ id: 1, host: 'b1', port: 9092 }], []));
  assert.deepEqual(p.req.seen.map((s) => s.text), ['Metadata v12']);
  assert.deepEqual(p.rsp.seen.map((s) => s.statusText), ['OK']);
});

test('ApiVersions v3: the response header has no tagged fields; detail carries key, version and client_id', () => {
  const rq = apiVersionsRequest(3, 2, 'adminclient-1');
  const rs = apiVersionsResponse(3, 2, [[0, 0, 11], [1, 0, 16], [18, 0, 4]]);
  for (let i = 0; i <= rs.length; i++) {
    const p = new Pair().send(rq).answer(rs, 0, 0, i);
    assert.deepEqual(p.rsp.seen.map((s) => [s.matchId, s.statusText]), [[2, 'OK']], `split at ${i}`);
  }
  const p = new Pair().send(rq).answer(apiVersionsResponse(3, 2, [], 35));
  assert.deepEqual(p.rsp.seen.map((s) => [s.statusText, s.error]), [['UNSUPPORTED_VERSION', true]]);
  const f = requestFields(p.details[0].detail, p.details[0].detail.length);
  assert.deepEqual(f, { apiKey: 18, api: 'ApiVersions', apiVersion: 3, clientId: 'adminclient-1' });
});

test('every API key, in a classic and a flexible version, is named and paired by correlation id', () => {
  for (let key = 0; key <= 92; key++) {
    const versions = new Set<number>();
    for (let v = 0; v <= 13; v++) {
      if (!isFlexible(key, v)) versions.add(v);
      else {
        versions.add(v);
        break;
      }
    }
    for (const ver of [Math.min(...versions), Math.max(...versions)]) {
      const corr = 1000 + key;
      // A body the parser does not need: 12 bytes of zeros (empty arrays, zero numbers); Produce with acks=1.
      const body = key === 0 ? (ver >= 3 ? Buffer.from('000001', 'hex') : Buffer.from('0001', 'hex')) : Buffer.alloc(12);
      const p = new Pair()
        .send(request(key, ver, corr, 'c', (w) => w.raw(body)))
        .answer(response(key, ver, corr, (w) => w.raw(Buffer.alloc(12))));
      assert.deepEqual(p.req.resets, [], `key ${key} v${ver}`);
      assert.equal(p.req.seen.length, 1, `key ${key} v${ver}`);
      assert.ok(p.req.seen[0].text.startsWith(`${apiName(key)} v${ver}`), `key ${key} v${ver}: ${p.req.seen[0].text}`);
      assert.equal(p.req.seen[0].matchId, corr);
      assert.deepEqual(p.rsp.seen.map((s) => s.matchId), [corr], `key ${key} v${ver}`);
    }
  }
  // A key Kafka does not define, once the connection is known to speak Kafka.
  const p = new Pair().send(apiVersionsRequest(3, 4)).answer(apiVersionsResponse(3, 4, []));
  p.send(request(99, 0, 5, 'c', () => {})).answer(response(99, 0, 5, () => {}));
  assert.deepEqual(p.req.seen.map((s) => s.text), ['ApiVersions v3', 'api_key 99 v0']);
  assert.deepEqual(p.rsp.seen.map((s) => [s.matchId, s.statusText]), [[4, 'OK'], [5, '']]);
  // As the first message of a capture, it is not taken for the start of one.
  const q = new Pair().send(request(99, 0, 5, 'c', () => {}));
  assert.deepEqual([q.req.seen, q.req.resets], [[], []]);
});

test('group APIs name the group and read their error codes', () => {
  const cases: [number, number, (w: import('../../helpers/kafka-wire').Wire) => void, (w: import('../../helpers/kafka-wire').Wire) => void, string, string][] = [
    [11, 7, (w) => w.str('g1').i32(45000).i32(300000).str('').str(null).str('consumer').array([], () => {}).str(null).tags(), (w) => w.i32(0).i16(79), 'JoinGroup v7 group=g1', 'MEMBER_ID_REQUIRED'],
    [12, 4, (w) => w.str('g1').i32(3).str('m').str(null).tags(), (w) => w.i32(0).i16(27).tags(), 'Heartbeat v4 group=g1', 'REBALANCE_IN_PROGRESS'],
    [14, 5, (w) => w.str('g1').i32(3).str('m').tags(), (w) => w.i32(0).i16(0).tags(), 'SyncGroup v5 group=g1', 'OK'],
    [13, 4, (w) => w.str('g1').array(['m'], (w, m) => w.str(m).str(null).tags()).tags(), (w) => w.i32(0).i16(0).array(['m'], (w, m) => w.str(m).str(null).i16(25).tags()).tags(), 'LeaveGroup v4 group=g1', 'UNKNOWN_MEMBER_ID'],
    [10, 2, (w) => w.str('g1').i8(0), (w) => w.i32(0).i16(15).str(null).i32(-1).str('').i32(-1), 'FindCoordinator v2 group=g1', 'COORDINATOR_NOT_AVAILABLE'],
    [10, 4, (w) => w.i8(0).array(['g1'], (w, g) => w.str(g)).tags(), (w) => w.i32(0).array(['g1'], (w, g) => w.str(g).i32(1).str('h').i32(9092).i16(0).str(null).tags()).tags(), 'FindCoordinator v4 group=g1', 'OK'],
    [17, 1, (w) => w.str('PLAIN'), (w) => w.i16(33).array(['PLAIN'], (w, m) => w.str(m)), 'SaslHandshake v1', 'UNSUPPORTED_SASL_MECHANISM'],
    [36, 2, (w) => w.bytes(Buffer.from('\0u\0p')).tags(), (w) => w.i16(58).str('bad').bytes(Buffer.alloc(0)).i64(0).tags(), 'SaslAuthenticate v2', 'SASL_AUTHENTICATION_FAILED'],
    [8, 8, (w) => w.str('g1').i32(1).str('m').str(null).array([{ n: 't', p: [0] }], (w, t) => w.str(t.n).array(t.p, (w, p) => w.i32(p).i64(5).i32(-1).str(null).tags()).tags()).tags(),
      (w) => w.i32(0).array(['t'], (w, t) => w.str(t).array([0], (w, p) => w.i32(p).i16(22).tags()).tags()).tags(), 'OffsetCommit v8 group=g1 t[0]', 'ILLEGAL_GENERATION'],
    [9, 6, (w) => w.str('g1').array([{ n: 't', p: [0, 2] }], (w, t) => w.str(t.n).array(t.p, (w, p) => w.i32(p)).tags()).i8(0).tags(),
      (w) => w.i32(0).array(['t'], (w, t) => w.str(t).array([0, 2], (w, p) => w.i32(p).i64(5).i32(-1).str('').i16(0).tags()).tags()).i16(16).tags(), 'OffsetFetch v6 group=g1 t[0,2]', 'NOT_COORDINATOR'],
    [2, 5, (w) => w.i32(-1).i8(0).array([{ n: 't', p: [1] }], (w, t) => w.str(t.n).array(t.p, (w, p) => w.i32(p).i32(-1).i64(-1))),
      (w) => w.i32(0).array(['t'], (w, t) => w.str(t).array([1], (w, p) => w.i32(p).i16(0).i64(-1).i64(10).i32(0))), 'ListOffsets v5 t[1]', 'OK'],
    [19, 5, (w) => w.array(['new'], (w, t) => w.str(t).i32(3).i16(1).array([], () => {}).array([['retention.ms', '1']], (w, [k, v]) => w.str(k).str(v).tags()).tags()).i32(1000).i8(0).tags(),
      (w) => w.i32(0).array(['new'], (w, t) => w.str(t).i16(36).str('exists').tags()).tags(), 'CreateTopics v5 new', 'TOPIC_ALREADY_EXISTS'],
    [20, 3, (w) => w.array(['old', 'older'], (w, t) => w.str(t)).i32(1000), (w) => w.i32(0).array(['old', 'older'], (w, t) => w.str(t).i16(t === 'old' ? 0 : 3)), 'DeleteTopics v3 old older', 'UNKNOWN_TOPIC_OR_PARTITION'],
    [22, 2, (w) => w.str(null).i32(60000).tags(), (w) => w.i32(0).i16(0).i64(1).i16(0).tags(), 'InitProducerId v2', 'OK'],
  ];
  for (const [key, ver, body, answer, text, status] of cases) {
    const rq = request(key, ver, 11, 'c', body);
    const rs = response(key, ver, 11, answer);
    for (let i = 0; i <= rs.length; i += 3) {
      const p = new Pair().send(rq, 0, 0, i % (rq.length + 1)).answer(rs, 0, 0, i);
      assert.deepEqual(p.req.seen.map((s) => s.text), [text]);
      assert.deepEqual(p.rsp.seen.map((s) => [s.statusText, s.error]), [[status, status !== 'OK']], `${text} split at ${i}`);
    }
  }
});

test('pipelined requests: each response finds its own request, out of order too', () => {
  const t = T([{ name: 't', partitions: [0] }]);
  const p = new Pair()
    .send(Buffer.concat([metadataRequest(9, 1, ['t']), produceRequest(9, 2, 1, t), fetchRequest(12, 3, 100, t)]))
    .answer(Buffer.concat([metadataResponse(9, 1, [{ id: 1, host: 'h', port: 1 }], t), produceResponse(9, 2, t, [[6]]), fetchResponse(12, 3, t, RECORDS)]));
  assert.deepEqual(p.req.seen.map((s) => [s.text, s.matchId]), [
    ['Metadata v9 t', 1],
    ['Produce v9 t[0]', 2],
    ['Fetch v12 max_wait_ms=100 t[0]', 3],
  ]);
  assert.deepEqual(p.rsp.seen.map((s) => [s.matchId, s.statusText]), [[1, 'OK'], [2, 'NOT_LEADER_OR_FOLLOWER'], [3, 'OK']]);
});

test('a response for no waiting request is reported with its id and no status', () => {
  const p = new Pair().answer(produceResponse(9, 77, T([{ name: 't', partitions: [0] }])));
  // Nothing waits: the parser does not even take it as the start of a message.
  assert.deepEqual(p.rsp.seen, []);
  const q = new Pair().send(apiVersionsRequest(3, 1)).answer(Buffer.concat([apiVersionsResponse(3, 1, []), apiVersionsResponse(3, 9, [])]));
  assert.deepEqual(q.rsp.seen.map((s) => [s.matchId, s.statusText]), [[1, 'OK'], [9, '']]);
});

test('snaplen: a message cut short is stepped over by its size; what was captured is decoded', () => {
  const topics = T([{ name: 'big', partitions: [0] }]);
  const rq = produceRequest(9, 5, 1, topics);
  const p = new Pair();
  // The header and topic are captured, then the partition index, then nothing.
  for (const cut of [40, 45]) {
    p.client.feed(rq, 0, cut, 1, 0);
    assert.equal(p.client.skip(rq.length - cut, 1, 0), true);
  }
  p.send(produceRequest(9, 6, 1, topics));
  assert.deepEqual(p.req.seen.map((s) => [s.text, s.bytes]), [
    ['Produce v9 big...', rq.length],
    ['Produce v9 big[0]...', rq.length],
    ['Produce v9 big[0]', rq.length],
  ]);
  assert.deepEqual(p.req.resets, []);
  // A skip inside the size itself is a gap: the parser resets.
  const q = new Pair();
  q.client.feed(rq, 0, 2, 1, 0);
  assert.equal(q.client.skip(10, 1, 0), false);
  assert.deepEqual(q.req.resets, [ResetReason.Gap]);
});

test('malformed sizes reset; the parser finds the next request; random bytes never throw', () => {
  const p = new Pair();
  const good = apiVersionsRequest(3, 1);
  p.send(good);
  p.send(Buffer.from([0, 0, 0, 2, 1, 2]));
  p.send(apiVersionsRequest(3, 2));
  assert.deepEqual(p.req.resets, [ResetReason.Malformed]);
  assert.deepEqual(p.req.seen.map((s) => s.matchId), [1, 2]);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, fromClient) => {
      const q = new Pair();
      q.send(apiVersionsRequest(3, 1));
      const parser = fromClient ? q.client : q.server;
      const b = Buffer.from(bytes);
      parser.feed(b, 0, b.length, 0, 0);
      parser.skip(7, 0, 0);
    }),
    { numRuns: fuzzRuns(2000) },
  );
});

test('TLS: a connection that opens with a TLS record is reported once and not parsed', () => {
  const hello = Buffer.from('16030100c4010000c00303' + '00'.repeat(60), 'hex');
  const p = new Pair().send(hello).send(apiVersionsRequest(3, 1)).answer(Buffer.from('160303005a02', 'hex'));
  assert.deepEqual(p.req.resets, [ResetReason.Encrypted]);
  assert.deepEqual(p.req.seen, []);
  assert.deepEqual(p.rsp.seen, []);
  assert.deepEqual(p.rsp.resets, []);
});

test('requestTopics: the topics of a request text', () => {
  assert.deepEqual(requestTopics('Produce v9 orders[0,1] audit[3]'), ['orders', 'audit']);
  assert.deepEqual(requestTopics('Fetch v12 max_wait_ms=500 zqy-test[0]'), ['zqy-test']);
  assert.deepEqual(requestTopics('JoinGroup v7 group=g'), []);
  assert.deepEqual(requestTopics('Metadata v9 a b'), ['a', 'b']);
  assert.deepEqual(requestTopics('Produce v9 a[0] b[1,2,...'), ['a']);
});

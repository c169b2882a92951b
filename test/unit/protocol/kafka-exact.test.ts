// The Kafka parsers at every version, where kafka.test.ts tries a few: the
// request line of Produce, Fetch and Metadata, and the error code of their
// responses put in the last field read (a field skipped at the wrong version
// moves it), every API and error name, and the TLS record test. Written for
// the survivors of `make mutate` (TESTING.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newPairedConnection } from '../../../src/pairing/connection';
import { KafkaParser } from '../../../src/protocol/kafka/parser';
import { MAX_API_KEY, apiName, errorName } from '../../../src/protocol/kafka/names';
import { ResetReason } from '../../../src/protocol/message';
import { FullRecorder } from '../../helpers/full-recorder';
import { fetchRequest, fetchResponse, metadataRequest, metadataResponse, produceRequest, produceResponse, request, response, type TopicParts } from '../../helpers/kafka-wire';

interface Pair {
  rec: FullRecorder;
  c: KafkaParser;
  s: KafkaParser;
}

function pair(): Pair {
  const rec = new FullRecorder();
  const conn = newPairedConnection();
  return { rec, c: new KafkaParser(conn, true, rec), s: new KafkaParser(conn, false, rec) };
}

/** Feeds a whole message at an offset in a larger buffer, then the same split in two (on a fresh pair). */
function exchange(rq: Buffer, rs: Buffer): [string, string, number][] {
  const out: [string, string, number][] = [];
  for (const cut of [0, 7, -3]) {
    const p = pair();
    const feed = (parser: KafkaParser, b: Buffer): void => {
      const buf = Buffer.concat([Buffer.alloc(3, 0xff), b, Buffer.alloc(5, 0xff)]);
      const split = cut < 0 ? b.length + cut : cut;
      if (split === 0) parser.feed(buf, 3, 3 + b.length, 1, 0);
      else {
        parser.feed(buf, 3, 3 + split, 1, 0);
        parser.feed(buf, 3 + split, 3 + b.length, 2, 0);
      }
    };
    feed(p.c, rq);
    feed(p.s, rs);
    assert.deepEqual(p.rec.resets, [], `split ${cut}`);
    const got = p.rec.seen.map((s): [string, string, number] => [s.text, s.statusText, s.matchId]);
    if (out.length === 0) out.push(...got);
    else assert.deepEqual(got, out, `split ${cut}`);
  }
  return out;
}

const TOPICS: TopicParts[] = [
  { name: 'orders', partitions: [0, 1] },
  { name: 'audit', partitions: [3] },
];

test('Produce v0 to v12: the request line, and the last partition\'s error read from the response', () => {
  for (let ver = 0; ver <= 12; ver++) {
    const got = exchange(produceRequest(ver, 100 + ver, 1, TOPICS), produceResponse(ver, 100 + ver, TOPICS, [[0, 0], [6]]));
    assert.deepEqual(got, [
      [`Produce v${ver} orders[0,1] audit[3]`, '', 100 + ver],
      ['', 'NOT_LEADER_OR_FOLLOWER', 100 + ver],
    ], `v${ver}`);
  }
});

test('Fetch v0 to v12: the request line, and the last partition\'s error read from the response (v7+: the top-level error too)', () => {
  for (let ver = 0; ver <= 12; ver++) {
    const got = exchange(fetchRequest(ver, 200 + ver, 250, TOPICS), fetchResponse(ver, 200 + ver, TOPICS, Buffer.alloc(10, 1), [[0, 0], [1]]));
    assert.deepEqual(got, [
      [`Fetch v${ver} max_wait_ms=250 orders[0,1] audit[3]`, '', 200 + ver],
      ['', 'OFFSET_OUT_OF_RANGE', 200 + ver],
    ], `v${ver}`);
    if (ver >= 7) {
      const top = exchange(fetchRequest(ver, 1, 250, []), fetchResponse(ver, 1, [], null, [], 70));
      assert.deepEqual(top[1], ['', 'FETCH_SESSION_ID_NOT_FOUND', 1], `v${ver}`);
    }
  }
});

test('Metadata v0 to v13: the topics named, and the last topic\'s error read from the response', () => {
  for (let ver = 0; ver <= 13; ver++) {
    const parts: TopicParts[] = [
      { name: 'a', partitions: [0, 1] },
      { name: 'b', partitions: [2] },
    ];
    const got = exchange(metadataRequest(ver, 300 + ver, ['a', 'b']), metadataResponse(ver, 300 + ver, [{ id: 1, host: 'h1', port: 9092 }, { id: 2, host: 'h2', port: 9093 }], parts, [0, 3]));
    assert.deepEqual(got, [
      [`Metadata v${ver} a b`, '', 300 + ver],
      ['', 'UNKNOWN_TOPIC_OR_PARTITION', 300 + ver],
    ], `v${ver}`);
  }
});

test('OffsetCommit v0 to v9: the group and topics; v2 to v4 carry a retention time that is stepped over', () => {
  for (let ver = 0; ver <= 9; ver++) {
    const flex = ver >= 8;
    const rq = request(8, ver, 7, 'c', (w) => {
      w.str('g1');
      if (ver >= 1) w.i32(5).str('member');
      if (ver >= 7) w.str(null);
      if (ver >= 2 && ver <= 4) w.i64(-1);
      w.array([{ name: 'events', partitions: [4, 5] }], (w, t) => {
        w.str(t.name);
        w.array(t.partitions, (w, p) => {
          w.i32(p).i64(10);
          if (ver >= 6) w.i32(-1);
          if (ver === 1) w.i64(-1);
          w.str(null).tags();
        });
        w.tags();
      });
      w.tags();
    });
    const rs = response(8, ver, 7, (w) => {
      if (ver >= 3) w.i32(0);
      w.array([{ name: 'events', partitions: [4, 5] }], (w, t) => {
        w.str(t.name);
        w.array(t.partitions, (w, p) => w.i32(p).i16(p === 5 ? 22 : 0).tags());
        w.tags();
      });
      w.tags();
    });
    assert.equal(flex, ver >= 8);
    assert.deepEqual(exchange(rq, rs), [
      [`OffsetCommit v${ver} group=g1 events[4,5]`, '', 7],
      ['', 'ILLEGAL_GENERATION', 7],
    ], `v${ver}`);
  }
});

test('DeleteTopics v0 to v6: each topic\'s error (v5+: and its message; v6: and its id)', () => {
  for (let ver = 0; ver <= 6; ver++) {
    const rq = request(20, ver, 9, 'c', (w) => {
      if (ver >= 6) w.array(['x', 'y'], (w, t) => w.str(t).raw(Buffer.alloc(16)).tags());
      else w.array(['x', 'y'], (w, t) => w.str(t));
      w.i32(1000).tags();
    });
    const rs = response(20, ver, 9, (w) => {
      if (ver >= 1) w.i32(0);
      w.array(['x', 'y'], (w, t) => {
        w.str(t);
        if (ver >= 6) w.raw(Buffer.alloc(16, 2));
        w.i16(t === 'y' ? 41 : 0);
        if (ver >= 5) w.str(null);
        w.tags();
      });
      w.tags();
    });
    const got = exchange(rq, rs);
    assert.deepEqual(got[1], ['', 'NOT_CONTROLLER', 9], `v${ver}`);
  }
});

test('every API key has its own name; every error code from -1 has its own upper-case name; others are numbered', () => {
  const names = new Set<string>();
  for (let k = 0; k <= MAX_API_KEY; k++) {
    const n = apiName(k).toString('latin1');
    assert.match(n, /^[A-Z][A-Za-z]+$/, `api ${k}`);
    names.add(n);
  }
  assert.equal(names.size, MAX_API_KEY + 1);
  const spot: [number, string][] = [[24, 'AddPartitionsToTxn'], [28, 'TxnOffsetCommit'], [31, 'DeleteAcls'], [41, 'DescribeDelegationToken'], [49, 'AlterClientQuotas'], [59, 'FetchSnapshot'], [77, 'ShareGroupDescribe'], [81, 'RemoveRaftVoter']];
  for (const [k, n] of spot) assert.equal(apiName(k).toString('latin1'), n);
  assert.equal(apiName(MAX_API_KEY + 1).toString('latin1'), `api_key ${MAX_API_KEY + 1}`);
  assert.equal(apiName(-1).toString('latin1'), 'api_key -1');
  const errors = new Set<string>();
  let code = -1;
  for (; !errorName(code).startsWith('ERROR_'); code++) {
    assert.match(errorName(code), /^[A-Z][A-Z_]*[A-Z]$/, `error ${code}`);
    errors.add(errorName(code));
  }
  assert.equal(errors.size, code + 1);
  assert.ok(code > 133, `named errors end at ${code}`);
  const spotErrors: [number, string][] = [[1, 'OFFSET_OUT_OF_RANGE'], [2, 'CORRUPT_MESSAGE'], [5, 'LEADER_NOT_AVAILABLE'], [7, 'REQUEST_TIMED_OUT'], [10, 'MESSAGE_TOO_LARGE'], [13, 'NETWORK_EXCEPTION'], [25, 'UNKNOWN_MEMBER_ID'], [30, 'GROUP_AUTHORIZATION_FAILED'], [31, 'CLUSTER_AUTHORIZATION_FAILED'], [41, 'NOT_CONTROLLER'], [61, 'DELEGATION_TOKEN_AUTH_DISABLED'], [62, 'DELEGATION_TOKEN_NOT_FOUND'], [65, 'DELEGATION_TOKEN_AUTHORIZATION_FAILED'], [70, 'FETCH_SESSION_ID_NOT_FOUND'], [74, 'FENCED_LEADER_EPOCH'], [75, 'UNKNOWN_LEADER_EPOCH']];
  for (const [c, n] of spotErrors) assert.equal(errorName(c), n);
  assert.equal(errorName(-2), 'ERROR_-2');
});

test('TLS: a client\'s first chunk that is a TLS handshake record (22, 3, 0 to 4) is Encrypted; others are not', () => {
  for (const [first, tls] of [
    [[0x16, 0x03, 0x01], true],
    [[0x16, 0x03, 0x04], true],
    [[0x16, 0x03, 0x00], true],
    [[0x16, 0x03, 0x05], false],
    [[0x16, 0x02, 0x01], false],
    [[0x17, 0x03, 0x01], false],
    [[0x16, 0x03], false],
  ] as [number[], boolean][]) {
    const p = pair();
    const b = Buffer.from([...first, 0, 0x40, 1, 0, 0]);
    const chunk = first.length === 2 ? b.subarray(0, 2) : b;
    p.c.feed(Buffer.concat([Buffer.from([0x16, 3, 1]), chunk]), 3, 3 + chunk.length, 1, 0);
    assert.deepEqual(p.rec.resets.map((r) => r.reason), tls ? [ResetReason.Encrypted] : [], JSON.stringify(first));
  }
  // Only at the start: after a message, the same bytes are no TLS.
  const p = pair();
  const rq = metadataRequest(1, 1, ['a']);
  p.c.feed(rq, 0, rq.length, 1, 0);
  const hello = Buffer.from('16030100c4010000c00303', 'hex');
  p.c.feed(hello, 0, hello.length, 2, 0);
  assert.deepEqual(p.rec.resets.map((r) => r.reason).filter((r) => r === ResetReason.Encrypted), []);
});

const UUID = Buffer.from([0xfb, 0xef, 0xbe, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0xff, 0x3e]);

test('v13 Fetch and Produce name topics by id: the request line shows it in URL-safe base64, the response is read past it', () => {
  const id = UUID.toString('base64url');
  assert.equal(id.length, 22);
  for (const key of [0, 1]) {
    const rq = request(key, 13, 77, 'c', (w) => {
      if (key === 0) w.str(null).i16(1).i32(30000);
      else w.i32(-1).i32(250).i32(1).i32(52428800).i8(0).i32(0).i32(-1);
      w.array([UUID], (w, u) => {
        w.raw(u);
        w.array([0, 1], (w, p) => {
          w.i32(p);
          if (key === 0) w.bytes(Buffer.alloc(70, 0x61));
          else w.i32(0).i64(36).i32(-1).i64(-1).i32(1048576);
          w.tags();
        });
        w.tags();
      });
      if (key === 1) w.array([] as number[], () => {}).str('');
      w.tags();
    });
    const rs = response(key, 13, 77, (w) => {
      if (key === 1) w.i32(0).i16(0).i32(0);
      w.array([UUID], (w, u) => {
        w.raw(u);
        w.array([0, 1], (w, p) => {
          w.i32(p).i16(p === 1 ? 6 : 0).i64(100);
          if (key === 0) w.i64(-1).i64(0).array([] as number[], () => {}).str(null);
          else w.i64(100).i64(0).array([] as number[], () => {}).i32(-1).bytes(null);
          w.tags();
        });
        w.tags();
      });
      if (key === 0) w.i32(0);
      w.tags();
    });
    assert.deepEqual(exchange(rq, rs), [
      [key === 0 ? `Produce v13 ${id}[0,1]` : `Fetch v13 max_wait_ms=250 ${id}[0,1]`, '', 77],
      ['', 'NOT_LEADER_OR_FOLLOWER', 77],
    ], `key ${key}`);
  }
});

test('Metadata v13: the top-level error code, after the topics', () => {
  const rq = metadataRequest(13, 5, ['a']);
  const rs = Buffer.from(metadataResponse(13, 5, [{ id: 1, host: 'h', port: 9092 }], [{ name: 'a', partitions: [0] }]));
  // The top-level error is the int16 before the closing tagged fields (one byte).
  rs.writeInt16BE(31, rs.length - 3);
  assert.deepEqual(exchange(rq, rs)[1], ['', 'CLUSTER_AUTHORIZATION_FAILED', 5]);
});

test('TLS: a 3-byte first chunk that is a record header is enough; 2 bytes are not, whatever follows them in the buffer', () => {
  const three = pair();
  three.c.feed(Buffer.from([0x16, 0x03, 0x01]), 0, 3, 1, 0);
  assert.deepEqual(three.rec.resets.map((r) => r.reason), [ResetReason.Encrypted]);
  const two = pair();
  two.c.feed(Buffer.from([0x16, 0x03, 0x01, 0x00]), 0, 2, 1, 0);
  assert.deepEqual(two.rec.resets.map((r) => r.reason), []);
});

test('responses with and without a throttle time first: FindCoordinator, DescribeGroups, CreateTopics, DeleteGroups (from v0)', () => {
  const cases: [number, number, (w: import('../../helpers/kafka-wire').Wire) => void, (w: import('../../helpers/kafka-wire').Wire) => void, string][] = [];
  for (const ver of [0, 1, 2, 3]) {
    cases.push([10, ver, (w) => {
      w.str('g1');
      if (ver >= 1) w.i8(0);
    }, (w) => {
      if (ver >= 1) w.i32(0);
      w.i16(15);
      if (ver >= 1) w.str(null);
      w.i32(-1).str('').i32(-1);
    }, 'COORDINATOR_NOT_AVAILABLE']);
    cases.push([15, ver, (w) => w.array(['g1'], (w, g) => w.str(g)), (w) => {
      if (ver >= 1) w.i32(0);
      w.array(['g1'], (w, g) => w.i16(16).str(g).str('').str('').str('').array([] as number[], () => {}));
    }, 'NOT_COORDINATOR']);
    cases.push([19, ver, (w) => {
      w.array(['t'], (w, t) => w.str(t).i32(1).i16(1).array([] as number[], () => {}).array([] as number[], () => {}));
      w.i32(1000);
      if (ver >= 1) w.i8(0);
    }, (w) => {
      if (ver >= 2) w.i32(0);
      w.array(['t'], (w, t) => {
        w.str(t).i16(36);
        if (ver >= 1) w.str(null);
      });
    }, 'TOPIC_ALREADY_EXISTS']);
  }
  for (const ver of [0, 1]) {
    cases.push([42, ver, (w) => w.array(['g1', 'g2'], (w, g) => w.str(g)), (w) => {
      // DeleteGroups has its throttle time from v0.
      w.i32(0).array(['g1', 'g2'], (w, g) => w.str(g).i16(g === 'g1' ? 0 : 69));
    }, 'GROUP_ID_NOT_FOUND']);
  }
  for (const [key, ver, rq, rs, status] of cases) {
    const got = exchange(request(key, ver, 11, 'c', rq), response(key, ver, 11, rs));
    assert.deepEqual(got[1], ['', status, 11], `${apiName(key).toString('latin1')} v${ver}`);
  }
});

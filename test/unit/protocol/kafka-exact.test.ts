// The Kafka parsers at every version, where kafka.test.ts tries a few: the
// request line of Produce, Fetch and Metadata, and the error code of their
// responses put in the last field read (a field skipped at the wrong version
// moves it), every API and error name, and the TLS record test. Written for
// the survivors of `make mutate` (test/TESTING.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newPairedConnection } from '../../../src/pairing/connection';
import { KafkaParser } from '../../../src/protocol/kafka/parser';
import { MAX_API_KEY, apiName, errorName, isFlexible } from '../../../src/protocol/kafka/names';
import { kafkaParser, requestFields, requestTopics } from '../../../src/protocol/kafka';
import { ResetReason } from '../../../src/protocol/message';
import { FullRecorder } from '../../helpers/full-recorder';
import { apiVersionsRequest, apiVersionsResponse, fetchRequest, fetchResponse, metadataRequest, metadataResponse, produceRequest, produceResponse, request, response, type TopicParts } from '../../helpers/kafka-wire';

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

// ---------------------------------------------------------------- the whole-unit run of 2026-12-06 (test/TESTING.md)

test('ListOffsets v0 to v8: the request line, and the last partition\'s error read from the response (v0: its offsets array)', () => {
  for (let ver = 0; ver <= 8; ver++) {
    const rq = request(2, ver, 40 + ver, 'c', (w) => {
      w.i32(-1);
      if (ver >= 2) w.i8(0);
      w.array(TOPICS, (w, t) => {
        w.str(t.name);
        w.array(t.partitions, (w, p) => {
          w.i32(p);
          if (ver >= 4) w.i32(-1);
          w.i64(-1);
          if (ver === 0) w.i32(1);
          w.tags();
        });
        w.tags();
      });
      w.tags();
    });
    const rs = response(2, ver, 40 + ver, (w) => {
      if (ver >= 2) w.i32(0);
      w.array(TOPICS, (w, t) => {
        w.str(t.name);
        w.array(t.partitions, (w, p) => {
          w.i32(p).i16(p === 3 ? 6 : 0);
          if (ver === 0) w.array([5, 6, 7], (w, o) => w.i64(o));
          else w.i64(-1).i64(100);
          if (ver >= 4) w.i32(0);
          w.tags();
        });
        w.tags();
      });
      w.tags();
    });
    assert.deepEqual(exchange(rq, rs), [
      [`ListOffsets v${ver} orders[0,1] audit[3]`, '', 40 + ver],
      ['', 'NOT_LEADER_OR_FOLLOWER', 40 + ver],
    ], `v${ver}`);
  }
});

test('OffsetFetch v0 to v10: the group and topics (v8+: the first group\'s), the last partition\'s error or the group\'s', () => {
  for (let ver = 0; ver <= 10; ver++) {
    for (const groupError of ver >= 2 ? [0, 30] : [0]) {
      const topic = (w: import('../../helpers/kafka-wire').Wire): void => {
        if (ver >= 10) w.raw(UUID);
        else w.str('events');
      };
      const rq = request(9, ver, 60 + ver, 'c', (w) => {
        if (ver < 8) {
          w.str('g1');
          w.array([0], (w) => {
            topic(w);
            w.array([4, 5], (w, p) => w.i32(p));
            w.tags();
          });
        } else {
          w.array(['g1', 'g2'], (w, g) => {
            w.str(g);
            if (ver >= 9) w.str(null).i32(-1);
            w.array([0], (w) => {
              topic(w);
              w.array([4, 5], (w, p) => w.i32(p));
              w.tags();
            });
            w.tags();
          });
        }
        if (ver >= 7) w.i8(0);
        w.tags();
      });
      const body = (w: import('../../helpers/kafka-wire').Wire): void => {
        w.array([0], (w) => {
          topic(w);
          w.array([4, 5], (w, p) => {
            w.i32(p).i64(10);
            if (ver >= 5) w.i32(-1);
            w.str('').i16(p === 5 ? 22 : 0).tags();
          });
          w.tags();
        });
        if (ver >= 2) w.i16(groupError);
      };
      const rs = response(9, ver, 60 + ver, (w) => {
        if (ver >= 3) w.i32(0);
        if (ver >= 8) {
          w.array(['g1'], (w, g) => {
            w.str(g);
            body(w);
            w.tags();
          });
        } else body(w);
        w.tags();
      });
      const topicText = ver >= 10 ? UUID.toString('base64url') : 'events';
      assert.deepEqual(exchange(rq, rs), [
        [`OffsetFetch v${ver} group=g1 ${topicText}[4,5]`, '', 60 + ver],
        ['', groupError === 0 ? 'ILLEGAL_GENERATION' : 'GROUP_AUTHORIZATION_FAILED', 60 + ver],
      ], `v${ver} group error ${groupError}`);
    }
  }
});

test('responses of a throttle time then an error code: JoinGroup from v2, Heartbeat, SyncGroup and ListGroups from v1; InitProducerId, AddOffsetsToTxn, EndTxn always', () => {
  for (const [key, withThrottle] of [
    [11, [false, false, true]],
    [12, [false, true, true]],
    [14, [false, true, true]],
    [16, [false, true, true]],
    [22, [true, true, true]],
    [25, [true, true, true]],
    [26, [true, true, true]],
  ] as [number, boolean[]][]) {
    for (let ver = 0; ver <= 2; ver++) {
      const rq = request(key, ver, 5, 'c', (w) => {
        if (key === 11 || key === 12 || key === 14) w.str('g1');
        w.tags();
      });
      // After the error code, bytes that read as ILLEGAL_GENERATION (22) if the throttle time were skipped wrongly.
      const rs = response(key, ver, 5, (w) => {
        if (withThrottle[ver]) w.i32(7);
        w.i16(25).i32(0x00160016).tags();
      });
      assert.deepEqual(exchange(rq, rs)[1], ['', 'UNKNOWN_MEMBER_ID', 5], `${apiName(key).toString('latin1')} v${ver}`);
    }
  }
});

test('LeaveGroup v0 to v4: the group\'s error, and from v3 each member\'s', () => {
  for (let ver = 0; ver <= 4; ver++) {
    for (const memberError of [0, 25]) {
      const rq = request(13, ver, 8, 'c', (w) => {
        w.str('g1');
        if (ver < 3) w.str('m1');
        else w.array(['m1', 'm2'], (w, m) => w.str(m).str(null).tags());
        w.tags();
      });
      const rs = response(13, ver, 8, (w) => {
        if (ver >= 1) w.i32(0);
        w.i16(ver < 3 ? memberError : 0);
        if (ver >= 3) w.array(['m1', 'm2'], (w, m) => w.str(m).str(null).i16(m === 'm2' ? memberError : 0).tags());
        w.tags();
      });
      assert.deepEqual(exchange(rq, rs), [
        [`LeaveGroup v${ver} group=g1`, '', 8],
        ['', memberError === 0 ? 'OK' : 'UNKNOWN_MEMBER_ID', 8],
      ], `v${ver} ${memberError}`);
    }
  }
});

test('FindCoordinator v4 and v5: the first key named; each coordinator\'s error', () => {
  for (const ver of [4, 5]) {
    const rq = request(10, ver, 12, 'c', (w) => {
      w.i8(0).array(['g1', 'g2'], (w, k) => w.str(k)).tags();
    });
    const rs = response(10, ver, 12, (w) => {
      w.i32(0).array(['g1', 'g2'], (w, k) => w.str(k).i32(1).str('h').i32(9092).i16(k === 'g2' ? 15 : 0).str(null).tags()).tags();
    });
    assert.deepEqual(exchange(rq, rs), [
      [`FindCoordinator v${ver} group=g1`, '', 12],
      ['', 'COORDINATOR_NOT_AVAILABLE', 12],
    ], `v${ver}`);
  }
});

test('CreateTopics requests with assignments and configs (v0, v5): each topic named; DeleteTopics v6 by name or by id', () => {
  for (const ver of [0, 5]) {
    const rq = request(19, ver, 3, 'c', (w) => {
      w.array(['t1', 't2'], (w, t) => {
        w.str(t).i32(-1).i16(-1);
        w.array([0, 1], (w, p) => w.i32(p).array([1, 2, 3], (w, b) => w.i32(b)).tags());
        w.array(['retention.ms', 'cleanup.policy'], (w, c) => w.str(c).str('x').tags());
        w.tags();
      });
      w.i32(1000);
      if (ver >= 1) w.i8(0);
      w.tags();
    });
    const p = pair();
    p.c.feed(rq, 0, rq.length, 1, 0);
    assert.deepEqual(p.rec.seen.map((s) => s.text), [`CreateTopics v${ver} t1 t2`], `v${ver}`);
  }
  const rq = request(20, 6, 4, 'c', (w) => {
    w.array([0, 1], (w, i) => w.str(i === 0 ? 'x' : null).raw(UUID).tags());
    w.i32(1000).tags();
  });
  const p = pair();
  p.c.feed(rq, 0, rq.length, 1, 0);
  assert.deepEqual(p.rec.seen.map((s) => s.text), [`DeleteTopics v6 x ${UUID.toString('base64url')}`]);
});

test('requests waiting: more than 8 (the table grows, also after wrapping), answered in order or not; at most 4,096', () => {
  const p = pair();
  const send = (corr: number): void => {
    const rq = apiVersionsRequest(0, corr);
    p.c.feed(rq, 0, rq.length, 1, 0);
  };
  const answer = (corr: number, error: number): void => {
    const rs = apiVersionsResponse(0, corr, [[18, 0, 3]], error);
    p.s.feed(rs, 0, rs.length, 2, 0);
  };
  for (let c = 1; c <= 6; c++) send(c);
  for (let c = 1; c <= 4; c++) answer(c, 0);
  for (let c = 7; c <= 30; c++) send(c);
  // 5 and 6, then 7 to 30; answered 5, then 9 (7 and 8 are forgotten with it), then 7 (gone: an orphan), then 30.
  answer(5, 35);
  answer(9, 0);
  answer(7, 35);
  answer(30, 33);
  answer(12, 0);
  assert.deepEqual(p.rec.seen.filter((s) => !s.fromClient).map((s) => [s.matchId, s.statusText]), [
    [1, 'OK'], [2, 'OK'], [3, 'OK'], [4, 'OK'], [5, 'UNSUPPORTED_VERSION'], [9, 'OK'], [7, ''], [30, 'UNSUPPORTED_SASL_MECHANISM'], [12, ''],
  ]);
  // 4,097 waiting: the first is forgotten (its answer, the parser's first, is then no message start), the second still waits.
  const q = pair();
  for (let c = 1; c <= 4097; c++) {
    const rq = apiVersionsRequest(0, c);
    q.c.feed(rq, 0, rq.length, 1, 0);
  }
  for (const c of [1, 2, 4097]) {
    const rs = apiVersionsResponse(0, c, [], 0);
    q.s.feed(rs, 0, rs.length, 2, 0);
  }
  assert.deepEqual(q.rec.seen.filter((s) => !s.fromClient).map((s) => [s.matchId, s.statusText]), [[2, 'OK'], [4097, 'OK']]);
});

test('requestFields(): api key (signed), version and client id, cut to the detail\'s length; requestTopics(): the topic words only', () => {
  assert.equal(requestFields(Buffer.alloc(8), 4), null);
  assert.deepEqual(requestFields(Buffer.from([0, 3, 0, 12, 0]), 5), { apiKey: 3, api: 'Metadata', apiVersion: 12, clientId: '' });
  assert.deepEqual(requestFields(Buffer.from([0xff, 0xfe, 0xff, 0xff, 10, 0x61, 0x62, 0x63, 0x64, 0x65]), 8), { apiKey: -2, api: 'api_key -2', apiVersion: -1, clientId: 'abc' });
  assert.deepEqual(requestFields(Buffer.from([0, 1, 0, 4, 2, 0x61, 0x62, 0x63, 0x64]), 9), { apiKey: 1, api: 'Fetch', apiVersion: 4, clientId: 'ab' });
  assert.deepEqual(requestTopics('Produce v3 orders[0,1]  audit[3] max_wait_ms=5 [0] bad[1 cut... ...x plain'), ['orders', 'audit', '...x', 'plain']);
  // The factory: a parser for each direction.
  const rec = new FullRecorder();
  const conn = newPairedConnection();
  const c = kafkaParser(conn, true, rec);
  const rq = metadataRequest(1, 1, ['a']);
  c.feed(rq, 0, rq.length, 1, 0);
  assert.deepEqual(rec.seen.map((s) => s.text), ['Metadata v1 a']);
  // The last API key has a flexible version.
  assert.equal(isFlexible(MAX_API_KEY, 0), true);
  assert.equal(isFlexible(MAX_API_KEY + 1, 0), false);
});

test('after a reset: which chunks start a request (size, known key, version up to 40, client id length), read at the chunk\'s offset', () => {
  const head = (size: number, key: number, ver: number, idLen: number): Buffer => {
    const b = Buffer.alloc(14);
    b.writeUInt32BE(size, 0);
    b.writeInt16BE(key, 4);
    b.writeInt16BE(ver, 6);
    b.writeInt32BE(1, 8);
    b.writeInt16BE(idLen, 12);
    return b;
  };
  const apiV = (ver: number, clientId: string | null): Buffer => request(18, ver, 1, clientId, () => {});
  const run = (chunks: Buffer[]): string[] => {
    const p = pair();
    // Not a message: a size over 1 GiB. The parser waits for a chunk that starts one.
    p.c.feed(Buffer.from([0x7f, 0xff, 0xff, 0xff]), 0, 4, 1, 0);
    for (const c of chunks) {
      // Bytes before the chunk in the buffer that would look like a message start.
      const buf = Buffer.concat([head(20, 3, 1, 0), c]);
      p.c.feed(buf, 14, buf.length, 2, 0);
    }
    return p.rec.seen.map((s) => s.text);
  };
  assert.deepEqual(run([apiV(0, '')]), ['ApiVersions v0']);
  assert.deepEqual(run([apiV(40, 'c')]), ['ApiVersions v40']);
  assert.deepEqual(run([apiV(41, 'c')]), []);
  assert.deepEqual(run([apiV(0, null)]), ['ApiVersions v0']);
  assert.deepEqual(run([Buffer.concat([head(14, 18, 0, 4), Buffer.from('abcd')])]), ['ApiVersions v0']);
  assert.deepEqual(run([Buffer.concat([head(14, 18, 0, 5), Buffer.from('abcd')])]), []);
  assert.deepEqual(run([Buffer.concat([head(14, 18, 0, -2), Buffer.from('abcd')])]), []);
  assert.deepEqual(run([Buffer.concat([head(14, 93, 0, 0), Buffer.from('abcd')])]), []);
  assert.deepEqual(run([Buffer.concat([head(14, -1, 0, 0), Buffer.from('abcd')])]), []);
  assert.deepEqual(run([head(9, 18, 0, 0)]), []);
  const rq = apiV(1, 'client');
  assert.deepEqual(run([rq.subarray(0, 13), rq.subarray(13)]), []);
  // 1 GiB is a size (the message is then still to come); one more byte is not.
  assert.deepEqual(run([head(1 << 30, 18, 0, 0), apiV(0, '')]), []);
  assert.deepEqual(run([head((1 << 30) + 1, 18, 0, 0), apiV(0, '')]), ['ApiVersions v0']);
  // The response side: a size of 4 or more and the correlation id of a request waiting.
  const r = (chunks: Buffer[]): string[] => {
    const p = pair();
    const q = apiVersionsRequest(0, 7);
    p.c.feed(q, 0, q.length, 1, 0);
    p.s.feed(Buffer.from([0x7f, 0xff, 0xff, 0xff]), 0, 4, 2, 0);
    for (const c of chunks) {
      const buf = Buffer.concat([Buffer.from([0, 0, 0, 9, 0, 0, 0, 7]), c]);
      p.s.feed(buf, 8, buf.length, 3, 0);
    }
    return p.rec.seen.filter((s) => !s.fromClient).map((s) => `${s.matchId} ${s.statusText}`);
  };
  assert.deepEqual(r([apiVersionsResponse(0, 7, [], 0)]), ['7 OK']);
  assert.deepEqual(r([apiVersionsResponse(0, 8, [], 0)]), []);
  assert.deepEqual(r([Buffer.from([0, 0, 0, 3, 0, 0, 0, 7])]), []);
  assert.deepEqual(r([Buffer.from([0, 0, 0, 4, 0, 0, 0, 7])]), ['7 ']);
});

test('the first message, cut by a gap: its key and version (4 bytes) must be there and be Kafka\'s; cut inside its header it is malformed', () => {
  const rq = request(18, 0, 1, 'client', () => {});
  for (const [k, resets] of [
    [3, []],
    [4, [ResetReason.Malformed]],
    [6, [ResetReason.Malformed]],
    [9, [ResetReason.Malformed]],
    [10, [ResetReason.Malformed]],
  ] as [number, ResetReason[]][]) {
    const p = pair();
    p.c.feed(rq, 0, 4 + k, 1, 0);
    assert.equal(p.c.skip(rq.length - 4 - k, 2, 0), true);
    assert.deepEqual([p.rec.seen, p.rec.resets.map((x) => x.reason)], [[], resets], `${k} bytes`);
  }
  // A version past 40, or a client id longer than the message, cut after 10 bytes: quietly not a message.
  for (const [ver, idLen] of [
    [41, 6],
    [0, 7],
    [0, -2],
  ]) {
    const b = Buffer.from(rq);
    b.writeInt16BE(ver, 6);
    b.writeInt16BE(idLen, 12);
    const p = pair();
    p.c.feed(b, 0, 14, 1, 0);
    assert.equal(p.c.skip(b.length - 14, 2, 0), true);
    assert.deepEqual(p.rec.resets, [], `v${ver} idLen ${idLen}`);
  }
  // A first response of its correlation id alone (4 bytes), answering a request waiting.
  const p = pair();
  const q = apiVersionsRequest(0, 9);
  p.c.feed(q, 0, q.length, 1, 0);
  p.s.feed(Buffer.from([0, 0, 0, 4, 0, 0, 0, 9]), 0, 8, 2, 0);
  assert.deepEqual(p.rec.seen.filter((s) => !s.fromClient).map((s) => [s.matchId, s.statusText]), [[9, '']]);
});

test('reset(): the request side waits for a message start; the response side also forgets the requests waiting; flushPartial() reports nothing', () => {
  const p = pair();
  const a = apiVersionsRequest(0, 1);
  p.c.feed(a, 0, 6, 1, 0);
  p.c.reset();
  // The rest of the cut message is not a message start: skipped; the next request is read.
  p.c.feed(a, 6, a.length, 2, 0);
  const b = apiVersionsRequest(0, 2);
  p.c.feed(b, 0, b.length, 3, 0);
  assert.equal(p.c.flushPartial(), false);
  p.s.reset();
  const rs = apiVersionsResponse(0, 2, [], 0);
  p.s.feed(rs, 0, rs.length, 4, 0);
  const c = apiVersionsRequest(0, 3);
  p.c.feed(c, 0, c.length, 5, 0);
  const rs3 = apiVersionsResponse(0, 3, [], 35);
  p.s.feed(rs3, 0, rs3.length, 6, 0);
  assert.deepEqual(p.rec.seen.map((s) => [s.fromClient, s.matchId, s.statusText]), [[true, 2, ''], [true, 3, ''], [false, 3, 'UNSUPPORTED_VERSION']]);
  assert.deepEqual(p.rec.resets, []);
  // The request side's reset() leaves the requests waiting.
  const w = pair();
  const q9 = apiVersionsRequest(0, 9);
  w.c.feed(q9, 0, q9.length, 1, 0);
  w.c.reset();
  const r9 = apiVersionsResponse(0, 9, [], 0);
  w.s.feed(r9, 0, r9.length, 2, 0);
  assert.deepEqual(w.rec.seen.map((s) => [s.matchId, s.statusText]), [[9, ''], [9, 'OK']]);
  // After TLS, reset() keeps the connection encrypted (the shared state says so).
  const t = pair();
  t.c.feed(Buffer.from([0x16, 0x03, 0x01, 0, 5]), 0, 5, 1, 0);
  t.c.reset();
  t.c.feed(b, 0, b.length, 2, 0);
  assert.deepEqual([t.rec.seen, t.rec.resets.map((r) => r.reason)], [[], [ResetReason.Encrypted]]);
});

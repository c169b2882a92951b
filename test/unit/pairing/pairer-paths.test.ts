// The Pairer's less travelled paths, each with exact counters and the exact
// transaction: RESP2 pub/sub on a subscribed connection, a response that
// comes before its request's end, long polls and incomplete answers, reset
// reasons, in flight versus unanswered at the capture's end, fields of the
// reused Transaction reset between uses, and ports speaking other protocols.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newPairedConnection, type PairedConnection } from '../../../src/pairing/connection';
import { Pairer } from '../../../src/pairing/pairer';
import { TxStatus, type Transaction } from '../../../src/pairing/transaction';
import { MessageInfo, MessageKind, ResetReason, type StreamParser } from '../../../src/protocol/message';

interface Tx {
  protocol: string;
  status: TxStatus;
  text: string;
  latencyNs: number;
  incomplete: boolean;
  inFlight: boolean;
  longPoll: boolean;
  statusCode: number;
  matchId: number;
  detail: string;
}

function pairer(protocol = 'redis', timeoutSec = 10, ports: Map<number, string> | null = null): { p: Pairer; seen: Tx[] } {
  const seen: Tx[] = [];
  const p = new Pairer(
    protocol,
    {
      transaction(tx: Transaction) {
        assert.ok(Buffer.isBuffer(tx.detail));
        seen.push({
          protocol: tx.protocol,
          status: tx.status,
          text: tx.requestText(),
          latencyNs: tx.latencyNs,
          incomplete: tx.incomplete,
          inFlight: tx.inFlight,
          longPoll: tx.longPoll,
          statusCode: tx.statusCode,
          matchId: tx.matchId,
          detail: tx.detail.toString('latin1', 0, tx.detailLen),
        });
      },
    },
    timeoutSec,
    ports,
  );
  return { p, seen };
}

function conn(proto = 6, sport = 6379): PairedConnection {
  const c = newPairedConnection();
  c.proto = proto;
  c.sport = sport;
  return c;
}

function msg(sec: number, nsec: number, text = '', opts: Partial<Pick<MessageInfo, 'kind' | 'matchId' | 'incomplete' | 'longPoll' | 'status' | 'isError'>> & { detail?: string } = {}): MessageInfo {
  const m = new MessageInfo();
  m.begin(sec, nsec);
  m.endSec = sec;
  m.endNsec = nsec;
  m.bytes = 10;
  Object.assign(m, { ...opts, detail: m.detail });
  for (const b of Buffer.from(text)) m.appendPreview(b);
  if (opts.detail !== undefined) {
    m.detail.write(opts.detail, 'latin1');
    m.detailLen = opts.detail.length;
  }
  return m;
}

const counts = (p: Pairer) => {
  const c = p.counters;
  return { requests: c.requests, responses: c.responses, paired: c.paired, orphans: c.orphanResponses, pushes: c.pushes, noReply: c.noReply };
};

test('RESP2 pub/sub: on a subscribed connection messages are pushes, a confirmation answers its SUBSCRIBE, extra ones are pushes', () => {
  const { p, seen } = pairer('redis');
  const c = conn();
  // Before subscribing, an array starting "message" is an answer like any other.
  p.message(c, true, msg(1, 0, 'LRANGE l 0 -1'));
  p.message(c, false, msg(1, 5, 'message'));
  assert.deepEqual(seen.map((s) => s.text), ['LRANGE l 0 -1']);
  p.message(c, true, msg(1, 10, 'SUBSCRIBE a b'));
  assert.equal(c.subscribed, true);
  p.message(c, false, msg(1, 20, 'subscribe')); // answers SUBSCRIBE
  p.message(c, false, msg(1, 21, 'subscribe')); // the second channel's: a push
  p.message(c, false, msg(1, 30, 'message'));
  p.message(c, false, msg(1, 31, 'pmessage'));
  assert.deepEqual(seen.map((s) => [s.text, s.latencyNs]), [['LRANGE l 0 -1', 5], ['SUBSCRIBE a b', 10]]);
  assert.deepEqual(counts(p), { requests: 2, responses: 2, paired: 2, orphans: 0, pushes: 3, noReply: 0 });
  // A reply with no preview, and an interim message, are neither.
  p.message(c, true, msg(1, 40, 'PING'));
  p.message(c, false, msg(1, 41, '', { kind: MessageKind.Interim }));
  p.message(c, false, msg(1, 45, ''));
  assert.deepEqual(seen.map((s) => s.text), ['LRANGE l 0 -1', 'SUBSCRIBE a b', 'PING']);
  // A push kind on a subscribed connection with nothing waiting is a push.
  p.message(c, false, msg(1, 50, 'message', { kind: MessageKind.Push }));
  assert.deepEqual(counts(p), { requests: 3, responses: 3, paired: 3, orphans: 0, pushes: 4, noReply: 0 });
  // PUNSUBSCRIBE alone does not subscribe a connection.
  const d = conn();
  p.message(d, true, msg(2, 0, 'PUNSUBSCRIBE'));
  assert.equal(d.subscribed, false);
});

test('a response before its request ended answers the request the parser still held', () => {
  const { p, seen } = pairer('http');
  const c = conn();
  let flushed = 0;
  const parser: StreamParser = {
    feed() {},
    skip: () => false,
    reset() {},
    flushPartial() {
      flushed++;
      if (flushed > 1) return false;
      p.message(c, true, msg(3, 100, 'POST /upload', { incomplete: true }));
      return true;
    },
  };
  c.requestParser = parser;
  p.message(c, false, msg(3, 400, '', { status: 413, isError: true }));
  assert.deepEqual(seen.map((s) => [s.text, s.latencyNs, s.status, s.statusCode]), [['POST /upload', 300, TxStatus.Error, 413]]);
  // Nothing held back: an orphan.
  p.message(c, false, msg(3, 500));
  assert.deepEqual([flushed, p.counters.orphanResponses], [2, 1]);
  // A request waiting: the parser is not asked.
  p.message(c, true, msg(3, 600, 'GET /'));
  p.message(c, false, msg(3, 700, '', { status: 200 }));
  assert.equal(flushed, 2);
  assert.deepEqual(seen.map((s) => s.text), ['POST /upload', 'GET /']);
});

test('incomplete answers and long polls are counted and marked; the next transaction is not', () => {
  const { p, seen } = pairer('kafka');
  const c = conn();
  p.message(c, true, msg(1, 0, 'Fetch', { matchId: 1 }));
  p.message(c, true, msg(1, 1, 'Fetch', { matchId: 2 }));
  p.message(c, true, msg(1, 2, 'Metadata', { matchId: 3 }));
  p.message(c, false, msg(1, 10, '', { matchId: 1, longPoll: true, status: 0 }));
  p.message(c, false, msg(1, 20, '', { matchId: 2, incomplete: true, status: 1 }));
  p.message(c, false, msg(1, 30, '', { matchId: 3, status: 0 }));
  assert.deepEqual(
    seen.map((s) => [s.matchId, s.longPoll, s.incomplete, s.statusCode]),
    [
      [1, true, false, 0],
      [2, false, true, 1],
      [3, false, false, 0],
    ],
  );
  assert.deepEqual([p.counters.longPolls, p.counters.incomplete, p.counters.paired], [1, 1, 3]);
});

test('resets: encrypted is counted alone and gives up on what waits; a gap and malformed data each have their counter', () => {
  const { p, seen } = pairer('redis');
  const c = conn();
  p.message(c, true, msg(1, 0, 'GET a'));
  // The rest of the connection is encrypted: the request parsed before the switch can never be answered in the clear.
  p.reset(c, false, ResetReason.Encrypted);
  assert.deepEqual([p.counters.encrypted, p.counters.gaps, p.counters.malformed, c.pending.count], [1, 0, 0, 0]);
  assert.deepEqual(seen.map((s) => [s.text, s.status]), [['GET a', TxStatus.NoResponse]]);
  p.message(c, true, msg(2, 0, 'GET b'));
  p.reset(c, true, ResetReason.Gap);
  assert.deepEqual([p.counters.encrypted, p.counters.gaps, p.counters.malformed, c.pending.count], [1, 1, 0, 1]);
  p.reset(c, true, ResetReason.Malformed);
  assert.deepEqual([p.counters.encrypted, p.counters.gaps, p.counters.malformed, c.pending.count], [1, 1, 1, 1]);
  c.lastSeen = 5;
  p.reset(c, false, ResetReason.Gap);
  assert.deepEqual([p.counters.gaps, p.counters.unanswered, c.pending.count], [2, 2, 0]);
  assert.deepEqual(seen.map((s) => [s.text, s.status]), [['GET a', TxStatus.NoResponse], ['GET b', TxStatus.NoResponse]]);
});

test('at the capture\'s end, requests younger than the timeout are in flight, the rest unanswered; the timeout itself is not in flight', () => {
  const { p, seen } = pairer('redis', 2);
  const c = conn();
  p.message(c, true, msg(10, 0, 'old'));
  p.message(c, true, msg(10, 1, 'exact'));
  p.message(c, true, msg(11, 0, 'young'));
  p.stop(c, 12, 1);
  assert.deepEqual(
    seen.map((s) => [s.text, s.inFlight, s.status, s.latencyNs]),
    [
      ['old', false, TxStatus.NoResponse, 2e9 + 1],
      ['exact', false, TxStatus.NoResponse, 2e9],
      ['young', true, TxStatus.NoResponse, 1e9 + 1],
    ],
  );
  assert.deepEqual([p.counters.inFlight, p.counters.unanswered, c.pending.count], [1, 2, 0]);
  // The next paired transaction is not in flight.
  p.message(c, true, msg(20, 0, 'GET'));
  p.message(c, false, msg(20, 5));
  assert.equal(seen[3].inFlight, false);
});

test('the reused transaction: a given-up request after an answered one has no status code, detail, long poll or incomplete mark', () => {
  const { p, seen } = pairer('kafka');
  const c = conn();
  p.message(c, true, msg(1, 0, 'Fetch', { matchId: 1, detail: 'topic-a' }));
  p.message(c, false, msg(1, 10, '', { matchId: 1, status: 7, longPoll: true, incomplete: true }));
  p.message(c, true, msg(1, 20, 'Metadata', { matchId: 2 }));
  p.drain(c, 1, 30);
  assert.deepEqual(
    seen.map((s) => [s.text, s.statusCode, s.detail, s.longPoll, s.incomplete, s.matchId]),
    [
      ['Fetch', 7, 'topic-a', true, true, 1],
      ['Metadata', -1, '', false, false, 2],
    ],
  );
  // Paired without detail after one with it: empty.
  p.message(c, true, msg(2, 0, 'Fetch', { matchId: 3, detail: 'x' }));
  p.message(c, false, msg(2, 5, '', { matchId: 3 }));
  p.message(c, true, msg(2, 10, 'ApiVersions', { matchId: 4 }));
  p.message(c, false, msg(2, 15, '', { matchId: 4 }));
  assert.deepEqual(seen.slice(2).map((s) => [s.text, s.detail]), [['Fetch', 'x'], ['ApiVersions', '']]);
});

test('given up on before its own start (a reset with an older clock): as of its start, latency zero', () => {
  const { p, seen } = pairer('redis');
  const c = conn();
  p.message(c, true, msg(7, 100, 'a'));
  p.drain(c, 6, 900);
  p.message(c, true, msg(7, 100, 'b'));
  p.drain(c, 7, 99);
  p.message(c, true, msg(7, 100, 'c'));
  p.drain(c, 7, 100);
  assert.deepEqual(seen.map((s) => [s.text, s.latencyNs]), [['a', 0], ['b', 0], ['c', 0]]);
});

test('ports speaking other protocols: each transaction carries its port\'s protocol, and Redis rules apply on the Redis port only', () => {
  const ports = new Map([
    [6379, 'redis'],
    [11211, 'memcached'],
    [80, 'http'],
  ]);
  const { p, seen } = pairer('redis', 10, ports);
  const r = conn(6, 6379);
  const m = conn(6, 11211);
  const h = conn(6, 80);
  p.message(h, true, msg(1, 0, 'CLIENT REPLY OFF')); // not Redis: a request like any other
  p.message(h, false, msg(1, 5));
  p.message(r, true, msg(1, 10, 'CLIENT REPLY SKIP'));
  p.message(r, true, msg(1, 11, 'GET a'));
  p.message(r, true, msg(1, 12, 'GET b'));
  p.message(r, false, msg(1, 15));
  // memcached by opaque over TCP drops the quiet ones before the match.
  p.message(m, true, msg(1, 20, 'getq a', { matchId: 1 }));
  p.message(m, true, msg(1, 21, 'noop', { matchId: 2 }));
  p.message(m, false, msg(1, 25, '', { matchId: 2 }));
  p.message(h, true, msg(1, 30, 'GET /'));
  p.drain(h, 1, 40); // given up on: still http
  p.message(r, true, msg(1, 50, 'GET c'));
  p.drain(r, 1, 60);
  assert.deepEqual(
    seen.map((s) => [s.protocol, s.text]),
    [
      ['http', 'CLIENT REPLY OFF'],
      ['redis', 'GET b'],
      ['memcached', 'noop'],
      ['http', 'GET /'],
      ['redis', 'GET c'],
    ],
  );
  assert.equal(p.counters.noReply, 3); // SKIP, GET a, and the quiet getq
  // Without other ports, a port's number means nothing.
  const one = pairer('memcached');
  one.p.message(r, true, msg(1, 0, 'get a'));
  one.p.message(r, false, msg(1, 1));
  assert.deepEqual(one.seen.map((s) => s.protocol), ['memcached']);
});

test('ports of other protocols: DNS over TCP on its port pairs by id without dropping earlier queries; a request given up on later keeps its port\'s protocol', () => {
  const ports = new Map([
    [6379, 'redis'],
    [53, 'dns'],
  ]);
  const { p, seen } = pairer('redis', 10, ports);
  const d = conn(6, 53);
  const r = conn(6, 6379);
  p.message(d, true, msg(1, 0, 'a.example A', { matchId: 1 }));
  p.message(d, true, msg(1, 1, 'b.example A', { matchId: 2 }));
  p.message(d, false, msg(1, 10, '', { matchId: 2 }));
  p.message(d, false, msg(1, 20, '', { matchId: 1 }));
  assert.deepEqual(seen.map((s) => [s.protocol, s.text]), [['dns', 'b.example A'], ['dns', 'a.example A']]);
  assert.deepEqual([p.counters.noReply, p.counters.orphanResponses], [0, 0]);
  p.message(d, true, msg(2, 0, 'c.example A', { matchId: 3 }));
  p.message(r, true, msg(2, 1, 'GET a'));
  p.drain(d, 2, 5);
  assert.deepEqual(seen[2].protocol, 'dns');
});

test('a request\'s detail is swapped with a buffer the parser can write the next one into', () => {
  const { p, seen } = pairer('kafka');
  const c = conn();
  const m = msg(1, 0, 'Fetch', { matchId: 1, detail: 'topic-a' });
  p.message(c, true, m);
  assert.ok(Buffer.isBuffer(m.detail));
  assert.equal(m.detail.length, 128);
  assert.equal(m.detailLen, 0);
  m.begin(1, 5);
  m.matchId = 2;
  m.detail.write('topic-b', 'latin1');
  m.detailLen = 7;
  m.appendPreview(0x46);
  p.message(c, true, m);
  p.message(c, false, msg(1, 10, '', { matchId: 1 }));
  p.message(c, false, msg(1, 11, '', { matchId: 2 }));
  assert.deepEqual(seen.map((s) => s.detail), ['topic-a', 'topic-b']);
});

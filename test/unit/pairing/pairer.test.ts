// Pairing on its own: the request queue (a ring that wraps and grows, pairing
// by id, the shared slot budget and its documented sizes) and the Pairer
// (latency to the response's first byte, by id or in order, what it counts,
// resets, timeouts), with messages handed to it directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newPairedConnection, type PairedConnection } from '../../../src/pairing/connection';
import { MAX_PENDING, MAX_SLOTS_TOTAL, RequestQueue, SlotBudget } from '../../../src/pairing/queue';
import { Pairer } from '../../../src/pairing/pairer';
import { TxStatus, type Transaction } from '../../../src/pairing/transaction';
import { MessageInfo, MessageKind, PREVIEW_MAX, ResetReason } from '../../../src/protocol/message';

test('the documented sizes: 4,096 waiting requests per connection, 131,072 in all', () => {
  assert.equal(MAX_PENDING, 4096);
  assert.equal(MAX_SLOTS_TOTAL, 131_072);
  assert.equal(new SlotBudget().max, 131_072);
  assert.equal(new Pairer('redis', { transaction() {} }, 10).slots.max, 131_072);
});

/** Pushes requests numbered by startSec; shifts return them in order. */
function push(q: RequestQueue, budget: SlotBudget, id: number, matchId = -1): void {
  const s = q.push(budget)!;
  s.startSec = id;
  s.matchId = matchId;
}
const drain = (q: RequestQueue): number[] => {
  const out: number[] = [];
  for (let s = q.shift(); s !== null; s = q.shift()) out.push(s.startSec);
  return out;
};

test('queue: a ring that wrapped keeps its order when it grows', () => {
  const budget = new SlotBudget();
  const q = new RequestQueue();
  push(q, budget, 1);
  push(q, budget, 2); // two slots
  assert.equal(q.shift()!.startSec, 1);
  push(q, budget, 3); // wraps to index 0
  push(q, budget, 4); // full: grows to four, unwrapping 2, 3
  push(q, budget, 5);
  assert.equal(budget.held, 4);
  assert.equal(q.count, 4);
  assert.deepEqual(drain(q), [2, 3, 4, 5]);
  assert.equal(q.peek(), null);
  assert.equal(q.shift(), null);
});

test('queue: wrapping and growing again and again, every request comes out in order', () => {
  const budget = new SlotBudget();
  const q = new RequestQueue();
  const out: number[] = [];
  let next = 0;
  for (let round = 0; round < 300; round++) {
    push(q, budget, next++);
    push(q, budget, next++);
    out.push(q.shift()!.startSec);
  }
  out.push(...drain(q));
  assert.deepEqual(out, Array.from({ length: 600 }, (_, i) => i));
  assert.equal(budget.held, 0, 'an empty queue of more than 16 slots gives them all back');
});

test('queue: an empty queue keeps up to 16 slots, and gives back more', () => {
  const budget = new SlotBudget();
  const q = new RequestQueue();
  for (let i = 0; i < 16; i++) push(q, budget, i);
  assert.equal(budget.held, 16);
  drain(q);
  assert.equal(budget.held, 16, '16 slots are kept for the next burst');
  for (let i = 0; i < 17; i++) push(q, budget, i);
  assert.equal(budget.held, 32);
  drain(q);
  assert.equal(budget.held, 0);
  q.release();
  assert.equal(budget.held, 0, 'releasing twice gives nothing back twice');
});

test('queue: growth doubles up to MAX_PENDING, then the oldest goes', () => {
  const budget = new SlotBudget();
  const q = new RequestQueue();
  const sizes: number[] = [];
  for (let i = 0; i < MAX_PENDING + 1; i++) {
    push(q, budget, i);
    if (sizes[sizes.length - 1] !== budget.held) sizes.push(budget.held);
  }
  assert.deepEqual(sizes, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]);
  assert.equal(q.droppedOnPush, true);
  assert.equal(q.count, 4096);
  assert.equal(q.peek()!.startSec, 1);
});

test('queue: a budget of 131,072 slots is shared: 32 connections of 4,096 spend it, the 33rd gets none', () => {
  const budget = new SlotBudget();
  const queues = Array.from({ length: 33 }, () => new RequestQueue());
  for (let c = 0; c < 32; c++) for (let i = 0; i < MAX_PENDING; i++) push(queues[c], budget, i);
  assert.equal(budget.held, 131_072);
  assert.equal(queues[32].push(budget), null);
  assert.equal(queues[32].droppedOnPush, false);
  // One more on a full queue drops its own oldest instead.
  push(queues[0], budget, 99_999);
  assert.equal(queues[0].droppedOnPush, true);
  assert.equal(queues[0].count, 4096);
});

test('queue: takeById takes the matching request and keeps the others in order, also across the wrap', () => {
  const budget = new SlotBudget();
  const q = new RequestQueue();
  push(q, budget, 0, 100);
  push(q, budget, 1, 101);
  q.shift(); // head at index 1
  push(q, budget, 2, 102); // wraps
  push(q, budget, 3, 103); // grows
  push(q, budget, 4, 104);
  assert.equal(q.takeById(103, false)!.startSec, 3);
  assert.equal(q.dropped, 0);
  assert.equal(q.takeById(999, false), null);
  assert.deepEqual(drain(q), [1, 2, 4]);

  for (let i = 10; i < 15; i++) push(q, budget, i, i);
  assert.equal(q.takeById(13, true)!.startSec, 13);
  assert.equal(q.dropped, 3, 'the three before it were answered by silence');
  assert.deepEqual(drain(q), [14]);
  // The first one matches: nothing dropped.
  push(q, budget, 20, 20);
  push(q, budget, 21, 21);
  assert.equal(q.takeById(20, true)!.startSec, 20);
  assert.equal(q.dropped, 0);
  assert.equal(q.count, 1);
  q.clear();
  assert.equal(q.count, 0);
  assert.equal(q.peek(), null);
});

// ---------------------------------------------------------------- the Pairer

interface Seen {
  status: TxStatus;
  text: string;
  latencyNs: number;
  completeNs: number;
  req: [number, number];
  rsp: [number, number];
  bytes: [number, number];
  statusText: string;
}

function pairer(protocol = 'redis', timeoutSec = 10): { p: Pairer; seen: Seen[] } {
  const seen: Seen[] = [];
  const p = new Pairer(protocol, {
    transaction(tx: Transaction) {
      assert.equal(tx.protocol, protocol);
      assert.equal(tx.commandId, -1);
      seen.push({
        status: tx.status,
        text: tx.requestText(),
        latencyNs: tx.latencyNs,
        completeNs: tx.completeNs,
        req: [tx.reqSec, tx.reqNsec],
        rsp: [tx.rspSec, tx.rspNsec],
        bytes: [tx.reqBytes, tx.rspBytes],
        statusText: tx.statusText,
      });
    },
  }, timeoutSec);
  return { p, seen };
}

function conn(proto = 6): PairedConnection {
  const c = newPairedConnection();
  c.proto = proto;
  return c;
}

interface Msg {
  start: [number, number];
  end?: [number, number];
  text?: string;
  bytes?: number;
  kind?: MessageKind;
  matchId?: number;
  isError?: boolean;
  statusText?: string;
}

function msg(m: Msg): MessageInfo {
  const info = new MessageInfo();
  info.begin(m.start[0], m.start[1]);
  const end = m.end ?? m.start;
  info.endSec = end[0];
  info.endNsec = end[1];
  info.bytes = m.bytes ?? 10;
  info.kind = m.kind ?? MessageKind.Normal;
  info.matchId = m.matchId ?? -1;
  info.isError = m.isError ?? false;
  info.statusText = m.statusText ?? '';
  for (const b of Buffer.from(m.text ?? '')) info.appendPreview(b);
  return info;
}

test('pairer: latency runs from the request\'s first byte to the response\'s first byte; complete to its last', () => {
  const { p, seen } = pairer();
  const c = conn();
  p.message(c, true, msg({ start: [100, 900_000_000], end: [100, 950_000_000], text: 'GET k', bytes: 22 }));
  p.message(c, false, msg({ start: [101, 200_000_000], end: [101, 700_000_000], bytes: 9, statusText: 'x' }));
  assert.deepEqual(seen, [{
    status: TxStatus.Ok, text: 'GET k', latencyNs: 300_000_000, completeNs: 800_000_000,
    req: [100, 900_000_000], rsp: [101, 200_000_000], bytes: [22, 9], statusText: 'x',
  }]);
  assert.deepEqual({ ...p.counters }, { requests: 1, responses: 1, paired: 1, orphanResponses: 0, unanswered: 0, inFlight: 0, pushes: 0, noReply: 0, incomplete: 0, malformed: 0, gaps: 0, encrypted: 0, longPolls: 0, overflow: 0 });
});

test('pairer: an error response is an error; a response older than the oldest request is an orphan', () => {
  const { p, seen } = pairer();
  const c = conn();
  p.message(c, true, msg({ start: [10, 500], text: 'A' }));
  p.message(c, false, msg({ start: [10, 499] }));
  assert.equal(seen.length, 0);
  assert.equal(p.counters.orphanResponses, 1);
  p.message(c, false, msg({ start: [10, 500], isError: true }));
  assert.deepEqual(seen.map((s) => [s.text, s.status, s.latencyNs]), [['A', TxStatus.Error, 0]]);
  p.message(c, false, msg({ start: [11, 0] }));
  assert.equal(p.counters.orphanResponses, 2, 'nothing waits');
  assert.equal(p.counters.responses, 3);
  assert.equal(p.counters.paired, 1);
});

test('pairer: by id, out of order (DNS over UDP); a lost answer is not answered by silence', () => {
  const { p, seen } = pairer('dns');
  const c = conn(17);
  p.message(c, true, msg({ start: [1, 0], text: 'one', matchId: 1 }));
  p.message(c, true, msg({ start: [1, 100], text: 'two', matchId: 2 }));
  p.message(c, true, msg({ start: [1, 200], text: 'three', matchId: 3 }));
  p.message(c, false, msg({ start: [1, 1000], matchId: 3 }));
  p.message(c, false, msg({ start: [1, 2000], matchId: 1 }));
  p.message(c, false, msg({ start: [1, 3000], matchId: 9 }));
  assert.deepEqual(seen.map((s) => [s.text, s.latencyNs]), [['three', 800], ['one', 2000]]);
  assert.equal(p.counters.orphanResponses, 1);
  assert.equal(p.counters.noReply, 0);
  assert.equal(c.pending.count, 1);
});

test('pairer: memcached by opaque over TCP: requests before the matched one were quiet, counted as no reply', () => {
  const { p, seen } = pairer('memcached');
  const tcp = conn(6);
  for (let i = 0; i < 3; i++) p.message(tcp, true, msg({ start: [1, i], text: `q${i}`, matchId: i }));
  p.message(tcp, false, msg({ start: [1, 50], matchId: 2 }));
  assert.deepEqual(seen.map((s) => s.text), ['q2']);
  assert.equal(p.counters.noReply, 2);
  assert.equal(tcp.pending.count, 0);
  // Over UDP they were lost, not quiet: still waiting.
  const udp = conn(17);
  for (let i = 0; i < 3; i++) p.message(udp, true, msg({ start: [1, i], text: `u${i}`, matchId: i }));
  p.message(udp, false, msg({ start: [1, 50], matchId: 2 }));
  assert.equal(p.counters.noReply, 2);
  assert.equal(udp.pending.count, 2);
});

test('pairer: requests that expect no reply are counted, not queued', () => {
  const { p } = pairer('memcached');
  const c = conn();
  p.message(c, true, msg({ start: [1, 0], kind: MessageKind.NoReply }));
  assert.deepEqual([p.counters.noReply, p.counters.requests, c.pending.count], [1, 0, 0]);
  const r = pairer('redis');
  r.p.message(c, true, msg({ start: [1, 0], text: 'CLIENT REPLY OFF' }));
  r.p.message(c, true, msg({ start: [1, 1], text: 'SET a b' }));
  assert.deepEqual([r.p.counters.noReply, r.p.counters.requests, c.pending.count], [2, 0, 0]);
  r.p.message(c, true, msg({ start: [1, 2], text: 'CLIENT REPLY ON' }));
  assert.deepEqual([r.p.counters.noReply, r.p.counters.requests, c.pending.count], [2, 1, 1]);
});

test('pairer: a push answers a waiting SUBSCRIBE, and is only a push otherwise', () => {
  const { p, seen } = pairer('redis');
  const c = conn();
  p.message(c, false, msg({ start: [1, 0], kind: MessageKind.Push }));
  assert.deepEqual([p.counters.pushes, p.counters.responses], [1, 0]);
  p.message(c, true, msg({ start: [1, 10], text: 'GET k' }));
  p.message(c, false, msg({ start: [1, 20], kind: MessageKind.Push }));
  assert.deepEqual([p.counters.pushes, p.counters.responses, seen.length], [2, 0, 0]);
  p.message(c, false, msg({ start: [1, 30] }));
  p.message(c, true, msg({ start: [1, 40], text: 'subscribe news' }));
  p.message(c, false, msg({ start: [1, 45], kind: MessageKind.Push }));
  assert.deepEqual(seen.map((s) => [s.text, s.latencyNs]), [['GET k', 20], ['subscribe news', 5]]);
  assert.deepEqual([p.counters.pushes, p.counters.responses], [2, 2]);
  // Not for another protocol: no subscribe there.
  const h = pairer('http');
  h.p.message(c, true, msg({ start: [1, 40], text: 'subscribe news' }));
  h.p.message(c, false, msg({ start: [1, 45], kind: MessageKind.Push }));
  assert.equal(h.p.counters.pushes, 1);
});

test('pairer: the request text is swapped in, not copied, and a long one is marked cut', () => {
  const { p, seen } = pairer('http');
  const c = conn();
  const info = msg({ start: [1, 0], text: 'x'.repeat(PREVIEW_MAX + 5) });
  const mine = info.preview;
  p.message(c, true, info);
  assert.notEqual(info.preview, mine);
  assert.equal(info.previewLen, 0);
  p.message(c, false, msg({ start: [1, 1] }));
  assert.equal(seen[0].text, `${'x'.repeat(PREVIEW_MAX)}...`);
});

test('pairer: past 4,096 waiting on one connection the oldest is dropped, counted as overflow', () => {
  const { p, seen } = pairer('redis');
  const c = conn();
  for (let i = 0; i < MAX_PENDING + 3; i++) p.message(c, true, msg({ start: [1, i], text: `r${i}` }));
  assert.equal(p.counters.overflow, 3);
  assert.equal(p.counters.requests, MAX_PENDING + 3);
  p.message(c, false, msg({ start: [2, 0] }));
  assert.equal(seen[0].text, 'r3');
});

test('pairer: a budget spent by other connections refuses the request, counted as overflow', () => {
  const { p } = pairer('redis');
  p.slots.held = p.slots.max;
  const c = conn();
  p.message(c, true, msg({ start: [1, 0], text: 'GET k' }));
  assert.deepEqual([p.counters.overflow, p.counters.requests, c.pending.count], [1, 1, 0]);
});

test('pairer: resets are counted by reason; only lost responses on TCP give up what waits', () => {
  const { p, seen } = pairer('redis');
  const c = conn();
  c.lastSeen = 50;
  p.message(c, true, msg({ start: [40, 5], text: 'a' }));
  p.message(c, true, msg({ start: [60, 7], text: 'b' }));
  p.reset(c, true, ResetReason.Malformed);
  p.reset(c, true, ResetReason.Gap);
  assert.deepEqual([p.counters.malformed, p.counters.gaps, c.pending.count], [1, 1, 2]);
  const udp = conn(17);
  p.message(udp, true, msg({ start: [1, 0], text: 'u', matchId: 1 }));
  p.reset(udp, false, ResetReason.Malformed);
  assert.equal(udp.pending.count, 1);
  p.reset(c, false, ResetReason.Gap);
  assert.equal(c.pending.count, 0);
  // Given up on as of the connection's last packet, or the request's own start if later.
  assert.deepEqual(seen.map((s) => [s.text, s.status, s.rsp, s.latencyNs, s.completeNs, s.bytes[1]]), [
    ['a', TxStatus.NoResponse, [50, 0], 9_999_999_995, 9_999_999_995, 0],
    ['b', TxStatus.NoResponse, [60, 7], 0, 0, 0],
  ]);
  assert.deepEqual([p.counters.malformed, p.counters.gaps, p.counters.unanswered], [2, 2, 2]);
  assert.equal(seen[0].statusText, '');
});

test('pairer: expire gives up requests at the timeout, not before', () => {
  const { p, seen } = pairer('redis', 10);
  const c = conn();
  p.message(c, true, msg({ start: [100, 0], text: 'a' }));
  p.message(c, true, msg({ start: [105, 0], text: 'b' }));
  p.expire(c, 109, 999_999_999);
  assert.equal(seen.length, 0);
  p.expire(c, 110, 0);
  assert.deepEqual(seen.map((s) => [s.text, s.latencyNs]), [['a', 10_000_000_000]]);
  p.expire(c, 114, 0);
  assert.equal(seen.length, 1);
  p.expire(c, 115, 5);
  assert.deepEqual(seen.map((s) => s.text), ['a', 'b']);
  assert.equal(p.counters.unanswered, 2);
});

test('pairer: forget reports what waits and gives the slots back', () => {
  const { p, seen } = pairer('redis');
  const c = conn();
  for (let i = 0; i < 20; i++) p.message(c, true, msg({ start: [1, i], text: `r${i}` }));
  assert.equal(p.slots.held, 32);
  p.forget(c, 2, 0);
  assert.equal(seen.length, 20);
  assert.equal(p.slots.held, 0);
  const d = conn();
  for (let i = 0; i < 3; i++) p.message(d, true, msg({ start: [1, i], text: `d${i}` }));
  p.forget(d, 2, 0);
  assert.equal(p.slots.held, 0, 'a small queue gives its slots back too');
});

test('pairer: DNS over TCP pairs by id without dropping earlier queries; id 0 is an id', () => {
  const { p, seen } = pairer('dns');
  const c = conn(6);
  p.message(c, true, msg({ start: [1, 0], text: 'one', matchId: 1 }));
  p.message(c, true, msg({ start: [1, 10], text: 'zero', matchId: 0 }));
  p.message(c, false, msg({ start: [1, 100], matchId: 0 }));
  assert.equal(c.pending.count, 1, 'the query before it still waits');
  p.message(c, false, msg({ start: [1, 200], matchId: 1 }));
  assert.deepEqual(seen.map((s) => [s.text, s.latencyNs]), [['zero', 90], ['one', 200]]);
  assert.equal(p.counters.noReply, 0);
});

test('pairer: quiet requests are counted once, not again by a later response that matches nothing', () => {
  const { p } = pairer('memcached');
  const c = conn(6);
  for (let i = 0; i < 3; i++) p.message(c, true, msg({ start: [1, i], text: `q${i}`, matchId: i }));
  p.message(c, false, msg({ start: [1, 50], matchId: 2 }));
  assert.equal(p.counters.noReply, 2);
  p.message(c, false, msg({ start: [1, 60], matchId: 99 }));
  assert.deepEqual([p.counters.noReply, p.counters.orphanResponses], [2, 1]);
});

test('pairer: given up on later in the same second: latency to that moment, not zero', () => {
  const { p, seen } = pairer('redis');
  const c = conn();
  p.message(c, true, msg({ start: [7, 100], text: 'a' }));
  p.drain(c, 7, 600);
  p.message(c, true, msg({ start: [7, 100], text: 'b' }));
  p.drain(c, 7, 50);
  assert.deepEqual(seen.map((s) => [s.text, s.latencyNs, s.rsp]), [['a', 500, [7, 600]], ['b', 0, [7, 100]]]);
});

// RequestQueue and SlotBudget on their own: slots taken from the budget as the
// queue doubles, given back when a burst is over (a queue keeps 16), takeById
// with and without dropping earlier requests, and a queue that never queued.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_PENDING, MAX_SLOTS_TOTAL, PendingRequest, RequestQueue, SlotBudget } from '../../../src/pairing/queue';

function push(q: RequestQueue, b: SlotBudget, id: number): PendingRequest {
  const s = q.push(b)!;
  s.matchId = id;
  return s;
}

test('the budget counts each slot as the queue doubles: 1, 2, 4, 8 ...; a burst over 16 gives them all back when it ends', () => {
  assert.equal(MAX_SLOTS_TOTAL, 131_072);
  const b = new SlotBudget();
  assert.equal(b.max, MAX_SLOTS_TOTAL);
  const q = new RequestQueue();
  const held: number[] = [];
  for (let i = 0; i < 17; i++) {
    push(q, b, i);
    held.push(b.held);
  }
  assert.deepEqual(held, [1, 2, 4, 4, 8, 8, 8, 8, 16, 16, 16, 16, 16, 16, 16, 16, 32]);
  assert.equal(q.count, 17);
  for (let i = 0; i < 16; i++) assert.equal(q.shift()!.matchId, i);
  assert.equal(b.held, 32);
  assert.equal(q.shift()!.matchId, 16);
  assert.deepEqual([q.count, b.held], [0, 0]);
  assert.equal(q.shift(), null);
  assert.equal(q.peek(), null);
  // A queue of 16 slots keeps them when it empties.
  const r = new RequestQueue();
  for (let i = 0; i < 16; i++) push(r, b, i);
  assert.equal(b.held, 16);
  for (let i = 0; i < 16; i++) r.shift();
  assert.deepEqual([r.count, b.held], [0, 16]);
  push(r, b, 99);
  assert.equal(b.held, 16); // the kept slots are used again
  r.shift();
  r.release();
  assert.equal(b.held, 0);
});

test('a queue that never queued can be released: nothing to give back', () => {
  const q = new RequestQueue();
  q.release();
  assert.deepEqual([q.count, q.peek()], [0, null]);
  q.clear();
  assert.equal(q.takeById(1, false), null);
});

test('at MAX_PENDING the oldest is dropped for the newest; a queue grows to exactly MAX_PENDING', () => {
  assert.equal(MAX_PENDING, 4096);
  const b = new SlotBudget();
  const q = new RequestQueue();
  for (let i = 0; i < MAX_PENDING; i++) {
    push(q, b, i);
    assert.equal(q.droppedOnPush, false);
  }
  assert.equal(b.held, MAX_PENDING);
  push(q, b, MAX_PENDING);
  assert.deepEqual([q.droppedOnPush, q.count, b.held], [true, MAX_PENDING, MAX_PENDING]);
  assert.equal(q.peek()!.matchId, 1);
  push(q, b, MAX_PENDING + 1);
  assert.equal(q.peek()!.matchId, 2);
  // A queue of 3,000 doubles to 4,096, not 6,000.
  const r = new RequestQueue();
  const c = new SlotBudget();
  for (let i = 0; i < 2049; i++) push(r, c, i);
  assert.equal(c.held, 4096);
});

test('a budget almost spent gives what it has left; spent, a queue with slots drops its oldest, one without refuses', () => {
  const b = new SlotBudget(11);
  const q = new RequestQueue();
  for (let i = 0; i < 8; i++) push(q, b, i);
  assert.equal(b.held, 8);
  push(q, b, 8); // wants 16, 3 left: grows to 11
  assert.equal(b.held, 11);
  push(q, b, 9);
  push(q, b, 10);
  assert.equal(q.droppedOnPush, false);
  push(q, b, 11);
  assert.deepEqual([q.droppedOnPush, q.count, q.peek()!.matchId, b.held], [true, 11, 1, 11]);
  const other = new RequestQueue();
  assert.equal(other.push(b), null);
  assert.equal(other.droppedOnPush, false);
  // The order survives the growth of a queue that had wrapped.
  const w = new RequestQueue();
  const big = new SlotBudget();
  for (let i = 0; i < 4; i++) push(w, big, i);
  w.shift();
  w.shift();
  push(w, big, 4);
  push(w, big, 5); // wrapped: slots hold 4 5 2 3
  push(w, big, 6); // grows to 8
  const order: number[] = [];
  for (let s = w.shift(); s !== null; s = w.shift()) order.push(s.matchId);
  assert.deepEqual(order, [2, 3, 4, 5, 6]);
});

test('takeById: the match is taken and the rest keep their order; with dropEarlier those before it go too, counted', () => {
  const b = new SlotBudget();
  const q = new RequestQueue();
  for (let i = 0; i < 4; i++) push(q, b, 10 + i);
  q.shift(); // wrap the ring: head is 1
  push(q, b, 14);
  push(q, b, 15);
  assert.equal(q.takeById(13, false)!.matchId, 13);
  assert.equal(q.dropped, 0);
  assert.equal(q.takeById(99, false), null);
  assert.equal(q.takeById(15, true)!.matchId, 15);
  assert.equal(q.dropped, 3); // 11, 12, 14
  assert.equal(q.count, 0);
  for (let i = 0; i < 3; i++) push(q, b, 20 + i);
  assert.equal(q.takeById(20, true)!.matchId, 20);
  assert.equal(q.dropped, 0);
  assert.equal(q.takeById(22, false)!.matchId, 22);
  assert.equal(q.dropped, 0);
  assert.deepEqual([q.count, q.peek()!.matchId], [1, 21]);
  q.clear();
  assert.deepEqual([q.count, q.peek()], [0, null]);
});

test('a new slot starts with no id, no subscribe, no detail, and a preview buffer of its own', () => {
  const s = new PendingRequest();
  assert.deepEqual([s.matchId, s.subscribe, s.detail, s.detailLen, s.previewLen, s.bytes], [-1, false, null, 0, 0, 0]);
  assert.notEqual(s.preview, new PendingRequest().preview);
});

// Requests waiting for their responses on one connection, first in first out.
// Slots are reused: a pipeline of N requests allocates N slots once.
import { PREVIEW_MAX } from '../protocol/message';

export class PendingRequest {
  startSec = 0;
  startNsec = 0;
  endSec = 0;
  endNsec = 0;
  bytes = 0;
  /** Pairs by this id when >= 0 (DNS id, memcached opaque). */
  matchId = -1;
  /** A Redis (un)subscribe: its confirmation may come as a RESP3 push. */
  subscribe = false;
  preview: Buffer = Buffer.allocUnsafe(PREVIEW_MAX);
  previewLen = 0;
  /** MessageInfo.detail, swapped in the same way; allocated when a protocol first uses it. */
  detail: Buffer | null = null;
  detailLen = 0;
}

/** Most requests one connection may have waiting; past it the oldest is dropped (counted). */
export const MAX_PENDING = 4096;

/**
 * Slots every queue of one run may hold together. A slot is about 450 bytes
 * (the request's facts and its preview buffer): 131,072 slots, ~60 MB at
 * most, however many connections pipeline at once.
 */
export const MAX_SLOTS_TOTAL = 131_072;

/** A queue that empties keeps this many slots; more go back to the budget. */
const KEEP_SLOTS = 16;

/** The slots all queues hold, against their shared limit. */
export class SlotBudget {
  held = 0;
  constructor(readonly max = MAX_SLOTS_TOTAL) {}
}

export class RequestQueue {
  private slots: PendingRequest[] = [];
  private head = 0;
  private budget: SlotBudget | null = null;
  count = 0;

  /** Set by push(): it had to drop the oldest waiting request to make room. */
  droppedOnPush = false;

  /**
   * A slot at the tail to fill in. When the queue is at MAX_PENDING, or the
   * budget allows no more slots, the oldest waiting request is dropped first
   * (droppedOnPush); null when there is no slot to give at all (the budget is
   * spent and this queue holds none): the request cannot be kept.
   */
  push(budget: SlotBudget): PendingRequest | null {
    this.budget = budget;
    this.droppedOnPush = false;
    if (this.count === this.slots.length && !this.grow(budget)) {
      if (this.count === 0) return null;
      this.shift();
      this.droppedOnPush = true;
    }
    const slot = this.slots[(this.head + this.count) % this.slots.length];
    this.count++;
    return slot;
  }

  /** The oldest waiting request, or null. The slot stays valid until the next push(). */
  shift(): PendingRequest | null {
    if (this.count === 0) return null;
    const slot = this.slots[this.head];
    this.head = (this.head + 1) % this.slots.length;
    this.count--;
    // A burst of pipelined requests is over: its slots go back to the budget.
    if (this.count === 0 && this.slots.length > KEEP_SLOTS) this.release();
    return slot;
  }

  /** Gives every slot back to the budget (the queue must be empty: its connection is gone). */
  release(): void {
    if (this.budget !== null) this.budget.held -= this.slots.length;
    this.slots = [];
    this.head = 0;
    this.count = 0;
  }

  /**
   * The waiting request with this id, taken out of the queue (the others keep
   * their order), or null. With `dropEarlier`, requests queued before it are
   * dropped too (they were answered by silence, as memcached's quiet
   * opcodes are); `dropped` says how many.
   */
  takeById(id: number, dropEarlier: boolean): PendingRequest | null {
    const n = this.slots.length;
    let i = 0;
    while (i < this.count && this.slots[(this.head + i) % n].matchId !== id) i++;
    if (i === this.count) return null;
    this.dropped = 0;
    if (dropEarlier) {
      this.dropped = i;
      this.head = (this.head + i) % n;
      this.count -= i;
      return this.shift();
    }
    // Rotate the found slot to the head, the ones before it one step back.
    const found = this.slots[(this.head + i) % n];
    for (let j = i; j > 0; j--) this.slots[(this.head + j) % n] = this.slots[(this.head + j - 1) % n];
    this.slots[this.head] = found;
    return this.shift();
  }

  /** Set by takeById(): how many earlier requests it dropped. */
  dropped = 0;

  peek(): PendingRequest | null {
    return this.count === 0 ? null : this.slots[this.head];
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  /** Twice the slots (up to MAX_PENDING), or as many as the budget has left; false if none. */
  private grow(budget: SlotBudget): boolean {
    const have = this.slots.length;
    const want = have === 0 ? 1 : have * 2 > MAX_PENDING ? MAX_PENDING : have * 2;
    const room = budget.max - budget.held;
    const n = want - have <= room ? want : have + room;
    if (n <= have) return false;
    budget.held += n - have;
    const next: PendingRequest[] = new Array(n);
    for (let i = 0; i < this.count; i++) next[i] = this.slots[(this.head + i) % this.slots.length];
    for (let i = this.count; i < n; i++) next[i] = new PendingRequest();
    this.slots = next;
    this.head = 0;
    return true;
  }
}

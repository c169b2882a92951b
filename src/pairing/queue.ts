// Requests waiting for their responses on one connection, first in first out.
// Slots are reused: a pipeline of N requests allocates N slots once.
import { PREVIEW_MAX } from '../protocol/parser';

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
}

/** Most requests one connection may have waiting; past it the oldest is dropped (counted). */
export const MAX_PENDING = 4096;

export class RequestQueue {
  private slots: PendingRequest[] = [];
  private head = 0;
  count = 0;

  /** Set by push(): it had to drop the oldest waiting request to make room. */
  droppedOnPush = false;

  /** A slot at the tail to fill in; when full, the oldest waiting request is dropped first. */
  push(): PendingRequest {
    this.droppedOnPush = this.count === MAX_PENDING;
    if (this.droppedOnPush) this.shift();
    if (this.count === this.slots.length) this.grow();
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
    return slot;
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

  private grow(): void {
    const n = this.slots.length === 0 ? 1 : this.slots.length * 2;
    const next: PendingRequest[] = new Array(n);
    for (let i = 0; i < this.count; i++) next[i] = this.slots[(this.head + i) % this.slots.length];
    for (let i = this.count; i < n; i++) next[i] = new PendingRequest();
    this.slots = next;
    this.head = 0;
  }
}

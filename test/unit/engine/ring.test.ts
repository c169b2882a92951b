// RingReader on a ring laid out as native/ebpf.cc maps the kernel's: the
// producer page, the data area, then only the start of the data area's
// second copy (as long as the longest record). Records that wrap arrive whole,
// ranges never start past the first copy, busy records stop a drain, and the
// consumer position moves as the kernel expects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RingReader, RING_BUSY, RING_DISCARD, RING_HDR_LEN, nextRingRecord } from '../../../src/engine/ring';

const PAGE = 4096;
const SIZE = 8192; // the data area: a power of two
const SLACK = 4096; // the second copy's start that is mapped

/** A fake mapping: writes go to the data area and are mirrored into the slack, as the kernel's double mapping shows them. */
class FakeRing {
  readonly consumer = Buffer.alloc(PAGE);
  readonly data = Buffer.alloc(PAGE + SIZE + SLACK);
  /** The producer position (bytes ever reserved). */
  prod = 0;

  private put(pos: number, bytes: Buffer): void {
    for (let i = 0; i < bytes.length; i++) {
      const at = (pos + i) % SIZE;
      this.data[PAGE + at] = bytes[i];
      if (at < SLACK) this.data[PAGE + SIZE + at] = bytes[i];
    }
  }

  /** Reserves and (unless busy) commits a record whose sample is `len` bytes of `fill`; returns its position. */
  add(len: number, fill: number, flags = 0): number {
    const pos = this.prod;
    const hdr = Buffer.alloc(RING_HDR_LEN);
    hdr.writeUInt32LE((len | flags) >>> 0, 0);
    this.put(pos, Buffer.concat([hdr, Buffer.alloc(len, fill)]));
    this.prod = nextRingRecord(pos, len);
    this.data.writeUInt32LE(this.prod >>> 0, 0);
    return pos;
  }

  commit(pos: number): void {
    const at = pos % SIZE;
    const word = this.data.readUInt32LE(PAGE + at) & ~RING_BUSY;
    const b = Buffer.alloc(4);
    b.writeUInt32LE(word >>> 0, 0);
    this.put(pos, b);
  }

  get consumed(): number {
    return Number(this.consumer.readBigUInt64LE(0));
  }
}

/** Every record handed over: [fill byte, sample length], discarded ones marked. */
function drainAll(reader: RingReader, log: string[]): number {
  return reader.drain((data, start, end) => {
    assert.ok(start >= PAGE && start < PAGE + SIZE, `a range starts at ${start}, inside the first copy`);
    assert.ok(end <= data.length, 'a range ends inside the mapping');
    for (let off = start; off < end; ) {
      const word = data.readUInt32LE(off);
      const len = word & 0x3fffffff;
      const body = data.subarray(off + RING_HDR_LEN, off + RING_HDR_LEN + len);
      assert.ok(body.every((b) => b === body[0]), 'a record is whole and contiguous');
      log.push(`${(word & RING_DISCARD) !== 0 ? 'x' : ''}${body[0]}:${len}`);
      off = nextRingRecord(off, word);
    }
  });
}

test('records that wrap past the data area arrive whole, from the second copy', () => {
  const ring = new FakeRing();
  const reader = new RingReader({ consumer: ring.consumer, data: ring.data, page: PAGE, size: SIZE });
  const log: string[] = [];
  // 3,000-byte samples: the third one straddles the end of the 8 KiB area
  // (written once the first two were consumed, as the kernel would).
  for (let i = 1; i <= 2; i++) ring.add(3000, i);
  assert.equal(drainAll(reader, log), 2 * 3008);
  ring.add(3000, 3);
  assert.equal(drainAll(reader, log), 3008);
  assert.deepEqual(log, ['1:3000', '2:3000', '3:3000']);
  assert.equal(ring.consumed, 9024);
  // The next ones start after the wrap, in the first copy again.
  for (let i = 4; i <= 6; i++) ring.add(2000, i);
  assert.equal(drainAll(reader, log), 3 * 2008);
  assert.deepEqual(log.slice(3), ['4:2000', '5:2000', '6:2000']);
  assert.equal(ring.consumed, 9024 + 6024);
});

test('a drain stops at a record still being written, and takes it once committed; until then the ring is pending', () => {
  const ring = new FakeRing();
  const reader = new RingReader({ consumer: ring.consumer, data: ring.data, page: PAGE, size: SIZE });
  const log: string[] = [];
  assert.equal(reader.pending, false, 'an empty ring: nothing pending, the reader may sleep');
  ring.add(100, 1);
  const busy = ring.add(100, 2, RING_BUSY);
  ring.add(100, 3);
  assert.equal(drainAll(reader, log), 112);
  assert.deepEqual(log, ['1:100']);
  assert.equal(ring.consumed, 112);
  // Stopped at the busy record: still pending, so the reader must not sleep
  // (its commit may come without a wake-up).
  assert.equal(reader.pending, true);
  assert.equal(drainAll(reader, log), 0);
  assert.equal(reader.pending, true);
  ring.commit(busy);
  assert.equal(drainAll(reader, log), 224);
  assert.deepEqual(log, ['1:100', '2:100', '3:100']);
  assert.equal(reader.pending, false);
});

test('discarded records are handed over marked, and their space given back', () => {
  const ring = new FakeRing();
  const reader = new RingReader({ consumer: ring.consumer, data: ring.data, page: PAGE, size: SIZE });
  const log: string[] = [];
  ring.add(50, 1);
  ring.add(50, 2, RING_DISCARD);
  ring.add(50, 3);
  assert.equal(drainAll(reader, log), 3 * 64);
  assert.deepEqual(log, ['1:50', 'x2:50', '3:50']);
});

test('many laps: positions keep counting past the ring size, nothing lost or repeated', () => {
  const ring = new FakeRing();
  const reader = new RingReader({ consumer: ring.consumer, data: ring.data, page: PAGE, size: SIZE });
  const log: string[] = [];
  const expect: string[] = [];
  let fill = 0;
  for (let lap = 0; lap < 40; lap++) {
    // Up to 7,000 bytes a drain, in records of varied length (one wraps now and then).
    let used = 0;
    for (;;) {
      const len = 1 + ((fill * 797) % 2500);
      if (used + len + 16 > 7000) break;
      fill = (fill % 250) + 1;
      ring.add(len, fill);
      expect.push(`${fill}:${len}`);
      used += nextRingRecord(0, len);
    }
    drainAll(reader, log);
  }
  assert.deepEqual(log, expect);
  assert.equal(ring.consumed, ring.prod);
  assert.equal(reader.bytes, ring.prod);
  assert.ok(ring.prod > 30 * SIZE, `${ring.prod} bytes went round`);
});

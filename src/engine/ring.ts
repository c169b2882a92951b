// The eBPF ring buffer, read in place. native/ebpf.cc maps the ring's pages
// into two Buffers; this walks the samples the program committed and hands
// them to the pipeline as one range per drain, then moves the consumer
// position so the kernel may reuse the space. No copy, no native call, no
// thread: a drain runs on the JavaScript thread, on a timer (or, idle, when the
// program wakes it: engine/live.ts).
//
// The ring (kernel/bpf/ringbuf.c): a consumer page (consumer_pos, u64, ours to
// write), a producer page (producer_pos, u64), then the data area twice in a
// row, so a record that wraps is contiguous. native/ebpf.cc maps the first
// copy and only as much of the second as the longest record needs: a range
// handed over ends with the last record that starts in the first copy. Each record is an 8-byte header
// (u32 length with BUSY and DISCARD bits, u32 page offset) and its sample,
// rounded up to 8 bytes. A BUSY record is reserved but not yet committed:
// reading stops there until the next drain.

/** Record header bits (BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT). */
export const RING_BUSY = 0x80000000;
export const RING_DISCARD = 0x40000000;
export const RING_HDR_LEN = 8;

/** The offset of the record after the one at `off` whose header word is `lenWord`. */
export function nextRingRecord(off: number, lenWord: number): number {
  return off + (((lenWord & 0x3fffffff) + RING_HDR_LEN + 7) & ~7);
}

/**
 * Receives committed records data[start, end): headers and samples, discarded
 * ones included (skip those with RING_DISCARD set).
 */
export type RingHandler = (data: Buffer, start: number, end: number) => void;

/** At most this many bytes are handed over before the space is given back. */
const CHUNK = 4 << 20;

export interface RingPages {
  consumer: Buffer;
  data: Buffer;
  page: number;
  size: number;
}

/**
 * Where the committed records from `start` end: at the first one the kernel
 * is still writing (BUSY), or at `limit`. Each header is read with acquire
 * order, as libbpf does: the sample behind it is complete when the header
 * says so.
 *
 * A function of its own: this loop runs once a record, and a loop that runs
 * long gets its function optimized while it runs (on-stack replacement).
 * Inside drain(), it made V8 compile drain() with the handler and all it
 * calls once a drain inlined, two or three times in a fresh capture
 * (on-stack, then at drain()'s next call): 22-52 ms by --trace-opt. Here V8
 * compiles these few lines, and drain(), which runs ten times a second, is
 * left unoptimized. Live, the first 200,000 requests: a median of 17 CPU
 * ticks against 19 (7 alternating rounds).
 */
function committedEnd(words: Uint32Array, start: number, limit: number): number {
  let end = start;
  while (end < limit) {
    const len = Atomics.load(words, end >> 2);
    if ((len & RING_BUSY) !== 0) break;
    end = nextRingRecord(end, len);
  }
  return end;
}

export class RingReader {
  private readonly cons: Buffer;
  private readonly cons64: BigUint64Array;
  private readonly prod: Uint32Array;
  private readonly words: Uint32Array;
  private readonly data: Buffer;
  private readonly page: number;
  private readonly mask: number;
  /** Where the first copy of the data area ends: no record handed over starts at or past it. */
  private readonly areaEnd: number;
  /** Our consumer position (a safe integer: 2^53 bytes of samples). */
  private pos: number;
  /** Samples and bytes handed over so far. */
  bytes = 0;

  constructor(ring: RingPages) {
    this.cons = ring.consumer;
    this.data = ring.data;
    this.page = ring.page;
    this.mask = ring.size - 1;
    this.areaEnd = ring.page + ring.size;
    this.cons64 = new BigUint64Array(this.cons.buffer, this.cons.byteOffset, 1);
    this.prod = new Uint32Array(this.data.buffer, this.data.byteOffset, 2);
    this.words = new Uint32Array(this.data.buffer, this.data.byteOffset, this.data.length >> 2);
    this.pos = Number(this.cons64[0]);
  }

  /**
   * Records reserved past what was handed over: committed ones a drain has
   * not reached yet, or one the kernel is still writing (a drain stops
   * there). The reader may sleep only when there are none: the program wakes
   * a sleeping reader only for commits made after it set reader_sleeps.
   */
  get pending(): boolean {
    return this.reserved() !== 0;
  }

  /** Bytes the kernel reserved past our position (producer_pos, low word: positions differ by at most the ring's size). */
  private reserved(): number {
    return (Atomics.load(this.prod, 0) - this.pos) >>> 0;
  }

  /** Hands every committed record to `handler`; returns the bytes consumed. */
  drain(handler: RingHandler): number {
    const words = this.words;
    let consumed = 0;
    for (;;) {
      const avail = this.reserved();
      if (avail === 0) break;
      const start = this.page + (this.pos & this.mask);
      // Up to the first copy's end: a record starting before it is whole in the mapping.
      const limit = Math.min(start + Math.min(avail, CHUNK), this.areaEnd);
      const end = committedEnd(words, start, limit);
      if (end === start) break;
      handler(this.data, start, end);
      const n = end - start;
      this.pos += n;
      consumed += n;
      // The kernel reads consumer_pos whole: one 64-bit store.
      Atomics.store(this.cons64, 0, BigInt(this.pos));
      if (end < limit) break; // stopped at a record still being written
    }
    this.bytes += consumed;
    return consumed;
  }
}

// One direction of a TCP connection as an ordered byte stream.
//
// Decides, per segment, which of its payload bytes are new. Retransmitted and
// overlapping bytes are trimmed. A segment past the next expected byte is held
// back (copied; reordering is rare, so this path may allocate) until the bytes
// before it arrive, and is then delivered in order. If they never come, the
// caller declares a gap: the peer acknowledged bytes the capture never saw,
// or too much piled up behind the hole. Then the parser resets (counted) and
// the held segments are delivered from the first one.

/** What accept() decided about a segment. */
export const enum SegmentVerdict {
  /** Deliver payload from `skip` on. */
  Deliver = 0,
  /** Nothing new in it: a retransmission or a pure ACK. */
  Duplicate = 1,
  /** Bytes before it have not arrived yet: hold() it. */
  Ahead = 2,
}

/** A segment that arrived ahead of a hole. */
export class HeldSegment {
  constructor(
    readonly seq: number,
    /** Payload length on the wire. */
    readonly len: number,
    /** The captured payload bytes (fewer than len when snaplen cut them). */
    readonly data: Buffer,
    readonly fin: boolean,
    readonly tsSec: number,
    readonly tsNsec: number,
  ) {}
}

/** Most segments, and bytes, held behind one hole before it is declared a gap. */
export const MAX_HELD_SEGMENTS = 64;
export const MAX_HELD_BYTES = 1 << 20;

/** a is after b in sequence space (RFC 1982 arithmetic on 32 bits). */
export function seqAfter(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

export class TcpStream {
  /** Next expected sequence number (uint32), valid once `synced`. */
  nextSeq = 0;
  synced = false;
  /** The initial sequence number of the SYN seen in this direction; -1 when none was. */
  isn = -1;
  /** Bytes to drop from the front of the last accepted segment. */
  skip = 0;
  /** Segments ahead of a hole, in sequence order; null when none (the usual case). */
  held: HeldSegment[] | null = null;
  private heldBytes = 0;

  /** As new. */
  reset(): void {
    this.nextSeq = 0;
    this.synced = false;
    this.isn = -1;
    this.skip = 0;
    this.clearHeld();
  }

  /** A SYN carries the initial sequence number; data starts one later. */
  syn(seq: number): void {
    this.isn = seq >>> 0;
    this.nextSeq = (seq + 1) >>> 0;
    this.synced = true;
    this.held = null;
    this.heldBytes = 0;
  }

  /** Judges a segment of `len` payload bytes at `seq`; `fin` consumes one more number. */
  accept(seq: number, len: number, fin: boolean): SegmentVerdict {
    this.skip = 0;
    const end = len + (fin ? 1 : 0);
    if (!this.synced) {
      // Joined mid-connection: this segment starts the stream.
      this.synced = true;
      this.nextSeq = (seq + end) >>> 0;
      return len > 0 ? SegmentVerdict.Deliver : SegmentVerdict.Duplicate;
    }
    const diff = (seq - this.nextSeq) | 0;
    if (diff === 0) {
      this.nextSeq = (seq + end) >>> 0;
      return len > 0 ? SegmentVerdict.Deliver : SegmentVerdict.Duplicate;
    }
    if (diff < 0) {
      const overlap = -diff;
      if (overlap >= end) return SegmentVerdict.Duplicate;
      this.nextSeq = (seq + end) >>> 0;
      if (overlap >= len) return SegmentVerdict.Duplicate; // only the FIN is new
      this.skip = overlap;
      return SegmentVerdict.Deliver;
    }
    // A pure ACK past a hole carries nothing to keep.
    return end > 0 ? SegmentVerdict.Ahead : SegmentVerdict.Duplicate;
  }

  /**
   * Keeps a copy of a segment accept() found ahead of a hole. Returns false
   * when the hole has waited long enough: the caller declares a gap.
   */
  hold(seq: number, len: number, buf: Buffer, start: number, capEnd: number, fin: boolean, tsSec: number, tsNsec: number): boolean {
    const seg = new HeldSegment(seq, len, Buffer.from(buf.subarray(start, capEnd)), fin, tsSec, tsNsec);
    const held = this.held ?? (this.held = []);
    let i = held.length;
    while (i > 0 && seqAfter(held[i - 1].seq, seq)) i--;
    held.splice(i, 0, seg);
    this.heldBytes += seg.data.length;
    return held.length <= MAX_HELD_SEGMENTS && this.heldBytes <= MAX_HELD_BYTES;
  }

  /** The first held segment, taken out, if it now continues (or overlaps) the stream. */
  takeHeld(): HeldSegment | null {
    const held = this.held;
    if (held === null) return null;
    const seg = held[0];
    if (seqAfter(seg.seq, this.nextSeq)) return null;
    held.shift();
    this.heldBytes -= seg.data.length;
    if (held.length === 0) {
      this.held = null;
      this.heldBytes = 0;
    }
    return seg;
  }

  /** Declares the hole before the first held segment lost: the stream resumes there. */
  skipHole(): number {
    const seg = this.held![0];
    const missing = (seg.seq - this.nextSeq) | 0;
    this.nextSeq = seg.seq;
    return missing;
  }

  /**
   * The peer acknowledged up to `ack`, past every byte this stream has seen
   * and with nothing held: the bytes in between were lost to the capture.
   * The stream resumes at `ack`; returns how many were lost.
   */
  skipTo(ack: number): number {
    const missing = (ack - this.nextSeq) | 0;
    this.nextSeq = ack >>> 0;
    return missing;
  }

  /** Forgets held segments (the connection is going away). */
  clearHeld(): void {
    this.held = null;
    this.heldBytes = 0;
  }
}

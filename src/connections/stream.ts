// One direction of a TCP connection as an ordered byte stream.
//
// Decides, per segment, which of its payload bytes are new. Retransmitted and
// overlapping bytes are trimmed; a segment past the next expected byte is a
// gap: the bytes in between were not captured, and the caller resets its
// parser (counted).

/** What accept() decided about a segment. */
export const enum SegmentVerdict {
  /** Deliver payload from `skip` on. */
  Deliver = 0,
  /** Nothing new in it: a retransmission or a pure ACK. */
  Duplicate = 1,
  /** Bytes before it are missing: reset the parser, then deliver from 0. */
  Gap = 2,
}

export class TcpStream {
  /** Next expected sequence number (uint32), valid once `synced`. */
  nextSeq = 0;
  synced = false;
  /** Bytes to drop from the front of the last accepted segment. */
  skip = 0;
  /** Missing bytes before the last segment judged a gap. */
  gapBytes = 0;

  /** As new. */
  reset(): void {
    this.nextSeq = 0;
    this.synced = false;
    this.skip = 0;
    this.gapBytes = 0;
  }

  /** A SYN carries the initial sequence number; data starts one later. */
  syn(seq: number): void {
    this.nextSeq = (seq + 1) >>> 0;
    this.synced = true;
  }

  /** Judges a segment of `len` payload bytes at `seq`; `fin` consumes one more number. */
  accept(seq: number, len: number, fin: boolean): SegmentVerdict {
    this.skip = 0;
    if (!this.synced) {
      // Joined mid-connection: this segment starts the stream.
      this.synced = true;
      this.nextSeq = (seq + len + (fin ? 1 : 0)) >>> 0;
      return len > 0 ? SegmentVerdict.Deliver : SegmentVerdict.Duplicate;
    }
    const diff = (seq - this.nextSeq) | 0;
    if (diff === 0) {
      this.nextSeq = (seq + len + (fin ? 1 : 0)) >>> 0;
      return len > 0 ? SegmentVerdict.Deliver : SegmentVerdict.Duplicate;
    }
    if (diff < 0) {
      const overlap = -diff;
      if (overlap >= len) return SegmentVerdict.Duplicate;
      this.skip = overlap;
      this.nextSeq = (seq + len + (fin ? 1 : 0)) >>> 0;
      return SegmentVerdict.Deliver;
    }
    this.gapBytes = diff;
    this.nextSeq = (seq + len + (fin ? 1 : 0)) >>> 0;
    return SegmentVerdict.Gap;
  }
}

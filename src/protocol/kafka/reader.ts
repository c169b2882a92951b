// A cursor over one Kafka message's bytes as they were captured: big-endian
// integers, unsigned varints, classic and compact strings, arrays and tagged
// fields. Reading past what was captured never throws: it sets `short` and
// returns 0, so a message cut by snaplen or by the parser's head buffer is
// decoded as far as its bytes go, and the caller checks `short`.

export class Reader {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  /** End of the captured bytes. */
  limit = 0;
  /** A read went past `limit`. */
  short = false;
  /** Set by str(): where the string's bytes are (start, length); length -1 for null. */
  strStart = 0;
  strLen = 0;

  reset(buf: Buffer, pos: number, limit: number): void {
    this.buf = buf;
    this.pos = pos;
    this.limit = limit;
    this.short = false;
  }

  private need(n: number): boolean {
    if (this.pos + n > this.limit) {
      this.short = true;
      this.pos = this.limit;
      return false;
    }
    return true;
  }

  i8(): number {
    if (!this.need(1)) return 0;
    const v = this.buf[this.pos];
    this.pos += 1;
    return (v << 24) >> 24;
  }

  i16(): number {
    if (!this.need(2)) return 0;
    const b = this.buf;
    const v = ((b[this.pos] << 24) >> 16) | b[this.pos + 1];
    this.pos += 2;
    return v;
  }

  i32(): number {
    if (!this.need(4)) return 0;
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
  }

  skip(n: number): void {
    if (n < 0) {
      this.short = true;
      this.pos = this.limit;
      return;
    }
    if (this.need(n)) this.pos += n;
  }

  /** An unsigned varint (up to 32 bits kept). */
  uvarint(): number {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (!this.need(1)) return 0;
      const b = this.buf[this.pos++];
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return v;
    }
    // More than 5 bytes: not a varint Kafka writes.
    this.short = true;
    this.pos = this.limit;
    return 0;
  }

  /** A string (int16 length, -1 null) or, flexible, a compact string (uvarint length + 1, 0 null): sets strStart/strLen. */
  str(compact: boolean): void {
    const n = compact ? this.uvarint() - 1 : this.i16();
    this.strStart = this.pos;
    this.strLen = n < 0 ? -1 : n;
    if (n > 0) this.skip(n);
    if (this.short) this.strLen = -1;
  }

  /** Bytes (int32 length, -1 null) or compact bytes; returns the length, -1 for null. */
  bytes(compact: boolean): number {
    const n = compact ? this.uvarint() - 1 : this.i32();
    if (n > 0) this.skip(n);
    return n < 0 ? -1 : n;
  }

  /** An array's element count (int32, -1 null) or a compact array's (uvarint count + 1, 0 null); -1 for null. */
  array(compact: boolean): number {
    const n = compact ? this.uvarint() - 1 : this.i32();
    // Every element is at least one byte: a count beyond the bytes left is not an array.
    if (n > this.limit - this.pos) {
      this.short = true;
      this.pos = this.limit;
      return 0;
    }
    return n;
  }

  /** A tagged-field section (flexible versions only). */
  tags(): void {
    const n = this.uvarint();
    for (let i = 0; i < n && !this.short; i++) {
      this.uvarint();
      this.skip(this.uvarint());
    }
  }
}

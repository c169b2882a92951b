// "2020-02-06 23:01:39.706782" in local time, as the original printed it.
// The date and time of day are formatted once per second, not once per line.
import { toWords, type FdWriter } from './writer';

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** Writes 0 <= n < 1000 as three digits; returns the offset after them. */
export function put3(buf: Buffer, off: number, n: number): number {
  const h = (n / 100) | 0;
  const rest = n - h * 100;
  const t = (rest / 10) | 0;
  buf[off] = 48 + h;
  buf[off + 1] = 48 + t;
  buf[off + 2] = 48 + (rest - t * 10);
  return off + 3;
}

export class WallClockFormatter {
  private sec = -1;
  private prefix = '';
  /** `prefix` as bytes, for writeTime(); formatted per second too. */
  private bytesSec = -1;
  private prefixLen = 0;
  private prefixWords: Int32Array = new Int32Array(0);

  /** Seconds part: "2020-02-06 23:01:39". */
  seconds(sec: number): string {
    if (sec !== this.sec) {
      const d = new Date(sec * 1000);
      this.prefix = `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
      this.sec = sec;
    }
    return this.prefix;
  }

  /** With microseconds: "2020-02-06 23:01:39.706782". */
  format(sec: number, nsec: number): string {
    // 1e6 + µs has seven digits; dropping the leading 1 pads to six.
    const us = 1_000_000 + Math.floor(nsec / 1000);
    return `${this.seconds(sec)}.${String(us).slice(1)}`;
  }

  /**
   * Writes format(sec, nsec) into the writer's arena at off as bytes; returns
   * the offset after it. Needs prefix length + 7 bytes of room, and 3 more.
   */
  writeTime(w: FdWriter, off: number, sec: number, nsec: number): number {
    if (sec !== this.bytesSec) {
      const bytes = Buffer.from(this.seconds(sec), 'utf8');
      this.prefixLen = bytes.length;
      this.prefixWords = toWords(bytes);
      this.bytesSec = sec;
    }
    off = w.putWords(off, this.prefixWords, this.prefixLen);
    const buf = w.arena;
    // As format(): the last six digits of 1e6 + µs. nsec < 2^32 keeps this in
    // int32 arithmetic (no floating-point modulo).
    const us = ((nsec / 1000) | 0) % 1_000_000;
    const hi = (us / 1000) | 0;
    buf[off++] = 46; // '.'
    off = put3(buf, off, hi);
    off = put3(buf, off, us - hi * 1000);
    return off;
  }
}

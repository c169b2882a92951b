// "2020-02-06 23:01:39.706782" in local time, as the original printed it.
// The date and time of day are formatted once per second, not once per line.

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

export class WallClockFormatter {
  private sec = -1;
  private prefix = '';
  /** `prefix` as bytes, for writeTime(); formatted per second too. */
  private bytesSec = -1;
  private prefixBytes = Buffer.alloc(0);

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
   * Writes format(sec, nsec) into buf at off as bytes; returns the offset after
   * it. Needs prefix length + 7 bytes of room.
   */
  writeTime(buf: Buffer, off: number, sec: number, nsec: number): number {
    if (sec !== this.bytesSec) {
      this.prefixBytes = Buffer.from(this.seconds(sec), 'utf8');
      this.bytesSec = sec;
    }
    const pre = this.prefixBytes;
    for (let i = 0; i < pre.length; i++) buf[off++] = pre[i];
    // As format(): the last six digits of 1e6 + µs (nsec < 2^32 keeps it seven digits).
    let us = Math.floor(nsec / 1000) % 1_000_000;
    buf[off++] = 46; // '.'
    for (let i = off + 5; i >= off; i--) {
      buf[i] = 48 + (us % 10);
      us = Math.floor(us / 10);
    }
    return off + 6;
  }
}

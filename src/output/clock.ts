// "2020-02-06 23:01:39.706782" in local time, as the original printed it.
// The date and time of day are formatted once per second, not once per line.

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

export class WallClockFormatter {
  private sec = -1;
  private prefix = '';

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
}

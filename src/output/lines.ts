// The original tool's line, one per request at or above the slow threshold:
// 2020-02-06 23:01:39.706782 127.0.0.1:54484 => 127.0.0.1:6379 | 0.270 ms | GET test_key
//
// Lines are formatted as bytes straight into the writer's arena: no strings per
// line. The rare line the byte path cannot produce exactly as the string path
// would (non-ASCII request text, a negative or huge latency, a latency that
// ends in exactly half a microsecond) takes the string path.
import { TxStatus, type Transaction } from '../pairing/transaction';
import { WallClockFormatter, put3 } from './clock';
import type { Output } from '../pairing/consumer';
import type { FdWriter } from './writer';

const enum Ch {
  SPACE = 32,
  DOT = 46,
  ZERO = 48,
  BAR = 124,
  LF = 10,
}

const NO_RESPONSE = Buffer.from('no response', 'latin1');
const IN_FLIGHT = Buffer.from('in flight', 'latin1');
const ERROR_TAIL = Buffer.from(' | error', 'latin1');
/** ' | 200', ' | NXDOMAIN': the status texts are a few constants, encoded once each. */
const statusTails = new Map<string, Buffer>();
function statusTail(text: string): Buffer {
  let b = statusTails.get(text);
  if (b === undefined) {
    b = Buffer.from(` | ${text.slice(0, 32)}`, 'latin1');
    statusTails.set(text, b);
  }
  return b;
}
const MS_TAIL = Buffer.from(' ms', 'latin1');
/** Latencies below this (ns) format exactly through integer microseconds (int32). */
const FAST_LATENCY_NS = 0x7fffffff * 1000;
/** Room for a line but for its endpoints: time, separators, latency, request text, "...", status, " | error", LF. */
const LINE_ROOM = 64 + 3 + 32 + 3 + 256 + 3 + 35 + 8 + 1 + 64;

function put(buf: Buffer, off: number, bytes: Buffer): number {
  for (let i = 0; i < bytes.length; i++) buf[off++] = bytes[i];
  return off;
}

export class LineOutput implements Output {
  private readonly clock = new WallClockFormatter();
  private readonly thresholdNs: number;

  constructor(private readonly writer: FdWriter, thresholdMs: number) {
    this.thresholdNs = thresholdMs * 1e6;
  }

  transaction(tx: Transaction): void {
    if (tx.latencyNs < this.thresholdNs) return;
    const conn = tx.conn;
    const ep = conn.endpointsBytes();
    const previewLen = tx.previewLen;
    const w = this.writer;
    // An SQL error's message is text of the server's: the string path writes it.
    if (previewLen > 256 || tx.errorMessage !== '' || !w.reserve(LINE_ROOM + ep.length)) {
      if (previewLen > 256 || tx.errorMessage !== '') this.slow(tx);
      return;
    }
    const a = w.arena;
    // An answer's line carries the answer's time; a request without one, its own.
    const unanswered = tx.status === TxStatus.NoResponse;
    let o = unanswered ? this.clock.writeTime(w, w.used, tx.reqSec, tx.reqNsec) : this.clock.writeTime(w, w.used, tx.rspSec, tx.rspNsec);
    a[o++] = Ch.SPACE;
    o = w.putWords(o, conn.endpointsWords(), ep.length);
    a[o++] = Ch.SPACE;
    a[o++] = Ch.BAR;
    a[o++] = Ch.SPACE;
    if (unanswered) {
      o = put(a, o, tx.inFlight ? IN_FLIGHT : NO_RESPONSE);
    } else {
      // (ns / 1e6).toFixed(3) is ns rounded to whole µs, unless ns is exactly
      // half-way between two (then the double's error decides): string path.
      // Integer ns below FAST_LATENCY_NS keep µs in int32 arithmetic.
      const ns = tx.latencyNs;
      let q: number;
      if (ns >= 0 && ns <= 0x7fffffff && (ns | 0) === ns) q = (ns / 1000) | 0;
      else if (ns >= 0 && ns < FAST_LATENCY_NS && Math.floor(ns) === ns) q = Math.floor(ns / 1000);
      else {
        this.slow(tx);
        return;
      }
      const r = ns - q * 1000;
      if (r === 500) {
        this.slow(tx);
        return;
      }
      const us = r > 500 ? q + 1 : q;
      let msInt = (us / 1000) | 0;
      const frac = us - msInt * 1000;
      // Integer milliseconds, most significant digit first.
      let digits = 1;
      for (let t = msInt; t >= 10; t = (t / 10) | 0) digits++;
      for (let i = o + digits - 1; i >= o; i--) {
        const next = (msInt / 10) | 0;
        a[i] = Ch.ZERO + (msInt - next * 10);
        msInt = next;
      }
      o += digits;
      a[o++] = Ch.DOT;
      o = put3(a, o, frac);
      o = put(a, o, MS_TAIL);
    }
    a[o++] = Ch.SPACE;
    a[o++] = Ch.BAR;
    a[o++] = Ch.SPACE;
    // Request text: ASCII is the same bytes after a UTF-8 round trip; anything
    // else (where invalid sequences would become U+FFFD) takes the string path.
    const pv = tx.preview;
    const view = w.view;
    let any = 0;
    let i = 0;
    for (const words = previewLen & ~3; i < words; i += 4) {
      const word = pv[i] | (pv[i + 1] << 8) | (pv[i + 2] << 16) | (pv[i + 3] << 24);
      any |= word;
      view.setInt32(o + i, word, true);
    }
    for (; i < previewLen; i++) {
      const b = pv[i];
      any |= b;
      a[o + i] = b;
    }
    o += previewLen;
    if ((any & 0x80808080) !== 0) {
      this.slow(tx);
      return;
    }
    if (previewLen >= pv.length) {
      a[o++] = Ch.DOT;
      a[o++] = Ch.DOT;
      a[o++] = Ch.DOT;
    }
    if (tx.statusText !== '') o = put(a, o, statusTail(tx.statusText));
    if (tx.statusCount >= 0) {
      // `| SELECT 3`, `| OK 1`: the count after the status.
      a[o++] = Ch.SPACE;
      let n = tx.statusCount;
      let digits = 1;
      for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
      for (let j = o + digits - 1; j >= o; j--) {
        const next = Math.floor(n / 10);
        a[j] = Ch.ZERO + (n - next * 10);
        n = next;
      }
      o += digits;
    }
    if (tx.status === TxStatus.Error) o = put(a, o, ERROR_TAIL);
    a[o++] = Ch.LF;
    w.used = o;
  }

  /** The line as a string: what the byte path produces, for the lines it leaves out. */
  private slow(tx: Transaction): void {
    const unanswered = tx.status === TxStatus.NoResponse;
    const time = unanswered ? this.clock.format(tx.reqSec, tx.reqNsec) : this.clock.format(tx.rspSec, tx.rspNsec);
    const conn = tx.conn;
    let latency: string;
    let tail = '';
    if (unanswered) {
      latency = tx.inFlight ? 'in flight' : 'no response';
    } else {
      latency = `${(tx.latencyNs / 1e6).toFixed(3)} ms`;
      if (tx.statusText !== '') tail = ` | ${tx.statusText.slice(0, 32)}`;
      if (tx.statusCount >= 0) tail += ` ${tx.statusCount}`;
      if (tx.errorMessage !== '') tail += ` ${tx.errorMessage.replace(/[\x00-\x1f\x7f]/g, '.')}`;
      if (tx.status === TxStatus.Error) tail += ' | error';
    }
    this.writer.write(`${time} ${conn.endpoints()} | ${latency} | ${tx.requestText()}${tail}\n`);
  }

  flush(): void {
    this.writer.flush();
  }

  close(): void {
    this.writer.close();
  }
}

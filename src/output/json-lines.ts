// --json: one JSON object per transaction (NDJSON), for pipes and log shippers:
// {"time":"2020-02-06T23:01:39.706512Z","client":"127.0.0.1:54484","server":"127.0.0.1:6379",
//  "protocol":"redis","command":"GET","request":"GET test_key","status":null,"latency_us":270,
//  "request_bytes":31,"response_bytes":9,"error":false,"answered":true}
//
// time is when the request's first byte was seen (UTC, microseconds);
// latency_us is to the response's first byte, whole microseconds, null when
// no response came (answered false). status is the response's status as the
// line shows it ("200", "NXDOMAIN", "HIT"), null when the protocol has none.
// With -t, only requests at least that slow (or waited on that long).
//
// As the line output, objects are written as bytes straight into the writer's
// arena. A request with non-ASCII bytes (whose UTF-8 decoding the string path
// owns) takes the string path: JSON.stringify of the same object.
import { TxStatus, type Transaction } from '../pairing/transaction';
import { put3 } from './clock';
import type { CommandTable } from './commands';
import type { Output } from './output';
import type { FdWriter } from './writer';

const HEX = Buffer.from('0123456789abcdef', 'latin1');
/** Room for an object but for its endpoints: fixed text, numbers, a request of 256 bytes each escaped to 6. */
const ROOM = 512 + 6 * 260;

function ascii(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

const TIME_OPEN = ascii('{"time":"');
const CLIENT = ascii('Z","client":"');
const SERVER = ascii('","server":"');
const PROTOCOL = ascii('","protocol":');
const COMMAND = ascii(',"command":');
const REQUEST = ascii(',"request":"');
const STATUS = ascii('","status":');
const NULL = ascii('null');
const LATENCY = ascii(',"latency_us":');
const REQ_BYTES = ascii(',"request_bytes":');
const RSP_BYTES = ascii(',"response_bytes":');
const ERROR = ascii(',"error":');
const ANSWERED = ascii(',"answered":');
const TRUE = ascii('true');
const FALSE = ascii('false');
const CLOSE = ascii('}\n');

function put(buf: Buffer, off: number, bytes: Buffer): number {
  for (let i = 0; i < bytes.length; i++) buf[off++] = bytes[i];
  return off;
}

/** Writes a whole number (|n| < 2^53) in decimal; returns the offset after it. */
function putInt(buf: Buffer, off: number, n: number): number {
  if (n < 0) {
    buf[off++] = 0x2d;
    n = -n;
  }
  let digits = 1;
  for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
  for (let i = off + digits - 1; i >= off; i--) {
    const next = Math.floor(n / 10);
    buf[i] = 48 + (n - next * 10);
    n = next;
  }
  return off + digits;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** "2020-02-06T23:01:39" in UTC. */
function isoSeconds(sec: number): string {
  const d = new Date(sec * 1000);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

/** The object an --json line holds; the string path and the tests build it. */
export function transactionObject(tx: Transaction, command: string): Record<string, unknown> {
  const us = 1_000_000 + Math.floor(tx.reqNsec / 1000);
  const answered = tx.status !== TxStatus.NoResponse;
  return {
    time: `${isoSeconds(tx.reqSec)}.${String(us).slice(1)}Z`,
    client: tx.conn.client(),
    server: tx.conn.server(),
    protocol: tx.protocol,
    command,
    request: tx.requestText(),
    status: answered && tx.statusText !== '' ? tx.statusText : null,
    latency_us: answered ? Math.round(tx.latencyNs / 1000) : null,
    request_bytes: tx.reqBytes,
    response_bytes: tx.rspBytes,
    error: tx.status === TxStatus.Error,
    answered,
  };
}

export class JsonLineOutput implements Output {
  private readonly thresholdNs: number;
  /** The time's date and seconds as bytes, formatted once per second. */
  private sec = -1;
  private secBytes: Buffer = Buffer.alloc(0);
  /** JSON strings (quotes included) of the protocol, commands and statuses: a few constants each. */
  private protocol = '';
  private protocolBytes: Buffer = Buffer.alloc(0);
  private readonly commandBytes: Buffer[] = [];
  private readonly statusBytes = new Map<string, Buffer>();

  constructor(
    private readonly writer: FdWriter,
    private readonly commands: CommandTable,
    thresholdMs: number,
  ) {
    this.thresholdNs = thresholdMs * 1e6;
  }

  transaction(tx: Transaction): void {
    if (tx.latencyNs < this.thresholdNs) return;
    const w = this.writer;
    const conn = tx.conn;
    const ep = conn.endpointsBytes();
    if (!w.reserve(ROOM + ep.length)) return;
    const cmd = this.commands.of(tx);
    const a = w.arena;
    const start = w.used;
    let o = put(a, start, TIME_OPEN);
    if (tx.reqSec !== this.sec) {
      this.sec = tx.reqSec;
      this.secBytes = ascii(isoSeconds(tx.reqSec));
    }
    o = put(a, o, this.secBytes);
    const us = ((tx.reqNsec / 1000) | 0) % 1_000_000;
    const hi = (us / 1000) | 0;
    a[o++] = 0x2e;
    o = put3(a, o, hi);
    o = put3(a, o, us - hi * 1000);
    o = put(a, o, CLIENT);
    // endpointsBytes() is `client => server`, ASCII.
    const clientLen = conn.client().length;
    for (let i = 0; i < clientLen; i++) a[o++] = ep[i];
    o = put(a, o, SERVER);
    for (let i = clientLen + 4; i < ep.length; i++) a[o++] = ep[i];
    o = put(a, o, PROTOCOL);
    if (tx.protocol !== this.protocol) {
      this.protocol = tx.protocol;
      this.protocolBytes = Buffer.from(JSON.stringify(tx.protocol), 'utf8');
    }
    o = put(a, o, this.protocolBytes);
    o = put(a, o, COMMAND);
    let cb = this.commandBytes[cmd];
    if (cb === undefined) cb = this.commandBytes[cmd] = Buffer.from(JSON.stringify(this.commands.name(cmd)), 'utf8');
    o = put(a, o, cb);
    o = put(a, o, REQUEST);
    const pv = tx.preview;
    const n = tx.previewLen;
    for (let i = 0; i < n; i++) {
      const b = pv[i];
      if (b >= 0x20 && b < 0x80 && b !== 0x22 && b !== 0x5c) {
        a[o++] = b;
      } else if (b >= 0x80) {
        // UTF-8 (or not): the string path decodes it as the line output does.
        this.slow(tx, cmd);
        return;
      } else {
        a[o++] = 0x5c;
        if (b === 0x22 || b === 0x5c) a[o++] = b;
        else if (b === 0x08) a[o++] = 0x62; // \b
        else if (b === 0x09) a[o++] = 0x74; // \t
        else if (b === 0x0a) a[o++] = 0x6e; // \n
        else if (b === 0x0c) a[o++] = 0x66; // \f
        else if (b === 0x0d) a[o++] = 0x72; // \r
        else {
          a[o++] = 0x75; // \u00XX
          a[o++] = 0x30;
          a[o++] = 0x30;
          a[o++] = HEX[b >> 4];
          a[o++] = HEX[b & 15];
        }
      }
    }
    if (n >= pv.length) {
      a[o++] = 0x2e;
      a[o++] = 0x2e;
      a[o++] = 0x2e;
    }
    o = put(a, o, STATUS);
    const answered = tx.status !== TxStatus.NoResponse;
    if (answered && tx.statusText !== '') {
      let sb = this.statusBytes.get(tx.statusText);
      if (sb === undefined) {
        sb = Buffer.from(JSON.stringify(tx.statusText), 'utf8');
        this.statusBytes.set(tx.statusText, sb);
      }
      o = put(a, o, sb);
    } else {
      o = put(a, o, NULL);
    }
    o = put(a, o, LATENCY);
    o = answered ? putInt(a, o, Math.round(tx.latencyNs / 1000)) : put(a, o, NULL);
    o = put(a, o, REQ_BYTES);
    o = putInt(a, o, tx.reqBytes);
    o = put(a, o, RSP_BYTES);
    o = putInt(a, o, tx.rspBytes);
    o = put(a, o, ERROR);
    o = put(a, o, tx.status === TxStatus.Error ? TRUE : FALSE);
    o = put(a, o, ANSWERED);
    o = put(a, o, answered ? TRUE : FALSE);
    o = put(a, o, CLOSE);
    w.used = o;
  }

  /** The object through JSON.stringify: what the byte path writes, for the objects it leaves out. */
  private slow(tx: Transaction, cmd: number): void {
    this.writer.write(`${JSON.stringify(transactionObject(tx, this.commands.name(cmd)))}\n`);
  }

  flush(): void {
    this.writer.flush();
  }

  close(): void {
    this.writer.close();
  }
}

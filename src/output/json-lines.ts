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
// mysql and pgsql add, after response_bytes: "rows" (returned), "affected_rows",
// "error_code" (MySQL's), "sqlstate" and "error_message", each null when the
// response has none.
//
// As the line output, objects are written as bytes straight into the writer's
// arena. A request with non-ASCII bytes (whose UTF-8 decoding the string path
// owns) takes the string path: JSON.stringify of the same object.
import { TxStatus, type Transaction } from '../pairing/transaction';
import { put3 } from './clock';
import type { CommandTable } from '../stats/commands';
import type { Output } from '../pairing/consumer';
import { toWords, type FdWriter } from './writer';
import { requestFields, requestTopics } from '../protocol/kafka';

const HEX = Buffer.from('0123456789abcdef', 'latin1');
/** Room for an object but for its endpoints and command: fixed text, numbers, a request of 256 bytes each escaped to 6. */
const ROOM = 256 + 6 * 260;

/** Fixed text as little-endian words, written a word at a time (FdWriter.putWords). */
class Fragment {
  readonly words: Int32Array;
  readonly len: number;
  constructor(text: string) {
    const bytes = Buffer.from(text, 'utf8');
    this.words = toWords(bytes);
    this.len = bytes.length;
  }
}

const CLIENT = new Fragment('Z","client":"');
const SERVER = new Fragment('","server":"');
const LATENCY = new Fragment(',"latency_us":');
const NO_LATENCY = new Fragment(',"latency_us":null');
const REQ_BYTES = new Fragment(',"request_bytes":');
const RSP_BYTES = new Fragment(',"response_bytes":');
const STATUS_NULL = new Fragment('","status":null');
const ROWS = new Fragment(',"rows":');
const AFFECTED = new Fragment(',"affected_rows":');
const NULL = new Fragment('null');
const SQL_NO_ERROR = new Fragment(',"error_code":null,"sqlstate":null,"error_message":null');
const TAIL_OK = new Fragment(',"error":false,"answered":true}\n');
const TAIL_ERROR = new Fragment(',"error":true,"answered":true}\n');
const TAIL_NO_RESPONSE = new Fragment(',"error":false,"answered":false}\n');
const TAIL_IN_FLIGHT = new Fragment(',"error":false,"answered":false,"in_flight":true}\n');

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
  const obj: Record<string, unknown> = {
    time: `${isoSeconds(tx.reqSec)}.${String(us).slice(1)}Z`,
    client: tx.conn.client(),
    server: tx.conn.server(),
    protocol: tx.protocol,
    command,
    request: tx.requestText(),
    status: answered && tx.statusText !== '' ? (tx.statusCount >= 0 ? `${tx.statusText} ${tx.statusCount}` : tx.statusText) : null,
    latency_us: answered ? Math.round(tx.latencyNs / 1000) : null,
    request_bytes: tx.reqBytes,
    response_bytes: tx.rspBytes,
    ...(isSql(tx.protocol)
      ? {
          rows: tx.rows >= 0 ? tx.rows : null,
          affected_rows: tx.affectedRows >= 0 ? tx.affectedRows : null,
          error_code: tx.errorCode >= 0 ? tx.errorCode : null,
          sqlstate: tx.sqlState !== '' ? tx.sqlState : null,
          error_message: tx.errorMessage !== '' ? tx.errorMessage : null,
        }
      : {}),
    error: tx.status === TxStatus.Error,
    answered,
  };
  if (tx.protocol === 'kafka') {
    // Kafka's own fields: what the request said, and the response's error code (null without one).
    const f = requestFields(tx.detail, tx.detailLen);
    obj.api_version = f === null ? null : f.apiVersion;
    obj.correlation_id = tx.matchId < 0 ? null : tx.matchId | 0;
    obj.client_id = f === null ? null : f.clientId;
    obj.topics = requestTopics(tx.requestText());
    obj.error_code = answered && tx.statusText !== '' ? tx.statusCode : null;
    obj.long_poll = tx.longPoll;
  }
  if (tx.inFlight) obj.in_flight = true;
  return obj;
}

function isSql(protocol: string): boolean {
  return protocol === 'mysql' || protocol === 'pgsql';
}

export class JsonLineOutput implements Output {
  private readonly thresholdNs: number;
  /** `{"time":"2020-02-06T23:01:39`, made once per second. */
  private sec = -1;
  private opening = new Fragment('');
  /** `","protocol":"redis","command":"GET","request":"` per command id, for the protocol last seen. */
  private middles: Fragment[] = [];
  private middlesProtocol = '';
  /** The same per protocol, when ports speak different ones (several ports without -m). */
  private readonly middlesBy = new Map<string, Fragment[]>();
  /** `","status":"200"` per status text. */
  private readonly statuses = new Map<string, Fragment>();
  /** `","status":"SELECT ` per status text that a count follows. */
  private readonly openStatuses = new Map<string, Fragment>();

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
    const cmd = this.commands.of(tx);
    if (tx.detailLen > 0) {
      // A protocol's own fields (Kafka): the string path writes them.
      this.slow(tx, cmd);
      return;
    }
    if (tx.protocol !== this.middlesProtocol) {
      this.middlesProtocol = tx.protocol;
      let table = this.middlesBy.get(tx.protocol);
      if (table === undefined) this.middlesBy.set(tx.protocol, (table = []));
      this.middles = table;
    }
    let middle = this.middles[cmd];
    if (middle === undefined) {
      middle = this.middles[cmd] = new Fragment(`","protocol":${JSON.stringify(tx.protocol)},"command":${JSON.stringify(this.commands.name(cmd))},"request":"`);
    }
    const sql = isSql(tx.protocol);
    if (sql && (tx.errorCode >= 0 || tx.sqlState !== '' || tx.errorMessage !== '')) {
      this.slow(tx, cmd);
      return;
    }
    if (!w.reserve(ROOM + ep.length + middle.len)) return;
    const a = w.arena;
    if (tx.reqSec !== this.sec) {
      this.sec = tx.reqSec;
      this.opening = new Fragment(`{"time":"${isoSeconds(tx.reqSec)}`);
    }
    let o = w.putWords(w.used, this.opening.words, this.opening.len);
    const us = ((tx.reqNsec / 1000) | 0) % 1_000_000;
    const hi = (us / 1000) | 0;
    a[o++] = 0x2e;
    o = put3(a, o, hi);
    o = put3(a, o, us - hi * 1000);
    o = w.putWords(o, CLIENT.words, CLIENT.len);
    // endpointsBytes() is `client => server`, ASCII; the client starts it, on a word boundary.
    const clientLen = conn.client().length;
    o = w.putWords(o, conn.endpointsWords(), clientLen);
    o = w.putWords(o, SERVER.words, SERVER.len);
    for (let i = clientLen + 4; i < ep.length; i++) a[o++] = ep[i];
    o = w.putWords(o, middle.words, middle.len);
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
    const answered = tx.status !== TxStatus.NoResponse;
    let status = STATUS_NULL;
    if (answered && tx.statusText !== '' && tx.statusCount >= 0) {
      // `"status":"SELECT 3"`: the text's fragment without its closing quote, then the count.
      let open = this.openStatuses.get(tx.statusText);
      if (open === undefined) this.openStatuses.set(tx.statusText, (open = new Fragment(`","status":${JSON.stringify(tx.statusText).slice(0, -1)} `)));
      o = w.putWords(o, open.words, open.len);
      o = putInt(a, o, tx.statusCount);
      a[o++] = 0x22;
    } else if (answered && tx.statusText !== '') {
      const found = this.statuses.get(tx.statusText);
      if (found === undefined) this.statuses.set(tx.statusText, (status = new Fragment(`","status":${JSON.stringify(tx.statusText)}`)));
      else status = found;
    }
    if (!(answered && tx.statusText !== '' && tx.statusCount >= 0)) o = w.putWords(o, status.words, status.len);
    if (answered) {
      o = w.putWords(o, LATENCY.words, LATENCY.len);
      o = putInt(a, o, Math.round(tx.latencyNs / 1000));
    } else {
      o = w.putWords(o, NO_LATENCY.words, NO_LATENCY.len);
    }
    o = w.putWords(o, REQ_BYTES.words, REQ_BYTES.len);
    o = putInt(a, o, tx.reqBytes);
    o = w.putWords(o, RSP_BYTES.words, RSP_BYTES.len);
    o = putInt(a, o, tx.rspBytes);
    if (sql) {
      o = w.putWords(o, ROWS.words, ROWS.len);
      o = tx.rows >= 0 ? putInt(a, o, tx.rows) : w.putWords(o, NULL.words, NULL.len);
      o = w.putWords(o, AFFECTED.words, AFFECTED.len);
      o = tx.affectedRows >= 0 ? putInt(a, o, tx.affectedRows) : w.putWords(o, NULL.words, NULL.len);
      o = w.putWords(o, SQL_NO_ERROR.words, SQL_NO_ERROR.len);
    }
    const tail = !answered ? (tx.inFlight ? TAIL_IN_FLIGHT : TAIL_NO_RESPONSE) : tx.status === TxStatus.Error ? TAIL_ERROR : TAIL_OK;
    o = w.putWords(o, tail.words, tail.len);
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

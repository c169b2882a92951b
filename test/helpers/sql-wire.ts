// Wire bytes for the MySQL and PostgreSQL parser tests, and a sink that keeps
// what the SQL parsers report, fed a conversation split at every byte.
import assert from 'node:assert/strict';
import { newPairedConnection } from '../../src/pairing/connection';
import type { MessageInfo, MessageKind, MessageSink, ParserConnection, ParserFactory, ResetReason } from '../../src/protocol/message';

export interface SqlEvent {
  client: boolean;
  text: string;
  kind: MessageKind;
  error: boolean;
  bytes: number;
  status: string;
  count: number;
  rows: number;
  affected: number;
  code: number;
  sqlState: string;
  message: string;
}

export class SqlRecorder implements MessageSink {
  seen: SqlEvent[] = [];
  resets: ResetReason[] = [];
  /** Each message's `incomplete` flag, in order (kept apart: most tests compare `seen` whole). */
  incomplete: boolean[] = [];
  message(_c: ParserConnection, client: boolean, m: MessageInfo): void {
    this.incomplete.push(m.incomplete);
    this.seen.push({
      client,
      text: m.preview.toString('latin1', 0, m.previewLen),
      kind: m.kind,
      error: m.isError,
      bytes: m.bytes,
      status: m.statusText,
      count: m.statusCount,
      rows: m.rows,
      affected: m.affectedRows,
      code: m.errorCode,
      sqlState: m.sqlState,
      message: m.errorMessage,
    });
  }
  reset(_c: ParserConnection, _f: boolean, r: ResetReason): void {
    this.resets.push(r);
  }
}

/** A conversation: each step is bytes one side sends, in the order they go. */
export type Step = [client: boolean, bytes: Buffer];

/** Feeds the steps to a fresh pair of parsers, step `split` cut at byte `at` (or whole). */
export function play(factory: ParserFactory, steps: Step[], split = -1, at = 0): SqlRecorder {
  const rec = new SqlRecorder();
  const conn = newPairedConnection();
  const req = factory(conn, true, rec);
  const rsp = factory(conn, false, rec);
  steps.forEach(([client, bytes], i) => {
    const p = client ? req : rsp;
    if (i === split) {
      p.feed(bytes, 0, at, i, 0);
      p.feed(bytes, at, bytes.length, i, 1);
    } else {
      p.feed(bytes, 0, bytes.length, i, 0);
    }
  });
  return rec;
}

/** The events of the whole conversation, and the same with every step split at every byte and fed byte by byte. */
export function everySplit(factory: ParserFactory, steps: Step[], expected: Partial<SqlEvent>[], resets: ResetReason[] = []): void {
  const check = (rec: SqlRecorder, what: string): void => {
    assert.equal(rec.seen.length, expected.length, `${what}: ${JSON.stringify(rec.seen.map((e) => e.text || e.status))}`);
    rec.seen.forEach((e, i) => {
      const want = expected[i];
      const got = Object.fromEntries(Object.keys(want).map((k) => [k, e[k as keyof SqlEvent]]));
      assert.deepEqual(got, want, `${what}: event ${i}`);
    });
    assert.deepEqual(rec.resets, resets, `${what}: resets`);
  };
  check(play(factory, steps), 'whole');
  steps.forEach(([, bytes], s) => {
    for (let at = 1; at < bytes.length; at++) check(play(factory, steps, s, at), `step ${s} split at ${at}`);
  });
  // Byte by byte: every step as one-byte chunks.
  const rec = new SqlRecorder();
  const conn = newPairedConnection();
  const req = factory(conn, true, rec);
  const rsp = factory(conn, false, rec);
  steps.forEach(([client, bytes], i) => {
    for (let j = 0; j < bytes.length; j++) (client ? req : rsp).feed(bytes, j, j + 1, i, 0);
  });
  check(rec, 'byte by byte');
}

// ---------------------------------------------------------------- PostgreSQL

const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
const i32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const i16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};

/** A typed message: its type, a length that counts itself, the body. */
export function pgMsg(type: string, ...body: Buffer[]): Buffer {
  const b = Buffer.concat(body);
  return Buffer.concat([Buffer.from(type, 'latin1'), i32(b.length + 4), b]);
}

export const pg = {
  startup: (user: string, db?: string): Buffer => {
    const params = Buffer.concat([cstr('user'), cstr(user), ...(db === undefined ? [] : [cstr('database'), cstr(db)]), cstr('application_name'), cstr('t'), Buffer.from([0])]);
    return Buffer.concat([i32(params.length + 8), i32(196608), params]);
  },
  sslRequest: (): Buffer => Buffer.concat([i32(8), i32(80877103)]),
  query: (sql: string): Buffer => pgMsg('Q', cstr(sql)),
  parse: (name: string, sql: string): Buffer => pgMsg('P', cstr(name), cstr(sql), i16(0)),
  bind: (portal: string, stmt: string, params: string[] = []): Buffer =>
    pgMsg('B', cstr(portal), cstr(stmt), i16(0), i16(params.length), ...params.flatMap((p) => [i32(Buffer.byteLength(p)), Buffer.from(p)]), i16(0)),
  describe: (portal: string): Buffer => pgMsg('D', Buffer.from('P'), cstr(portal)),
  execute: (portal: string, maxRows = 0): Buffer => pgMsg('E', cstr(portal), i32(maxRows)),
  sync: (): Buffer => pgMsg('S'),
  terminate: (): Buffer => pgMsg('X'),
  password: (p: string): Buffer => pgMsg('p', cstr(p)),
  copyData: (d: string): Buffer => pgMsg('d', Buffer.from(d)),
  copyDone: (): Buffer => pgMsg('c'),
  // Server messages.
  auth: (code: number, extra: Buffer = Buffer.alloc(0)): Buffer => pgMsg('R', i32(code), extra),
  param: (k: string, v: string): Buffer => pgMsg('S', cstr(k), cstr(v)),
  keyData: (): Buffer => pgMsg('K', i32(42), i32(4242)),
  ready: (): Buffer => pgMsg('Z', Buffer.from('I')),
  rowDescription: (...cols: string[]): Buffer => pgMsg('T', i16(cols.length), ...cols.flatMap((c) => [cstr(c), i32(0), i16(0), i32(25), i16(-1), i32(-1), i16(0)])),
  dataRow: (...vals: string[]): Buffer => pgMsg('D', i16(vals.length), ...vals.flatMap((v) => [i32(Buffer.byteLength(v)), Buffer.from(v)])),
  complete: (tag: string): Buffer => pgMsg('C', cstr(tag)),
  error: (code: string, message: string, severity = 'ERROR'): Buffer =>
    pgMsg('E', Buffer.from('S'), cstr(severity), Buffer.from('V'), cstr(severity), Buffer.from('C'), cstr(code), Buffer.from('M'), cstr(message), Buffer.from([0])),
  notice: (message: string): Buffer => pgMsg('N', Buffer.from('S'), cstr('NOTICE'), Buffer.from('C'), cstr('00000'), Buffer.from('M'), cstr(message), Buffer.from([0])),
  notification: (channel: string, payload: string): Buffer => pgMsg('A', i32(7), cstr(channel), cstr(payload)),
  parseComplete: (): Buffer => pgMsg('1'),
  bindComplete: (): Buffer => pgMsg('2'),
  noData: (): Buffer => pgMsg('n'),
  portalSuspended: (): Buffer => pgMsg('s'),
  copyIn: (): Buffer => pgMsg('G', Buffer.from([0]), i16(0)),
};

// ---------------------------------------------------------------- MySQL

/** A packet: 3-byte length, sequence id, payload. */
export function myPkt(seq: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUIntLE(payload.length, 0, 3);
  h[3] = seq;
  return Buffer.concat([h, payload]);
}

export function lenenc(n: number): Buffer {
  if (n < 0xfb) return Buffer.from([n]);
  if (n < 0x10000) return Buffer.from([0xfc, n & 0xff, n >> 8]);
  const b = Buffer.alloc(4);
  b[0] = 0xfd;
  b.writeUIntLE(n, 1, 3);
  return b;
}

const lestr = (s: string): Buffer => Buffer.concat([lenenc(Buffer.byteLength(s)), Buffer.from(s)]);
const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

export const CAP = {
  connectWithDb: 0x8,
  compress: 0x20,
  protocol41: 0x200,
  ssl: 0x800,
  secure: 0x8000,
  pluginAuth: 0x80000,
  lenencAuth: 0x200000,
  deprecateEof: 0x1000000,
};
export const BASE_CAPS = CAP.protocol41 | CAP.secure | CAP.pluginAuth | CAP.lenencAuth | CAP.connectWithDb;

export const my = {
  greeting: (caps: number): Buffer =>
    myPkt(0, Buffer.concat([Buffer.from([10]), cstr('10.11.6-MariaDB'), u32(7), Buffer.alloc(8, 0x61), Buffer.from([0]), u16(caps & 0xffff), Buffer.from([33]), u16(2), u16(caps >>> 16), Buffer.from([21]), Buffer.alloc(10), Buffer.alloc(12, 0x62), Buffer.from([0]), cstr('mysql_native_password')])),
  login: (caps: number, user: string, db: string): Buffer =>
    myPkt(1, Buffer.concat([u32(caps), u32(16777216), Buffer.from([33]), Buffer.alloc(23), cstr(user), lenenc(20), Buffer.alloc(20, 0x63), cstr(db), cstr('mysql_native_password')])),
  sslRequest: (caps: number): Buffer => myPkt(1, Buffer.concat([u32(caps | CAP.ssl), u32(16777216), Buffer.from([33]), Buffer.alloc(23)])),
  com: (com: number, arg: Buffer | string = Buffer.alloc(0)): Buffer => myPkt(0, Buffer.concat([Buffer.from([com]), typeof arg === 'string' ? Buffer.from(arg) : arg])),
  query: (sql: string): Buffer => my.com(3, sql),
  ok: (seq: number, affected = 0, status = 2, header = 0): Buffer => myPkt(seq, Buffer.concat([Buffer.from([header]), lenenc(affected), lenenc(0), u16(status), u16(0)])),
  err: (seq: number, code: number, state: string, message: string): Buffer => myPkt(seq, Buffer.concat([Buffer.from([0xff]), u16(code), Buffer.from(`#${state}${message}`)])),
  eof: (seq: number, status = 2): Buffer => myPkt(seq, Buffer.concat([Buffer.from([0xfe]), u16(0), u16(status)])),
  columnCount: (seq: number, n: number): Buffer => myPkt(seq, lenenc(n)),
  column: (seq: number, name: string): Buffer => myPkt(seq, Buffer.concat([lestr('def'), lestr('test'), lestr('t'), lestr('t'), lestr(name), lestr(name), Buffer.from([0x0c]), u16(33), u32(80), Buffer.from([253]), u16(0), Buffer.from([0]), u16(0)])),
  row: (seq: number, ...vals: string[]): Buffer => myPkt(seq, Buffer.concat(vals.map(lestr))),
  prepareOk: (seq: number, id: number, cols: number, params: number): Buffer => myPkt(seq, Buffer.concat([Buffer.from([0]), u32(id), u16(cols), u16(params), Buffer.from([0]), u16(0)])),
  execute: (id: number): Buffer => my.com(0x17, Buffer.concat([u32(id), Buffer.from([0]), u32(1), Buffer.from([0]), Buffer.from([1]), u16(3), u32(42)])),
  close: (id: number): Buffer => my.com(0x19, u32(id)),
};

/** A compressed-protocol frame around `payload` (deflated when `deflate`). */
export function myFrame(seq: number, payload: Buffer, deflate: boolean): Buffer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const zlib = require('node:zlib') as typeof import('node:zlib');
  const body = deflate ? zlib.deflateSync(payload) : payload;
  const h = Buffer.alloc(7);
  h.writeUIntLE(body.length, 0, 3);
  h[3] = seq;
  h.writeUIntLE(deflate ? payload.length : 0, 4, 3);
  return Buffer.concat([h, body]);
}

// A MessageSink that records every field a parser reported, and which side it
// said the message or reset came from: for tests that pin a parser's output
// exactly (the mutation tests of test/mutate found the fields Recorder does
// not keep, fromClient and the nanoseconds among them, unchecked).
import assert from 'node:assert/strict';
import type { ParserConnection, ParserFactory, StreamParser } from '../../src/protocol/message';
import { newPairedConnection } from '../../src/pairing/connection';
import { PREVIEW_MAX, DETAIL_MAX, MessageKind, type MessageInfo, type MessageSink, type ResetReason } from '../../src/protocol/message';

export interface Full {
  fromClient: boolean;
  text: string;
  detail: string;
  kind: MessageKind;
  error: boolean;
  incomplete: boolean;
  longPoll: boolean;
  bytes: number;
  status: number;
  statusText: string;
  statusCount: number;
  matchId: number;
  rows: number;
  affectedRows: number;
  errorCode: number;
  sqlState: string;
  errorMessage: string;
  start: [number, number];
  end: [number, number];
}

export interface FullReset {
  fromClient: boolean;
  reason: ResetReason;
}

/** Every field at the value MessageInfo.begin() gives it, and a message from the client at time 0. */
export const BLANK: Full = {
  fromClient: true,
  text: '',
  detail: '',
  kind: MessageKind.Normal,
  error: false,
  incomplete: false,
  longPoll: false,
  bytes: 0,
  status: -1,
  statusText: '',
  statusCount: -1,
  matchId: -1,
  rows: -1,
  affectedRows: -1,
  errorCode: -1,
  sqlState: '',
  errorMessage: '',
  start: [0, 0],
  end: [0, 0],
};

/** A message as BLANK with these fields changed. */
export const msg = (fields: Partial<Full>): Full => ({ ...BLANK, ...fields });

export class FullRecorder implements MessageSink {
  seen: Full[] = [];
  resets: FullReset[] = [];
  /** Messages and resets in the order they came, as 'message' or the reset. */
  order: (Full | FullReset)[] = [];
  message(_c: ParserConnection, fromClient: boolean, m: MessageInfo): void {
    assert.ok(m.previewLen >= 0 && m.previewLen <= PREVIEW_MAX);
    assert.ok(m.detailLen >= 0 && m.detailLen <= DETAIL_MAX);
    const f: Full = {
      fromClient,
      text: m.preview.toString('latin1', 0, m.previewLen),
      detail: m.detail.toString('latin1', 0, m.detailLen),
      kind: m.kind,
      error: m.isError,
      incomplete: m.incomplete,
      longPoll: m.longPoll,
      bytes: m.bytes,
      status: m.status,
      statusText: m.statusText,
      statusCount: m.statusCount,
      matchId: m.matchId,
      rows: m.rows,
      affectedRows: m.affectedRows,
      errorCode: m.errorCode,
      sqlState: m.sqlState,
      errorMessage: m.errorMessage,
      start: [m.startSec, m.startNsec],
      end: [m.endSec, m.endNsec],
    };
    this.seen.push(f);
    this.order.push(f);
  }
  reset(_c: ParserConnection, fromClient: boolean, reason: ResetReason): void {
    const r = { fromClient, reason };
    this.resets.push(r);
    this.order.push(r);
  }
}

/** A connection's two parsers, recorded, fed one whole buffer at a time. */
export interface ParserPair {
  rec: FullRecorder;
  req: StreamParser;
  rsp: StreamParser;
  /** The time of the last feed: t seconds and t * 1000 ns, t counting up from 1. */
  t: number;
  /** Feeds the client's parser, the server's. */
  c(b: Buffer): void;
  s(b: Buffer): void;
}

/**
 * Both directions' parsers of one connection from `factory`. Each feed puts
 * the bytes after `pad` bytes of something else in a larger buffer, so a
 * parser that reads from offset 0 instead of `start` shows.
 */
export function parserPair(factory: ParserFactory, pad: number): ParserPair {
  const rec = new FullRecorder();
  const conn = newPairedConnection();
  const filler = Buffer.alloc(pad, 'z');
  const feed = (parser: StreamParser, b: Buffer): void => {
    p.t++;
    parser.feed(Buffer.concat([filler, b]), pad, pad + b.length, p.t, p.t * 1000);
  };
  const p: ParserPair = {
    rec,
    req: factory(conn, true, rec),
    rsp: factory(conn, false, rec),
    t: 0,
    c: (b) => feed(p.req, b),
    s: (b) => feed(p.rsp, b),
  };
  return p;
}

// A MessageSink that records every field a parser reported, and which side it
// said the message or reset came from: for tests that pin a parser's output
// exactly (the mutation tests of test/mutate found the fields Recorder does
// not keep, fromClient and the nanoseconds among them, unchecked).
import assert from 'node:assert/strict';
import type { ParserConnection } from '../../src/protocol/message';
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

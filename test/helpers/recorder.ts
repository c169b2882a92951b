// A MessageSink that records what a parser reported, for the parser unit tests.
import assert from 'node:assert/strict';
import type { Connection } from '../../src/connections/connection';
import { PREVIEW_MAX, type MessageInfo, type MessageKind, type MessageSink, type ResetReason } from '../../src/protocol/message';

export interface Seen {
  text: string;
  kind: MessageKind;
  error: boolean;
  bytes: number;
  status: number;
  statusText: string;
  matchId: number;
  start: number;
  end: number;
}

export class Recorder implements MessageSink {
  seen: Seen[] = [];
  resets: ResetReason[] = [];
  message(_c: Connection, _fromClient: boolean, m: MessageInfo): void {
    assert.ok(m.previewLen >= 0 && m.previewLen <= PREVIEW_MAX);
    this.seen.push({
      text: m.preview.toString('latin1', 0, m.previewLen),
      kind: m.kind,
      error: m.isError,
      bytes: m.bytes,
      status: m.status,
      statusText: m.statusText,
      matchId: m.matchId,
      start: m.startSec,
      end: m.endSec,
    });
  }
  reset(_c: Connection, _f: boolean, r: ResetReason): void {
    this.resets.push(r);
  }
}

export type Event = Omit<Seen, 'start' | 'end'>;
export const events = (r: Recorder): Event[] => r.seen.map(({ start, end, ...s }) => s);

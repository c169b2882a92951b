// pairing/: requests meet their responses and become Transactions, the one
// thing every consumer (stats/, output/, lua/) receives (consumer.ts).
//
// Pairs each response with the oldest request waiting on its connection.
//
// Latency is from the request's first byte to the response's first byte (the
// original tool's definition); the time to the response's last byte is kept too.
import type { PairedConnection } from './connection';
import { IpProto } from '../decode/packet';
import { MessageKind, ResetReason, type MessageInfo, type MessageSink } from '../protocol/message';
import { Transaction, TxStatus, type TransactionSink } from './transaction';
import { expectsReply, isSubscribe } from './redis-replies';
import { SlotBudget } from './queue';
import { redactorFor, redactMessage, type Redactor } from '../protocol/redact';

export interface PairingCounters {
  requests: number;
  responses: number;
  paired: number;
  /** Responses with no request waiting (the capture began mid-conversation, or a parser reset). */
  orphanResponses: number;
  /** Requests given up on: timed out, or their connection or the capture ended first. */
  unanswered: number;
  /** Server pushes (pub/sub messages, RESP3 pushes): not responses. */
  pushes: number;
  /** Requests that expect no response. */
  noReply: number;
  /** Parser resets because of malformed data, and because of gaps in the capture. */
  malformed: number;
  gaps: number;
  /** Connections that switched to TLS (or GSSAPI encryption): not decoded past that. */
  encrypted: number;
  /** Requests dropped because one connection had too many waiting. */
  overflow: number;
}

function ns(sec: number, nsec: number, fromSec: number, fromNsec: number): number {
  return (sec - fromSec) * 1e9 + (nsec - fromNsec);
}

export class Pairer implements MessageSink {
  private readonly tx = new Transaction();
  /** What every connection's waiting requests may hold together. */
  readonly slots = new SlotBudget();
  readonly counters: PairingCounters = {
    requests: 0,
    responses: 0,
    paired: 0,
    orphanResponses: 0,
    unanswered: 0,
    pushes: 0,
    noReply: 0,
    malformed: 0,
    gaps: 0,
    encrypted: 0,
    overflow: 0,
  };

  private readonly redis: boolean;
  /** Pairing by id: requests before the matched one were answered by silence (memcached quiet opcodes). */
  private readonly dropEarlier: boolean;
  /** --redact: what replaces a request's values with `?` (null: requests as they are). */
  private readonly redactor: Redactor | null;

  constructor(
    private readonly protocol: string,
    private readonly out: TransactionSink,
    /** Seconds a request may wait for its response before it is reported unanswered. */
    private readonly timeoutSec: number,
    redact = false,
  ) {
    this.redis = protocol === 'redis';
    this.dropEarlier = protocol === 'memcached';
    this.redactor = redact ? redactorFor(protocol) : null;
  }

  message(conn: PairedConnection, fromClient: boolean, info: MessageInfo): void {
    const c = this.counters;
    if (fromClient) {
      if (info.kind === MessageKind.NoReply) {
        c.noReply++;
        return;
      }
      if (this.redis && !expectsReply(conn, info.preview, info.previewLen)) {
        c.noReply++;
        return;
      }
      c.requests++;
      const slot = conn.pending.push(this.slots);
      if (slot === null || conn.pending.droppedOnPush) c.overflow++;
      if (slot === null) return;
      slot.startSec = info.startSec;
      slot.startNsec = info.startNsec;
      slot.endSec = info.endSec;
      slot.endNsec = info.endNsec;
      slot.bytes = info.bytes;
      slot.matchId = info.matchId;
      slot.subscribe = this.redis && isSubscribe(info.preview, info.previewLen);
      if (this.redactor !== null) info.previewLen = this.redactor(info.preview, info.previewLen);
      // Swap buffers rather than copy the request text.
      const spare = slot.preview;
      slot.preview = info.preview;
      slot.previewLen = info.previewLen;
      info.preview = spare;
      info.previewLen = 0;
      return;
    }
    if (info.kind === MessageKind.Push) {
      // Under RESP3, (un)subscribe is confirmed by a push: that push answers it.
      const head = conn.pending.peek();
      if (head === null || !head.subscribe) {
        c.pushes++;
        return;
      }
    }
    c.responses++;
    let req;
    if (info.matchId >= 0) {
      // Over UDP a request without its reply was lost, not answered by silence.
      req = conn.pending.takeById(info.matchId, this.dropEarlier && conn.proto === IpProto.Tcp);
      if (req !== null && conn.pending.dropped > 0) c.noReply += conn.pending.dropped;
    } else {
      const head = conn.pending.peek();
      // A response that began before the oldest waiting request cannot answer
      // it (that request's own answer was lost, or its request was dropped).
      req = head !== null && ns(info.startSec, info.startNsec, head.startSec, head.startNsec) >= 0 ? conn.pending.shift() : null;
    }
    if (req === null) {
      c.orphanResponses++;
      return;
    }
    c.paired++;
    const tx = this.tx;
    tx.conn = conn;
    tx.protocol = this.protocol;
    tx.status = info.isError ? TxStatus.Error : TxStatus.Ok;
    tx.statusText = info.statusText;
    tx.reqSec = req.startSec;
    tx.reqNsec = req.startNsec;
    tx.rspSec = info.startSec;
    tx.rspNsec = info.startNsec;
    tx.latencyNs = ns(info.startSec, info.startNsec, req.startSec, req.startNsec);
    tx.completeNs = ns(info.endSec, info.endNsec, req.startSec, req.startNsec);
    tx.reqBytes = req.bytes;
    tx.rspBytes = info.bytes;
    tx.preview = req.preview;
    tx.previewLen = req.previewLen;
    tx.commandId = -1;
    tx.statusCount = info.statusCount;
    tx.rows = info.rows;
    tx.affectedRows = info.affectedRows;
    tx.errorCode = info.errorCode;
    tx.sqlState = info.sqlState;
    tx.errorMessage = this.redactor !== null ? redactMessage(info.errorMessage) : info.errorMessage;
    this.out.transaction(tx);
  }

  reset(conn: PairedConnection, fromClient: boolean, reason: ResetReason): void {
    if (reason === ResetReason.Encrypted) {
      // Not an error of the capture: the rest of the connection is TLS. What waits is given up on.
      this.counters.encrypted++;
      this.drain(conn, conn.lastSeen, 0);
      return;
    }
    if (reason === ResetReason.Gap) this.counters.gaps++;
    else this.counters.malformed++;
    // UDP datagrams stand alone: one bad datagram says nothing about the
    // requests still waiting, which pair by id.
    if (conn.proto === IpProto.Udp) return;
    // Requests lost in the client's direction: the ones already parsed are
    // whole, and the server answers them first, in order, so they still pair.
    // An answer to a lost request comes before the next request is sent (when
    // the client waits for each answer) and so pairs with nothing: a response
    // cannot answer a request sent after it began.
    if (fromClient) return;
    // Responses lost: how many is unknown, so responses can no longer be
    // matched to the requests waiting on this connection. Each is given up
    // on, reported `no response` (counted as unanswered) as of the last
    // packet, and pairing starts afresh.
    this.drain(conn, conn.lastSeen, 0);
  }

  /** Reports requests waiting longer than the timeout at capture time `nowSec`. */
  expire(conn: PairedConnection, nowSec: number, nowNsec: number): void {
    for (let req = conn.pending.peek(); req !== null; req = conn.pending.peek()) {
      if (nowSec - req.startSec < this.timeoutSec) return;
      conn.pending.shift();
      this.giveUp(conn, req.startSec, req.startNsec, req.bytes, req.preview, req.previewLen, nowSec, nowNsec);
    }
  }

  /** Reports every request still waiting on a connection that is going away. */
  drain(conn: PairedConnection, nowSec: number, nowNsec: number): void {
    for (let req = conn.pending.shift(); req !== null; req = conn.pending.shift()) {
      this.giveUp(conn, req.startSec, req.startNsec, req.bytes, req.preview, req.previewLen, nowSec, nowNsec);
    }
  }

  /** The connection left the table: what waits is reported, its slots go back to the budget. */
  forget(conn: PairedConnection, nowSec: number, nowNsec: number): void {
    this.drain(conn, nowSec, nowNsec);
    conn.pending.release();
  }

  private giveUp(
    conn: PairedConnection,
    sec: number,
    nsec: number,
    bytes: number,
    preview: Buffer,
    previewLen: number,
    nowSec: number,
    nowNsec: number,
  ): void {
    this.counters.unanswered++;
    if (nowSec < sec || (nowSec === sec && nowNsec < nsec)) {
      // Given up on before a later clock reading (a reset): as of its own start.
      nowSec = sec;
      nowNsec = nsec;
    }
    const tx = this.tx;
    tx.conn = conn;
    tx.protocol = this.protocol;
    tx.status = TxStatus.NoResponse;
    tx.statusText = '';
    tx.reqSec = sec;
    tx.reqNsec = nsec;
    tx.rspSec = nowSec;
    tx.rspNsec = nowNsec;
    tx.latencyNs = ns(nowSec, nowNsec, sec, nsec);
    tx.completeNs = tx.latencyNs;
    tx.reqBytes = bytes;
    tx.rspBytes = 0;
    tx.preview = preview;
    tx.previewLen = previewLen;
    tx.commandId = -1;
    tx.statusCount = -1;
    tx.rows = -1;
    tx.affectedRows = -1;
    tx.errorCode = -1;
    tx.sqlState = '';
    tx.errorMessage = '';
    this.out.transaction(tx);
  }
}

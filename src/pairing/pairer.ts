// pairing/: requests meet their responses and become Transactions, the one
// thing every consumer (stats/, output/, lua/) receives (consumer.ts).
//
// Pairs each response with the oldest request waiting on its connection.
//
// Latency is from the request's first byte to the response's first byte (the
// original tool's definition); the time to the response's last byte is kept too.
import type { PairedConnection } from './connection';
import { IpProto } from '../decode/packet';
import { DETAIL_MAX, MessageKind, ResetReason, type MessageInfo, type MessageSink } from '../protocol/message';
import { Transaction, TxStatus, type TransactionSink } from './transaction';
import { expectsReply, isPubSubPush, isSubscribe, subscribes } from './redis-replies';
import { SlotBudget, type PendingRequest } from './queue';
import { redactorFor, redactMessage, type Redactor } from '../protocol/redact';

const NO_DETAIL = Buffer.alloc(0);

export interface PairingCounters {
  requests: number;
  responses: number;
  paired: number;
  /** Responses with no request waiting (the capture began mid-conversation, or a parser reset). */
  orphanResponses: number;
  /** Requests given up on: timed out, or their connection ended first. */
  unanswered: number;
  /** Requests still waiting, for less than the timeout, when the capture stopped. */
  inFlight: number;
  /** Server pushes (pub/sub messages, RESP3 pushes): not responses. */
  pushes: number;
  /** Requests that expect no response. */
  noReply: number;
  /** Answered requests whose response's end was never captured (reported from its first bytes). */
  incomplete: number;
  /** Parser resets because of malformed data, and because of gaps in the capture. */
  malformed: number;
  gaps: number;
  /** Connections not decoded because they are encrypted (TLS). */
  encrypted: number;
  /** Answers the server held until a deadline (Kafka long polls): paired, counted apart. */
  longPolls: number;
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
    inFlight: 0,
    pushes: 0,
    noReply: 0,
    incomplete: 0,
    malformed: 0,
    gaps: 0,
    encrypted: 0,
    longPolls: 0,
    overflow: 0,
  };

  private redis: boolean;
  /** Pairing by id: requests before the matched one were answered by silence (memcached quiet opcodes). */
  private dropEarlier: boolean;
  private protocol: string;
  /** Ports that speak another protocol than the run's (several ports without -m): their protocol. */
  private readonly otherPorts: Map<number, string> | null;
  /** --redact: what replaces a request's values with `?` (null: requests as they are). */
  private redactor: Redactor | null;

  constructor(
    private readonly runProtocol: string,
    private readonly out: TransactionSink,
    /** Seconds a request may wait for its response before it is reported unanswered. */
    private readonly timeoutSec: number,
    portProtocols: ReadonlyMap<number, string> | null = null,
    private readonly redact = false,
  ) {
    this.protocol = runProtocol;
    this.redis = runProtocol === 'redis';
    this.dropEarlier = runProtocol === 'memcached';
    this.redactor = redact ? redactorFor(runProtocol) : null;
    let other: Map<number, string> | null = null;
    if (portProtocols !== null) {
      for (const [port, p] of portProtocols) {
        if (p === runProtocol) continue;
        other ??= new Map();
        other.set(port, p);
      }
    }
    this.otherPorts = other;
  }

  /** The connection's protocol, when ports speak different ones (else the run's, set once). */
  private speak(conn: PairedConnection): void {
    const p = this.otherPorts!.get(conn.sport) ?? this.runProtocol;
    if (p === this.protocol) return;
    this.protocol = p;
    this.redis = p === 'redis';
    this.dropEarlier = p === 'memcached';
    if (this.redact) this.redactor = redactorFor(p);
  }

  message(conn: PairedConnection, fromClient: boolean, info: MessageInfo): void {
    const c = this.counters;
    if (this.otherPorts !== null) this.speak(conn);
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
      if (slot.subscribe && subscribes(info.preview, info.previewLen)) conn.subscribed = true;
      if (this.redactor !== null) info.previewLen = this.redactor(info.preview, info.previewLen);
      // Swap buffers rather than copy the request text.
      const spare = slot.preview;
      slot.preview = info.preview;
      slot.previewLen = info.previewLen;
      info.preview = spare;
      info.previewLen = 0;
      if (info.detailLen > 0) {
        const spareDetail = slot.detail ?? Buffer.allocUnsafe(DETAIL_MAX);
        slot.detail = info.detail;
        slot.detailLen = info.detailLen;
        info.detail = spareDetail;
        info.detailLen = 0;
      } else {
        slot.detailLen = 0;
      }
      return;
    }
    // An interim answer (HTTP 100 Continue): the final response is still to come.
    if (info.kind === MessageKind.Interim) return;
    if (info.kind === MessageKind.Push) {
      // Under RESP3, (un)subscribe is confirmed by a push: that push answers it.
      const head = conn.pending.peek();
      if (head === null || !head.subscribe) {
        c.pushes++;
        return;
      }
    }
    if (conn.subscribed && info.kind === MessageKind.Normal && info.previewLen > 0) {
      // RESP2 pub/sub: messages (and extra confirmations) are arrays the server sends unasked.
      const head = conn.pending.peek();
      if (isPubSubPush(info.preview, info.previewLen, head !== null && head.subscribe)) {
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
      let head = conn.pending.peek();
      if (head === null && conn.requestParser !== null && conn.requestParser.flushPartial()) {
        // The answer came before the request's end (an HTTP 413 to a body
        // still on its way, or the request's tail lost): it answers that request.
        head = conn.pending.peek();
      }
      // A response that began before the oldest waiting request cannot answer
      // it (that request's own answer was lost, or its request was dropped).
      req = head !== null && ns(info.startSec, info.startNsec, head.startSec, head.startNsec) >= 0 ? conn.pending.shift() : null;
    }
    if (req === null) {
      c.orphanResponses++;
      return;
    }
    c.paired++;
    if (info.incomplete) c.incomplete++;
    if (info.longPoll) c.longPolls++;
    const tx = this.tx;
    tx.conn = conn;
    tx.protocol = this.protocol;
    tx.status = info.isError ? TxStatus.Error : TxStatus.Ok;
    tx.statusText = info.statusText;
    tx.incomplete = info.incomplete;
    tx.inFlight = false;
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
    tx.detail = req.detail ?? NO_DETAIL;
    tx.detailLen = req.detailLen;
    tx.matchId = req.matchId;
    tx.statusCode = info.status;
    tx.longPoll = info.longPoll;
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
      // Not an error of the capture: the rest of the connection is encrypted,
      // so what waits (a request parsed before the switch) is given up on.
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
      this.giveUp(conn, req, nowSec, nowNsec);
    }
  }

  /** Reports every request still waiting on a connection that is going away. */
  drain(conn: PairedConnection, nowSec: number, nowNsec: number): void {
    for (let req = conn.pending.shift(); req !== null; req = conn.pending.shift()) {
      this.giveUp(conn, req, nowSec, nowNsec);
    }
  }

  /**
   * The capture stopped (end of input, Ctrl-C): requests that have waited
   * less than the timeout are in flight, not unanswered; older ones are given up on.
   */
  stop(conn: PairedConnection, nowSec: number, nowNsec: number): void {
    for (let req = conn.pending.shift(); req !== null; req = conn.pending.shift()) {
      const inFlight = ns(nowSec, nowNsec, req.startSec, req.startNsec) < this.timeoutSec * 1e9;
      this.giveUp(conn, req, nowSec, nowNsec, inFlight);
    }
  }

  /** The connection left the table: what waits is reported, its slots go back to the budget. */
  forget(conn: PairedConnection, nowSec: number, nowNsec: number): void {
    this.drain(conn, nowSec, nowNsec);
    conn.pending.release();
  }

  private giveUp(conn: PairedConnection, req: PendingRequest, nowSec: number, nowNsec: number, inFlight = false): void {
    if (inFlight) this.counters.inFlight++;
    else this.counters.unanswered++;
    if (this.otherPorts !== null) this.speak(conn);
    const sec = req.startSec;
    const nsec = req.startNsec;
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
    tx.incomplete = false;
    tx.inFlight = inFlight;
    tx.reqSec = sec;
    tx.reqNsec = nsec;
    tx.rspSec = nowSec;
    tx.rspNsec = nowNsec;
    tx.latencyNs = ns(nowSec, nowNsec, sec, nsec);
    tx.completeNs = tx.latencyNs;
    tx.reqBytes = req.bytes;
    tx.rspBytes = 0;
    tx.preview = req.preview;
    tx.previewLen = req.previewLen;
    tx.detail = req.detail ?? NO_DETAIL;
    tx.detailLen = req.detailLen;
    tx.matchId = req.matchId;
    tx.statusCode = -1;
    tx.longPoll = false;
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

// memcached over UDP: the 8-byte frame, and pairing by its request id.
import { MessageKind, ResetReason, type MessageSink, type ParserConnection, type StreamParser } from '../message';
import { MemcachedParser } from './parser';

/** Bytes of memcached's UDP frame header. */
export const MEMCACHED_UDP_HEADER_LEN = 8;

/** The UDP frame's request id, which the server echoes: a matchId for UDP pairing. */
export function memcachedUdpRequestId(buf: Buffer, start: number): number {
  return (buf[start] << 8) | buf[start + 1];
}

/**
 * memcached over UDP. Every datagram starts with an 8-byte frame: request id,
 * sequence number, datagram count, reserved (16-bit big-endian each). A reply
 * too big for one datagram comes as several with the same request id,
 * numbered from 0 (memcached 1.6 also sends the parts of one reply, such as a
 * get's VALUE and its END, as separate datagrams each numbered 0 of 1). So
 * datagrams with the request id of the open message continue it, fed in order
 * to one text/binary parser, and the message keeps its first datagram's time.
 * Requests and replies pair by request id (the server echoes it), not by
 * order: UDP may lose or reorder. A datagram out of sequence, or shorter than
 * the frame, ends the message it belongs to (counted as malformed).
 */
export class MemcachedUdpParser implements StreamParser {
  private readonly inner: MemcachedParser;
  /** The message being read: its request id, and the next datagram number expected (-1: none open). */
  private requestId = 0;
  private nextSeq = -1;
  private count = 0;

  constructor(
    private readonly conn: ParserConnection,
    private readonly request: boolean,
    private readonly sink: MessageSink,
  ) {
    // Between the parser and pairing: pairing is by request id.
    const framed: MessageSink = {
      message: (c, fromClient, info) => {
        info.matchId = this.requestId;
        // Over TCP the answer to a later request says a quiet one was answered
        // by silence; over UDP nothing does, so it waits for nothing (an
        // answer that does come, a hit or a failure, counts as unmatched).
        if (fromClient && this.inner.quietRequest) info.kind = MessageKind.NoReply;
        sink.message(c, fromClient, info);
      },
      reset: (c, fromClient, reason) => {
        this.nextSeq = -1;
        sink.reset(c, fromClient, reason);
      },
    };
    this.inner = new MemcachedParser(conn, request, framed);
  }

  feed(buf: Buffer, start: number, end: number, tsSec: number, tsNsec: number): void {
    if (end - start < MEMCACHED_UDP_HEADER_LEN) {
      this.abandon();
      return;
    }
    const id = memcachedUdpRequestId(buf, start);
    const seq = (buf[start + 2] << 8) | buf[start + 3];
    const count = (buf[start + 4] << 8) | buf[start + 5];
    const open = this.inner.midMessage;
    if (open && id === this.requestId && (seq === this.nextSeq || (seq === 0 && this.nextSeq < 0))) {
      // The next part of the message being read.
    } else if (seq === 0) {
      // A new message; one still open lost its later datagrams.
      if (open) this.abandon();
      this.inner.reset();
      this.requestId = id;
      this.count = count;
    } else {
      // Out of sequence: the message it belonged to is lost (or never began here).
      this.abandon();
      return;
    }
    this.nextSeq = seq + 1 < this.count ? seq + 1 : -1;
    this.inner.feed(buf, start + MEMCACHED_UDP_HEADER_LEN, end, tsSec, tsNsec);
  }

  skip(n: number, tsSec: number, tsNsec: number): boolean {
    return this.inner.skip(n, tsSec, tsNsec);
  }

  reset(): void {
    this.inner.reset();
    this.nextSeq = -1;
  }

  flushPartial(): boolean {
    return this.inner.flushPartial();
  }

  /** The open message will not complete. */
  private abandon(): void {
    this.reset();
    this.sink.reset(this.conn, this.request, ResetReason.Malformed);
  }
}

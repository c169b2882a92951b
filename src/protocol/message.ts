// protocol/: one streaming parser per protocol and direction (resp.ts,
// memcached/, http.ts, dns.ts, kafka/, mysql/, pgsql/); this file is their
// contract.
//
// The protocol stage's contract: what a parser is (StreamParser), what it
// reports when a message completes (MessageInfo, MessageKind), and the little it
// knows of its connection (ParserConnection). Parsers write these; pairing reads
// them. This module imports nothing from the stages around it, so a parser can
// be read and tested alone.

/**
 * What a parser knows of the connection it parses: its transport, and an
 * identity it hands back unchanged with every message (pairing's Connection
 * satisfies it). Parsers never reach into the connection table.
 */
export interface ParserConnection {
  /** IPPROTO_TCP (6) or IPPROTO_UDP (17). */
  readonly proto: number;
  /** The server's port: which protocol the connection speaks when ports speak different ones. */
  readonly sport: number;
}

/**
 * What both directions' parsers of one connection share (a handshake's
 * outcome, requests still unanswered), made by the first of them to ask and
 * gone with the connection.
 */
export class PerConnection<S> {
  private readonly states = new WeakMap<ParserConnection, S>();

  constructor(private readonly make: () => S) {}

  of(conn: ParserConnection): S {
    let s = this.states.get(conn);
    if (s === undefined) {
      s = this.make();
      this.states.set(conn, s);
    }
    return s;
  }
}

/** What a completed message is, for pairing. */
export const enum MessageKind {
  /** A request that expects a response, or a response. */
  Normal = 0,
  /** Server-initiated data that answers no request (RESP3 push, pub/sub message). */
  Push = 1,
  /** A request that gets no response (noreply, quiet opcodes, REPLCONF ACK). */
  NoReply = 2,
  /** An interim answer (HTTP 1xx): the final response is still to come; neither a response nor a push. */
  Interim = 3,
}

/** Longest request text kept for output; longer requests are shortened. */
export const PREVIEW_MAX = 256;
/** Bytes of a request's protocol-specific facts kept for --json and Lua (Kafka: key, version, client_id). */
export const DETAIL_MAX = 128;

/**
 * The facts of the message a parser just completed. The parser reuses one of
 * these; pairing copies what it keeps (and swaps `preview` buffers, so the
 * request text is never copied).
 */
export class MessageInfo {
  startSec = 0;
  startNsec = 0;
  endSec = 0;
  endNsec = 0;
  bytes = 0;
  kind: MessageKind = MessageKind.Normal;
  isError = false;
  /**
   * The message's end was never captured (the capture ended, the connection
   * went, or a gap cut it): reported by flushPartial() from what had arrived.
   */
  incomplete = false;
  /**
   * Pairs by identity instead of order when >= 0: a DNS id, a memcached
   * binary opaque. A response pairs with the waiting request of the same id.
   */
  matchId = -1;
  /** A response's status as a number (HTTP status, DNS rcode, ...), -1 when none. */
  status = -1;
  /** A response's status as the line shows it ('200', 'NXDOMAIN', 'NOT_FOUND'); a constant string, '' when none. */
  statusText = '';
  preview: Buffer = Buffer.allocUnsafe(PREVIEW_MAX);
  previewLen = 0;
  /**
   * A request's facts beyond its text, in the parser's own layout, for the
   * outputs that show them (Kafka: protocol/kafka's requestFields()); 0 bytes
   * for most protocols. Travels with the request like `preview`.
   */
  detail: Buffer = Buffer.allocUnsafe(DETAIL_MAX);
  detailLen = 0;
  /**
   * A response the server held back on purpose until a deadline (a Kafka
   * Fetch long poll answered empty at max_wait_ms): its latency is the
   * client's wait, not the server's slowness, and statistics count it apart.
   */
  longPoll = false;
  /**
   * SQL responses (mysql, pgsql): a number the line shows after statusText
   * (`SELECT 3`, `OK 1`), -1 when none; rows returned and rows affected,
   * -1 when the response says none; the server's error code (MySQL),
   * SQLSTATE (a constant string) and error message, -1 and '' when none.
   */
  statusCount = -1;
  rows = -1;
  affectedRows = -1;
  errorCode = -1;
  sqlState = '';
  errorMessage = '';

  /** A new message begins at this time: every fact back to its default. */
  begin(tsSec: number, tsNsec: number): void {
    this.startSec = tsSec;
    this.startNsec = tsNsec;
    this.bytes = 0;
    this.kind = MessageKind.Normal;
    this.isError = false;
    this.incomplete = false;
    this.matchId = -1;
    this.status = -1;
    this.statusText = '';
    this.previewLen = 0;
    this.detailLen = 0;
    this.longPoll = false;
    this.statusCount = -1;
    this.rows = -1;
    this.affectedRows = -1;
    this.errorCode = -1;
    this.sqlState = '';
    this.errorMessage = '';
  }

  /** One byte of request text; control bytes would break the one-line output, so they show as '.'. */
  appendPreview(b: number): void {
    if (this.previewLen < PREVIEW_MAX) this.preview[this.previewLen++] = b < 0x20 || b === 0x7f ? 0x2e : b;
  }

  /** bytes[start, end), byte by byte as appendPreview() takes them. */
  appendBytes(bytes: Uint8Array, start: number, end: number): void {
    for (let i = start; i < end; i++) this.appendPreview(bytes[i]);
  }

  /** Text known to be ASCII (a command's name), byte by byte as appendPreview() takes it. */
  appendAscii(text: string): void {
    for (let i = 0; i < text.length; i++) this.appendPreview(text.charCodeAt(i));
  }

  /** `...`: the text was cut here. */
  appendEllipsis(): void {
    for (let i = 0; i < 3; i++) this.appendPreview(0x2e);
  }
}

/**
 * Receives parser events; pairing implements it, with its own Connection as
 * `conn` (method parameters are checked both ways, and a parser only ever
 * hands back the connection it was created for).
 */
export interface MessageSink {
  /** A message finished; `info` is valid only during the call. */
  message(conn: ParserConnection, fromClient: boolean, info: MessageInfo): void;
  /** The parser lost its place (malformed data or a gap): pairing on this connection restarts. */
  reset(conn: ParserConnection, fromClient: boolean, reason: ResetReason): void;
}

export const enum ResetReason {
  Malformed = 0,
  Gap = 1,
  /** The connection is encrypted (TLS, or GSSAPI encryption): reported once per connection, nothing on it is decoded. */
  Encrypted = 2,
}

/** A streaming parser for one direction of one connection. */
export interface StreamParser {
  /** Parses buf[start, end), captured at the given time. State survives across calls. */
  feed(buf: Buffer, start: number, end: number, tsSec: number, tsNsec: number): void;
  /** `n` bytes of the stream were not captured (snaplen). Returns false if the parser had to reset. */
  skip(n: number, tsSec: number, tsNsec: number): boolean;
  /** Forget any partial message. */
  reset(): void;
  /**
   * A message has begun and has not been reported: report it now from what
   * arrived (MessageInfo.incomplete set), and not again if it completes
   * later. Called when its end will not be captured (end of input, the
   * connection dropped, a gap), and by pairing when a response arrives
   * before its request's end (an early HTTP 413). Returns whether there was one.
   */
  flushPartial(): boolean;
  /** The sender closed (FIN): a message delimited by the close (an HTTP/1.0 body) ends here. */
  end?(tsSec: number, tsNsec: number): void;
}

export type ParserFactory = (conn: ParserConnection, fromClient: boolean, sink: MessageSink) => StreamParser;

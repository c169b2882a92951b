// HTTP/1.0 and HTTP/1.1 (RFC 9112), as a streaming parser for each direction.
//
// A request is a request line, header lines, and a body framed by
// Transfer-Encoding: chunked or Content-Length (none otherwise). A response is
// a status line, header lines, and a body framed by the rules of RFC 9112
// section 6.3: none for 1xx, 204, 304 and any response to HEAD; chunked;
// Content-Length; or else everything until the server closes the connection.
//
// The parser keeps its place across chunks in a few numbers and never buffers
// anything: header names are matched byte by byte against the three it needs
// (Content-Length, Transfer-Encoding, ParserConnection), bodies are stepped over by
// counting, and only the request's `METHOD target` is copied, at most
// PREVIEW_MAX bytes of it, for output.
//
// What the integrator has to know:
// - A response's framing depends on its request's method (HEAD, CONNECT). The
//   two parsers of one connection share a small first-in first-out list of
//   methods, kept in a WeakMap keyed by the Connection: the request parser
//   adds one per request head, the response parser takes one per final
//   response.
// - A body delimited by the connection closing completes only when end() is
//   called: call it when the server's FIN arrives (end() is not yet part of
//   StreamParser, so it is optional there).
// - 1xx interim responses (100 Continue, 103 Early Hints) are reported as
//   MessageKind.Interim, so pairing skips them and the final response pairs with
//   the request. 101 Switching Protocols with `Connection: upgrade` is the
//   final answer to its request (MessageKind.Normal): after it, and after a
//   2xx to CONNECT, both directions carry another protocol and are ignored
//   until reset().
// - isError is status >= 500: a 4xx is the server correctly refusing the
//   request, a 5xx is the server failing it.
import { MessageInfo, MessageKind, PREVIEW_MAX, PerConnection, ResetReason, type MessageSink, type ParserConnection, type ParserFactory, type StreamParser } from './message';
import { afterLf } from './text';

const enum Ch {
  TAB = 9,
  LF = 10,
  CR = 13,
  SPACE = 32,
  COMMA = 44,
  DOT = 46,
  ZERO = 48,
  NINE = 57,
  COLON = 58,
  SEMICOLON = 59,
  UPPER_A = 65,
  UPPER_F = 70,
  UPPER_H = 72,
  UPPER_Z = 90,
  LOWER_A = 97,
  LOWER_F = 102,
  /** OR-ed into an ASCII letter, makes it lower case. */
  CASE = 0x20,
}

const enum State {
  /** Between messages: empty lines are skipped, anything else starts a message. */
  Start,
  /** Request line: the method. */
  Method,
  /** Request line: the target. */
  Target,
  /** `HTTP/1.x`, then the end of the request line or the space before the status. */
  Version,
  /** Status line: the three digits. */
  Status,
  /** Status line: the reason phrase, up to the end of the line. */
  Reason,
  /** The start of a header line, or the empty line that ends the head. */
  HeaderStart,
  HeaderName,
  /** The value of a header the parser needs. */
  HeaderValue,
  /** The rest of a header line the parser does not need. */
  HeaderSkip,
  /** A body of known length. */
  Body,
  /** A body that ends when the connection closes. */
  BodyClose,
  /** A chunk's size, in hex. */
  ChunkSize,
  /** The rest of a chunk-size line: extensions, whitespace, CR. */
  ChunkExt,
  ChunkData,
  /** The CRLF after a chunk's data. */
  ChunkCR,
  ChunkLF,
  /** Trailer lines after the last chunk, up to an empty line. */
  Trailer,
  /** After 101 Switching Protocols or a CONNECT's 2xx: not HTTP any more. */
  Tunnel,
  /** Lost: skipping to the end of the line. */
  Resync,
  /** Lost, at the start of a line: does it look like a start line? */
  ResyncLine,
}

/** What a request's method means for its response's body. */
const enum Method {
  Other = 0,
  Head = 1,
  Connect = 2,
}

/** Header names the parser acts on; the index is the Field. */
const enum Field {
  None = -1,
  ContentLength = 0,
  TransferEncoding = 1,
  Connection = 2,
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** Lower case, as `byte | Ch.CASE` gives for letters (the names hold only letters and '-'). */
const FIELD_NAMES = [ascii('content-length'), ascii('transfer-encoding'), ascii('connection')];
const ALL_FIELDS = 0b111;
/** Header value tokens the parser acts on, lower case letters only. */
const TOKEN_CHUNKED = ascii('chunked');
const TOKEN_UPGRADE = ascii('upgrade');
const BIT_CHUNKED = 1;
const BIT_UPGRADE = 2;
/** Methods are case-sensitive. */
const METHOD_HEAD = ascii('HEAD');
const METHOD_CONNECT = ascii('CONNECT');
const BIT_HEAD = 1;
const BIT_CONNECT = 2;
/** `HTTP/1.`, then one digit. */
const VERSION = ascii('HTTP/1.');

/** Longest method accepted (the longest registered one, BASELINE-CONTROL, has 16 bytes). */
const MAX_METHOD = 32;
/**
 * Largest head (start line and headers), trailer section or chunk-size line
 * accepted; past it the data is taken as not HTTP. Servers refuse far less
 * (8 to 64 KB).
 */
const MAX_HEAD = 256 * 1024;
/** Content-Length values above this (about 1 PB) are taken as malformed; it keeps the arithmetic exact. */
const MAX_LENGTH_DIV10 = 1e14;
/** Chunk sizes above 2^48 are taken as malformed. */
const MAX_CHUNK_DIV16 = 2 ** 44;

/** tchar (RFC 9110 section 5.6.2): what methods and header names are made of. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;

/** statusText for each status code: built once, so no message builds a string. */
const STATUS_TEXT: readonly string[] = Array.from({ length: 600 }, (_, i) => (i >= 100 ? String(i) : ''));

/** Most requests remembered per connection; mirrors pairing's MAX_PENDING. A power of two. */
const MAX_WAITING = 4096;

/**
 * What the two parsers of one connection share: the methods of requests
 * whose final responses have not been seen, first in first out, and whether
 * the connection left HTTP.
 */
class ConnState {
  private methods = new Uint8Array(8);
  private head = 0;
  count = 0;
  tunnel = false;

  push(m: Method): void {
    let cap = this.methods.length;
    if (this.count === cap) {
      if (cap === MAX_WAITING) {
        // As pairing does: the oldest is forgotten.
        this.head = (this.head + 1) & (cap - 1);
        this.count--;
      } else {
        const grown = new Uint8Array(cap * 2);
        for (let i = 0; i < this.count; i++) grown[i] = this.methods[(this.head + i) & (cap - 1)];
        this.methods = grown;
        this.head = 0;
        cap *= 2;
      }
    }
    this.methods[(this.head + this.count) & (cap - 1)] = m;
    this.count++;
  }

  /** The oldest waiting request's method; Other when none waits (the capture began mid-conversation). */
  shift(): Method {
    if (this.count === 0) return Method.Other;
    const m = this.methods[this.head] as Method;
    this.head = (this.head + 1) & (this.methods.length - 1);
    this.count--;
    return m;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }
}

const connStates = new PerConnection(() => new ConnState());

function hexValue(b: number): number {
  if (b >= Ch.ZERO && b <= Ch.NINE) return b - Ch.ZERO;
  const l = b | Ch.CASE;
  if (l >= Ch.LOWER_A && l <= Ch.LOWER_F) return l - Ch.LOWER_A + 10;
  return -1;
}

export class HttpParser implements StreamParser {
  private state = State.Start;
  /**
   * Nothing says where messages start (a fresh parser, after a reset, after
   * a request that may switch protocols): a start line that does not parse
   * is skipped quietly instead of reported as malformed.
   */
  private lenient = true;
  private inMessage = false;
  /** Position within the current item: method or target length, version byte, status digit, chunk-size digit, trailer bytes. */
  private idx = 0;
  /** The status code, or a chunk's size, as it is read. */
  private num = 0;
  private methodMask = 0;
  private method = Method.Other;
  private truncated = false;
  private nameMask = 0;
  private field = Field.None;
  // What the headers said.
  private hasLength = false;
  private length = 0;
  private hasTE = false;
  private chunked = false;
  private upgrade = false;
  // A header value as it is read: a Content-Length list element...
  private vNum = 0;
  private vDigits = 0;
  private vGap = false;
  private vAny = false;
  // ...or a token of a list (Transfer-Encoding, ParserConnection).
  private tokMask = 0;
  private tokLen = 0;
  private tokDone = false;
  private inParams = false;
  /** Body or chunk bytes left. */
  private remaining = 0;
  /** Non-CR bytes on the current trailer line. */
  private lineLen = 0;
  /** When the last byte of a close-delimited body arrived. */
  private lastSec = 0;
  private lastNsec = 0;
  /** The message in progress was already reported by flushPartial(): its end is not reported again. */
  private flushed = false;
  private readonly info = new MessageInfo();
  private readonly conn_: ConnState;

  constructor(
    private readonly conn: ParserConnection,
    private readonly request: boolean,
    private readonly sink: MessageSink,
  ) {
    this.conn_ = connStates.of(conn);
  }

  flushPartial(): boolean {
    if (!this.inMessage || this.flushed || this.state === State.Tunnel) return false;
    // A request with no text yet (`*1000`, a method cut short) is not yet known to be one.
    if (this.request && this.info.previewLen === 0) return false;
    this.flushed = true;
    const info = this.info;
    if (this.state === State.BodyClose) {
      // A body delimited by the close: its last byte is known.
      info.endSec = this.lastSec;
      info.endNsec = this.lastNsec;
    }
    info.incomplete = true;
    this.sink.message(this.conn, this.request, info);
    info.incomplete = false;
    return true;
  }

  reset(): void {
    this.state = State.Start;
    this.lenient = true;
    this.inMessage = false;
    this.flushed = false;
    this.remaining = 0;
    // The responses that were lost may have answered any of the waiting requests.
    if (!this.request) this.conn_.clear();
    // A new connection on the same 5-tuple, or a gap: HTTP may start again.
    this.conn_.tunnel = false;
  }

  skip(n: number, tsSec: number, tsNsec: number): boolean {
    const info = this.info;
    // The last bytes of a message so far, should its end never come (flushPartial).
    info.endSec = tsSec;
    info.endNsec = tsNsec;
    switch (this.state) {
      case State.Body:
        if (n <= this.remaining) {
          info.bytes += n;
          this.remaining -= n;
          if (this.remaining === 0) this.complete(tsSec, tsNsec);
          return true;
        }
        // The message ends inside the missing bytes; what follows it is lost.
        info.bytes += this.remaining;
        this.remaining = 0;
        this.complete(tsSec, tsNsec);
        break;
      case State.ChunkData:
        if (n <= this.remaining) {
          info.bytes += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = State.ChunkCR;
          return true;
        }
        break;
      case State.BodyClose:
        // Everything up to the close is body.
        info.bytes += n;
        this.lastSec = tsSec;
        this.lastNsec = tsNsec;
        return true;
      case State.Tunnel:
        return true;
      default:
        break;
    }
    this.fail(ResetReason.Gap);
    return false;
  }

  /**
   * This direction of the connection closed (FIN): a body delimited by the
   * close is complete; any other partial message is dropped.
   */
  end(tsSec: number, tsNsec: number): void {
    void tsSec;
    void tsNsec;
    if (this.state === State.BodyClose) {
      // The message ended with its last byte, not with the FIN.
      this.complete(this.lastSec, this.lastNsec);
      return;
    }
    if (this.state === State.Tunnel) return;
    // Its end will not come now: an answer that began is reported as it is
    // (a request the client stopped sending gets no answer).
    if (!this.request) this.flushPartial();
    if (this.inMessage || this.state === State.Resync || this.state === State.ResyncLine) {
      this.inMessage = false;
      this.flushed = false;
      this.state = State.Start;
      this.lenient = true;
    }
  }

  feed(buf: Buffer, start: number, end: number, tsSec: number, tsNsec: number): void {
    let pos = start;
    const info = this.info;
    info.endSec = tsSec;
    info.endNsec = tsNsec;
    if (this.conn_.tunnel) {
      if (this.state !== State.Tunnel) {
        this.state = State.Tunnel;
        this.inMessage = false;
      }
      return;
    }
    if (this.state === State.Tunnel) {
      // The other direction was reset: HTTP may start again.
      this.state = State.Start;
      this.lenient = true;
    }
    // After a reset, a new segment that starts like a message most likely is one.
    if (this.state === State.Resync) this.state = State.ResyncLine;
    while (pos < end) {
      switch (this.state as State) {
        case State.Start: {
          const b = buf[pos];
          if (b === Ch.CR || b === Ch.LF) {
            // Empty lines between messages are no part of either (RFC 9112 section 2.2).
            pos++;
            break;
          }
          this.begin(tsSec, tsNsec);
          this.state = this.request ? State.Method : State.Version;
          break;
        }
        case State.Method: {
          let p = pos;
          let len = this.idx;
          let mask = this.methodMask;
          let bad = false;
          const preview = info.preview;
          while (p < end) {
            const b = buf[p];
            if (b === Ch.SPACE) break;
            if (TCHAR[b] === 0 || len === MAX_METHOD) {
              bad = true;
              break;
            }
            if ((mask & BIT_HEAD) !== 0 && (len >= METHOD_HEAD.length || METHOD_HEAD[len] !== b)) mask &= ~BIT_HEAD;
            if ((mask & BIT_CONNECT) !== 0 && (len >= METHOD_CONNECT.length || METHOD_CONNECT[len] !== b)) mask &= ~BIT_CONNECT;
            // A method is at most MAX_METHOD tchars: it fits, and shows as it is.
            preview[len] = b;
            len++;
            p++;
          }
          info.bytes += p - pos;
          pos = p;
          this.idx = len;
          this.methodMask = mask;
          info.previewLen = len;
          if (bad || (p < end && len === 0)) {
            this.malformed();
            break;
          }
          if (p < end) {
            // The space after the method.
            pos++;
            info.bytes++;
            if ((mask & BIT_HEAD) !== 0 && len === METHOD_HEAD.length) this.method = Method.Head;
            else if ((mask & BIT_CONNECT) !== 0 && len === METHOD_CONNECT.length) this.method = Method.Connect;
            preview[info.previewLen++] = Ch.SPACE;
            this.idx = 0;
            this.state = State.Target;
          }
          break;
        }
        case State.Target: {
          let p = pos;
          let bad = false;
          let len = info.previewLen;
          const preview = info.preview;
          while (p < end) {
            const b = buf[p];
            if (b === Ch.SPACE) break;
            if (b === Ch.CR || b === Ch.LF) {
              bad = true; // HTTP/0.9, or not a request line
              break;
            }
            if (len < PREVIEW_MAX) {
              // Control bytes would break the one-line output; show them as '.'.
              preview[len++] = b < 0x20 || b === 0x7f ? Ch.DOT : b;
            } else {
              // A full preview tells the outputs the text was cut: they add the "...".
              this.truncated = true;
            }
            p++;
          }
          info.previewLen = len;
          this.idx += p - pos;
          info.bytes += p - pos;
          pos = p;
          if (bad || (p < end && this.idx === 0)) {
            this.malformed();
            break;
          }
          if (p < end) {
            pos++;
            info.bytes++;
            this.idx = 0;
            this.state = State.Version;
          } else if (info.bytes > MAX_HEAD) {
            this.malformed();
          }
          break;
        }
        case State.Version: {
          // Request: `HTTP/1.x` [CR] LF. Response: `HTTP/1.x` SP.
          while (pos < end) {
            const b = buf[pos];
            const i = this.idx;
            let ok: boolean;
            if (i < VERSION.length) ok = b === VERSION[i];
            else if (i === VERSION.length) ok = b >= Ch.ZERO && b <= Ch.NINE;
            else if (!this.request) ok = b === Ch.SPACE;
            else ok = b === Ch.LF || (b === Ch.CR && i === VERSION.length + 1);
            if (!ok) {
              this.malformed();
              break;
            }
            pos++;
            info.bytes++;
            this.idx = i + 1;
            if (b === Ch.LF) {
              this.state = State.HeaderStart;
              break;
            }
            if (b === Ch.SPACE) {
              this.idx = 0;
              this.num = 0;
              this.state = State.Status;
              break;
            }
          }
          break;
        }
        case State.Status: {
          while (pos < end) {
            const b = buf[pos];
            if (this.idx < 3) {
              if (b < Ch.ZERO || b > Ch.NINE) {
                this.malformed();
                break;
              }
              this.num = this.num * 10 + (b - Ch.ZERO);
              this.idx++;
              pos++;
              info.bytes++;
              continue;
            }
            if (this.num < 100 || this.num >= STATUS_TEXT.length || (b !== Ch.SPACE && b !== Ch.CR && b !== Ch.LF)) {
              this.malformed();
              break;
            }
            info.status = this.num;
            info.statusText = STATUS_TEXT[this.num];
            info.isError = this.num >= 500;
            // The reason phrase (possibly none) runs to the end of the line.
            this.state = State.Reason;
            break;
          }
          break;
        }
        // The rest of the status line, or a header line not kept: skipped to its end.
        case State.Reason:
        case State.HeaderSkip: {
          const next = afterLf(buf, pos, end);
          const found = next >= 0;
          const p = found ? next : end;
          info.bytes += p - pos;
          pos = p;
          if (found) this.state = State.HeaderStart;
          else if (info.bytes > MAX_HEAD) this.malformed();
          break;
        }
        case State.HeaderStart: {
          if (info.bytes > MAX_HEAD) {
            this.malformed(true);
            break;
          }
          const b = buf[pos];
          if (b === Ch.CR) {
            pos++;
            info.bytes++;
            break;
          }
          if (b === Ch.LF) {
            pos++;
            info.bytes++;
            this.headDone(tsSec, tsNsec);
            break;
          }
          if (b === Ch.SPACE || b === Ch.TAB) {
            // obs-fold: a continuation of the previous line, which is not read again.
            this.state = State.HeaderSkip;
            break;
          }
          this.idx = 0;
          this.nameMask = ALL_FIELDS;
          this.state = State.HeaderName;
          break;
        }
        case State.HeaderName: {
          let p = pos;
          let len = this.idx;
          let mask = this.nameMask;
          let bad = false;
          while (p < end) {
            const b = buf[p];
            if (b === Ch.COLON) break;
            if (TCHAR[b] === 0) {
              bad = true;
              break;
            }
            if (mask !== 0) {
              // Case-insensitive: a letter OR-ed with 0x20 is lower case; no other tchar becomes a letter or '-'.
              const l = b | Ch.CASE;
              for (let f = 0; f < FIELD_NAMES.length; f++) {
                const name = FIELD_NAMES[f];
                if ((mask & (1 << f)) !== 0 && (len >= name.length || name[len] !== l)) mask &= ~(1 << f);
              }
            }
            len++;
            p++;
          }
          info.bytes += p - pos;
          pos = p;
          this.idx = len;
          this.nameMask = mask;
          if (bad || (p < end && len === 0)) {
            this.malformed();
            break;
          }
          if (p === end) {
            if (info.bytes > MAX_HEAD) this.malformed();
            break;
          }
          pos++; // the colon
          info.bytes++;
          let field = Field.None;
          for (let f = 0; f < FIELD_NAMES.length; f++) {
            if ((mask & (1 << f)) !== 0 && len === FIELD_NAMES[f].length) field = f as Field;
          }
          if (field === Field.None) {
            this.state = State.HeaderSkip;
            break;
          }
          this.field = field;
          this.vNum = 0;
          this.vDigits = 0;
          this.vGap = false;
          this.vAny = false;
          this.tokMask = BIT_CHUNKED | BIT_UPGRADE;
          this.tokLen = 0;
          this.tokDone = false;
          this.inParams = false;
          this.state = State.HeaderValue;
          break;
        }
        case State.HeaderValue: {
          let p = pos;
          let bad = false;
          let found = false;
          while (p < end) {
            const b = buf[p];
            if (b === Ch.LF) {
              found = true;
              break;
            }
            if (b !== Ch.CR && !this.valueByte(b)) {
              bad = true;
              break;
            }
            p++;
          }
          info.bytes += p - pos;
          pos = p;
          if (bad) {
            this.malformed();
            break;
          }
          if (!found) {
            if (info.bytes > MAX_HEAD) this.malformed();
            break;
          }
          if (!this.valueEnd()) {
            this.malformed();
            break;
          }
          pos++;
          info.bytes++;
          this.state = State.HeaderStart;
          break;
        }
        case State.Body: {
          const avail = end - pos;
          const n = avail < this.remaining ? avail : this.remaining;
          pos += n;
          info.bytes += n;
          this.remaining -= n;
          if (this.remaining === 0) this.complete(tsSec, tsNsec);
          break;
        }
        case State.BodyClose: {
          info.bytes += end - pos;
          pos = end;
          this.lastSec = tsSec;
          this.lastNsec = tsNsec;
          break;
        }
        case State.ChunkSize: {
          while (pos < end) {
            const b = buf[pos];
            const h = hexValue(b);
            if (h >= 0) {
              if (this.num > MAX_CHUNK_DIV16) {
                this.malformed();
                break;
              }
              this.num = this.num * 16 + h;
              this.idx++;
              pos++;
              info.bytes++;
              continue;
            }
            if (this.idx === 0) {
              this.malformed();
              break;
            }
            if (b === Ch.LF) {
              pos++;
              info.bytes++;
              this.chunkSizeDone();
              break;
            }
            if (b === Ch.SEMICOLON || b === Ch.CR || b === Ch.SPACE || b === Ch.TAB) {
              // Extensions (`;name=value`) and whitespace before them are skipped.
              pos++;
              info.bytes++;
              this.lineLen = 0;
              this.state = State.ChunkExt;
              break;
            }
            this.malformed();
            break;
          }
          break;
        }
        case State.ChunkExt: {
          const next = afterLf(buf, pos, end);
          const found = next >= 0;
          const p = found ? next : end;
          info.bytes += p - pos;
          this.lineLen += p - pos;
          pos = p;
          if (found) this.chunkSizeDone();
          else if (this.lineLen > MAX_HEAD) this.malformed();
          break;
        }
        case State.ChunkData: {
          const avail = end - pos;
          const n = avail < this.remaining ? avail : this.remaining;
          pos += n;
          info.bytes += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = State.ChunkCR;
          break;
        }
        case State.ChunkCR: {
          const b = buf[pos];
          if (b === Ch.CR) {
            this.state = State.ChunkLF;
          } else if (b === Ch.LF) {
            this.startChunk();
          } else {
            this.malformed();
            break;
          }
          pos++;
          info.bytes++;
          break;
        }
        case State.ChunkLF: {
          if (buf[pos] !== Ch.LF) {
            this.malformed();
            break;
          }
          pos++;
          info.bytes++;
          this.startChunk();
          break;
        }
        case State.Trailer: {
          // Trailer fields are not read: lines are counted up to the empty one.
          let p = pos;
          let done = false;
          let lineLen = this.lineLen;
          while (p < end) {
            const b = buf[p++];
            if (b === Ch.LF) {
              if (lineLen === 0) {
                done = true;
                break;
              }
              lineLen = 0;
            } else if (b !== Ch.CR) {
              lineLen++;
            }
          }
          this.lineLen = lineLen;
          this.idx += p - pos;
          info.bytes += p - pos;
          pos = p;
          if (done) this.complete(tsSec, tsNsec);
          else if (this.idx > MAX_HEAD) this.malformed();
          break;
        }
        case State.Tunnel: {
          pos = end;
          break;
        }
        case State.Resync: {
          // Skip to the end of the line.
          const next = afterLf(buf, pos, end);
          if (next >= 0) this.state = State.ResyncLine;
          pos = next >= 0 ? next : end;
          break;
        }
        case State.ResyncLine: {
          // A message can start here only if the line starts like a request line or a status line.
          const b = buf[pos];
          this.state = (this.request ? b >= Ch.UPPER_A && b <= Ch.UPPER_Z : b === Ch.UPPER_H) ? State.Start : State.Resync;
          break;
        }
      }
    }
  }

  /** One byte of a needed header's value (never CR or LF). False if the value is malformed. */
  private valueByte(b: number): boolean {
    if (this.field === Field.ContentLength) {
      // 1*DIGIT, or a list of the same value repeated (RFC 9110 section 8.6).
      if (b >= Ch.ZERO && b <= Ch.NINE) {
        if (this.vGap || this.vNum > MAX_LENGTH_DIV10) return false;
        this.vNum = this.vNum * 10 + (b - Ch.ZERO);
        this.vDigits++;
        return true;
      }
      if (b === Ch.SPACE || b === Ch.TAB) {
        if (this.vDigits > 0) this.vGap = true;
        return true;
      }
      if (b === Ch.COMMA) return this.lengthElement();
      return false;
    }
    // A list of tokens, each perhaps with `;parameters`.
    if (b === Ch.COMMA) {
      this.tokenEnd();
      this.inParams = false;
    } else if (this.inParams) {
      // parameters are not read
    } else if (b === Ch.SEMICOLON) {
      this.tokenEnd();
      this.inParams = true;
    } else if (b === Ch.SPACE || b === Ch.TAB) {
      if (this.tokLen > 0) this.tokDone = true;
    } else {
      let mask = this.tokMask;
      if (this.tokDone) mask = 0; // `chunked x`: not a token we know
      const len = this.tokLen;
      const l = b | Ch.CASE; // letters only in the tokens
      if ((mask & BIT_CHUNKED) !== 0 && (len >= TOKEN_CHUNKED.length || TOKEN_CHUNKED[len] !== l)) mask &= ~BIT_CHUNKED;
      if ((mask & BIT_UPGRADE) !== 0 && (len >= TOKEN_UPGRADE.length || TOKEN_UPGRADE[len] !== l)) mask &= ~BIT_UPGRADE;
      this.tokMask = mask;
      this.tokLen = len + 1;
    }
    return true;
  }

  /** A Content-Length list element ended. */
  private lengthElement(): boolean {
    if (this.vDigits === 0) return true; // an empty list element
    // Different lengths: the message cannot be framed (RFC 9112 section 6.3).
    if (this.hasLength && this.length !== this.vNum) return false;
    this.hasLength = true;
    this.length = this.vNum;
    this.vAny = true;
    this.vNum = 0;
    this.vDigits = 0;
    this.vGap = false;
    return true;
  }

  private tokenEnd(): void {
    const len = this.tokLen;
    if (len === 0) return;
    if (this.field === Field.TransferEncoding) {
      // The last coding decides: chunked must be last for the body to be chunked.
      this.hasTE = true;
      this.chunked = (this.tokMask & BIT_CHUNKED) !== 0 && len === TOKEN_CHUNKED.length;
    } else if ((this.tokMask & BIT_UPGRADE) !== 0 && len === TOKEN_UPGRADE.length) {
      this.upgrade = true;
    }
    this.tokMask = BIT_CHUNKED | BIT_UPGRADE;
    this.tokLen = 0;
    this.tokDone = false;
  }

  /** A needed header's line ended. False if its value is malformed. */
  private valueEnd(): boolean {
    if (this.field === Field.ContentLength) return this.lengthElement() && this.vAny;
    this.tokenEnd();
    return true;
  }

  /** The empty line after the headers: decide how the body is framed. */
  private headDone(tsSec: number, tsNsec: number): void {
    const info = this.info;
    const s = this.conn_;
    if (this.request) {
      if (this.hasTE && !this.chunked) {
        // A request body's length must be known (RFC 9112 section 6.3, rule 4).
        this.malformed(true);
        return;
      }
      s.push(this.method);
      if (this.hasTE) this.startChunk();
      else if (this.hasLength && this.length > 0) this.startBody();
      else this.complete(tsSec, tsNsec);
      return;
    }
    const status = info.status;
    if (status < 200) {
      if (status === 101 && this.upgrade) {
        // The final answer to its request; the connection leaves HTTP.
        s.shift();
        this.complete(tsSec, tsNsec);
        this.enterTunnel();
        return;
      }
      // An interim response: the final one is still to come.
      info.kind = MessageKind.Interim;
      this.complete(tsSec, tsNsec);
      return;
    }
    const method = s.shift();
    if (method === Method.Connect && status < 300) {
      this.complete(tsSec, tsNsec);
      this.enterTunnel();
      return;
    }
    if (method === Method.Head || status === 204 || status === 304) this.complete(tsSec, tsNsec);
    else if (this.hasTE && this.chunked) this.startChunk();
    else if (this.hasTE || !this.hasLength) this.startCloseBody(tsSec, tsNsec);
    else if (this.length > 0) this.startBody();
    else this.complete(tsSec, tsNsec);
  }

  private startBody(): void {
    this.remaining = this.length;
    this.state = State.Body;
  }

  private startCloseBody(tsSec: number, tsNsec: number): void {
    this.lastSec = tsSec;
    this.lastNsec = tsNsec;
    this.state = State.BodyClose;
  }

  private startChunk(): void {
    this.num = 0;
    this.idx = 0;
    this.state = State.ChunkSize;
  }

  private chunkSizeDone(): void {
    if (this.num === 0) {
      // The last chunk: trailer fields follow.
      this.idx = 0;
      this.lineLen = 0;
      this.state = State.Trailer;
      return;
    }
    this.remaining = this.num;
    this.state = State.ChunkData;
  }

  private enterTunnel(): void {
    this.conn_.tunnel = true;
    this.state = State.Tunnel;
  }

  private begin(tsSec: number, tsNsec: number): void {
    this.inMessage = true;
    this.flushed = false;
    this.info.begin(tsSec, tsNsec);
    this.idx = 0;
    this.num = 0;
    this.methodMask = BIT_HEAD | BIT_CONNECT;
    this.method = Method.Other;
    this.truncated = false;
    this.hasLength = false;
    this.length = 0;
    this.hasTE = false;
    this.chunked = false;
    this.upgrade = false;
    this.remaining = 0;
  }

  private complete(tsSec: number, tsNsec: number): void {
    const info = this.info;
    info.endSec = tsSec;
    info.endNsec = tsNsec;
    this.inMessage = false;
    this.state = State.Start;
    // After a CONNECT or an upgrade request, the client may go on in another protocol.
    this.lenient = this.request && (this.method === Method.Connect || this.upgrade);
    if (this.flushed) {
      this.flushed = false;
      return;
    }
    this.sink.message(this.conn, this.request, info);
  }

  /**
   * The data is not HTTP. Reported when the parser knew where it was; quietly
   * skipped while it looks for its place. The current byte is not consumed:
   * the line it is on is skipped. `atLineStart`: the byte starts a line.
   */
  private malformed(atLineStart = false): void {
    if (this.lenient) {
      this.inMessage = false;
      this.state = atLineStart ? State.ResyncLine : State.Resync;
      return;
    }
    this.fail(ResetReason.Malformed);
    if (atLineStart) this.state = State.ResyncLine;
  }

  private fail(reason: ResetReason): void {
    // Bytes were lost, not garbled: the message so far still counts.
    if (reason === ResetReason.Gap) this.flushPartial();
    this.inMessage = false;
    this.flushed = false;
    this.remaining = 0;
    this.state = State.Resync;
    this.lenient = true;
    if (!this.request) this.conn_.clear();
    this.sink.reset(this.conn, this.request, reason);
  }
}

/** The factory: the two parsers it makes for one connection share what responses need to know of requests. */
export function httpParser(conn: ParserConnection, fromClient: boolean, sink: MessageSink): HttpParser {
  return new HttpParser(conn, fromClient, sink);
}

httpParser satisfies ParserFactory;

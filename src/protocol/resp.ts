// RESP (Redis serialization protocol), RESP2 and RESP3, as a streaming parser.
//
// Requests are arrays of bulk strings (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) or
// inline commands (`PING\r\n`). Responses are any RESP value. The parser keeps
// its place across chunks in a few numbers, never buffers a value (a 200 KB
// bulk string is skipped by counting), and copies at most PREVIEW_MAX bytes of
// a request's arguments for output.
import { MessageInfo, MessageKind, PREVIEW_MAX, ResetReason, type MessageSink, type ParserConnection, type StreamParser } from './message';
import { afterLf } from './text';

const enum Ch {
  LF = 10, // '\n'
  CR = 13, // '\r'
  SPACE = 32,
  TAB = 9,
  MINUS = 45, // '-'
  ZERO = 48,
  NINE = 57,
  ARRAY = 42, // '*'
  BULK = 36, // '$'
  SIMPLE = 43, // '+'
  ERROR = 45, // '-'
  INTEGER = 58, // ':'
  NULL = 95, // '_'  RESP3
  BOOLEAN = 35, // '#'  RESP3
  DOUBLE = 44, // ','  RESP3
  BIGNUM = 40, // '('  RESP3
  BLOB_ERROR = 33, // '!'  RESP3
  VERBATIM = 61, // '='  RESP3
  MAP = 37, // '%'  RESP3
  SET = 126, // '~'  RESP3
  ATTRIBUTE = 124, // '|'  RESP3
  PUSH = 62, // '>'  RESP3
  DOT = 46,
}

const enum State {
  /** Expecting a type byte (or, for a request at top level, an inline command). */
  Type,
  /** Reading the rest of a header line: a length, or a simple value. */
  Line,
  /** Inside a bulk string's data and its CRLF. */
  Bulk,
  /** Reading an inline command line. */
  Inline,
  /** After malformed data: skipping to the start of a line that can start a message. */
  Resync,
}

/** Deepest nesting of aggregates we follow; deeper is treated as malformed. */
const MAX_DEPTH = 32;
/** Largest bulk string length accepted (Redis' proto-max-bulk-len default is 512 MB). */
const MAX_BULK = 512 * 1024 * 1024;
/** Longest error code shown, as other status text is bounded. */
const ERROR_CODE_MAX = 32;
/** Error codes already seen, as strings made once; the most kept (rare replies: a few dozen are known). */
const errorCodes = new Map<string, string>();
const ERROR_CODES_MAX = 256;

/** A letter, digit or `_`: what an error code is made of. */
function isWordByte(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x5f;
}

/**
 * The first word of an error reply's text (`NOAUTH`, `WRONGTYPE`, `ERR`):
 * letters, digits and `_`, at most ERROR_CODE_MAX of them; '' when none.
 */
function errorCode(buf: Buffer, from: number, end: number): string {
  let to = from;
  while (to < end && to - from < ERROR_CODE_MAX && isWordByte(buf[to])) to++;
  if (to === from) return '';
  const word = buf.toString('latin1', from, to);
  const known = errorCodes.get(word);
  if (known !== undefined) return known;
  if (errorCodes.size < ERROR_CODES_MAX) errorCodes.set(word, word);
  return word;
}

/** Bytes of a response array's first bulk string kept (pub/sub words are at most 12). */
const FIRST_ELEMENT_MAX = 16;
/** Argument bytes shown per argument before it is shortened with "...". */
const ARG_PREVIEW = 64;

export class RespParser implements StreamParser {
  private state = State.Type;
  private inMessage = false;
  private lineType = 0;
  private num = 0;
  private neg = false;
  private digits = 0;
  private lineBad = false;
  /** Bulk bytes left to consume, CRLF included. */
  private remaining = 0;
  /** Of those, data bytes (not the CRLF). */
  private dataLeft = 0;
  private depth = 0;
  private readonly left = new Float64Array(MAX_DEPTH);
  private readonly isAttr = new Uint8Array(MAX_DEPTH);
  private argShown = 0;
  private inlineSpace = false;
  private inlineAny = false;
  /** Set by plainLength(): where its line ended. */
  private lineEnd = 0;
  /** The message in progress was already reported by flushPartial(): its end is not reported again. */
  private flushed = false;
  /**
   * A response array's first element is next, and then being read as a bulk
   * string: its first bytes go to the preview, so that pairing can tell a
   * pub/sub message (`message`, `pmessage`, `smessage`) from a reply.
   */
  private firstNext = false;
  private firstBulk = false;
  /** A top-level error's line comes next: its first word is the status text. */
  private errorWord = false;
  /** The word's bytes so far, when a segment ended inside it. */
  private readonly word = Buffer.alloc(ERROR_CODE_MAX);
  private wordLen = 0;
  private readonly info = new MessageInfo();

  constructor(
    private readonly conn: ParserConnection,
    private readonly request: boolean,
    private readonly sink: MessageSink,
  ) {}

  /** The error's first word, gathered across segments when one ends inside it (`-E`, then `RR x`). */
  private errorWordPart(buf: Buffer, from: number, end: number): void {
    const room = ERROR_CODE_MAX - this.wordLen;
    let to = from;
    while (to < end && to - from < room && isWordByte(buf[to])) to++;
    const n = to - from;
    if (to === end && n < room) {
      // The segment ended inside the word (or right before it): the rest comes next.
      buf.copy(this.word, this.wordLen, from, to);
      this.wordLen += n;
      return;
    }
    this.errorWord = false;
    if (this.wordLen === 0) {
      this.info.statusText = errorCode(buf, from, to);
      return;
    }
    buf.copy(this.word, this.wordLen, from, to);
    this.info.statusText = errorCode(this.word, 0, this.wordLen + n);
    this.wordLen = 0;
  }

  reset(): void {
    this.state = State.Type;
    this.inMessage = false;
    this.flushed = false;
    this.firstNext = false;
    this.firstBulk = false;
    this.errorWord = false;
    this.depth = 0;
    this.remaining = 0;
  }

  flushPartial(): boolean {
    if (!this.inMessage || this.flushed) return false;
    // A request with no text yet (`*1000`, a method cut short) is not yet known to be one.
    if (this.request && this.info.previewLen === 0) return false;
    this.flushed = true;
    const info = this.info;
    info.incomplete = true;
    this.sink.message(this.conn, this.request, info);
    info.incomplete = false;
    return true;
  }

  skip(n: number, tsSec: number, tsNsec: number): boolean {
    // The last bytes of a message so far, should its end never come (flushPartial).
    this.info.endSec = tsSec;
    this.info.endNsec = tsNsec;
    // Only inside a bulk string does the parser know what the missing bytes were.
    if (this.state === State.Bulk && n <= this.remaining) {
      if (this.request && this.depth === 1 && this.dataLeft > 0 && this.argShown <= ARG_PREVIEW) {
        this.appendEllipsis();
        this.argShown = ARG_PREVIEW + 1;
      }
      this.dataLeft = this.dataLeft > n ? this.dataLeft - n : 0;
      this.remaining -= n;
      this.info.bytes += n;
      if (this.remaining === 0) {
        this.state = State.Type;
        this.firstBulk = false;
        this.elementDone(tsSec, tsNsec);
      }
      return true;
    }
    this.fail(ResetReason.Gap);
    return false;
  }

  feed(buf: Buffer, start: number, end: number, tsSec: number, tsNsec: number): void {
    let pos = start;
    const info = this.info;
    info.endSec = tsSec;
    info.endNsec = tsNsec;
    // After a reset, a new segment that starts like a message most likely is one.
    if (this.state === State.Resync && pos < end && this.canStartMessage(buf[pos])) this.state = State.Type;
    while (pos < end) {
      if (this.state === State.Type && !this.inMessage && this.depth === 0) {
        // Most messages arrive whole and plain: parse them in one pass.
        const next = this.request ? this.wholeRequest(buf, pos, end) : this.wholeResponse(buf, pos, end);
        if (next > 0) {
          info.startSec = tsSec;
          info.startNsec = tsNsec;
          info.bytes = next - pos;
          info.kind = MessageKind.Normal;
          if (!this.request) {
            info.previewLen = 0;
            info.statusText = info.isError ? errorCode(buf, pos + 1, next) : '';
          }
          this.flushed = false;
          this.complete(tsSec, tsNsec);
          pos = next;
          continue;
        }
      }
      switch (this.state) {
        case State.Type: {
          if (!this.inMessage) {
            this.inMessage = true;
            this.flushed = false;
            info.startSec = tsSec;
            info.startNsec = tsNsec;
            info.bytes = 0;
            info.kind = MessageKind.Normal;
            info.isError = false;
            info.statusText = '';
            info.previewLen = 0;
          }
          const c = buf[pos];
          if (this.request && this.depth === 0 && c !== Ch.ARRAY) {
            this.state = State.Inline;
            this.inlineSpace = false;
            this.inlineAny = false;
            this.argShown = 0;
            continue;
          }
          if (!this.validType(c)) {
            this.fail(ResetReason.Malformed);
            continue;
          }
          if (this.firstNext) {
            this.firstNext = false;
            this.firstBulk = c === Ch.BULK;
          }
          pos++;
          info.bytes++;
          this.lineType = c;
          this.num = 0;
          this.neg = false;
          this.digits = 0;
          this.lineBad = false;
          if (this.depth === 0 && (c === Ch.ERROR || c === Ch.BLOB_ERROR)) {
            info.isError = true;
            this.errorWord = c === Ch.ERROR && !this.request;
            this.wordLen = 0;
          }
          this.state = State.Line;
          break;
        }
        case State.Line: {
          // The line's state lives in locals while the loop runs.
          let p = pos;
          let found = false;
          if (this.isLengthType(this.lineType)) {
            let num = this.num;
            let digits = this.digits;
            let neg = this.neg;
            let bad = this.lineBad;
            while (p < end) {
              const b = buf[p++];
              if (b === Ch.LF) {
                found = true;
                break;
              }
              if (b === Ch.CR) continue;
              if (b >= Ch.ZERO && b <= Ch.NINE) {
                num = num * 10 + (b - Ch.ZERO);
                digits++;
              } else if (b === Ch.MINUS && digits === 0 && !neg) {
                neg = true;
              } else {
                bad = true;
              }
            }
            this.num = num;
            this.digits = digits;
            this.neg = neg;
            this.lineBad = bad;
          } else {
            if (this.errorWord) this.errorWordPart(buf, p, end);
            const next = afterLf(buf, p, end);
            found = next >= 0;
            p = found ? next : end;
          }
          info.bytes += p - pos;
          pos = p;
          if (found) {
            this.state = State.Type;
            this.endOfHeader(tsSec, tsNsec);
          }
          break;
        }
        case State.Bulk: {
          const avail = end - pos;
          const n = avail < this.remaining ? avail : this.remaining;
          if (this.request && this.depth === 1 && this.dataLeft > 0) this.copyArg(buf, pos, n);
          else if (this.firstBulk) this.copyFirst(buf, pos, n);
          this.dataLeft = this.dataLeft > n ? this.dataLeft - n : 0;
          this.remaining -= n;
          pos += n;
          info.bytes += n;
          if (this.remaining === 0) {
            this.state = State.Type;
            this.firstBulk = false;
            this.elementDone(tsSec, tsNsec);
          }
          break;
        }
        case State.Inline: {
          while (pos < end) {
            const b = buf[pos++];
            info.bytes++;
            if (b === Ch.LF) {
              this.state = State.Type;
              if (this.inlineAny) {
                this.complete(tsSec, tsNsec);
              } else {
                this.inMessage = false; // an empty line is no command
              }
              break;
            }
            if (b === Ch.CR) continue;
            if (b === Ch.SPACE || b === Ch.TAB) {
              this.inlineSpace = this.inlineAny;
              continue;
            }
            if (this.inlineSpace) {
              this.appendByte(Ch.SPACE);
              this.inlineSpace = false;
              this.argShown = 0;
            }
            this.inlineAny = true;
            if (this.argShown < ARG_PREVIEW) this.appendByte(b);
            else if (this.argShown === ARG_PREVIEW) this.appendEllipsis();
            this.argShown++;
          }
          break;
        }
        case State.Resync: {
          // Skip to the end of the line, then look for a line that can start a message.
          const lf = buf.indexOf(Ch.LF, pos);
          if (lf < 0 || lf >= end) {
            pos = end;
            break;
          }
          pos = lf + 1;
          if (pos < end && this.canStartMessage(buf[pos])) {
            this.state = State.Type;
            this.inMessage = false;
          }
          break;
        }
      }
    }
  }

  /**
   * A length line at buf[pos]: digits, then CR LF, all before `end`; sets
   * `lineEnd` to the offset after the LF. -1 for anything else (a sign, other
   * bytes, more than 9 digits, a line cut by `end`): the state machine decides.
   */
  private plainLength(buf: Buffer, pos: number, end: number): number {
    let n = 0;
    const first = pos;
    for (; pos < end; pos++) {
      const b = buf[pos];
      if (b < Ch.ZERO || b > Ch.NINE) break;
      n = n * 10 + (b - Ch.ZERO);
    }
    const digits = pos - first;
    if (digits === 0 || digits > 9 || pos + 1 >= end || buf[pos] !== Ch.CR || buf[pos + 1] !== Ch.LF) return -1;
    this.lineEnd = pos + 2;
    return n;
  }

  /**
   * A whole request of bulk strings at buf[start], before `end`, at the top
   * level: fills the preview and isError as the state machine would, and
   * returns the offset after it. 0 for anything else, leaving the parser's
   * state for the state machine to start the message over from `start`.
   */
  private wholeRequest(buf: Buffer, start: number, end: number): number {
    if (buf[start] !== Ch.ARRAY) return 0;
    const count = this.plainLength(buf, start + 1, end);
    if (count <= 0) return 0;
    let pos = this.lineEnd;
    const info = this.info;
    info.previewLen = 0;
    for (let i = 0; i < count; i++) {
      if (pos >= end || buf[pos] !== Ch.BULK) return 0;
      const len = this.plainLength(buf, pos + 1, end);
      if (len < 0 || len > MAX_BULK) return 0;
      pos = this.lineEnd;
      if (end - pos < len + 2) return 0;
      this.startArg();
      if (len > 0) {
        this.dataLeft = len;
        this.copyArg(buf, pos, len + 2);
      }
      pos += len + 2;
    }
    info.isError = false;
    return pos;
  }

  /**
   * A whole simple string, error, integer or bulk string at buf[start], before
   * `end`: sets isError and returns the offset after it; 0 for anything else.
   */
  private wholeResponse(buf: Buffer, start: number, end: number): number {
    const c = buf[start];
    if (c === Ch.SIMPLE || c === Ch.ERROR || c === Ch.INTEGER) {
      for (let pos = start + 1; pos < end; pos++) {
        if (buf[pos] === Ch.LF) {
          this.info.isError = c === Ch.ERROR;
          return pos + 1;
        }
      }
      return 0;
    }
    if (c === Ch.BULK) {
      const len = this.plainLength(buf, start + 1, end);
      if (len < 0 || len > MAX_BULK) return 0;
      const pos = this.lineEnd;
      if (end - pos < len + 2) return 0;
      this.info.isError = false;
      return pos + len + 2;
    }
    return 0;
  }

  private validType(c: number): boolean {
    switch (c) {
      case Ch.ARRAY:
      case Ch.BULK:
        return true;
      case Ch.SIMPLE:
      case Ch.ERROR:
      case Ch.INTEGER:
      case Ch.NULL:
      case Ch.BOOLEAN:
      case Ch.DOUBLE:
      case Ch.BIGNUM:
      case Ch.BLOB_ERROR:
      case Ch.VERBATIM:
      case Ch.MAP:
      case Ch.SET:
      case Ch.ATTRIBUTE:
      case Ch.PUSH:
        return !this.request; // a request holds only arrays of bulk strings
      default:
        return false;
    }
  }

  private isLengthType(c: number): boolean {
    return (
      c === Ch.ARRAY ||
      c === Ch.BULK ||
      c === Ch.MAP ||
      c === Ch.SET ||
      c === Ch.PUSH ||
      c === Ch.ATTRIBUTE ||
      c === Ch.BLOB_ERROR ||
      c === Ch.VERBATIM
    );
  }

  private canStartMessage(c: number): boolean {
    return this.request ? c === Ch.ARRAY : this.validType(c);
  }

  /** A header line ended: act on its type and length. */
  private endOfHeader(tsSec: number, tsNsec: number): void {
    const t = this.lineType;
    if (!this.isLengthType(t)) {
      this.elementDone(tsSec, tsNsec);
      return;
    }
    if (this.lineBad || this.digits === 0 || (this.neg && this.num !== 1)) {
      this.fail(ResetReason.Malformed);
      return;
    }
    if (this.neg) {
      if (this.request && this.depth === 0) {
        this.inMessage = false; // `*-1` is no command either (Redis ignores it)
        return;
      }
      // *-1 and $-1: RESP2 nulls
      this.elementDone(tsSec, tsNsec);
      return;
    }
    const n = this.num;
    if (t === Ch.BULK || t === Ch.BLOB_ERROR || t === Ch.VERBATIM) {
      if (n > MAX_BULK || (this.request && this.depth !== 1)) {
        this.fail(ResetReason.Malformed);
        return;
      }
      this.remaining = n + 2;
      this.dataLeft = n;
      if (this.request) this.startArg();
      this.state = State.Bulk;
      return;
    }
    // An aggregate.
    if (this.request && this.depth !== 0) {
      this.fail(ResetReason.Malformed);
      return;
    }
    if (this.depth === 0 && t === Ch.PUSH) this.info.kind = MessageKind.Push;
    const count = t === Ch.MAP || t === Ch.ATTRIBUTE ? n * 2 : n;
    if (count === 0) {
      if (t === Ch.ATTRIBUTE) return; // an empty attribute: the value follows
      if (this.request && this.depth === 0) {
        this.inMessage = false; // `*0` is no command
        return;
      }
      this.elementDone(tsSec, tsNsec);
      return;
    }
    if (this.depth === MAX_DEPTH) {
      this.fail(ResetReason.Malformed);
      return;
    }
    // A pub/sub message is an array of 3 or 4 whose first element is a bulk string.
    if (!this.request && this.depth === 0 && t === Ch.ARRAY && (count === 3 || count === 4)) this.firstNext = true;
    this.left[this.depth] = count;
    this.isAttr[this.depth] = t === Ch.ATTRIBUTE ? 1 : 0;
    this.depth++;
  }

  /** A value finished: count it against its enclosing aggregates. */
  private elementDone(tsSec: number, tsNsec: number): void {
    for (;;) {
      if (this.depth === 0) {
        this.complete(tsSec, tsNsec);
        return;
      }
      const d = this.depth - 1;
      if (--this.left[d] > 0) return;
      this.depth--;
      // An attribute annotates the value that follows it; it is not a value itself.
      if (this.isAttr[d] === 1) return;
    }
  }

  private complete(tsSec: number, tsNsec: number): void {
    const info = this.info;
    info.endSec = tsSec;
    info.endNsec = tsNsec;
    this.inMessage = false;
    if (this.flushed) {
      this.flushed = false;
      return;
    }
    this.sink.message(this.conn, this.request, info);
  }

  private fail(reason: ResetReason): void {
    // Bytes were lost, not garbled: the message so far still counts.
    if (reason === ResetReason.Gap) this.flushPartial();
    this.reset();
    this.state = State.Resync;
    this.sink.reset(this.conn, this.request, reason);
  }

  /** A response array's first bulk string, its first bytes (enough for `psubscribe`) into the preview. */
  private copyFirst(buf: Buffer, pos: number, n: number): void {
    const info = this.info;
    // Only the words pub/sub uses: 7 (`message`) to 12 (`punsubscribe`) bytes.
    if (this.num < 7 || this.num > 12) {
      this.firstBulk = false;
      return;
    }
    const take = n < this.dataLeft ? n : this.dataLeft;
    for (let i = 0; i < take && info.previewLen < FIRST_ELEMENT_MAX; i++) info.preview[info.previewLen++] = buf[pos + i];
  }

  private startArg(): void {
    if (this.info.previewLen > 0) this.appendByte(Ch.SPACE);
    this.argShown = 0;
  }

  private copyArg(buf: Buffer, pos: number, n: number): void {
    const take = n < this.dataLeft ? n : this.dataLeft;
    let i = 0;
    const room = ARG_PREVIEW - this.argShown;
    if (room > 0) {
      // Shown bytes, as appendByte() would add them one by one.
      const k = take < room ? take : room;
      const info = this.info;
      const preview = info.preview;
      let len = info.previewLen;
      const stop = len + k < PREVIEW_MAX ? len + k : PREVIEW_MAX;
      for (let at = pos; len < stop; at++) {
        const b = buf[at];
        // Control bytes would break the one-line output; show them as '.'.
        preview[len++] = b < 0x20 || b === 0x7f ? Ch.DOT : b;
      }
      info.previewLen = len;
      this.argShown += k;
      i = k;
    }
    if (i < take) {
      // The rest of this argument is not shown.
      if (this.argShown === ARG_PREVIEW) this.appendEllipsis();
      this.argShown++;
    }
  }

  private appendByte(b: number): void {
    this.info.appendPreview(b);
  }

  private appendEllipsis(): void {
    this.info.appendEllipsis();
  }
}

export function respParser(conn: ParserConnection, fromClient: boolean, sink: MessageSink): StreamParser {
  return new RespParser(conn, fromClient, sink);
}

// memcached, as a streaming parser: the text protocol (classic and meta
// commands) and the binary protocol, told apart per message by the first byte
// (binary requests start with magic 0x80, binary responses with 0x81; no text
// message starts with either).
//
// Text requests are a command line (`set k 0 0 5 noreply`, `get a b c`,
// `mg k v q`), storage commands followed by a data block of the stated length
// and CRLF. Text responses are one line (`STORED`, `NOT_FOUND`, `42`, `HD`,
// `SERVER_ERROR ...`), or multi-line: `VALUE ...` blocks up to `END`, `STAT`
// lines up to `END`, or one meta `VA <size>` block. So a response's end is
// known from the response alone. Binary messages are a 24-byte header and a
// body of the header's total body length.
//
// Like the RESP parser, the parser keeps its place across chunks in a few
// numbers, never buffers a line or a value (data blocks and binary bodies are
// skipped by counting), and copies at most PREVIEW_MAX bytes of a request for
// output: the command line without its data block, or for binary the opcode
// name and the key (`GET key`). Malformed input resets the parser
// (sink.reset(..., ResetReason.Malformed)); text resumes at the next line that
// can start a message, binary at the next segment that starts with the magic.
// skip() (bytes lost to snaplen) steps over data-block and binary-body bytes by
// counting; anywhere else it resets with ResetReason.Gap and returns false.
//
// What the MessageInfo holds:
//   requests   preview; kind NoReply for text `noreply`, `quit`, meta commands
//              with the `q` flag and binary QUITQ; matchId = opaque (binary).
//   responses  statusText, a constant string:
//                text     'HIT' (a get answer with at least one VALUE),
//                         'MISS' (a bare END), 'STAT' (STAT/ITEM lines ... END),
//                         'NUMBER' (an incr/decr result), otherwise the reply
//                         word: 'STORED', 'NOT_STORED', 'EXISTS', 'NOT_FOUND',
//                         'DELETED', 'TOUCHED', 'OK', 'RESET', 'VERSION',
//                         'ERROR', 'CLIENT_ERROR', 'SERVER_ERROR', and the meta
//                         codes 'HD', 'VA', 'EN', 'NF', 'NS', 'EX', 'MN', 'ME'.
//                binary   binaryStatusText(status): 'OK', 'NOT_FOUND', 'EXISTS', ...
//              isError: text ERROR/CLIENT_ERROR/SERVER_ERROR; binary status
//              other than 0 (OK), 1 (NOT_FOUND), 2 (EXISTS), 5 (NOT_STORED)
//              and 0x21 (AUTH_CONTINUE): the outcomes text shows as NOT_FOUND,
//              EXISTS and NOT_STORED are answers in both protocols.
//              status: the binary status number, -1 for text.
//              matchId: the binary opaque, -1 for text.
import { IpProto } from '../../decode/packet';
import { MessageInfo, MessageKind, PREVIEW_MAX, ResetReason, type MessageSink, type ParserConnection, type StreamParser } from '../message';
import {
  Multi, NUMBER_REPLY, OPCODE_NAMES, OP_QUITQ, OP_STAT, ReplyType, WORD_MAX, binaryStatusText, isBinaryError, isQuietOpcode, lookupCommand, lookupReply,
  type Command, type Reply,
} from './names';

const enum Ch {
  TAB = 9,
  LF = 10, // '\n'
  CR = 13, // '\r'
  SPACE = 32,
  DOT = 46,
  ZERO = 48,
  NINE = 57,
  UPPER_A = 65,
  UPPER_Z = 90,
  UNDERSCORE = 95,
  LOWER_A = 97,
  LOWER_Q = 113,
  LOWER_Z = 122,
}

const enum State {
  /** Expecting the first byte of a message. */
  Start,
  /** Reading a text command or reply line. */
  Line,
  /** Inside a text data block (a storage command's data, a VALUE or VA block) and its CRLF. */
  Data,
  /** Reading a binary header. */
  Header,
  /** Inside a binary body. */
  Body,
  /** After malformed data: text skips to a line that can start a message, binary to a segment that does. */
  Resync,
}

/** Binary magic bytes. */
const REQUEST_MAGIC = 0x80;
const RESPONSE_MAGIC = 0x81;
const HEADER_LEN = 24;

/** Largest data block or binary body accepted (memcached's item_size_max tops out at 1 GB). */
const MAX_DATA = 1024 * 1024 * 1024;
/** Longest text line without its end; memcached itself refuses longer non-get lines. */
const MAX_LINE = 8192;
/** get/gets/gat/gats may name many keys. */
const MAX_GET_LINE = 1024 * 1024;
/** Argument bytes shown per argument before it is shortened with "...". */
const ARG_PREVIEW = 64;
/** Longest reply word: a 64-bit incr/decr result has 20 digits. */
const REPLY_WORD_LIMIT = 24;
const NOREPLY = Buffer.from('noreply', 'latin1');

// ---------------------------------------------------------------- the parser

export class MemcachedParser implements StreamParser {
  /** A binary STAT answer spans packets: where it began, and its bytes so far. */
  private statOpen = false;
  private statSec = 0;
  private statNsec = 0;
  private statBytes = 0;
  private state = State.Start;
  private inMessage = false;
  /** The last message started as binary: after a reset, wait for a segment that starts with the magic. */
  private binaryMode = false;
  /** Malformed data was found at the end of a line: the next line may start a message at once. */
  private resyncAtLine = false;
  private readonly magic: number;

  // A text line.
  private lineLen = 0;
  private lineMax = MAX_LINE;
  private tokIdx = 0;
  private inTok = false;
  private tokLen = 0;
  private tokFirst = 0;
  private num = 0;
  private numOk = false;
  /** Bytes of the token matching "noreply" so far, -1 once it does not. */
  private nrMatch = 0;
  private readonly word = new Uint8Array(WORD_MAX);
  private wordLen = 0;
  private wordDone = false;
  private wordDigits = true;
  private cmd: Command | null = null;
  private reply: Reply = NUMBER_REPLY;
  private dataIdx = -1;
  private dataLen = -1;
  private noreplyLast = false;
  private quiet = false;
  private multi = Multi.None;
  private argShown = 0;

  // A text data block.
  /** Data bytes left, then the CRLF. */
  private dataLeft = 0;
  /** Bytes left, CRLF included. */
  private remaining = 0;

  // A binary message.
  private readonly hdr = new Uint8Array(HEADER_LEN);
  private hdrLen = 0;
  private opcode = 0;
  private bstatus = 0;
  private opaque = 0;
  private bodyLen = 0;
  private bodyPos = 0;
  private keyStart = 0;
  private keyEnd = 0;
  private keyStarted = false;

  private readonly info = new MessageInfo();
  /** The message in progress was already reported by flushPartial(): its end is not reported again. */
  private flushed = false;

  /** The request being reported is a quiet binary opcode (answered only on a hit or a failure). */
  quietRequest = false;

  /** Part of a message has been read. */
  get midMessage(): boolean {
    return this.inMessage;
  }

  constructor(
    private readonly conn: ParserConnection,
    private readonly request: boolean,
    private readonly sink: MessageSink,
  ) {
    this.magic = request ? REQUEST_MAGIC : RESPONSE_MAGIC;
  }

  flushPartial(): boolean {
    if (!this.inMessage || this.flushed || this.state === State.Resync) return false;
    // A request with no text yet (`*1000`, a method cut short) is not yet known to be one.
    if (this.request && this.info.previewLen === 0) return false;
    this.flushed = true;
    const info = this.info;
    info.incomplete = true;
    this.sink.message(this.conn, this.request, info);
    info.incomplete = false;
    return true;
  }

  reset(): void {
    this.state = State.Start;
    this.statOpen = false;
    this.inMessage = false;
    this.flushed = false;
    this.multi = Multi.None;
    this.hdrLen = 0;
    this.dataLeft = 0;
    this.remaining = 0;
  }

  skip(n: number, tsSec: number, tsNsec: number): boolean {
    if (n <= 0) return true;
    // The last bytes of a message so far, should its end never come (flushPartial).
    this.info.endSec = tsSec;
    this.info.endNsec = tsNsec;
    // Only inside a data block or a binary body does the parser know what the missing bytes were.
    if (this.state === State.Data && n <= this.remaining) {
      this.dataLeft = this.dataLeft > n ? this.dataLeft - n : 0;
      this.remaining -= n;
      this.info.bytes += n;
      if (this.remaining === 0) this.dataDone(tsSec, tsNsec);
      return true;
    }
    if (this.state === State.Body && n <= this.bodyLen - this.bodyPos) {
      if (this.request && this.bodyPos < this.keyEnd && this.bodyPos + n > this.keyStart) {
        // Part of the key is missing.
        if (!this.keyStarted) {
          this.appendByte(Ch.SPACE);
          this.keyStarted = true;
        }
        if (this.argShown <= ARG_PREVIEW) {
          this.appendEllipsis();
          this.argShown = ARG_PREVIEW + 1;
        }
      }
      this.bodyPos += n;
      this.info.bytes += n;
      if (this.bodyPos === this.bodyLen) this.binaryDone(tsSec, tsNsec);
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
    if (this.state === State.Resync && pos < end && this.canStart(buf[pos])) this.state = State.Start;
    while (pos < end) {
      switch (this.state) {
        case State.Start: {
          if (!this.inMessage) this.begin(tsSec, tsNsec);
          if (buf[pos] === this.magic) {
            this.binaryMode = true;
            this.hdrLen = 0;
            this.state = State.Header;
          } else {
            this.binaryMode = false;
            this.newLine();
            this.state = State.Line;
          }
          break;
        }
        case State.Line:
          pos = this.request ? this.requestLine(buf, pos, end, tsSec, tsNsec) : this.replyLine(buf, pos, end, tsSec, tsNsec);
          break;
        case State.Data: {
          if (this.dataLeft > 0) {
            const avail = end - pos;
            const n = avail < this.dataLeft ? avail : this.dataLeft;
            this.dataLeft -= n;
            this.remaining -= n;
            pos += n;
            info.bytes += n;
            break;
          }
          // The data block's CRLF; anything else means the length was wrong.
          if (buf[pos] !== (this.remaining === 2 ? Ch.CR : Ch.LF)) {
            this.fail(ResetReason.Malformed);
            break;
          }
          pos++;
          info.bytes++;
          if (--this.remaining === 0) this.dataDone(tsSec, tsNsec);
          break;
        }
        case State.Header: {
          const hdr = this.hdr;
          let n = this.hdrLen;
          while (n < HEADER_LEN && pos < end) hdr[n++] = buf[pos++];
          info.bytes += n - this.hdrLen;
          this.hdrLen = n;
          if (n === HEADER_LEN) this.endOfHeader(tsSec, tsNsec);
          break;
        }
        case State.Body: {
          const avail = end - pos;
          const left = this.bodyLen - this.bodyPos;
          const n = avail < left ? avail : left;
          if (this.request) {
            // The key's bytes in this piece, if any.
            const from = this.bodyPos;
            const lo = from > this.keyStart ? from : this.keyStart;
            const hi = from + n < this.keyEnd ? from + n : this.keyEnd;
            if (lo < hi) {
              if (!this.keyStarted) {
                this.appendByte(Ch.SPACE);
                this.keyStarted = true;
              }
              this.copyArg(buf, pos + (lo - from), hi - lo);
            }
          }
          this.bodyPos += n;
          pos += n;
          info.bytes += n;
          if (this.bodyPos === this.bodyLen) this.binaryDone(tsSec, tsNsec);
          break;
        }
        case State.Resync: {
          if (this.binaryMode) {
            // Binary has no lines to find; wait for the next segment.
            pos = end;
            break;
          }
          if (this.resyncAtLine) {
            this.resyncAtLine = false;
            if (this.canStartText(buf[pos])) {
              this.state = State.Start;
              break;
            }
          }
          let p = pos;
          while (p < end && buf[p] !== Ch.LF) p++;
          if (p === end) {
            pos = end;
            break;
          }
          pos = p + 1;
          if (pos < end && this.canStartText(buf[pos])) this.state = State.Start;
          break;
        }
      }
    }
  }

  private canStart(c: number): boolean {
    return c === this.magic || this.canStartText(c);
  }

  /** Commands are lower case; replies upper case or a number. */
  private canStartText(c: number): boolean {
    if (this.request) return c >= Ch.LOWER_A && c <= Ch.LOWER_Z;
    return (c >= Ch.UPPER_A && c <= Ch.UPPER_Z) || (c >= Ch.ZERO && c <= Ch.NINE);
  }

  private begin(tsSec: number, tsNsec: number): void {
    this.inMessage = true;
    this.flushed = false;
    this.quietRequest = false;
    this.info.begin(tsSec, tsNsec);
  }

  private newLine(): void {
    this.lineLen = 0;
    this.lineMax = MAX_LINE;
    this.tokIdx = 0;
    this.inTok = false;
    this.wordLen = 0;
    this.wordDone = false;
    this.wordDigits = true;
    this.cmd = null;
    this.dataIdx = -1;
    this.dataLen = -1;
    this.noreplyLast = false;
    this.quiet = false;
  }

  // ------------------------------------------------------------ text requests

  /** Consumes a command line up to its LF; returns the new position. */
  private requestLine(buf: Buffer, pos: number, end: number, tsSec: number, tsNsec: number): number {
    const info = this.info;
    while (pos < end) {
      const b = buf[pos];
      if (b === Ch.LF) {
        pos++;
        info.bytes++;
        if (this.inTok) this.endToken();
        this.endRequestLine(tsSec, tsNsec);
        return pos;
      }
      if (b === Ch.SPACE || b === Ch.TAB || b === Ch.CR) {
        pos++;
        info.bytes++;
        if (++this.lineLen > this.lineMax) {
          this.fail(ResetReason.Malformed);
          return pos;
        }
        // A CR is dropped, in a token or before the LF.
        if (b !== Ch.CR && this.inTok) this.endToken();
        continue;
      }
      // A run of token bytes.
      if (!this.inTok) this.startToken(b);
      let q = pos + 1;
      while (q < end) {
        const c = buf[q];
        if (c === Ch.LF || c === Ch.SPACE || c === Ch.CR || c === Ch.TAB) break;
        q++;
      }
      if (this.tokIdx === 0) {
        for (let i = pos; i < q; i++) {
          const c = buf[i];
          // A command is printable ASCII; anything else is not memcached text.
          if (c < 0x21 || c > 0x7e) {
            this.fail(ResetReason.Malformed);
            return i + 1;
          }
          if (this.tokLen < WORD_MAX) this.word[this.tokLen] = c;
          this.tokLen++;
        }
      } else {
        const c = this.cmd;
        if (c !== null) {
          if (this.tokIdx === c.dataIdx) this.parseNumber(buf, pos, q);
          if (c.noreplyFrom > 0 && this.tokIdx >= c.noreplyFrom) this.matchNoreply(buf, pos, q);
        }
        this.tokLen += q - pos;
      }
      const n = q - pos;
      this.copyArg(buf, pos, n);
      info.bytes += n;
      this.lineLen += n;
      pos = q;
      if (this.lineLen > this.lineMax) {
        this.fail(ResetReason.Malformed);
        return pos;
      }
    }
    return pos;
  }

  private startToken(b: number): void {
    if (this.tokIdx > 0) this.appendByte(Ch.SPACE);
    this.inTok = true;
    this.tokLen = 0;
    this.tokFirst = b;
    this.num = 0;
    this.numOk = true;
    this.nrMatch = 0;
    this.argShown = 0;
  }

  /** Adds the digits of buf[from, to) to the token's number. */
  private parseNumber(buf: Buffer, from: number, to: number): void {
    let num = this.num;
    let ok = this.numOk;
    for (let i = from; ok && i < to; i++) {
      const b = buf[i];
      if (b >= Ch.ZERO && b <= Ch.NINE) {
        num = num * 10 + (b - Ch.ZERO);
        if (num > MAX_DATA) ok = false;
      } else {
        ok = false;
      }
    }
    this.num = num;
    this.numOk = ok;
  }

  /** Matches buf[from, to) against the rest of "noreply". */
  private matchNoreply(buf: Buffer, from: number, to: number): void {
    let m = this.nrMatch;
    for (let i = from; m >= 0 && i < to; i++) m = m < NOREPLY.length && buf[i] === NOREPLY[m] ? m + 1 : -1;
    this.nrMatch = m;
  }

  private endToken(): void {
    this.inTok = false;
    const i = this.tokIdx++;
    if (i === 0) {
      const c = lookupCommand(this.word, this.tokLen);
      this.cmd = c;
      if (c !== null && c.longLine) this.lineMax = MAX_GET_LINE;
      return;
    }
    const c = this.cmd;
    if (c === null) return;
    if (i === c.dataIdx) this.dataLen = this.numOk ? this.num : -1;
    if (c.quietFrom > 0 && i >= c.quietFrom && this.tokLen === 1 && this.tokFirst === Ch.LOWER_Q) this.quiet = true;
    this.noreplyLast = c.noreplyFrom > 0 && i >= c.noreplyFrom && this.nrMatch === NOREPLY.length;
  }

  private endRequestLine(tsSec: number, tsNsec: number): void {
    // An empty line is a request too: memcached answers it with ERROR.
    const c = this.cmd;
    if (this.noreplyLast || this.quiet || (c !== null && c.noReply)) this.info.kind = MessageKind.NoReply;
    if (c !== null && c.dataIdx > 0) {
      if (this.dataLen < 0) {
        // No usable length: the data block cannot be found.
        this.fail(ResetReason.Malformed, true);
        return;
      }
      this.startData(this.dataLen);
      return;
    }
    this.complete(tsSec, tsNsec);
  }

  // ------------------------------------------------------------ text replies

  /** Consumes a reply line up to its LF; returns the new position. */
  private replyLine(buf: Buffer, pos: number, end: number, tsSec: number, tsNsec: number): number {
    const info = this.info;
    if (!this.wordDone) {
      // The reply word: letters, digits and '_'.
      let q = pos;
      let len = this.wordLen;
      let digits = this.wordDigits;
      while (q < end) {
        const b = buf[q];
        if (!((b >= Ch.UPPER_A && b <= Ch.UPPER_Z) || (b >= Ch.ZERO && b <= Ch.NINE) || b === Ch.UNDERSCORE || (b >= Ch.LOWER_A && b <= Ch.LOWER_Z))) break;
        if (len === REPLY_WORD_LIMIT) {
          this.fail(ResetReason.Malformed);
          return q + 1;
        }
        if (len < WORD_MAX) this.word[len] = b;
        len++;
        if (b > Ch.NINE) digits = false;
        q++;
      }
      info.bytes += q - pos;
      this.lineLen += q - pos;
      this.wordLen = len;
      this.wordDigits = digits;
      pos = q;
      if (pos === end) return pos;
      // The word ended (`ERROR:` ends at the colon).
      this.wordDone = true;
      const r = lookupReply(this.word, len, digits);
      if (r === null) {
        // The byte at pos (it may be the LF) is left to the resynchronisation.
        this.fail(ResetReason.Malformed);
        return pos;
      }
      this.reply = r;
      this.dataIdx = r.dataIdx;
      this.tokIdx = 1;
    }
    while (pos < end) {
      if (this.tokIdx > this.dataIdx) {
        // Nothing more to learn from this line: find its end.
        let q = pos;
        while (q < end && buf[q] !== Ch.LF) q++;
        info.bytes += q - pos;
        this.lineLen += q - pos;
        pos = q;
        if (this.lineLen > MAX_LINE) {
          this.fail(ResetReason.Malformed);
          return pos;
        }
        if (pos === end) return pos;
        pos++;
        info.bytes++;
        this.endReplyLine(tsSec, tsNsec);
        return pos;
      }
      const b = buf[pos++];
      info.bytes++;
      if (b === Ch.LF) {
        if (this.inTok) this.endReplyToken();
        this.endReplyLine(tsSec, tsNsec);
        return pos;
      }
      if (++this.lineLen > MAX_LINE) {
        this.fail(ResetReason.Malformed);
        return pos;
      }
      if (b === Ch.CR) continue;
      if (b === Ch.SPACE || b === Ch.TAB) {
        if (this.inTok) this.endReplyToken();
        continue;
      }
      if (!this.inTok) {
        this.inTok = true;
        this.num = 0;
        this.numOk = true;
      }
      if (this.tokIdx !== this.dataIdx) {
        // A token before the length (a key, flags): skip its run.
        let q = pos;
        while (q < end) {
          const c = buf[q];
          if (c === Ch.LF || c === Ch.SPACE || c === Ch.CR || c === Ch.TAB) break;
          q++;
        }
        info.bytes += q - pos;
        this.lineLen += q - pos;
        pos = q;
        if (this.lineLen > MAX_LINE) {
          this.fail(ResetReason.Malformed);
          return pos;
        }
        continue;
      }
      if (this.numOk) {
        if (b >= Ch.ZERO && b <= Ch.NINE) {
          this.num = this.num * 10 + (b - Ch.ZERO);
          if (this.num > MAX_DATA) this.numOk = false;
        } else {
          this.numOk = false;
        }
      }
    }
    return pos;
  }

  private endReplyToken(): void {
    this.inTok = false;
    if (this.tokIdx === this.dataIdx) this.dataLen = this.numOk ? this.num : -1;
    this.tokIdx++;
  }

  private endReplyLine(tsSec: number, tsNsec: number): void {
    const r = this.reply;
    const info = this.info;
    switch (r.type) {
      case ReplyType.Value:
        if (this.multi === Multi.Stat || this.dataLen < 0) break;
        this.multi = Multi.Value;
        info.statusText = 'HIT';
        this.startData(this.dataLen);
        return;
      case ReplyType.Va:
        if (this.multi !== Multi.None || this.dataLen < 0) break;
        info.statusText = r.text;
        this.startData(this.dataLen);
        return;
      case ReplyType.Stat:
        if (this.multi === Multi.Value) break;
        this.multi = Multi.Stat;
        this.newLine();
        return;
      case ReplyType.End:
        info.statusText = this.multi === Multi.Value ? 'HIT' : this.multi === Multi.Stat ? 'STAT' : 'MISS';
        this.complete(tsSec, tsNsec);
        return;
      case ReplyType.Single:
        // Inside a get or stats answer only an error may end it early.
        if (this.multi !== Multi.None && !r.error) break;
        info.statusText = r.text;
        info.isError = r.error;
        this.complete(tsSec, tsNsec);
        return;
    }
    this.fail(ResetReason.Malformed, true);
  }

  // ------------------------------------------------------------ text data blocks

  private startData(n: number): void {
    this.dataLeft = n;
    this.remaining = n + 2;
    this.state = State.Data;
  }

  private dataDone(tsSec: number, tsNsec: number): void {
    if (this.request || this.reply.type === ReplyType.Va) {
      this.complete(tsSec, tsNsec);
      return;
    }
    // A VALUE block: another VALUE, or END, follows.
    this.newLine();
    this.state = State.Line;
  }

  // ------------------------------------------------------------ binary

  private endOfHeader(tsSec: number, tsNsec: number): void {
    const h = this.hdr;
    const keyLen = (h[2] << 8) | h[3];
    const extLen = h[4];
    const dataType = h[5];
    const bodyLen = ((h[8] << 24) | (h[9] << 16) | (h[10] << 8) | h[11]) >>> 0;
    // Data type 0 (raw bytes) is the only one defined.
    if (dataType !== 0 || bodyLen > MAX_DATA || extLen + keyLen > bodyLen) {
      this.fail(ResetReason.Malformed);
      return;
    }
    this.opcode = h[1];
    this.bstatus = (h[6] << 8) | h[7];
    this.opaque = ((h[12] << 24) | (h[13] << 16) | (h[14] << 8) | h[15]) >>> 0;
    this.bodyLen = bodyLen;
    this.bodyPos = 0;
    this.keyStart = extLen;
    this.keyEnd = extLen + keyLen;
    this.keyStarted = false;
    this.argShown = 0;
    if (this.request) {
      const name = OPCODE_NAMES[this.opcode];
      for (let i = 0; i < name.length; i++) this.appendByte(name[i]);
    }
    if (bodyLen === 0) this.binaryDone(tsSec, tsNsec);
    else this.state = State.Body;
  }

  private binaryDone(tsSec: number, tsNsec: number): void {
    const info = this.info;
    if (!this.request && this.opcode === OP_STAT) {
      // A STAT reply is one packet per statistic, all with the request's
      // opaque, ended by one with an empty key: together they are one answer.
      if (this.keyEnd > this.keyStart) {
        if (!this.statOpen) {
          this.statOpen = true;
          this.statSec = info.startSec;
          this.statNsec = info.startNsec;
          this.statBytes = 0;
        }
        this.statBytes += info.bytes;
        this.inMessage = false;
        this.state = State.Start;
        return;
      }
      if (this.statOpen) {
        this.statOpen = false;
        info.startSec = this.statSec;
        info.startNsec = this.statNsec;
        info.bytes += this.statBytes;
      }
    }
    info.matchId = this.opaque;
    if (this.request) {
      // Quiet requests stay Normal: pairing matches their answers by opaque.
      if (this.opcode === OP_QUITQ) info.kind = MessageKind.NoReply;
      this.quietRequest = isQuietOpcode(this.opcode);
    } else {
      const s = this.bstatus;
      info.status = s;
      info.statusText = binaryStatusText(s);
      info.isError = isBinaryError(s);
    }
    this.complete(tsSec, tsNsec);
  }

  // ------------------------------------------------------------ common

  private complete(tsSec: number, tsNsec: number): void {
    const info = this.info;
    info.endSec = tsSec;
    info.endNsec = tsNsec;
    this.inMessage = false;
    this.multi = Multi.None;
    this.state = State.Start;
    if (this.flushed) {
      this.flushed = false;
      return;
    }
    this.sink.message(this.conn, this.request, info);
  }

  /** Resets after malformed data or a gap; `atLine`: the bad data ended with a line, the next one may be good. */
  private fail(reason: ResetReason, atLine = false): void {
    // Bytes were lost, not garbled: the message so far still counts.
    if (reason === ResetReason.Gap) this.flushPartial();
    this.reset();
    this.state = State.Resync;
    this.resyncAtLine = atLine;
    this.sink.reset(this.conn, this.request, reason);
  }

  /** Appends up to the argument's remaining preview room of buf[at, at + n); "..." once past it. */
  private copyArg(buf: Buffer, at: number, n: number): void {
    const room = ARG_PREVIEW - this.argShown;
    const k = room <= 0 ? 0 : n < room ? n : room;
    if (k > 0) {
      const info = this.info;
      const preview = info.preview;
      let len = info.previewLen;
      const stop = len + k < PREVIEW_MAX ? len + k : PREVIEW_MAX;
      while (len < stop) {
        const b = buf[at++];
        // Control bytes would break the one-line output; show them as '.'.
        preview[len++] = b < 0x20 || b === 0x7f ? Ch.DOT : b;
      }
      info.previewLen = len;
      this.argShown += k;
    }
    if (n > k && this.argShown === ARG_PREVIEW) {
      this.appendEllipsis();
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


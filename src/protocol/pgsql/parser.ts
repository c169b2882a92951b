// PostgreSQL (protocol 3.0), as a streaming parser per direction.
//
// Every message but the first few of a connection is a type byte and a
// 32-bit length (that counts itself, not the type); the startup-form messages
// (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest) have the length
// and a 32-bit code and no type. A parser keeps its place in a few numbers:
// the header bytes read so far, the body bytes still to come, and the first
// bytes of the body it needs (a statement's text, a command tag, an error's
// fields: at most SCRATCH of them) in a buffer of its own. The rest of a body
// (rows, copy data) is skipped by counting, so skip() (bytes lost to snaplen)
// inside a body costs nothing.
//
// What is one request:
//   - StartupMessage: `STARTUP user db`, answered by everything up to
//     ReadyForQuery (or a FATAL ErrorResponse): authentication is part of it.
//   - Query ('Q'): its SQL; the response runs to ReadyForQuery, and each
//     statement's CommandComplete tag is its status (the last one shows).
//   - An extended-protocol batch, from its first message (Parse, Bind,
//     Describe, Execute, Close, Flush) to Sync: the SQL of each statement it
//     executes, joined by "; " (prepared statements and portals are
//     remembered per connection, so an Execute of a statement prepared
//     earlier shows its SQL); a batch that executes nothing shows what it
//     parsed. Pipelined batches are one request per Sync, answered in order.
//   - FunctionCall: `FUNCTION CALL`.
//   - Terminate and CancelRequest expect no response.
// SSLRequest and GSSENCRequest are answered by one byte: 'N' and the
// connection goes on in the clear; 'S' (or 'G') and it is encrypted, reported
// once as ResetReason.Encrypted, and nothing more on it is parsed. The
// response parser learns that a one-byte answer is due from the request
// parser, through state they share per connection (a WeakMap keyed by the
// ParserConnection). They share how many requests wait for ReadyForQuery
// too: a NotificationResponse when none waits is a push (MessageKind.Push),
// answering nothing; a NoticeResponse or ParameterStatus then is skipped.
import { MessageInfo, MessageKind, PREVIEW_MAX, PerConnection, ResetReason, type MessageSink, type ParserConnection, type StreamParser } from '../message';
import { StatementTable, appendSql, trimSql } from '../sql';
import { cstringEnd } from '../text';
import { Back, COMMAND_TAGS, ErrorField, Front, SQLSTATES, StartupCode, isBackType, isFrontType, tagCountsAffected, tagCountsRows } from './names';

/** Body bytes kept for reading: a statement's text (the preview holds 256 of them), tags, error fields. */
const SCRATCH = 1024;
/** Largest message accepted (PostgreSQL's own limit is 1 GB). */
const MAX_MESSAGE = 0x40000000;
/** Prepared statements and named portals remembered per connection. */
const MAX_STATEMENTS = 256;
/** Longest error message kept, in bytes. */
const MAX_ERROR_MESSAGE = 200;

const enum Ch {
  NUL = 0,
  SPACE = 0x20,
  ZERO = 0x30,
  NINE = 0x39,
  UPPER_G = 0x47,
  UPPER_N = 0x4e,
  UPPER_P = 0x50,
  UPPER_S = 0x53,
}

const enum State {
  Header,
  Body,
  /** Lost: the rest of this chunk is ignored, and the next one is tried as a message start. */
  Resync,
  /** Encrypted: nothing more is parsed. */
  Ignore,
}

/** What both directions of one connection know. */
class ConnState {
  /** An SSLRequest or GSSENCRequest waits for its one-byte answer. */
  encryptionAsked = false;
  encrypted = false;
  /** Requests sent whose ReadyForQuery has not come. */
  outstanding = 0;
}

const connStates = new PerConnection(() => new ConnState());

/** Message framing, shared by both directions. */
abstract class PgFraming implements StreamParser {
  protected readonly info = new MessageInfo();
  protected readonly state: ConnState;
  private st = State.Header;
  /** Header bytes read, and how many the header has (5 typed, 4 startup-form). */
  private hdr = 0;
  private hdrLen = 5;
  private lenAcc = 0;
  /** The message's type byte (0 for a startup-form message). */
  protected type = 0;
  /** Its body length, and the body bytes still to come. */
  protected bodyLen = 0;
  private left = 0;
  /** The first `kept` bytes of the body. */
  protected readonly scratch = Buffer.allocUnsafe(SCRATCH);
  protected kept = 0;
  /** Body bytes were lost to snaplen. */
  protected cut = false;
  /** The message in progress was reported by flushPartial(): its end is not handled again. */
  protected bodyFlushed = false;
  /** When the message's first byte came, and the time of the bytes being parsed. */
  protected msgSec = 0;
  protected msgNsec = 0;
  protected nowSec = 0;
  protected nowNsec = 0;

  constructor(
    protected readonly conn: ParserConnection,
    protected readonly fromClient: boolean,
    protected readonly sink: MessageSink,
  ) {
    this.state = connStates.of(conn);
  }

  /**
   * The first byte of a message: the header's length (5 or 4), 1 when the
   * byte is a whole message by itself (and was handled), 0 when it starts no
   * message.
   */
  protected abstract first(b: number): number;
  /** The whole message is in (its first `kept` body bytes in scratch). */
  protected abstract done(): void;

  feed(buf: Buffer, start: number, end: number, tsSec: number, tsNsec: number): void {
    this.nowSec = tsSec;
    this.nowNsec = tsNsec;
    if (this.st === State.Resync) this.st = State.Header;
    let pos = start;
    while (pos < end) {
      if (this.state.encrypted) {
        this.st = State.Ignore;
        return;
      }
      if (this.st === State.Header) {
        const b = buf[pos++];
        if (this.hdr === 0) {
          this.msgSec = tsSec;
          this.msgNsec = tsNsec;
          const n = this.first(b);
          if (n === 1) continue;
          if (n === 0) {
            this.malformed();
            return;
          }
          this.hdrLen = n;
          this.type = n === 5 ? b : 0;
          this.lenAcc = n === 5 ? 0 : b;
          this.hdr = 1;
          continue;
        }
        this.lenAcc = this.lenAcc * 256 + b;
        if (++this.hdr < this.hdrLen) continue;
        const len = this.lenAcc;
        if (len < this.hdrLen - 1 || len > MAX_MESSAGE) {
          this.malformed();
          return;
        }
        this.bodyLen = this.left = len - 4;
        this.kept = 0;
        this.cut = false;
        this.hdr = 0;
        if (this.left === 0) this.done();
        else this.st = State.Body;
        continue;
      }
      if (this.st !== State.Body) return;
      // Body: keep what fits in scratch, count the rest.
      let n = end - pos;
      if (n > this.left) n = this.left;
      const room = SCRATCH - this.kept;
      if (room > 0) {
        const k = n < room ? n : room;
        buf.copy(this.scratch, this.kept, pos, pos + k);
        this.kept += k;
      }
      pos += n;
      this.left -= n;
      if (this.left === 0) {
        this.st = State.Header;
        this.completed();
      }
    }
  }

  private completed(): void {
    if (this.bodyFlushed) this.bodyFlushed = false;
    else this.done();
  }

  /** A message's body has begun and not ended. */
  protected get inBody(): boolean {
    return this.st === State.Body;
  }

  skip(n: number, tsSec: number, tsNsec: number): boolean {
    if (this.st === State.Ignore) return true;
    if (this.st === State.Body && n <= this.left) {
      this.nowSec = tsSec;
      this.nowNsec = tsNsec;
      this.left -= n;
      this.cut = true;
      if (this.left === 0) {
        this.st = State.Header;
        this.completed();
      }
      return true;
    }
    this.reset();
    this.sink.reset(this.conn, this.fromClient, ResetReason.Gap);
    return false;
  }

  reset(): void {
    if (this.st !== State.Ignore) this.st = State.Header;
    this.hdr = 0;
    this.left = 0;
    this.bodyFlushed = false;
  }

  abstract flushPartial(): boolean;

  /** Bytes that start no message: reported once, then each new chunk is tried as a message start. */
  private malformed(): void {
    this.hdr = 0;
    this.st = State.Resync;
    this.sink.reset(this.conn, this.fromClient, ResetReason.Malformed);
  }

  /** The whole message's size on the wire. */
  protected get msgBytes(): number {
    return this.hdrLen + this.bodyLen;
  }

  /** Reports the connection encrypted, once. */
  protected encrypt(): void {
    this.state.encrypted = true;
    this.st = State.Ignore;
    this.sink.reset(this.conn, this.fromClient, ResetReason.Encrypted);
  }
}

// ---------------------------------------------------------------- requests

export class PgRequestParser extends PgFraming {
  /** No message seen yet: a startup-form message may come (its first byte is a length's, 0). */
  private expectStartup = true;
  /** An extended-protocol batch is open (up to its Sync). */
  private inBatch = false;
  private batchBytes = 0;
  private executes = 0;
  /** The last Parse's SQL in this batch (shown when nothing is executed). */
  private parsedText: Uint8Array | null = null;
  private parsedLen = 0;
  /** The unnamed statement and the unnamed portal's SQL (the common case: no copies). */
  private readonly unnamed = Buffer.allocUnsafe(PREVIEW_MAX);
  private unnamedLen = 0;
  private portalText: Uint8Array | null = null;
  private portalLen = 0;
  private readonly statements = new StatementTable(MAX_STATEMENTS);
  private readonly portals = new StatementTable(MAX_STATEMENTS);
  /** A statement's SQL formatted for the preview before it is kept. */
  private readonly fmt = new MessageInfo();
  /** The open batch was reported by flushPartial(): its Sync reports nothing. */
  private batchFlushed = false;

  /**
   * A Query cut short is reported from the text that arrived; a batch whose
   * Sync has not come, from its messages so far.
   */
  flushPartial(): boolean {
    const info = this.info;
    if (this.inBody && this.type === Front.Query && this.kept > 0 && !this.bodyFlushed) {
      this.done();
      this.bodyFlushed = true;
      return true;
    }
    if (!this.inBatch || this.batchFlushed) return false;
    if (this.executes === 0 && this.parsedText !== null) info.appendBytes(this.parsedText, 0, this.parsedLen);
    info.bytes = this.batchBytes;
    info.incomplete = true;
    this.batchFlushed = true;
    this.request(MessageKind.Normal);
    info.incomplete = false;
    return true;
  }

  protected first(b: number): number {
    if (this.expectStartup && b === 0) return 4;
    if (!isFrontType(b)) return 0;
    this.expectStartup = false;
    return 5;
  }

  protected done(): void {
    const s = this.scratch;
    const kept = this.kept;
    const info = this.info;
    switch (this.type) {
      case 0:
        this.startup();
        return;
      case Front.Query: {
        if (this.inBatch) this.inBatch = false; // a batch with no Sync: the Query ends it
        info.begin(this.msgSec, this.msgNsec);
        const z = cstringEnd(s, 0, kept);
        appendSql(info, s, 0, z < 0 ? kept : z);
        if (z < 0 && info.previewLen < PREVIEW_MAX) info.appendEllipsis();
        trimSql(info);
        info.bytes = this.msgBytes;
        // Reported before its end (flushPartial): incomplete.
        info.incomplete = this.inBody;
        this.request(MessageKind.Normal);
        info.incomplete = false;
        return;
      }
      case Front.Parse: {
        this.openBatch();
        const nameEnd = cstringEnd(s, 0, kept);
        if (nameEnd < 0) return;
        const f = this.fmt;
        f.previewLen = 0;
        const z = cstringEnd(s, nameEnd + 1, kept);
        appendSql(f, s, nameEnd + 1, z < 0 ? kept : z);
        if (z < 0 && f.previewLen < PREVIEW_MAX) f.appendEllipsis();
        trimSql(f);
        if (nameEnd === 0) {
          f.preview.copy(this.unnamed, 0, 0, f.previewLen);
          this.unnamedLen = f.previewLen;
          this.parsedText = this.unnamed;
          this.parsedLen = f.previewLen;
        } else {
          const text = Uint8Array.prototype.slice.call(f.preview, 0, f.previewLen) as Uint8Array;
          this.statements.set(s, 0, nameEnd, text);
          this.parsedText = text;
          this.parsedLen = text.length;
        }
        return;
      }
      case Front.Bind: {
        this.openBatch();
        const portalEnd = cstringEnd(s, 0, kept);
        const stmtEnd = portalEnd < 0 ? -1 : cstringEnd(s, portalEnd + 1, kept);
        if (stmtEnd < 0) return;
        let text: Uint8Array | null;
        let len: number;
        if (stmtEnd === portalEnd + 1) {
          text = this.unnamedLen > 0 ? this.unnamed : null;
          len = this.unnamedLen;
        } else {
          text = this.statements.get(s, portalEnd + 1, stmtEnd - portalEnd - 1);
          len = text === null ? 0 : text.length;
        }
        if (portalEnd === 0) {
          this.portalText = text;
          this.portalLen = len;
        } else if (text !== null) {
          this.portals.set(s, 0, portalEnd, Uint8Array.prototype.slice.call(text, 0, len) as Uint8Array);
        }
        return;
      }
      case Front.Execute: {
        this.openBatch();
        const portalEnd = cstringEnd(s, 0, kept);
        if (portalEnd < 0) return;
        let text: Uint8Array | null;
        let len: number;
        if (portalEnd === 0) {
          text = this.portalText;
          len = this.portalLen;
        } else {
          text = this.portals.get(s, 0, portalEnd);
          len = text === null ? 0 : text.length;
        }
        if (this.executes++ > 0 && info.previewLen > 0) info.appendAscii('; ');
        if (text === null) {
          // Prepared before the capture began.
          info.appendAscii('EXECUTE ');
          info.appendBytes(s, 0, portalEnd);
        } else {
          info.appendBytes(text, 0, len);
        }
        return;
      }
      case Front.Close: {
        this.openBatch();
        const nameEnd = cstringEnd(s, 1, kept);
        if (nameEnd <= 1) return;
        if (s[0] === Ch.UPPER_S) this.statements.delete(s, 1, nameEnd - 1);
        else if (s[0] === Ch.UPPER_P) this.portals.delete(s, 1, nameEnd - 1);
        return;
      }
      case Front.Describe:
      case Front.Flush:
        this.openBatch();
        return;
      case Front.Sync: {
        if (this.batchFlushed) {
          this.batchFlushed = false;
          this.inBatch = false;
          return;
        }
        if (!this.inBatch) {
          info.begin(this.msgSec, this.msgNsec);
          info.appendAscii('SYNC');
        } else if (this.executes === 0 && this.parsedText !== null) {
          info.appendBytes(this.parsedText, 0, this.parsedLen);
        }
        info.bytes = this.batchBytes + this.msgBytes;
        this.inBatch = false;
        this.request(MessageKind.Normal);
        return;
      }
      case Front.FunctionCall:
        info.begin(this.msgSec, this.msgNsec);
        info.appendAscii('FUNCTION CALL');
        info.bytes = this.msgBytes;
        this.request(MessageKind.Normal);
        return;
      case Front.Terminate:
        info.begin(this.msgSec, this.msgNsec);
        info.appendAscii('TERMINATE');
        info.bytes = this.msgBytes;
        this.request(MessageKind.NoReply);
        return;
      default:
        // Password and SASL messages (part of the startup's exchange), COPY data from the client.
        if (this.inBatch) this.batchBytes += this.msgBytes;
    }
  }

  /** A batch message: the batch opens at the first one. */
  private openBatch(): void {
    if (!this.inBatch) {
      this.inBatch = true;
      this.info.begin(this.msgSec, this.msgNsec);
      this.batchBytes = 0;
      this.executes = 0;
      this.parsedText = null;
      this.batchFlushed = false;
    }
    this.batchBytes += this.msgBytes;
  }

  private startup(): void {
    const s = this.scratch;
    const info = this.info;
    if (this.kept < 4) return;
    const code = s.readUInt32BE(0);
    if (code === StartupCode.Ssl || code === StartupCode.GssEnc) {
      this.state.encryptionAsked = true;
      return;
    }
    info.begin(this.msgSec, this.msgNsec);
    info.bytes = this.msgBytes;
    if (code === StartupCode.Cancel) {
      info.appendAscii('CANCEL');
      this.request(MessageKind.NoReply);
      return;
    }
    if (code >>> 16 !== 3) {
      this.sink.reset(this.conn, true, ResetReason.Malformed);
      return;
    }
    this.expectStartup = false;
    // Parameters: name\0value\0 ... \0. The database defaults to the user's name.
    let user = -1;
    let userEnd = -1;
    let db = -1;
    let dbEnd = -1;
    for (let p = 4; p < this.kept && s[p] !== 0; ) {
      const ke = cstringEnd(s, p, this.kept);
      if (ke < 0) break;
      const ve = cstringEnd(s, ke + 1, this.kept);
      if (ve < 0) break;
      const klen = ke - p;
      if (klen === 4 && s.toString('latin1', p, ke) === 'user') {
        user = ke + 1;
        userEnd = ve;
      } else if (klen === 8 && s.toString('latin1', p, ke) === 'database') {
        db = ke + 1;
        dbEnd = ve;
      }
      p = ve + 1;
    }
    info.appendAscii('STARTUP');
    if (user >= 0) {
      info.appendPreview(Ch.SPACE);
      info.appendBytes(s, user, userEnd);
      info.appendPreview(Ch.SPACE);
      if (db >= 0) info.appendBytes(s, db, dbEnd);
      else info.appendBytes(s, user, userEnd);
    }
    this.request(MessageKind.Normal);
  }

  private request(kind: MessageKind): void {
    const info = this.info;
    info.kind = kind;
    info.endSec = this.nowSec;
    info.endNsec = this.nowNsec;
    if (kind === MessageKind.Normal) this.state.outstanding++;
    this.sink.message(this.conn, true, info);
  }

  override reset(): void {
    super.reset();
    this.inBatch = false;
    this.batchFlushed = false;
  }
}

// ---------------------------------------------------------------- responses

export class PgResponseParser extends PgFraming {
  private inResponse = false;
  /** This message arrived when no request waited: a push or a notice, not part of a response. */
  private async = false;
  private sawAuth = false;
  private dataRows = 0;
  private fatal = false;
  /** The open response was reported by flushPartial(): its ReadyForQuery reports nothing. */
  private flushed = false;

  /** A response that has begun is reported from what arrived (rows so far, the last tag). */
  flushPartial(): boolean {
    if (!this.inResponse || this.flushed) return false;
    const info = this.info;
    if (info.rows < 0 && this.dataRows > 0) info.rows = this.dataRows;
    info.endSec = this.nowSec;
    info.endNsec = this.nowNsec;
    info.incomplete = true;
    this.flushed = true;
    this.sink.message(this.conn, false, info);
    info.incomplete = false;
    return true;
  }

  protected first(b: number): number {
    const st = this.state;
    if (st.encryptionAsked) {
      st.encryptionAsked = false;
      if (b === Ch.UPPER_S || b === Ch.UPPER_G) {
        this.encrypt();
        return 1;
      }
      if (b === Ch.UPPER_N) return 1;
      // Anything else: an ErrorResponse from a server that knows no SSLRequest.
    }
    if (!isBackType(b)) return 0;
    this.async = false;
    if (!this.inResponse) {
      if (st.outstanding === 0 && (b === Back.NotificationResponse || b === Back.NoticeResponse || b === Back.ParameterStatus)) {
        this.async = true;
        return 5;
      }
      this.inResponse = true;
      this.flushed = false;
      this.sawAuth = false;
      this.dataRows = 0;
      this.fatal = false;
      this.info.begin(this.msgSec, this.msgNsec);
    }
    return 5;
  }

  protected done(): void {
    const info = this.info;
    if (this.async) {
      if (this.type === Back.NotificationResponse) {
        info.begin(this.msgSec, this.msgNsec);
        info.kind = MessageKind.Push;
        info.bytes = this.msgBytes;
        info.endSec = this.nowSec;
        info.endNsec = this.nowNsec;
        this.sink.message(this.conn, false, info);
      }
      return;
    }
    info.bytes += this.msgBytes;
    switch (this.type) {
      case Back.Authentication:
        this.sawAuth = true;
        return;
      case Back.DataRow:
        this.dataRows++;
        return;
      case Back.CommandComplete:
        this.commandComplete();
        return;
      case Back.EmptyQueryResponse:
        info.statusText = 'EMPTY';
        return;
      case Back.ErrorResponse:
        this.error();
        // A FATAL error ends the connection: no ReadyForQuery follows.
        if (this.fatal) this.finish();
        return;
      case Back.ReadyForQuery:
        this.finish();
        return;
      default:
    }
  }

  private commandComplete(): void {
    const s = this.scratch;
    const info = this.info;
    let end = cstringEnd(s, 0, this.kept);
    if (end < 0) end = this.kept;
    // `SELECT 3`, `INSERT 0 1`, `CREATE TABLE`: a trailing number is the count.
    let sp = end;
    while (sp > 0 && s[sp - 1] >= Ch.ZERO && s[sp - 1] <= Ch.NINE) sp--;
    let count = -1;
    let tagEnd = end;
    if (sp < end && sp > 0 && s[sp - 1] === Ch.SPACE && end - sp <= 15) {
      count = 0;
      for (let i = sp; i < end; i++) count = count * 10 + (s[i] - Ch.ZERO);
      tagEnd = sp - 1;
    }
    const tag = COMMAND_TAGS.get(s, 0, tagEnd);
    if (info.isError) return; // an error earlier in the query string is the status
    info.statusText = tag;
    info.statusCount = count;
    if (count >= 0) {
      if (tagCountsRows(tag)) info.rows = (info.rows < 0 ? 0 : info.rows) + count;
      else if (tagCountsAffected(tag)) info.affectedRows = (info.affectedRows < 0 ? 0 : info.affectedRows) + count;
    }
  }

  private error(): void {
    const s = this.scratch;
    const info = this.info;
    info.isError = true;
    info.statusCount = -1;
    // Fields: a code byte and a C string each, up to a NUL.
    for (let p = 0; p < this.kept && s[p] !== 0; ) {
      const code = s[p];
      const e = cstringEnd(s, p + 1, this.kept);
      const end = e < 0 ? this.kept : e;
      if (code === ErrorField.Code) info.statusText = info.sqlState = SQLSTATES.get(s, p + 1, end - p - 1);
      else if (code === ErrorField.Message) info.errorMessage = s.toString('utf8', p + 1, end - p - 1 > MAX_ERROR_MESSAGE ? p + 1 + MAX_ERROR_MESSAGE : end);
      else if (code === Ch.UPPER_S || code === 0x56) {
        // Severity ('S', localized; 'V' since 9.6, never localized).
        const sev = s.toString('latin1', p + 1, end);
        if (sev === 'FATAL' || sev === 'PANIC') this.fatal = true;
      }
      if (e < 0) break;
      p = e + 1;
    }
  }

  private finish(): void {
    const info = this.info;
    this.inResponse = false;
    if (info.rows < 0 && this.dataRows > 0) info.rows = this.dataRows; // a portal suspended, or rows then an error
    if (this.sawAuth && !info.isError && info.statusText === '') info.statusText = 'OK';
    info.endSec = this.nowSec;
    info.endNsec = this.nowNsec;
    if (this.state.outstanding > 0) this.state.outstanding--;
    if (this.flushed) this.flushed = false;
    else this.sink.message(this.conn, false, info);
  }

  override reset(): void {
    super.reset();
    this.inResponse = false;
    this.flushed = false;
    this.state.outstanding = 0;
  }
}

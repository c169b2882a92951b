// MySQL and MariaDB (the client/server protocol), as a streaming parser per
// direction.
//
// Every packet is a 3-byte little-endian payload length, a sequence id and
// the payload; a payload of 16 MB or more spans packets of exactly 0xffffff
// bytes and one shorter. A parser keeps its place in a few numbers (header
// bytes read, payload bytes still to come) and the first bytes of a payload
// it needs (a statement's text, an OK's counts, an error's code and message)
// in a buffer of its own; rows are counted, never copied.
//
// What is one request: a client packet with sequence id 0 (a command), or the
// login (the client's handshake response: `LOGIN user db`, answered by
// everything up to the server's OK or ERR, auth switches included). Requests:
//   COM_QUERY         its SQL
//   COM_STMT_PREPARE  `PREPARE ` and its SQL
//   COM_STMT_EXECUTE  the prepared SQL, with ? where the parameters go
//                     (looked up by statement id; `EXECUTE <id>` when the
//                     prepare was not captured)
//   COM_INIT_DB       `INIT_DB db`; the others by name (`PING`, `STATISTICS`)
//   COM_QUIT, COM_STMT_CLOSE and COM_STMT_SEND_LONG_DATA expect no response.
// A response runs to its end: an OK (affected rows), an ERR (code, SQLSTATE,
// message), or a result set (column count, column definitions, an EOF unless
// CLIENT_DEPRECATE_EOF, rows, and an EOF or OK that ends it; another result
// follows while SERVER_MORE_RESULTS_EXISTS is set). LOCAL INFILE's request
// for a file is followed by the file from the client and then the OK.
//
// What the two directions share, per connection (a WeakMap keyed by the
// ParserConnection): the capability flags of the handshake (DEPRECATE_EOF,
// COMPRESS, QUERY_ATTRIBUTES), the commands waiting for their responses (a
// response's shape depends on its command), and the prepared statements
// (the SQL is in the request, the id in the response).
//
// The compressed protocol (CLIENT_COMPRESS on both sides) starts after the
// login's OK: each direction is then a sequence of 7-byte-headed frames whose
// payload is packets, deflated when the frame says so. Without the handshake,
// a client's first command frame is recognized by its shape.
// SSL requested in the handshake: counted once as ResetReason.Encrypted, and
// nothing more on the connection is parsed.
import zlib from 'node:zlib';
import { MessageInfo, MessageKind, PREVIEW_MAX, PerConnection, ResetReason, type MessageSink, type ParserConnection, type StreamParser } from '../message';
import { StatementTable, appendSql, trimSql } from '../sql';
import { cstringEnd } from '../text';
import { COMMAND_NAMES, Cap, Com, ERROR_CODES, Header, MAX_PACKET, SQLSTATES, ServerStatus, expectsNoReply } from './names';

/** Payload bytes kept for reading. */
const SCRATCH = 1024;
/** Prepared statements remembered per connection. */
const MAX_STATEMENTS = 256;
/** Commands remembered while they wait for their responses (MySQL answers one at a time). */
const MAX_WAITING = 16;
/** Longest error message kept, in bytes. */
const MAX_ERROR_MESSAGE = 200;
/** Largest compressed frame buffered for inflating. */
const MAX_FRAME = MAX_PACKET + 64;
/** A compressed frame's header: compressed length (3), sequence id, uncompressed length (3). */
const FRAME_HEADER = 7;

const enum Phase {
  /** Nothing seen yet: the capture may have begun mid-connection. */
  Unknown,
  /** The server's greeting was seen: the login comes next. */
  Greeting,
  /** The client sent its handshake response: authentication runs to an OK or ERR. */
  Auth,
  Command,
}

const enum St {
  Header,
  Payload,
  Resync,
  Ignore,
}

class ConnState {
  phase = Phase.Unknown;
  clientCaps = 0;
  serverCaps = 0;
  /** The client's capabilities are known (its handshake response was seen). */
  capsKnown = false;
  /** Both directions are compressed from their next packet on. */
  compress = false;
  encrypted = false;
  /** Commands waiting for their responses, first in first out. */
  readonly waiting = new Int16Array(MAX_WAITING);
  head = 0;
  count = 0;
  /** The SQL of COM_STMT_PREPAREs waiting for their statement ids. */
  readonly prepares: (Uint8Array | null)[] = [];
  readonly statements = new StatementTable(MAX_STATEMENTS);

  push(com: number): void {
    if (this.count === MAX_WAITING) this.shift();
    this.waiting[(this.head + this.count) % MAX_WAITING] = com;
    this.count++;
  }

  shift(): number {
    if (this.count === 0) return -1;
    const com = this.waiting[this.head];
    this.head = (this.head + 1) % MAX_WAITING;
    this.count--;
    return com;
  }

  get deprecateEof(): boolean {
    return (this.clientCaps & this.serverCaps & Cap.DeprecateEof) !== 0;
  }
}

const connStates = new PerConnection(() => new ConnState());

/** A length-encoded integer at `off`: its value in `lenencValue`, returns the offset after it (-1 when cut off). */
let lenencValue = 0;
function readLenenc(b: Buffer, off: number, end: number): number {
  if (off >= end) return -1;
  const first = b[off];
  if (first < 0xfb) {
    lenencValue = first;
    return off + 1;
  }
  if (first === 0xfc) {
    if (off + 3 > end) return -1;
    lenencValue = b[off + 1] | (b[off + 2] << 8);
    return off + 3;
  }
  if (first === 0xfd) {
    if (off + 4 > end) return -1;
    lenencValue = b[off + 1] | (b[off + 2] << 8) | (b[off + 3] << 16);
    return off + 4;
  }
  if (first === 0xfe) {
    if (off + 9 > end) return -1;
    lenencValue = b.readUInt32LE(off + 1) + b.readUInt32LE(off + 5) * 0x100000000;
    return off + 9;
  }
  return -1; // 0xfb (NULL) and 0xff are no integers
}

/** Packet framing (plain and compressed), shared by both directions. */
abstract class MysqlFraming implements StreamParser {
  protected readonly info = new MessageInfo();
  protected readonly state: ConnState;
  private st = St.Header;
  private hdr = 0;
  private lenAcc = 0;
  /** The packet's payload length and sequence id; payload bytes still to come. */
  protected len = 0;
  protected seq = 0;
  private left = 0;
  protected readonly scratch = Buffer.allocUnsafe(SCRATCH);
  protected kept = 0;
  /** This packet continues the previous one's payload (that one was 0xffffff long). */
  protected continuation = false;
  private nextContinues = false;
  protected msgSec = 0;
  protected msgNsec = 0;
  protected nowSec = 0;
  protected nowNsec = 0;
  /** The packet in progress was reported by flushPartial(): its end is not handled again. */
  protected packetFlushed = false;

  // The compressed protocol.
  private compressed = false;
  private fhdr = 0;
  private readonly frameHeader = Buffer.alloc(FRAME_HEADER);
  private frameLeft = 0;
  /** The frame is deflated: its bytes are gathered in `frame`, then inflated. */
  private deflated = false;
  private frame: Buffer = Buffer.alloc(0);
  private frameLen = 0;

  constructor(
    protected readonly conn: ParserConnection,
    protected readonly fromClient: boolean,
    protected readonly sink: MessageSink,
  ) {
    this.state = connStates.of(conn);
  }

  /** A whole packet is in (its first `kept` payload bytes in scratch). */
  protected abstract packet(): void;

  abstract flushPartial(): boolean;

  /** A packet's payload has begun and not ended. */
  protected get inPayload(): boolean {
    return this.st === St.Payload;
  }

  /** A packet's header or payload has begun and not ended. */
  protected get inPacket(): boolean {
    return this.st === St.Payload || (this.st === St.Header && this.hdr > 0);
  }

  private completed(): void {
    if (this.packetFlushed) this.packetFlushed = false;
    else this.packet();
  }

  feed(buf: Buffer, start: number, end: number, tsSec: number, tsNsec: number): void {
    this.nowSec = tsSec;
    this.nowNsec = tsNsec;
    if (this.st === St.Ignore) return;
    if (this.st === St.Resync) this.st = St.Header;
    if (!this.compressed && this.hdr === 0 && this.st === St.Header && this.state.phase === Phase.Unknown && this.fromClient && end - start >= FRAME_HEADER + 5) {
      // The handshake was not captured: a compressed first command says so by its shape.
      if (looksCompressed(buf, start, end)) this.state.compress = true;
    }
    if (this.compressed) this.frames(buf, start, end, tsSec, tsNsec);
    else this.packets(buf, start, end, tsSec, tsNsec);
  }

  /** Compressed frames: plain packets inside. */
  private frames(buf: Buffer, start: number, end: number, tsSec: number, tsNsec: number): void {
    let pos = start;
    while (pos < end) {
      if (this.fhdr < FRAME_HEADER) {
        this.frameHeader[this.fhdr++] = buf[pos++];
        if (this.fhdr < FRAME_HEADER) continue;
        const h = this.frameHeader;
        this.frameLeft = h[0] | (h[1] << 8) | (h[2] << 16);
        const ulen = h[4] | (h[5] << 8) | (h[6] << 16);
        this.deflated = ulen !== 0;
        this.frameLen = 0;
        if (this.deflated && (this.frameLeft > MAX_FRAME || ulen > MAX_FRAME)) {
          this.malformed();
          return;
        }
        if (this.deflated && this.frame.length < this.frameLeft) this.frame = Buffer.allocUnsafe(Math.max(this.frameLeft, 2 * this.frame.length, 256));
        if (this.frameLeft === 0) this.fhdr = 0;
        continue;
      }
      let n = end - pos;
      if (n > this.frameLeft) n = this.frameLeft;
      if (this.deflated) {
        buf.copy(this.frame, this.frameLen, pos, pos + n);
        this.frameLen += n;
      } else {
        this.packets(buf, pos, pos + n, tsSec, tsNsec);
      }
      pos += n;
      this.frameLeft -= n;
      if (this.frameLeft === 0) {
        this.fhdr = 0;
        if (this.deflated) {
          let plain: Buffer;
          try {
            plain = zlib.inflateSync(this.frame.subarray(0, this.frameLen));
          } catch {
            this.malformed();
            return;
          }
          this.packets(plain, 0, plain.length, tsSec, tsNsec);
        }
      }
      if (this.st === St.Ignore || this.st === St.Resync) return;
    }
  }

  private packets(buf: Buffer, start: number, end: number, tsSec: number, tsNsec: number): void {
    let pos = start;
    while (pos < end) {
      if (this.state.encrypted) {
        this.st = St.Ignore;
        return;
      }
      if (this.st === St.Header) {
        if (this.hdr === 0) {
          if (this.state.compress && !this.compressed) {
            // The login's OK switched both directions to compressed frames.
            this.compressed = true;
            this.frames(buf, pos, end, tsSec, tsNsec);
            return;
          }
          this.msgSec = tsSec;
          this.msgNsec = tsNsec;
          this.lenAcc = 0;
        }
        const b = buf[pos++];
        if (this.hdr < 3) {
          this.lenAcc |= b << (8 * this.hdr);
          this.hdr++;
          continue;
        }
        this.seq = b;
        this.hdr = 0;
        this.len = this.left = this.lenAcc;
        this.kept = 0;
        this.continuation = this.nextContinues;
        this.nextContinues = this.len === MAX_PACKET;
        if (this.left === 0) this.packet();
        else this.st = St.Payload;
        continue;
      }
      if (this.st !== St.Payload) return;
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
        this.st = St.Header;
        this.completed();
      }
    }
  }

  skip(n: number, tsSec: number, tsNsec: number): boolean {
    if (this.st === St.Ignore) return true;
    if (!this.compressed && this.st === St.Payload && n <= this.left) {
      this.nowSec = tsSec;
      this.nowNsec = tsNsec;
      this.left -= n;
      if (this.left === 0) {
        this.st = St.Header;
        this.completed();
      }
      return true;
    }
    this.reset();
    this.sink.reset(this.conn, this.fromClient, ResetReason.Gap);
    return false;
  }

  reset(): void {
    if (this.st !== St.Ignore) this.st = St.Header;
    this.hdr = 0;
    this.left = 0;
    this.fhdr = 0;
    this.frameLeft = 0;
    this.nextContinues = false;
    this.packetFlushed = false;
  }

  protected malformed(): void {
    this.hdr = 0;
    this.fhdr = 0;
    this.st = St.Resync;
    this.sink.reset(this.conn, this.fromClient, ResetReason.Malformed);
  }

  protected encrypt(): void {
    this.state.encrypted = true;
    this.st = St.Ignore;
    this.sink.reset(this.conn, this.fromClient, ResetReason.Encrypted);
  }

  /** The packet's size on the wire (its header and payload). */
  protected get packetBytes(): number {
    return 4 + this.len;
  }
}

/**
 * A client's first bytes as a compressed frame: a 7-byte frame header whose
 * lengths agree with the plain packet inside (uncompressed: a packet with
 * sequence id 0 and a known command byte), or a deflated payload (zlib's 0x78).
 */
function looksCompressed(b: Buffer, s: number, e: number): boolean {
  const clen = b[s] | (b[s + 1] << 8) | (b[s + 2] << 16);
  const ulen = b[s + 4] | (b[s + 5] << 8) | (b[s + 6] << 16);
  if (clen === 0 || b[s + 3] !== 0) return false;
  if (ulen === 0) {
    const plen = b[s + 7] | (b[s + 8] << 8) | (b[s + 9] << 16);
    return plen + 4 === clen && b[s + 10] === 0 && e - s > 11 && b[s + 11] <= Com.ResetConnection;
  }
  return b[s + 7] === 0x78 && ulen >= 5 && ulen <= MAX_FRAME;
}

// ---------------------------------------------------------------- requests

export class MysqlRequestParser extends MysqlFraming {
  /** A command whose payload continues in the next packets: reported when it ends. */
  private holding = false;
  private holdKind = MessageKind.Normal;
  private holdCom = -1;
  private readonly fmt = new MessageInfo();
  private readonly idKey = Buffer.alloc(4);
  /** flushPartial() is reporting the packet in progress. */
  private flushing = false;

  /**
   * A command cut short is reported from what arrived: a payload over 16 MB
   * whose last packet has not come, or a command packet still arriving.
   */
  flushPartial(): boolean {
    if (this.holding) {
      this.finishHeld(true);
      return true;
    }
    if (!this.inPayload || this.continuation || this.seq !== 0 || this.kept === 0 || this.state.phase === Phase.Auth || this.packetFlushed) return false;
    this.flushing = true;
    this.packet();
    this.flushing = false;
    this.packetFlushed = true;
    return true;
  }

  protected packet(): void {
    const info = this.info;
    if (this.continuation) {
      if (this.holding) {
        info.bytes += this.packetBytes;
        if (this.len < MAX_PACKET) this.finishHeld();
      }
      return;
    }
    const st = this.state;
    if (this.seq === 1 && st.phase !== Phase.Command && this.kept >= 32) {
      this.login();
      return;
    }
    // Anything else with a sequence id past 0 continues an exchange: auth data, LOCAL INFILE's file.
    if (this.seq !== 0 || this.kept === 0) return;
    if (st.phase !== Phase.Command) st.phase = Phase.Command;
    const s = this.scratch;
    const kept = this.kept;
    const com = s[0];
    info.begin(this.msgSec, this.msgNsec);
    info.bytes = this.packetBytes;
    let kind = MessageKind.Normal;
    switch (com) {
      case Com.Query: {
        let at = 1;
        // MySQL 8's query attributes: a parameter count and a parameter set count first (attributes themselves are not shown).
        if ((st.capsKnown && (st.clientCaps & st.serverCaps & Cap.QueryAttributes) !== 0) || (!st.capsKnown && kept >= 3 && s[1] === 0 && s[2] === 1)) {
          const a = readLenenc(s, 1, kept);
          const params = lenencValue;
          const b = a < 0 ? -1 : readLenenc(s, a, kept);
          if (b >= 0 && params === 0) at = b;
        }
        this.sql(at, kept);
        break;
      }
      case Com.StmtPrepare: {
        info.appendAscii('PREPARE ');
        const f = this.fmt;
        f.previewLen = 0;
        appendSql(f, s, 1, kept);
        if (this.len > kept && f.previewLen < PREVIEW_MAX) f.appendEllipsis();
        trimSql(f);
        const text = Uint8Array.prototype.slice.call(f.preview, 0, f.previewLen) as Uint8Array;
        info.appendBytes(text, 0, text.length);
        if (st.prepares.length >= MAX_WAITING) st.prepares.shift();
        st.prepares.push(text);
        break;
      }
      case Com.StmtExecute:
      case Com.StmtClose:
      case Com.StmtReset:
      case Com.StmtSendLongData:
      case Com.StmtFetch: {
        if (kept < 5) break;
        s.copy(this.idKey, 0, 1, 5);
        const text = st.statements.get(this.idKey, 0, 4);
        if (com === Com.StmtExecute && text !== null) {
          info.appendBytes(text, 0, text.length);
        } else {
          info.appendAscii(com === Com.StmtExecute ? 'EXECUTE ' : `${COMMAND_NAMES[com]} `);
          info.appendAscii(String(s.readUInt32LE(1)));
        }
        if (com === Com.StmtClose) st.statements.delete(this.idKey, 0, 4);
        break;
      }
      case Com.InitDb:
        info.appendAscii('INIT_DB ');
        info.appendBytes(s, 1, kept);
        break;
      case Com.FieldList: {
        info.appendAscii('FIELD_LIST ');
        const z = cstringEnd(s, 1, kept);
        info.appendBytes(s, 1, z < 0 ? kept : z);
        break;
      }
      case Com.ChangeUser: {
        info.appendAscii('CHANGE_USER ');
        const z = cstringEnd(s, 1, kept);
        info.appendBytes(s, 1, z < 0 ? kept : z);
        // Its answer (auth switches included, up to the OK or ERR) is read as
        // COM_CHANGE_USER's (open()), by the command waiting: not as a login,
        // which waits for nothing and would leave the command queued.
        break;
      }
      default:
        if (com >= COMMAND_NAMES.length) {
          this.malformed();
          return;
        }
        info.appendAscii(COMMAND_NAMES[com]);
    }
    if (expectsNoReply(com)) kind = MessageKind.NoReply;
    this.holdKind = kind;
    this.holdCom = com;
    this.holding = true;
    if (this.flushing) this.finishHeld(true);
    else if (this.len < MAX_PACKET) this.finishHeld();
  }

  /** A statement's text from scratch[at, end), with "..." when the payload went on past what was kept. */
  private sql(at: number, end: number): void {
    const info = this.info;
    appendSql(info, this.scratch, at, end);
    if (this.len > this.kept && info.previewLen < PREVIEW_MAX) info.appendEllipsis();
    trimSql(info);
  }

  private finishHeld(incomplete = false): void {
    this.holding = false;
    const info = this.info;
    info.kind = this.holdKind;
    info.endSec = this.nowSec;
    info.endNsec = this.nowNsec;
    info.incomplete = incomplete;
    if (this.holdKind === MessageKind.Normal) this.state.push(this.holdCom);
    this.sink.message(this.conn, true, info);
    info.incomplete = false;
  }

  /** The client's handshake response (HandshakeResponse41): `LOGIN user db`, or an SSL request. */
  private login(): void {
    const s = this.scratch;
    const kept = this.kept;
    const st = this.state;
    const caps = s.readUInt32LE(0);
    if ((caps & Cap.Protocol41) === 0) return; // a 3.20 client: too old to matter
    st.clientCaps = caps;
    st.capsKnown = true;
    if (this.len === 32 && (caps & Cap.Ssl) !== 0) {
      this.encrypt();
      return;
    }
    const info = this.info;
    info.begin(this.msgSec, this.msgNsec);
    info.bytes = this.packetBytes;
    info.appendAscii('LOGIN');
    // caps (4), max packet (4), charset (1), filler (23), then the user name.
    const userEnd = cstringEnd(s, 32, kept);
    if (userEnd >= 0) {
      info.appendPreview(0x20);
      info.appendBytes(s, 32, userEnd);
      let p = userEnd + 1;
      if ((caps & Cap.PluginAuthLenencData) !== 0) {
        p = readLenenc(s, p, kept);
        p = p < 0 ? -1 : p + lenencValue;
      } else if ((caps & Cap.SecureConnection) !== 0) {
        p = p < kept ? p + 1 + s[p] : -1;
      } else {
        const z = cstringEnd(s, p, kept);
        p = z < 0 ? -1 : z + 1;
      }
      if ((caps & Cap.ConnectWithDb) !== 0 && p >= 0 && p < kept) {
        const dbEnd = cstringEnd(s, p, kept);
        if (dbEnd > p) {
          info.appendPreview(0x20);
          info.appendBytes(s, p, dbEnd);
        }
      }
    }
    st.phase = Phase.Auth;
    info.kind = MessageKind.Normal;
    info.endSec = this.nowSec;
    info.endNsec = this.nowNsec;
    this.sink.message(this.conn, true, info);
  }

  override reset(): void {
    super.reset();
    this.holding = false;
  }
}

// ---------------------------------------------------------------- responses

const enum Rs {
  /** No response open. */
  Idle,
  /** A result's first packet is next (the first, or the next after SERVER_MORE_RESULTS_EXISTS). */
  First,
  /** Column definitions still to come. */
  Columns,
  /** The EOF after the column definitions (not under CLIENT_DEPRECATE_EOF). */
  ColumnsEof,
  Rows,
  /** COM_STMT_PREPARE's parameter and column definitions, and their EOFs. */
  PrepareDefs,
  /** COM_FIELD_LIST's column definitions, up to an EOF. */
  FieldList,
  /** The login, COM_CHANGE_USER, LOCAL INFILE: up to an OK or ERR. */
  UntilOk,
}

export class MysqlResponseParser extends MysqlFraming {
  private rs = Rs.Idle;
  private com = -1;
  private columns = 0;
  private defsLeft = 0;
  private eofsLeft = 0;
  private rowCount = 0;
  private sawResultSet = false;
  private affected = 0;
  private login = false;
  private readonly idKey = Buffer.alloc(4);
  private readonly digits = Buffer.alloc(8);
  /** The open response was reported by flushPartial(): its end reports nothing. */
  private flushed = false;

  /** A response that has begun (its first packet at least started) is reported from what arrived. */
  flushPartial(): boolean {
    if (this.flushed) return false;
    if (this.rs === Rs.Idle) {
      // Only an answer to something: a greeting cut short answers nothing.
      if (!this.inPacket || this.state.encrypted || (this.state.count === 0 && this.state.phase !== Phase.Auth)) return false;
      this.open();
    }
    this.report(true);
    this.flushed = true;
    return true;
  }

  protected packet(): void {
    const st = this.state;
    const s = this.scratch;
    const kept = this.kept;
    if (this.continuation) {
      if (this.rs !== Rs.Idle) this.info.bytes += this.packetBytes;
      return;
    }
    const first = kept > 0 ? s[0] : -1;
    if (this.rs === Rs.Idle) {
      if (this.seq === 0 && first === Header.HandshakeV10 && st.phase !== Phase.Command) {
        this.greeting();
        return;
      }
      this.open();
    }
    const info = this.info;
    info.bytes += this.packetBytes;
    if (first === Header.Err && this.rs !== Rs.Rows) {
      this.error();
      this.finish();
      return;
    }
    switch (this.rs) {
      case Rs.UntilOk:
        if (first === Header.Ok) {
          if (this.login) {
            st.phase = Phase.Command;
            if ((st.clientCaps & st.serverCaps & Cap.Compress) !== 0) st.compress = true;
            info.statusText = 'OK';
          } else {
            this.ok(1);
          }
          this.finish();
        }
        return;
      case Rs.First:
        this.firstPacket(first);
        return;
      case Rs.Columns:
        if (--this.columns === 0) this.rs = st.deprecateEof ? Rs.Rows : Rs.ColumnsEof;
        return;
      case Rs.ColumnsEof:
        if (first === Header.Eof && this.len < 9) {
          this.rs = Rs.Rows;
          // A cursor was opened (COM_STMT_EXECUTE): rows come with COM_STMT_FETCH.
          if (kept >= 5 && (s.readUInt16LE(3) & ServerStatus.CursorExists) !== 0) this.endResult(s.readUInt16LE(3) & ~ServerStatus.MoreResultsExist);
          return;
        }
        // No EOF: the client asked for CLIENT_DEPRECATE_EOF (its handshake was not captured). This is a row or the end.
        this.rs = Rs.Rows;
        this.rowOrEnd(first);
        return;
      case Rs.Rows:
        if (first === Header.Err) {
          this.error();
          this.finish();
          return;
        }
        this.rowOrEnd(first);
        return;
      case Rs.PrepareDefs:
        if (first === Header.Eof && this.len < 9) {
          if (--this.eofsLeft <= 0 && this.defsLeft === 0) this.finish();
          return;
        }
        if (--this.defsLeft === 0 && this.eofsLeft === 0) this.finish();
        return;
      case Rs.FieldList:
        if (first === Header.Eof && this.len < 9) this.finish();
        return;
      default:
    }
  }

  /** A response begins with this packet. */
  private open(): void {
    const st = this.state;
    this.info.begin(this.msgSec, this.msgNsec);
    this.rowCount = 0;
    this.sawResultSet = false;
    this.affected = 0;
    this.login = st.phase === Phase.Auth;
    if (this.login) {
      this.com = -1;
      this.rs = Rs.UntilOk;
      return;
    }
    this.com = st.shift();
    this.rs = this.com === Com.ChangeUser ? Rs.UntilOk : Rs.First;
  }

  private firstPacket(first: number): void {
    const st = this.state;
    const s = this.scratch;
    const kept = this.kept;
    const com = this.com;
    if (com === Com.StmtPrepare && first === Header.Ok && kept >= 9) {
      // stmt id (4), columns (2), parameters (2).
      s.copy(this.idKey, 0, 1, 5);
      const text = st.prepares.length > 0 ? st.prepares.shift()! : null;
      if (text !== null) st.statements.set(this.idKey, 0, 4, text);
      const cols = s.readUInt16LE(5);
      const params = s.readUInt16LE(7);
      this.info.statusText = 'OK';
      this.defsLeft = cols + params;
      this.eofsLeft = st.deprecateEof ? 0 : (cols > 0 ? 1 : 0) + (params > 0 ? 1 : 0);
      if (this.defsLeft === 0) this.finish();
      else this.rs = Rs.PrepareDefs;
      return;
    }
    if (com === Com.Statistics) {
      this.info.statusText = 'OK';
      this.finish();
      return;
    }
    if (com === Com.FieldList) {
      this.info.statusText = 'OK';
      if (first === Header.Eof && this.len < 9) this.finish();
      else this.rs = Rs.FieldList;
      return;
    }
    if (first === Header.Ok && this.len >= 7) {
      this.ok(1);
      const status = this.okStatus(1);
      if ((status & ServerStatus.MoreResultsExist) === 0) this.finish();
      return;
    }
    if (first === Header.LocalInfile) {
      // The client sends the file, then the server's OK (or ERR) ends the response.
      this.rs = Rs.UntilOk;
      return;
    }
    if (first === Header.Eof && this.len < 9) {
      // An EOF as the whole answer (COM_SET_OPTION, COM_DEBUG).
      this.info.statusText = 'OK';
      this.finish();
      return;
    }
    const end = readLenenc(s, 0, kept);
    if (end < 0 || lenencValue === 0) {
      this.malformed();
      this.rs = Rs.Idle;
      return;
    }
    this.columns = lenencValue;
    this.sawResultSet = true;
    this.rs = Rs.Columns;
  }

  /** In the rows: a row, or the EOF or OK that ends the result. */
  private rowOrEnd(first: number): void {
    const st = this.state;
    const s = this.scratch;
    if (first === Header.Eof && (this.len < 9 || (st.deprecateEof && this.len < MAX_PACKET))) {
      let status = 0;
      if (this.len < 9) status = this.kept >= 5 ? s.readUInt16LE(3) : 0;
      else status = this.okStatus(1);
      this.endResult(status);
      return;
    }
    this.rowCount++;
  }

  /** A result ended with these status flags: another follows, or the response is whole. */
  private endResult(status: number): void {
    if ((status & ServerStatus.MoreResultsExist) !== 0) {
      this.rs = Rs.First;
      return;
    }
    this.finish();
  }

  /** An OK packet's affected rows (from offset `at`). */
  private ok(at: number): void {
    const p = readLenenc(this.scratch, at, this.kept);
    if (p >= 0) this.affected += lenencValue;
  }

  /** An OK packet's status flags: after affected rows and last insert id. */
  private okStatus(at: number): number {
    let p = readLenenc(this.scratch, at, this.kept);
    if (p >= 0) p = readLenenc(this.scratch, p, this.kept);
    return p >= 0 && p + 2 <= this.kept ? this.scratch.readUInt16LE(p) : 0;
  }

  private error(): void {
    const s = this.scratch;
    const kept = this.kept;
    const info = this.info;
    info.isError = true;
    if (kept < 3) return;
    const code = s.readUInt16LE(1);
    info.errorCode = code;
    let n = 0;
    for (let t = code; ; t = (t / 10) | 0) {
      n++;
      if (t < 10) break;
    }
    for (let i = n - 1, t = code; i >= 0; i--, t = (t / 10) | 0) this.digits[i] = 0x30 + (t % 10);
    info.statusText = ERROR_CODES.get(this.digits, 0, n);
    let msg = 3;
    if (kept >= 9 && s[3] === 0x23) {
      // '#' and the SQLSTATE (PROTOCOL_41).
      info.sqlState = SQLSTATES.get(s, 4, 5);
      msg = 9;
    }
    const end = kept - msg > MAX_ERROR_MESSAGE ? msg + MAX_ERROR_MESSAGE : kept;
    info.errorMessage = s.toString('utf8', msg, end);
  }

  private finish(): void {
    this.rs = Rs.Idle;
    if (this.flushed) this.flushed = false;
    else this.report(false);
  }

  private report(incomplete: boolean): void {
    const info = this.info;
    if (!info.isError && !this.login) {
      const counted = this.com === Com.Query || this.com === Com.StmtExecute || this.com === -1;
      if (this.sawResultSet) {
        info.statusText = 'rows';
        info.statusCount = this.rowCount;
        info.rows = this.rowCount;
      } else if (info.statusText === '') {
        info.statusText = 'OK';
        if (counted) info.statusCount = this.affected;
      }
      if (counted && !this.sawResultSet) info.affectedRows = this.affected;
    }
    info.endSec = this.nowSec;
    info.endNsec = this.nowNsec;
    info.incomplete = incomplete;
    this.sink.message(this.conn, false, info);
    info.incomplete = false;
  }

  /** The server's greeting: its capabilities. Answers no request. */
  private greeting(): void {
    const s = this.scratch;
    const kept = this.kept;
    const st = this.state;
    st.phase = Phase.Greeting;
    // protocol (1), version (NUL-terminated), connection id (4), scramble (8), filler (1), caps low (2), charset (1), status (2), caps high (2).
    const v = cstringEnd(s, 1, kept);
    if (v < 0) return;
    const p = v + 1 + 4 + 8 + 1;
    if (p + 2 > kept) return;
    let caps = s.readUInt16LE(p);
    if (p + 7 <= kept) caps |= s.readUInt16LE(p + 5) << 16;
    st.serverCaps = caps >>> 0;
  }

  override reset(): void {
    super.reset();
    this.rs = Rs.Idle;
    this.flushed = false;
    this.state.count = 0;
  }
}

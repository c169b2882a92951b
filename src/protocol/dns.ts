// DNS (RFC 1035) over UDP and TCP, as a parser for one direction of a flow.
//
// UDP (conn.proto === 17): every feed() is one whole datagram, which is one
// message; the pipeline calls skip(n) after feed() when snaplen cut the
// datagram short.
// TCP: every message is preceded by a 2-byte big-endian length (RFC 1035
// 4.2.2, RFC 7766); messages stream across any chunk boundaries.
//
// Only the 12-byte header and the first question are read; answers are
// stepped over by the length (TCP) or ignored (UDP). Whole messages in one
// chunk are parsed in place; a TCP message split across chunks has its first
// HEAD_CAP bytes (more than a header and the longest question) copied into a
// fixed buffer, the rest is counted. No per-message allocation: type, rcode
// and opcode names are constants or written as digits into the preview.
//
// What the MessageInfo holds:
//   every message  matchId = the DNS id; kind Normal (a query from the server
//                  side or a response from the client side, as in a capture
//                  with unusual direction, is reported too: pairing decides);
//                  bytes = the message length, for TCP including its 2-byte
//                  length prefix (so the bytes of a stream add up); for a UDP
//                  datagram cut by snaplen, the captured length (the question
//                  cut: the whole datagram's length, see skip()).
//   queries (QR=0, and anything from the client side)
//                  preview = `<qname> <QTYPE>`: `example.com A`,
//                  `_sip._tcp.example.com SRV`, the root as `.`, unknown types
//                  as `TYPE<n>`; a non-QUERY opcode is shown first
//                  (`UPDATE example.com SOA`, `NOTIFY example.com SOA`).
//                  Control bytes in labels show as '.', other bytes as they
//                  are. Longer than PREVIEW_MAX, or a question cut by snaplen:
//                  shortened with "...". No question (QDCOUNT 0): no name.
//   responses (QR=1)
//                  status = the header RCODE (4 bits; the EDNS extended rcode
//                  in the OPT record is not read), statusText = NOERROR,
//                  FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, YXDOMAIN,
//                  YXRRSET, NXRRSET, NOTAUTH, NOTZONE, else RCODE<n>.
//                  isError: FORMERR, SERVFAIL, NOTIMP, REFUSED. NXDOMAIN (and
//                  the empty NOERROR, "NODATA") is an answer, not an error:
//                  the name does not exist, and the server said so correctly.
//
// Malformed input never throws: a message shorter than 12 bytes, a label
// longer than 63, a name longer than 255 bytes, a compression pointer that
// does not point backwards inside the message or more than MAX_HOPS of them,
// a name or type running off the end of the message: sink.reset(...,
// ResetReason.Malformed). TCP keeps its framing after a bad question (the
// length was fine) but resynchronises after a length below 12 or a gap it
// cannot step over: the rest of the chunk is dropped and the next chunk is
// taken to start a message if its header looks like DNS (opcode defined,
// Z bit clear, QDCOUNT <= 1); until one does, nothing more is reported. The
// parser starts in that state too, for captures that begin mid-connection.
import { MessageInfo, MessageKind, PREVIEW_MAX, ResetReason, type MessageSink, type ParserConnection, type ParserFactory, type StreamParser } from './message';

const enum Ch {
  SPACE = 32,
  DOT = 46,
  ZERO = 48,
}

const enum State {
  /** Expecting (the rest of) a TCP length prefix. */
  Len,
  /** Inside a TCP message. */
  Body,
  /** Lost the TCP framing: the rest of this chunk is dropped. */
  Resync,
}

const enum Parsed {
  Ok,
  /** The question runs past the captured bytes (snaplen): report with "...". */
  Cut,
  Malformed,
}

const IPPROTO_UDP = 17;
const HEADER_LEN = 12;
/** Longest name on the wire (RFC 1035 3.1). */
const MAX_NAME = 255;
/** Compression pointers followed in one name. */
const MAX_HOPS = 16;
/** Bytes of a split TCP message kept for parsing: a header and the longest question fit. */
const HEAD_CAP = 512;

const DOT3 = [Ch.DOT, Ch.DOT, Ch.DOT];

/**
 * Names of the RR types and QTYPEs, indexed by type number: IANA's "Resource
 * Record (RR) TYPEs" registry (DNS parameters, as updated 2024), every
 * assigned value (255, `*` in the registry, is shown as dig shows it, ANY).
 * Unassigned and private-use numbers show as `TYPE<n>` (RFC 3597).
 */
const TYPE_NAMES: readonly (Buffer | undefined)[] = (() => {
  const names: (Buffer | undefined)[] = [];
  const registry =
    'A NS MD MF CNAME SOA MB MG MR NULL WKS PTR HINFO MINFO MX TXT RP AFSDB X25 ISDN RT NSAP NSAP-PTR SIG KEY PX GPOS AAAA LOC NXT ' +
    'EID NIMLOC SRV ATMA NAPTR KX CERT A6 DNAME SINK OPT APL DS SSHFP IPSECKEY RRSIG NSEC DNSKEY DHCID NSEC3 NSEC3PARAM TLSA SMIMEA - HIP ' +
    'NINFO RKEY TALINK CDS CDNSKEY OPENPGPKEY CSYNC ZONEMD SVCB HTTPS DSYNC';
  // 1 to 66 in order ('-': 54 is unassigned); the rest by number.
  registry.split(' ').forEach((name, i) => {
    if (name !== '-') names[i + 1] = Buffer.from(name, 'latin1');
  });
  const known: [number, string][] = [
    [99, 'SPF'], [100, 'UINFO'], [101, 'UID'], [102, 'GID'], [103, 'UNSPEC'], [104, 'NID'], [105, 'L32'], [106, 'L64'], [107, 'LP'],
    [108, 'EUI48'], [109, 'EUI64'], [128, 'NXNAME'], [249, 'TKEY'], [250, 'TSIG'], [251, 'IXFR'], [252, 'AXFR'], [253, 'MAILB'], [254, 'MAILA'],
    [255, 'ANY'], [256, 'URI'], [257, 'CAA'], [258, 'AVC'], [259, 'DOA'], [260, 'AMTRELAY'], [261, 'RESINFO'], [262, 'WALLET'], [263, 'CLA'],
    [264, 'IPN'], [32768, 'TA'], [32769, 'DLV'],
  ];
  for (const [n, name] of known) names[n] = Buffer.from(name, 'latin1');
  return names;
})();
const TYPE_PREFIX = Buffer.from('TYPE', 'latin1');

/** Header RCODE (4 bits) as a constant string. */
const RCODE_TEXT: readonly string[] = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
  'YXDOMAIN',
  'YXRRSET',
  'NXRRSET',
  'NOTAUTH',
  'NOTZONE',
  'RCODE11',
  'RCODE12',
  'RCODE13',
  'RCODE14',
  'RCODE15',
];

/** A response RCODE as a constant string ('NXDOMAIN', 'RCODE11'). */
export function dnsRcodeText(rcode: number): string {
  return RCODE_TEXT[rcode & 15];
}

/** FORMERR, SERVFAIL, NOTIMP, REFUSED are errors; NXDOMAIN is an answer (the name does not exist). */
export function isDnsError(rcode: number): boolean {
  return rcode === 1 || rcode === 2 || rcode === 4 || rcode === 5;
}

/** Opcode names shown before a non-QUERY question (4 bits; 0 QUERY shows none). */
const OPCODE_NAMES: readonly Buffer[] = (() => {
  const names: Buffer[] = [];
  for (let i = 0; i < 16; i++) names.push(Buffer.from(`OPCODE${i}`, 'latin1'));
  names[1] = Buffer.from('IQUERY', 'latin1');
  names[2] = Buffer.from('STATUS', 'latin1');
  names[4] = Buffer.from('NOTIFY', 'latin1');
  names[5] = Buffer.from('UPDATE', 'latin1');
  names[6] = Buffer.from('DSO', 'latin1');
  return names;
})();

/** Does a header at buf[at, at + 12) look like DNS? Used only to find messages after losing the TCP framing. */
function plausibleHeader(buf: Buffer, at: number): boolean {
  const flagsHi = buf[at + 2];
  const opcode = (flagsHi >> 3) & 15;
  const zBit = buf[at + 3] & 0x40;
  const qd = (buf[at + 4] << 8) | buf[at + 5];
  return (opcode <= 2 || (opcode >= 4 && opcode <= 6)) && zBit === 0 && qd <= 1;
}

export class DnsParser implements StreamParser {
  /** The last message parsed was a query (QR=0). */
  private asRequest = true;
  private readonly udp: boolean;
  private readonly info = new MessageInfo();

  // TCP framing.
  private state = State.Len;
  /** Length bytes read so far (0 or 1), and the first one. */
  private lenBytes = 0;
  private lenHi = 0;
  /** The message's length (without its prefix) and the bytes of it consumed. */
  private msgLen = 0;
  private got = 0;
  /** Bytes of the message to keep in `head`; fewer once a gap cut them. */
  private headLen = 0;
  private headCut = false;
  private readonly head: Buffer;
  /** Looking for a message after losing the framing (or at the start): check headers. */
  private check = true;

  /** UDP: a datagram whose question ran off its end, waiting to learn whether snaplen cut it. */
  private pending = false;
  /** The preview already ends in "...". */
  private shortened = false;

  constructor(
    private readonly conn: ParserConnection,
    private readonly request: boolean,
    private readonly sink: MessageSink,
  ) {
    this.udp = conn.proto === IPPROTO_UDP;
    this.head = this.udp ? Buffer.alloc(0) : Buffer.allocUnsafe(HEAD_CAP);
  }

  feed(buf: Buffer, start: number, end: number, tsSec: number, tsNsec: number): void {
    if (this.udp) this.feedDatagram(buf, start, end, tsSec, tsNsec);
    else this.feedStream(buf, start, end, tsSec, tsNsec);
  }

  skip(n: number, tsSec: number, tsNsec: number): boolean {
    if (this.udp) {
      // The datagram already fed was cut short: report a question cut with it.
      if (this.pending) {
        this.pending = false;
        this.info.bytes += n;
        this.appendEllipsis();
        this.sink.message(this.conn, this.asRequest, this.info);
      }
      return true;
    }
    if (this.state === State.Body && this.got >= HEADER_LEN) {
      // The header is in; the question may have been cut.
      if (this.got < this.headLen) {
        this.headLen = this.got;
        this.headCut = true;
      }
      const left = this.msgLen - this.got;
      if (n <= left) {
        this.got += n;
        if (this.got === this.msgLen) this.completeStream(tsSec, tsNsec);
        return true;
      }
      // The message ended inside the missing bytes; where the next one starts is lost.
      this.got = this.msgLen;
      this.completeStream(tsSec, tsNsec);
    }
    if (this.state === State.Resync) return false;
    this.fail(ResetReason.Gap);
    return false;
  }

  reset(): void {
    // UDP: a datagram whose question ran off its end with no skip() after it was malformed.
    if (this.pending) this.malformedPending();
    this.state = State.Len;
    this.lenBytes = 0;
    this.got = 0;
    // After a reset the next chunk may start anywhere: check the first header.
    this.check = true;
  }

  /**
   * A DNS message pairs by its id and says what it is only once its header
   * is in; a message cut before its end is reported by skip() (snaplen), and
   * one cut any other way is not paired.
   */
  flushPartial(): boolean {
    return false;
  }

  end(): void {
    if (this.pending) this.malformedPending();
    this.state = State.Len;
    this.lenBytes = 0;
  }

  // ------------------------------------------------------------ UDP

  private feedDatagram(buf: Buffer, start: number, end: number, tsSec: number, tsNsec: number): void {
    if (this.pending) this.malformedPending();
    const info = this.info;
    info.startSec = info.endSec = tsSec;
    info.startNsec = info.endNsec = tsNsec;
    const r = this.parse(buf, start, end, true);
    info.bytes = end - start;
    if (r === Parsed.Ok) this.sink.message(this.conn, this.asRequest, info);
    else if (r === Parsed.Cut) this.pending = true;
    else this.sink.reset(this.conn, this.request, ResetReason.Malformed);
  }

  private malformedPending(): void {
    this.pending = false;
    this.sink.reset(this.conn, this.request, ResetReason.Malformed);
  }

  // ------------------------------------------------------------ TCP

  private feedStream(buf: Buffer, start: number, end: number, tsSec: number, tsNsec: number): void {
    let pos = start;
    if (this.state === State.Resync) {
      // Take the new chunk to start a message; its header is checked.
      this.state = State.Len;
      this.lenBytes = 0;
      this.check = true;
    }
    const info = this.info;
    while (pos < end) {
      if (this.state === State.Len) {
        if (this.lenBytes === 0) {
          info.startSec = tsSec;
          info.startNsec = tsNsec;
          if (end - pos >= 2) {
            const len = (buf[pos] << 8) | buf[pos + 1];
            const at = pos + 2;
            if (end - at >= len) {
              // The whole message is here: parse it in place.
              if (len < HEADER_LEN || (this.check && !plausibleHeader(buf, at))) {
                this.fail(ResetReason.Malformed);
                return;
              }
              this.check = false;
              pos = at + len;
              this.finish(this.parse(buf, at, pos, false), len + 2, tsSec, tsNsec);
              continue;
            }
            pos = at;
            if (!this.beginBody(len)) return;
            continue;
          }
          this.lenHi = buf[pos++];
          this.lenBytes = 1;
          continue;
        }
        this.lenBytes = 0;
        if (!this.beginBody((this.lenHi << 8) | buf[pos++])) return;
        continue;
      }
      // State.Body
      const want = this.msgLen - this.got;
      const n = end - pos < want ? end - pos : want;
      const before = this.got;
      if (before < this.headLen) {
        const k = this.headLen - before < n ? this.headLen - before : n;
        buf.copy(this.head, before, pos, pos + k);
      }
      this.got = before + n;
      pos += n;
      if (this.check && before < HEADER_LEN && this.got >= HEADER_LEN) {
        if (!plausibleHeader(this.head, 0)) {
          this.fail(ResetReason.Malformed);
          return;
        }
        this.check = false;
      }
      if (this.got === this.msgLen) this.completeStream(tsSec, tsNsec);
    }
  }

  /** A message of `len` bytes starts; false if that cannot be (the framing is lost). */
  private beginBody(len: number): boolean {
    if (len < HEADER_LEN) {
      this.fail(ResetReason.Malformed);
      return false;
    }
    this.state = State.Body;
    this.msgLen = len;
    this.got = 0;
    this.headLen = len < HEAD_CAP ? len : HEAD_CAP;
    this.headCut = false;
    return true;
  }

  private completeStream(tsSec: number, tsNsec: number): void {
    this.state = State.Len;
    this.lenBytes = 0;
    this.finish(this.parse(this.head, 0, this.headLen, this.headCut), this.msgLen + 2, tsSec, tsNsec);
  }

  private finish(r: Parsed, bytes: number, tsSec: number, tsNsec: number): void {
    if (r === Parsed.Malformed) {
      // The length was fine: the framing holds, only this message is lost.
      this.sink.reset(this.conn, this.request, ResetReason.Malformed);
      return;
    }
    const info = this.info;
    if (r === Parsed.Cut) this.appendEllipsis();
    info.bytes = bytes;
    info.endSec = tsSec;
    info.endNsec = tsNsec;
    this.sink.message(this.conn, this.asRequest, info);
  }

  /** Lost the TCP framing: drop the rest of this chunk; reported unless still looking for a message. */
  private fail(reason: ResetReason): void {
    const quiet = this.check;
    this.state = State.Resync;
    this.lenBytes = 0;
    this.got = 0;
    if (!quiet) this.sink.reset(this.conn, this.request, reason);
  }

  // ------------------------------------------------------------ message

  /**
   * Reads the header and, for a query, the first question of the message in
   * buf[s, e) into `info`. `cut`: bytes after e may be missing (snaplen), so a
   * question running off the end is Cut rather than Malformed.
   */
  private parse(buf: Buffer, s: number, e: number, cut: boolean): Parsed {
    const info = this.info;
    info.kind = MessageKind.Normal;
    info.previewLen = 0;
    info.isError = false;
    info.status = -1;
    info.statusText = '';
    this.shortened = false;
    if (e - s < HEADER_LEN) return Parsed.Malformed;
    info.matchId = (buf[s] << 8) | buf[s + 1];
    const flagsHi = buf[s + 2];
    const qr = flagsHi & 0x80;
    // The QR bit says what a message is, whichever side sent it (port 53 to port 53).
    this.asRequest = qr === 0;
    if (qr !== 0) {
      const rcode = buf[s + 3] & 15;
      info.status = rcode;
      info.statusText = RCODE_TEXT[rcode];
      info.isError = isDnsError(rcode);
      // A response's question is not shown (pairing keeps the request's).
      if (!this.request) return Parsed.Ok;
    }
    const opcode = (flagsHi >> 3) & 15;
    if (opcode !== 0) {
      this.appendBytes(OPCODE_NAMES[opcode]);
      this.appendByte(Ch.SPACE);
    }
    const qd = (buf[s + 4] << 8) | buf[s + 5];
    if (qd === 0) {
      // Nothing to show but the opcode.
      if (info.previewLen > 0) info.previewLen--;
      return Parsed.Ok;
    }
    return this.question(buf, s, e, cut);
  }

  /** The first question (at s + 12): `<qname> <QTYPE>` into the preview. */
  private question(buf: Buffer, s: number, e: number, cut: boolean): Parsed {
    const off = cut ? Parsed.Cut : Parsed.Malformed;
    let p = s + HEADER_LEN;
    /** Where the question continues after the name (after the first pointer, if any). */
    let after = -1;
    let hops = 0;
    let wire = 0;
    let labels = 0;
    for (;;) {
      if (p >= e) return off;
      const len = buf[p];
      if (len === 0) {
        if (after < 0) after = p + 1;
        break;
      }
      if ((len & 0xc0) === 0xc0) {
        if (p + 1 >= e) return off;
        const target = s + (((len & 0x3f) << 8) | buf[p + 1]);
        if (after < 0) after = p + 2;
        // Only backwards, a bounded number of times: no loops, never outside the message.
        if (target >= p || ++hops > MAX_HOPS) return Parsed.Malformed;
        p = target;
        continue;
      }
      // 0x40 and 0x80: extended and reserved label types.
      if (len > 63) return Parsed.Malformed;
      wire += len + 1;
      if (wire + 1 > MAX_NAME) return Parsed.Malformed;
      if (labels++ > 0) this.appendByte(Ch.DOT);
      const from = p + 1;
      const to = from + len;
      if (to > e) {
        // Show what was captured of the label.
        if (cut) this.appendLabel(buf, from, e);
        return off;
      }
      this.appendLabel(buf, from, to);
      p = to;
    }
    if (labels === 0) this.appendByte(Ch.DOT); // the root
    if (after + 2 > e) return off;
    this.appendByte(Ch.SPACE);
    const type = (buf[after] << 8) | buf[after + 1];
    const name = type < TYPE_NAMES.length ? TYPE_NAMES[type] : undefined;
    if (name !== undefined) {
      this.appendBytes(name);
    } else {
      this.appendBytes(TYPE_PREFIX);
      this.appendNumber(type);
    }
    return Parsed.Ok;
  }

  // ------------------------------------------------------------ preview

  private appendLabel(buf: Buffer, from: number, to: number): void {
    const info = this.info;
    const preview = info.preview;
    let len = info.previewLen;
    for (let i = from; i < to; i++) {
      if (len === PREVIEW_MAX) {
        info.previewLen = len;
        this.appendEllipsis();
        return;
      }
      const b = buf[i];
      // Control bytes would break the one-line output; show them as '.'.
      preview[len++] = b < 0x20 || b === 0x7f ? Ch.DOT : b;
    }
    info.previewLen = len;
  }

  private appendBytes(bytes: Buffer): void {
    for (let i = 0; i < bytes.length; i++) this.appendByte(bytes[i]);
  }

  private appendNumber(n: number): void {
    if (n >= 10) this.appendNumber((n / 10) | 0);
    this.appendByte(Ch.ZERO + (n % 10));
  }

  private appendByte(b: number): void {
    const info = this.info;
    if (info.previewLen < PREVIEW_MAX) info.preview[info.previewLen++] = b;
    else this.appendEllipsis();
  }

  /** Ends the preview with "..." (once), overwriting its last bytes if it is full. */
  private appendEllipsis(): void {
    if (this.shortened) return;
    this.shortened = true;
    const info = this.info;
    let len = info.previewLen;
    if (len > PREVIEW_MAX - DOT3.length) len = PREVIEW_MAX - DOT3.length;
    for (let i = 0; i < DOT3.length; i++) info.preview[len++] = DOT3[i];
    info.previewLen = len;
  }
}

/** A DNS parser for one direction of a UDP flow (conn.proto 17) or a TCP connection. */
export const dnsParser: ParserFactory = (conn: ParserConnection, fromClient: boolean, sink: MessageSink): StreamParser =>
  new DnsParser(conn, fromClient, sink);

// Kafka (the wire protocol of every broker since 0.8), as a streaming parser
// for each direction of a connection.
//
// Every message is a 4-byte big-endian size and that many bytes. A request
// starts with api_key (int16), api_version (int16), correlation_id (int32) and
// client_id (int16-length string, in every version); flexible versions
// (KIP-482: compact strings and arrays, tagged fields) add a tagged-field
// section to the header. A response starts with the correlation_id alone (and
// tagged fields when flexible, except ApiVersions, whose response header never
// has them), so it can only be decoded with the key and version of the request
// it answers: the two parsers of a connection share what each request was, by
// correlation id, in a ConnState kept in a WeakMap keyed by the connection
// (as http.ts shares methods). Brokers answer a connection's requests in
// order, but pairing goes by correlation id (MessageInfo.matchId), never by
// order alone, and never across connections.
//
// A message that lies whole in one chunk is decoded in place; one split
// across chunks has its first HEAD_CAP bytes copied into a buffer that grows
// up to that size, and the rest counted. Bytes lost to snaplen (skip()) are
// stepped over by the size; what was decoded up to there stands.
//
// What the MessageInfo holds:
//   requests   preview `<Api> v<version>` then what the request names:
//              Produce, ListOffsets: topics and partitions (`orders[0,1]`);
//              Fetch: `max_wait_ms=<n>`, then topics and partitions (topic
//              ids, v13+, in Kafka's base64 form); Metadata, CreateTopics,
//              DeleteTopics: topic names; group APIs `group=<id>`, and for
//              OffsetCommit/OffsetFetch the topics too. matchId = correlation
//              id (as unsigned). kind NoReply for Produce with acks=0.
//              detail: what --json and Lua add (requestFields() reads it).
//   responses  matchId = correlation id; status = the error code (the first
//              nonzero one: the top level's, else the first partition's,
//              topic's or member's), statusText = its Kafka name ('OK' for 0,
//              'NOT_LEADER_OR_FOLLOWER'), isError when nonzero. APIs whose
//              response body is not decoded (see ERROR_DECODED) have no status.
//              A Fetch answered with no records after at least 90% of its
//              max_wait_ms is a long poll: statusText 'OK (long poll)',
//              longPoll true.
//
// Malformed input (a size below a header's or above MAX_MESSAGE, a header
// that cannot be Kafka's) resets the parser (ResetReason.Malformed); it then
// waits for a chunk that starts with a plausible message. A parser also
// starts that way, for captures that begin mid-connection. A connection whose
// client opens with a TLS record is reported once (ResetReason.Encrypted) and
// not decoded.
import { MessageInfo, MessageKind, PREVIEW_MAX, PerConnection, ResetReason, type MessageSink, type ParserConnection, type StreamParser } from '../message';
import { ApiKey, LONG_POLL_TEXT, MAX_API_KEY, MAX_PLAUSIBLE_VERSION, apiName, errorName, isFlexible, isKnownApi } from './names';
import { Reader } from './reader';

const enum State {
  /** Reading (the rest of) a size. */
  Size,
  /** Inside a message. */
  Body,
  /** Lost the framing: waiting for a chunk that starts with a message. */
  Resync,
  /** TLS: nothing on this connection is decoded. */
  Encrypted,
}

/** Largest message accepted; brokers refuse requests above socket.request.max.bytes (100 MiB by default). */
const MAX_MESSAGE = 1 << 30;
/** api_key, api_version, correlation_id, client_id length. */
const MIN_REQUEST = 10;
const MIN_RESPONSE = 4;
/** Bytes of a split message kept for decoding. */
const HEAD_CAP = 64 * 1024;
/** Most requests remembered per connection; mirrors pairing's MAX_PENDING. A power of two. */
const MAX_WAITING = 4096;
/** Bytes of client_id kept for --json and Lua. */
export const CLIENT_ID_MAX = 120;
/** A long poll ran to at least this share of max_wait_ms. */
const LONG_POLL_SHARE = 0.9;

const enum Ch {
  SPACE = 32,
  COMMA = 44,
  EQUALS = 61,
  LBRACKET = 91,
  RBRACKET = 93,
  ZERO = 48,
  LOWER_V = 118,
}

const MAX_WAIT = Buffer.from(' max_wait_ms=', 'latin1');
const GROUP = Buffer.from(' group=', 'latin1');
const BASE64URL = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', 'latin1');

/**
 * What the two parsers of one connection share: the requests not yet
 * answered (correlation id, key, version, Fetch max_wait_ms, start time),
 * oldest first, and whether the connection is TLS.
 */
class ConnState {
  private corr = new Int32Array(8);
  private key = new Int16Array(8);
  private ver = new Int16Array(8);
  private maxWait = new Int32Array(8);
  private sec = new Float64Array(8);
  private nsec = new Float64Array(8);
  private head = 0;
  count = 0;
  /** Has any message begun on this connection (a TLS record can only come first)? */
  started = false;
  encrypted = false;
  // The request a response answers, set by take().
  foundKey = -1;
  foundVer = 0;
  foundMaxWait = -1;
  foundSec = 0;
  foundNsec = 0;

  push(corr: number, key: number, ver: number, maxWait: number, sec: number, nsec: number): void {
    let cap = this.corr.length;
    if (this.count === cap) {
      if (cap === MAX_WAITING) {
        // As pairing does: the oldest is forgotten.
        this.head = (this.head + 1) & (cap - 1);
        this.count--;
      } else {
        this.grow(cap * 2);
        cap *= 2;
      }
    }
    const i = (this.head + this.count) & (cap - 1);
    this.corr[i] = corr;
    this.key[i] = key;
    this.ver[i] = ver;
    this.maxWait[i] = maxWait;
    this.sec[i] = sec;
    this.nsec[i] = nsec;
    this.count++;
  }

  /**
   * Finds the request with this correlation id (foundKey and the rest; -1
   * when none waits). Requests before it will not be answered (a broker
   * answers in order): they are forgotten with it.
   */
  take(corr: number): boolean {
    const mask = this.corr.length - 1;
    for (let n = 0; n < this.count; n++) {
      const i = (this.head + n) & mask;
      if (this.corr[i] !== corr) continue;
      this.foundKey = this.key[i];
      this.foundVer = this.ver[i];
      this.foundMaxWait = this.maxWait[i];
      this.foundSec = this.sec[i];
      this.foundNsec = this.nsec[i];
      this.head = (i + 1) & mask;
      this.count -= n + 1;
      return true;
    }
    this.foundKey = -1;
    return false;
  }

  /** Is a request with this correlation id waiting? */
  has(corr: number): boolean {
    const mask = this.corr.length - 1;
    for (let n = 0; n < this.count; n++) if (this.corr[(this.head + n) & mask] === corr) return true;
    return false;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  private grow(cap: number): void {
    const old = this.corr.length;
    const corr = new Int32Array(cap);
    const key = new Int16Array(cap);
    const ver = new Int16Array(cap);
    const maxWait = new Int32Array(cap);
    const sec = new Float64Array(cap);
    const nsec = new Float64Array(cap);
    for (let n = 0; n < this.count; n++) {
      const i = (this.head + n) & (old - 1);
      corr[n] = this.corr[i];
      key[n] = this.key[i];
      ver[n] = this.ver[i];
      maxWait[n] = this.maxWait[i];
      sec[n] = this.sec[i];
      nsec[n] = this.nsec[i];
    }
    this.corr = corr;
    this.key = key;
    this.ver = ver;
    this.maxWait = maxWait;
    this.sec = sec;
    this.nsec = nsec;
    this.head = 0;
  }
}

const connStates = new PerConnection(() => new ConnState());

/** A TLS handshake record: content type 22, version 3.x. */
function isTlsRecord(buf: Buffer, at: number, end: number): boolean {
  return end - at >= 3 && buf[at] === 0x16 && buf[at + 1] === 0x03 && buf[at + 2] <= 0x04;
}

export class KafkaParser implements StreamParser {
  private state = State.Size;
  /**
   * No message has been decoded yet: the capture may have begun inside one.
   * The first message must look like Kafka (a size in range; a known key at
   * a plausible version, or the correlation id of a waiting request), or the
   * parser quietly waits for a chunk that starts one.
   */
  private unsure = true;
  private readonly sizeBytes = new Uint8Array(4);
  private sizeGot = 0;
  private msgLen = 0;
  /** Bytes of the message seen (or stepped over). */
  private got = 0;
  /** Bytes of the message copied into head; no more once a skip cut it. */
  private headLen = 0;
  private headCut = false;
  private head: Buffer | null = null;
  private readonly r = new Reader();
  private readonly info = new MessageInfo();
  private readonly shared: ConnState;

  // A response's error codes, as decoding finds them.
  private topError = 0;
  private partError = 0;
  private errorSeen = false;
  private records = false;

  constructor(
    private readonly conn: ParserConnection,
    private readonly request: boolean,
    private readonly sink: MessageSink,
  ) {
    this.shared = connStates.of(conn);
  }

  /** A message cut short is not reported from its first bytes (yet): its size prefix is all it had. */
  flushPartial(): boolean {
    return false;
  }

  reset(): void {
    if (this.state !== State.Encrypted) this.state = State.Resync;
    this.sizeGot = 0;
    if (!this.request) this.shared.clear();
  }

  skip(n: number, tsSec: number, tsNsec: number): boolean {
    if (n <= 0 || this.state === State.Encrypted) return true;
    if (this.state === State.Body && n <= this.msgLen - this.got) {
      this.got += n;
      this.headCut = true;
      this.info.bytes += n;
      if (this.got === this.msgLen) this.complete(this.head!, 0, this.headLen, tsSec, tsNsec);
      return true;
    }
    if (this.state === State.Resync) return true;
    this.fail(ResetReason.Gap);
    return false;
  }

  feed(buf: Buffer, start: number, end: number, tsSec: number, tsNsec: number): void {
    let pos = start;
    if (this.state === State.Encrypted || this.shared.encrypted) {
      this.state = State.Encrypted;
      return;
    }
    if (this.request && !this.shared.started && isTlsRecord(buf, pos, end)) {
      this.shared.started = true;
      this.shared.encrypted = true;
      this.state = State.Encrypted;
      this.sink.reset(this.conn, true, ResetReason.Encrypted);
      return;
    }
    if (this.state === State.Resync) {
      if (!this.plausible(buf, pos, end)) return;
      this.state = State.Size;
      this.sizeGot = 0;
    }
    while (pos < end) {
      if (this.state === State.Size) {
        if (this.sizeGot === 0) {
          this.info.begin(tsSec, tsNsec);
          this.shared.started = true;
        }
        while (this.sizeGot < 4 && pos < end) this.sizeBytes[this.sizeGot++] = buf[pos++];
        if (this.sizeGot < 4) return;
        const s = this.sizeBytes;
        this.msgLen = ((s[0] << 24) | (s[1] << 16) | (s[2] << 8) | s[3]) >>> 0;
        this.info.bytes = 4;
        if (this.msgLen < (this.request ? MIN_REQUEST : MIN_RESPONSE) || this.msgLen > MAX_MESSAGE) {
          if (this.unsure) this.state = State.Resync;
          else this.fail(ResetReason.Malformed);
          return;
        }
        this.state = State.Body;
        this.got = 0;
        this.headLen = 0;
        this.headCut = false;
        if (end - pos >= this.msgLen) {
          // The whole message is here: decode it in place.
          const at = pos;
          pos += this.msgLen;
          this.got = this.msgLen;
          this.info.bytes += this.msgLen;
          this.complete(buf, at, this.msgLen, tsSec, tsNsec);
          continue;
        }
      }
      if (this.state !== State.Body) return;
      const left = this.msgLen - this.got;
      const n = end - pos < left ? end - pos : left;
      if (!this.headCut && this.headLen < HEAD_CAP) this.copyHead(buf, pos, n);
      this.got += n;
      pos += n;
      this.info.bytes += n;
      if (this.got === this.msgLen) this.complete(this.head!, 0, this.headLen, tsSec, tsNsec);
    }
  }

  private copyHead(buf: Buffer, pos: number, n: number): void {
    const want = Math.min(this.headLen + n, HEAD_CAP, this.msgLen);
    let head = this.head;
    if (head === null || head.length < want) {
      let cap = head === null ? 4096 : head.length * 2;
      while (cap < want) cap *= 2;
      const grown = Buffer.allocUnsafe(Math.min(cap, HEAD_CAP));
      if (head !== null) head.copy(grown, 0, 0, this.headLen);
      head = this.head = grown;
    }
    buf.copy(head, this.headLen, pos, pos + (want - this.headLen));
    this.headLen = want;
  }

  /**
   * After a reset (or at the start): does this chunk start with a message?
   * A request: a size in range and a known api_key at a plausible version; a
   * response: a size in range and the correlation id of a request waiting.
   */
  private plausible(buf: Buffer, pos: number, end: number): boolean {
    if (end - pos < 8) return false;
    const size = ((buf[pos] << 24) | (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]) >>> 0;
    if (size > MAX_MESSAGE) return false;
    if (this.request) {
      if (size < MIN_REQUEST || end - pos < 14) return false;
      const key = (buf[pos + 4] << 8) | buf[pos + 5];
      const ver = (buf[pos + 6] << 8) | buf[pos + 7];
      const idLen = ((buf[pos + 12] << 24) >> 16) | buf[pos + 13];
      return isKnownApi(key) && ver <= MAX_PLAUSIBLE_VERSION && idLen >= -1 && idLen <= size - MIN_REQUEST;
    }
    if (size < MIN_RESPONSE) return false;
    return this.shared.has((buf[pos + 4] << 24) | (buf[pos + 5] << 16) | (buf[pos + 6] << 8) | buf[pos + 7]);
  }

  /** The first message's header, checked as plausible() checks a chunk's start. */
  private looksRight(b: Buffer, at: number, avail: number): boolean {
    if (this.request) {
      if (avail < 6) return avail >= 4 && isKnownApi((b[at] << 8) | b[at + 1]);
      const key = (b[at] << 8) | b[at + 1];
      const ver = (b[at + 2] << 8) | b[at + 3];
      const idLen = avail >= 10 ? ((b[at + 8] << 24) >> 16) | b[at + 9] : 0;
      return isKnownApi(key) && ver <= MAX_PLAUSIBLE_VERSION && idLen >= -1 && idLen <= this.msgLen - MIN_REQUEST;
    }
    return avail >= 4 && this.shared.has((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);
  }

  private fail(reason: ResetReason): void {
    this.state = State.Resync;
    this.sizeGot = 0;
    this.sink.reset(this.conn, this.request, reason);
  }

  /** The message is complete: its first `avail` bytes are b[at, at + avail). */
  private complete(b: Buffer, at: number, avail: number, tsSec: number, tsNsec: number): void {
    const info = this.info;
    info.endSec = tsSec;
    info.endNsec = tsNsec;
    this.state = State.Size;
    this.sizeGot = 0;
    const r = this.r;
    r.reset(b, at, at + avail);
    if (this.unsure) {
      if (!this.looksRight(b, at, avail)) {
        // Not a message start after all: wait for one, quietly.
        this.state = State.Resync;
        info.bytes = 0;
        return;
      }
      this.unsure = false;
    }
    if (this.request ? this.decodeRequest(r) : this.decodeResponse(r)) this.sink.message(this.conn, this.request, info);
    info.bytes = 0;
  }

  // ------------------------------------------------------------ requests

  private decodeRequest(r: Reader): boolean {
    const info = this.info;
    const key = r.i16();
    const ver = r.i16();
    const corr = r.i32();
    r.str(false);
    if (r.short) {
      // Cut before the header's end: nothing to pair by.
      this.sink.reset(this.conn, true, ResetReason.Malformed);
      return false;
    }
    info.matchId = corr >>> 0;
    this.putDetail(key, ver, r);
    const flex = isFlexible(key, ver);
    if (flex) r.tags();
    this.put(apiName(key));
    this.putByte(Ch.SPACE);
    this.putByte(Ch.LOWER_V);
    this.putInt(ver);
    let maxWait = -1;
    let acks = -1;
    switch (key) {
      case ApiKey.Produce:
        if (ver >= 3) r.str(flex);
        acks = r.i16();
        r.i32();
        this.topics(r, flex, ver >= 13, true, Part.Produce, ver);
        break;
      case ApiKey.Fetch:
        if (ver < 15) r.i32();
        maxWait = r.i32();
        r.i32();
        if (ver >= 3) r.i32();
        if (ver >= 4) r.i8();
        if (ver >= 7) r.skip(8);
        if (!r.short) {
          this.put(MAX_WAIT);
          this.putInt(maxWait);
        }
        this.topics(r, flex, ver >= 13, true, Part.Fetch, ver);
        break;
      case ApiKey.ListOffsets:
        r.i32();
        if (ver >= 2) r.i8();
        this.topics(r, flex, false, true, Part.ListOffsets, ver);
        break;
      case ApiKey.Metadata:
        this.topics(r, flex, false, false, Part.Metadata, ver);
        break;
      case ApiKey.OffsetCommit:
        this.group(r, flex);
        if (ver >= 1) {
          r.i32();
          r.str(flex);
        }
        if (ver >= 7) r.str(flex);
        if (ver >= 2 && ver <= 4) r.skip(8);
        this.topics(r, flex, ver >= 10, true, Part.OffsetCommit, ver);
        break;
      case ApiKey.OffsetFetch:
        if (ver < 8) {
          this.group(r, flex);
          this.topics(r, flex, false, true, Part.Indexes, ver);
        } else if (r.array(flex) > 0) {
          // The first group's.
          this.group(r, flex);
          if (ver >= 9) {
            r.str(flex);
            r.i32();
          }
          this.topics(r, flex, ver >= 10, true, Part.Indexes, ver);
        }
        break;
      case ApiKey.CreateTopics:
      case ApiKey.DeleteTopics:
        this.topics(r, flex, false, false, key === ApiKey.CreateTopics ? Part.CreateTopics : ver >= 6 ? Part.DeleteTopics : Part.Names, ver);
        break;
      case ApiKey.FindCoordinator:
        if (ver < 4) this.group(r, flex);
        else {
          r.i8();
          if (r.array(flex) > 0) this.group(r, flex);
        }
        break;
      case ApiKey.JoinGroup:
      case ApiKey.Heartbeat:
      case ApiKey.LeaveGroup:
      case ApiKey.SyncGroup:
      case ApiKey.DeleteGroups:
      case ApiKey.DescribeGroups:
        if (key === ApiKey.DeleteGroups || key === ApiKey.DescribeGroups) {
          if (r.array(flex) > 0) this.group(r, flex);
        } else this.group(r, flex);
        break;
    }
    if (key === ApiKey.Produce && acks === 0) {
      info.kind = MessageKind.NoReply;
      return true;
    }
    this.shared.push(corr, key, ver, maxWait, info.startSec, info.startNsec);
    return true;
  }

  /** detail: api_key, api_version (int16 each), client_id's length (a byte) and its first CLIENT_ID_MAX bytes. */
  private putDetail(key: number, ver: number, r: Reader): void {
    const d = this.info.detail;
    d[0] = (key >> 8) & 0xff;
    d[1] = key & 0xff;
    d[2] = (ver >> 8) & 0xff;
    d[3] = ver & 0xff;
    const n = r.strLen < 0 ? 0 : r.strLen > CLIENT_ID_MAX ? CLIENT_ID_MAX : r.strLen;
    d[4] = n;
    r.buf.copy(d, 5, r.strStart, r.strStart + n);
    this.info.detailLen = 5 + n;
  }

  /** ` group=<id>`: the string at the reader. */
  private group(r: Reader, flex: boolean): void {
    r.str(flex);
    if (r.strLen < 0) return;
    this.put(GROUP);
    this.putStr(r);
  }

  /**
   * A request's topics, each with the partitions it names (`orders[0,1]`),
   * until the preview is full. `ids`: topics are named by id (a UUID);
   * `parts`: each topic has a partition list, laid out as `layout` says.
   */
  private topics(r: Reader, flex: boolean, ids: boolean, parts: boolean, layout: Part, ver: number): void {
    const n = r.array(flex);
    const info = this.info;
    for (let t = 0; t < n && !r.short && info.previewLen < PREVIEW_MAX; t++) {
      this.putByte(Ch.SPACE);
      if (layout === Part.Names) {
        r.str(flex);
        this.putStr(r);
        continue;
      }
      if (layout === Part.Metadata && ver >= 10) {
        r.skip(16);
        r.str(flex);
        this.putStr(r);
      } else if (layout === Part.DeleteTopics) {
        r.str(flex);
        if (r.strLen >= 0) this.putStr(r);
        else this.putUuid(r.buf, r.pos);
        r.skip(16);
      } else if (ids) {
        this.putUuid(r.buf, r.pos);
        r.skip(16);
      } else {
        r.str(flex);
        this.putStr(r);
      }
      if (layout === Part.CreateTopics) {
        // num_partitions, replication_factor, assignments, configs.
        r.skip(6);
        const a = r.array(flex);
        for (let i = 0; i < a && !r.short; i++) {
          r.i32();
          r.skip(4 * Math.max(0, r.array(flex)));
          if (flex) r.tags();
        }
        const c = r.array(flex);
        for (let i = 0; i < c && !r.short; i++) {
          r.str(flex);
          r.str(flex);
          if (flex) r.tags();
        }
      }
      if (parts) this.partitions(r, flex, layout, ver);
      if (flex) r.tags();
    }
    // The capture ended inside the list: say it was cut.
    if (r.short && info.previewLen < PREVIEW_MAX) info.appendEllipsis();
  }

  private partitions(r: Reader, flex: boolean, layout: Part, ver: number): void {
    const n = r.array(flex);
    let shown = 0;
    for (let p = 0; p < n && !r.short; p++) {
      const index = r.i32();
      if (r.short) break;
      this.putByte(shown++ === 0 ? Ch.LBRACKET : Ch.COMMA);
      this.putInt(index);
      switch (layout) {
        case Part.Produce:
          r.bytes(flex);
          break;
        case Part.Fetch:
          if (ver >= 9) r.i32();
          r.skip(8);
          if (ver >= 12) r.i32();
          if (ver >= 5) r.skip(8);
          r.i32();
          break;
        case Part.ListOffsets:
          if (ver >= 4) r.i32();
          r.skip(8);
          if (ver === 0) r.i32();
          break;
        case Part.OffsetCommit:
          r.skip(8);
          if (ver >= 6) r.i32();
          if (ver === 1) r.skip(8);
          r.str(flex);
          break;
        case Part.Indexes:
          // A plain int32 array: no tagged fields per element.
          continue;
      }
      if (flex) r.tags();
    }
    if (shown > 0) this.putByte(Ch.RBRACKET);
  }

  // ------------------------------------------------------------ responses

  private decodeResponse(r: Reader): boolean {
    const info = this.info;
    const corr = r.i32();
    if (r.short) return false;
    info.matchId = corr >>> 0;
    const s = this.shared;
    if (!s.take(corr)) return true; // nothing waits for it: pairing counts an orphan
    const key = s.foundKey;
    const ver = s.foundVer;
    const flex = isFlexible(key, ver);
    if (flex && key !== ApiKey.ApiVersions) r.tags();
    this.topError = 0;
    this.partError = 0;
    this.errorSeen = false;
    this.records = false;
    this.responseBody(r, key, ver, flex);
    // A body read to its end without an error code in it (no topics): no error.
    if (!this.errorSeen && !r.short && DECODED[key] === 1) this.errorSeen = true;
    if (!this.errorSeen) return true;
    const code = this.topError !== 0 ? this.topError : this.partError;
    info.status = code;
    info.isError = code !== 0;
    info.statusText = errorName(code);
    if (key === ApiKey.Fetch && code === 0 && !this.records && !r.short && s.foundMaxWait > 0) {
      const waitedMs = (info.startSec - s.foundSec) * 1e3 + (info.startNsec - s.foundNsec) / 1e6;
      if (waitedMs >= s.foundMaxWait * LONG_POLL_SHARE) {
        info.longPoll = true;
        info.statusText = LONG_POLL_TEXT;
      }
    }
    return true;
  }

  private top(code: number, r: Reader): void {
    if (r.short) return;
    this.errorSeen = true;
    if (this.topError === 0) this.topError = code;
  }

  private part(code: number, r: Reader): void {
    if (r.short) return;
    this.errorSeen = true;
    if (this.partError === 0) this.partError = code;
  }

  /** Reads the error codes of the responses whose layout is known (ERROR_DECODED). */
  private responseBody(r: Reader, key: number, ver: number, flex: boolean): void {
    switch (key) {
      case ApiKey.Produce: {
        const n = r.array(flex);
        for (let t = 0; t < n && !r.short; t++) {
          if (ver >= 13) r.skip(16);
          else r.str(flex);
          const p = r.array(flex);
          for (let i = 0; i < p && !r.short; i++) {
            r.i32();
            this.part(r.i16(), r);
            r.skip(8);
            if (ver >= 2) r.skip(8);
            if (ver >= 5) r.skip(8);
            if (ver >= 8) {
              const e = r.array(flex);
              for (let j = 0; j < e && !r.short; j++) {
                r.i32();
                r.str(flex);
                if (flex) r.tags();
              }
              r.str(flex);
            }
            if (flex) r.tags();
          }
          if (flex) r.tags();
        }
        return;
      }
      case ApiKey.Fetch: {
        if (ver >= 1) r.i32();
        if (ver >= 7) {
          this.top(r.i16(), r);
          r.i32();
        }
        const n = r.array(flex);
        for (let t = 0; t < n && !r.short; t++) {
          if (ver >= 13) r.skip(16);
          else r.str(flex);
          const p = r.array(flex);
          for (let i = 0; i < p && !r.short; i++) {
            r.i32();
            this.part(r.i16(), r);
            r.skip(8);
            if (ver >= 4) r.skip(8);
            if (ver >= 5) r.skip(8);
            if (ver >= 4) {
              const a = r.array(flex);
              for (let j = 0; j < a && !r.short; j++) {
                r.skip(16);
                if (flex) r.tags();
              }
            }
            if (ver >= 11) r.i32();
            if (r.bytes(flex) > 0 && !r.short) this.records = true;
            if (flex) r.tags();
          }
          if (flex) r.tags();
        }
        return;
      }
      case ApiKey.ListOffsets: {
        if (ver >= 2) r.i32();
        const n = r.array(flex);
        for (let t = 0; t < n && !r.short; t++) {
          r.str(flex);
          const p = r.array(flex);
          for (let i = 0; i < p && !r.short; i++) {
            r.i32();
            this.part(r.i16(), r);
            if (ver === 0) r.skip(8 * Math.max(0, r.array(flex)));
            else r.skip(16);
            if (ver >= 4) r.i32();
            if (flex) r.tags();
          }
          if (flex) r.tags();
        }
        return;
      }
      case ApiKey.Metadata: {
        if (ver >= 3) r.i32();
        const b = r.array(flex);
        for (let i = 0; i < b && !r.short; i++) {
          r.i32();
          r.str(flex);
          r.i32();
          if (ver >= 1) r.str(flex);
          if (flex) r.tags();
        }
        if (ver >= 2) r.str(flex);
        if (ver >= 1) r.i32();
        const n = r.array(flex);
        for (let t = 0; t < n && !r.short; t++) {
          this.part(r.i16(), r);
          r.str(flex);
          if (ver >= 10) r.skip(16);
          if (ver >= 1) r.i8();
          const p = r.array(flex);
          for (let i = 0; i < p && !r.short; i++) {
            this.part(r.i16(), r);
            r.skip(8);
            if (ver >= 7) r.i32();
            r.skip(4 * Math.max(0, r.array(flex)));
            r.skip(4 * Math.max(0, r.array(flex)));
            if (ver >= 5) r.skip(4 * Math.max(0, r.array(flex)));
            if (flex) r.tags();
          }
          if (ver >= 8) r.i32();
          if (flex) r.tags();
        }
        if (ver >= 8 && ver <= 10) r.i32();
        if (ver >= 13) this.top(r.i16(), r);
        return;
      }
      case ApiKey.OffsetCommit: {
        if (ver >= 3) r.i32();
        const n = r.array(flex);
        for (let t = 0; t < n && !r.short; t++) {
          if (ver >= 10) r.skip(16);
          else r.str(flex);
          const p = r.array(flex);
          for (let i = 0; i < p && !r.short; i++) {
            r.i32();
            this.part(r.i16(), r);
            if (flex) r.tags();
          }
          if (flex) r.tags();
        }
        return;
      }
      case ApiKey.OffsetFetch: {
        if (ver >= 3) r.i32();
        const groups = ver >= 8 ? r.array(flex) : 1;
        for (let g = 0; g < groups && !r.short; g++) {
          if (ver >= 8) r.str(flex);
          const n = r.array(flex);
          for (let t = 0; t < n && !r.short; t++) {
            if (ver >= 10) r.skip(16);
            else r.str(flex);
            const p = r.array(flex);
            for (let i = 0; i < p && !r.short; i++) {
              r.i32();
              r.skip(8);
              if (ver >= 5) r.i32();
              r.str(flex);
              this.part(r.i16(), r);
              if (flex) r.tags();
            }
            if (flex) r.tags();
          }
          if (ver >= 2) this.top(r.i16(), r);
          if (ver >= 8 && flex) r.tags();
        }
        return;
      }
      case ApiKey.FindCoordinator: {
        if (ver >= 1) r.i32();
        if (ver < 4) {
          this.top(r.i16(), r);
          return;
        }
        const n = r.array(flex);
        for (let i = 0; i < n && !r.short; i++) {
          r.str(flex);
          r.i32();
          r.str(flex);
          r.i32();
          this.part(r.i16(), r);
          r.str(flex);
          if (flex) r.tags();
        }
        return;
      }
      case ApiKey.LeaveGroup: {
        if (ver >= 1) r.i32();
        this.top(r.i16(), r);
        if (ver < 3) return;
        const n = r.array(flex);
        for (let i = 0; i < n && !r.short; i++) {
          r.str(flex);
          r.str(flex);
          this.part(r.i16(), r);
          if (flex) r.tags();
        }
        return;
      }
      case ApiKey.JoinGroup:
      case ApiKey.Heartbeat:
      case ApiKey.SyncGroup:
      case ApiKey.ListGroups:
      case ApiKey.InitProducerId:
      case ApiKey.AddOffsetsToTxn:
      case ApiKey.EndTxn:
        // throttle_time_ms (from v1, JoinGroup from v2; always for the last three), error_code.
        if (ver >= (key === ApiKey.JoinGroup ? 2 : 1) || key === ApiKey.InitProducerId || key === ApiKey.AddOffsetsToTxn || key === ApiKey.EndTxn) r.i32();
        this.top(r.i16(), r);
        return;
      case ApiKey.DescribeGroups: {
        if (ver >= 1) r.i32();
        // The first group's: the rest of a group's description is long.
        if (r.array(flex) > 0) this.part(r.i16(), r);
        return;
      }
      case ApiKey.CreateTopics: {
        if (ver >= 2) r.i32();
        if (r.array(flex) > 0) {
          r.str(flex);
          if (ver >= 7) r.skip(16);
          this.part(r.i16(), r);
        }
        return;
      }
      case ApiKey.DeleteTopics:
      case ApiKey.DeleteGroups: {
        // throttle_time_ms: DeleteTopics from v1, DeleteGroups from v0 (DeleteGroupsResponse.json: "0+").
        if (ver >= 1 || key === ApiKey.DeleteGroups) r.i32();
        const n = r.array(flex);
        for (let i = 0; i < n && !r.short; i++) {
          r.str(flex);
          if (key === ApiKey.DeleteTopics && ver >= 6) r.skip(16);
          this.part(r.i16(), r);
          if (key === ApiKey.DeleteTopics && ver >= 5) r.str(flex);
          if (flex) r.tags();
        }
        return;
      }
      case ApiKey.ApiVersions:
      case ApiKey.SaslHandshake:
      case ApiKey.SaslAuthenticate:
        this.top(r.i16(), r);
        return;
    }
  }

  // ------------------------------------------------------------ preview

  private putByte(b: number): void {
    this.info.appendPreview(b);
  }

  private put(bytes: Buffer): void {
    this.info.appendBytes(bytes, 0, bytes.length);
  }

  private putStr(r: Reader): void {
    const end = r.strStart + (r.strLen < 0 ? 0 : r.strLen);
    const b = r.buf;
    for (let i = r.strStart; i < end && this.info.previewLen < PREVIEW_MAX; i++) this.info.appendPreview(b[i] === Ch.SPACE ? 0x5f : b[i]);
  }

  private putInt(n: number): void {
    if (n < 0) {
      this.putByte(0x2d);
      n = -n;
    }
    let div = 1;
    while (n / div >= 10) div *= 10;
    for (; div >= 1; div = Math.floor(div / 10)) this.putByte(Ch.ZERO + (Math.floor(n / div) % 10));
  }

  /** A topic id as Kafka prints it: 16 bytes in URL-safe base64, unpadded (22 characters). */
  private putUuid(b: Buffer, at: number): void {
    if (at + 16 > b.length) return;
    for (let i = 0; i < 16; i += 3) {
      const b0 = b[at + i];
      const b1 = i + 1 < 16 ? b[at + i + 1] : 0;
      const b2 = i + 2 < 16 ? b[at + i + 2] : 0;
      this.putByte(BASE64URL[b0 >> 2]);
      this.putByte(BASE64URL[((b0 & 3) << 4) | (b1 >> 4)]);
      if (i + 1 < 16) this.putByte(BASE64URL[((b1 & 15) << 2) | (b2 >> 6)]);
      if (i + 2 < 16) this.putByte(BASE64URL[b2 & 63]);
    }
  }
}

/** How a request lays out its topics' partitions. */
const enum Part {
  Produce,
  Fetch,
  ListOffsets,
  OffsetCommit,
  /** A list of partition indexes (OffsetFetch). */
  Indexes,
  Metadata,
  CreateTopics,
  /** DeleteTopics v6+: name (nullable) and topic id. */
  DeleteTopics,
  /** An array of topic names (DeleteTopics before v6). */
  Names,
}

/** APIs whose responses' error codes are read. */
export const ERROR_DECODED: readonly number[] = [
  ApiKey.Produce, ApiKey.Fetch, ApiKey.ListOffsets, ApiKey.Metadata, ApiKey.OffsetCommit, ApiKey.OffsetFetch,
  ApiKey.FindCoordinator, ApiKey.JoinGroup, ApiKey.Heartbeat, ApiKey.LeaveGroup, ApiKey.SyncGroup, ApiKey.DescribeGroups,
  ApiKey.ListGroups, ApiKey.SaslHandshake, ApiKey.ApiVersions, ApiKey.CreateTopics, ApiKey.DeleteTopics, ApiKey.InitProducerId,
  ApiKey.AddOffsetsToTxn, ApiKey.EndTxn, ApiKey.SaslAuthenticate, ApiKey.DeleteGroups,
];

const DECODED = new Uint8Array(MAX_API_KEY + 1);
for (const k of ERROR_DECODED) DECODED[k] = 1;

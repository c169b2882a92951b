// The flow of a packet: engine batch -> decode -> connections -> protocol ->
// pairing -> outputs. One Pipeline per run; it owns the per-packet hot path.
import { RECORD_HDR_LEN, RecordField, nextRecord } from './engine/record';
import { DecodeResult, IpProto, Packet, TcpFlag, decodePacket } from './decode/packet';
import { Reassembler } from './decode/fragments';
import { ConnectionTable } from './connections/table';
import { newPairedConnection, type PairedConnection } from './pairing/connection';
import { SegmentVerdict, seqAfter, type TcpStream } from './connections/stream';
import { ResetReason, type ParserFactory } from './protocol/message';
import { Pairer } from './pairing/pairer';
import type { Transaction, TransactionSink } from './pairing/transaction';
import type { Output, PacketSink } from './pairing/consumer';
import type { Config } from './config';
import type { Engine } from './engine/engine';
import type { RunCounters } from './stats/counters';

export interface PipelineCounters {
  /** Records received from the engine. */
  records: number;
  /** Records that were IP packets we decode. */
  decoded: number;
  /** Why the rest were not, by DecodeResult. */
  undecoded: number[];
  /** Packets to or from a monitored server. */
  matched: number;
  /** Of those, from clients (requests) and from servers (responses), and their payload bytes. */
  requestPackets: number;
  responsePackets: number;
  requestBytes: number;
  responseBytes: number;
  /** TCP segments with nothing new (retransmissions, pure ACKs). */
  duplicates: number;
  /** TCP segments that arrived ahead of a hole and were held back. */
  heldBack: number;
  /** Held segments delivered in order once the hole filled. */
  reordered: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Fans a transaction out to every output. */
class Fanout implements TransactionSink {
  constructor(private readonly outputs: Output[]) {}
  transaction(tx: Transaction): void {
    for (let i = 0; i < this.outputs.length; i++) this.outputs[i].transaction(tx);
  }
}

export class Pipeline {
  private readonly pkt = new Packet();
  readonly table: ConnectionTable<PairedConnection>;
  readonly pairer: Pairer;
  readonly fragments = new Reassembler();
  readonly counters: PipelineCounters = {
    records: 0, decoded: 0, undecoded: [0, 0, 0, 0, 0, 0], matched: 0,
    requestPackets: 0, responsePackets: 0, requestBytes: 0, responseBytes: 0, duplicates: 0, heldBack: 0, reordered: 0,
  };
  private readonly wantTcp: boolean;
  private readonly wantUdp: boolean;
  private lastSec = 0;
  private lastNsec = 0;

  constructor(
    config: Config,
    private readonly outputs: Output[],
    private readonly parserFactory: ParserFactory | null,
    /** Every matched packet, before parsing: raw mode's lines or a Lua script. */
    private readonly raw: PacketSink | null,
  ) {
    this.wantTcp = config.transport !== 'udp';
    this.wantUdp = config.transport !== 'tcp';
    this.pairer = new Pairer(config.mode, new Fanout(outputs), config.timeoutSec, config.redact);
    this.table = new ConnectionTable(
      {
        ports: config.ports,
        servers: config.servers,
        maxConnections: config.maxConnections,
        idleSeconds: Math.max(config.timeoutSec * 2, 60),
      },
      (conn) => this.pairer.forget(conn, this.lastSec, this.lastNsec),
      newPairedConnection,
    );
  }

  /** The last batch buffer seen, and its record headers as 32-bit words (null if unaligned). */
  private wordsOf: Buffer | null = null;
  private words: Uint32Array | null = null;

  /** The engine's batch callback. */
  readonly onBatch = (buf: Buffer, used: number): void => {
    const p = this.pkt;
    const c = this.counters;
    if (buf !== this.wordsOf) {
      // Records start on 8-byte boundaries: with an aligned buffer, header
      // fields are whole words of one typed array (little-endian, as x86 and arm64).
      this.wordsOf = buf;
      this.words = (buf.byteOffset & 3) === 0 && LITTLE_ENDIAN ? new Uint32Array(buf.buffer, buf.byteOffset, buf.length >> 2) : null;
    }
    const words = this.words;
    for (let off = 0; off < used; ) {
      let capLen: number;
      let linkType: number;
      if (words !== null) {
        const w = off >> 2;
        capLen = words[w + (RecordField.CapLen >> 2)];
        linkType = words[w + (RecordField.LinkType >> 2)] & 0xffff;
        p.tsSec = words[w + (RecordField.TsSec >> 2)];
        p.tsNsec = words[w + (RecordField.TsNsec >> 2)];
      } else {
        capLen = buf.readUInt32LE(off + RecordField.CapLen);
        linkType = buf.readUInt16LE(off + RecordField.LinkType);
        p.tsSec = buf.readUInt32LE(off + RecordField.TsSec);
        p.tsNsec = buf.readUInt32LE(off + RecordField.TsNsec);
      }
      const data = off + RECORD_HDR_LEN;
      off = nextRecord(off, capLen);
      c.records++;
      if (p.tsSec !== this.lastSec) this.tick(p.tsSec);
      this.lastSec = p.tsSec;
      this.lastNsec = p.tsNsec;
      const res = decodePacket(buf, data, capLen, linkType, p);
      // The buffer the packet's payload offsets refer to: the batch's, or a datagram put together from fragments.
      let pbuf = buf;
      if (res !== DecodeResult.Ok) {
        if (res !== DecodeResult.Fragment) {
          c.undecoded[res]++;
          continue;
        }
        const whole = this.fragments.add(p, buf);
        if (whole === null) continue;
        pbuf = whole;
      }
      c.decoded++;
      if (p.proto === IpProto.Tcp ? !this.wantTcp : !this.wantUdp) continue;
      const conn = this.table.lookup(p);
      if (conn === null) continue;
      c.matched++;
      const fromClient = this.table.fromClient;
      if (fromClient) {
        c.requestPackets++;
        c.requestBytes += p.payloadLen;
      } else {
        c.responsePackets++;
        c.responseBytes += p.payloadLen;
      }
      if (this.raw !== null) this.raw.packet(p, pbuf, fromClient);
      if (this.parserFactory !== null) {
        if (p.proto === IpProto.Tcp) this.tcpSegment(conn, fromClient, pbuf);
        else this.udpDatagram(conn, fromClient, pbuf);
      }
    }
    for (let i = 0; i < this.outputs.length; i++) this.outputs[i].flush();
    if (this.raw !== null) this.raw.flush();
  };

  /** One UDP datagram per feed(): the parser knows whether it is a whole message (DNS) or framed (memcached). */
  private udpDatagram(conn: PairedConnection, fromClient: boolean, buf: Buffer): void {
    const p = this.pkt;
    let parser = fromClient ? conn.requestParser : conn.responseParser;
    if (parser === null) {
      parser = this.parserFactory!(conn, fromClient, this.pairer);
      if (fromClient) conn.requestParser = parser;
      else conn.responseParser = parser;
    }
    parser.feed(buf, p.payloadOff, p.payloadOff + p.payloadCap, p.tsSec, p.tsNsec);
    if (p.payloadLen > p.payloadCap) parser.skip(p.payloadLen - p.payloadCap, p.tsSec, p.tsNsec);
  }

  private tcpSegment(conn: PairedConnection, fromClient: boolean, buf: Buffer): void {
    const p = this.pkt;
    const flags = p.flags;
    const stream = fromClient ? conn.toServer : conn.toClient;
    if ((flags & TcpFlag.Syn) !== 0) {
      stream.syn(p.seq);
      if (fromClient && (flags & TcpFlag.Ack) === 0) {
        // A new connection on a reused 5-tuple: forget the old one's state.
        conn.requestParser?.reset();
        conn.responseParser?.reset();
        conn.toClient.synced = false;
        conn.toClient.clearHeld();
        conn.clientClosed = conn.serverClosed = false;
      }
      return;
    }
    if ((flags & TcpFlag.Rst) !== 0) {
      this.table.remove(conn);
      return;
    }
    // The peer acknowledged bytes the capture never saw: they will not come
    // again, so what waits behind that hole goes on without them.
    const other = fromClient ? conn.toClient : conn.toServer;
    if ((flags & TcpFlag.Ack) !== 0) {
      while (other.held !== null && seqAfter(p.ack, other.nextSeq)) {
        if (!this.resumeAfterHole(conn, !fromClient, other)) return;
      }
    }
    const fin = (flags & TcpFlag.Fin) !== 0;
    const verdict = stream.accept(p.seq, p.payloadLen, fin);
    const capEnd = p.payloadOff + p.payloadCap;
    if (verdict === SegmentVerdict.Ahead) {
      // Bytes before it are still on their way (reordered) or were lost.
      this.counters.heldBack++;
      if (!stream.hold(p.seq, p.payloadLen, buf, p.payloadOff, capEnd, fin, p.tsSec, p.tsNsec)) this.resumeAfterHole(conn, fromClient, stream);
      return;
    }
    if (verdict === SegmentVerdict.Duplicate) this.counters.duplicates++;
    if (!this.deliver(conn, fromClient, buf, p.payloadOff + stream.skip, capEnd, p.payloadLen - stream.skip, verdict === SegmentVerdict.Deliver, fin, p.tsSec, p.tsNsec)) return;
    // What was held behind this segment may continue the stream now.
    if (stream.held !== null) this.deliverHeld(conn, fromClient, stream);
  }

  /**
   * Hands new stream bytes buf[start, capEnd) to the direction's parser; `len`
   * is how many there were on the wire (snaplen may have cut some). Handles
   * the sender's FIN. Returns false when the connection is gone.
   */
  private deliver(conn: PairedConnection, fromClient: boolean, buf: Buffer, start: number, capEnd: number, len: number, data: boolean, fin: boolean, tsSec: number, tsNsec: number): boolean {
    let parser = fromClient ? conn.requestParser : conn.responseParser;
    if (data) {
      if (parser === null) {
        parser = this.parserFactory!(conn, fromClient, this.pairer);
        if (fromClient) conn.requestParser = parser;
        else conn.responseParser = parser;
      }
      if (start < capEnd) parser.feed(buf, start, capEnd, tsSec, tsNsec);
      // Bytes snaplen cut off: a parser that knows the message length steps over them.
      const missing = len - (capEnd > start ? capEnd - start : 0);
      if (missing > 0) parser.skip(missing, tsSec, tsNsec);
    }
    if (!fin) return true;
    if (parser !== null && parser.end !== undefined) parser.end(tsSec, tsNsec);
    if (fromClient) conn.clientClosed = true;
    else conn.serverClosed = true;
    if (conn.clientClosed && conn.serverClosed) {
      this.table.remove(conn);
      return false;
    }
    return true;
  }

  /** Delivers the held segments that now continue the stream. Returns false when the connection is gone. */
  private deliverHeld(conn: PairedConnection, fromClient: boolean, stream: TcpStream): boolean {
    for (let seg = stream.takeHeld(); seg !== null; seg = stream.takeHeld()) {
      const verdict = stream.accept(seg.seq, seg.len, seg.fin);
      if (verdict === SegmentVerdict.Deliver) this.counters.reordered++;
      const skip = stream.skip;
      if (!this.deliver(conn, fromClient, seg.data, skip, seg.data.length, seg.len - skip, verdict === SegmentVerdict.Deliver, seg.fin, seg.tsSec, seg.tsNsec)) return false;
    }
    return true;
  }

  /**
   * The hole before the first held segment will not be filled: the parser
   * and the pairing on this connection restart (a gap, counted), and the
   * stream resumes at that segment. Returns false when the connection is gone.
   */
  private resumeAfterHole(conn: PairedConnection, fromClient: boolean, stream: TcpStream): boolean {
    stream.skipHole();
    const parser = fromClient ? conn.requestParser : conn.responseParser;
    parser?.reset();
    this.pairer.reset(conn, fromClient, ResetReason.Gap);
    return this.deliverHeld(conn, fromClient, stream);
  }

  /** Once per second of capture time: expire idle connections and overdue requests. */
  private tick(nowSec: number): void {
    this.table.sweep(nowSec);
    this.fragments.sweep(nowSec);
    for (const conn of this.table.all()) {
      if (conn.pending.count > 0) this.pairer.expire(conn, nowSec, 0);
    }
  }

  /** The input ended: requests still waiting are reported, outputs flushed. */
  finish(): void {
    this.fragments.sweep(Infinity); // datagrams still missing fragments never complete now
    // A copy: delivering held segments may close (and remove) a connection.
    for (const conn of Array.from(this.table.all())) {
      // Segments still held behind a hole: the rest of the stream is all there is.
      for (const fromClient of [true, false]) {
        const stream = fromClient ? conn.toServer : conn.toClient;
        while (stream.held !== null && this.resumeAfterHole(conn, fromClient, stream));
      }
      this.pairer.drain(conn, this.lastSec, this.lastNsec);
    }
    for (let i = 0; i < this.outputs.length; i++) this.outputs[i].flush();
    if (this.raw !== null) this.raw.flush();
  }

  /**
   * Live capture: the wall clock moved on (called once a second). When no
   * packet arrives, requests still time out and idle connections still go.
   */
  clock(nowSec: number): void {
    if (nowSec <= this.lastSec) return;
    this.tick(nowSec);
    this.lastSec = nowSec;
    this.lastNsec = 0;
    for (let i = 0; i < this.outputs.length; i++) this.outputs[i].flush();
  }
}

/** Where counters come from that the pipeline and engine do not know. */
export interface ExtraCounters {
  /** The Lua output's error count, when -S runs a script. */
  luaErrors?: () => number;
}

export function snapshotCounters(pipeline: Pipeline, engine: Engine, extra: ExtraCounters = {}): RunCounters {
  const c = pipeline.counters;
  const pc = pipeline.pairer.counters;
  const tc = pipeline.table.counters;
  const ec = engine.counters();
  return {
    packetsSeen: ec.seen,
    packetsLost: ec.dropped,
    packetsDelivered: c.records,
    packetsMatched: c.matched,
    packetsUndecoded: c.undecoded.reduce((a, b) => a + b, 0),
    packetsUndecodedBy: c.undecoded.slice(),
    requestPackets: c.requestPackets,
    responsePackets: c.responsePackets,
    requestBytes: c.requestBytes,
    responseBytes: c.responseBytes,
    connectionsOpen: pipeline.table.connections,
    connectionsOpened: tc.opened,
    connectionsClosed: tc.closed,
    connectionsExpired: tc.expired,
    connectionsRefused: tc.refused,
    connectionsEvicted: tc.evicted,
    parserResets: pc.malformed,
    gaps: pc.gaps,
    segmentsReordered: c.reordered,
    ipFragments: pipeline.fragments.counters.fragments,
    datagramsReassembled: pipeline.fragments.counters.reassembled,
    fragmentsDropped: pipeline.fragments.counters.dropped,
    orphanResponses: pc.orphanResponses,
    serverPushes: pc.pushes,
    requestsDropped: pc.overflow,
    luaErrors: extra.luaErrors?.() ?? 0,
  };
}

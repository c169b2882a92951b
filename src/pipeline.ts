// The flow of a packet: engine batch -> decode -> connections -> protocol ->
// pairing -> outputs. One Pipeline per run; it owns the per-packet hot path.
import { RECORD_HDR_LEN, RecordField, nextRecord } from './engine/record';
import { DecodeResult, IpProto, Packet, TcpFlag, decodePacket } from './decode/packet';
import { ConnectionTable } from './connections/table';
import type { Connection } from './connections/connection';
import { SegmentVerdict } from './connections/stream';
import { ResetReason, type ParserFactory } from './protocol/parser';
import { Pairer } from './pairing/pairer';
import type { Transaction, TransactionSink } from './pairing/transaction';
import type { Output } from './output/output';
import type { RawPacketOutput } from './output/raw';
import type { Config } from './cli/config';

export interface PipelineCounters {
  /** Records received from the engine. */
  records: number;
  /** Records that were IP packets we decode. */
  decoded: number;
  /** Why the rest were not, by DecodeResult. */
  undecoded: number[];
  /** Packets to or from a monitored server. */
  matched: number;
  /** TCP segments with nothing new (retransmissions, pure ACKs). */
  duplicates: number;
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
  readonly table: ConnectionTable;
  readonly pairer: Pairer;
  readonly counters: PipelineCounters = { records: 0, decoded: 0, undecoded: [0, 0, 0, 0, 0, 0], matched: 0, duplicates: 0 };
  private readonly wantTcp: boolean;
  private readonly wantUdp: boolean;
  private lastSec = 0;
  private lastNsec = 0;

  constructor(
    config: Config,
    private readonly outputs: Output[],
    private readonly parserFactory: ParserFactory | null,
    private readonly raw: RawPacketOutput | null,
  ) {
    this.wantTcp = config.transport !== 'udp';
    this.wantUdp = config.transport !== 'tcp';
    this.pairer = new Pairer(config.mode, new Fanout(outputs), config.timeoutSec);
    this.table = new ConnectionTable(
      {
        ports: config.ports,
        servers: config.servers,
        maxConnections: config.maxConnections,
        idleSeconds: Math.max(config.timeoutSec * 2, 60),
      },
      (conn) => this.pairer.forget(conn, this.lastSec, this.lastNsec),
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
      const res = decodePacket(buf, data, capLen, linkType, p);
      if (res !== DecodeResult.Ok) {
        c.undecoded[res]++;
        continue;
      }
      c.decoded++;
      if (p.tsSec !== this.lastSec) this.tick(p.tsSec);
      this.lastSec = p.tsSec;
      this.lastNsec = p.tsNsec;
      if (p.proto === IpProto.Tcp ? !this.wantTcp : !this.wantUdp) continue;
      const conn = this.table.lookup(p);
      if (conn === null) continue;
      c.matched++;
      const fromClient = this.table.fromClient;
      if (this.raw !== null) this.raw.packet(p, buf, fromClient);
      if (this.parserFactory !== null) {
        if (p.proto === IpProto.Tcp) this.tcpSegment(conn, fromClient, buf);
        else this.udpDatagram(conn, fromClient, buf);
      }
    }
    for (let i = 0; i < this.outputs.length; i++) this.outputs[i].flush();
    if (this.raw !== null) this.raw.flush();
  };

  /** One UDP datagram is one message: each is fed whole to a fresh parser state. */
  private udpDatagram(conn: Connection, fromClient: boolean, buf: Buffer): void {
    const p = this.pkt;
    let parser = fromClient ? conn.requestParser : conn.responseParser;
    if (parser === null) {
      parser = this.parserFactory!(conn, fromClient, this.pairer);
      if (fromClient) conn.requestParser = parser;
      else conn.responseParser = parser;
    } else {
      parser.reset();
    }
    if (p.payloadCap > 0) parser.feed(buf, p.payloadOff, p.payloadOff + p.payloadCap, p.tsSec, p.tsNsec);
    if (p.payloadLen > p.payloadCap) parser.skip(p.payloadLen - p.payloadCap, p.tsSec, p.tsNsec);
  }

  private tcpSegment(conn: Connection, fromClient: boolean, buf: Buffer): void {
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
        conn.clientClosed = conn.serverClosed = false;
      }
      return;
    }
    if ((flags & TcpFlag.Rst) !== 0) {
      this.table.remove(conn);
      return;
    }
    const fin = (flags & TcpFlag.Fin) !== 0;
    const verdict = stream.accept(p.seq, p.payloadLen, fin);
    if (verdict === SegmentVerdict.Duplicate) {
      this.counters.duplicates++;
    } else {
      const factory = this.parserFactory!;
      let parser = fromClient ? conn.requestParser : conn.responseParser;
      if (parser === null) {
        parser = factory(conn, fromClient, this.pairer);
        if (fromClient) conn.requestParser = parser;
        else conn.responseParser = parser;
      }
      if (verdict === SegmentVerdict.Gap) {
        parser.reset();
        this.pairer.reset(conn, fromClient, ResetReason.Gap);
      }
      const skip = stream.skip;
      const capEnd = p.payloadOff + p.payloadCap;
      const start = p.payloadOff + skip;
      if (start < capEnd) parser.feed(buf, start, capEnd, p.tsSec, p.tsNsec);
      // Bytes snaplen cut off: a parser that knows the message length steps over them.
      const missing = p.payloadLen - (skip > p.payloadCap ? skip : p.payloadCap);
      if (missing > 0) parser.skip(missing, p.tsSec, p.tsNsec);
    }
    if (fin) {
      const parser = fromClient ? conn.requestParser : conn.responseParser;
      if (parser !== null && parser.end !== undefined) parser.end(p.tsSec, p.tsNsec);
      if (fromClient) conn.clientClosed = true;
      else conn.serverClosed = true;
      if (conn.clientClosed && conn.serverClosed) this.table.remove(conn);
    }
  }

  /** Once per second of capture time: expire idle connections and overdue requests. */
  private tick(nowSec: number): void {
    this.table.sweep(nowSec);
    for (const conn of this.table.all()) {
      if (conn.pending.count > 0) this.pairer.expire(conn, nowSec, 0);
    }
  }

  /** The input ended: requests still waiting are reported, outputs flushed. */
  finish(): void {
    for (const conn of this.table.all()) this.pairer.drain(conn, this.lastSec, this.lastNsec);
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

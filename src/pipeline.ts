// The flow of a packet: engine batch -> decode -> connections -> protocol ->
// pairing -> outputs. One Pipeline per run; it owns the per-packet hot path.
import { LinkType, RECORD_HDR_LEN, RecordField, nextRecord } from './engine/record';
import { RING_DISCARD, RING_HDR_LEN, nextRingRecord } from './engine/ring';
import { DECODE_RESULTS, DecodeResult, IpProto, Packet, TcpFlag, decodePacket } from './decode/packet';
import { SAMPLE_HDR_LEN, SampleField, SampleInfo, sampleAddresses } from './decode/sample';
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
  /** Matched TCP segments that carried no payload (handshake, ACK, FIN, RST), when a parser runs. */
  withoutPayload: number;
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
    records: 0, decoded: 0, undecoded: new Array<number>(DECODE_RESULTS).fill(0), matched: 0,
    requestPackets: 0, responsePackets: 0, requestBytes: 0, responseBytes: 0, duplicates: 0, withoutPayload: 0, heldBack: 0, reordered: 0,
  };
  private readonly wantTcp: boolean;
  private readonly wantUdp: boolean;
  private lastSec = 0;
  /** The second tick() last ran for. */
  private tickedSec = 0;
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
    const portProtocols = new Map<number, string>();
    config.portModes.forEach((m, i) => portProtocols.set(config.ports[i], m));
    this.pairer = new Pairer(config.mode, new Fanout(outputs), config.timeoutSec, portProtocols, config.redact);
    this.table = new ConnectionTable(
      {
        ports: config.ports,
        servers: config.servers,
        maxConnections: config.maxConnections,
        idleSeconds: Math.max(config.timeoutSec * 2, 60),
      },
      (conn) => this.dropConnection(conn),
      newPairedConnection,
    );
  }

  /** The last batch buffer seen, and its record headers as 32-bit words (null if unaligned). */
  private wordsOf: Buffer | null = null;
  private words: Uint32Array | null = null;

  /**
   * The engine's batch callback. The loops over a batch (and over a drain,
   * below) are methods of their own that return right after the loop: V8
   * optimizes such a loop by on-stack replacement in its first long call,
   * before the code after the loop has ever run, and in node 20 the cached
   * OSR code then deoptimizes at that code on every later call (109 times in
   * a -r run with a Lua script, once a batch). A loop that only returns
   * leaves nothing there to deoptimize.
   */
  readonly onBatch = (buf: Buffer, used: number): void => {
    this.batchRecords(buf, used);
    this.flushOutputs();
  };

  private flushOutputs(): void {
    for (let i = 0; i < this.outputs.length; i++) this.outputs[i].flush();
    if (this.raw !== null) this.raw.flush();
  }

  private batchRecords(buf: Buffer, used: number): void {
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
      this.advance(p.tsSec);
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
      this.matched(conn, pbuf);
    }
  }

  /** The last ring buffer seen, as 32-bit words. */
  private ringOf: Buffer | null = null;
  private ringWords: Uint32Array = new Uint32Array(0);

  /**
   * The eBPF engine's hand-over (engine/engine.ts SampleHandler): ring
   * records data[start, end), each an eBPF sample (decode/sample.ts). The
   * kernel has parsed the headers: a payload sample needs no decoding, and
   * its flow id finds the connection by index. Full samples (raw mode, Lua,
   * -w) carry the IP packet and take the record path's decoding.
   */
  readonly onSamples = (data: Buffer, start: number, end: number, offSec: number, offNsec: number): void => {
    this.drainSamples(data, start, end, offSec, offNsec);
    // Once a drain, not per packet: a drain covers at most a tenth of a
    // second (the engine's DRAIN_MS), and the timeouts and idle expiry tick()
    // checks are counted in seconds. Packets of a new second in this drain
    // were paired before it ticks (an answer that came in time is not
    // expired first). Called here, not after drainSamples' loop: nothing may
    // follow that loop (see onBatch). With the call after it, --trace-deopt
    // showed the loop's OSR code thrown away at the loop's end on every drain
    // for the first 4 s of a capture (40 deopts).
    this.advance(this.lastSec);
    this.flushOutputs();
  };

  private drainSamples(data: Buffer, start: number, end: number, offSec: number, offNsec: number): void {
    const p = this.pkt;
    const c = this.counters;
    const table = this.table;
    if (data !== this.ringOf) {
      this.ringOf = data;
      this.ringWords = new Uint32Array(data.buffer, data.byteOffset, data.length >> 2);
    }
    const w = this.ringWords;
    for (let off = start; off < end; ) {
      const lenWord = w[off >> 2];
      const s = off + RING_HDR_LEN;
      off = nextRingRecord(off, lenWord);
      if ((lenWord & RING_DISCARD) !== 0) continue;
      const sw = s >> 2;
      c.records++;
      // The carry without a branch: a branch first taken seconds into a
      // capture has no type feedback, and V8 throws the loop's optimized
      // code away when it is (seen with --trace-deopt).
      const carry = w[sw + 1] + offNsec >= 1e9 ? 1 : 0;
      const sec = w[sw] + offSec + carry;
      const nsec = w[sw + 1] + offNsec - carry * 1e9;
      p.tsSec = sec;
      p.tsNsec = nsec;
      this.lastSec = sec;
      this.lastNsec = nsec;
      const info = data[s + SampleField.Info];
      const capLen = w[sw + (SampleField.CapLen >> 2)];
      let conn;
      if ((info & SampleInfo.Full) !== 0) {
        const res = decodePacket(data, s + SAMPLE_HDR_LEN, capLen, LinkType.Raw, p);
        if (res !== DecodeResult.Ok) {
          // The kernel sends no later fragments: a first one cannot complete.
          c.undecoded[res]++;
          continue;
        }
        c.decoded++;
        conn = table.lookup(p);
      } else {
        p.proto = data[s + SampleField.Proto];
        p.flags = data[s + SampleField.TcpFlags];
        p.seq = w[sw + (SampleField.Seq >> 2)];
        p.ack = w[sw + (SampleField.Ack >> 2)];
        p.payloadLen = w[sw + (SampleField.PayloadLen >> 2)];
        p.payloadCap = capLen;
        p.payloadOff = s + SAMPLE_HDR_LEN;
        c.decoded++;
        const flowId = w[sw + (SampleField.FlowId >> 2)];
        const srcLow = (info & SampleInfo.SrcLow) !== 0;
        conn = flowId === 0 ? null : table.flow(flowId, srcLow, sec, p.payloadLen);
        if (conn === null) {
          // A flow met for the first time (or the kernel's map forgot it): by its 5-tuple.
          sampleAddresses(data, s, p);
          conn = table.lookup(p);
          if (conn !== null && flowId !== 0) table.bindFlow(conn, flowId, srcLow);
        }
      }
      if (conn === null) continue;
      this.matched(conn, data);
    }
  }

  /** A packet `p` (payload in `pbuf`) of a watched connection; the table's fromClient says its direction. */
  private matched(conn: PairedConnection, pbuf: Buffer): void {
    const p = this.pkt;
    const c = this.counters;
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
    if (p.payloadLen === 0) this.counters.withoutPayload++;
    const stream = fromClient ? conn.toServer : conn.toClient;
    if ((flags & TcpFlag.Syn) !== 0) {
      // The same initial sequence number again: a retransmitted SYN (or
      // SYN-ACK), not a new connection; the stream and its parser go on.
      if (stream.isn === p.seq) {
        this.counters.duplicates++;
        return;
      }
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
      // Acknowledged bytes after everything the other side sent that was seen: its tail was lost.
      if (other.synced && seqAfter(p.ack, other.nextSeq)) this.tailLost(conn, !fromClient, other, p.ack);
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
    // Counted without a branch: the first retransmission would otherwise
    // send the optimized per-packet path back to the interpreter, to be
    // compiled again (cli/v8-flags.ts says what that cost).
    this.counters.duplicates += verdict === SegmentVerdict.Duplicate ? 1 : 0;
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
    if (parser !== null) {
      // The message the hole cut still counts, from what arrived of it.
      parser.flushPartial();
      parser.reset();
    }
    this.pairer.reset(conn, fromClient, ResetReason.Gap);
    return this.deliverHeld(conn, fromClient, stream);
  }

  /**
   * The peer acknowledged bytes this direction sent that the capture never
   * saw, and nothing after them arrived (yet): a gap at the stream's end,
   * counted. The message it cut is reported from what arrived of it (a
   * request then pairs with the answer that follows), and the stream resumes
   * at `ack`.
   */
  private tailLost(conn: PairedConnection, fromClient: boolean, stream: TcpStream, ack: number): void {
    stream.skipTo(ack);
    const parser = fromClient ? conn.requestParser : conn.responseParser;
    if (parser !== null) {
      parser.flushPartial();
      parser.reset();
    }
    this.pairer.reset(conn, fromClient, ResetReason.Gap);
  }

  /** Messages whose end will not come now are reported from what arrived: the request first, then its answer. */
  private flushPartials(conn: PairedConnection): void {
    conn.requestParser?.flushPartial();
    conn.responseParser?.flushPartial();
  }

  /**
   * The table let a connection go (closed, reset, expired, evicted): an
   * answer that began is reported. A request the client never finished
   * sending is not: no server will answer it (it answers one it started
   * answering, through pairing's flush of the request).
   */
  private dropConnection(conn: PairedConnection): void {
    conn.responseParser?.flushPartial();
    this.pairer.forget(conn, this.lastSec, this.lastNsec);
  }

  /**
   * Capture time reached second `sec` (a packet's, or the clock's): once per
   * second, the table and the requests waiting are checked for expiry.
   */
  private advance(sec: number): void {
    if (sec === this.tickedSec) return;
    this.tickedSec = sec;
    this.tick(sec);
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
      this.flushPartials(conn);
      this.pairer.stop(conn, this.lastSec, this.lastNsec);
    }
    this.flushOutputs();
  }

  /**
   * Nothing the clock could expire: no connection (so no request waiting)
   * and no datagram waiting for fragments. Until packets come again, a live
   * capture needs no clock.
   */
  get quiet(): boolean {
    return this.table.connections === 0 && this.fragments.waiting === 0;
  }

  /**
   * Live capture: the wall clock moved on (called once a second while tcpkit's
   * clock runs, that is, unless quiet). When no packet arrives, requests
   * still time out and idle connections still go.
   */
  clock(nowSec: number): void {
    if (nowSec <= this.lastSec) return;
    this.advance(nowSec);
    this.lastSec = nowSec;
    this.lastNsec = 0;
    this.flushOutputs();
  }
}

/** Where counters come from that the pipeline and engine do not know. */
export interface ExtraCounters {
  /** The Lua output's error count, when -S runs a script. */
  luaErrors?: () => number;
}

/** Requests waiting for an answer right now, on every connection. */
function waitingRequests(pipeline: Pipeline): number {
  let n = 0;
  for (const conn of pipeline.table.all()) n += conn.pending.count;
  return n;
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
    connectionsEncrypted: pc.encrypted,
    requestsDropped: pc.overflow,
    answeredIncomplete: pc.incomplete,
    requestsWaiting: waitingRequests(pipeline),
    luaErrors: extra.luaErrors?.() ?? 0,
  };
}

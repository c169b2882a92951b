// connections/: which connection a packet belongs to, its direction, and each
// direction's byte stream in order. Imports decode and config; the later stages
// attach their state through connection.ts's two interfaces.
//
// The connection table: finds a packet's connection and its direction.
//
// Lookups hash the 5-tuple's numbers (no string keys per packet) into a Map of
// numbers; colliding connections chain through `nextInBucket`.
//
// The table is bounded, and what it gives up is counted:
// - idle connections expire (idleSeconds of capture time);
// - connections that have carried no payload yet (a SYN, a bare handshake)
//   are few at a time: past maxWithoutData the oldest of them is evicted, and
//   they are the first to go when the table is full. A SYN flood, with or
//   without the server's SYN-ACKs, costs at most maxWithoutData entries
//   (about half a kilobyte each) however long it lasts. Evicting one loses
//   nothing a line needs: no request can be waiting on it, and when it does
//   carry data later, its first segment opens it again (a connection may
//   begin mid-stream); only the initial sequence number is forgotten.
// - only when every entry has carried data and none is idle enough to expire
//   are new connections refused.
import { IpProto, TcpFlag, type Packet } from '../decode/packet';
import type { Connection } from './connection';
import type { Endpoint } from '../config';


export interface TableOptions {
  /** Monitored ports. */
  ports: readonly number[];
  /** Server addresses (-s); empty means any address on a monitored port. */
  servers: readonly Endpoint[];
  /** Most connections held at once. */
  maxConnections: number;
  /** Seconds without a packet before a connection is forgotten. */
  idleSeconds: number;
  /** Most connections without payload held at once (default: DEFAULT_MAX_WITHOUT_DATA, at most maxConnections). */
  maxWithoutData?: number;
}

/**
 * Connections that have carried no payload, at most: 65,536 entries, ~32 MB.
 * Under a flood of a million SYNs a second a real client has 65 ms between its
 * SYN and its first request before its entry is taken back; if it is later,
 * the request opens the connection again.
 */
export const DEFAULT_MAX_WITHOUT_DATA = 65_536;

/**
 * Flows the eBPF program has named, by id (engine/ring.ts, decode/sample.ts):
 * slot = id mod FLOW_SLOTS. Ids are never reused, so a slot whose connection
 * has another id is a miss, and the 5-tuple lookup answers instead.
 */
export const FLOW_SLOTS = 65_536;
const FLOW_MASK = FLOW_SLOTS - 1;

/** Refused connections remembered, so that each is counted once: 64 Ki hashes. */
const MAX_REFUSED_REMEMBERED = 65_536;

export interface TableCounters {
  /** Connections met again under a new eBPF flow id: the kernel's flow map forgot them (it was full). */
  flowsRenamed: number;
  opened: number;
  closed: number;
  expired: number;
  /** Connections without payload evicted to make room. */
  evicted: number;
  refused: number;
  /** Packets to or from a watched server that belong to no tracked connection: a lone ACK, FIN or RST (the end of one already closed), or a refused connection's. */
  strayPackets: number;
}

/** Called for each connection leaving the table, so pairing can settle what it waits for. */
export type EvictHandler<C extends Connection = Connection> = (conn: C, reason: 'closed' | 'expired' | 'evicted') => void;

function mix(h: number, v: number): number {
  h = Math.imul(h ^ v, 0x9e3779b1);
  return (h << 13) | (h >>> 19);
}

export class ConnectionTable<C extends Connection = Connection> {
  private readonly buckets = new Map<number, C>();
  private readonly monitored = new Uint8Array(65536);
  private readonly servers: readonly Endpoint[];
  private readonly opts: TableOptions;
  private size = 0;
  private lastSweep = 0;
  /** Capture second of the last sweep forced by a full table: at most one a second. */
  private lastForcedSweep = -1;
  private readonly maxWithoutData: number;
  /** Connections without payload, oldest first (linked through olderWithoutData/newerWithoutData). */
  private oldestWithoutData: C | null = null;
  private newestWithoutData: C | null = null;
  private countWithoutData = 0;
  /**
   * Hashes of the connections refused since the set was last emptied: a
   * refused connection is counted once, not once per packet. Bounded; only
   * the refusal path (a full table) touches it.
   */
  private readonly refusedHashes = new Set<number>();
  /** An evicted connection object, ready for the next new connection (see evict()). */
  private spare: C | null = null;
  readonly counters: TableCounters = { flowsRenamed: 0, opened: 0, closed: 0, expired: 0, evicted: 0, refused: 0, strayPackets: 0 };
  /** Connections by eBPF flow id slot; made on first use. */
  private byFlow: (C | null)[] | null = null;
  /** Set by lookup(): true when the packet goes from client to server. */
  fromClient = false;

  constructor(
    opts: TableOptions,
    private readonly onEvict: EvictHandler<C>,
    /** Makes an empty connection, with the later stages' state attached (pairing/connection.ts). */
    private readonly create: () => C,
  ) {
    this.opts = opts;
    this.maxWithoutData = Math.max(1, Math.min(opts.maxConnections, opts.maxWithoutData ?? DEFAULT_MAX_WITHOUT_DATA));
    for (const p of opts.ports) this.monitored[p] = 1;
    this.servers = opts.servers;
  }

  get connections(): number {
    return this.size;
  }

  /** Connections that have carried no payload yet. */
  get connectionsWithoutData(): number {
    return this.countWithoutData;
  }

  private isServer(family: number, a: number, b: number, c: number, d: number): boolean {
    const list = this.servers;
    if (list.length === 0) return true;
    for (let i = 0; i < list.length; i++) {
      const s = list[i];
      const w = s.words;
      if (s.family === family && w[3] === d && w[2] === c && w[1] === b && w[0] === a) return true;
    }
    return false;
  }

  /**
   * The packet's connection, created if it starts one, or null if the packet
   * is not to a monitored server. Sets `fromClient`.
   */
  lookup(p: Packet): C | null {
    const dstIsServer = this.monitored[p.dport] === 1 && this.isServer(p.family, p.d0, p.d1, p.d2, p.d3);
    const srcIsServer = this.monitored[p.sport] === 1 && this.isServer(p.family, p.s0, p.s1, p.s2, p.s3);
    if (dstIsServer && !srcIsServer) return this.find(p, true);
    if (srcIsServer && !dstIsServer) return this.find(p, false);
    if (!dstIsServer) return null;
    // Both ends look like servers (two monitored ports talking): keep an
    // existing orientation, else trust the handshake, else the lower port.
    const existing = this.find(p, true, false) ?? this.find(p, false, false);
    if (existing !== null) return existing;
    const syn = (p.flags & (TcpFlag.Syn | TcpFlag.Ack)) === TcpFlag.Syn;
    const synAck = (p.flags & (TcpFlag.Syn | TcpFlag.Ack)) === (TcpFlag.Syn | TcpFlag.Ack);
    const toServer = syn ? true : synAck ? false : p.dport <= p.sport;
    return this.find(p, toServer);
  }

  /**
   * The connection the eBPF program calls `flowId` (not 0), if the table knows
   * it under that id: an array index and one comparison instead of hashing
   * the 5-tuple. Sets `fromClient` from which end sent the packet. Null: ask
   * lookup() with the packet's addresses, then bindFlow().
   */
  flow(flowId: number, srcLow: boolean, tsSec: number, payloadLen: number): C | null {
    const byFlow = this.byFlow;
    if (byFlow === null) return null;
    const c = byFlow[flowId & FLOW_MASK];
    if (c === null || c.flowId !== flowId) return null;
    this.fromClient = srcLow === c.lowIsClient;
    c.lastSeen = tsSec;
    if (c.withoutData && payloadLen > 0) this.unlistWithoutData(c);
    return c;
  }

  /** After lookup() found `c` for a packet of flow `flowId`: later packets of the flow find it by id. */
  bindFlow(c: C, flowId: number, srcLow: boolean): void {
    if (this.byFlow === null) this.byFlow = new Array<C | null>(FLOW_SLOTS).fill(null);
    if (c.flowId !== 0 && c.flowId !== flowId) this.counters.flowsRenamed++;
    c.flowId = flowId;
    c.lowIsClient = srcLow === this.fromClient;
    this.byFlow[flowId & FLOW_MASK] = c;
  }

  private find(p: Packet, toServer: boolean, open = true): C | null {
    let c0, c1, c2, c3, cport, s0, s1, s2, s3, sport;
    if (toServer) {
      c0 = p.s0; c1 = p.s1; c2 = p.s2; c3 = p.s3; cport = p.sport;
      s0 = p.d0; s1 = p.d1; s2 = p.d2; s3 = p.d3; sport = p.dport;
    } else {
      c0 = p.d0; c1 = p.d1; c2 = p.d2; c3 = p.d3; cport = p.dport;
      s0 = p.s0; s1 = p.s1; s2 = p.s2; s3 = p.s3; sport = p.sport;
    }
    let h = mix(p.proto, (cport << 16) | sport);
    h = mix(h, c3);
    h = mix(h, s3);
    if (p.family === 6) {
      h = mix(mix(mix(h, c0), c1), c2);
      h = mix(mix(mix(h, s0), s1), s2);
    }
    h |= 0;
    const head = this.buckets.get(h);
    for (let c = head ?? null; c !== null; c = c.nextInBucket) {
      if (
        c.cport === cport && c.sport === sport && c.c3 === c3 && c.s3 === s3 &&
        c.c2 === c2 && c.s2 === s2 && c.c1 === c1 && c.s1 === s1 && c.c0 === c0 && c.s0 === s0 &&
        c.proto === p.proto && c.family === p.family
      ) {
        this.fromClient = toServer;
        c.lastSeen = p.tsSec;
        if (c.withoutData && p.payloadLen > 0) this.unlistWithoutData(c);
        return c;
      }
    }
    if (!open) return null;
    // A TCP connection begins with a SYN, or with data when the capture joined
    // it midway; a lone ACK, FIN or RST (often the last of a closed one) does not.
    if (p.proto === IpProto.Tcp && (p.flags & TcpFlag.Syn) === 0 && (p.payloadLen === 0 || (p.flags & TcpFlag.Rst) !== 0)) {
      this.counters.strayPackets++;
      return null;
    }
    // Another connection without payload, with as many as allowed: the oldest goes.
    if (p.payloadLen === 0 && this.countWithoutData >= this.maxWithoutData) this.evict(this.oldestWithoutData!);
    if (this.size >= this.opts.maxConnections) {
      if (this.oldestWithoutData !== null) this.evict(this.oldestWithoutData);
      else this.sweep(p.tsSec, true);
      if (this.size >= this.opts.maxConnections) {
        // 53 bits of two hashes: distinct connections practically never share one.
        let h2 = mix(mix(0x5bd1e995, c3 ^ (sport << 16)), s3 ^ cport);
        if (p.family === 6) h2 = mix(mix(mix(h2, c0 ^ s2), c1 ^ s1), c2 ^ s0);
        const key = (h >>> 0) * 0x200000 + (h2 & 0x1fffff);
        if (!this.refusedHashes.has(key)) {
          if (this.refusedHashes.size >= MAX_REFUSED_REMEMBERED) this.refusedHashes.clear();
          this.refusedHashes.add(key);
          this.counters.refused++;
        }
        this.counters.strayPackets++;
        return null;
      }
    }
    let c = this.spare;
    if (c !== null) {
      this.spare = null;
      c.reset();
    } else {
      c = this.create();
    }
    c.family = p.family;
    c.proto = p.proto;
    c.c0 = c0; c.c1 = c1; c.c2 = c2; c.c3 = c3; c.cport = cport;
    c.s0 = s0; c.s1 = s1; c.s2 = s2; c.s3 = s3; c.sport = sport;
    c.hash = h;
    c.lastSeen = p.tsSec;
    c.nextInBucket = head ?? null;
    this.buckets.set(h, c);
    this.size++;
    this.counters.opened++;
    this.fromClient = toServer;
    if (p.payloadLen === 0) this.listWithoutData(c);
    return c;
  }

  private listWithoutData(c: C): void {
    c.withoutData = true;
    c.olderWithoutData = this.newestWithoutData;
    c.newerWithoutData = null;
    if (this.newestWithoutData !== null) this.newestWithoutData.newerWithoutData = c;
    else this.oldestWithoutData = c;
    this.newestWithoutData = c;
    this.countWithoutData++;
  }

  private unlistWithoutData(c: C): void {
    const older = c.olderWithoutData;
    const newer = c.newerWithoutData;
    if (older !== null) older.newerWithoutData = newer;
    else this.oldestWithoutData = newer;
    if (newer !== null) newer.olderWithoutData = older;
    else this.newestWithoutData = older;
    c.olderWithoutData = c.newerWithoutData = null;
    c.withoutData = false;
    this.countWithoutData--;
  }

  /** Takes a connection out of its bucket; false if it was not in the table. */
  private unlink(conn: C): boolean {
    const head = this.buckets.get(conn.hash);
    if (head === undefined) return false;
    if (head === conn) {
      if (conn.nextInBucket === null) this.buckets.delete(conn.hash);
      else this.buckets.set(conn.hash, conn.nextInBucket);
    } else {
      let prev = head;
      while (prev.nextInBucket !== null && prev.nextInBucket !== conn) prev = prev.nextInBucket;
      if (prev.nextInBucket !== conn) return false;
      prev.nextInBucket = conn.nextInBucket;
    }
    conn.nextInBucket = null;
    conn.flowId = 0; // a slot still pointing here no longer matches
    if (conn.withoutData) this.unlistWithoutData(conn);
    this.size--;
    return true;
  }

  /**
   * Makes room by dropping a connection that carried no payload (see the top
   * of this file). Its object is kept for the next new connection: under a
   * flood, one object goes round instead of one of garbage per SYN.
   */
  private evict(conn: C): void {
    if (!this.unlink(conn)) return;
    this.counters.evicted++;
    this.onEvict(conn, 'evicted');
    if (conn.reusable) this.spare = conn;
  }

  /** Removes a connection whose both sides closed (or that was reset). */
  remove(conn: C): void {
    if (!this.unlink(conn)) return;
    this.counters.closed++;
    this.onEvict(conn, 'closed');
  }

  /**
   * Forgets connections idle for idleSeconds (capture time), never sooner:
   * the documented limit holds even when the table is full. Runs at most
   * once a second of capture time unless `force` (the table is full). A forced
   * sweep also runs at most once a second: when it frees nothing, every new
   * connection in that second is refused rather than paying for another walk
   * over the whole table.
   */
  sweep(nowSec: number, force = false): void {
    if (force) {
      if (nowSec === this.lastForcedSweep) return;
      this.lastForcedSweep = nowSec;
    } else if (nowSec - this.lastSweep < 1) {
      return;
    }
    this.lastSweep = nowSec;
    const idle = this.opts.idleSeconds;
    {
      const limit = nowSec - idle;
      for (const [h, head] of this.buckets) {
        let keep: C | null = null;
        let tail: C | null = null;
        for (let c: C | null = head; c !== null; ) {
          const next: C | null = c.nextInBucket;
          if (c.lastSeen < limit) {
            c.nextInBucket = null;
            c.flowId = 0;
            if (c.withoutData) this.unlistWithoutData(c);
            this.size--;
            this.counters.expired++;
            this.onEvict(c, 'expired');
          } else {
            if (tail === null) keep = c;
            else tail.nextInBucket = c;
            tail = c;
            c.nextInBucket = null;
          }
          c = next;
        }
        if (keep === null) this.buckets.delete(h);
        else if (keep !== head) this.buckets.set(h, keep);
      }
    }
  }

  /** Every connection, for the end of the input. */
  *all(): IterableIterator<C> {
    for (const head of this.buckets.values()) {
      for (let c: C | null = head; c !== null; c = c.nextInBucket) yield c;
    }
  }
}

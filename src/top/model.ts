// What --top shows, computed once a tick (a second) from the statistics that
// the run keeps anyway (stats/): a row's figures over the last interval are
// the difference between its tallies and histogram now and at the last tick,
// and its figures since the start (or since `c`) are the tallies and
// histogram themselves. The view adds per transaction only what the
// statistics do not keep: the exact largest latency per row in the interval,
// the slowest requests themselves, and the clients. That is a compare or two
// and an array increment per transaction; nothing is allocated and no string
// is made per transaction (a kept slow request copies its text into a slot
// allocated once).
import Int32Histogram from 'hdr-histogram-js/dist/Int32Histogram';
import { TxStatus, type Transaction } from '../pairing/transaction';
import type { Output } from '../pairing/consumer';
import { OTHER } from '../stats/commands';
import type { Series, Stats } from '../stats/stats';
import type { RunCounters } from '../stats/counters';
import { formatIp } from '../connections/address';
import { PREVIEW_MAX } from '../protocol/message';

/** Points in a row's sparkline: a minute of one-second ticks. */
export const SPARK_POINTS = 60;
/** Slow requests kept: the most a screen shows. */
export const SLOW_KEEP = 32;
/** Without -t, the slowest list covers this many ticks (and so do the clients). */
export const WINDOW_TICKS = 10;
/** Distinct clients counted at once; the rest are summed as one. */
export const CLIENTS_MAX = 4096;
const CLIENT_SLOTS = 8192;

/** Counts and latencies of a row over some time; latencies in µs, -1 when nothing was answered. */
export interface Figures {
  requests: number;
  answered: number;
  errors: number;
  unanswered: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export interface RowSnapshot {
  /** `GET`, or `port 6379`. */
  name: string;
  kind: 'port' | 'command';
  interval: Figures;
  since: Figures;
  /** The interval's p99 at each of the last ticks, oldest first; -1 where nothing was answered. */
  spark: number[];
}

export interface SlowSnapshot {
  /** When the response began (or the request was given up on), ms since the epoch. */
  timeMs: number;
  client: string;
  server: string;
  /** µs; for an unanswered request, how long it was waited for. */
  latencyUs: number;
  noResponse: boolean;
  error: boolean;
  statusText: string;
  request: string;
}

export interface ClientSnapshot {
  client: string;
  requests: number;
  /** Sum of the answered requests' latencies, µs. */
  waitUs: number;
}

export interface TopSnapshot {
  /** When this tick was taken (the view's clock: wall, or capture time with -r), ms. */
  nowMs: number;
  /** Seconds the interval lasted; 0 when the clock did not move. */
  intervalSec: number;
  /** When the `since` figures start (the run's start, or the last `c`), ms. */
  sinceMs: number;
  /** The whole run (every port and command). */
  requestsInterval: number;
  requestsSince: number;
  packetsSeenInterval: number;
  packetsLostInterval: number;
  packetsSeen: number;
  packetsLost: number;
  connectionsOpen: number;
  rows: RowSnapshot[];
  /** With -t: the last requests at or above it, newest first; without: the slowest of the window, slowest first. */
  slow: SlowSnapshot[];
  /** Seconds the clients' and (without -t) the slowest list's window covers. */
  windowSec: number;
  /** Clients in the window, most requests first; `other clients` last when some were not counted apart. */
  clients: ClientSnapshot[];
}

function newHistogram(digits: number): Int32Histogram {
  const h = new Int32Histogram(1, 3_600_000_000, digits);
  h.autoResize = true;
  return h;
}

/** Counts of a series at some moment. */
class Counts {
  requests = 0;
  answered = 0;
  errors = 0;
  unanswered = 0;

  take(s: Series): void {
    this.requests = s.requests;
    this.answered = s.answered;
    this.errors = s.errors;
    this.unanswered = s.unanswered;
  }
}

/** The percentile of a histogram, never above the exact largest value (as stats' Series does). */
function percentile(h: Int32Histogram, p: number, maxUs: number): number {
  return Math.min(h.getValueAtPercentile(p), maxUs);
}

/** One row's state between ticks: the series at the last tick and at the last clear. */
class RowTrack {
  /** The largest latency in this interval, and since the start (or `c`), µs. */
  intervalMax = 0;
  sinceMax = 0;
  readonly prev = new Counts();
  private prevHist: Int32Histogram | null = null;
  private delta: Int32Histogram | null = null;
  /** After `c`: the series then; null while `since` is the whole run. */
  base: Counts | null = null;
  private baseHist: Int32Histogram | null = null;
  private sinceHist: Int32Histogram | null = null;
  readonly spark = new Float64Array(SPARK_POINTS).fill(-1);
  private sparkNext = 0;

  constructor(
    readonly name: string,
    readonly kind: 'port' | 'command',
    private readonly digits: number,
  ) {}

  /** Figures over the interval since the last tick; then the series becomes the new starting point. */
  interval(s: Series): Figures {
    const f: Figures = {
      requests: s.requests - this.prev.requests,
      answered: s.answered - this.prev.answered,
      errors: s.errors - this.prev.errors,
      unanswered: s.unanswered - this.prev.unanswered,
      p50: -1,
      p99: -1,
      p999: -1,
      max: -1,
    };
    if (f.answered > 0 && s.hist !== null) {
      const d = (this.delta ??= newHistogram(this.digits));
      d.reset();
      d.add(s.hist);
      if (this.prevHist !== null) d.subtract(this.prevHist);
      f.p50 = percentile(d, 50, this.intervalMax);
      f.p99 = percentile(d, 99, this.intervalMax);
      f.p999 = percentile(d, 99.9, this.intervalMax);
      f.max = this.intervalMax;
      const prev = (this.prevHist ??= newHistogram(this.digits));
      prev.reset();
      prev.add(s.hist);
    }
    this.prev.take(s);
    this.intervalMax = 0;
    this.spark[this.sparkNext] = f.p99;
    this.sparkNext = (this.sparkNext + 1) % SPARK_POINTS;
    return f;
  }

  /** Figures since the start, or since the last clear. */
  since(s: Series): Figures {
    const b = this.base;
    const f: Figures = {
      requests: s.requests - (b?.requests ?? 0),
      answered: s.answered - (b?.answered ?? 0),
      errors: s.errors - (b?.errors ?? 0),
      unanswered: s.unanswered - (b?.unanswered ?? 0),
      p50: -1,
      p99: -1,
      p999: -1,
      max: -1,
    };
    if (f.answered > 0 && s.hist !== null) {
      let h = s.hist;
      if (this.baseHist !== null) {
        h = this.sinceHist ??= newHistogram(this.digits);
        h.reset();
        h.add(s.hist);
        h.subtract(this.baseHist);
      }
      f.p50 = percentile(h, 50, this.sinceMax);
      f.p99 = percentile(h, 99, this.sinceMax);
      f.p999 = percentile(h, 99.9, this.sinceMax);
      f.max = this.sinceMax;
    }
    return f;
  }

  /** The sparkline, oldest first. */
  sparkline(): number[] {
    const out: number[] = [];
    for (let i = 0; i < SPARK_POINTS; i++) out.push(this.spark[(this.sparkNext + i) % SPARK_POINTS]);
    return out;
  }

  /** `c`: the figures since start over again from the series as it is now. */
  clear(s: Series | null): void {
    this.base = new Counts();
    this.baseHist = null;
    this.sinceMax = 0;
    this.spark.fill(-1);
    if (s === null) return;
    this.base.take(s);
    if (s.hist !== null && s.answered > 0) {
      this.baseHist = newHistogram(this.digits);
      this.baseHist.add(s.hist);
    }
  }
}

/** A slow request, copied out of the (reused) transaction into a slot of its own. */
class SlowSlot {
  sec = 0;
  nsec = 0;
  latencyNs = 0;
  noResponse = false;
  error = false;
  statusText = '';
  /** The connection's strings: formatted once per connection, so keeping them costs nothing. */
  client = '';
  server = '';
  readonly text = Buffer.allocUnsafe(PREVIEW_MAX);
  textLen = 0;
  cut = false;

  fill(tx: Transaction): void {
    this.sec = tx.rspSec;
    this.nsec = tx.rspNsec;
    this.latencyNs = tx.latencyNs;
    this.noResponse = tx.status === TxStatus.NoResponse;
    this.error = tx.status === TxStatus.Error;
    this.statusText = tx.statusText;
    this.client = tx.conn.client();
    this.server = tx.conn.server();
    const n = Math.min(tx.previewLen, PREVIEW_MAX);
    tx.preview.copy(this.text, 0, 0, n);
    this.textLen = n;
    this.cut = tx.previewLen >= tx.preview.length;
  }

  snapshot(): SlowSnapshot {
    const text = this.text.toString('utf8', 0, this.textLen);
    return {
      timeMs: this.sec * 1000 + Math.floor(this.nsec / 1e6),
      client: this.client,
      server: this.server,
      latencyUs: this.latencyNs / 1000,
      noResponse: this.noResponse,
      error: this.error,
      statusText: this.statusText,
      request: this.cut ? `${text}...` : text,
    };
  }
}

/** The N slowest transactions of one tick (without -t). */
class SlowBucket {
  readonly slots: SlowSlot[] = [];
  count = 0;
  /** The index of the fastest kept, once full: the one a slower request replaces. */
  private minAt = 0;

  constructor(size: number) {
    for (let i = 0; i < size; i++) this.slots.push(new SlowSlot());
  }

  offer(tx: Transaction): void {
    if (this.count < this.slots.length) {
      this.slots[this.count++].fill(tx);
      if (this.count === this.slots.length) this.findMin();
      return;
    }
    if (tx.latencyNs <= this.slots[this.minAt].latencyNs) return;
    this.slots[this.minAt].fill(tx);
    this.findMin();
  }

  private findMin(): void {
    let m = 0;
    for (let i = 1; i < this.slots.length; i++) if (this.slots[i].latencyNs < this.slots[m].latencyNs) m = i;
    this.minAt = m;
  }

  clear(): void {
    this.count = 0;
    this.minAt = 0;
  }
}

/**
 * Requests and waiting time per client address over the last WINDOW_TICKS
 * ticks: an open-addressing table keyed by the address's words (no strings
 * per transaction), a column of counts per tick. Clients that sent nothing
 * for a whole window are dropped at a tick; past CLIENTS_MAX at once, the
 * rest are counted together.
 */
export class ClientWindow {
  private readonly keys = new Int32Array(CLIENTS_MAX * 5);
  private readonly requests = new Float64Array(CLIENTS_MAX * WINDOW_TICKS);
  private readonly wait = new Float64Array(CLIENTS_MAX * WINDOW_TICKS);
  private readonly slot = new Int32Array(CLIENT_SLOTS);
  private size = 0;
  private readonly otherRequests = new Float64Array(WINDOW_TICKS);
  private readonly otherWait = new Float64Array(WINDOW_TICKS);
  private readonly seconds = new Float64Array(WINDOW_TICKS);
  /** The tick being counted. */
  private col = 0;
  /** The last connection counted and its entry: pipelined requests come in runs on one connection. */
  private lastConn: object | null = null;
  private lastEntry = -1;

  /** Counts a request from the client of `conn` (its address: family, a, b, c, d). */
  countConn(conn: object, family: number, a: number, b: number, c: number, d: number, waitUs: number): void {
    if (conn === this.lastConn) {
      const at = this.lastEntry * WINDOW_TICKS + this.col;
      this.requests[at]++;
      this.wait[at] += waitUs;
      return;
    }
    const e = this.count(family, a, b, c, d, waitUs);
    this.lastConn = e >= 0 ? conn : null;
    this.lastEntry = e;
  }

  /** Counts a request from this address; returns its entry, -1 when counted with the others. */
  count(family: number, a: number, b: number, c: number, d: number, waitUs: number): number {
    // The table holds the words as int32: an address word at or above 2^31 compares as stored.
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    let h = Math.imul(family ^ a, 0x9e3779b1);
    h = Math.imul(h ^ b, 0x85ebca6b);
    h = Math.imul(h ^ c, 0xc2b2ae35);
    h = Math.imul(h ^ d, 0x27d4eb2f);
    h ^= h >>> 15;
    const keys = this.keys;
    for (let s = h & (CLIENT_SLOTS - 1); ; s = (s + 1) & (CLIENT_SLOTS - 1)) {
      let e = this.slot[s] - 1;
      if (e >= 0) {
        const k = e * 5;
        if (keys[k] !== family || keys[k + 1] !== a || keys[k + 2] !== b || keys[k + 3] !== c || keys[k + 4] !== d) continue;
      } else {
        if (this.size === CLIENTS_MAX) {
          this.otherRequests[this.col]++;
          this.otherWait[this.col] += waitUs;
          return -1;
        }
        e = this.size++;
        // The columns may hold a client that was dropped or moved: start empty.
        this.requests.fill(0, e * WINDOW_TICKS, (e + 1) * WINDOW_TICKS);
        this.wait.fill(0, e * WINDOW_TICKS, (e + 1) * WINDOW_TICKS);
        const k = e * 5;
        keys[k] = family;
        keys[k + 1] = a;
        keys[k + 2] = b;
        keys[k + 3] = c;
        keys[k + 4] = d;
        this.slot[s] = e + 1;
      }
      const at = e * WINDOW_TICKS + this.col;
      this.requests[at]++;
      this.wait[at] += waitUs;
      return e;
    }
  }

  /**
   * The tick ends after `seconds`: the window's clients, most requests first
   * (at most `limit`, then `other clients` if any were counted together), and
   * the seconds the window covers. Then the next tick's column starts empty.
   */
  tick(seconds: number, limit: number): { clients: ClientSnapshot[]; windowSec: number } {
    this.seconds[this.col] = seconds;
    const sums: { e: number; requests: number; waitUs: number }[] = [];
    for (let e = 0; e < this.size; e++) {
      let r = 0;
      let w = 0;
      for (let t = 0; t < WINDOW_TICKS; t++) {
        r += this.requests[e * WINDOW_TICKS + t];
        w += this.wait[e * WINDOW_TICKS + t];
      }
      if (r > 0) sums.push({ e, requests: r, waitUs: w });
    }
    sums.sort((x, y) => y.requests - x.requests || y.waitUs - x.waitUs);
    // Both orders are shown: keep the top of each.
    const byWait = sums.slice().sort((x, y) => y.waitUs - x.waitUs || y.requests - x.requests).slice(0, limit);
    const keep = new Set([...sums.slice(0, limit), ...byWait]);
    const clients: ClientSnapshot[] = sums.filter((s) => keep.has(s)).map((s) => {
      const k = s.e * 5;
      const ks = this.keys;
      return { client: formatIp(ks[k], ks[k + 1], ks[k + 2], ks[k + 3], ks[k + 4]), requests: s.requests, waitUs: s.waitUs };
    });
    let otherR = 0;
    let otherW = 0;
    let windowSec = 0;
    for (let t = 0; t < WINDOW_TICKS; t++) {
      otherR += this.otherRequests[t];
      otherW += this.otherWait[t];
      windowSec += this.seconds[t];
    }
    if (otherR > 0) clients.push({ client: 'other clients', requests: otherR, waitUs: otherW });
    this.advance();
    return { clients, windowSec };
  }

  /** The next tick's column, emptied; clients with nothing left in the window go. */
  private advance(): void {
    // Entries move below: the cached one is looked up again.
    this.lastConn = null;
    this.col = (this.col + 1) % WINDOW_TICKS;
    const col = this.col;
    this.seconds[col] = 0;
    this.otherRequests[col] = 0;
    this.otherWait[col] = 0;
    let live = 0;
    for (let e = 0; e < this.size; e++) {
      this.requests[e * WINDOW_TICKS + col] = 0;
      this.wait[e * WINDOW_TICKS + col] = 0;
      let r = 0;
      for (let t = 0; t < WINDOW_TICKS; t++) r += this.requests[e * WINDOW_TICKS + t];
      if (r === 0) continue;
      if (live !== e) {
        this.keys.copyWithin(live * 5, e * 5, e * 5 + 5);
        this.requests.copyWithin(live * WINDOW_TICKS, e * WINDOW_TICKS, (e + 1) * WINDOW_TICKS);
        this.wait.copyWithin(live * WINDOW_TICKS, e * WINDOW_TICKS, (e + 1) * WINDOW_TICKS);
      }
      live++;
    }
    if (live !== this.size) {
      this.size = live;
      this.slot.fill(0);
      for (let e = 0; e < live; e++) this.reinsert(e);
    }
  }

  private reinsert(e: number): void {
    const k = e * 5;
    const ks = this.keys;
    let h = Math.imul(ks[k] ^ ks[k + 1], 0x9e3779b1);
    h = Math.imul(h ^ ks[k + 2], 0x85ebca6b);
    h = Math.imul(h ^ ks[k + 3], 0xc2b2ae35);
    h = Math.imul(h ^ ks[k + 4], 0x27d4eb2f);
    h ^= h >>> 15;
    let s = h & (CLIENT_SLOTS - 1);
    while (this.slot[s] !== 0) s = (s + 1) & (CLIENT_SLOTS - 1);
    this.slot[s] = e + 1;
  }

  clear(): void {
    this.lastConn = null;
    this.size = 0;
    this.slot.fill(0);
    this.requests.fill(0);
    this.wait.fill(0);
    this.otherRequests.fill(0);
    this.otherWait.fill(0);
    this.seconds.fill(0);
  }
}

/**
 * The view's figures: an Output beside the statistics (it must come after
 * them in the run's outputs, so that a transaction's command id is known),
 * and a tick once a second that turns both into a TopSnapshot.
 */
export class TopModel implements Output {
  private readonly commandTracks: (RowTrack | undefined)[] = [];
  private readonly portTracks: RowTrack[] = [];
  /** Index + 1 into portTracks, by port number. */
  private readonly portIndex = new Int32Array(65536);
  private readonly thresholdNs: number;
  /** With -t: the last slow requests, a ring. Without: the slowest per tick, WINDOW_TICKS of them. */
  private readonly recent: SlowSlot[] = [];
  private recentNext = 0;
  private recentCount = 0;
  private readonly buckets: SlowBucket[] = [];
  private bucket = 0;
  private readonly clientWindow = new ClientWindow();
  private lastTickMs: number;
  private sinceMs: number;
  private prevSeen = 0;
  private prevLost = 0;
  private prevRequests = 0;
  private baseSeen = 0;
  private baseLost = 0;
  /** The latest time a transaction or batch carried (capture time, for -r). */
  private dataSec = 0;
  private dataNsec = 0;
  snapshot: TopSnapshot;

  constructor(
    private readonly stats: Stats,
    private readonly counters: () => RunCounters,
    /** When the run started on the view's clock, ms: the wall clock live; 0 with -r (the first packet's time, when it comes). */
    readonly startMs: number,
  ) {
    this.thresholdNs = stats.thresholdMs * 1e6;
    if (this.thresholdNs > 0) for (let i = 0; i < SLOW_KEEP; i++) this.recent.push(new SlowSlot());
    else for (let i = 0; i < WINDOW_TICKS; i++) this.buckets.push(new SlowBucket(SLOW_KEEP));
    this.lastTickMs = startMs;
    this.sinceMs = startMs;
    this.snapshot = this.empty(startMs);
  }

  private empty(nowMs: number): TopSnapshot {
    return {
      nowMs, intervalSec: 0, sinceMs: this.sinceMs, requestsInterval: 0, requestsSince: 0,
      packetsSeenInterval: 0, packetsLostInterval: 0, packetsSeen: 0, packetsLost: 0, connectionsOpen: 0,
      rows: [], slow: [], windowSec: 0, clients: [],
    };
  }

  /** The capture reached this time (-r: the first record of a batch). */
  observe(sec: number, nsec: number): void {
    if (sec > this.dataSec || (sec === this.dataSec && nsec > this.dataNsec)) {
      // A run on the capture's clock (-r) starts its first interval at its first packet.
      if (this.dataSec === 0 && this.lastTickMs <= 0) this.lastTickMs = sec * 1000 + nsec / 1e6;
      this.dataSec = sec;
      this.dataNsec = nsec;
    }
  }

  /** The latest capture time seen, ms since the epoch; 0 before any. */
  get dataMs(): number {
    return this.dataSec * 1000 + this.dataNsec / 1e6;
  }

  transaction(tx: Transaction): void {
    // Only a run on the capture's clock (-r) reads it.
    if (this.startMs === 0 && tx.rspSec >= this.dataSec) this.observe(tx.rspSec, tx.rspNsec);
    const id = this.stats.commands.of(tx);
    const port = tx.conn.sport;
    let pi = this.portIndex[port] - 1;
    if (pi < 0) {
      pi = this.portTracks.length;
      this.portTracks.push(new RowTrack(`port ${port}`, 'port', 3));
      this.portIndex[port] = pi + 1;
    }
    let cmd = this.commandTracks[id];
    if (cmd === undefined) cmd = this.commandTracks[id] = new RowTrack(this.stats.commands.name(id), 'command', 2);
    let waitUs = 0;
    if (tx.status !== TxStatus.NoResponse) {
      // As stats/stats.ts measures it: the same µs, so that the largest agrees.
      const us = tx.latencyNs / 1000;
      waitUs = us;
      if (us > cmd.intervalMax) cmd.intervalMax = us;
      if (us > cmd.sinceMax) cmd.sinceMax = us;
      const pt = this.portTracks[pi];
      if (us > pt.intervalMax) pt.intervalMax = us;
      if (us > pt.sinceMax) pt.sinceMax = us;
    }
    const c = tx.conn;
    this.clientWindow.countConn(c, c.family, c.c0, c.c1, c.c2, c.c3, waitUs);
    if (this.thresholdNs > 0) {
      if (tx.latencyNs < this.thresholdNs) return;
      this.recent[this.recentNext].fill(tx);
      this.recentNext = (this.recentNext + 1) % SLOW_KEEP;
      if (this.recentCount < SLOW_KEEP) this.recentCount++;
    } else {
      this.buckets[this.bucket].offer(tx);
    }
  }

  flush(): void {}
  close(): void {}

  /**
   * The interval ends at `nowMs`: every figure is taken, and the next
   * interval begins. `limit`: the most slow requests and clients a screen
   * could show.
   */
  tick(nowMs: number, limit = SLOW_KEEP): TopSnapshot {
    const seconds = this.lastTickMs > 0 ? Math.max(0, (nowMs - this.lastTickMs) / 1000) : 0;
    if (nowMs > 0) this.lastTickMs = nowMs;
    const rows: RowSnapshot[] = [];
    const stats = this.stats;
    let requestsSince = 0;
    for (let i = 0; i < stats.ports.length; i++) {
      const p = stats.ports[i];
      const s = stats.port(p);
      let pi = this.portIndex[p.port] - 1;
      if (pi < 0) {
        pi = this.portTracks.length;
        this.portTracks.push(new RowTrack(`port ${p.port}`, 'port', 3));
        this.portIndex[p.port] = pi + 1;
      }
      const t = this.portTracks[pi];
      const interval = t.interval(s);
      const since = t.since(s);
      requestsSince += since.requests;
      if (stats.ports.length > 1) rows.push({ name: t.name, kind: 'port', interval, since, spark: t.sparkline() });
    }
    for (let id = 0; id <= OTHER; id++) {
      const t = this.commandTracks[id];
      if (t === undefined) continue;
      const s = stats.command(id);
      rows.push({ name: t.name, kind: 'command', interval: t.interval(s), since: t.since(s), spark: t.sparkline() });
    }
    const c = this.counters();
    const snap: TopSnapshot = {
      nowMs,
      intervalSec: seconds,
      sinceMs: this.sinceMs,
      requestsInterval: 0,
      requestsSince,
      packetsSeenInterval: c.packetsSeen - this.prevSeen,
      packetsLostInterval: c.packetsLost - this.prevLost,
      packetsSeen: c.packetsSeen - this.baseSeen,
      packetsLost: c.packetsLost - this.baseLost,
      connectionsOpen: c.connectionsOpen,
      rows,
      slow: this.slowList(limit),
      windowSec: 0,
      clients: [],
    };
    const total = this.totalRequests();
    snap.requestsInterval = total - this.prevRequests;
    this.prevRequests = total;
    this.prevSeen = c.packetsSeen;
    this.prevLost = c.packetsLost;
    const cw = this.clientWindow.tick(seconds, limit);
    snap.clients = cw.clients;
    snap.windowSec = cw.windowSec;
    if (this.thresholdNs === 0) {
      this.bucket = (this.bucket + 1) % WINDOW_TICKS;
      this.buckets[this.bucket].clear();
    }
    this.snapshot = snap;
    return snap;
  }

  private totalRequests(): number {
    let n = 0;
    for (const p of this.stats.ports) for (const t of p.commands) if (t !== undefined) n += t.requests;
    return n;
  }

  private slowList(limit: number): SlowSnapshot[] {
    const out: SlowSnapshot[] = [];
    if (this.thresholdNs > 0) {
      for (let i = 1; i <= this.recentCount && out.length < limit; i++) {
        out.push(this.recent[(this.recentNext - i + SLOW_KEEP) % SLOW_KEEP].snapshot());
      }
      return out;
    }
    const all: SlowSlot[] = [];
    for (const b of this.buckets) for (let i = 0; i < b.count; i++) all.push(b.slots[i]);
    all.sort((x, y) => y.latencyNs - x.latencyNs);
    for (const s of all.slice(0, limit)) out.push(s.snapshot());
    return out;
  }

  /**
   * `c`: the figures since the start begin again now, and the sparklines,
   * the slow requests and the clients start empty. The run's own statistics
   * (the summary, -P) are not touched.
   */
  clear(nowMs: number): void {
    const stats = this.stats;
    for (const p of stats.ports) {
      const pi = this.portIndex[p.port] - 1;
      if (pi >= 0) this.portTracks[pi].clear(stats.port(p));
    }
    for (let id = 0; id <= OTHER; id++) this.commandTracks[id]?.clear(stats.command(id));
    this.recentCount = 0;
    for (const b of this.buckets) b.clear();
    this.clientWindow.clear();
    const c = this.counters();
    this.baseSeen = c.packetsSeen;
    this.baseLost = c.packetsLost;
    this.sinceMs = nowMs;
    this.snapshot = { ...this.snapshot, sinceMs: nowMs, rows: [], slow: [], clients: [], requestsSince: 0, packetsSeen: 0, packetsLost: 0 };
  }
}


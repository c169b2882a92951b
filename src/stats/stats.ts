// stats/: what the run measured: histograms per port and command, the counters,
// the stats port (seed JSON, /stats, /metrics). Fed transactions like an
// output; read by output/summary.ts and the stats server.
//
// Latency statistics from every transaction: totals, per server port, per
// command (stats/commands.ts) and per port and command. What the exit
// summary prints, the stats port serves and Prometheus scrapes.
//
// Percentiles come from hdr-histogram-js histograms, kept for the totals, per
// port and per command. The original tool's 18 buckets are counted for every
// series, per port and command too: they are the seed JSON's `latencies` and
// the Prometheus histogram's buckets.
//
// The histogram class alone: the package's index also loads its WebAssembly
// build and codecs, which cost ~60 ms of startup. This is what hdr.build()
// returns for these options (32-bit counts, autoResize on).
import Int32Histogram from 'hdr-histogram-js/dist/Int32Histogram';
import { TxStatus, type Transaction } from '../pairing/transaction';
import { CommandTable, OTHER } from './commands';
import type { Output } from '../pairing/consumer';
import type { Mode } from '../config';

/** The original tool's latency buckets, upper bounds in microseconds (inclusive); an 18th bucket takes the rest. */
export const SEED_BUCKETS_US = [
  100, 200, 500, 1_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000, 3_000_000,
  5_000_000, 10_000_000, 20_000_000,
];
export const BUCKETS = SEED_BUCKETS_US.length + 1;
export const SEED_BUCKET_LABELS = [
  '<0.1ms', '0.1-0.2ms', '0.2-0.5ms', '0.5-1ms', '1-5ms', '5-10ms', '10-20ms', '20-50ms', '50-100ms', '100-200ms',
  '200-500ms', '0.5-1s', '1-2s', '2-3s', '3-5s', '5-10s', '10-20s', '>20s',
];

/** The seed bucket of a latency: the first whose upper bound it does not exceed, as the original and Prometheus's `le`. */
export function bucketOf(us: number): number {
  let i = 0;
  while (i < SEED_BUCKETS_US.length && us > SEED_BUCKETS_US[i]) i++;
  return i;
}

function newHistogram(significantDigits: number): Int32Histogram {
  const h = new Int32Histogram(1, 3_600_000_000 /* an hour, in microseconds */, significantDigits);
  h.autoResize = true;
  return h;
}

/**
 * An hdr histogram of whole microseconds, fed through an array: latencies
 * below `smallUs` are counted per value first (an array increment instead of
 * a histogram record, ~5 ns against ~120 ns measured) and added to the
 * histogram, one record per distinct value, when it is read. Counts do not
 * depend on the order values were recorded in, so the histogram read is the
 * one recording each value directly gives.
 */
export class LatencyHistogram {
  private readonly hist: Int32Histogram;
  private readonly small: Uint32Array;
  private pending = 0;

  constructor(significantDigits: number, smallUs: number) {
    this.hist = newHistogram(significantDigits);
    this.small = new Uint32Array(smallUs);
    // Runs record()'s branch for large values once, then forgets the value.
    // A branch that has never run leaves V8 no type feedback, so the
    // optimized per-transaction code (record() is inlined into the pairer's
    // message()) is thrown away and compiled again the first time a latency
    // above smallUs comes, seconds into a capture: a deopt and a 20-40 ms
    // recompile on the compiler thread. Having run, the branch is compiled in.
    this.record(smallUs);
    this.hist.reset();
  }

  /** Records `v` µs, a whole number >= 1. */
  record(v: number): void {
    if (v < this.small.length) {
      this.small[v]++;
      this.pending++;
    } else {
      this.hist.recordValue(v);
    }
  }

  /** Every value recorded so far. */
  get histogram(): Int32Histogram {
    if (this.pending > 0) {
      const small = this.small;
      for (let v = 0; v < small.length; v++) {
        if (small[v] !== 0) {
          this.hist.recordValueWithCount(v, small[v]);
          small[v] = 0;
        }
      }
      this.pending = 0;
    }
    return this.hist;
  }
}

/** Counts for one series: a command on a port (counted), or a port, a command, everything (summed when read). */
export class Tally {
  /** Requests seen: answered + unanswered + in flight + longPolls. */
  requests = 0;
  answered = 0;
  /** Answered with an error (Redis -ERR, HTTP 5xx, ...). */
  errors = 0;
  /** Given up on: no response within the timeout, or before the connection or capture ended. */
  unanswered = 0;
  /** Still waiting, for less than the timeout, when the capture stopped. */
  inFlight = 0;
  /**
   * Answered by a long poll (a Kafka Fetch the broker held to max_wait_ms
   * and answered empty): the client's idle wait, so not among the answered
   * requests' latencies, buckets or slow count.
   */
  longPolls = 0;
  /** Answered at or above the -t threshold. */
  slow = 0;
  /** Given up on (or in flight) after waiting at least the -t threshold: printed with the slow ones. */
  slowUnanswered = 0;
  requestBytes = 0;
  responseBytes = 0;
  /** Sum of the answered requests' latencies, µs. */
  totalUs = 0;
  /** The exact largest latency (the histograms keep 2 or 3 significant digits). */
  maxUs = 0;
  /** Answered requests per seed bucket. */
  readonly buckets = new Float64Array(BUCKETS);

  answer(error: boolean, us: number, bucket: number, slow: boolean, reqBytes: number, rspBytes: number): void {
    this.requests++;
    this.answered++;
    // Without branches: a branch first taken after V8 optimized its caller
    // (the first error, the first slow request) sends the whole inlined
    // per-transaction path back to the interpreter, to be compiled again.
    this.errors += error ? 1 : 0;
    this.slow += slow ? 1 : 0;
    this.requestBytes += reqBytes;
    this.responseBytes += rspBytes;
    this.totalUs += us;
    if (us > this.maxUs) this.maxUs = us;
    this.buckets[bucket]++;
  }

  longPoll(reqBytes: number, rspBytes: number): void {
    this.requests++;
    this.longPolls++;
    this.requestBytes += reqBytes;
    this.responseBytes += rspBytes;
  }

  giveUp(reqBytes: number, inFlight: boolean, slow: boolean): void {
    this.requests++;
    if (slow) this.slowUnanswered++;
    if (inFlight) this.inFlight++;
    else this.unanswered++;
    this.requestBytes += reqBytes;
  }

  /** Adds another tally's counts to this one's. */
  add(t: Tally): void {
    this.requests += t.requests;
    this.answered += t.answered;
    this.errors += t.errors;
    this.unanswered += t.unanswered;
    this.inFlight += t.inFlight;
    this.longPolls += t.longPolls;
    this.slow += t.slow;
    this.slowUnanswered += t.slowUnanswered;
    this.requestBytes += t.requestBytes;
    this.responseBytes += t.responseBytes;
    this.totalUs += t.totalUs;
    if (t.maxUs > this.maxUs) this.maxUs = t.maxUs;
    for (let i = 0; i < BUCKETS; i++) this.buckets[i] += t.buckets[i];
  }

  /** Mean latency, µs; 0 with no answers. */
  get averageUs(): number {
    return this.answered === 0 ? 0 : this.totalUs / this.answered;
  }
}

/** A tally with the histogram of its latencies, for percentiles: what reports read. */
export class Series extends Tally {
  constructor(readonly hist: Int32Histogram | null) {
    super();
  }

  /** The latency at percentile p (0-100), µs; never above the largest seen. 0 with no answers. */
  percentileUs(p: number): number {
    if (this.answered === 0 || this.hist === null) return 0;
    // The histogram answers with its bucket's upper edge.
    return Math.min(this.hist.getValueAtPercentile(p), this.maxUs);
  }
}

/** Latencies below this many µs go through the array: most do. 128 KiB per port. */
const SMALL_US = 1 << 15;
/** Per command, a smaller array and 2 significant digits (percentiles within 1%): 65 of them may exist. */
const COMMAND_SMALL_US = 1 << 12;

export class PortStats {
  /** Per command on this port, by command id: the only counts kept per transaction. */
  readonly commands: (Tally | undefined)[] = [];
  readonly latency = new LatencyHistogram(3, SMALL_US);

  constructor(readonly port: number) {}
}

/**
 * Per transaction, one tally (the command on its port) and two histograms
 * (the port's, the command's) are updated; the port's, the command's and the
 * total counts are sums of those tallies, made when a report reads them.
 */
export class Stats implements Output {
  readonly commands: CommandTable;
  /** The watched ports in the order given, then any other server port seen. */
  readonly ports: PortStats[] = [];
  /** Latencies per command over every port, by command id. */
  private readonly commandLatency: (LatencyHistogram | undefined)[] = [];
  /** Index + 1 into ports, by port number. */
  private readonly portIndex = new Int32Array(65536);
  private readonly thresholdUs: number;
  readonly started = Date.now();

  constructor(readonly mode: Mode, ports: readonly number[], readonly thresholdMs: number) {
    this.commands = new CommandTable(mode);
    this.thresholdUs = thresholdMs * 1000;
    for (const p of ports) this.portStats(p);
  }

  private portStats(port: number): PortStats {
    const i = this.portIndex[port];
    if (i !== 0) return this.ports[i - 1];
    const s = new PortStats(port);
    this.ports.push(s);
    this.portIndex[port] = this.ports.length;
    return s;
  }

  transaction(tx: Transaction): void {
    const port = this.portStats(tx.conn.sport);
    const cmd = this.commands.of(tx);
    let tally = port.commands[cmd];
    if (tally === undefined) tally = port.commands[cmd] = new Tally();
    if (tx.status === TxStatus.NoResponse) {
      tally.giveUp(tx.reqBytes, tx.inFlight, tx.latencyNs >= this.thresholdUs * 1000);
      return;
    }
    if (tx.longPoll) {
      tally.longPoll(tx.reqBytes, tx.rspBytes);
      return;
    }
    const us = tx.latencyNs / 1000;
    tally.answer(tx.status === TxStatus.Error, us, bucketOf(us), us >= this.thresholdUs, tx.reqBytes, tx.rspBytes);
    const v = us < 1 ? 1 : Math.round(us);
    port.latency.record(v);
    let h = this.commandLatency[cmd];
    if (h === undefined) h = this.commandLatency[cmd] = new LatencyHistogram(2, COMMAND_SMALL_US);
    h.record(v);
  }

  /** One port's counts and percentiles. */
  port(p: PortStats): Series {
    const s = new Series(p.latency.histogram);
    for (const t of p.commands) if (t !== undefined) s.add(t);
    return s;
  }

  /** One command's counts and percentiles, over every port. */
  command(id: number): Series {
    const s = new Series(this.commandLatency[id]?.histogram ?? null);
    for (const p of this.ports) {
      const t = p.commands[id];
      if (t !== undefined) s.add(t);
    }
    return s;
  }

  /** Everything: every port's counts, and their histograms added up. */
  total(): Series {
    let hist: Int32Histogram;
    if (this.ports.length === 1) {
      hist = this.ports[0].latency.histogram;
    } else {
      hist = newHistogram(3);
      for (const p of this.ports) hist.add(p.latency.histogram);
    }
    const s = new Series(hist);
    for (const p of this.ports) for (const t of p.commands) if (t !== undefined) s.add(t);
    return s;
  }

  /** Command ids seen, with their series, most requests first (OTHER last among equals). */
  topCommands(limit = Infinity): [number, Series][] {
    const out: [number, Series][] = [];
    for (let id = 0; id <= OTHER; id++) {
      if (this.ports.some((p) => p.commands[id] !== undefined)) out.push([id, this.command(id)]);
    }
    out.sort((a, b) => b[1].requests - a[1].requests || a[0] - b[0]);
    return out.slice(0, limit);
  }

  flush(): void {}
  close(): void {}
}

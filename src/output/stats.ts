// Latency statistics from every transaction: totals, per server port, per
// command (output/commands.ts) and per port and command. What the exit
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
import type { Output } from './output';
import type { Mode } from '../cli/config';

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
    this.hist = new Int32Histogram(1, 3_600_000_000 /* an hour, in microseconds */, significantDigits);
    this.hist.autoResize = true;
    this.small = new Uint32Array(smallUs);
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

/** Counts for one series: everything, a port, a command, a command on a port. */
export class Tally {
  /** Requests seen: answered + unanswered. */
  requests = 0;
  answered = 0;
  /** Answered with an error (Redis -ERR, HTTP 5xx, ...). */
  errors = 0;
  /** Given up on: no response within the timeout, or before the connection or capture ended. */
  unanswered = 0;
  /** Answered at or above the -t threshold. */
  slow = 0;
  requestBytes = 0;
  responseBytes = 0;
  /** Sum of the answered requests' latencies, µs. */
  totalUs = 0;
  /** The exact largest latency (the histogram keeps 2 or 3 significant digits). */
  maxUs = 0;
  /** Answered requests per seed bucket. */
  readonly buckets = new Float64Array(BUCKETS);

  constructor(readonly hist: LatencyHistogram | null) {}

  answer(error: boolean, us: number, v: number, bucket: number, slow: boolean, reqBytes: number, rspBytes: number): void {
    this.requests++;
    this.answered++;
    if (error) this.errors++;
    if (slow) this.slow++;
    this.requestBytes += reqBytes;
    this.responseBytes += rspBytes;
    this.totalUs += us;
    if (us > this.maxUs) this.maxUs = us;
    this.buckets[bucket]++;
    if (this.hist !== null) this.hist.record(v);
  }

  giveUp(reqBytes: number): void {
    this.requests++;
    this.unanswered++;
    this.requestBytes += reqBytes;
  }

  /** The latency at percentile p (0-100), µs; never above the largest seen. 0 with no answers. */
  percentileUs(p: number): number {
    if (this.answered === 0 || this.hist === null) return 0;
    // The histogram answers with its bucket's upper edge.
    return Math.min(this.hist.histogram.getValueAtPercentile(p), this.maxUs);
  }

  /** Mean latency, µs; 0 with no answers. */
  get averageUs(): number {
    return this.answered === 0 ? 0 : this.totalUs / this.answered;
  }
}

/** Latencies below this many µs go through the array: most do. 128 KiB per series. */
const SMALL_US = 1 << 15;
/** Per command, a smaller array and 2 significant digits (percentiles within 1%): 64 of them may exist. */
const COMMAND_SMALL_US = 1 << 12;

export class PortStats extends Tally {
  /** Per command on this port, by command id (no histogram: buckets only). */
  readonly commands: (Tally | undefined)[] = [];

  constructor(readonly port: number) {
    super(new LatencyHistogram(3, SMALL_US));
  }
}

export class Stats implements Output {
  readonly commands: CommandTable;
  readonly total = new Tally(new LatencyHistogram(3, SMALL_US));
  /** The watched ports in the order given, then any other server port seen. */
  readonly ports: PortStats[] = [];
  /** Per command over every port, by command id. */
  readonly byCommand: (Tally | undefined)[] = [];
  /** Index + 1 into ports, by port number. */
  private readonly portIndex = new Int32Array(65536);
  private readonly thresholdUs: number;
  readonly started = Date.now();

  constructor(readonly mode: Mode, ports: readonly number[], readonly thresholdMs: number) {
    this.commands = new CommandTable(mode);
    this.thresholdUs = thresholdMs * 1000;
    for (const p of ports) this.port(p);
  }

  private port(port: number): PortStats {
    const i = this.portIndex[port];
    if (i !== 0) return this.ports[i - 1];
    const s = new PortStats(port);
    this.ports.push(s);
    this.portIndex[port] = this.ports.length;
    return s;
  }

  transaction(tx: Transaction): void {
    const port = this.port(tx.conn.sport);
    const cmd = this.commands.of(tx);
    let onPort = port.commands[cmd];
    if (onPort === undefined) onPort = port.commands[cmd] = new Tally(null);
    let everywhere = this.byCommand[cmd];
    if (everywhere === undefined) everywhere = this.byCommand[cmd] = new Tally(new LatencyHistogram(2, COMMAND_SMALL_US));
    if (tx.status === TxStatus.NoResponse) {
      const b = tx.reqBytes;
      this.total.giveUp(b);
      port.giveUp(b);
      onPort.giveUp(b);
      everywhere.giveUp(b);
      return;
    }
    const us = tx.latencyNs / 1000;
    const v = us < 1 ? 1 : Math.round(us);
    const bucket = bucketOf(us);
    const slow = us >= this.thresholdUs;
    const error = tx.status === TxStatus.Error;
    const rq = tx.reqBytes;
    const rs = tx.rspBytes;
    this.total.answer(error, us, v, bucket, slow, rq, rs);
    port.answer(error, us, v, bucket, slow, rq, rs);
    onPort.answer(error, us, v, bucket, slow, rq, rs);
    everywhere.answer(error, us, v, bucket, slow, rq, rs);
  }

  /** Command ids with a tally, most requests first (OTHER last among equals). */
  topCommands(limit = Infinity): number[] {
    const ids: number[] = [];
    for (let id = 0; id <= OTHER; id++) if (this.byCommand[id] !== undefined) ids.push(id);
    ids.sort((a, b) => this.byCommand[b]!.requests - this.byCommand[a]!.requests || a - b);
    return ids.slice(0, limit);
  }

  flush(): void {}
  close(): void {}
}

// Latency statistics gathered from every transaction, and the summary printed
// when the input ends: totals, percentiles and the original tool's buckets.
// The histogram class alone: the package's index also loads its WebAssembly
// build and codecs, which cost ~60 ms of startup. This is what hdr.build()
// returns for these options (32-bit counts, autoResize on).
import Int32Histogram from 'hdr-histogram-js/dist/Int32Histogram';
import { TxStatus, type Transaction } from '../pairing/transaction';
import type { Output } from './output';

/** The original tool's latency buckets, upper bounds in microseconds; the last is "more". */
export const SEED_BUCKETS_US = [
  100, 200, 500, 1_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000, 3_000_000,
  5_000_000, 10_000_000, 20_000_000,
];
export const SEED_BUCKET_LABELS = [
  '<0.1ms', '0.1-0.2ms', '0.2-0.5ms', '0.5-1ms', '1-5ms', '5-10ms', '10-20ms', '20-50ms', '50-100ms', '100-200ms',
  '200-500ms', '0.5-1s', '1-2s', '2-3s', '3-5s', '5-10s', '10-20s', '>20s',
];

function newHistogram(): Int32Histogram {
  const h = new Int32Histogram(1, 3_600_000_000 /* an hour, in microseconds */, 3);
  h.autoResize = true;
  return h;
}

/** Latencies below this many µs are counted in a plain array first (most are). */
const SMALL_US = 1 << 17;

export class LatencyStats implements Output {
  private readonly hist = newHistogram();
  /**
   * Counts per whole µs below SMALL_US, not yet in the histogram: an array
   * increment per transaction instead of a histogram record. Added to the
   * histogram (one record per distinct value) when it is read; counts do not
   * depend on the order values were recorded in.
   */
  private readonly small = new Uint32Array(SMALL_US);
  private smallPending = 0;
  readonly buckets = new Float64Array(SEED_BUCKETS_US.length + 1);
  transactions = 0;
  errors = 0;
  noResponse = 0;
  slow = 0;
  totalUs = 0;
  /** The exact largest latency (the histogram keeps 3 significant digits). */
  maxUs = 0;
  reqBytes = 0;
  rspBytes = 0;

  constructor(private readonly thresholdMs: number) {}

  transaction(tx: Transaction): void {
    if (tx.status === TxStatus.NoResponse) {
      this.noResponse++;
      return;
    }
    this.transactions++;
    if (tx.status === TxStatus.Error) this.errors++;
    const us = tx.latencyNs / 1000;
    if (us >= this.thresholdMs * 1000) this.slow++;
    this.totalUs += us;
    if (us > this.maxUs) this.maxUs = us;
    this.reqBytes += tx.reqBytes;
    this.rspBytes += tx.rspBytes;
    const v = us < 1 ? 1 : Math.round(us);
    if (v < SMALL_US) {
      this.small[v]++;
      this.smallPending++;
    } else {
      this.hist.recordValue(v);
    }
    let i = 0;
    while (i < SEED_BUCKETS_US.length && us >= SEED_BUCKETS_US[i]) i++;
    this.buckets[i]++;
  }

  /** Every latency recorded so far, in µs. */
  get histogram(): Int32Histogram {
    if (this.smallPending > 0) {
      const small = this.small;
      for (let v = 0; v < SMALL_US; v++) {
        if (small[v] !== 0) {
          this.hist.recordValueWithCount(v, small[v]);
          small[v] = 0;
        }
      }
      this.smallPending = 0;
    }
    return this.hist;
  }

  percentileMs(p: number): number {
    // The histogram answers with its bucket's upper edge; never above the max seen.
    return Math.min(this.histogram.getValueAtPercentile(p), this.maxUs) / 1000;
  }

  flush(): void {}
  close(): void {}
}

function ms(v: number): string {
  return `${v.toFixed(3)} ms`;
}

/** The exit summary, as lines for stderr. */
export function renderSummary(stats: LatencyStats, header: string[], counters: string[]): string {
  const lines = [...header];
  const n = stats.transactions;
  lines.push(
    `requests: ${n} answered` +
      (stats.errors ? ` (${stats.errors} errors)` : '') +
      `, ${stats.noResponse} without response, ${stats.slow} at or above the threshold`,
  );
  if (n > 0) {
    lines.push(
      `latency: avg ${ms(stats.totalUs / n / 1000)}, p50 ${ms(stats.percentileMs(50))}, p90 ${ms(stats.percentileMs(90))}, ` +
        `p99 ${ms(stats.percentileMs(99))}, p99.9 ${ms(stats.percentileMs(99.9))}, max ${ms(stats.maxUs / 1000)}`,
    );
    const most = Math.max(...stats.buckets);
    const width = 40;
    for (let i = 0; i < stats.buckets.length; i++) {
      const count = stats.buckets[i];
      if (count === 0) continue;
      const bar = '#'.repeat(Math.max(1, Math.round((count / most) * width)));
      lines.push(`  ${SEED_BUCKET_LABELS[i].padStart(9)} ${String(count).padStart(9)} ${bar}`);
    }
  }
  if (counters.length > 0) lines.push(counters.join(', '));
  return lines.join('\n') + '\n';
}

// LatencyStats counts most latencies in an array before the histogram sees
// them; its percentiles must be what recording each latency directly gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as hdr from 'hdr-histogram-js';
import { Transaction, TxStatus } from '../../src/pairing/transaction';
import { LatencyStats } from '../../src/output/summary';

const PERCENTILES = [0, 1, 50, 90, 99, 99.9, 99.99, 100];

test('percentiles equal those of a histogram fed every latency as it came', () => {
  const latencyNs = fc.oneof(
    fc.integer({ min: -2_000, max: 200_000 }),
    fc.integer({ min: 0, max: 150_000_000 }),
    fc.integer({ min: 0, max: 4_000_000_000_000 }), // past the histogram's hour: it resizes
  );
  fc.assert(
    fc.property(fc.array(latencyNs, { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 4 }), (values, reads) => {
      const stats = new LatencyStats(0);
      const direct = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
      let maxUs = 0;
      const tx = new Transaction();
      tx.status = TxStatus.Ok;
      // Read percentiles part way too: counts gathered since are still added.
      const every = Math.ceil(values.length / reads);
      values.forEach((ns, i) => {
        tx.latencyNs = ns;
        stats.transaction(tx);
        const us = ns / 1000;
        if (us > maxUs) maxUs = us;
        direct.recordValue(us < 1 ? 1 : Math.round(us));
        if ((i + 1) % every === 0) {
          for (const p of PERCENTILES) assert.equal(stats.percentileMs(p), Math.min(direct.getValueAtPercentile(p), maxUs) / 1000);
        }
      });
      for (const p of PERCENTILES) assert.equal(stats.percentileMs(p), Math.min(direct.getValueAtPercentile(p), maxUs) / 1000);
      assert.equal(stats.histogram.totalCount, direct.totalCount);
      assert.equal(stats.histogram.maxValue, direct.maxValue);
      assert.equal(stats.histogram.minNonZeroValue, direct.minNonZeroValue);
    }),
    { numRuns: 200 },
  );
});

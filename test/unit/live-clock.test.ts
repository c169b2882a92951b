// The live clock (cli/live-clock.ts) with the engine's notices of losses
// (engine/live.ts): it stops when nothing is left to expire and nothing to
// tell, and a loss not yet told keeps it running until the notice is due.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveClock, CLOCK_MS, type ClockedPipeline, type ClockTimers } from '../../src/cli/live-clock';
import { LiveEngine } from '../../src/engine/live';
import type { EngineCounters } from '../../src/engine/engine';
import type { EbpfCaptureHandle } from '../../src/engine/native';

/** A live engine whose losses the test sets. */
class FakeEngine extends LiveEngine {
  readonly name = 'fake';
  protected readonly lossWhere = 'ring buffer full';
  protected readonly handle = null as unknown as EbpfCaptureHandle;
  dropped = 0;
  run(): Promise<void> {
    return Promise.resolve();
  }
  stop(): void {}
  counters(): EngineCounters {
    return { seen: 0, dropped: this.dropped } as EngineCounters;
  }
  describeCounters(): string {
    return '';
  }
}

class FakePipeline implements ClockedPipeline {
  quiet = true;
  readonly times: number[] = [];
  clock(nowSec: number): void {
    this.times.push(nowSec);
  }
}

/** One interval at a time, and a time that moves only when the test says. */
class FakeTimers implements ClockTimers {
  private fn: (() => void) | null = null;
  private ms = 1_000_000;
  intervals = 0;
  setInterval(fn: () => void, ms: number): NodeJS.Timeout {
    assert.equal(ms, CLOCK_MS);
    assert.equal(this.fn, null, 'one interval at a time');
    this.fn = fn;
    this.intervals++;
    return this.intervals as unknown as NodeJS.Timeout;
  }
  clearInterval(): void {
    this.fn = null;
  }
  now(): number {
    return this.ms;
  }
  /** n seconds, the interval firing once a second while it is set. */
  seconds(n: number): void {
    for (let i = 0; i < n; i++) {
      this.ms += CLOCK_MS;
      this.fn?.();
    }
  }
}

function setUp() {
  const timers = new FakeTimers();
  const pipeline = new FakePipeline();
  const engine = new FakeEngine();
  const told: string[] = [];
  const clock = new LiveClock(pipeline, engine, (line) => told.push(line), timers);
  return { pipeline, engine, told, clock, seconds: (n: number) => timers.seconds(n), timers };
}

test('the clock ticks while the pipeline has something to expire, and stops at the first tick with nothing', () => {
  const { pipeline, clock, seconds, timers } = setUp();
  pipeline.quiet = false;
  clock.start();
  clock.start(); // again: still one interval
  assert.equal(timers.intervals, 1);
  seconds(3);
  assert.deepEqual(pipeline.times, [1001, 1002, 1003]);
  assert.equal(clock.running, true);
  pipeline.quiet = true;
  seconds(1);
  assert.equal(clock.running, false);
  seconds(5);
  assert.equal(pipeline.times.length, 4); // stopped: no tick since
  clock.start(); // the next drain
  seconds(1);
  assert.deepEqual(pipeline.times.slice(4), [1010]);
  clock.stop();
});

test('losses are told at the next tick, and a loss not yet told keeps a quiet clock running until its notice is due', () => {
  const { engine, told, clock, seconds } = setUp();
  engine.dropped = 5;
  clock.start();
  seconds(1);
  assert.deepEqual(told, ['fake: 5 packets lost (ring buffer full), 5 since the start; a larger -B may help']);
  assert.equal(clock.running, false); // quiet, and everything told
  // More losses 2 s later, then every connection gone: the next notice may come only 10 s after the first.
  clock.start();
  engine.dropped = 8;
  seconds(1);
  assert.equal(told.length, 1);
  assert.equal(engine.lossesUntold, true);
  assert.equal(clock.running, true); // quiet, but a loss is untold
  seconds(8); // 9 s after the first notice
  assert.equal(told.length, 1);
  assert.equal(clock.running, true);
  seconds(1);
  assert.deepEqual(told.slice(1), ['fake: 3 packets lost (ring buffer full), 8 since the start; a larger -B may help']);
  assert.equal(clock.running, false);
});

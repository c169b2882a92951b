// tcpkit's clock for a live capture. Time passes without packets too: once a
// second the clock gives the pipeline the time (requests waiting past
// --timeout, idle connections) and the engine a chance to tell of packets
// lost (at most one line every 10 s, engine/live.ts). With nothing left to
// expire (pipeline.quiet) and no loss left untold, a tick would only wake the
// process: the clock stops, so that a capture with nothing to watch wakes no
// one, and the next drain or batch of packets starts it again (start()).

/** What the clock gives the time to: the pipeline's side. */
export interface ClockedPipeline {
  clock(nowSec: number): void;
  /** Nothing to expire: no connection, no fragments waiting. */
  readonly quiet: boolean;
}

/** The engine's side: its notices of losses. */
export interface ClockedEngine {
  lossNotice(nowMs: number): string | null;
  readonly lossesUntold: boolean;
}

export const CLOCK_MS = 1000;

/** The timer and the time the clock uses (the test's are its own). */
export interface ClockTimers {
  setInterval(fn: () => void, ms: number): NodeJS.Timeout;
  clearInterval(t: NodeJS.Timeout): void;
  now(): number;
}

const SYSTEM: ClockTimers = {
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (t) => clearInterval(t),
  now: () => Date.now(),
};

export class LiveClock {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly pipeline: ClockedPipeline,
    private readonly engine: ClockedEngine,
    /** Where a notice of losses goes (a line on stderr). */
    private readonly tell: (line: string) => void,
    private readonly timers: ClockTimers = SYSTEM,
  ) {}

  get running(): boolean {
    return this.timer !== null;
  }

  /** Runs the clock, if it is stopped: called with each drain or batch. */
  start(): void {
    if (this.timer === null) this.timer = this.timers.setInterval(this.tick, CLOCK_MS);
  }

  stop(): void {
    if (this.timer !== null) this.timers.clearInterval(this.timer);
    this.timer = null;
  }

  private readonly tick = (): void => {
    const now = this.timers.now();
    this.pipeline.clock(Math.floor(now / 1000));
    const lost = this.engine.lossNotice(now);
    if (lost !== null) this.tell(lost);
    // A loss not yet told (a notice came less than 10 s ago) keeps it running.
    if (this.pipeline.quiet && !this.engine.lossesUntold) this.stop();
  };
}

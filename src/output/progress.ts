// A progress bar on stderr while -r reads a file, when stderr is a terminal
// and reading takes long enough to want one (never when stderr is a file or
// a pipe: logs and scripts get no carriage returns).
//
//    45% [##################......................]  123.4 of 270.0 MB, 4 s left
//
// The bar is redrawn from a timer (the file engine yields to the event loop
// between batches); output to the same terminal calls clear() first, so lines
// are never written over the bar.

export interface ProgressSource {
  /** Bytes read so far. */
  readonly offset: number;
  /** Bytes in all. */
  readonly size: number;
}

export interface ProgressTerminal {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** No bar for reads shorter than this. */
const AFTER_MS = 500;
const EVERY_MS = 100;

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/** The bar's text for a fraction done, in `columns` characters at most. */
export function renderProgress(offset: number, size: number, elapsedMs: number, columns: number): string {
  const fraction = size > 0 ? Math.min(1, Math.max(0, offset / size)) : 0;
  const pct = `${Math.floor(fraction * 100)}%`.padStart(4);
  let tail = `  ${mb(offset)} of ${mb(size)} MB`;
  if (fraction > 0.01 && fraction < 1) tail += `, ${Math.ceil((elapsedMs * (1 - fraction)) / fraction / 1000)} s left`;
  const room = columns - 1 - pct.length - 3 - tail.length;
  const width = Math.min(40, room);
  if (width < 10) return `${pct}${tail}`.slice(0, Math.max(0, columns - 1));
  const done = Math.round(fraction * width);
  return `${pct} [${'#'.repeat(done)}${'.'.repeat(width - done)}]${tail}`;
}

export class ProgressBar {
  private timer: NodeJS.Timeout | null = null;
  private shown = false;
  private readonly started: number;

  constructor(
    private readonly source: ProgressSource,
    private readonly term: ProgressTerminal,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

  /** Whether a bar belongs on this terminal at all. */
  static wanted(term: ProgressTerminal): boolean {
    return term.isTTY === true;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), EVERY_MS);
    this.timer.unref();
  }

  /** Redraws the bar once reading has taken AFTER_MS. */
  tick(): void {
    const elapsed = this.now() - this.started;
    if (elapsed < AFTER_MS) return;
    // A terminal that does not say its width (0) gets 80 columns.
    const text = renderProgress(this.source.offset, this.source.size, elapsed, this.term.columns || 80);
    this.term.write(`\r${text}\x1b[K`);
    this.shown = true;
  }

  /** Erases the bar (the next tick draws it again). */
  clear(): void {
    if (!this.shown) return;
    this.term.write('\r\x1b[K');
    this.shown = false;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.clear();
  }
}

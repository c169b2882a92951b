// The --top view on a terminal: it takes the screen over (the alternate
// screen, so the shell's scrollback is untouched), reads keys, redraws once
// a second from the model, and gives the terminal back as it found it: on
// `q`, at the end, on Ctrl-C and SIGTERM (at once, before the run winds
// down), on an error thrown through the run (cli/main.ts stops the view in a
// finally), and, as a last resort, when the process exits.
//
// While the view is up, what tcpkit would write to a terminal on stderr (a
// loss notice, a script error) would tear the screen: it is kept instead, the
// last line shown on the status line, and all of it written out once the
// terminal is restored.
import fs from 'node:fs';
import { Screen, ENTER, LEAVE } from './screen';
import { layout, MIN_COLS, MIN_ROWS, SORT_KEYS, type RunLabel, type ViewState } from './layout';
import { SLOW_KEEP, type TopModel, type TopSnapshot } from './model';

/** What the view draws on: a terminal's output side (process.stdout on a TTY). */
export interface TopOutput {
  write(text: string): unknown;
  readonly columns: number;
  readonly rows: number;
  on(event: 'resize', listener: () => void): unknown;
  off(event: 'resize', listener: () => void): unknown;
  /** The descriptor, for the last-resort restore at exit (written synchronously). */
  readonly fd?: number;
}

/** Where keys come from: a terminal's input side (process.stdin on a TTY), or none. */
export interface TopInput {
  setRawMode(raw: boolean): unknown;
  on(event: 'data', listener: (data: Buffer) => void): unknown;
  off(event: 'data', listener: (data: Buffer) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

/** Where tcpkit's own messages go while the view is up (process.stderr). */
export interface TopErrors {
  write: (chunk: string | Uint8Array, ...rest: never[]) => boolean;
}

export interface TopViewOptions {
  out: TopOutput;
  input: TopInput | null;
  /** stderr, when it is the same terminal: its writes are held while the view is up. */
  errors: TopErrors | null;
  /** The time a tick is taken at: the wall clock live, the capture's clock with -r. */
  clock: () => number;
  /** The wall clock (uptime). */
  wall?: () => number;
  /** How far through the file (-r), 0-1. */
  progress?: () => number;
  /** `q` or Ctrl-C: stop the run. */
  onQuit: () => void;
  /** Sparklines in block characters (a UTF-8 locale). */
  utf8: boolean;
  /** Milliseconds between redraws. */
  everyMs?: number;
}

/** Lines held from stderr while the view is up; more are counted, not kept. */
const HELD_MAX = 200;

/** Whether the locale's character set is UTF-8 (block characters draw). */
export function utf8Locale(env: NodeJS.ProcessEnv): boolean {
  const v = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /utf-?8/i.test(v);
}

export class TopView {
  private readonly screen = new Screen();
  private readonly state: ViewState;
  private timer: NodeJS.Timeout | null = null;
  private active = false;
  private held: string[] = [];
  private heldDropped = 0;
  private heldPartial = '';
  private originalWrite: TopErrors['write'] | null = null;
  private endWait: (() => void) | null = null;
  /** While paused: the snapshot on the screen. */
  private frozen: TopSnapshot | null = null;
  /** An error thrown while drawing: the run stops and cli/main.ts reports it. */
  failure: Error | null = null;
  private readonly everyMs: number;
  private readonly wall: () => number;

  constructor(
    private readonly model: TopModel,
    private readonly label: RunLabel,
    private readonly options: TopViewOptions,
  ) {
    this.wall = options.wall ?? Date.now;
    this.everyMs = options.everyMs ?? 1000;
    this.state = { sort: 'p99', paused: false, help: false, ended: null, notice: '', progress: null, utf8: options.utf8, wallMs: this.wall() };
  }

  private readonly onResize = (): void => {
    this.screen.invalidate();
    this.draw(true);
  };

  private readonly onKey = (data: Buffer): void => {
    for (const byte of data) this.key(String.fromCharCode(byte));
  };

  private readonly onSignal = (): void => {
    // The run is stopping (lifecycle.ts has the engine stop first): give the
    // terminal back now, whatever winding down takes.
    this.stop();
  };

  private readonly onExit = (): void => {
    if (!this.active) return;
    try {
      if (this.options.out.fd !== undefined) fs.writeSync(this.options.out.fd, LEAVE);
      this.options.input?.setRawMode(false);
    } catch {
      // nothing more can be done at exit
    }
  };

  /** Takes the terminal over and starts redrawing. */
  start(): void {
    const { out, input, errors } = this.options;
    this.active = true;
    out.write(ENTER);
    out.on('resize', this.onResize);
    if (input !== null) {
      input.setRawMode(true);
      input.on('data', this.onKey);
      input.resume();
    }
    if (errors !== null) {
      this.originalWrite = errors.write;
      errors.write = ((chunk: string | Uint8Array) => {
        this.hold(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return true;
      }) as TopErrors['write'];
    }
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    process.on('exit', this.onExit);
    this.timer = setInterval(() => this.tick(), this.everyMs);
    // Last: a first draw that fails stops the view, timer included.
    this.draw();
  }

  private hold(text: string): void {
    const lines = (this.heldPartial + text).split('\n');
    this.heldPartial = lines.pop()!;
    for (const line of lines) {
      this.state.notice = line;
      if (this.held.length < HELD_MAX) this.held.push(line);
      else this.heldDropped++;
    }
    this.draw();
  }

  /** One interval ends: the model takes its figures, the screen is redrawn. */
  tick(): void {
    if (!this.active) return;
    this.model.tick(this.options.clock(), SLOW_KEEP);
    this.draw();
  }

  /** What a key does. */
  key(k: string): void {
    if (k === '\x03') {
      // Ctrl-C in raw mode is a byte, not a signal: make it the signal, so it
      // stops the run as it always does (a second one ends tcpkit at once).
      process.kill(process.pid, 'SIGINT');
      return;
    }
    if (this.state.help) {
      this.state.help = false;
      if (k !== 'q') {
        this.draw(true);
        return;
      }
    }
    if (k === 'q' || k === 'Q') {
      this.quit();
    } else if (k === ' ') {
      this.state.paused = !this.state.paused;
      this.draw(true);
    } else if (k === 'c') {
      this.model.clear(this.options.clock());
      this.draw(true);
    } else if (k === '?' || k === 'h') {
      this.state.help = true;
      this.draw(true);
    } else if (SORT_KEYS[k] !== undefined) {
      this.state.sort = SORT_KEYS[k];
      this.draw(true);
    }
  }

  private quit(): void {
    this.options.onQuit();
    this.stop();
  }

  /**
   * Draws the model's last snapshot. While paused the screen stays as it
   * was, except for what the user just asked (`force`): a key's effect, the
   * status line, a resize.
   */
  draw(force = false): void {
    if (!this.active) return;
    if (this.state.paused && !force && this.frozen !== null) return;
    try {
      const { out } = this.options;
      const width = out.columns || 80;
      const height = out.rows || 24;
      this.state.wallMs = this.wall();
      this.state.progress = this.options.progress?.() ?? null;
      const snap = this.state.paused && this.frozen !== null ? this.frozen : this.model.snapshot;
      if (!this.state.paused) this.frozen = null;
      else this.frozen ??= snap;
      const text = this.screen.frame(layout(snap, this.label, this.state, width, height), width, height);
      if (text !== '') out.write(text);
    } catch (e) {
      this.failure = e as Error;
      this.options.onQuit();
      this.stop();
    }
  }

  /**
   * The input ended (-r): the last interval is taken and the final screen
   * stays, with `message` on the status line, until `q` (or Ctrl-C). At
   * once when there is no keyboard.
   */
  async ended(message: string): Promise<void> {
    if (!this.active) return;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.model.tick(this.options.clock(), SLOW_KEEP);
    this.state.ended = message;
    this.state.paused = false;
    this.frozen = null;
    this.draw();
    if (this.options.input === null) return;
    await new Promise<void>((resolve) => {
      this.endWait = resolve;
    });
  }

  /** Whether the screen is the view's. */
  get running(): boolean {
    return this.active;
  }

  /** Gives the terminal back as it was, and writes out what stderr held. Harmless twice. */
  stop(): void {
    if (!this.active) return;
    this.active = false;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const { out, input, errors } = this.options;
    out.off('resize', this.onResize);
    if (input !== null) {
      input.off('data', this.onKey);
      input.setRawMode(false);
      input.pause();
    }
    out.write(LEAVE);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    process.off('exit', this.onExit);
    if (errors !== null && this.originalWrite !== null) {
      errors.write = this.originalWrite;
      this.originalWrite = null;
      const rest = this.heldPartial === '' ? [] : [this.heldPartial];
      for (const line of [...this.held, ...rest]) errors.write(`${line}\n`);
      if (this.heldDropped > 0) errors.write(`tcpkit: (${this.heldDropped} more lines while --top was up)\n`);
      this.held = [];
    }
    this.endWait?.();
    this.endWait = null;
  }
}

export { MIN_COLS, MIN_ROWS };

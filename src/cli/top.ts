// --top in the command: the terminal it needs, and the view started on it
// once the run is attached (src/top/ has the view itself).
import tty from 'node:tty';
import { TopModel } from '../top/model';
import { TopView, utf8Locale } from '../top/view';
import { UsageError, type Config } from './config';
import type { Stats } from '../stats/stats';
import type { RunCounters } from '../stats/counters';

/** --top draws on a terminal: refused, in one line, when standard output is not one. */
export function requireTerminal(): void {
  if (!tty.isatty(1)) {
    throw new UsageError('--top draws a full-screen view, and standard output is not a terminal (without --top, lines go to a pipe or a file)');
  }
}

/** The view's figures: an output beside the statistics, on the wall clock live and on the capture's clock with -r. */
export function topModel(config: Config, stats: Stats, counters: () => RunCounters): TopModel {
  return new TopModel(stats, counters, config.readFile === undefined ? Date.now() : 0);
}

/** Takes the terminal over; `stop` ends the run (q). */
export function startTop(
  config: Config,
  model: TopModel,
  engine: { name: string; offset?: number; size?: number },
  source: string,
  stop: () => void,
): TopView {
  const offline = config.readFile !== undefined;
  const view = new TopView(
    model,
    {
      engine: engine.name,
      source,
      mode: config.mode,
      ports: config.ports,
      thresholdMs: config.thresholdMs,
      replay: offline ? (config.topSpeed ? 'fast' : 'file speed') : null,
      startMs: model.startMs,
    },
    {
      out: process.stdout,
      input: tty.isatty(0) ? (process.stdin as tty.ReadStream) : null,
      errors: tty.isatty(2) ? process.stderr : null,
      clock: offline ? () => model.dataMs : Date.now,
      progress: offline && engine.size ? () => Math.min(1, (engine.offset ?? 0) / engine.size!) : undefined,
      onQuit: stop,
      utf8: utf8Locale(process.env),
    },
  );
  view.start();
  return view;
}

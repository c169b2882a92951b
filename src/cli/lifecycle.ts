// How a run ends when it is not the input that ends it.
//
// - SIGINT and SIGTERM stop the run: the engine ends, outputs flush, the
//   summary prints, and tcpkit exits 0. The handlers are in place from the
//   first module main.ts loads, so a signal that comes while the rest loads
//   or while the capture opens stops the run just as well. A second signal
//   ends tcpkit at once, by that signal's default action (exit status
//   130/143), for when stopping itself hangs.
// - The reader of the output going away (`tcpkit ... | head`) stops the run
//   too (see FdWriter), quietly.
// - Writing to stderr after its reader left is not an error worth a stack
//   trace: it is ignored (there is no one left to tell). Standard output is
//   not touched here: lines go to fd 1 through FdWriter, and merely creating
//   process.stdout would make a pipe on fd 1 non-blocking, for every process
//   that shares it.

let signalled: NodeJS.Signals | null = null;
let onStop: (() => void) | null = null;

function onSignal(signal: NodeJS.Signals): void {
  if (signalled !== null) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    return;
  }
  signalled = signal;
  onStop?.();
}

process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.stderr.on('error', () => {});

/** Calls `stop` on SIGINT or SIGTERM, at once if one already came. */
export function stopOnSignal(stop: () => void): void {
  onStop = stop;
  if (signalled !== null) stop();
}

/** The signal that stopped the run, or null. */
export function stopSignal(): NodeJS.Signals | null {
  return signalled;
}

// Running in the background (-d), the pid file, and -o following logrotate.
//
// -d re-runs this same command as a detached child (a new session, no
// terminal), marked by an environment variable, and waits: the child reports
// over an IPC channel what it would have printed while starting (which
// engine captures, or the one line of an error) and then that it is ready,
// once it captures, listens on -P and has written its pid file. Only then
// does the parent exit 0; a child that fails to start makes the parent exit
// with the child's code, its error line printed by the parent. A started
// daemon writes what it would print on stderr (the exit summary, errors)
// into its -o file, so it follows the file across SIGHUP too.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { FdWriter } from '../output/writer';

/** Set in the child's environment: this process is the daemon. */
const CHILD_ENV = 'TCPKIT_DAEMON_CHILD';
/** How long the parent waits for the child to report. */
const START_TIMEOUT_MS = 30_000;

export class DaemonError extends Error {
  readonly code = 'EDAEMON';
}

type ChildMessage = { stderr: string } | { ready: true; pid: number };

/** Whether this process is a daemon's child, started by daemonize(). */
export function isDaemonChild(): boolean {
  return process.env[CHILD_ENV] === '1' && typeof process.send === 'function';
}

/**
 * The parent's side: starts this command again in the background and waits
 * for it to be ready. Returns the exit code for the parent.
 */
export function daemonize(argv: string[], output: string, pidFile: string): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...argv.slice(1)], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  return new Promise((resolve) => {
    let done = false;
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(code);
    };
    const timer = setTimeout(() => {
      process.stderr.write(`tcpkit: the background process did not start within ${START_TIMEOUT_MS / 1000} s; stopped it\n`);
      child.kill('SIGKILL');
      finish(1);
    }, START_TIMEOUT_MS);
    child.on('message', (m: ChildMessage) => {
      if ('stderr' in m) {
        process.stderr.write(m.stderr);
      } else if (m.ready) {
        process.stderr.write(`tcpkit: running in the background as pid ${m.pid} (pid file ${pidFile}, output to ${output})\n`);
        child.unref();
        if (child.connected) child.disconnect();
        finish(0);
      }
    });
    child.on('error', (err) => {
      process.stderr.write(`tcpkit: cannot start the background process: ${err.message}\n`);
      finish(1);
    });
    // Messages the child sent before it exited may still be on their way: the channel closes after them.
    child.on('exit', (code) => {
      if (child.connected) child.once('disconnect', () => finish(code ?? 1));
      else finish(code ?? 1);
    });
  });
}

/**
 * What the process would print on stderr goes elsewhere: in the daemon's
 * child, to the parent until ready() and to the -o file after. Everything in
 * tcpkit writes its messages to process.stderr, so that is where they are
 * redirected, in one place.
 */
function routeStderr(sink: (text: string) => void): void {
  const stderr = process.stderr as NodeJS.WriteStream & { write: (...args: unknown[]) => boolean };
  stderr.write = (chunk: unknown, encoding?: unknown, cb?: unknown): boolean => {
    sink(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    const done = typeof encoding === 'function' ? encoding : cb;
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  };
}

/** The daemon child's side. */
export class DaemonChild {
  constructor() {
    delete process.env[CHILD_ENV];
    // The channel must not keep the process alive if it fails before ready()
    // (a message being sent still does).
    process.channel?.unref();
    routeStderr((text) => {
      if (process.connected) process.send!({ stderr: text } satisfies ChildMessage, undefined, {}, () => {});
    });
  }

  /**
   * Started: tells the parent (which then exits) and from now on writes
   * stderr's messages into the output file, as lines of text or, with
   * --json, as {"message": ...} objects so that the file stays NDJSON.
   */
  ready(writer: FdWriter, json: boolean): void {
    routeStderr((text) => {
      if (writer.closed) return;
      for (const line of text.split('\n')) {
        if (line === '') continue;
        writer.write(json ? `${JSON.stringify({ time: new Date().toISOString(), message: line })}\n` : `${line}\n`);
      }
      writer.flush();
    });
    if (process.connected) {
      process.send!({ ready: true, pid: process.pid } satisfies ChildMessage, undefined, {}, () => {
        if (process.connected) process.disconnect();
      });
    }
  }
}

/** A pid file: written at start, removed at exit if it still names this process. */
export class PidFile {
  private written = false;

  constructor(readonly file: string) {}

  /** Writes this process's pid; refuses if the file names a tcpkit that still runs. */
  write(): void {
    let old = '';
    try {
      old = fs.readFileSync(this.file, 'utf8').trim();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw this.error(e as Error);
    }
    const pid = Number(old);
    if (old !== '' && Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new DaemonError(`${this.file}: tcpkit is already running as pid ${pid} (stop it, or give another --pid-file)`);
    }
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      fs.writeFileSync(this.file, `${process.pid}\n`);
    } catch (e) {
      throw this.error(e as Error);
    }
    this.written = true;
    process.once('exit', () => this.remove());
  }

  /**
   * tcpkit is about to give up root (-Z) and may then not be allowed to
   * remove the file (/run belongs to root): a small shell, left as root,
   * waits for this process to end (its pipe closes, however it ends) and
   * removes the file if it still names this process.
   */
  removeAsRootAtExit(): void {
    if (!this.written) return;
    const helper = spawn('sh', ['-c', 'read -r _; [ "$(cat "$1" 2>/dev/null)" = "$2" ] && rm -f "$1"', 'tcpkit-pid-file', this.file, String(process.pid)], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    helper.on('error', () => {});
    helper.unref();
    (helper.stdin as unknown as { unref?: () => void }).unref?.();
  }

  remove(): void {
    if (!this.written) return;
    this.written = false;
    try {
      if (fs.readFileSync(this.file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(this.file);
    } catch {
      // already gone
    }
  }

  private error(e: Error): DaemonError {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied (give --pid-file a path you can write)' : e.message;
    return new DaemonError(`pid file ${this.file}: ${why}`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** -o FILE: on SIGHUP, writing goes on in a fresh open of FILE (after logrotate moved it). */
export function reopenOnHangup(writer: FdWriter): () => void {
  const onHup = (): void => {
    try {
      writer.reopen();
    } catch (e) {
      process.stderr.write(`tcpkit: -o ${writer.path}: cannot reopen (${(e as Error).message}); still writing to the old file\n`);
    }
  };
  process.on('SIGHUP', onHup);
  return () => process.off('SIGHUP', onHup);
}

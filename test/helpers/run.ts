// Runs the built tcpkit CLI the way a user would, and parses its seed-format lines.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

/** The repository root (tests run from dist/test/...). */
export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
/** ../shared/corpus beside the checkout, when it exists (TCPKIT_CORPUS names another: `make mutate` runs from a copy). */
export const CORPUS = process.env.TCPKIT_CORPUS || path.resolve(ROOT, '..', 'shared', 'corpus');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function tcpkit(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): RunResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC', ...opts.env },
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** One seed-format line: `time client => server | 0.270 ms | GET k`. */
export interface TxLine {
  time: string;
  client: string;
  server: string;
  /** Milliseconds, or null for `no response` and `in flight`. */
  latencyMs: number | null;
  /** `in flight`: still waiting, for less than --timeout, when the capture stopped. */
  inFlight: boolean;
  request: string;
  /** The response's status ('200', 'NXDOMAIN'), '' when the line has none (Redis). */
  status: string;
  error: boolean;
}

const LINE = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}) (\S+) => (\S+) \| (?:([\d.]+) ms|no response|(in flight)) \| (.*?)(?: \| (?!error$)([A-Za-z0-9_]+(?: \(long poll\))?))?( \| error)?$/;

export function parseLines(stdout: string): TxLine[] {
  const out: TxLine[] = [];
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`not a tcpkit line: ${JSON.stringify(line)}`);
    out.push({
      time: m[1],
      client: m[2],
      server: m[3],
      latencyMs: m[4] === undefined ? null : Number(m[4]),
      inFlight: m[5] !== undefined,
      request: m[6],
      status: m[7] ?? '',
      error: m[8] !== undefined,
    });
  }
  return out;
}

/** The counts in tcpkit's stderr summary (0 for a count it did not print). */
export interface Summary {
  answered: number;
  errors: number;
  /** Answered from the response's first bytes (its end never captured). */
  incomplete: number;
  noResponse: number;
  /** Still waiting, for less than --timeout, when the capture stopped. */
  inFlight: number;
  orphans: number;
  malformed: number;
  undecoded: number;
  gaps: number;
  pushes: number;
  dropped: number;
}

function count(stderr: string, re: RegExp): number {
  const m = re.exec(stderr);
  return m ? Number(m[1]) : 0;
}

export function parseSummary(stderr: string): Summary {
  const m = /^requests: (\d+) answered(?: \(([^)]*)\))?, (\d+) without response(?:, (\d+) in flight)?/m.exec(stderr);
  if (!m) throw new Error(`no summary on stderr:\n${stderr}`);
  const notes = m[2] ?? '';
  return {
    answered: Number(m[1]),
    errors: count(notes, /(\d+) errors?\b/),
    incomplete: count(notes, /(\d+) incomplete/),
    noResponse: Number(m[3]),
    inFlight: Number(m[4] ?? 0),
    orphans: count(stderr, /(\d+) responses? without a request/),
    malformed: count(stderr, /(\d+) parser resets? on malformed data/),
    undecoded: count(stderr, /(\d+) packets? not decoded \(/),
    gaps: count(stderr, /(\d+) gaps? in streams/),
    pushes: count(stderr, /(\d+) server push(?:es)?\b/),
    dropped: count(stderr, /(\d+) requests? dropped/),
  };
}

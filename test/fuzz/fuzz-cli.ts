// The long fuzz run: damaged captures through `tcpkit -r`, as a user would run
// it, for as long as asked. A run passes when tcpkit exits 0, or 1 with one
// line saying what was wrong with the file; anything else (another status, a
// signal, a hang, a stack trace, `internal error`) is a failure, and its input
// is kept for replay.
//
//   make fuzz FUZZ_MINUTES=10
//   node dist/test/fuzz/fuzz-cli.js --minutes 10 [--seed N] [--jobs 2] [--out DIR]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BYTE_MUTATIONS, MODES, PORT, captureBytes, mutateBytes, random, randomCase } from './captures';
import { corpusCaptures, option } from './options';
import { CLI } from '../helpers/run';

const minutes = Number(option('--minutes', '5'));
const seed = Number(option('--seed', String(Date.now() % 2 ** 31)));
const jobs = Math.max(1, Number(option('--jobs', String(Math.min(2, os.cpus().length)))));
const out = option('--out', path.join(os.tmpdir(), 'tcpkit-fuzz-failures'));
const HANG_MS = 30_000;
const END_LINE =
  /^tcpkit: .+: (the file is cut short \(.*\); reported what was whole|the file is damaged after packet \d+ \(.*\); reported the packets before it|not a capture libpcap can read \(.*\)|is empty, not a capture file)$/;

const next = random(seed);
const real = corpusCaptures().map((f) => fs.readFileSync(f));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-fuzz-'));
const tally = { runs: 0, exit0: 0, exit1: 0, failures: 0, lines: 0 };
const deadline = Date.now() + minutes * 60_000;

/** One damaged capture and the mode to read it in. */
function nextCase(): { bytes: Buffer; mode: (typeof MODES)[number] } {
  if (real.length > 0 && next() % 4 === 0) {
    const base = real[next() % real.length];
    const muts = Array.from({ length: 1 + (next() % 8) }, () => ({ kind: BYTE_MUTATIONS[next() % BYTE_MUTATIONS.length], at: next(), value: next() }));
    return { bytes: mutateBytes(base, muts), mode: MODES[next() % MODES.length] };
  }
  const c = randomCase(next);
  return { bytes: captureBytes(c.seed, c.frames, c.bytes, c.format, c.snaplen), mode: c.seed.mode };
}

function verdict(code: number | null, signal: NodeJS.Signals | null, stderr: string, hung: boolean): string | null {
  if (hung) return `no exit after ${HANG_MS / 1000} s`;
  if (signal !== null) return `killed by ${signal}`;
  if (/internal error|\n\s+at /.test(stderr)) return 'internal error or stack trace';
  if (code === 0) return null;
  if (code === 1) return END_LINE.test(stderr.trimEnd().split('\n').pop() ?? '') ? null : 'exit 1 without the line that says why';
  return `exit ${code}`;
}

async function worker(id: number): Promise<void> {
  const file = path.join(work, `case-${id}.pcap`);
  while (Date.now() < deadline) {
    const { bytes, mode } = nextCase();
    fs.writeFileSync(file, bytes);
    const args = [CLI, '-r', file, '-p', String(PORT[mode]), '-m', mode];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TZ: 'UTC' } });
    let stderr = '';
    let lines = 0;
    child.stdout.on('data', (d: Buffer) => {
      for (const b of d) if (b === 10) lines++;
    });
    child.stderr.on('data', (d) => (stderr += d));
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, HANG_MS);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('exit', (c, s) => r([c, s])));
    clearTimeout(timer);
    tally.runs++;
    tally.lines += lines;
    if (code === 0) tally.exit0++;
    if (code === 1) tally.exit1++;
    const bad = verdict(code, signal, stderr, hung);
    if (bad !== null) {
      tally.failures++;
      fs.mkdirSync(out, { recursive: true });
      const keep = path.join(out, `failure-${seed}-${tally.runs}.pcap`);
      fs.writeFileSync(keep, bytes);
      fs.writeFileSync(`${keep}.txt`, `${bad}\ntcpkit ${args.slice(1).join(' ')}\n\n${stderr}`);
      process.stderr.write(`fuzz-cli: FAILURE (${bad}): input kept as ${keep}\n`);
    }
  }
}

async function main(): Promise<void> {
  process.stdout.write(`fuzz-cli: ${minutes} min, ${jobs} jobs, seed ${seed}, ${real.length} real captures among the seeds\n`);
  const started = Date.now();
  try {
    await Promise.all(Array.from({ length: jobs }, (_, i) => worker(i)));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const s = (Date.now() - started) / 1000;
  process.stdout.write(
    `fuzz-cli: ${tally.runs} damaged captures in ${s.toFixed(0)} s: ${tally.exit0} exit 0, ${tally.exit1} exit 1 with the reason, ` +
      `${tally.lines} lines printed, ${tally.failures} failures\n`,
  );
  process.exitCode = tally.failures === 0 ? 0 : 1;
}

void main();

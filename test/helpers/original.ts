// The original 2019 C tcpkit, built from ../shared/reference/ (the measuring
// stick and the reference output): where it is, and what it printed with its
// own log lines taken out.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './run';

/** ../shared/reference beside the checkout. */
export const REFERENCE = path.resolve(ROOT, '..', 'shared', 'reference');
const BUILD = path.join(REFERENCE, 'build-original.sh');
/** Where it is built (build-original.sh reuses a build that is there). */
export const ORIGINAL_DIR = process.env.TCPKIT_ORIGINAL_DIR ?? path.join(os.tmpdir(), 'tcpkit-original-2019');

/** Why the original cannot be had here (../shared is absent), or null. */
export function originalMissing(): string | null {
  return fs.existsSync(BUILD) ? null : `${BUILD} is absent (no ../shared beside the checkout)`;
}

/** Builds the original once (gcc, libpcap-dev) and returns its path. Throws when the build fails. */
export function originalTcpkit(): string {
  const bin = path.join(ORIGINAL_DIR, 'tcpkit');
  if (fs.existsSync(bin)) return bin;
  const r = spawnSync('bash', [BUILD, ORIGINAL_DIR], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0 || !fs.existsSync(bin)) throw new Error(`build-original.sh failed: ${r.stderr}${r.stdout}`);
  return bin;
}

export interface OriginalRun {
  code: number;
  /** The script's output: standard output without the original's own log lines. */
  stdout: Buffer;
  stderr: string;
}

const ESC = 0x1b;
/** The interface stats the original prints at the end (rlog, not the script's). */
const STATS = Buffer.from('======================== interface stats ========================\n');

/**
 * Standard output less what the original itself logs there: its colored
 * "[INFO]" lines (each starts with ESC [) and the interface stats block at
 * the end. The rest is what the Lua script printed, byte for byte.
 */
export function scriptOutput(out: Buffer): Buffer {
  let end = out.length;
  const stats = out.lastIndexOf(STATS);
  if (stats >= 0 && (stats === 0 || out[stats - 1] === 10)) end = stats;
  const parts: Buffer[] = [];
  for (let i = 0; i < end; ) {
    let nl = out.indexOf(10, i);
    nl = nl < 0 || nl >= end ? end : nl + 1;
    if (!(out[i] === ESC && out[i + 1] === 0x5b && (i === 0 || out[i - 1] === 10))) parts.push(out.subarray(i, nl));
    i = nl;
  }
  return Buffer.concat(parts);
}

/** Runs the original with args (TZ=UTC), in cwd. */
export function runOriginal(args: string[], cwd = ROOT): OriginalRun {
  const r = spawnSync(originalTcpkit(), args, { cwd, env: { ...process.env, TZ: 'UTC' }, timeout: 120_000, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: scriptOutput(r.stdout), stderr: r.stderr.toString() };
}

// Runs the built tcpkit under GNU time to learn its peak resident set size.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { CLI, type RunResult } from './run';

const TIME = '/usr/bin/time';

/** Why peak memory cannot be measured here, or null when it can. */
export function measureUnavailable(): string | null {
  return fs.existsSync(TIME) ? null : `${TIME} is not installed (Debian package 'time'; make setup installs it)`;
}

/** tcpkit's result, and its peak RSS in KiB (the kernel's ru_maxrss, which GNU time prints as %M). */
export function tcpkitPeak(args: string[], timeoutMs = 300_000): RunResult & { peakKiB: number } {
  const marker = 'tcpkit-peak-rss-kib:';
  const r = spawnSync(TIME, ['-f', `${marker}%M`, process.execPath, CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC' },
    timeout: timeoutMs,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  const at = r.stderr.lastIndexOf(marker);
  if (at < 0) throw new Error(`no peak from ${TIME}: ${r.stderr}`);
  return {
    code: r.status ?? -1,
    stdout: r.stdout,
    stderr: r.stderr.slice(0, at),
    peakKiB: Number(r.stderr.slice(at + marker.length).trim()),
  };
}

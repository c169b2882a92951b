// Faults while reading a large capture: the reader of the output goes away
// (`tcpkit -r big.pcap | head -1`), or SIGINT/SIGTERM comes at any moment.
// tcpkit stops quietly: what it has is flushed, the summary printed, exit 0,
// no EPIPE and no stack trace.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Conversation, PcapStream } from '../helpers/pcap-writer';
import { CLI, parseLines, parseSummary } from '../helpers/run';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-faults-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const big = path.join(dir, 'big.pcap');
const CONNECTIONS = 1000;
const EXCHANGES = 250;
let packets = 0;

before(() => {
  // 1,000 connections of 250 SET/+OK each, one after another: 506,000 packets, ~50 MB.
  const out = new PcapStream(big, 'ethernet');
  const T0 = 1_600_000_000_000_000;
  for (let c = 0; c < CONNECTIONS; c++) {
    const t = T0 + c * 30_000;
    const conv = new Conversation('ethernet', `10.1.${c >> 8}.${c & 255}`, 30000 + c, '10.0.0.1', 6379).handshake(t);
    for (let i = 0; i < EXCHANGES; i++) conv.request(t + 100 + i * 100, `*3\r\n$3\r\nSET\r\n$4\r\nk${String(i).padStart(3, '0')}\r\n$1\r\nv\r\n`).response(t + 150 + i * 100, '+OK\r\n');
    conv.close(t + 100 + EXCHANGES * 100);
    for (const f of conv.frames) out.write(f);
  }
  out.close();
  packets = out.packets;
});

function run(script: string): { stdout: string; stderr: string; status: string } {
  const err = path.join(dir, 'stderr');
  const status = path.join(dir, 'status');
  const r = spawnSync('bash', ['-c', `${script.replace('TCPKIT', `'${process.execPath}' '${CLI}'`)}; echo "\${PIPESTATUS[0]}" > '${status}'`], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC', ERR: err },
    timeout: 60_000,
  });
  return { stdout: r.stdout, stderr: fs.existsSync(err) ? fs.readFileSync(err, 'utf8') : r.stderr, status: fs.readFileSync(status, 'utf8').trim() };
}

test('tcpkit -r big.pcap | head -1: one line, then a quiet stop with the summary, exit 0', () => {
  const r = run(`TCPKIT -r '${big}' -p 6379 -m redis 2>"$ERR" | head -1`);
  assert.equal(r.status, '0', r.stderr);
  assert.equal(parseLines(r.stdout).length, 1);
  assert.doesNotMatch(r.stderr, /EPIPE|\n\s+at |internal error/);
  const read = Number(/: (\d+) packets in /.exec(r.stderr)?.[1]);
  assert.ok(read > 0 && read < packets, `stopped early: read ${read} of ${packets} packets`);
  assert.ok(parseSummary(r.stderr).answered > 0);
});

test('tcpkit -r big.pcap 2>&1 | head -1: the summary has nowhere to go either, still exit 0', () => {
  const r = run(`TCPKIT -r '${big}' -p 6379 -m redis 2>&1 | head -1`);
  assert.equal(r.status, '0');
  assert.equal(parseLines(r.stdout).length, 1);
});

test('tcpkit -r big.pcap -m raw | head -3: raw mode stops too', () => {
  const r = run(`TCPKIT -r '${big}' -p 6379 -m raw 2>"$ERR" | head -3`);
  assert.equal(r.status, '0', r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 3);
  assert.doesNotMatch(r.stderr, /EPIPE|\n\s+at |internal error/);
});

/** Whether the process has the file open: tcpkit is reading it (its signal handlers came first). */
function hasOpen(pid: number, file: string): boolean {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === file;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} at any moment of tcpkit -r: lines flushed, summary printed, exit 0, promptly`, { timeout: 120_000 }, async () => {
    const stops: string[] = [];
    // From the moment tcpkit has the file open. (Its handlers are in place
    // from its first module on; before that, Node is still starting and a
    // signal gets its default action.)
    for (const delay of [0, 10, 30, 60, 100, 150, 200, 300, 450, 600]) {
      const out = path.join(dir, `lines-${signal}-${delay}.txt`);
      const child = spawn(process.execPath, [CLI, '-r', big, '-p', '6379', '-m', 'redis', '-o', out], { env: { ...process.env, TZ: 'UTC' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, sig) => resolve([code, sig])));
      const deadline = Date.now() + 20_000;
      while (!hasOpen(child.pid!, big) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      await new Promise((r) => setTimeout(r, delay));
      const sent = Date.now();
      child.kill(signal);
      const [code, sig] = await exited;
      const tookMs = Date.now() - sent;
      if (sig !== null) {
        // The one way the signal may still end the process: it landed after
        // the run had ended and said so, during node's own teardown, where
        // libuv has already put the signal's default action back. Then the
        // whole file was read and the summary is out; anything less is a
        // signal that was not handled.
        assert.equal(sig, signal);
        assert.equal(Number(/: (\d+) packets in /.exec(stderr)?.[1]), packets, `killed by ${sig} before the run ended:\n${stderr}`);
      } else {
        assert.equal(code, 0, stderr);
      }
      assert.ok(tookMs < 5000, `exited ${tookMs} ms after ${signal}`);
      assert.doesNotMatch(stderr, /\n\s+at |internal error|cut short/);
      const summary = parseSummary(stderr);
      // Every transaction counted in the summary is in the file: the lines were flushed.
      const lines = fs.existsSync(out) ? parseLines(fs.readFileSync(out, 'utf8')) : [];
      assert.equal(lines.length, summary.answered + summary.noResponse + summary.inFlight, `delay ${delay}`);
      const read = Number(/: (\d+) packets in /.exec(stderr)?.[1]);
      assert.ok(read <= packets);
      // The signal stopped the reading: the whole file takes longer than this
      // to read (about 0.5 s at 1 M packets/s), so an early signal leaves most of it.
      if (delay <= 100) assert.ok(read < packets / 2, `${signal} ${delay} ms after the file opened, yet ${read} of ${packets} packets were read`);
      stops.push(`${delay} ms: ${read} (${tookMs} ms to exit)`);
    }
    process.stdout.write(`# ${signal}: packets read when stopped, by delay after it opened the file: ${stops.join(', ')}; of ${packets}\n`);
  });
}

test('SIGHUP during tcpkit -r -o FILE: the moved file keeps what came before, a new FILE gets the rest, nothing lost', { timeout: 60_000 }, async () => {
  const out = path.join(dir, 'rotated.txt');
  const moved = `${out}.1`;
  const child = spawn(process.execPath, [CLI, '-r', big, '-p', '6379', '-m', 'redis', '-o', out], { env: { ...process.env, TZ: 'UTC' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, sig) => resolve([code, sig])));
  // Lines are being written (so SIGHUP is handled): move the file as logrotate would, then SIGHUP.
  const deadline = Date.now() + 20_000;
  while (child.exitCode === null && Date.now() < deadline && !(fs.existsSync(out) && fs.statSync(out).size > 0)) await new Promise((r) => setTimeout(r, 1));
  assert.equal(child.exitCode, null, 'tcpkit ended before it could be sent SIGHUP');
  fs.renameSync(out, moved);
  child.kill('SIGHUP');
  const [code, sig] = await exited;
  assert.equal(sig, null, `killed by ${sig}`);
  assert.equal(code, 0, stderr);
  assert.ok(fs.existsSync(out), 'SIGHUP opened FILE again');
  const before = parseLines(fs.readFileSync(moved, 'utf8'));
  const afterHup = parseLines(fs.readFileSync(out, 'utf8'));
  assert.ok(before.length > 0 && afterHup.length > 0, `${before.length} lines before SIGHUP, ${afterHup.length} after`);
  const summary = parseSummary(stderr);
  assert.equal(summary.answered, CONNECTIONS * EXCHANGES);
  assert.equal(before.length + afterHup.length, CONNECTIONS * EXCHANGES);
  // In order across the two files: the new file begins where the moved one ends.
  assert.ok(before[before.length - 1].time <= afterHup[0].time);
});

// Faults during live capture, as users meet them: SIGINT or SIGTERM in the
// middle of heavy traffic, kill -9, a ring buffer too small for the load,
// and running as nobody after the capture is attached (-Z). The host must be
// left as it was, and losses must be reported, never silent.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { Lab, labUnavailable, tempDir, type Commands } from '../helpers/netns';
import { assertLeftAsItWas, bpfHeldBy, kernelState, type BpfObjects } from '../helpers/kernel-state';
import { parseLines, parseSummary, tcpkit } from '../helpers/run';

const why = labUnavailable() ?? (spawnSync('sh', ['-c', 'command -v redis-benchmark']).status === 0 ? null : 'redis-benchmark is not installed (make setup)');
if (why) process.stdout.write(`# faults-live: skipped, ${why}\n`);

type Engine = 'ebpf' | 'libpcap';
const ENGINES: Engine[] = ['ebpf', 'libpcap'];
const engineArgs = (e: Engine): string[] => (e === 'ebpf' ? ['--ebpf'] : []);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const session: Commands = [
  ['SET', 'k', 'v'],
  ['GET', 'k'],
  ['DEL', 'k'],
];

/** /proc/PID/status fields as text. */
function status(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const at = line.indexOf(':');
    if (at > 0) out[line.slice(0, at)] = line.slice(at + 1).trim();
  }
  return out;
}

describe('live capture under faults', { skip: why ?? false }, () => {
  let lab: Lab;
  let tmp: ReturnType<typeof tempDir>;
  let nsList: string[];

  before(async () => {
    tmp = tempDir('tk-faults-live-');
    lab = Lab.create();
    nsList = [lab.ns.server, lab.ns.client];
    await lab.startRedis();
  });

  after(async () => {
    await lab?.destroy();
    tmp?.remove();
  });

  // Other tcpkits may run on this host meanwhile (their programs come and go
  // in the host-wide lists): the state compared is this lab's, and the BPF
  // objects checked are the ones this tcpkit held.
  const snapshot = (): string => kernelState(nsList, { hostBpf: false });

  /** What the tcpkit of `pid` holds in the kernel; with eBPF, at least its program. */
  function heldBy(pid: number, engine: Engine): BpfObjects {
    const held = bpfHeldBy(pid);
    if (engine === 'ebpf') assert.ok(held.prog.length > 0, 'while it runs, its program is loaded');
    return held;
  }

  const asItWas = (state: string, held: BpfObjects): Promise<void> => assertLeftAsItWas(state, held, nsList);

  /** redis-benchmark from the client host until stopped: -P 16, 20 connections. */
  function load(extra: string[] = []): { proc: ChildProcess; stop: () => Promise<void> } {
    const proc = lab.spawn('client', ['redis-benchmark', '-h', lab.ip4.server, '-p', '6379', '-t', 'set,get', '-n', '100000000', '-c', '20', '-P', '16', '-q', ...extra]);
    const done = new Promise<void>((r) => proc.once('exit', () => r()));
    return {
      proc,
      stop: async () => {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT');
        await done;
      },
    };
  }

  for (const engine of ENGINES) {
    for (const [signal, afterMs] of [['SIGINT', 150], ['SIGTERM', 700], ['SIGINT', 1500]] as const) {
      test(`${engine}: ${signal} ${afterMs} ms into heavy traffic: summary, exit 0 within 2 s, the kernel as it was`, async () => {
        const state = snapshot();
        const tk = await lab.tcpkit('server', [...engineArgs(engine), '-i', lab.dev.server, '-p', '6379', '-m', 'redis', '-o', '/dev/null']);
        const held = heldBy(tk.proc.pid!, engine);
        const bench = load();
        try {
          await sleep(afterMs);
          const exited = new Promise<number | null>((r) => tk.proc.once('exit', (code) => r(code)));
          const sent = Date.now();
          tk.proc.kill(signal); // once: a second signal would end it at once, by design
          const code = await exited;
          const took = Date.now() - sent;
          assert.equal(code, 0, tk.stderr);
          assert.ok(took < 2000, `exited ${took} ms after ${signal}`);
        } finally {
          await bench.stop();
        }
        assert.doesNotMatch(tk.stderr, /\n\s+at |internal error/);
        assert.ok(parseSummary(tk.stderr).answered > 0, tk.stderr);
        assert.match(tk.stderr, engine === 'ebpf' ? /^tcpkit: ebpf: \d+ packets seen in the kernel/m : /^tcpkit: libpcap: \d+ packets received by the filter/m);
        await asItWas(state, held);
      });
    }

    test(`${engine}: kill -9 in the middle of heavy traffic leaves nothing behind`, async () => {
      const state = snapshot();
      const tk = await lab.tcpkit('server', [...engineArgs(engine), '-p', '6379', '-m', 'redis', '-o', '/dev/null']);
      const held = heldBy(tk.proc.pid!, engine);
      const bench = load();
      try {
        await sleep(800);
        assert.equal(await tk.stop('SIGKILL'), null);
      } finally {
        await bench.stop();
      }
      await asItWas(state, held);
      // The next start works as if nothing had happened.
      const next = await lab.tcpkit('server', [...engineArgs(engine), '-p', '6379', '-m', 'redis']);
      const nextHeld = heldBy(next.proc.pid!, engine);
      assert.equal(lab.redis(session), session.length);
      assert.equal(await next.stop(), 0, next.stderr);
      assert.deepEqual(parseLines(next.stdout).map((l) => l.request), ['SET k v', 'GET k', 'DEL k']);
      await asItWas(state, nextHeld);
    });
  }

  for (const engine of ENGINES) {
    test(`${engine}: a buffer too small for the load loses packets, and says so while running and in the summary`, async () => {
      const state = snapshot();
      // eBPF -B 4: a 4 KiB ring, sixteen small samples between two reads;
      // libpcap -B 1: the smallest packet ring libpcap will make.
      const tk = await lab.tcpkit('server', [...engineArgs(engine), '-i', lab.dev.server, '-p', '6379', '-m', 'redis', '-B', engine === 'ebpf' ? '4' : '1', '-o', '/dev/null']);
      if (engine === 'ebpf') assert.match(tk.stderr, /ring buffer 4 KiB\)/);
      const held = heldBy(tk.proc.pid!, engine);
      const bench = load();
      try {
        for (let i = 0; i < 60 && !/packets lost/.test(tk.stderr); i++) await sleep(100);
      } finally {
        await bench.stop();
      }
      assert.equal(await tk.stop(), 0, tk.stderr);
      const where = engine === 'ebpf' ? 'ring buffer full' : 'capture buffer full, or dropped by the interface';
      const running = new RegExp(`^tcpkit: ${engine}: (\\d+) packets lost \\(${where}\\), (\\d+) since the start; a larger -B may help$`, 'm').exec(tk.stderr);
      assert.ok(running && Number(running[1]) > 0, `a line while running:\n${tk.stderr}`);
      let lost: number;
      if (engine === 'ebpf') {
        const m = /^tcpkit: ebpf: (\d+) packets seen in the kernel, (\d+) matched, \d+ pure ACKs left there, (\d+) sent up, (\d+) lost \(ring buffer full\)$/m.exec(tk.stderr);
        assert.ok(m, tk.stderr);
        lost = Number(m[4]);
        assert.ok(Number(m[3]) + lost <= Number(m[2]), 'sent + lost <= matched');
      } else {
        const m = /^tcpkit: libpcap: (\d+) packets received by the filter, (\d+) delivered, (\d+) dropped \(buffer full\), (\d+) dropped by the interface$/m.exec(tk.stderr);
        assert.ok(m, tk.stderr);
        lost = Number(m[3]) + Number(m[4]);
      }
      assert.ok(lost >= Number(running[2]) && lost > 0, `lost ${lost}`);
      // What was lost shows downstream too: gaps in the streams.
      assert.match(tk.stderr, /\d+ gaps in streams/);
      process.stdout.write(`# ${engine}: ${lost} packets lost with the small buffer\n`);
      await asItWas(state, held);
    });
  }

  for (const engine of ENGINES) {
    test(`${engine}: -Z nobody: runs as nobody with no capabilities once attached, and still reports every request`, async () => {
      const state = snapshot();
      // -w into a directory only root may write: opened before root is given up.
      const dir = path.join(tmp.dir, `z-${engine}`);
      fs.mkdirSync(dir, { mode: 0o700 });
      const file = path.join(dir, 'capture.pcap');
      const tk = await lab.tcpkit('server', [...engineArgs(engine), '-i', lab.dev.server, '-p', '6379', '-m', 'redis', '-Z', 'nobody', '-w', file]);
      const held = heldBy(tk.proc.pid!, engine);
      let s: Record<string, string> = {};
      for (let i = 0; i < 50; i++) {
        s = status(tk.proc.pid!);
        if (s.Uid === '65534\t65534\t65534\t65534') break;
        await sleep(20);
      }
      assert.equal(s.Uid, '65534\t65534\t65534\t65534', 'real, effective, saved and filesystem uid: nobody');
      assert.equal(s.Gid, '65534\t65534\t65534\t65534');
      assert.equal(s.Groups, '65534');
      for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.equal(s[set], '0000000000000000', set);
      assert.equal(s.NoNewPrivs, '1');
      assert.equal(lab.redis(session), session.length);
      assert.equal(lab.redis(session, { ipv6: true }), session.length);
      assert.equal(await tk.stop('SIGTERM'), 0, tk.stderr);
      const lines = parseLines(tk.stdout);
      assert.deepEqual(lines.map((l) => l.request), ['SET k v', 'GET k', 'DEL k', 'SET k v', 'GET k', 'DEL k']);
      assert.match(tk.stderr, engine === 'ebpf' ? /^tcpkit: ebpf: .*, 0 lost \(ring buffer full\)$/m : /^tcpkit: libpcap: .*, 0 dropped \(buffer full\)/m);
      const wrote = /wrote (\d+) packets to /.exec(tk.stderr);
      assert.ok(wrote && Number(wrote[1]) > 0);
      const offline = tcpkit(['-r', file, '-p', '6379', '-m', 'redis']);
      assert.deepEqual(parseLines(offline.stdout), lines, 'the -w file, written as nobody, holds the same requests');
      await asItWas(state, held);
    });
  }
});

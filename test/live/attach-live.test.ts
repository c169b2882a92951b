// Where --ebpf attaches its program. On a named Ethernet or loopback
// interface, in payload mode, it is tcx (Linux 6.6+): bpf_links at the
// interface's own hooks, no AF_PACKET tap. Elsewhere, and for whole packets
// (-S, -w, raw mode), a socket filter. TCPKIT_EBPF_ATTACH chooses one. Each
// way must pair every request, see each packet once, and leave nothing
// behind, kill -9 included.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Lab, labUnavailable, type Commands, type RunningTcpkit } from '../helpers/netns';
import { assertLeftAsItWas, bpfHeldBy, kernelState, type BpfObjects } from '../helpers/kernel-state';
import { parseLines, parseSummary } from '../helpers/run';

/** tcx needs Linux 6.6; on an older kernel, auto falls back, and these tests say why they did not run. */
function tcxUnavailable(): string | null {
  const m = /^(\d+)\.(\d+)/.exec(spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout);
  if (!m) return 'cannot read the kernel version';
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 6 || (major === 6 && minor >= 6) ? null : `tcx needs Linux 6.6 or later (this is ${m[0]})`;
}

const why = labUnavailable() ?? tcxUnavailable();
if (why) process.stdout.write(`# attach-live: skipped, ${why}\n`);

const session: Commands = [
  ['SET', 'k', 'v'],
  ['GET', 'k'],
  ['DEL', 'k'],
];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('where --ebpf attaches: tcx, or a socket filter', { skip: why ?? false }, () => {
  let lab: Lab;
  let nsList: string[];

  before(async () => {
    lab = Lab.create();
    nsList = [lab.ns.server, lab.ns.client];
    await lab.startRedis();
  });

  after(async () => {
    await lab?.destroy();
  });

  const snapshot = (): string => kernelState(nsList, { hostBpf: false });
  /** TCPKIT_EBPF_ATTACH for one run: lab.tcpkit runs `exec tcpkit` under this shell. */
  const withAttach = (v: string): string[] => ['env', `TCPKIT_EBPF_ATTACH=${v}`, 'sh'];

  const asItWas = (state: string, held: BpfObjects): Promise<void> => assertLeftAsItWas(state, held, nsList);

  /**
   * tcpkit on the server side while `load` runs, then SIGINT, which must end
   * it with 0. `held`: its BPF objects, read while it ran.
   */
  async function capture(args: string[], load: () => void, wrap: string[] = []): Promise<{ tk: RunningTcpkit; held: BpfObjects }> {
    const tk = await lab.tcpkit('server', args, wrap);
    const held = bpfHeldBy(tk.proc.pid!);
    let code: number | null;
    try {
      load();
    } finally {
      code = await tk.stop('SIGINT');
    }
    assert.equal(code, 0, tk.stderr);
    return { tk, held };
  }
  const requests = (tk: RunningTcpkit): string[] => parseLines(tk.stdout).map((l) => l.request);
  const runSession = (): void => assert.equal(lab.redis(session), session.length);

  test('the veth, payload mode: tcx at ingress and egress (two links); every request paired; SIGINT leaves nothing', async () => {
    const state = snapshot();
    const { tk, held } = await capture(['--ebpf', '-i', lab.dev.server, '-p', '6379', '-m', 'redis'], runSession);
    assert.match(tk.stderr, new RegExp(`capturing with eBPF on ${lab.dev.server}, .*\\(tcx, ring buffer \\d+ KiB\\)`));
    assert.equal(held.prog.length, 2, 'the ingress and the egress program');
    assert.equal(held.link.length, 2, 'one tcx link at each hook');
    assert.deepEqual(requests(tk), ['SET k v', 'GET k', 'DEL k']);
    assert.match(tk.stderr, /^tcpkit: ebpf: \d+ packets seen in the kernel, .* 0 lost/m);
    await asItWas(state, held);
  });

  test('tcx: kill -9 under load leaves no link, program or map; the next start works', async () => {
    const state = snapshot();
    const tk = await lab.tcpkit('server', ['--ebpf', '-i', lab.dev.server, '-p', '6379', '-m', 'redis', '-o', '/dev/null']);
    const held = bpfHeldBy(tk.proc.pid!);
    assert.equal(held.link.length, 2, tk.stderr);
    const bench = lab.spawn('client', ['redis-benchmark', '-h', lab.ip4.server, '-p', '6379', '-t', 'get', '-n', '100000000', '-c', '20', '-P', '16', '-q']);
    try {
      await sleep(800);
      assert.equal(await tk.stop('SIGKILL'), null);
    } finally {
      bench.kill('SIGTERM');
      await new Promise<void>((r) => (bench.exitCode !== null || bench.signalCode !== null ? r() : bench.once('exit', () => r())));
    }
    await asItWas(state, held);
    const { tk: next, held: nextHeld } = await capture(['--ebpf', '-i', lab.dev.server, '-p', '6379', '-m', 'redis'], runSession);
    assert.match(next.stderr, /\(tcx, ring buffer/);
    assert.deepEqual(requests(next), ['SET k v', 'GET k', 'DEL k']);
    await asItWas(state, nextHeld);
  });

  test('tcx on lo: ingress only (one link), each packet once, IPv4 and IPv6', async () => {
    const state = snapshot();
    const { tk, held } = await capture(['--ebpf', '-i', 'lo', '-p', '6379', '-m', 'redis'], () => {
      assert.equal(lab.redis(session, { loopback: true }), session.length);
      assert.equal(lab.redis(session, { loopback: true, ipv6: true }), session.length);
    });
    assert.match(tk.stderr, /capturing with eBPF on lo, .*\(tcx, /);
    assert.equal(held.link.length, 1, 'loopback: every packet that goes out comes back in');
    const lines = parseLines(tk.stdout);
    assert.deepEqual(lines.map((l) => l.request), [...session, ...session].map((c) => c.join(' ')));
    assert.deepEqual(lines.map((l) => l.server), ['127.0.0.1:6379', '127.0.0.1:6379', '127.0.0.1:6379', '[::1]:6379', '[::1]:6379', '[::1]:6379']);
    const s = parseSummary(tk.stderr);
    assert.deepEqual([s.answered, s.noResponse, s.orphans], [6, 0, 0], tk.stderr);
    // Pairing would hide a packet seen twice (the copy reads as a retransmit):
    // the count shows it. Each command and each reply is one packet.
    assert.match(tk.stderr, /^tcpkit: ebpf lo: \d+ packets in [\d.]+ s: 12 to or from redis on port 6379,/m);
    await asItWas(state, held);
  });

  test('idle, nothing wakes tcpkit (no drain timer, no clock), and the program wakes it with the first request after', async () => {
    const tk = await lab.tcpkit('server', ['--ebpf', '-i', lab.dev.server, '-p', '6379', '-m', 'redis']);
    const pid = tk.proc.pid!;
    const wakeups = (): number => Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8'))![1]);
    let code: number | null;
    try {
      await sleep(1500);
      const before = wakeups();
      await sleep(5000);
      const idle = wakeups() - before;
      // Nothing to watch, nothing woke it: no drain timer (every 50 ms before:
      // about 100 wake-ups in 5 s; a 1 s bound on the sleep: 5) and no clock
      // (tcpkit's once-a-second clock stops while there is nothing to expire).
      // 0 in every run here; 2 leaves room for a stray one.
      assert.ok(idle <= 2, `the main thread woke ${idle} times in 5 s with nothing to watch`);
      for (let k = 0; k < 4; k++) {
        await sleep(1200);
        assert.equal(lab.redis([['GET', `after-idle-${k}`]]), 1);
        const answered = Date.now();
        while (!tk.stdout.includes(`GET after-idle-${k}`) && Date.now() - answered < 3000) await sleep(5);
        const took = Date.now() - answered;
        // A sleeping reader has no timer: unwoken, it would not drain until the next sample came.
        assert.ok(took < 300, `the line for GET after-idle-${k} came ${took} ms after its answer; stderr: ${tk.stderr}`);
      }
    } finally {
      code = await tk.stop('SIGINT');
    }
    assert.equal(code, 0, tk.stderr);
  });

  test('a burst past a quarter of the ring wakes the reader before its timer: 50,000 GETs through a 1 MiB ring, none lost', async () => {
    const { tk } = await capture(['--ebpf', '-i', lab.dev.server, '-p', '6379', '-m', 'redis', '-t', '1000', '-B', '1024'], () => {
      // About 11 MB/s of samples: more than the ring holds between two 100 ms drains.
      lab.exec('client', ['redis-benchmark', '-h', lab.ip4.server, '-p', '6379', '-t', 'get', '-n', '50000', '-c', '50', '-P', '1', '-q']);
    });
    assert.match(tk.stderr, /ring buffer 1024 KiB/);
    assert.match(tk.stderr, /^tcpkit: ebpf: \d+ packets seen in the kernel, .* 0 lost \(ring buffer full\)$/m, tk.stderr);
    // redis-benchmark's two CONFIG GETs, then the GETs.
    assert.equal(parseSummary(tk.stderr).answered, 50_002, tk.stderr);
  });

  test('tcx egress sees a send before segmentation: 2,000 pipelined replies in 64 KiB packets all pair', async () => {
    const value = 'v'.repeat(100);
    const piped: Commands = [['SET', 'big', value], ...Array.from({ length: 2000 }, (): string[] => ['GET', 'big'])];
    const { tk } = await capture(['--ebpf', '-i', lab.dev.server, '-p', '6379', '-m', 'redis', '-t', '1000'], () => {
      assert.equal(lab.redis(piped, { pipeline: true }), piped.length);
    });
    assert.match(tk.stderr, /\(tcx, /);
    const s = parseSummary(tk.stderr);
    assert.deepEqual([s.answered, s.noResponse, s.orphans, s.malformed], [piped.length, 0, 0, 0], tk.stderr);
  });

  test('TCPKIT_EBPF_ATTACH=socket: the socket filter (no link), the same lines', async () => {
    const state = snapshot();
    const { tk, held } = await capture(['--ebpf', '-i', lab.dev.server, '-p', '6379', '-m', 'redis'], runSession, withAttach('socket'));
    assert.match(tk.stderr, /capturing with eBPF on .*\(socket filter, ring buffer/);
    assert.deepEqual([held.prog.length, held.link.length], [1, 0]);
    assert.deepEqual(requests(tk), ['SET k v', 'GET k', 'DEL k']);
    await asItWas(state, held);
  });

  test('without CAP_NET_ADMIN (the service unit\'s three capabilities): the socket filter, and the notice says why not tcx', async () => {
    const caps = ['setpriv', '--bounding-set=-all,+bpf,+perfmon,+net_raw', 'sh'];
    const { tk } = await capture(['--ebpf', '-i', lab.dev.server, '-p', '6379', '-m', 'redis'], runSession, caps);
    assert.match(tk.stderr, /capturing with eBPF on .*\(socket filter \[tcx: needs CAP_NET_ADMIN\], ring buffer/);
    assert.deepEqual(requests(tk), ['SET k v', 'GET k', 'DEL k']);
  });

  test('whole packets (-m raw) come from the socket tap; TCPKIT_EBPF_ATTACH=tcx then says why and falls back to libpcap', async () => {
    const auto = await lab.tcpkit('server', ['--ebpf', '-i', lab.dev.server, '-p', '6379', '-m', 'raw']);
    assert.equal(await auto.stop(), 0, auto.stderr);
    assert.match(auto.stderr, /capturing with eBPF on .*\(socket filter, ring buffer/);
    const forced = await lab.tcpkit('server', ['--ebpf', '-i', lab.dev.server, '-p', '6379', '-m', 'raw'], withAttach('tcx'));
    assert.equal(await forced.stop(), 0, forced.stderr);
    assert.match(forced.stderr, /^tcpkit: eBPF unavailable \(tcx: whole packets \(-S, -w, raw mode\) are read at the socket tap, as the wire carries them\); capturing with libpcap on /m);
  });

  test('TCPKIT_EBPF_ATTACH with another value: one line, exit 2', () => {
    const cli = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');
    const r = spawnSync(process.execPath, [cli, '--ebpf', '-i', 'lo', '-p', '6379', '-m', 'redis'], { encoding: 'utf8', env: { ...process.env, TCPKIT_EBPF_ATTACH: 'xdp' } });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'tcpkit: TCPKIT_EBPF_ATTACH=xdp: say auto, tcx or socket\n');
  });
});

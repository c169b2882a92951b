// Live capture as users run it: a real redis-server in one namespace, a client
// in another, tcpkit on the server side or the client side, on the veth, on
// `any` and on `lo`, with eBPF and with libpcap. After every run the kernel
// must be as it was: no BPF program, qdisc or filter left behind.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { Lab, labUnavailable, tempDir, type Commands, type RunningTcpkit, type Side } from '../helpers/netns';
import { kernelState, kernelStateBefore, settlesTo } from '../helpers/kernel-state';
import { parseLines, tcpkit, type TxLine } from '../helpers/run';

const why = labUnavailable();
if (why) process.stdout.write(`# redis-live: skipped, ${why}\n`);

const session: Commands = [
  ['SET', 'test_key', 'hello'],
  ['GET', 'test_key'],
  ['DEBUG', 'SLEEP', '0.02'],
  ['DEL', 'test_key'],
];
const pipeline: Commands = Array.from({ length: 30 }, (_, i) => ['SET', `p:${i}`, String(i)]);
const ipv6: Commands = [['SET', 'six', '6'], ['GET', 'six']];
const EXPECTED = [...session, ...pipeline, ...ipv6].map((c) => c.join(' '));

type Engine = 'ebpf' | 'libpcap';
const ENGINES: Engine[] = ['ebpf', 'libpcap'];

function engineArgs(engine: Engine): string[] {
  return engine === 'ebpf' ? ['--ebpf'] : [];
}

function checkLines(lines: TxLine[], server: { v4: string; v6: string; port: number }): void {
  assert.deepEqual(lines.map((l) => l.request), EXPECTED);
  const sleep = lines.find((l) => l.request === 'DEBUG SLEEP 0.02')!;
  // The server sleeps at least 20 ms; on a loaded machine it may wake several
  // ms late (27-29 ms seen), so the upper bound only rules out a latency taken
  // from the wrong packets (a later request's answer).
  assert.ok(sleep.latencyMs! >= 20 && sleep.latencyMs! <= 100, `DEBUG SLEEP 0.02 read ${sleep.latencyMs} ms`);
  const piped = lines.filter((l) => l.request.startsWith('SET p:'));
  assert.equal(piped.length, 30);
  assert.equal(new Set(piped.map((l) => l.client)).size, 1);
  for (const l of lines.slice(0, session.length + pipeline.length)) assert.equal(l.server, `${server.v4}:${server.port}`);
  for (const l of lines.slice(session.length + pipeline.length)) assert.equal(l.server, `[${server.v6}]:${server.port}`);
}

describe('live capture of a real redis-server', { skip: why ?? false }, () => {
  let lab: Lab;
  let tmp: ReturnType<typeof tempDir>;
  let nsList: string[];

  before(async () => {
    tmp = tempDir('tk-live-');
    lab = Lab.create();
    nsList = [lab.ns.server, lab.ns.client];
    await lab.startRedis();
  });

  after(async () => {
    await lab?.destroy();
    tmp?.remove();
  });

  /** Runs the session while tcpkit captures; returns its lines and stderr. */
  async function capture(side: Side, args: string[], opts: { loopback?: boolean; wrap?: string[] } = {}) {
    const state = await kernelStateBefore(nsList);
    const tk = await lab.tcpkit(side, args, opts.wrap);
    let code: number | null;
    try {
      assert.equal(lab.redis(session, { loopback: opts.loopback }), session.length);
      assert.equal(lab.redis(pipeline, { pipeline: true, loopback: opts.loopback }), pipeline.length);
      assert.equal(lab.redis(ipv6, { ipv6: true, loopback: opts.loopback }), ipv6.length);
    } finally {
      code = await tk.stop('SIGINT');
    }
    assert.equal(code, 0, tk.stderr);
    assert.equal(await settlesTo(state, nsList), state, 'the kernel is as it was before tcpkit ran');
    const raw = args[args.indexOf('-m') + 1] === 'raw';
    return { lines: raw ? [] : parseLines(tk.stdout), stderr: tk.stderr, tk };
  }

  for (const engine of ENGINES) {
    const name = engine === 'ebpf' ? 'eBPF' : 'libpcap';

    test(`${name}, server side on the veth: every request, DEBUG SLEEP 0.02 at 20-25 ms, pipeline of 30, IPv6`, async () => {
      const { lines, stderr } = await capture('server', [...engineArgs(engine), '-i', lab.dev.server, '-p', '6379', '-m', 'redis']);
      assert.match(stderr, new RegExp(`^tcpkit: capturing with ${engine === 'ebpf' ? 'eBPF' : 'libpcap'} on ${lab.dev.server}, tcp and \\(port 6379\\)`, 'm'));
      checkLines(lines, { v4: lab.ip4.server, v6: lab.ip6.server, port: 6379 });
      assert.match(stderr, /requests: 36 answered, 0 without response/);
      if (engine === 'ebpf') assert.match(stderr, /tcpkit: ebpf: \d+ packets seen in the kernel, \d+ matched, \d+ pure ACKs left there, \d+ sent up, 0 lost/);
      else assert.match(stderr, /tcpkit: libpcap: \d+ packets received by the filter, \d+ delivered, 0 dropped/);
    });

    test(`${name}, server side on any`, async () => {
      const { lines } = await capture('server', [...engineArgs(engine), '-p', '6379', '-m', 'redis']);
      checkLines(lines, { v4: lab.ip4.server, v6: lab.ip6.server, port: 6379 });
    });

    test(`${name}, client side: -s names the servers, latency is the round trip`, async () => {
      const { lines } = await capture('client', [...engineArgs(engine), '-s', `${lab.ip4.server},${lab.ip6.server}`, '-p', '6379', '-m', 'redis']);
      checkLines(lines, { v4: lab.ip4.server, v6: lab.ip6.server, port: 6379 });
      for (const l of lines) assert.ok(l.client.includes(lab.ip4.client) || l.client.includes(lab.ip6.client), l.client);
    });

    test(`${name}, -s with another server's address: nothing reported`, async () => {
      const { lines, stderr } = await capture('client', [...engineArgs(engine), '-s', '10.255.255.1', '-p', '6379', '-m', 'redis']);
      assert.equal(lines.length, 0);
      assert.match(stderr, /requests: 0 answered/);
    });

    test(`${name}, on lo: each packet seen once`, async () => {
      const { lines } = await capture('server', [...engineArgs(engine), '-i', 'lo', '-p', '6379', '-m', 'redis'], { loopback: true });
      checkLines(lines, { v4: '127.0.0.1', v6: '::1', port: 6379 });
      // Raw mode prints every packet: as many as tcpdump sees on lo.
      const pcap = path.join(tmp.dir, `lo-${engine}.pcap`);
      const dump = await lab.startTcpdump('server', pcap, 'tcp port 6379', 'lo');
      const raw = await lab.tcpkit('server', [...engineArgs(engine), '-i', 'lo', '-p', '6379', '-m', 'raw']);
      lab.redis(session, { loopback: true });
      assert.equal(await raw.stop(), 0, raw.stderr);
      await dump.stop();
      // Raw mode prints the packets that carry payload.
      const seen = spawnSync('tcpdump', ['-nn', '-r', pcap], { encoding: 'utf8' }).stdout.trim().split('\n');
      const withPayload = seen.filter((l) => !/ length 0$/.test(l)).length;
      assert.equal(withPayload, 2 * session.length);
      assert.equal(raw.stdout.trim().split('\n').length, withPayload, raw.stdout);
    });

    test(`${name}, -w: a pcap tcpdump reads and tcpkit -r analyses to the same lines`, async () => {
      const file = path.join(tmp.dir, `w-${engine}.pcap`);
      const { lines, stderr } = await capture('server', [...engineArgs(engine), '-p', '6379', '-m', 'redis', '-w', file]);
      const wrote = /wrote (\d+) packets to (.*)$/m.exec(stderr);
      assert.ok(wrote && wrote[2] === file, stderr);
      const dump = spawnSync('tcpdump', ['-nn', '-r', file], { encoding: 'utf8' });
      assert.equal(dump.status, 0, dump.stderr);
      assert.equal(dump.stdout.trim().split('\n').length, Number(wrote[1]));
      const offline = tcpkit(['-r', file, '-p', '6379', '-m', 'redis']);
      assert.equal(offline.code, 0, offline.stderr);
      assert.deepEqual(parseLines(offline.stdout), lines);
    });

    test(`${name}: a connection opened before tcpkit started pairs its later requests`, async () => {
      const state = await kernelStateBefore(nsList);
      // One redis-cli session, kept open across tcpkit's start.
      const cli = spawn('ip', ['netns', 'exec', lab.ns.client, 'redis-cli', '-h', lab.ip4.server, '-p', '6379'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      cli.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      const reply = async (cmd: string, expect: string) => {
        const from = out.length;
        cli.stdin.write(`${cmd}\n`);
        const deadline = Date.now() + 5000;
        while (!out.slice(from).includes(expect)) {
          if (Date.now() > deadline) throw new Error(`no ${expect} after ${cmd}: ${out}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      let tk: RunningTcpkit | null = null;
      try {
        await reply('SET before 1', 'OK');
        tk = await lab.tcpkit('server', [...engineArgs(engine), '-i', lab.dev.server, '-p', '6379', '-m', 'redis']);
        await reply('GET before', '1');
        await reply('DEBUG SLEEP 0.02', 'OK');
        await reply('DEL before', '1');
      } finally {
        cli.stdin.end();
        if (tk !== null) assert.equal(await tk.stop('SIGINT'), 0, tk.stderr);
        if (cli.exitCode === null) cli.kill();
      }
      const lines = parseLines(tk.stdout);
      assert.deepEqual(lines.map((l) => l.request), ['GET before', 'DEBUG SLEEP 0.02', 'DEL before']);
      const sleep = lines[1];
      assert.ok(sleep.latencyMs! >= 20 && sleep.latencyMs! <= 100, `DEBUG SLEEP 0.02 read ${sleep.latencyMs} ms`);
      assert.equal(new Set(lines.map((l) => l.client)).size, 1);
      assert.match(tk.stderr, /requests: 3 answered, 0 without response/);
      assert.equal(await settlesTo(state, nsList), state);
    });

    test(`${name}: timestamps agree with tcpdump's: half within 20 microseconds, every one within 1 ms`, async () => {
      const ours = path.join(tmp.dir, `ts-${engine}.pcap`);
      const theirs = path.join(tmp.dir, `ts-tcpdump-${engine}.pcap`);
      const dump = await lab.startTcpdump('server', theirs, 'tcp port 6379');
      await capture('server', [...engineArgs(engine), '-i', lab.dev.server, '-p', '6379', '-m', 'raw', '-w', ours]);
      await dump.stop();
      const times = (file: string) => {
        // One line per packet: time, then the rest as tcpdump prints it (the same packet, the same text).
        const r = spawnSync('tcpdump', ['-nn', '-tt', '--nano', '-r', file], { encoding: 'utf8' });
        const m = new Map<string, number>();
        for (const line of r.stdout.split('\n').filter(Boolean)) {
          const sp = line.indexOf(' ');
          m.set(line.slice(sp + 1).replace(/^IP6? /, ''), Number(line.slice(0, sp)));
        }
        return m;
      };
      const a = times(ours);
      const b = times(theirs);
      // The two clocks read the same packet at different places (the TC hook,
      // the packet tap), a few microseconds apart; under load a core can be
      // taken between them for tens of microseconds, so single packets are
      // bounded loosely and the typical gap tightly. A clock taken from the
      // wrong base (boot time, or an offset added twice) misses both by seconds.
      let compared = 0;
      const gaps: number[] = [];
      for (const [pkt, t] of a) {
        const u = b.get(pkt);
        if (u === undefined) continue;
        compared++;
        gaps.push(Math.abs(t - u));
        assert.ok(Math.abs(t - u) <= 1e-3, `${pkt}: ${t} vs tcpdump ${u} (${((t - u) * 1e6).toFixed(1)} us)`);
      }
      gaps.sort((x, y) => x - y);
      const median = gaps[gaps.length >> 1];
      assert.ok(median <= 20e-6, `median gap ${(median * 1e6).toFixed(1)} us over ${compared} packets`);
      assert.ok(compared >= 30, `${compared} packets compared`);
    });
  }

  test('eBPF -w writes what libpcap -w writes: the same frames, pure ACKs included, none cut (a 1 MB SET)', async () => {
    const state = await kernelStateBefore(nsList);
    const files = { ebpf: path.join(tmp.dir, 'same-ebpf.pcap'), libpcap: path.join(tmp.dir, 'same-libpcap.pcap') };
    // Both watch the same packets at the same time.
    const e = await lab.tcpkit('server', ['--ebpf', '-i', lab.dev.server, '-p', '6379', '-m', 'redis', '-w', files.ebpf]);
    const p = await lab.tcpkit('server', ['-i', lab.dev.server, '-p', '6379', '-m', 'redis', '-w', files.libpcap]);
    const big: Commands = [['SET', 'big', 'x'.repeat(1 << 20)], ['GET', 'big'], ['DEL', 'big']];
    try {
      assert.equal(lab.redis(big), big.length);
    } finally {
      assert.equal(await e.stop('SIGINT'), 0, e.stderr);
      assert.equal(await p.stop('SIGINT'), 0, p.stderr);
    }
    assert.equal(await settlesTo(state, nsList), state);
    /**
     * One entry per packet, as tcpdump prints it without its time: addresses,
     * flags, seq, ack, window, options and length. eBPF writes IP packets
     * (LINKTYPE_RAW), libpcap the veth's Ethernet frames, so the link layer is
     * not compared; everything from the IP header on is.
     */
    const frames = (file: string) => {
      const r = spawnSync('tcpdump', ['-nn', '-t', '-v', '-r', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim().replace(/\n\s+/g, ' ').split('\n').sort();
    };
    const ours = frames(files.ebpf);
    const theirs = frames(files.libpcap);
    assert.ok(theirs.length > 40, `libpcap wrote ${theirs.length} frames`);
    assert.ok(theirs.some((f) => /Flags \[\.\],.* ack \d+,.* length 0$/.test(f)), 'pure ACKs are among them');
    assert.deepEqual(ours, theirs);
    // No frame is cut: in the file's own record headers, every captured length is its wire length.
    for (const [name, file] of Object.entries(files)) {
      const buf = readFileSync(file);
      assert.ok([0xa1b2c3d4, 0xa1b23c4d].includes(buf.readUInt32LE(0)), `${name} wrote a little-endian pcap`);
      let records = 0;
      for (let off = 24; off < buf.length; records++) {
        const capLen = buf.readUInt32LE(off + 8);
        const len = buf.readUInt32LE(off + 12);
        assert.equal(capLen, len, `${name}: frame ${records + 1} cut to ${capLen} of ${len} bytes`);
        off += 16 + capLen;
      }
      assert.equal(records, theirs.length);
    }
    const wrote = (s: string) => Number(/wrote (\d+) packets to /.exec(s)?.[1]);
    assert.equal(wrote(e.stderr), theirs.length);
    assert.equal(wrote(p.stderr), theirs.length);
    const requests = (file: string) => parseLines(tcpkit(['-r', file, '-p', '6379', '-m', 'redis']).stdout).map((l) => l.request.slice(0, 12));
    assert.deepEqual(requests(files.ebpf), ['SET big xxxx', 'GET big', 'DEL big']);
    assert.deepEqual(requests(files.libpcap), ['SET big xxxx', 'GET big', 'DEL big']);
  });

  test('eBPF: a flow map too small for the connections (--max-connections 2): counted, and every tracked request still pairs', async () => {
    const state = await kernelStateBefore(nsList);
    const tk = await lab.tcpkit('server', ['--ebpf', '-i', lab.dev.server, '-p', '6379', '-m', 'redis', '--max-connections', '2']);
    try {
      lab.exec('client', ['redis-benchmark', '-h', lab.ip4.server, '-p', '6379', '-t', 'get', '-n', '400', '-c', '4', '-q']);
    } finally {
      assert.equal(await tk.stop('SIGINT'), 0, tk.stderr);
    }
    assert.equal(await settlesTo(state, nsList), state);
    const m = /^tcpkit: ebpf flow map full at times \(--max-connections sizes it\): (\d+) packets? without a flow id, (\d+) new ids? for connections it had forgotten; found by their addresses instead$/m.exec(tk.stderr);
    assert.ok(m && Number(m[1]) + Number(m[2]) > 0, tk.stderr);
    const answered = Number(/^requests: (\d+) answered, 0 without response/m.exec(tk.stderr)?.[1]);
    assert.ok(answered > 0, tk.stderr);
    assert.equal(parseLines(tk.stdout).length, answered);
    // (A response without a request can still appear: the table, also capped at 2, evicts connections that had not yet carried data.)
  });

  test('eBPF: SIGTERM detaches and prints the summary', async () => {
    const state = await kernelStateBefore(nsList);
    const tk = await lab.tcpkit('server', ['--ebpf', '-p', '6379', '-m', 'redis']);
    lab.redis(session);
    assert.equal(await tk.stop('SIGTERM'), 0);
    assert.match(tk.stderr, /requests: 4 answered/);
    assert.equal(parseLines(tk.stdout).length, 4);
    assert.equal(await settlesTo(state, nsList), state);
  });

  test('eBPF: a request unanswered past --timeout is reported while the capture goes on', async () => {
    const state = await kernelStateBefore(nsList);
    const tk = await lab.tcpkit('server', ['--ebpf', '-p', '6379', '-m', 'redis', '--timeout', '1']);
    lab.redis([['DEBUG', 'SLEEP', '2.5']]); // returns after 2.5 s
    assert.equal(await tk.stop(), 0, tk.stderr);
    // Given up on after a second or two, so the reply that came at 2.5 s
    // found nothing waiting: it is counted, not paired.
    assert.match(tk.stdout, /^\S+ \S+ \S+ => \S+:6379 \| no response \| DEBUG SLEEP 2\.5\n$/);
    assert.match(tk.stderr, /1 without response/);
    assert.match(tk.stderr, /1 response without a request/);
    assert.equal(await settlesTo(state, nsList), state);
  });

  test('eBPF: after an idle spell (the clock stopped: nothing to expire), a request unanswered past --timeout is still reported', async () => {
    const state = await kernelStateBefore(nsList);
    const tk = await lab.tcpkit('server', ['--ebpf', '-p', '6379', '-m', 'redis', '--timeout', '1']);
    await delay(2500); // no connection: the once-a-second clock stops
    lab.redis([['DEBUG', 'SLEEP', '2.5']]); // returns after 2.5 s
    assert.equal(await tk.stop(), 0, tk.stderr);
    // The drain that carried the request started the clock again, and it gave
    // the request up after a second or two. Without it, nothing would have
    // looked before the reply came, and the reply would have answered it.
    assert.match(tk.stdout, /^\S+ \S+ \S+ => \S+:6379 \| no response \| DEBUG SLEEP 2\.5\n$/);
    assert.match(tk.stderr, /1 without response/);
    assert.equal(await settlesTo(state, nsList), state);
  });

  test('eBPF: after kill -9 nothing tcpkit attached stays', async () => {
    const state = await kernelStateBefore(nsList);
    const tk: RunningTcpkit = await lab.tcpkit('server', ['--ebpf', '-p', '6379', '-m', 'redis']);
    assert.notEqual(kernelState(nsList), state, 'while it runs, its program is loaded');
    lab.redis(session);
    assert.equal(await tk.stop('SIGKILL'), null);
    assert.equal(await settlesTo(state, nsList), state);
  });

  test('eBPF: two tcpkits on one host do not disturb each other', async () => {
    const state = await kernelStateBefore(nsList);
    const a = await lab.tcpkit('server', ['--ebpf', '-p', '6379', '-m', 'redis']);
    const b = await lab.tcpkit('server', ['--ebpf', '-p', '6379', '-m', 'redis', '-t', '15']);
    lab.redis(session);
    await a.stop();
    lab.redis(session);
    await b.stop();
    assert.equal(parseLines(a.stdout).length, 4);
    assert.deepEqual(parseLines(b.stdout).map((l) => l.request), ['DEBUG SLEEP 0.02', 'DEBUG SLEEP 0.02']);
    assert.match(b.stderr, /requests: 8 answered/);
    assert.equal(await settlesTo(state, nsList), state);
  });

  test('without CAP_BPF and CAP_SYS_ADMIN, --ebpf falls back to libpcap, says why, and reports every request', async () => {
    const capsh = spawnSync('sh', ['-c', 'command -v capsh'], { encoding: 'utf8' }).stdout.trim();
    assert.ok(capsh, 'capsh is installed (libcap2-bin)');
    const { lines, stderr } = await capture('server', ['--ebpf', '-p', '6379', '-m', 'redis'], {
      wrap: [capsh, '--drop=cap_bpf,cap_sys_admin,cap_perfmon', '--'],
    });
    assert.match(stderr, /^tcpkit: eBPF unavailable \(.*\); capturing with libpcap on any, tcp and \(port 6379\)$/m);
    checkLines(lines, { v4: lab.ip4.server, v6: lab.ip6.server, port: 6379 });
  });
});

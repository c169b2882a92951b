// Two network namespaces joined by a veth pair: a server host and a client
// host, each with an IPv4 and an IPv6 address, so that tests (and the demo
// recorder) talk to real servers without touching the machine's own network.
//
//   const lab = Lab.create();           // namespaces, veth, addresses
//   try {
//     await lab.startRedis();
//     const cap = await lab.startTcpdump('server', '/tmp/x.pcap', 'tcp port 6379');
//     lab.redis([['SET', 'k', 'v'], ['GET', 'k']]);
//     await cap.stop();
//   } finally {
//     await lab.destroy();               // processes, namespaces, veth: all gone
//   }
//
// Every process the lab starts runs inside one of its namespaces; destroy()
// kills them all (by namespace, so grandchildren too) and deletes the
// namespaces, which takes the veth pair with them. A process exit hook does
// the same when a test dies without reaching its finally.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';

export type Side = 'server' | 'client';

/** Commands as argument lists, e.g. [['SET', 'k', 'v'], ['GET', 'k']]. */
export type Commands = string[][];

const CLIENT_SCRIPT = path.join(__dirname, 'redis-client.js');

const live = new Set<Lab>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const lab of live) lab.destroySync();
  });
}

/** Why a lab cannot be made here, or null when it can. */
export function labUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  for (const tool of ['ip', 'tcpdump', 'redis-server']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (make setup)`;
  }
  return null;
}

function run(cmd: string, args: string[], input?: string | Buffer): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class Capture {
  private done: Promise<void>;
  constructor(
    readonly file: string,
    private readonly proc: ChildProcess,
    private readonly stderr: () => string,
  ) {
    this.done = new Promise((resolve) => proc.once('exit', () => resolve()));
  }

  /** Stops tcpdump (SIGINT, so the file is flushed) and waits for it. */
  async stop(): Promise<string> {
    // Let the last packets (FIN/ACKs) reach the capture first.
    await sleep(150);
    if (this.proc.exitCode === null) this.proc.kill('SIGINT');
    await this.done;
    return this.stderr();
  }
}

export class Lab {
  readonly id: string;
  readonly ns: Record<Side, string>;
  readonly dev: Record<Side, string>;
  readonly ip4: Record<Side, string>;
  readonly ip6: Record<Side, string>;
  private procs: ChildProcess[] = [];
  private destroyed = false;

  private constructor() {
    const tag = `${process.pid % 100000}${Math.floor(Math.random() * 1000)}`;
    this.id = tag;
    this.ns = { server: `tk-${tag}-s`, client: `tk-${tag}-c` };
    this.dev = { server: `tk${tag}s`, client: `tk${tag}c` };
    const net = 1 + (process.pid % 250);
    this.ip4 = { server: `10.77.${net}.1`, client: `10.77.${net}.2` };
    this.ip6 = { server: `fd77:${net.toString(16)}::1`, client: `fd77:${net.toString(16)}::2` };
  }

  static create(): Lab {
    const lab = new Lab();
    live.add(lab);
    hookExit();
    try {
      lab.setup();
    } catch (e) {
      lab.destroySync();
      throw e;
    }
    return lab;
  }

  private setup(): void {
    const { ns, dev } = this;
    run('ip', ['netns', 'add', ns.server]);
    run('ip', ['netns', 'add', ns.client]);
    run('ip', ['link', 'add', dev.server, 'netns', ns.server, 'type', 'veth', 'peer', 'name', dev.client, 'netns', ns.client]);
    for (const side of ['server', 'client'] as Side[]) {
      const n = ns[side];
      this.exec(side, ['ip', 'link', 'set', 'lo', 'up']);
      this.exec(side, ['ip', 'addr', 'add', `${this.ip4[side]}/24`, 'dev', dev[side]]);
      this.exec(side, ['ip', '-6', 'addr', 'add', `${this.ip6[side]}/64`, 'dev', dev[side], 'nodad']);
      this.exec(side, ['ip', 'link', 'set', dev[side], 'up']);
      // Full-size frames on the veth: no offload merging segments past the MTU,
      // so a capture holds what the wire would carry.
      spawnSync('ip', ['netns', 'exec', n, 'ethtool', '-K', dev[side], 'gro', 'off', 'tso', 'off', 'gso', 'off'], { stdio: 'ignore' });
    }
  }

  /** Runs a command in a namespace and returns its stdout (throws on failure). */
  exec(side: Side, argv: string[], input?: string | Buffer): string {
    return run('ip', ['netns', 'exec', this.ns[side], ...argv], input);
  }

  /** Starts a long-running process in a namespace; destroy() stops it. */
  spawn(side: Side, argv: string[]): ChildProcess {
    const p = spawn('ip', ['netns', 'exec', this.ns[side], ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.push(p);
    return p;
  }

  /** Starts the built tcpkit in a namespace and waits until it captures. */
  /** `wrap`: a command that runs a shell (e.g. capsh ... --); tcpkit is its -c. */
  async tcpkit(side: Side, args: string[], wrap: string[] = []): Promise<RunningTcpkit> {
    const cli = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');
    const argv = [process.execPath, cli, ...args];
    const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const t = new RunningTcpkit(this.spawn(side, wrap.length > 0 ? [...wrap, '-c', `exec ${quoted}`] : argv));
    await t.ready();
    return t;
  }

  /** redis-server on the server host, on both addresses, DEBUG allowed. */
  async startRedis(port = 6379): Promise<void> {
    const p = this.spawn('server', [
      'redis-server', '--port', String(port), '--bind', this.ip4.server, this.ip6.server, '127.0.0.1', '::1',
      '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning',
      '--enable-debug-command', 'yes', '--protected-mode', 'no',
    ]);
    let log = '';
    p.stdout!.on('data', (d) => (log += d));
    p.stderr!.on('data', (d) => (log += d));
    for (let i = 0; i < 100; i++) {
      if (p.exitCode !== null) throw new Error(`redis-server exited: ${log}`);
      const r = spawnSync('ip', ['netns', 'exec', this.ns.server, 'redis-cli', '-h', this.ip4.server, '-p', String(port), 'PING'], { encoding: 'utf8' });
      if (r.stdout.trim() === 'PONG') return;
      await sleep(50);
    }
    throw new Error(`redis-server did not answer: ${log}`);
  }

  /**
   * tcpdump on this side's veth (or another interface), writing `file`.
   * -B 65536: a 64 MiB packet ring. The default 2 MiB holds only a few
   * 64 KiB frames (veth passes them unsegmented), and under a busy machine a
   * 2 MB result set overran it; tests that check "0 packets dropped" then
   * failed for the reference, not for tcpkit.
   */
  async startTcpdump(side: Side, file: string, filter: string, iface = this.dev[side]): Promise<Capture> {
    const p = this.spawn(side, ['tcpdump', '-i', iface, '-nn', '-U', '--immediate-mode', '-B', '65536', '-s', '0', '-Z', 'root', '-w', file, filter]);
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    for (let i = 0; i < 200 && !err.includes('listening on'); i++) {
      if (p.exitCode !== null) throw new Error(`tcpdump exited: ${err}`);
      await sleep(25);
    }
    if (!err.includes('listening on')) throw new Error(`tcpdump did not start: ${err}`);
    return new Capture(file, p, () => err);
  }

  /**
   * Runs Redis commands from the client host on one connection.
   * `pipeline`: all commands in one write, then all replies read; otherwise
   * each command waits for its reply. Returns the replies' count.
   */
  redis(commands: Commands, opts: { ipv6?: boolean; port?: number; pipeline?: boolean; loopback?: boolean } = {}): number {
    // loopback: from the server host itself, to 127.0.0.1 or ::1.
    const host = opts.loopback ? (opts.ipv6 ? '::1' : '127.0.0.1') : opts.ipv6 ? this.ip6.server : this.ip4.server;
    const out = this.exec(opts.loopback ? 'server' : 'client', [
      process.execPath, CLIENT_SCRIPT, host, String(opts.port ?? 6379), opts.pipeline ? 'pipeline' : 'sequential',
    ], JSON.stringify(commands));
    return Number(out.trim());
  }

  /** Kills every process of the lab and deletes its namespaces. */
  async destroy(): Promise<void> {
    for (const p of this.procs) if (p.exitCode === null) p.kill('SIGTERM');
    const deadline = Date.now() + 3000;
    while (this.procs.some((p) => p.exitCode === null && p.signalCode === null) && Date.now() < deadline) await sleep(20);
    this.destroySync();
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const n of [this.ns.server, this.ns.client]) {
      const pids = spawnSync('ip', ['netns', 'pids', n], { encoding: 'utf8' }).stdout ?? '';
      for (const pid of pids.split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
    }
  }
}

/** A tcpkit started in a namespace, ready once it said which engine captures. */
export class RunningTcpkit {
  stdout = '';
  stderr = '';
  private readonly exited: Promise<void>;

  constructor(readonly proc: ChildProcess) {
    proc.stdout!.on('data', (d) => (this.stdout += d));
    proc.stderr!.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
  }

  async ready(): Promise<void> {
    for (let i = 0; i < 400; i++) {
      if (/capturing with/.test(this.stderr)) return;
      if (this.proc.exitCode !== null) throw new Error(`tcpkit exited ${this.proc.exitCode}: ${this.stderr}`);
      await sleep(25);
    }
    throw new Error(`tcpkit did not start capturing: ${this.stderr}`);
  }

  /**
   * Sends `signal` and waits for the exit; returns the exit code (null if
   * killed). A tcpkit still running 30 s later is killed and the test fails
   * with that, rather than waiting forever.
   */
  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
    await sleep(200); // the last batch: the engines hand over within 20 ms
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const hung = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), 30_000); }),
    ]);
    clearTimeout(timer);
    if (hung) {
      this.proc.kill('SIGKILL');
      await this.exited;
      throw new Error(`tcpkit did not exit within 30 s of ${signal}; killed. stderr: ${this.stderr}`);
    }
    return this.proc.exitCode;
  }
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(prefix = 'tk-test-'): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), prefix));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

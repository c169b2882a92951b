// The servers the live and recorded tests talk to, started in a Lab's server
// namespace (destroy() stops them), and the clients that drive them from the
// client namespace: memcached, nginx and dnsmasq. Redis lives in netns.ts.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { labUnavailable, type Lab } from './netns';
import type { UdpStep } from './memcached-udp-client';
import type { MemcachedStep } from './memcached-client';
import type { HttpConnection } from './http-client';

/** Why these tools' tests cannot run here (no lab, or a tool missing), or null. */
export function toolsUnavailable(tools: string[]): string | null {
  const why = labUnavailable();
  if (why) return why;
  for (const tool of tools) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (make setup)`;
  }
  return null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `port` accepts TCP connections from the client host on both server addresses. */
async function accepting(lab: Lab, proc: ChildProcess, port: number, what: string, log: () => string): Promise<void> {
  const probe = `require('net').connect(${port}, process.argv[1]).on('connect', () => process.exit(0)).on('error', () => process.exit(1))`;
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`${what} exited ${proc.exitCode}: ${log()}`);
    const up = [lab.ip4.server, lab.ip6.server].every(
      (host) => spawnSync('ip', ['netns', 'exec', lab.ns.client, process.execPath, '-e', probe, host]).status === 0,
    );
    if (up) return;
    await sleep(50);
  }
  throw new Error(`${what} did not accept connections: ${log()}`);
}

function collect(p: ChildProcess): () => string {
  let log = '';
  p.stdout!.on('data', (d) => (log += d));
  p.stderr!.on('data', (d) => (log += d));
  return () => log;
}

// ---------------------------------------------------------------- memcached

export const MEMCACHED_PORT = 11211;

/** memcached on both server addresses, TCP only. */
export async function startMemcached(lab: Lab, port = MEMCACHED_PORT, opts: { udp?: boolean } = {}): Promise<void> {
  const mc = lab.spawn('server', ['memcached', '-u', 'root', '-l', `${lab.ip4.server},[${lab.ip6.server}]`, '-p', String(port), '-U', opts.udp ? String(port) : '0']);
  await accepting(lab, mc, port, 'memcached', collect(mc));
}

/** Runs the steps on one connection from the client host (see memcached-client.ts); the answers, one a line. */
export function memcachedClient(lab: Lab, host: string, steps: MemcachedStep[], port = MEMCACHED_PORT): string[] {
  const script = path.join(__dirname, 'memcached-client.js');
  return lab.exec('client', [process.execPath, script, host, String(port)], JSON.stringify(steps)).trim().split('\n');
}

/** Runs the steps over UDP from the client host (see memcached-udp-client.ts); the replies, one a line. */
export function memcachedUdpClient(lab: Lab, host: string, steps: UdpStep[], port = MEMCACHED_PORT): string[] {
  const script = path.join(__dirname, 'memcached-udp-client.js');
  return lab.exec('client', [process.execPath, script, host, String(port)], JSON.stringify(steps)).trim().split('\n').map((l) => JSON.parse(l) as string);
}

// ---------------------------------------------------------------- nginx

export const HTTP_PORT = 8080;

/**
 * nginx on both server addresses, serving `files` (name -> content) from a
 * root under `dir`, with `locations` (nginx `location` blocks) added to its
 * server block. Files get the modification time `mtime` (seconds), so their
 * ETag and Last-Modified are known in advance.
 */
export async function startNginx(
  lab: Lab,
  dir: string,
  opts: { files: Record<string, string | Buffer>; locations?: string[]; mtime?: number; port?: number },
): Promise<void> {
  const port = opts.port ?? HTTP_PORT;
  const www = path.join(dir, 'www');
  fs.mkdirSync(www);
  for (const [name, content] of Object.entries(opts.files)) {
    const file = path.join(www, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    if (opts.mtime !== undefined) fs.utimesSync(file, opts.mtime, opts.mtime);
  }
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    conf,
    [
      'daemon off;',
      'master_process off;',
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log;`,
      'events { worker_connections 64; }',
      'http {',
      '  access_log off;',
      '  default_type application/octet-stream;',
      `  client_body_temp_path ${dir}/body;`,
      `  proxy_temp_path ${dir}/proxy;`,
      `  fastcgi_temp_path ${dir}/fastcgi;`,
      `  uwsgi_temp_path ${dir}/uwsgi;`,
      `  scgi_temp_path ${dir}/scgi;`,
      '  server {',
      `    listen ${lab.ip4.server}:${port};`,
      `    listen [${lab.ip6.server}]:${port};`,
      `    root ${www};`,
      ...(opts.locations ?? []).map((l) => `    ${l}`),
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  const ng = lab.spawn('server', ['nginx', '-p', `${dir}/`, '-c', conf, '-e', `${dir}/error.log`]);
  const log = collect(ng);
  const errors = path.join(dir, 'error.log');
  await accepting(lab, ng, port, 'nginx', () => log() + (fs.existsSync(errors) ? fs.readFileSync(errors, 'utf8') : ''));
}

/** Opens the connections one after another from the client host (see http-client.ts); `status size` per response. */
export function httpClient(lab: Lab, host: string, conns: HttpConnection[], port = HTTP_PORT): string[] {
  const script = path.join(__dirname, 'http-client.js');
  return lab.exec('client', [process.execPath, script, host, String(port)], JSON.stringify(conns)).trim().split('\n');
}

// ---------------------------------------------------------------- dnsmasq

/**
 * dnsmasq on port 53 of both server addresses, with no upstream servers and
 * no hosts file: it answers only what `records` (dnsmasq options such as
 * `--address=/example.test/10.1.2.3`) say. Ready once `probe` (a name)
 * resolves to `expect` over UDP.
 */
export async function startDnsmasq(lab: Lab, records: string[], probe: string, expect: string): Promise<void> {
  const p = lab.spawn('server', [
    'dnsmasq', '--no-daemon', '--port=53', `--listen-address=${lab.ip4.server}`, `--listen-address=${lab.ip6.server}`,
    '--bind-interfaces', '--no-resolv', '--no-hosts', '--log-facility=/dev/null', '--pid-file=', ...records,
  ]);
  const log = collect(p);
  for (let i = 0; i < 100; i++) {
    if (p.exitCode !== null) throw new Error(`dnsmasq exited ${p.exitCode}: ${log()}`);
    const r = spawnSync('ip', ['netns', 'exec', lab.ns.client, 'dig', '+short', '+time=1', '+tries=1', `@${lab.ip4.server}`, probe], { encoding: 'utf8' });
    if (r.stdout.trim() === expect) return;
    await sleep(100);
  }
  throw new Error(`dnsmasq did not answer: ${log()}`);
}

/**
 * dig from the client host, one try; its output. Throws unless dig got an
 * answer, or, with `unanswered`, unless it got none (exit 9: timed out, or
 * the server closed the TCP connection).
 */
export function dig(lab: Lab, args: string[], unanswered = false): string {
  if (!unanswered) return lab.exec('client', ['dig', '+time=2', '+tries=1', ...args]);
  const r = spawnSync('ip', ['netns', 'exec', lab.ns.client, 'dig', '+time=1', '+tries=1', ...args], { encoding: 'utf8' });
  if (r.status !== 9) throw new Error(`dig ${args.join(' ')}: expected no answer (exit 9), got exit ${r.status}: ${r.stdout}`);
  return r.stdout;
}

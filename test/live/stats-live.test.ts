// The stats port and daemon mode as users run them: a real redis-server in one
// namespace, clients in another, tcpkit on the server side. The counts served
// must equal the requests sent; the daemon must start, write its pid file,
// serve stats, follow its log across SIGHUP and stop cleanly on SIGTERM.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Lab, labUnavailable, tempDir, type Commands, type Side } from '../helpers/netns';
import { parseLines, CLI } from '../helpers/run';
import { parseExposition, sampleValue } from '../helpers/exposition';

const why = labUnavailable();
if (why) process.stdout.write(`# stats-live: skipped, ${why}\n`);

const STATS_CLIENT = path.join(__dirname, '..', 'helpers', 'stats-client.js');
const sets: Commands = Array.from({ length: 20 }, (_, i) => ['SET', `k${i}`, String(i)]);
const gets: Commands = Array.from({ length: 10 }, (_, i) => ['get', `k${i}`]); // lower case: the same command
const incrs: Commands = [...Array.from({ length: 15 }, () => ['INCR', 'counter']), ['INCR', 'k0x']];
const slow: Commands = [['SET', 'k0x', 'abc'], ['DEBUG', 'SLEEP', '0.02']];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('the stats port and daemon mode, live', { skip: why ?? false }, () => {
  let lab: Lab;
  let tmp: ReturnType<typeof tempDir>;

  before(async () => {
    tmp = tempDir('tk-stats-live-');
    lab = Lab.create();
    await lab.startRedis();
  });

  after(async () => {
    await lab?.destroy();
    tmp?.remove();
  });

  /** The stats port as read from a namespace: raw JSON, or an HTTP answer. */
  function raw(side: Side, host: string, port: number): string {
    return lab.exec(side, [process.execPath, STATS_CLIENT, host, String(port), 'raw']);
  }
  function get(side: Side, host: string, port: number, p: string): { status: number; headers: Record<string, string>; body: string } {
    return JSON.parse(lab.exec(side, [process.execPath, STATS_CLIENT, host, String(port), 'GET', p]));
  }

  test('counts served on -P equal the requests sent: raw JSON, /stats and /metrics, scraped from another host', async () => {
    const addr = lab.ip4.server;
    const tk = await lab.tcpkit('server', ['--ebpf', '-i', lab.dev.server, '-p', '6379', '-m', 'redis', '-t', '10', '-P', '33333', '--stats-addr', addr]);
    let code: number | null;
    try {
      assert.equal(lab.redis(sets), sets.length);
      assert.equal(lab.redis(gets), gets.length);
      assert.equal(lab.redis(slow), slow.length);
      assert.equal(lab.redis(incrs, { pipeline: true }), incrs.length);
      await sleep(300); // the engines hand samples over within 100 ms (eBPF), libpcap within tens of ms
      const total = sets.length + gets.length + slow.length + incrs.length;

      // A bare TCP client from the client host: the original's JSON.
      const seed = JSON.parse(raw('client', addr, 33333));
      assert.deepEqual(Object.keys(seed), ['type', 'ports', 'in_packets', 'out_packets', 'in_bytes', 'out_bytes']);
      assert.equal(seed.type, 'redis');
      const p = seed.ports[0]['6379'];
      assert.deepEqual(Object.keys(p), ['total_reqs', 'total_costs', 'slow_reqs', 'latencies']);
      assert.equal(p.total_reqs, total);
      assert.equal(p.slow_reqs, 1, 'DEBUG SLEEP 0.02 is the one at or above 10 ms');
      assert.equal(p.latencies.length, 18);
      assert.equal(p.latencies.reduce((a: number, b: number) => a + b, 0), total);
      assert.equal(p.latencies[7], 1, 'DEBUG SLEEP 0.02 in the 20-50 ms bucket');
      assert.ok(p.total_costs >= 20_000, String(p.total_costs));
      assert.ok(seed.in_packets > 0 && seed.out_packets > 0 && seed.in_bytes > 0 && seed.out_bytes > 0);

      // HTTP /stats: per command.
      const s = get('client', addr, 33333, '/stats');
      assert.equal(s.status, 200);
      const j = JSON.parse(s.body);
      const byName = Object.fromEntries(j.commands.map((c: { command: string }) => [c.command, c]));
      assert.equal(byName.SET.requests, 21);
      assert.equal(byName.GET.requests, 10);
      assert.equal(byName.INCR.requests, 16);
      assert.equal(byName.INCR.errors, 1, 'INCR of a string is an error reply');
      assert.equal(byName.DEBUG.requests, 1);
      assert.ok(byName.DEBUG.latency_us.p50 >= 20_000, JSON.stringify(byName.DEBUG.latency_us));
      assert.equal(j.totals.requests, total);
      assert.equal(j.totals.unanswered, 0);
      assert.equal(j.engine, 'ebpf');
      assert.ok(j.counters.packets_matched > 0);

      // HTTP /metrics: the exposition format, the same counts.
      const m = get('client', addr, 33333, '/metrics');
      assert.equal(m.status, 200);
      const fams = parseExposition(m.body);
      const count = (command: string) => sampleValue(fams, 'tcpkit_request_duration_seconds_count', { port: '6379', command });
      assert.equal(count('SET'), 21);
      assert.equal(count('GET'), 10);
      assert.equal(count('INCR'), 16);
      assert.equal(sampleValue(fams, 'tcpkit_requests_total', { port: '6379', command: 'INCR' }), 16);
      assert.equal(sampleValue(fams, 'tcpkit_request_errors_total', { port: '6379', command: 'INCR' }), 1);
      assert.equal(sampleValue(fams, 'tcpkit_slow_requests_total', { port: '6379', command: 'DEBUG' }), 1);
      assert.equal(sampleValue(fams, 'tcpkit_packets_lost_total'), 0);

      // It listens where it was told only: not on the server's loopback.
      const local = spawnSync('ip', ['netns', 'exec', lab.ns.server, process.execPath, STATS_CLIENT, '127.0.0.1', '33333', 'raw'], { encoding: 'utf8' });
      assert.notEqual(local.status, 0);
      assert.match(local.stderr, /ECONNREFUSED/);
    } finally {
      code = await tk.stop('SIGINT');
    }
    assert.equal(code, 0, tk.stderr);
    assert.equal(parseLines(tk.stdout).length, 1, 'the text line for the one slow request');
    assert.match(tk.stderr, /^requests: 48 answered \(1 error\), 0 without response\n-t 10 ms: 1 line printed, 1 answered at or above 10 ms$/m);
  });

  test('-d: starts, writes its pid file, serves stats, follows its log across SIGHUP, stops on SIGTERM', async () => {
    const log = path.join(tmp.dir, 'tcpkit.log');
    const pidFile = path.join(tmp.dir, 'run', 'tcpkit.pid');
    const args = ['-d', '-o', log, '--pid-file', pidFile, '-P', '-i', lab.dev.server, '-p', '6379', '-m', 'redis'];
    const start = spawnSync('ip', ['netns', 'exec', lab.ns.server, process.execPath, CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(start.status, 0, start.stderr);
    assert.match(start.stderr, /^tcpkit: capturing with libpcap on /m);
    const m = /^tcpkit: running in the background as pid (\d+) \(pid file (.*), output to (.*)\)$/m.exec(start.stderr);
    assert.ok(m, start.stderr);
    const pid = Number(m[1]);
    assert.equal(fs.readFileSync(pidFile, 'utf8'), `${pid}\n`);
    process.kill(pid, 0); // it runs

    // Ready means capturing and serving: no wait needed before the first request.
    assert.equal(lab.redis(sets.slice(0, 5)), 5);
    await sleep(300);
    assert.equal(JSON.parse(raw('server', '127.0.0.1', 33333)).ports[0]['6379'].total_reqs, 5);
    assert.equal(parseLines(fs.readFileSync(log, 'utf8')).length, 5);

    // The same command again: refused for the pid file (before the stats port, taken too), one line, the first untouched.
    const second = spawnSync('ip', ['netns', 'exec', lab.ns.server, process.execPath, CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(second.status, 1, second.stderr);
    assert.equal(second.stderr, `tcpkit: ${pidFile}: tcpkit is already running as pid ${pid} (stop it, or give another --pid-file)\n`);
    assert.equal(fs.readFileSync(pidFile, 'utf8'), `${pid}\n`);

    // logrotate: move the file, send SIGHUP; new lines go to a new file.
    fs.renameSync(log, `${log}.1`);
    process.kill(pid, 'SIGHUP');
    await sleep(100);
    assert.equal(lab.redis(gets.slice(0, 3)), 3);
    await sleep(300);
    assert.equal(parseLines(fs.readFileSync(`${log}.1`, 'utf8')).length, 5, 'the old file keeps the old lines');
    assert.deepEqual(parseLines(fs.readFileSync(log, 'utf8')).map((l) => l.request), ['get k0', 'get k1', 'get k2']);

    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await sleep(50);
    }
    assert.throws(() => process.kill(pid, 0), /ESRCH/, 'stopped');
    assert.equal(fs.existsSync(pidFile), false, 'pid file removed');
    // The summary went into the log, after the lines.
    const text = fs.readFileSync(log, 'utf8');
    assert.match(text, /^requests: 8 answered, 0 without response/m);
    assert.equal(parseLines(text.slice(0, text.indexOf('tcpkit: '))).length, 3);
  });

  test('-d that cannot start: the error line from the parent, exit 1, no pid file', async () => {
    const pidFile = path.join(tmp.dir, 'fail.pid');
    const r = spawnSync('ip', ['netns', 'exec', lab.ns.server, process.execPath, CLI, '-d', '-o', path.join(tmp.dir, 'fail.log'), '--pid-file', pidFile, '-i', 'nosuchif0', '-p', '6379'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^tcpkit: .*nosuchif0.*$/m);
    assert.doesNotMatch(r.stderr, /running in the background/);
    assert.equal(fs.existsSync(pidFile), false);
  });
});

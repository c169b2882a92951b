// tcpkit --top as the on-call engineer runs it: in a terminal (tmux), on the
// server side of a real redis-server (eBPF) and memcached (libpcap) in
// network namespaces, under steady traffic at a known rate. The screen is
// read with capture-pane: the header's rates, a row per command with the
// count sent, DEBUG SLEEP in the slowest list with its latency; then p, r
// and q (or SIGTERM), and the terminal as it was. -o, -w and -P keep working.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { Lab, tempDir } from '../helpers/netns';
import { CLI, ROOT } from '../helpers/run';
import { MEMCACHED_PORT, startMemcached, toolsUnavailable } from '../helpers/servers';
import { Tmux, tmuxUnavailable } from '../helpers/tmux';
import { headerRates, slowRows, tableRows, type TableRow } from '../helpers/top-screen';

const why = toolsUnavailable(['memcached', 'curl']) ?? tmuxUnavailable();
if (why) process.stdout.write(`# top-live: skipped, ${why}\n`);

const ENV = { LANG: 'C.UTF-8', TZ: 'UTC', TERM: 'xterm-256color' };
const PACED = path.join(ROOT, 'dist', 'test', 'helpers', 'paced-client.js');

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('tcpkit --top in a terminal, live', { skip: why ?? false }, () => {
  let lab: Lab;
  let tmp: ReturnType<typeof tempDir>;

  before(async () => {
    tmp = tempDir('tk-top-live-');
    lab = Lab.create();
    await lab.startRedis();
    await startMemcached(lab);
  });

  after(async () => {
    await lab?.destroy();
    tmp?.remove();
  });

  /** tcpkit --top in the server namespace, in a tmux pane; its stderr, exit code and the terminal's settings to files. */
  function start(name: string, args: string[]) {
    const f = (x: string) => path.join(tmp.dir, `${name}.${x}`);
    const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    const argv = ['ip', 'netns', 'exec', lab.ns.server, process.execPath, CLI, ...args];
    const cmd = `stty -g > ${f('before')}; ${argv.map(q).join(' ')} 2> ${f('err')}; echo $? > ${f('rc.tmp')}; stty -g > ${f('after')}; mv ${f('rc.tmp')} ${f('rc')}; sleep 120`;
    const tmux = new Tmux(cmd, 160, 50, ENV);
    return {
      tmux,
      file: f,
      ended: async () => {
        for (let i = 0; i < 100 && !fs.existsSync(f('rc')); i++) await sleep(100);
        if (!fs.existsSync(f('rc'))) throw new Error(`tcpkit did not exit; the screen:\n${tmux.screen().join('\n')}`);
        return {
          code: Number(fs.readFileSync(f('rc'), 'utf8')),
          stderr: fs.readFileSync(f('err'), 'utf8'),
          sttyBefore: fs.readFileSync(f('before'), 'utf8'),
          sttyAfter: fs.readFileSync(f('after'), 'utf8'),
        };
      },
    };
  }

  /** Steady traffic from the client namespace (paced-client.ts), in the background; resolves with what it printed. */
  function paced(port: number, perSecond: number, requests: { send: string; expect: string }[]): Promise<string> {
    const p = spawn('ip', ['netns', 'exec', lab.ns.client, process.execPath, PACED, lab.ip4.server, String(port), String(perSecond)], { stdio: ['pipe', 'pipe', 'pipe'] });
    p.stdin.end(JSON.stringify(requests));
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    return new Promise((resolve, reject) => p.once('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`paced-client exited ${code}: ${err}`)))));
  }

  function restored(tmux: Tmux, r: { sttyBefore: string; sttyAfter: string }): void {
    assert.equal(tmux.display('#{alternate_on}'), '0', 'no alternate screen left');
    assert.equal(tmux.display('#{cursor_flag}'), '1', 'the cursor is visible');
    assert.equal(tmux.display('#{wrap_flag}'), '1', 'autowrap is back on');
    assert.equal(r.sttyAfter, r.sttyBefore, 'the terminal settings (raw mode off, echo on) are as before');
  }

  const byName = (rows: TableRow[], name: string): TableRow => {
    const r = rows.find((x) => x.name === name);
    assert.ok(r, `no ${name} row`);
    return r;
  };

  test('redis, eBPF: rates, a row per command, DEBUG SLEEP in the slowest list; p, r, q; -o, -w and -P beside it', async () => {
    const lines = path.join(tmp.dir, 'redis.log');
    const pcap = path.join(tmp.dir, 'redis.pcap');
    const { tmux, ended } = start('redis', ['--top', '--ebpf', '-i', lab.dev.server, '-p', '6379', '-m', 'redis', '-o', lines, '-w', pcap, '-P', '33999']);
    try {
      await tmux.waitFor('the view', (s) => s[0].startsWith(`tcpkit --top | ebpf on ${lab.dev.server} | redis on port 6379 | up `));
      // 150 requests a second for 3 s: a SET and two GETs.
      const load: { send: string; expect: string }[] = [];
      for (let i = 0; i < 150; i++) {
        load.push({ send: `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n`, expect: '+OK\r\n' });
        load.push({ send: `*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`, expect: '$1\r\nv\r\n' });
        load.push({ send: `*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`, expect: '$1\r\nv\r\n' });
      }
      const running = paced(6379, 150, load);
      // The last redraw before 2.5 s is between 1.5 and 2.5 s: its second is all under load.
      await sleep(2500);
      // Mid-load: the header's rate is the traffic's, and the rows' rates add up to it.
      const mid = await tmux.waitFor('a second under load', (s) => headerRates(s).requestsPerSec > 0);
      const rates = headerRates(mid);
      assert.ok(rates.requestsPerSec >= 100 && rates.requestsPerSec <= 200, `requests ${rates.requestsPerSec}/s while 150/s were sent\n${mid.join('\n')}`);
      const rowRates = tableRows(mid).reduce((n, r) => n + Number(r.interval[0]), 0);
      assert.ok(Math.abs(rowRates - rates.requestsPerSec) <= 2, `the rows' rates (${rowRates}) add up to the header's (${rates.requestsPerSec})`);
      // Each request and each answer is a packet (acknowledgements ride along): about twice as many packets.
      assert.ok(rates.packetsPerSec >= 1.5 * rates.requestsPerSec && rates.packetsPerSec <= 4 * rates.requestsPerSec + 10, `packets ${rates.packetsPerSec}/s for ${rates.requestsPerSec} requests/s`);
      assert.equal(rates.lostPerSec, 0);
      assert.equal(rates.open, 1);
      // -P answers beside the view.
      const stats = JSON.parse(lab.exec('server', ['curl', '-s', 'http://127.0.0.1:33999/stats'])) as { totals: { requests: number } };
      assert.ok(stats.totals.requests > 0 && stats.totals.requests <= 450, JSON.stringify(stats.totals));
      assert.match(await running, /^450 /);

      assert.equal(lab.redis([['DEBUG', 'SLEEP', '0.25']]), 1);
      let screen = await tmux.waitFor('every request counted, and a quiet interval', (s) => {
        const rows = tableRows(s);
        return rows.length === 3 && rows.every((r) => r.interval[0] === '0') && headerRates(s).requests === 451;
      });
      let rows = tableRows(screen);
      assert.deepEqual([byName(rows, 'GET').since[0], byName(rows, 'SET').since[0], byName(rows, 'DEBUG').since[0]], ['300', '150', '1']);
      assert.equal(headerRates(screen).requests, 451);
      const sleepRow = slowRows(screen).find((s) => s.request === 'DEBUG SLEEP 0.25');
      assert.ok(sleepRow, `DEBUG SLEEP in the slowest list:\n${screen.join('\n')}`);
      const ms = Number(sleepRow.latency);
      assert.ok(ms >= 250 && ms <= 260, `DEBUG SLEEP 0.25 read ${ms} ms`);
      assert.equal(sleepRow.server, `${lab.ip4.server}:6379`);
      assert.equal(byName(rows, 'DEBUG').since[6], sleepRow.latency, 'its max is the slow list\'s latency');

      // p: by p99 (the interval is quiet: since the start decides).
      tmux.keys('r');
      screen = await tmux.waitFor('sort by rate', (s) => /sort: rate/.test(s[s.length - 1]));
      assert.deepEqual(tableRows(screen).map((r) => r.name), ['GET', 'SET', 'DEBUG']);
      tmux.keys('p');
      screen = await tmux.waitFor('sort by p99', (s) => /sort: p99/.test(s[s.length - 1]));
      rows = tableRows(screen);
      assert.equal(rows[0].name, 'DEBUG');
      const p99s = rows.map((r) => Number(r.since[4]));
      assert.deepEqual(p99s, p99s.slice().sort((a, b) => b - a), 'highest p99 first');

      tmux.keys('q');
      const r = await ended();
      assert.equal(r.code, 0, r.stderr);
      restored(tmux, r);
      assert.match(r.stderr, /^requests: 451 answered, 0 without response/m);
      assert.match(r.stderr, /^tcpkit: ebpf: \d+ packets seen in the kernel, .* 0 lost/m);
      // -o got every line, -w every packet.
      assert.equal(fs.readFileSync(lines, 'utf8').trim().split('\n').length, 451);
      const wrote = /wrote (\d+) packets to/.exec(r.stderr);
      assert.ok(wrote, r.stderr);
      const dump = spawnSync('tcpdump', ['-nn', '-r', pcap], { encoding: 'utf8' });
      assert.equal(dump.stdout.trim().split('\n').length, Number(wrote[1]));
    } finally {
      tmux.kill();
    }
  });

  test('memcached, libpcap: a row per command with its count; SIGTERM gives the terminal back', async () => {
    const pid = path.join(tmp.dir, 'mc.pid');
    const { tmux, ended } = start('memcached', ['--top', '-i', lab.dev.server, '-p', String(MEMCACHED_PORT), '-m', 'memcached', '--pid-file', pid]);
    try {
      await tmux.waitFor('the view', (s) => s[0].startsWith(`tcpkit --top | libpcap on ${lab.dev.server} | memcached on port 11211 | up `));
      const load: { send: string; expect: string }[] = [];
      for (let i = 0; i < 150; i++) {
        load.push({ send: `set k${i} 0 0 1\r\nv\r\n`, expect: 'STORED\r\n' });
        load.push({ send: `get k${i}\r\n`, expect: `VALUE k${i} 0 1\r\nv\r\nEND\r\n` });
        load.push({ send: `get nope${i}\r\n`, expect: 'END\r\n' });
      }
      const running = paced(MEMCACHED_PORT, 150, load);
      await sleep(2500);
      const mid = await tmux.waitFor('a second under load', (s) => headerRates(s).requestsPerSec > 0);
      const rates = headerRates(mid);
      assert.ok(rates.requestsPerSec >= 100 && rates.requestsPerSec <= 200, `requests ${rates.requestsPerSec}/s while 150/s were sent`);
      assert.equal(rates.lostPerSec, 0);
      assert.match(await running, /^450 /);
      const screen = await tmux.waitFor('every request counted', (s) => headerRates(s).requests === 450);
      const rows = tableRows(screen);
      assert.deepEqual(rows.map((r) => [r.name, r.since[0]]).sort(), [['get', '300'], ['set', '150']]);
      const server = fs.readFileSync(pid, 'utf8').trim();
      process.kill(Number(server), 'SIGTERM');
      const r = await ended();
      assert.equal(r.code, 0, r.stderr);
      restored(tmux, r);
      assert.match(r.stderr, /^requests: 450 answered, 0 without response/m);
      assert.match(r.stderr, /^tcpkit: libpcap: \d+ packets received by the filter, \d+ delivered, 0 dropped/m);
    } finally {
      tmux.kill();
    }
  });
});

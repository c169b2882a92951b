// -m http live: a real nginx in one namespace, a client in another, tcpkit on
// the server side with each engine. GET and HEAD, a 200 KB body, 404 (an
// answer), 503 (an error), 204 (no body), one request per connection, a
// keep-alive sequence on one connection, a pipelined batch, and IPv6.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Lab, labUnavailable, tempDir } from '../helpers/netns';
import { kernelState, settlesTo } from '../helpers/kernel-state';
import { parseLines } from '../helpers/run';

let why = labUnavailable();
if (!why && spawnSync('sh', ['-c', 'command -v nginx']).status !== 0) why = 'nginx is not installed (make setup)';
if (why) process.stdout.write(`# http-live: skipped, ${why}\n`);

const PORT = 8080;
const BIG = 200 * 1024;
const INDEX = '<html><body>tcpkit</body></html>\n';

/**
 * The client, run with node in the client namespace: argv host, port and a
 * JSON list of connections, each { pipeline, requests: [[method, target]] },
 * opened one after another. A connection either writes each request and
 * reads its whole response before the next (keep-alive), or writes all its
 * requests at once and then reads the responses (pipeline). Prints
 * `status bodyBytes` per response.
 */
const CLIENT = String.raw`
const net = require('net');
const [host, port, json] = process.argv.slice(1);
function connection(c) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port: Number(port) });
    let buf = Buffer.alloc(0);
    let want = null;
    sock.on('data', (d) => { buf = Buffer.concat([buf, d]); if (want) want(); });
    sock.on('error', reject);
    sock.on('close', () => { if (want) reject(new Error('closed mid-response')); });
    // One whole response to a request with this method: its length in buf, or 0 while incomplete.
    function complete(method) {
      const h = buf.indexOf('\r\n\r\n');
      if (h < 0) return null;
      const head = buf.subarray(0, h).toString('latin1').split('\r\n');
      const status = Number(head[0].split(' ')[1]);
      const hdr = {};
      for (const l of head.slice(1)) { const i = l.indexOf(':'); hdr[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim(); }
      let at = h + 4;
      if (method === 'HEAD' || status === 204 || status === 304) return { status, size: 0, end: at };
      if (hdr['content-length'] !== undefined) {
        const n = Number(hdr['content-length']);
        return buf.length >= at + n ? { status, size: n, end: at + n } : null;
      }
      if (/chunked/i.test(hdr['transfer-encoding'] || '')) {
        let size = 0;
        for (;;) {
          const e = buf.indexOf('\r\n', at);
          if (e < 0) return null;
          const n = parseInt(buf.subarray(at, e).toString('latin1'), 16);
          if (n === 0) { const t = buf.indexOf('\r\n\r\n', e - 2); return t < 0 ? null : { status, size, end: t + 4 }; }
          if (buf.length < e + 2 + n + 2) return null;
          size += n; at = e + 2 + n + 2;
        }
      }
      reject(new Error('response without framing: ' + head.join(' / ')));
      return null;
    }
    const read = (method) => new Promise((res) => {
      want = () => { const r = complete(method); if (r) { buf = buf.subarray(r.end); want = null; res(r); } };
      want();
    });
    const request = ([m, t]) => m + ' ' + t + ' HTTP/1.1\r\nHost: tcpkit.test\r\nUser-Agent: tcpkit-test\r\n\r\n';
    sock.on('connect', async () => {
      if (c.pipeline) sock.write(c.requests.map(request).join(''));
      for (const r of c.requests) {
        if (!c.pipeline) sock.write(request(r));
        const got = await read(r[0]);
        console.log(got.status + ' ' + got.size);
      }
      sock.end();
      resolve();
    });
  });
}
(async () => { for (const c of JSON.parse(json)) await connection(c); })().catch((e) => { console.error(String(e)); process.exit(2); });
`;

interface Conn {
  pipeline?: boolean;
  requests: [string, string][];
}

const SINGLE: Conn[] = [
  { requests: [['GET', '/']] },
  { requests: [['HEAD', '/']] },
  { requests: [['GET', '/big']] },
  { requests: [['GET', '/missing']] },
  { requests: [['GET', '/fail']] },
  { requests: [['GET', '/empty']] },
];
const KEEPALIVE: Conn = {
  requests: [['GET', '/index.html'], ['HEAD', '/big'], ['GET', '/big'], ['GET', '/missing'], ['GET', '/fail'], ['GET', '/empty'], ['GET', '/?after=1']],
};
const PIPELINE: Conn = { pipeline: true, requests: [['GET', '/?p=1'], ['GET', '/big?p=2'], ['GET', '/empty?p=3'], ['GET', '/fail?p=4']] };
const IPV6: Conn = { requests: [['GET', '/'], ['GET', '/big?six']] };

/** What nginx answers each target with: status and body bytes (`*`: one of nginx's built-in error pages, any size). */
function answer(method: string, target: string): string {
  const p = target.replace(/\?.*/, '');
  if (p === '/fail') return method === 'HEAD' ? '503 0' : '503 *';
  if (p === '/empty') return '204 0';
  if (p === '/missing') return method === 'HEAD' ? '404 0' : '404 *';
  const size = p === '/big' ? BIG : INDEX.length;
  return method === 'HEAD' ? '200 0' : `200 ${size}`;
}

describe('live capture of a real HTTP server (nginx)', { skip: why ?? false }, () => {
  let lab: Lab;
  let tmp: ReturnType<typeof tempDir>;

  before(async () => {
    tmp = tempDir('tk-http-');
    lab = Lab.create();
    const d = tmp.dir;
    const www = path.join(d, 'www');
    fs.mkdirSync(www);
    fs.writeFileSync(path.join(www, 'index.html'), INDEX);
    fs.writeFileSync(path.join(www, 'big'), Buffer.alloc(BIG, 'x'));
    const conf = path.join(d, 'nginx.conf');
    fs.writeFileSync(
      conf,
      [
        'daemon off;',
        'master_process off;',
        'worker_processes 1;',
        `pid ${d}/nginx.pid;`,
        `error_log ${d}/error.log;`,
        'events { worker_connections 64; }',
        'http {',
        '  access_log off;',
        '  default_type application/octet-stream;',
        `  client_body_temp_path ${d}/body;`,
        `  proxy_temp_path ${d}/proxy;`,
        `  fastcgi_temp_path ${d}/fastcgi;`,
        `  uwsgi_temp_path ${d}/uwsgi;`,
        `  scgi_temp_path ${d}/scgi;`,
        '  server {',
        `    listen ${lab.ip4.server}:${PORT};`,
        `    listen [${lab.ip6.server}]:${PORT};`,
        `    root ${www};`,
        '    location = /fail { return 503; }',
        '    location = /empty { return 204; }',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    const ng = lab.spawn('server', ['nginx', '-p', `${d}/`, '-c', conf, '-e', `${d}/error.log`]);
    let log = '';
    ng.stdout!.on('data', (x) => (log += x));
    ng.stderr!.on('data', (x) => (log += x));
    const probe = `require('net').connect(${PORT}, process.argv[1]).on('connect', () => process.exit(0)).on('error', () => process.exit(1))`;
    for (let i = 0; i < 100; i++) {
      if (ng.exitCode !== null) throw new Error(`nginx exited ${ng.exitCode}: ${log}${fs.readFileSync(path.join(d, 'error.log'), 'utf8')}`);
      const up = [lab.ip4.server, lab.ip6.server].every(
        (host) => spawnSync('ip', ['netns', 'exec', lab.ns.client, process.execPath, '-e', probe, host]).status === 0,
      );
      if (up) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`nginx did not accept connections: ${log}`);
  });

  after(async () => {
    await lab?.destroy();
    tmp?.remove();
  });

  function client(host: string, conns: Conn[]): string[] {
    return lab.exec('client', [process.execPath, '-e', CLIENT, host, String(PORT), JSON.stringify(conns)]).trim().split('\n');
  }

  function checkAnswers(got: string[], conns: Conn[]): void {
    const want = conns.flatMap((c) => c.requests.map(([m, t]) => answer(m, t)));
    assert.equal(got.length, want.length, got.join('\n'));
    got.forEach((g, i) => {
      const [status, size] = want[i].split(' ');
      assert.ok(g.startsWith(`${status} `) && (size === '*' || g === want[i]), `response ${i}: ${g}, expected ${want[i]}`);
    });
  }

  for (const engine of ['ebpf', 'libpcap'] as const) {
    const name = engine === 'ebpf' ? 'eBPF' : 'libpcap';
    test(`${name}, server side: one request per connection, keep-alive, pipelined, 200 KB body, HEAD, 204, 404, 503 an error, IPv6`, async () => {
      const nsList = [lab.ns.server, lab.ns.client];
      const state = kernelState(nsList);
      const tk = await lab.tcpkit('server', [...(engine === 'ebpf' ? ['--ebpf'] : []), '-p', String(PORT), '-m', 'http']);
      const v4 = [...SINGLE, KEEPALIVE, PIPELINE];
      let code: number | null;
      try {
        // nginx answered as the test expects: otherwise tcpkit is not what is wrong.
        checkAnswers(client(lab.ip4.server, v4), v4);
        checkAnswers(client(lab.ip6.server, [IPV6]), [IPV6]);
      } finally {
        code = await tk.stop('SIGINT');
      }
      assert.equal(code, 0, tk.stderr);
      assert.match(tk.stderr, new RegExp(`^tcpkit: capturing with ${name} on any, tcp and \\(port ${PORT}\\)`, 'm'));
      const lines = parseLines(tk.stdout);
      const all = [...v4, IPV6].flatMap((c) => c.requests);
      assert.deepEqual(
        lines.map((l) => [l.request, l.error]),
        all.map(([m, t]) => [`${m} ${t}`, t.startsWith('/fail')]),
        tk.stdout,
      );
      for (const l of lines) assert.ok(l.latencyMs !== null && l.latencyMs < 1000, `${l.request}: ${l.latencyMs}`);
      // Connections: each single request on its own, then the keep-alive one, the pipelined one, the IPv6 one.
      const clients = lines.map((l) => l.client);
      const n = SINGLE.length;
      const ka = KEEPALIVE.requests.length;
      const pl = PIPELINE.requests.length;
      assert.equal(new Set(clients.slice(0, n)).size, n);
      assert.equal(new Set(clients.slice(n, n + ka)).size, 1);
      assert.equal(new Set(clients.slice(n + ka, n + ka + pl)).size, 1);
      assert.equal(new Set(clients.slice(n + ka + pl)).size, 1);
      assert.equal(new Set(clients).size, n + 3);
      for (const l of lines.slice(0, n + ka + pl)) {
        assert.equal(l.server, `${lab.ip4.server}:${PORT}`);
        assert.ok(l.client.startsWith(`${lab.ip4.client}:`), l.client);
      }
      for (const l of lines.slice(n + ka + pl)) {
        assert.equal(l.server, `[${lab.ip6.server}]:${PORT}`);
        assert.ok(l.client.startsWith(`[${lab.ip6.client}]:`), l.client);
      }
      assert.match(tk.stderr, new RegExp(`requests: ${all.length} answered \\(3 errors\\), 0 without response`));
      assert.equal(await settlesTo(state, nsList), state, 'the kernel is as it was before tcpkit ran');
    });
  }
});

// -m http live: a real nginx in one namespace, a client in another, tcpkit on
// the server side with each engine. GET and HEAD, a 200 KB body, 404 (an
// answer), 503 (an error), 204 (no body), one request per connection, a
// keep-alive sequence on one connection, a pipelined batch, and IPv6.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, tempDir } from '../helpers/netns';
import { kernelStateBefore, settlesTo } from '../helpers/kernel-state';
import { parseLines } from '../helpers/run';
import { HTTP_PORT as PORT, httpClient, startNginx, toolsUnavailable } from '../helpers/servers';

const why = toolsUnavailable(['nginx']);
if (why) process.stdout.write(`# http-live: skipped, ${why}\n`);

const BIG = 200 * 1024;
const INDEX = '<html><body>tcpkit</body></html>\n';

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
    await startNginx(lab, tmp.dir, {
      files: { 'index.html': INDEX, big: Buffer.alloc(BIG, 'x') },
      locations: ['location = /fail { return 503; }', 'location = /empty { return 204; }'],
    });
  });

  after(async () => {
    await lab?.destroy();
    tmp?.remove();
  });

  function client(host: string, conns: Conn[]): string[] {
    return httpClient(lab, host, conns.map((c) => ({ pipeline: c.pipeline, requests: c.requests.map(([method, target]) => ({ method, target })) })));
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
      const state = await kernelStateBefore(nsList);
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

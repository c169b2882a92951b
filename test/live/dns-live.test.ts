// -m dns live: dnsmasq in one namespace, dig in another, tcpkit on the
// server side with each engine. Queries over UDP and TCP, IPv4 and IPv6,
// answered NOERROR, NXDOMAIN (an answer) and REFUSED (an error).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Lab, labUnavailable } from '../helpers/netns';
import { kernelState, settlesTo } from '../helpers/kernel-state';
import { parseLines } from '../helpers/run';

let why = labUnavailable();
for (const tool of ['dnsmasq', 'dig']) {
  if (!why && spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) why = `${tool} is not installed (make setup)`;
}
if (why) process.stdout.write(`# dns-live: skipped, ${why}\n`);

describe('live capture of a real DNS server (dnsmasq)', { skip: why ?? false }, () => {
  let lab: Lab;

  before(async () => {
    lab = Lab.create();
    lab.spawn('server', [
      'dnsmasq', '--no-daemon', '--port=53', `--listen-address=${lab.ip4.server}`, `--listen-address=${lab.ip6.server}`,
      '--bind-interfaces', '--no-resolv', '--no-hosts', '--address=/example.test/10.1.2.3', '--address=/example.test/fd00::3',
      '--address=/nx.test/', '--log-facility=/dev/null', '--pid-file=',
    ]);
    for (let i = 0; i < 100; i++) {
      const r = spawnSync('ip', ['netns', 'exec', lab.ns.client, 'dig', '+short', '+time=1', '+tries=1', `@${lab.ip4.server}`, 'example.test'], { encoding: 'utf8' });
      if (r.stdout.trim() === '10.1.2.3') return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('dnsmasq did not answer');
  });

  after(async () => {
    await lab?.destroy();
  });

  function dig(args: string[]): void {
    lab.exec('client', ['dig', '+time=2', '+tries=1', ...args]);
  }

  for (const engine of ['ebpf', 'libpcap']) {
    test(`${engine}: every query with its name and type, paired by id, UDP and TCP, IPv4 and IPv6`, async () => {
      const nsList = [lab.ns.server, lab.ns.client];
      const state = kernelState(nsList);
      const tk = await lab.tcpkit('server', [...(engine === 'ebpf' ? ['--ebpf'] : []), '-p', '53', '-m', 'dns']);
      dig([`@${lab.ip4.server}`, 'example.test', 'A']);
      dig([`@${lab.ip4.server}`, 'nx.test', 'A']);
      dig([`@${lab.ip4.server}`, 'other.test', 'MX']);
      dig(['+tcp', `@${lab.ip4.server}`, 'example.test', 'AAAA']);
      dig([`@${lab.ip6.server}`, 'example.test', 'A']);
      assert.equal(await tk.stop(), 0, tk.stderr);
      assert.match(tk.stderr, /capturing with .* on any, \(tcp or udp\) and \(port 53\)/);
      const lines = parseLines(tk.stdout);
      assert.deepEqual(
        lines.map((l) => [l.request, l.error]),
        [
          ['example.test A', false],
          ['nx.test A', false],
          ['other.test MX', true], // REFUSED: dnsmasq has no upstream
          ['example.test AAAA', false],
          ['example.test A', false],
        ],
      );
      assert.deepEqual(lines.map((l) => l.status), ['NOERROR', 'NXDOMAIN', 'REFUSED', 'NOERROR', 'NOERROR']);
      for (const l of lines) assert.ok(l.latencyMs !== null && l.latencyMs < 1000, `${l.request}: ${l.latencyMs}`);
      assert.equal(lines[4].server, `[${lab.ip6.server}]:53`);
      assert.match(tk.stderr, /requests: 5 answered \(1 errors\), 0 without response/);
      assert.equal(await settlesTo(state, nsList), state);
    });
  }
});

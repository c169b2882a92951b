// -m dns live: dnsmasq in one namespace, dig in another, tcpkit on the
// server side with each engine. Queries over UDP and TCP, IPv4 and IPv6,
// answered NOERROR, NXDOMAIN (an answer) and REFUSED (an error).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../helpers/netns';
import { kernelStateBefore, settlesTo } from '../helpers/kernel-state';
import { parseLines } from '../helpers/run';
import { dig, startDnsmasq, toolsUnavailable } from '../helpers/servers';

const why = toolsUnavailable(['dnsmasq', 'dig']);
if (why) process.stdout.write(`# dns-live: skipped, ${why}\n`);

describe('live capture of a real DNS server (dnsmasq)', { skip: why ?? false }, () => {
  let lab: Lab;

  before(async () => {
    lab = Lab.create();
    await startDnsmasq(lab, ['--address=/example.test/10.1.2.3', '--address=/example.test/fd00::3', '--address=/nx.test/'], 'example.test', '10.1.2.3');
  });

  after(async () => {
    await lab?.destroy();
  });

  for (const engine of ['ebpf', 'libpcap']) {
    test(`${engine}: every query with its name and type, paired by id, UDP and TCP, IPv4 and IPv6`, async () => {
      const nsList = [lab.ns.server, lab.ns.client];
      const state = await kernelStateBefore(nsList);
      const tk = await lab.tcpkit('server', [...(engine === 'ebpf' ? ['--ebpf'] : []), '-p', '53', '-m', 'dns']);
      dig(lab, [`@${lab.ip4.server}`, 'example.test', 'A']);
      dig(lab, [`@${lab.ip4.server}`, 'nx.test', 'A']);
      dig(lab, [`@${lab.ip4.server}`, 'other.test', 'MX']);
      dig(lab, ['+tcp', `@${lab.ip4.server}`, 'example.test', 'AAAA']);
      dig(lab, [`@${lab.ip6.server}`, 'example.test', 'A']);
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
      assert.match(tk.stderr, /requests: 5 answered \(1 error\), 0 without response/);
      assert.equal(await settlesTo(state, nsList), state);
    });
  }
});

// Captures the suite records itself from a real DNS server (dnsmasq): two
// network namespaces joined by a veth pair, tcpdump on both ends of the veth
// (the server's side and the client's), then `tcpkit -r` on each file.
// A, AAAA, MX and TXT answers from dnsmasq's own records, NXDOMAIN, REFUSED
// (no upstream), a NOTIFY, a 6 KB TXT answer (truncated over UDP, so dig asks
// again over TCP), several queries on one TCP connection, queries dnsmasq
// never answers (its upstream is silent over UDP and refuses TCP), and IPv6.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { NO_RESPONSE, Recording, assertClientNotFaster, assertEndpoints, assertLines, type Expected } from '../helpers/recorded';
import { dig, startDnsmasq, toolsUnavailable } from '../helpers/servers';

const why = toolsUnavailable(['dnsmasq', 'dig']);
if (why) process.stdout.write(`# recorded-dns: skipped, ${why}\n`);

/** 30 strings of 200 bytes: over UDP's 1232-byte EDNS limit, so the UDP answer is truncated. */
const BIG_TXT = Array.from({ length: 30 }, (_, i) => String(i).padStart(200, 't'));

const RECORDS = [
  '--address=/example.test/10.1.2.3',
  '--address=/example.test/fd00::3',
  '--address=/nx.test/', // NXDOMAIN
  '--mx-host=mail.test,mx1.mail.test,10',
  '--txt-record=txt.test,"hello world"',
  `--txt-record=big.test,${BIG_TXT.join(',')}`,
  // Forwarded to a port where nothing listens: over UDP dnsmasq waits for an
  // answer that never comes; over TCP its connect fails and it closes the
  // client's connection. Either way the query gets no answer.
  '--server=/fwd.test/127.0.0.1#5399',
];

describe('captures recorded from a real DNS server (dnsmasq)', { skip: why ?? false }, () => {
  let rec: Recording;
  /**
   * Each dig run and the lines it gives, in order; `shown`: the answer codes
   * dig prints, when not those of the lines.
   */
  const runs: { args: string[]; lines: Expected[]; shown?: string[] }[] = [];
  const unanswered = (r: (typeof runs)[number]): boolean => r.lines.some((l) => l[1] === NO_RESPONSE);
  /** All lines, in the order tcpkit prints them. */
  let expected: Expected[] = [];

  before(async () => {
    rec = Recording.create('dns', 53);
    const lab = rec.lab;
    await startDnsmasq(lab, RECORDS, 'example.test', '10.1.2.3');
    const v4 = `@${lab.ip4.server}`;
    const v6 = `@${lab.ip6.server}`;
    runs.push(
      // UDP, one query per dig run (each from its own port).
      { args: [v4, 'example.test', 'A'], lines: [['example.test A', 'NOERROR', false]] },
      { args: [v4, 'example.test', 'AAAA'], lines: [['example.test AAAA', 'NOERROR', false]] },
      { args: [v4, 'mail.test', 'MX'], lines: [['mail.test MX', 'NOERROR', false]] },
      { args: [v4, 'txt.test', 'TXT'], lines: [['txt.test TXT', 'NOERROR', false]] },
      { args: [v4, 'nx.test', 'A'], lines: [['nx.test A', 'NXDOMAIN', false]] },
      { args: [v4, 'other.test', 'A'], lines: [['other.test A', 'REFUSED', true]] },
      { args: [v4, '+opcode=notify', 'example.test', 'SOA'], lines: [['NOTIFY example.test SOA', 'REFUSED', true]] },
      // Truncated over UDP (TC set, still NOERROR); dig asks again over TCP and shows only that answer.
      { args: [v4, 'big.test', 'TXT'], lines: [['big.test TXT', 'NOERROR', false], ['big.test TXT', 'NOERROR', false]], shown: ['NOERROR'] },
      { args: [v4, 'fwd.test', 'A'], lines: [['fwd.test A', NO_RESPONSE, false]] },
      // TCP: one query per connection, then four on one connection.
      { args: ['+tcp', v4, 'example.test', 'AAAA'], lines: [['example.test AAAA', 'NOERROR', false]] },
      {
        args: ['+tcp', '+keepopen', v4, 'example.test', 'A', 'nx.test', 'A', 'big.test', 'TXT', 'other.test', 'MX'],
        lines: [
          ['example.test A', 'NOERROR', false],
          ['nx.test A', 'NXDOMAIN', false],
          ['big.test TXT', 'NOERROR', false],
          ['other.test MX', 'REFUSED', true],
        ],
      },
      { args: ['+tcp', v4, 'fwd.test', 'AAAA'], lines: [['fwd.test AAAA', NO_RESPONSE, false]] },
      // IPv6, UDP and TCP.
      { args: [v6, 'example.test', 'A'], lines: [['example.test A', 'NOERROR', false]] },
      { args: ['+tcp', v6, 'txt.test', 'TXT'], lines: [['txt.test TXT', 'NOERROR', false]] },
    );
    let outputs: string[] = [];
    await rec.record('port 53', () => {
      outputs = runs.map((r) => dig(lab, r.args, unanswered(r)));
    });
    // dnsmasq answered as the test expects: otherwise tcpkit is not what is wrong.
    runs.forEach((r, i) => {
      const shown = [...outputs[i].matchAll(/status: (\w+)/g)].map((m) => m[1]);
      assert.deepEqual(shown, r.shown ?? r.lines.filter((l) => l[1] !== NO_RESPONSE).map((l) => l[1]), outputs[i]);
      if (r.shown) assert.match(outputs[i], /Truncated, retrying in TCP mode/);
    });
    // A UDP query is given up on when the capture ends (it is shorter than
    // --timeout): its line comes last. The TCP one is given up on when
    // dnsmasq closes the connection, in its place.
    const udpUnanswered = (r: (typeof runs)[number]): boolean => unanswered(r) && !r.args.includes('+tcp');
    expected = [...runs.filter((r) => !udpUnanswered(r)), ...runs.filter(udpUnanswered)].flatMap((r) => r.lines);
  });

  after(async () => {
    await rec?.destroy();
  });

  for (const side of ['server', 'client'] as const) {
    const flags = (): string[] => (side === 'client' ? rec.servers() : []);
    const name = side === 'client' ? 'client side (-s)' : 'server side';

    test(`${name}: every query once, with its name, type and answer code; unanswered ones as no response`, () => {
      const { lines, stderr } = rec.analyse(side, flags());
      assertLines(lines, stderr, expected);
    });

    test(`${name}: the keep-open queries on one connection, IPv6 endpoints in brackets`, () => {
      const { lines } = rec.analyse(side, flags());
      for (const r of runs) {
        // This run's lines: its queries, in order, among the lines not yet taken.
        const group = r.lines.map(([request, status]) => {
          const i = lines.findIndex((l) => l.request === request && (l.latencyMs === null ? NO_RESPONSE : l.status) === status);
          assert.ok(i >= 0, request);
          return lines.splice(i, 1)[0];
        });
        assertEndpoints(group, rec.lab, 53, r.args.includes(`@${rec.lab.ip6.server}`));
        if (r.args.includes('+keepopen')) assert.equal(new Set(group.map((l) => l.client)).size, 1);
      }
      assert.equal(lines.length, 0);
    });
  }

  test('client side: the round trip is never shorter than the server time', () => {
    assertClientNotFaster(rec.analyse('server').lines, rec.analyse('client', rec.servers()).lines);
  });
});

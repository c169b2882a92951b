// Captures the suite records itself from a real redis-server: two network
// namespaces joined by a veth pair, tcpdump on both ends of the veth (the
// server's side and the client's), then `tcpkit -r` on each file.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { labUnavailable, type Commands } from '../helpers/netns';
import { Recording, assertClientNotFaster } from '../helpers/recorded';

const why = labUnavailable();
if (why) process.stdout.write(`# recorded-redis: skipped, ${why}\n`);

const BIG = 200 * 1024;
const sequential: Commands = [
  ['SET', 'test_key', 'hello'],
  ['GET', 'test_key'],
  ['HSET', 'user:1', 'name', 'alice'],
  ['DEBUG', 'SLEEP', '0.03'],
  ['INCR', 'user:1'], // WRONGTYPE: an error reply
  ['DEL', 'test_key'],
];
const pipeline: Commands = Array.from({ length: 30 }, (_, i) => ['SET', `p:${i}`, String(i)]);
const big: Commands = [['SET', 'big', 'v'.repeat(BIG)], ['GET', 'big'], ['STRLEN', 'big']];
const ipv6: Commands = [['SET', 'six', '6'], ['GET', 'six']];
const TOTAL = sequential.length + pipeline.length + big.length + ipv6.length;

/** How tcpkit shows a request: arguments joined, long ones cut at 64 bytes. */
function text(cmd: string[]): string {
  return cmd.map((a) => (a.length > 64 ? `${a.slice(0, 64)}...` : a)).join(' ');
}

describe('captures recorded from a real redis-server', { skip: why ?? false }, () => {
  let rec: Recording;

  before(async () => {
    rec = Recording.create('redis', 6379);
    const lab = rec.lab;
    await lab.startRedis();
    await rec.record('tcp port 6379', () => {
      assert.equal(lab.redis(sequential), sequential.length);
      assert.equal(lab.redis(pipeline, { pipeline: true }), pipeline.length);
      assert.equal(lab.redis(big), big.length);
      assert.equal(lab.redis(ipv6, { ipv6: true }), ipv6.length);
    });
  });

  after(async () => {
    await rec?.destroy();
  });

  const analyse = (side: 'server' | 'client', extra: string[] = []) => rec.analyse(side, extra);

  for (const side of ['server', 'client'] as const) {
    test(`${side} side: every request once, in order, with its text`, () => {
      const { lines, stderr } = analyse(side);
      const expected = [...sequential, ...pipeline, ...big, ...ipv6].map(text);
      assert.deepEqual(lines.map((l) => l.request), expected);
      assert.equal(lines.length, TOTAL);
      assert.match(stderr, new RegExp(`requests: ${TOTAL} answered \\(1 error\\), 0 without response`));
      for (const l of lines) {
        assert.match(l.server, /:6379$/);
        assert.ok(l.latencyMs !== null && l.latencyMs >= 0);
      }
      // Four connections, each line naming the client first.
      assert.equal(new Set(lines.map((l) => l.client)).size, 4);
      assert.deepEqual(lines.filter((l) => l.error).map((l) => l.request), ['INCR user:1']);
    });

    test(`${side} side: DEBUG SLEEP 0.03 reads 30-35 ms`, () => {
      const sleep = analyse(side).lines.find((l) => l.request === 'DEBUG SLEEP 0.03');
      assert.ok(sleep?.latencyMs !== null && sleep?.latencyMs !== undefined);
      assert.ok(sleep.latencyMs >= 30 && sleep.latencyMs <= 35, `${sleep.latencyMs} ms`);
    });

    test(`${side} side: a pipeline of 30 gives 30 lines on one connection`, () => {
      const lines = analyse(side).lines.filter((l) => l.request.startsWith('SET p:'));
      assert.equal(lines.length, 30);
      assert.equal(new Set(lines.map((l) => l.client)).size, 1);
    });

    test(`${side} side: a 200 KB SET and its GET pair exactly once`, () => {
      const lines = analyse(side).lines;
      const set = lines.filter((l) => l.request.startsWith('SET big '));
      const get = lines.filter((l) => l.request === 'GET big');
      const strlen = lines.filter((l) => l.request === 'STRLEN big');
      assert.equal(set.length, 1);
      assert.equal(get.length, 1);
      assert.equal(strlen.length, 1);
      assert.equal(set[0].request, `SET big ${'v'.repeat(64)}...`);
    });

    test(`${side} side: IPv6 endpoints in brackets`, () => {
      const six = analyse(side).lines.filter((l) => l.request.endsWith(' six') || l.request.startsWith('SET six'));
      assert.equal(six.length, 2);
      for (const l of six) {
        assert.equal(l.server, `[${rec.lab.ip6.server}]:6379`);
        assert.match(l.client, new RegExp(`^\\[${rec.lab.ip6.client}\\]:\\d+$`));
      }
    });

    test(`${side} side: -t 20 keeps only the slow request`, () => {
      const { lines, stderr } = analyse(side, ['-t', '20']);
      assert.deepEqual(lines.map((l) => l.request), ['DEBUG SLEEP 0.03']);
      assert.match(stderr, new RegExp(`requests: ${TOTAL} answered .*\\n-t 20 ms: 1 line printed, 1 answered at or above 20 ms\n`));
    });
  }

  test('client side: -s names the server, and the round trip is never shorter than the server time', () => {
    assertClientNotFaster(analyse('server').lines, analyse('client', rec.servers()).lines);
  });
});

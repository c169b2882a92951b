// IP fragments: a UDP datagram too big for one packet (a DNSSEC answer) is
// put back together, in whatever order its fragments came, over IPv4 and
// IPv6; fragments that cannot make a datagram are counted, never thrown.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { udpPackets, writePcap, type Frame } from '../../helpers/pcap-writer';
import { parseLines, tcpkit } from '../../helpers/run';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-fragments-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

const T0 = 1_580_000_000_000_000;

/** A DNS message: one question for `name` A; a response carries `extra` bytes of answers. */
function dns(id: number, response: boolean, name: string, extra = 0): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(response ? 0x8180 : 0x0100, 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(response ? 1 : 0, 6);
  const labels = name.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]);
  return Buffer.concat([h, ...labels, Buffer.from([0, 0, 1, 0, 1]), Buffer.alloc(extra, 0xab)]);
}

/** A query at T0 and its 3000-byte answer 500 µs later in fragments of 1480 bytes, captured in `order`. */
function exchange(client: string, server: string, order: number[], opts: { drop?: number; capLen?: number } = {}): string {
  const q = udpPackets('ethernet', client, 40000, server, 53, dns(7, false, 'big.example'));
  const frags = udpPackets('ethernet', server, 53, client, 40000, dns(7, true, 'big.example', 3000), 1480);
  assert.equal(frags.length, 3);
  const frames: Frame[] = [{ tsUs: T0, data: q[0] }];
  order.forEach((i, k) => {
    if (i !== opts.drop) frames.push({ tsUs: T0 + 500 + k * 10, data: frags[i], capLen: i === 1 ? opts.capLen : undefined });
  });
  frames.push(...udpPackets('ethernet', client, 40001, server, 53, dns(8, false, 'small.example')).map((d) => ({ tsUs: T0 + 1000, data: d })));
  frames.push(...udpPackets('ethernet', server, 53, client, 40001, dns(8, true, 'small.example')).map((d) => ({ tsUs: T0 + 1200, data: d })));
  const file = path.join(dir, `f${n++}.pcap`);
  writePcap(file, 'ethernet', frames);
  return file;
}

for (const [client, server] of [['10.0.0.2', '10.0.0.1'], ['fd77::2', 'fd77::1']]) {
  const v = client.includes(':') ? 'IPv6' : 'IPv4';
  for (const order of [[0, 1, 2], [2, 1, 0], [1, 2, 0]]) {
    test(`${v}: an answer in 3 fragments captured in the order ${order.join(',')} is one answer, timed from its first fragment`, () => {
      const r = tcpkit(['-r', exchange(client, server, order), '-p', '53', '-m', 'dns']);
      assert.equal(r.code, 0, r.stderr);
      const first = order.indexOf(0);
      assert.deepEqual(
        parseLines(r.stdout).map((l) => [l.request, l.latencyMs, l.status]),
        [
          ['big.example A', 0.5 + first * 0.01, 'NOERROR'],
          ['small.example A', 0.2, 'NOERROR'],
        ],
      );
      assert.match(r.stderr, /3 IP fragments: 1 datagram put together, 0 fragments given up on/);
    });
  }

  test(`${v}: a lost fragment leaves the query unanswered, and the others are counted as given up on`, () => {
    const r = tcpkit(['-r', exchange(client, server, [0, 1, 2], { drop: 1 }), '-p', '53', '-m', 'dns']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parseLines(r.stdout).map((l) => [l.request, l.latencyMs]), [['small.example A', 0.2], ['big.example A', null]]);
    assert.match(r.stderr, /2 IP fragments: 0 datagrams put together, 2 fragments given up on/);
  });

  test(`${v}: a fragment cut by snaplen cannot be put back: given up on, no crash`, () => {
    const r = tcpkit(['-r', exchange(client, server, [0, 1, 2], { capLen: 200 }), '-p', '53', '-m', 'dns']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parseLines(r.stdout).map((l) => [l.request, l.latencyMs]), [['small.example A', 0.2], ['big.example A', null]]);
    assert.match(r.stderr, /3 IP fragments: 0 datagrams put together, 3 fragments given up on/);
  });
}

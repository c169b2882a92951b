// -m memcached live: a real memcached in one namespace, a client in another,
// tcpkit on the server side with each engine. The text protocol (storage
// commands with data blocks, multi-key get with hits and misses, incr,
// delete, a noreply set, an unknown command and a CLIENT_ERROR), the binary
// protocol (SET, GET hit and miss, INCR on a non-number, and a pipelined
// GETQ miss + GETQ hit + NOOP batch), and IPv6.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../helpers/netns';
import { kernelStateBefore, settlesTo } from '../helpers/kernel-state';
import { parseLines } from '../helpers/run';
import { MEMCACHED_PORT as PORT, memcachedClient, memcachedUdpClient, startMemcached, toolsUnavailable } from '../helpers/servers';
import type { BinaryRequest, MemcachedStep } from '../helpers/memcached-client';

const why = toolsUnavailable(['memcached']);
if (why) process.stdout.write(`# memcached-live: skipped, ${why}\n`);

/** A text command and whether to wait for its answer (not for a noreply one). */
const step = (payload: string, reply = true): MemcachedStep => ({ text: payload, reply });
const bin = (op: number, opaque: number, key: string, extras = '', value = ''): BinaryRequest => ({ op, opaque, key, extras, value });

const TEXT: MemcachedStep[] = [
  step('set k1 0 0 5\r\nhello\r\n'),
  step('set n 0 0 1\r\n5\r\n'),
  step('get k1 missing n\r\n'),
  step('get nope\r\n'),
  step('incr n 10\r\n'),
  step('delete k1\r\n'),
  step('set q 0 0 2 noreply\r\nhi\r\n', false),
  step('get q\r\n'),
  step('bogus_cmd a b\r\n'),
  step('incr k1 1\r\n'),
  step('incr q 1\r\n'),
];
/**
 * The binary steps: SET, GET hit, GET miss, INCR on a non-number, each waited
 * for, then GETQ miss + GETQ hit + NOOP in one write.
 */
const BINARY: MemcachedStep[] = [
  { binary: [bin(0x01, 1, 'bk', '0000000000000000', 'bvalue')] },
  { binary: [bin(0x00, 2, 'bk')] },
  { binary: [bin(0x00, 3, 'bnope')] },
  { binary: [bin(0x05, 4, 'bk', '0000000000000001000000000000000000000000')] },
  { binary: [bin(0x09, 5, 'bmiss'), bin(0x09, 6, 'bk'), bin(0x0a, 7, '')] },
];
const TEXT_REPLIES = [
  'STORED\r\n',
  'STORED\r\n',
  'VALUE k1 0 5\r\nhello\r\nVALUE n 0 1\r\n5\r\nEND\r\n',
  'END\r\n',
  '15\r\n',
  'DELETED\r\n',
  'VALUE q 0 2\r\nhi\r\nEND\r\n',
  'ERROR\r\n',
  'NOT_FOUND\r\n',
  'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n',
];
const IPV6: MemcachedStep[] = [
  step('set six 0 0 1\r\n6\r\n'),
  step('get six\r\n'),
];

/** Request text and error marking, in the order tcpkit reports them. */
const EXPECTED: [string, boolean][] = [
  ['set k1 0 0 5', false],
  ['set n 0 0 1', false],
  ['get k1 missing n', false],
  ['get nope', false],
  ['incr n 10', false],
  ['delete k1', false],
  // `set q 0 0 2 noreply` is never answered: not reported.
  ['get q', false],
  ['bogus_cmd a b', true], // ERROR
  ['incr k1 1', false], // NOT_FOUND is an answer
  ['incr q 1', true], // CLIENT_ERROR
  ['SET bk', false],
  ['GET bk', false],
  ['GET bnope', false], // NOT_FOUND is an answer
  ['INCR bk', true], // status 6: non-numeric value
  // GETQ bmiss is answered by silence (the NOOP's answer says so): not reported.
  ['GETQ bk', false],
  ['NOOP', false],
  ['set six 0 0 1', false],
  ['get six', false],
];

describe('live capture of a real memcached', { skip: why ?? false }, () => {
  let lab: Lab;

  before(async () => {
    lab = Lab.create();
    await startMemcached(lab, PORT, { udp: true });
  });

  after(async () => {
    await lab?.destroy();
  });

  for (const engine of ['ebpf', 'libpcap'] as const) {
    const name = engine === 'ebpf' ? 'eBPF' : 'libpcap';
    test(`${name}, server side: text and binary requests in order, noreply and quiet misses left out, errors marked, IPv6`, async () => {
      const nsList = [lab.ns.server, lab.ns.client];
      const state = await kernelStateBefore(nsList);
      const tk = await lab.tcpkit('server', [...(engine === 'ebpf' ? ['--ebpf'] : []), '-p', String(PORT), '-m', 'memcached']);
      let code: number | null;
      try {
        // The server answered as the test expects: otherwise tcpkit is not what is wrong.
        assert.deepEqual(memcachedClient(lab, lab.ip4.server, TEXT).map((l) => JSON.parse(l)), TEXT_REPLIES);
        assert.deepEqual(memcachedClient(lab, lab.ip4.server, BINARY), [
          'op=1 status=0 opaque=1',
          'op=0 status=0 opaque=2',
          'op=0 status=1 opaque=3',
          'op=5 status=6 opaque=4',
          'op=9 status=0 opaque=6',
          'op=10 status=0 opaque=7',
        ]);
        assert.deepEqual(memcachedClient(lab, lab.ip6.server, IPV6).map((l) => JSON.parse(l)), ['STORED\r\n', 'VALUE six 0 1\r\n6\r\nEND\r\n']);
      } finally {
        code = await tk.stop('SIGINT');
      }
      assert.equal(code, 0, tk.stderr);
      assert.match(tk.stderr, new RegExp(`^tcpkit: capturing with ${name} on any, \\(tcp or udp\\) and \\(port ${PORT}\\)`, 'm'));
      const lines = parseLines(tk.stdout);
      assert.deepEqual(lines.map((l) => [l.request, l.error]), EXPECTED, tk.stdout);
      for (const l of lines) assert.ok(l.latencyMs !== null && l.latencyMs < 1000, `${l.request}: ${l.latencyMs}`);
      // One connection per client run: text, binary, IPv6.
      const text = lines.slice(0, 10);
      const binary = lines.slice(10, 16);
      const six = lines.slice(16);
      for (const group of [text, binary, six]) assert.equal(new Set(group.map((l) => l.client)).size, 1);
      assert.notEqual(text[0].client, binary[0].client);
      for (const l of [...text, ...binary]) {
        assert.equal(l.server, `${lab.ip4.server}:${PORT}`);
        assert.ok(l.client.startsWith(`${lab.ip4.client}:`), l.client);
      }
      for (const l of six) {
        assert.equal(l.server, `[${lab.ip6.server}]:${PORT}`);
        assert.ok(l.client.startsWith(`[${lab.ip6.client}]:`), l.client);
      }
      assert.match(tk.stderr, /requests: 18 answered \(3 errors\), 0 without response/);
      assert.equal(await settlesTo(state, nsList), state, 'the kernel is as it was before tcpkit ran');
    });

    test(`${name}, -u: memcached over UDP, paired by request id; a reply of several datagrams is one; quiet binary requests wait for nothing`, async () => {
      const BIG = 5000;
      // The big value goes in over TCP: a request must fit one datagram.
      memcachedClient(lab, lab.ip4.server, [step(`set ubig 0 0 ${BIG}\r\n${'u'.repeat(BIG)}\r\n`)]);
      const binary = (op: number, key: string, extras: Buffer, value: string): string => {
        const h = Buffer.alloc(24);
        h[0] = 0x80;
        h[1] = op;
        h.writeUInt16BE(key.length, 2);
        h[4] = extras.length;
        h.writeUInt32BE(extras.length + key.length + value.length, 8);
        return Buffer.concat([h, extras, Buffer.from(key), Buffer.from(value)]).toString('hex');
      };
      const tk = await lab.tcpkit('server', [...(engine === 'ebpf' ? ['--ebpf'] : []), '-p', String(PORT), '-m', 'memcached', '-u']);
      let code: number | null;
      try {
        assert.deepEqual(
          memcachedUdpClient(lab, lab.ip4.server, [
            { payload: 'set uk 0 0 2\r\nhi\r\n', reply: true },
            { payload: 'get uk nope\r\n', reply: true },
            { payload: 'get ubig\r\n', reply: true },
            { payload: 'set un 0 0 1 noreply\r\n1\r\n', reply: false },
            { payload: 'incr un 5\r\n', reply: true },
            { payload: binary(0x11, 'q', Buffer.alloc(8), 'x'), hex: true, reply: false }, // SETQ: quiet
            { payload: binary(0x00, 'q', Buffer.alloc(0), ''), hex: true, reply: true },
            { payload: 'get missing\r\n', reply: true },
          ]),
          ['STORED\r\n', 'VALUE uk 0 2\r\nhi\r\nEND\r\n', `${BIG + 26} bytes`, '6\r\n', 'bin:0', 'END\r\n'],
        );
        assert.deepEqual(memcachedUdpClient(lab, lab.ip6.server, [{ payload: 'get uk\r\n', reply: true }]), ['VALUE uk 0 2\r\nhi\r\nEND\r\n']);
      } finally {
        code = await tk.stop('SIGINT');
      }
      assert.equal(code, 0, tk.stderr);
      assert.match(tk.stderr, new RegExp(`^tcpkit: capturing with ${name} on any, udp and \\(port ${PORT}\\)`, 'm'));
      const lines = parseLines(tk.stdout);
      assert.deepEqual(
        lines.map((l) => [l.request, l.status, l.error]),
        [
          ['set uk 0 0 2', 'STORED', false],
          ['get uk nope', 'HIT', false],
          ['get ubig', 'HIT', false], // 4 datagrams
          ['incr un 5', 'NUMBER', false],
          ['GET q', 'OK', false],
          ['get missing', 'MISS', false],
          ['get uk', 'HIT', false],
        ],
        tk.stdout,
      );
      for (const l of lines) assert.ok(l.latencyMs !== null && l.latencyMs < 1000, `${l.request}: ${l.latencyMs}`);
      assert.match(tk.stderr, /requests: 7 answered, 0 without response/);
      assert.doesNotMatch(tk.stderr, /without a request|parser resets/);
    });
  }
});

// -m memcached live: a real memcached in one namespace, a client in another,
// tcpkit on the server side with each engine. The text protocol (storage
// commands with data blocks, multi-key get with hits and misses, incr,
// delete, a noreply set, an unknown command and a CLIENT_ERROR), the binary
// protocol (SET, GET hit and miss, INCR on a non-number, and a pipelined
// GETQ miss + GETQ hit + NOOP batch), and IPv6.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Lab, labUnavailable } from '../helpers/netns';
import { kernelState, settlesTo } from '../helpers/kernel-state';
import { parseLines } from '../helpers/run';

let why = labUnavailable();
if (!why && spawnSync('sh', ['-c', 'command -v memcached']).status !== 0) why = 'memcached is not installed (make setup)';
if (why) process.stdout.write(`# memcached-live: skipped, ${why}\n`);

const PORT = 11211;

/**
 * The client, run with node in the client namespace: argv host, port, mode
 * ('text' or 'binary'). Text: one connection, each command written and its
 * reply read in full before the next (a noreply command is not waited for).
 * Binary: one connection; SET, GET hit, GET miss, INCR on a non-number, each
 * waited for, then GETQ miss + GETQ hit + NOOP in one write, read up to the
 * NOOP's answer. Prints the replies it read, one a line.
 */
const CLIENT = String.raw`
const net = require('net');
const [host, port, mode, json] = process.argv.slice(1);
const sock = net.connect({ host, port: Number(port) });
let buf = Buffer.alloc(0);
let want = null;
sock.on('data', (d) => { buf = Buffer.concat([buf, d]); if (want) want(); });
sock.on('error', (e) => { console.error(String(e)); process.exit(2); });
function until(done) {
  return new Promise((resolve) => {
    want = () => { const n = done(buf); if (n > 0) { const got = buf.subarray(0, n); buf = buf.subarray(n); want = null; resolve(got); } };
    want();
  });
}
const textReply = (end) => (b) => {
  const s = b.toString('latin1');
  if (end === 'END') { const i = s.search(/(^|\r\n)END\r\n/); return i < 0 ? 0 : s.indexOf('END\r\n', i) + 5; }
  const i = s.indexOf('\r\n'); return i < 0 ? 0 : i + 2;
};
function bin(op, opaque, key, extras = Buffer.alloc(0), value = Buffer.alloc(0)) {
  const k = Buffer.from(key);
  const h = Buffer.alloc(24);
  h[0] = 0x80; h[1] = op; h.writeUInt16BE(k.length, 2); h[4] = extras.length;
  h.writeUInt32BE(extras.length + k.length + value.length, 8); h.writeUInt32BE(opaque, 12);
  return Buffer.concat([h, extras, k, value]);
}
const binReply = (b) => (b.length < 24 ? 0 : b.length < 24 + b.readUInt32BE(8) ? 0 : 24 + b.readUInt32BE(8));
const show = (r) =>
  'op=' + r[1] + ' status=' + r.readUInt16BE(6) + ' opaque=' + r.readUInt32BE(12);
const rt = async (b) => { sock.write(b); return show(await until(binReply)); };
sock.on('connect', async () => {
  if (mode === 'text') {
    for (const [payload, end] of JSON.parse(json)) {
      sock.write(payload);
      if (end === null) continue;
      console.log(JSON.stringify((await until(textReply(end))).toString('latin1')));
    }
  } else {
    const setExtras = Buffer.alloc(8);
    console.log(await rt(bin(0x01, 1, 'bk', setExtras, Buffer.from('bvalue'))));
    console.log(await rt(bin(0x00, 2, 'bk')));
    console.log(await rt(bin(0x00, 3, 'bnope')));
    const incr = Buffer.alloc(20); incr.writeUInt32BE(1, 4);
    console.log(await rt(bin(0x05, 4, 'bk', incr)));
    sock.write(Buffer.concat([bin(0x09, 5, 'bmiss'), bin(0x09, 6, 'bk'), bin(0x0a, 7, '')]));
    for (;;) { const r = await until(binReply); console.log(show(r)); if (r[1] === 0x0a) break; }
  }
  sock.end();
});
`;

/**
 * The UDP client, run with node in the client namespace: argv host, port, and
 * a JSON list of [payload (latin1), hex (the payload is hex), wait (a reply
 * is expected)]. Each request is one datagram with memcached's 8-byte frame
 * (request id = its index + 1); the client reads every datagram of the reply
 * (the frame says how many) before the next. Prints each reply, one a line.
 */
const UDP_CLIENT = String.raw`
const dgram = require('dgram');
const [host, port, json] = process.argv.slice(1);
const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
const steps = JSON.parse(json);
// memcached 1.6 may send one reply as several datagrams, each framed as a
// whole message (seq 0 of 1): a reply is complete when its text (or binary
// body) is, not when the frame says so.
const complete = (b) => {
  if (b.length === 0) return false;
  if (b[0] === 0x81) return b.length >= 24 && b.length >= 24 + b.readUInt32BE(8);
  const s = b.toString('latin1');
  return s.startsWith('VALUE') ? s.endsWith('END\r\n') : s.endsWith('\r\n');
};
let got = [], done = null;
sock.on('message', (m) => { got.push(m.subarray(8)); if (done && complete(Buffer.concat(got))) done(); });
(async () => {
  for (let i = 0; i < steps.length; i++) {
    const [payload, hex, wait] = steps[i];
    const h = Buffer.alloc(8); h.writeUInt16BE(i + 1, 0); h.writeUInt16BE(1, 4);
    got = [];
    sock.send(Buffer.concat([h, Buffer.from(payload, hex ? 'hex' : 'latin1')]), Number(port), host);
    if (!wait) { await new Promise((r) => setTimeout(r, 20)); continue; }
    await new Promise((r) => {
      const t = setTimeout(() => { console.error('no whole reply to step ' + i + ', got ' + JSON.stringify(got.map(String))); process.exit(2); }, 3000);
      done = () => { clearTimeout(t); done = null; r(); };
    });
    const reply = Buffer.concat(got);
    console.log(JSON.stringify(reply[0] === 0x81 ? 'bin:' + reply.readUInt16BE(6) : reply.length > 200 ? reply.length + ' bytes' : reply.toString('latin1')));
  }
  sock.close();
})();
`;

/** [what is written, 'END' (a get: read up to END) | 'LINE' (one reply line) | null (noreply: not waited for)] */
type TextStep = [string, 'END' | 'LINE' | null];

const TEXT: TextStep[] = [
  ['set k1 0 0 5\r\nhello\r\n', 'LINE'],
  ['set n 0 0 1\r\n5\r\n', 'LINE'],
  ['get k1 missing n\r\n', 'END'],
  ['get nope\r\n', 'END'],
  ['incr n 10\r\n', 'LINE'],
  ['delete k1\r\n', 'LINE'],
  ['set q 0 0 2 noreply\r\nhi\r\n', null],
  ['get q\r\n', 'END'],
  ['bogus_cmd a b\r\n', 'LINE'],
  ['incr k1 1\r\n', 'LINE'],
  ['incr q 1\r\n', 'LINE'],
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
const IPV6: TextStep[] = [
  ['set six 0 0 1\r\n6\r\n', 'LINE'],
  ['get six\r\n', 'END'],
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
    const mc = lab.spawn('server', ['memcached', '-u', 'root', '-l', `${lab.ip4.server},[${lab.ip6.server}]`, '-p', String(PORT), '-U', String(PORT)]);
    let log = '';
    mc.stdout!.on('data', (d) => (log += d));
    mc.stderr!.on('data', (d) => (log += d));
    const probe = `require('net').connect(${PORT}, process.argv[1]).on('connect', () => process.exit(0)).on('error', () => process.exit(1))`;
    for (let i = 0; i < 100; i++) {
      if (mc.exitCode !== null) throw new Error(`memcached exited ${mc.exitCode}: ${log}`);
      const up = [lab.ip4.server, lab.ip6.server].every(
        (host) => spawnSync('ip', ['netns', 'exec', lab.ns.client, process.execPath, '-e', probe, host]).status === 0,
      );
      if (up) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`memcached did not accept connections: ${log}`);
  });

  after(async () => {
    await lab?.destroy();
  });

  function udpClient(host: string, steps: [string, boolean, boolean][]): string[] {
    return lab.exec('client', [process.execPath, '-e', UDP_CLIENT, host, String(PORT), JSON.stringify(steps)]).trim().split('\n').map((l) => JSON.parse(l));
  }

  function client(host: string, mode: 'text' | 'binary', steps: TextStep[] = []): string[] {
    return lab.exec('client', [process.execPath, '-e', CLIENT, host, String(PORT), mode, JSON.stringify(steps)]).trim().split('\n');
  }

  for (const engine of ['ebpf', 'libpcap'] as const) {
    const name = engine === 'ebpf' ? 'eBPF' : 'libpcap';
    test(`${name}, server side: text and binary requests in order, noreply and quiet misses left out, errors marked, IPv6`, async () => {
      const nsList = [lab.ns.server, lab.ns.client];
      const state = kernelState(nsList);
      const tk = await lab.tcpkit('server', [...(engine === 'ebpf' ? ['--ebpf'] : []), '-p', String(PORT), '-m', 'memcached']);
      let code: number | null;
      try {
        // The server answered as the test expects: otherwise tcpkit is not what is wrong.
        assert.deepEqual(client(lab.ip4.server, 'text', TEXT).map((l) => JSON.parse(l)), TEXT_REPLIES);
        assert.deepEqual(client(lab.ip4.server, 'binary'), [
          'op=1 status=0 opaque=1',
          'op=0 status=0 opaque=2',
          'op=0 status=1 opaque=3',
          'op=5 status=6 opaque=4',
          'op=9 status=0 opaque=6',
          'op=10 status=0 opaque=7',
        ]);
        assert.deepEqual(client(lab.ip6.server, 'text', IPV6).map((l) => JSON.parse(l)), ['STORED\r\n', 'VALUE six 0 1\r\n6\r\nEND\r\n']);
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
      client(lab.ip4.server, 'text', [[`set ubig 0 0 ${BIG}\r\n${'u'.repeat(BIG)}\r\n`, 'LINE']]);
      const bin = (op: number, key: string, extras: Buffer, value: string): string => {
        const h = Buffer.alloc(24);
        h[0] = 0x80;
        h[1] = op;
        h.writeUInt16BE(key.length, 2);
        h[4] = extras.length;
        h.writeUInt32BE(extras.length + key.length + value.length, 8);
        return Buffer.concat([h, extras, Buffer.from(key), Buffer.from(value)]).toString('hex');
      };
      const binSetQ = bin(0x11, 'q', Buffer.alloc(8), 'x');
      const binGet = bin(0x00, 'q', Buffer.alloc(0), '');
      const steps: [string, boolean, boolean][] = [
        ['set uk 0 0 2\r\nhi\r\n', false, true],
        ['get uk nope\r\n', false, true],
        ['get ubig\r\n', false, true],
        ['set un 0 0 1 noreply\r\n1\r\n', false, false],
        ['incr un 5\r\n', false, true],
        [binSetQ, true, false],
        [binGet, true, true],
        ['get missing\r\n', false, true],
      ];
      const tk = await lab.tcpkit('server', [...(engine === 'ebpf' ? ['--ebpf'] : []), '-p', String(PORT), '-m', 'memcached', '-u']);
      let code: number | null;
      try {
        assert.deepEqual(udpClient(lab.ip4.server, steps), [
          'STORED\r\n',
          'VALUE uk 0 2\r\nhi\r\nEND\r\n',
          `${BIG + 26} bytes`,
          '6\r\n',
          'bin:0',
          'END\r\n',
        ]);
        assert.deepEqual(udpClient(lab.ip6.server, [['get uk\r\n', false, true]]), ['VALUE uk 0 2\r\nhi\r\nEND\r\n']);
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
          ['get ubig', 'HIT', false],
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

// Captures the suite records itself from a real memcached (TCP): two network
// namespaces joined by a veth pair, tcpdump on both ends of the veth (the
// server's side and the client's), then `tcpkit -r` on each file. The text
// protocol with every storage command and its outcomes, noreply (alone and
// inside a pipelined batch), stats and a 200 KB value; the binary protocol
// with a quiet batch paired by opaque, STAT and 200 KB both ways; IPv6.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Recording, assertClientNotFaster, assertEndpoints, assertLines, type Expected } from '../helpers/recorded';
import { MEMCACHED_PORT as PORT, memcachedClient, startMemcached, toolsUnavailable } from '../helpers/servers';
import type { BinaryRequest, MemcachedStep } from '../helpers/memcached-client';

const why = toolsUnavailable(['memcached']);
if (why) process.stdout.write(`# recorded-memcached: skipped, ${why}\n`);

const BIG = 200 * 1024;

/** Text commands and how many answers to wait for (true: one; false: none, a noreply command). */
const step = (payload: string, reply: boolean | number = true): MemcachedStep => ({ text: payload, reply });
const bin = (op: number, opaque: number, key: string, extras = '', value = ''): BinaryRequest => ({ op, opaque, key, extras, value });
/** SET's extras: flags and expiry, both 0. */
const SET_EXTRAS = '00'.repeat(8);
/** INCR's extras: delta 1, initial 0, expiry 0. */
const INCR_EXTRAS = '0000000000000001' + '00'.repeat(12);

// One connection: every text command, each waited for except the noreply ones,
// and a pipelined batch.
const TEXT: MemcachedStep[] = [
  step('set a 0 0 5\r\nhello\r\n'),
  step('set n 0 0 2\r\n10\r\n'),
  step('get a b n\r\n'),
  step('get b\r\n'),
  step('add a 0 0 1\r\nx\r\n'),
  step('add b 0 0 3\r\nbee\r\n'),
  step('replace c 0 0 1\r\nz\r\n'),
  step('replace b 0 0 3\r\nBEE\r\n'),
  step('append a 0 0 6\r\n world\r\n'),
  step('prepend a 0 0 1\r\n>\r\n'),
  step('append nope 0 0 1\r\nx\r\n'),
  step('gets a n nope\r\n'),
  step('cas a 0 0 3 {cas}\r\nnew\r\n'),
  step('cas a 0 0 3 {cas}\r\nold\r\n'), // the same unique again: stale now
  step('cas nope 0 0 1 1\r\nx\r\n'),
  step('incr n 5\r\n'),
  step('decr n 20\r\n'),
  step('incr nope 1\r\n'),
  step('incr a 1\r\n'),
  step('delete b\r\n'),
  step('delete b\r\n'),
  step('touch a 100\r\n'),
  step('touch nope 1\r\n'),
  step('set q 0 0 2 noreply\r\nhi\r\n', false),
  step('get q\r\n'),
  // Six commands in one write, two of them noreply: four answers.
  step('get a\r\nset p 0 0 1 noreply\r\nP\r\nget p nope\r\ndelete p noreply\r\nincr n 1\r\nget p\r\n', 4),
  step('stats\r\n'),
  step('version\r\n'),
  step(`set big 0 0 ${BIG}\r\n${'v'.repeat(BIG)}\r\n`),
  step('get big\r\n'),
];
/** `{cas}`: the unique `gets a` returned. */
const TEXT_EXPECTED: Expected[] = [
  ['set a 0 0 5', 'STORED', false],
  ['set n 0 0 2', 'STORED', false],
  ['get a b n', 'HIT', false],
  ['get b', 'MISS', false],
  ['add a 0 0 1', 'NOT_STORED', false],
  ['add b 0 0 3', 'STORED', false],
  ['replace c 0 0 1', 'NOT_STORED', false],
  ['replace b 0 0 3', 'STORED', false],
  ['append a 0 0 6', 'STORED', false],
  ['prepend a 0 0 1', 'STORED', false],
  ['append nope 0 0 1', 'NOT_STORED', false],
  ['gets a n nope', 'HIT', false],
  ['cas a 0 0 3 {cas}', 'STORED', false],
  ['cas a 0 0 3 {cas}', 'EXISTS', false],
  ['cas nope 0 0 1 1', 'NOT_FOUND', false],
  ['incr n 5', 'NUMBER', false],
  ['decr n 20', 'NUMBER', false],
  ['incr nope 1', 'NOT_FOUND', false],
  ['incr a 1', 'CLIENT_ERROR', true],
  ['delete b', 'DELETED', false],
  ['delete b', 'NOT_FOUND', false],
  ['touch a 100', 'TOUCHED', false],
  ['touch nope 1', 'NOT_FOUND', false],
  // `set q 0 0 2 noreply` is never answered: no line.
  ['get q', 'HIT', false],
  ['get a', 'HIT', false],
  ['get p nope', 'HIT', false],
  ['incr n 1', 'NUMBER', false],
  ['get p', 'MISS', false],
  ['stats', 'STAT', false],
  ['version', 'VERSION', false],
  [`set big 0 0 ${BIG}`, 'STORED', false],
  ['get big', 'HIT', false],
];

// One connection: binary requests, then a batch of quiet ones ended by NOOP.
const BINARY: MemcachedStep[] = [
  { binary: [bin(0x01, 1, 'bk', SET_EXTRAS, 'bvalue')] }, // SET
  { binary: [bin(0x00, 2, 'bk')] }, // GET hit
  { binary: [bin(0x00, 3, 'bnope')] }, // GET miss
  { binary: [bin(0x02, 4, 'bk', SET_EXTRAS, 'again')] }, // ADD of a key that exists
  { binary: [bin(0x05, 5, 'bk', INCR_EXTRAS)] }, // INCR of a non-number
  {
    binary: [
      bin(0x11, 6, 'bk2', SET_EXTRAS, 'two'), // SETQ: silent on success
      bin(0x0d, 7, 'bk'), // GETKQ hit
      bin(0x0d, 8, 'bmiss'), // GETKQ miss: silent
      bin(0x0d, 9, 'bk2'), // GETKQ hit
      bin(0x12, 10, 'bk', SET_EXTRAS, 'x'), // ADDQ of a key that exists: answered
      bin(0x0a, 11, ''), // NOOP
    ],
  },
  { binary: [bin(0x10, 12, '')] }, // STAT: one answer packet per statistic
  { binary: [bin(0x0b, 13, '')] }, // VERSION
  { binary: [bin(0x00, 14, 'big')] }, // GET of the 200 KB value
  { binary: [bin(0x04, 15, 'bk')] }, // DELETE
  { binary: [bin(0x01, 16, 'bbig', SET_EXTRAS, 'w'.repeat(BIG))] }, // a 200 KB SET
];
const BINARY_ANSWERS = [
  'op=1 status=0 opaque=1',
  'op=0 status=0 opaque=2',
  'op=0 status=1 opaque=3',
  'op=2 status=2 opaque=4',
  'op=5 status=6 opaque=5',
  'op=13 status=0 opaque=7',
  'op=13 status=0 opaque=9',
  'op=18 status=2 opaque=10',
  'op=10 status=0 opaque=11',
];
const BINARY_EXPECTED: Expected[] = [
  ['SET bk', 'OK', false],
  ['GET bk', 'OK', false],
  ['GET bnope', 'NOT_FOUND', false],
  ['ADD bk', 'EXISTS', false], // an answer, as text's NOT_STORED is
  ['INCR bk', 'NON_NUMERIC', true],
  // SETQ bk2 and GETKQ bmiss succeed silently (the NOOP's answer says so): no lines.
  ['GETKQ bk', 'OK', false],
  ['GETKQ bk2', 'OK', false],
  ['ADDQ bk', 'EXISTS', false],
  ['NOOP', 'OK', false],
  ['STAT', 'OK', false],
  ['VERSION', 'OK', false],
  ['GET big', 'OK', false],
  ['DELETE bk', 'OK', false],
  ['SET bbig', 'OK', false],
];

// Over IPv6: one text connection, one binary with a quiet batch.
const IPV6_TEXT: MemcachedStep[] = [step('set six 0 0 1\r\n6\r\n'), step('get six nope\r\n')];
const IPV6_BINARY: MemcachedStep[] = [{ binary: [bin(0x0d, 1, 'nope6'), bin(0x0d, 2, 'six'), bin(0x0a, 3, '')] }];
const IPV6_EXPECTED: Expected[] = [
  ['set six 0 0 1', 'STORED', false],
  ['get six nope', 'HIT', false],
  ['GETKQ six', 'OK', false],
  ['NOOP', 'OK', false],
];

describe('captures recorded from a real memcached', { skip: why ?? false }, () => {
  let rec: Recording;
  let expected: Expected[] = [];

  before(async () => {
    rec = Recording.create('memcached', PORT);
    const lab = rec.lab;
    await startMemcached(lab);
    let text: string[] = [];
    let binary: string[] = [];
    await rec.record(`tcp port ${PORT}`, () => {
      text = memcachedClient(lab, lab.ip4.server, TEXT).map((l) => JSON.parse(l) as string);
      binary = memcachedClient(lab, lab.ip4.server, BINARY);
      // The IPv6 answers are checked here: the clients' output is not needed later.
      assert.deepEqual(memcachedClient(lab, lab.ip6.server, IPV6_TEXT).map((l) => JSON.parse(l)), ['STORED\r\n', 'VALUE six 0 1\r\n6\r\nEND\r\n']);
      assert.deepEqual(memcachedClient(lab, lab.ip6.server, IPV6_BINARY), ['op=13 status=0 opaque=2', 'op=10 status=0 opaque=3']);
    });
    // The server answered as the test expects: otherwise tcpkit is not what is wrong.
    assert.equal(text.length, TEXT_EXPECTED.length);
    const gets = /^VALUE a 0 12 (\d+)\r\n>hello world\r\nVALUE n 0 2 \d+\r\n10\r\nEND\r\n$/.exec(text[11]);
    assert.ok(gets, text[11]);
    assert.deepEqual(text.slice(12, 15), ['STORED\r\n', 'EXISTS\r\n', 'NOT_FOUND\r\n']);
    assert.deepEqual(text.slice(24, 28), ['VALUE a 0 3\r\nnew\r\nEND\r\n', 'VALUE p 0 1\r\nP\r\nEND\r\n', '1\r\n', 'END\r\n']);
    assert.match(text[28], /^(STAT [^\r\n]+\r\n){40,}END\r\n$/);
    assert.equal(text[31], `VALUE big 0 ${BIG}\r\n${'v'.repeat(BIG)}\r\nEND\r\n`);
    assert.deepEqual(binary.slice(0, BINARY_ANSWERS.length), BINARY_ANSWERS);
    // STAT: many answers with opaque 12, the last with an empty key; then VERSION, GET big, DELETE, SET.
    assert.ok(binary.length > BINARY_ANSWERS.length + 40, binary.join('\n'));
    assert.deepEqual(binary.slice(-4), ['op=11 status=0 opaque=13', 'op=0 status=0 opaque=14', 'op=4 status=0 opaque=15', 'op=1 status=0 opaque=16']);
    expected = [...TEXT_EXPECTED, ...BINARY_EXPECTED, ...IPV6_EXPECTED].map(([r, s, e]) => [r.replace('{cas}', gets[1]), s, e]);
  });

  after(async () => {
    await rec?.destroy();
  });

  for (const side of ['server', 'client'] as const) {
    const flags = (): string[] => (side === 'client' ? rec.servers() : []);
    const name = side === 'client' ? 'client side (-s)' : 'server side';

    test(`${name}: every request once, in order, with its text and status; noreply and quiet misses left out`, () => {
      const { lines, stderr } = rec.analyse(side, flags());
      assertLines(lines, stderr, expected);
    });

    test(`${name}: one connection per client run, IPv6 endpoints in brackets`, () => {
      const { lines } = rec.analyse(side, flags());
      const t = TEXT_EXPECTED.length;
      const b = BINARY_EXPECTED.length;
      const groups = [lines.slice(0, t), lines.slice(t, t + b), lines.slice(t + b, t + b + 2), lines.slice(t + b + 2)];
      for (const g of groups) assert.equal(new Set(g.map((l) => l.client)).size, 1);
      assert.equal(new Set(lines.map((l) => l.client)).size, groups.length);
      assertEndpoints(lines.slice(0, t + b), rec.lab, PORT, false);
      assertEndpoints(lines.slice(t + b), rec.lab, PORT, true);
    });
  }

  test('client side: the round trip is never shorter than the server time', () => {
    assertClientNotFaster(rec.analyse('server').lines, rec.analyse('client', rec.servers()).lines);
  });
});

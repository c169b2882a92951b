// The memcached parsers, where memcached.test.ts does not look: every binary
// opcode and status name, a binary STAT answer (one packet per statistic),
// key bytes shown as text shows them, a key with a gap in it, what a gap and
// resynchronisation do, the longest line, UDP messages abandoned. Written for
// the survivors of `make mutate` (test/TESTING.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newPairedConnection } from '../../../src/pairing/connection';
import { MemcachedParser } from '../../../src/protocol/memcached/parser';
import { MemcachedUdpParser } from '../../../src/protocol/memcached/udp';
import { OPCODE_NAMES, binaryStatusText, isBinaryError } from '../../../src/protocol/memcached/names';
import { MessageKind, ResetReason } from '../../../src/protocol/message';
import { FullRecorder, msg } from '../../helpers/full-recorder';
import { datagram } from '../../helpers/memcached-wire';

interface BinOpts {
  opcode: number;
  key?: string;
  extras?: number[];
  value?: string;
  opaque?: number;
  status?: number;
}

function bin(magic: number, o: BinOpts): Buffer {
  const key = Buffer.from(o.key ?? '', 'latin1');
  const extras = Buffer.from(o.extras ?? []);
  const value = Buffer.from(o.value ?? '', 'latin1');
  const h = Buffer.alloc(24);
  h[0] = magic;
  h[1] = o.opcode;
  h.writeUInt16BE(key.length, 2);
  h[4] = extras.length;
  h.writeUInt16BE(o.status ?? 0, 6);
  h.writeUInt32BE(extras.length + key.length + value.length, 8);
  h.writeUInt32BE(o.opaque ?? 0, 12);
  return Buffer.concat([h, extras, key, value]);
}
const binReq = (o: BinOpts): Buffer => bin(0x80, o);
const binRsp = (o: BinOpts): Buffer => bin(0x81, o);

function parser(request: boolean): { rec: FullRecorder; p: MemcachedParser } {
  const rec = new FullRecorder();
  return { rec, p: new MemcachedParser(newPairedConnection(), request, rec) };
}

const feed = (p: MemcachedParser | MemcachedUdpParser, b: Buffer | string, t: number): void => {
  const buf = Buffer.concat([Buffer.from('\r\n'), typeof b === 'string' ? Buffer.from(b, 'latin1') : b, Buffer.from('\r\n')]);
  p.feed(buf, 2, buf.length - 2, t, t * 10);
};

test('every binary opcode\'s name (unknown ones as OP_0xNN) and every status\'s (unknown as STATUS_0xNN); which statuses are errors', () => {
  const known: Record<number, string> = {
    0x00: 'GET', 0x01: 'SET', 0x02: 'ADD', 0x03: 'REPLACE', 0x04: 'DELETE', 0x05: 'INCR', 0x06: 'DECR', 0x07: 'QUIT', 0x08: 'FLUSH',
    0x09: 'GETQ', 0x0a: 'NOOP', 0x0b: 'VERSION', 0x0c: 'GETK', 0x0d: 'GETKQ', 0x0e: 'APPEND', 0x0f: 'PREPEND', 0x10: 'STAT',
    0x11: 'SETQ', 0x12: 'ADDQ', 0x13: 'REPLACEQ', 0x14: 'DELETEQ', 0x15: 'INCRQ', 0x16: 'DECRQ', 0x17: 'QUITQ', 0x18: 'FLUSHQ',
    0x19: 'APPENDQ', 0x1a: 'PREPENDQ', 0x1b: 'VERBOSITY', 0x1c: 'TOUCH', 0x1d: 'GAT', 0x1e: 'GATQ', 0x20: 'SASL_LIST_MECHS',
    0x21: 'SASL_AUTH', 0x22: 'SASL_STEP', 0x23: 'GATK', 0x24: 'GATKQ',
  };
  assert.equal(OPCODE_NAMES.length, 256);
  for (let op = 0; op < 256; op++) {
    assert.equal(OPCODE_NAMES[op].toString('latin1'), known[op] ?? `OP_0x${op.toString(16).padStart(2, '0')}`, `opcode ${op}`);
  }
  const statuses: [number, string, boolean][] = [
    [0x00, 'OK', false], [0x01, 'NOT_FOUND', false], [0x02, 'EXISTS', false], [0x03, 'TOO_LARGE', true], [0x04, 'INVALID', true],
    [0x05, 'NOT_STORED', false], [0x06, 'NON_NUMERIC', true], [0x07, 'NOT_MY_VBUCKET', true], [0x08, 'STATUS_0x08', true],
    [0x20, 'AUTH_ERROR', true], [0x21, 'AUTH_CONTINUE', false], [0x22, 'STATUS_0x22', true], [0x81, 'UNKNOWN_COMMAND', true],
    [0x82, 'OUT_OF_MEMORY', true], [0x83, 'NOT_SUPPORTED', true], [0x84, 'INTERNAL_ERROR', true], [0x85, 'BUSY', true],
    [0x86, 'TEMPORARY_FAILURE', true], [0x87, 'STATUS_0x87', true], [0xffff, 'STATUS_0xffff', true], [0x100, 'STATUS_0x100', true],
  ];
  for (const [s, text, error] of statuses) {
    assert.equal(binaryStatusText(s), text, `status ${s}`);
    assert.equal(isBinaryError(s), error, `status ${s}`);
  }
  // Through the parser: the status of a response, as a constant string.
  const { rec, p } = parser(false);
  feed(p, binRsp({ opcode: 0x00, status: 0x85, opaque: 9 }), 1);
  assert.deepEqual(rec.seen, [msg({ fromClient: false, status: 0x85, statusText: 'BUSY', error: true, matchId: 9, bytes: 24, start: [1, 10], end: [1, 10] })]);
});

test('a binary STAT answer: one packet per statistic, ended by one with an empty key, is one response from the first packet', () => {
  const { rec, p } = parser(false);
  const stats = [binRsp({ opcode: 0x10, key: 'pid', value: '42', opaque: 5 }), binRsp({ opcode: 0x10, key: 'uptime', value: '9', opaque: 5 })];
  const end = binRsp({ opcode: 0x10, opaque: 5 });
  feed(p, stats[0], 1);
  feed(p, stats[1], 2);
  feed(p, end, 3);
  // An end packet alone (no statistics before it): its own time and bytes.
  feed(p, end, 4);
  assert.deepEqual(rec.order, [
    msg({ fromClient: false, status: 0, statusText: 'OK', matchId: 5, bytes: stats[0].length + stats[1].length + end.length, start: [1, 10], end: [3, 30] }),
    msg({ fromClient: false, status: 0, statusText: 'OK', matchId: 5, bytes: end.length, start: [4, 40], end: [4, 40] }),
  ]);
  // After a reset() in the middle, the statistics before it are forgotten.
  const q = parser(false);
  feed(q.p, stats[0], 1);
  q.p.reset();
  feed(q.p, end, 2);
  assert.deepEqual(q.rec.seen.map((s) => [s.start, s.bytes]), [[[2, 20], end.length]]);
});

test('binary keys: control bytes and DEL as ".", space and the rest as they are', () => {
  const { rec, p } = parser(true);
  feed(p, binReq({ opcode: 0x00, key: 'a b\x01\x1f\x7f\x80~' }), 1);
  assert.deepEqual(rec.seen.map((s) => s.text), ['GET a b...\x80~']);
});

test('a binary key with bytes missing in it: what was seen, "..." once, then nothing more of it', () => {
  const key = 'abcdefghij';
  const wire = binReq({ opcode: 0x00, key, opaque: 3 });
  const { rec, p } = parser(true);
  feed(p, wire.subarray(0, 24 + 3), 1);
  assert.equal(p.skip(4, 2, 0), true);
  feed(p, wire.subarray(24 + 7), 3);
  assert.deepEqual(rec.seen, [msg({ text: 'GET abc...', matchId: 3, bytes: wire.length, start: [1, 10], end: [3, 30] })]);
  // A skip in the header, or past the body: a gap.
  const h = parser(true);
  feed(h.p, wire.subarray(0, 10), 1);
  assert.equal(h.p.skip(2, 2, 0), false);
  const b = parser(true);
  feed(b.p, wire.subarray(0, 26), 1);
  assert.equal(b.p.skip(wire.length - 26 + 1, 2, 0), false);
  assert.deepEqual([...h.rec.resets, ...b.rec.resets], [
    { fromClient: true, reason: ResetReason.Gap },
    { fromClient: true, reason: ResetReason.Gap },
  ]);
  // The gap reports the request so far, incomplete.
  assert.deepEqual(b.rec.seen.map((s) => [s.text, s.incomplete]), [['GET ab', true]]);
});

test('flushPartial(): the message so far, marked incomplete, once', () => {
  const { rec, p } = parser(true);
  feed(p, 'set k 0 0 10\r\n01234', 1);
  assert.equal(p.flushPartial(), true);
  assert.equal(p.flushPartial(), false);
  feed(p, '56789\r\n', 2);
  assert.deepEqual(rec.seen.map((s) => [s.text, s.incomplete]), [['set k 0 0 10', true]]);
});

test('resynchronising: after malformed text, a chunk that does not start a message is read to its next line', () => {
  const { rec, p } = parser(true);
  feed(p, 'get a\r\n', 1);
  feed(p, '\x01\x02\r\n', 2);
  feed(p, 'XYZ junk\r\nget b\r\n', 3);
  assert.deepEqual(rec.order, [
    msg({ text: 'get a', bytes: 7, start: [1, 10], end: [1, 10] }),
    { fromClient: true, reason: ResetReason.Malformed },
    msg({ text: 'get b', bytes: 7, start: [3, 30], end: [3, 30] }),
  ]);
  // A gap before anything was parsed: text is looked for line by line, not as binary.
  const g = parser(true);
  assert.equal(g.p.skip(5, 1, 0), false);
  feed(g.p, 'XYZ junk\r\nget c\r\n', 2);
  assert.deepEqual(g.rec.seen.map((s) => s.text), ['get c']);
});

test('reply lines: 8192 bytes before the LF (its CR included) are fine, one more is malformed (in any token)', () => {
  for (const [line, ok, after] of [
    [`SERVER_ERROR ${'x'.repeat(8192 - 14)}\r\n`, true, ['SERVER_ERROR']],
    [`SERVER_ERROR ${'x'.repeat(8192 - 13)}\r\n`, false, []],
    // (Then the next line that can start a reply: END.)
    [`VALUE ${'k'.repeat(8200)} 0 1\r\nx\r\nEND\r\n`, false, ['MISS']],
  ] as [string, boolean, string[]][]) {
    const { rec, p } = parser(false);
    feed(p, line, 1);
    assert.deepEqual(rec.resets.map((r) => r.reason), ok ? [] : [ResetReason.Malformed], `${line.length} bytes`);
    assert.deepEqual(rec.seen.map((s) => s.statusText), after, `${line.length} bytes`);
  }
  // The same limit where the line is read byte by byte (white space before the length).
  for (const [n, ok] of [
    [8181, true],
    [8182, false],
  ] as [number, boolean][]) {
    const { rec, p } = parser(false);
    feed(p, `VALUE k 0${' '.repeat(n)}1\r\nx\r\nEND\r\n`, 1);
    assert.deepEqual([rec.resets.length, rec.seen.map((s) => s.statusText)], ok ? [0, ['HIT']] : [1, ['MISS']], `${n} spaces`);
  }
  // A VALUE line whose length is no number: malformed.
  const v = parser(false);
  feed(v.p, 'VALUE k 0 x\r\n', 1);
  assert.deepEqual(v.rec.resets.map((r) => r.reason), [ResetReason.Malformed]);
});

test('UDP: a new message while one is open abandons it (malformed), and the new one parses', () => {
  const rec = new FullRecorder();
  const p = new MemcachedUdpParser(newPairedConnection(), false, rec);
  feed(p, datagram(1, 0, 2, 'VALUE k 0 5\r\nhel'), 1);
  feed(p, datagram(2, 0, 1, 'STORED\r\n'), 2);
  assert.deepEqual(rec.order, [{ fromClient: false, reason: ResetReason.Malformed }, msg({ fromClient: false, statusText: 'STORED', matchId: 2, bytes: 8, start: [2, 20], end: [2, 20] })]);
});

// ---------------------------------------------------------------- the whole-unit run of 2026-12-06 (test/TESTING.md)

/** Feeds `b` with these bytes right after its end in the buffer (a parser must not read them). */
const feedThen = (p: MemcachedParser, b: string, after: string, t: number): void => {
  const buf = Buffer.from(b + after, 'latin1');
  p.feed(buf, 0, b.length, t, t * 10);
};
const texts = (rec: FullRecorder): string[] => rec.seen.map((s) => (s.fromClient ? s.text : s.statusText));
const reasons = (rec: FullRecorder): ResetReason[] => rec.resets.map((r) => r.reason);

test('get, gets, gat and gats may have lines of more than 8,192 bytes (many keys); set, delete and others may not', () => {
  const keys = Array.from({ length: 900 }, (_v, i) => `key${String(i).padStart(6, '0')}`).join(' ');
  for (const cmd of ['get', 'gets', 'gat 0', 'gats 0']) {
    const { rec, p } = parser(true);
    feed(p, `${cmd} ${keys}\r\n`, 1);
    assert.deepEqual([reasons(rec), rec.seen.length, rec.seen[0].bytes], [[], 1, cmd.length + 1 + keys.length + 2], cmd);
  }
  for (const cmd of ['set', 'delete', 'touch', 'mg', 'incr']) {
    const { rec, p } = parser(true);
    feed(p, `${cmd} ${keys}\r\n`, 1);
    assert.deepEqual([reasons(rec), rec.seen.length], [[ResetReason.Malformed], 0], cmd);
  }
});

test('request lines: 8,192 bytes before the LF (CR included) are fine, one more is malformed; white space counts', () => {
  for (const [line, ok] of [
    [`set ${'k'.repeat(8192 - 11)} 0 0 1\r`, true],
    [`set ${'k'.repeat(8192 - 10)} 0 0 1\r`, false],
    [`set k 0 0 1${' '.repeat(8192 - 11)}`, true],
    [`set k 0 0 1${' '.repeat(8192 - 10)}`, false],
  ] as [string, boolean][]) {
    const { rec, p } = parser(true);
    // (Data that cannot start a request: after a malformed line it is skipped.)
    feed(p, `${line}\n1\r\n`, 1);
    assert.deepEqual([reasons(rec), rec.seen.length], ok ? [[], 1] : [[ResetReason.Malformed], 0], `${line.length} bytes, ${ok}`);
  }
});

test('request tokens: TAB separates, a CR inside a token is dropped, "!" and "~" may start a command, a byte outside them may not', () => {
  const { rec, p } = parser(true);
  feed(p, 'get\ta\tb\r\n', 1);
  feed(p, 'get c\rd\r\n', 2);
  feed(p, '!x\r\n', 3);
  feed(p, '~y\r\n', 4);
  assert.deepEqual([texts(rec), reasons(rec)], [['get a b', 'get cd', '!x', '~y'], []]);
});

test('storage lengths: the digits 0 to 9 only; up to 1 GB; more, or any other byte, is no usable length', () => {
  for (const [len, ok] of [
    ['9', true],
    ['19', true],
    ['1073741824', true],
    ['1073741825', false],
    ['1/', false],
    ['1:', false],
  ] as [string, boolean][]) {
    const { rec, p } = parser(true);
    feed(p, `set k 0 0 ${len}\r\n`, 1);
    assert.deepEqual(reasons(rec), ok ? [] : [ResetReason.Malformed], len);
  }
  const { rec, p } = parser(true);
  feed(p, 'set k 0 0 9\r\n123456789\r\nget k\r\n', 1);
  assert.deepEqual(texts(rec), ['set k 0 0 9', 'get k']);
});

test('noreply: the whole last token only; meta q only from the flags on (a key named q is no flag); cache_memlimit, decr, ma', () => {
  const { rec, p } = parser(true);
  for (const line of ['set k 0 0 1 noreply', 'set k 0 0 1 xoreply', 'set k 0 0 1 abcdefg', 'set k 0 0 1 noreplyy', 'set k 0 0 1 norepl', 'decr k 1 noreply', 'cache_memlimit 100 noreply', 'ma k q', 'ma k', 'get q', 'mg q v']) {
    const data = line.startsWith('set') ? 'x\r\n' : '';
    feed(p, `${line}\r\n${data}`, 1);
  }
  assert.deepEqual(rec.seen.map((s) => s.kind), [
    MessageKind.NoReply, MessageKind.Normal, MessageKind.Normal, MessageKind.Normal, MessageKind.Normal, MessageKind.NoReply,
    MessageKind.NoReply, MessageKind.NoReply, MessageKind.Normal, MessageKind.Normal, MessageKind.Normal,
  ]);
});

test('arguments: 64 bytes shown whole, more cut with "..." once (also when the rest comes in later chunks)', () => {
  const { rec, p } = parser(true);
  feed(p, `get ${'a'.repeat(64)}\r\n`, 1);
  const long = `get ${'b'.repeat(70)}\r\n`;
  const buf = Buffer.from(long, 'latin1');
  p.feed(buf, 0, 4 + 66, 2, 20);
  p.feed(buf, 4 + 66, 4 + 68, 3, 30);
  p.feed(buf, 4 + 68, buf.length, 4, 40);
  assert.deepEqual(texts(rec), [`get ${'a'.repeat(64)}`, `get ${'b'.repeat(64)}...`]);
});

test('resynchronising: which bytes can start a message after a reset (a to z, A to Z and digits), never the byte after the chunk', () => {
  const after = (request: boolean, chunks: string[]): [string[], ResetReason[]] => {
    const { rec, p } = parser(request);
    feed(p, request ? '\x01\r\n' : '\x01\r\n', 1);
    chunks.forEach((c, i) => feed(p, c, 2 + i));
    return [texts(rec), reasons(rec)];
  };
  assert.deepEqual(after(true, ['append k 0 0 1\r\nx\r\n']), [['append k 0 0 1'], [ResetReason.Malformed]]);
  assert.deepEqual(after(true, ['zap\r\n']), [['zap'], [ResetReason.Malformed]]);
  assert.deepEqual(after(true, ['{junk\r\nget y\r\n']), [['get y'], [ResetReason.Malformed]]);
  assert.deepEqual(after(false, ['ABC\r\nEND\r\n']), [['MISS'], [ResetReason.Malformed, ResetReason.Malformed]]);
  assert.deepEqual(after(false, ['0\r\n']), [['NUMBER'], [ResetReason.Malformed]]);
  // A chunk that ends a line: what follows it in the buffer is not looked at.
  const { rec, p } = parser(true);
  feed(p, '\x01\r\n', 1);
  feedThen(p, '#junk\r\n', 'g', 2);
  feed(p, ' x\r\nget y\r\n', 3);
  assert.deepEqual([texts(rec), reasons(rec)], [['get y'], [ResetReason.Malformed]]);
  // After a bad line that ended, the next line starts a message only if its first byte can.
  const q = parser(true);
  feed(q.p, 'set k 0 0 x\r\n\x01junk\r\nget b\r\n', 1);
  assert.deepEqual([texts(q.rec), reasons(q.rec)], [['get b'], [ResetReason.Malformed]]);
});

test('binary after a reset waits for a segment that starts with the magic; text is looked for line by line', () => {
  const { rec, p } = parser(true);
  const bad = binReq({ opcode: 0x00, key: 'a' });
  bad[5] = 1; // data type 1: malformed
  feed(p, Buffer.concat([bad, Buffer.from('\nget x\r\n')]), 1);
  feed(p, binReq({ opcode: 0x00, key: 'b' }), 2);
  assert.deepEqual([texts(rec), reasons(rec)], [['GET b'], [ResetReason.Malformed]]);
});

test('reply words: letters, digits and _; a word that runs on is no reply; 24 characters at most', () => {
  for (const [line, want, resets] of [
    ['19\r\n', ['NUMBER'], 0],
    ['0\r\n', ['NUMBER'], 0],
    ['ENDa\r\n', [], 1],
    ['ENDz\r\n', [], 1],
    ['ENDq\r\n', [], 1],
    ['ENDZ\r\n', [], 1],
    ['END~\r\n', ['MISS'], 0],
    [`${'1'.repeat(24)}\r\n`, ['NUMBER'], 0],
    [`${'1'.repeat(30)}\r\n`, [], 1],
  ] as [string, string[], number][]) {
    const { rec, p } = parser(false);
    feed(p, line, 1);
    assert.deepEqual([texts(rec), rec.resets.length], [want, resets], JSON.stringify(line));
  }
  // A word split across chunks: the byte after the first chunk is not read.
  const { rec, p } = parser(false);
  const buf = Buffer.from('STORED\r\n', 'latin1');
  p.feed(buf, 0, 3, 1, 10);
  p.feed(buf, 3, buf.length, 2, 20);
  assert.deepEqual(texts(rec), ['STORED']);
});

test('VALUE lines: TAB separates; the length may be any digits up to 1 GB; a line that ends early has none', () => {
  for (const [reply, want, resets] of [
    ['VALUE\tk\t0\t1\r\nx\r\nEND\r\n', ['HIT'], 0],
    ['VALUE k 0 9\r\n123456789\r\nEND\r\n', ['HIT'], 0],
    ['VALUE k 0 1073741824\r\n', [], 0],
    ['VALUE k 0 1073741825\r\nEND\r\n', ['MISS'], 1],
    ['VALUE k 0 1/\r\nEND\r\n', ['MISS'], 1],
    ['VALUE k 0 \r\n\r\nEND\r\n', ['MISS'], 1],
    ['VALUE k\nEND\r\n', ['MISS'], 1],
    ['STAT pid 1\r\nVALUE k 0 1\r\nx\r\nEND\r\n', ['MISS'], 1],
    ['VALUE k 0 1\r\nx\r\nVA 1\r\nx\r\nEND\r\n', ['MISS'], 1],
    ['VA x\r\n', [], 1],
    ['VA 2\r\nab\r\n', ['VA'], 0],
  ] as [string, string[], number][]) {
    const { rec, p } = parser(false);
    feed(p, reply, 1);
    assert.deepEqual([texts(rec), rec.resets.length], [want, resets], JSON.stringify(reply));
  }
  // A get answer flushed inside its first VALUE: a HIT so far.
  const { rec, p } = parser(false);
  feed(p, 'VALUE k 0 5\r\nab', 1);
  assert.equal(p.flushPartial(), true);
  assert.deepEqual(rec.seen.map((s) => [s.statusText, s.incomplete]), [['HIT', true]]);
});

test('flushPartial() of a request with no text yet (a binary header in progress) reports nothing; skip(0) is nothing', () => {
  const { rec, p } = parser(true);
  feed(p, binReq({ opcode: 0x01, key: 'k' }).subarray(0, 10), 1);
  assert.equal(p.flushPartial(), false);
  const q = parser(true);
  assert.equal(q.p.skip(0, 1, 0), true);
  feed(q.p, 'get a\r\n', 2);
  assert.deepEqual([rec.seen, texts(q.rec), q.rec.resets], [[], ['get a'], []]);
});

test('skip() in a data block: part of the data then the rest, or past its end (a gap)', () => {
  const { rec, p } = parser(true);
  feed(p, 'set k 0 0 5\r\nab', 1);
  assert.equal(p.skip(1, 2, 0), true);
  feed(p, 'de\r\nget x\r\n', 3);
  const q = parser(true);
  feed(q.p, 'set k 0 0 5\r\nab', 1);
  assert.equal(q.p.skip(6, 2, 0), false);
  assert.deepEqual([texts(rec), reasons(rec), reasons(q.rec)], [['set k 0 0 5', 'get x'], [], [ResetReason.Gap]]);
});

test('binary keys with bytes missing: the extras lost, or the value, add no "..."; the key\'s start lost shows "..." alone', () => {
  const wire = binReq({ opcode: 0x01, key: 'abc', extras: [0, 0, 0, 0, 0, 0, 0, 0], value: 'hello' });
  const run = (cuts: [number, number][]): string => {
    const { rec, p } = parser(true);
    let at = 0;
    for (const [feedTo, skip] of cuts) {
      feed(p, wire.subarray(at, feedTo), 1);
      at = feedTo;
      if (skip > 0) assert.equal(p.skip(skip, 2, 0), true);
      at += skip;
    }
    feed(p, wire.subarray(at), 3);
    return texts(rec)[0];
  };
  assert.equal(run([[24, 8]]), 'SET abc');
  assert.equal(run([[35, 5]]), 'SET abc');
  assert.equal(run([[32, 2]]), 'SET ...');
  assert.equal(run([[32, 1], [33, 1]]), 'SET ...');
  // A 67-byte key: 64 shown, the last 3 lost.
  const key = 'k'.repeat(67);
  const w2 = binReq({ opcode: 0x00, key });
  const { rec, p } = parser(true);
  feed(p, w2.subarray(0, 24 + 64), 1);
  assert.equal(p.skip(3, 2, 0), true);
  assert.deepEqual(texts(rec), [`GET ${'k'.repeat(64)}...`]);
  // Two binary requests: each has its space before the key; extras and no key: no space.
  const two = parser(true);
  feed(two.p, Buffer.concat([binReq({ opcode: 0x00, key: 'a' }), binReq({ opcode: 0x00, key: 'b' }), binReq({ opcode: 0x08, extras: [0, 0, 0, 0] })]), 1);
  assert.deepEqual(texts(two.rec), ['GET a', 'GET b', 'FLUSH']);
});

test('binary bodies up to 1 GB; one more byte is malformed', () => {
  for (const [len, ok] of [
    [0x40000000, true],
    [0x40000001, false],
  ] as [number, boolean][]) {
    const { rec, p } = parser(false);
    const h = binRsp({ opcode: 0x00 });
    h.writeUInt32BE(len, 8);
    feed(p, h, 1);
    assert.deepEqual(reasons(rec), ok ? [] : [ResetReason.Malformed], `${len}`);
  }
});

test('UDP: a message in two datagrams; out of sequence, another id, seq 0 again, or one past the count: abandoned; short datagrams', () => {
  const run = (frames: Buffer[], reset = false): [string[], number[], ResetReason[]] => {
    const rec = new FullRecorder();
    const p = new MemcachedUdpParser(newPairedConnection(), false, rec);
    frames.forEach((f, i) => {
      // Bytes before the datagram in the buffer: a parser must not read them.
      const buf = Buffer.concat([Buffer.alloc(6, 0xff), f]);
      p.feed(buf, 6, buf.length, i + 1, 0);
      if (reset && i === 0) p.reset();
    });
    return [texts(rec), rec.seen.map((s) => s.matchId), reasons(rec)];
  };
  const first = datagram(1, 0, 2, 'VALUE k 0 5\r\nhel');
  assert.deepEqual(run([first, datagram(1, 1, 2, 'lo\r\nEND\r\n')]), [['HIT'], [1], []]);
  assert.deepEqual(run([first, datagram(2, 1, 2, 'lo\r\nEND\r\n')]), [[], [], [ResetReason.Malformed]]);
  assert.deepEqual(run([first, datagram(1, 0, 1, 'STORED\r\n')]), [['STORED'], [1], [ResetReason.Malformed]]);
  assert.deepEqual(run([datagram(1, 0, 1, 'VALUE k 0 5\r\nhel'), datagram(1, 1, 2, 'lo\r\nEND\r\n')]), [[], [], [ResetReason.Malformed]]);
  assert.deepEqual(run([first, datagram(1, 1, 2, 'lo\r\nEND\r\n')], true), [[], [], [ResetReason.Malformed]]);
  assert.deepEqual(run([datagram(3, 0, 1, 'STORED\r\n'), datagram(4, 0, 1, 'DELETED\r\n')]), [['STORED', 'DELETED'], [3, 4], []]);
  // A malformed reply inside a datagram is reported, and the next datagram starts afresh.
  assert.deepEqual(run([datagram(5, 0, 1, 'BOGUS\r\n'), datagram(6, 0, 1, 'STORED\r\n')]), [['STORED'], [6], [ResetReason.Malformed]]);
  // 8 bytes (a frame and nothing) are a datagram; 7 are not.
  assert.deepEqual(run([datagram(7, 0, 1, ''), datagram(8, 0, 1, 'STORED\r\n')]), [['STORED'], [8], []]);
  assert.deepEqual(run([datagram(7, 0, 1, '').subarray(0, 7)]), [[], [], [ResetReason.Malformed]]);
  // skip() and flushPartial() reach the message being read.
  const rec = new FullRecorder();
  const p = new MemcachedUdpParser(newPairedConnection(), false, rec);
  const b = datagram(9, 0, 1, 'VALUE k 0 5\r\nhe');
  p.feed(b, 0, b.length, 1, 0);
  assert.equal(p.skip(2, 2, 0), true);
  assert.equal(p.flushPartial(), true);
  assert.deepEqual(rec.seen.map((s) => [s.statusText, s.incomplete, s.matchId]), [['HIT', true, 9]]);
});

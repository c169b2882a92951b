// The memcached parsers, where memcached.test.ts does not look: every binary
// opcode and status name, a binary STAT answer (one packet per statistic),
// key bytes shown as text shows them, a key with a gap in it, what a gap and
// resynchronisation do, the longest line, UDP messages abandoned. Written for
// the survivors of `make mutate` (TESTING.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newPairedConnection } from '../../../src/pairing/connection';
import { MemcachedParser } from '../../../src/protocol/memcached/parser';
import { MemcachedUdpParser } from '../../../src/protocol/memcached/udp';
import { OPCODE_NAMES, binaryStatusText, isBinaryError } from '../../../src/protocol/memcached/names';
import { ResetReason } from '../../../src/protocol/message';
import { FullRecorder, msg } from '../../helpers/full-recorder';

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
  const frame = (id: number, seq: number, count: number, body: string): Buffer => {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(id, 0);
    h.writeUInt16BE(seq, 2);
    h.writeUInt16BE(count, 4);
    return Buffer.concat([h, Buffer.from(body, 'latin1')]);
  };
  feed(p, frame(1, 0, 2, 'VALUE k 0 5\r\nhel'), 1);
  feed(p, frame(2, 0, 1, 'STORED\r\n'), 2);
  assert.deepEqual(rec.order, [{ fromClient: false, reason: ResetReason.Malformed }, msg({ fromClient: false, statusText: 'STORED', matchId: 2, bytes: 8, start: [2, 20], end: [2, 20] })]);
});

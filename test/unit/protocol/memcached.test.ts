// The memcached parser (text, meta and binary): every message split at every
// byte offset parses the same; malformed or random bytes reset, never throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzRuns } from '../../helpers/fuzz-runs';
import { newPairedConnection } from '../../../src/pairing/connection';
import {
  MemcachedParser,
  binaryStatusText,
  isQuietOpcode,
  memcachedParser,
  memcachedUdpRequestId,
} from '../../../src/protocol/memcached';
import { MessageKind, PREVIEW_MAX, ResetReason, type MessageSink } from '../../../src/protocol/message';
import { Recorder, events, type Event } from '../../helpers/recorder';
import { datagram } from '../../helpers/memcached-wire';


/** Feeds `chunks` (each with its own timestamp = its index) and returns what was parsed. */
function parse(request: boolean, chunks: Buffer[]): Recorder {
  const rec = new Recorder();
  const p = new MemcachedParser(newPairedConnection(), request, rec);
  chunks.forEach((c, i) => p.feed(c, 0, c.length, i, 0));
  return rec;
}

function chunked(buf: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) chunks.push(buf.subarray(i, i + size));
  return chunks;
}

function splitEverywhere(request: boolean, wire: Buffer | string, expected: Event[]): void {
  const buf = typeof wire === 'string' ? Buffer.from(wire, 'latin1') : wire;
  const whole = parse(request, [buf]);
  assert.deepEqual(whole.resets, [], 'no resets in one piece');
  assert.deepEqual(events(whole), expected);
  for (let i = 1; i < buf.length; i++) {
    const r = parse(request, [buf.subarray(0, i), buf.subarray(i)]);
    assert.deepEqual(events(r), expected, `split at ${i}`);
    assert.deepEqual(r.resets, [], `split at ${i}`);
  }
  // One byte at a time, too.
  const bytes = parse(request, [...buf].map((b) => Buffer.from([b])));
  assert.deepEqual(events(bytes), expected, 'byte by byte');
  assert.deepEqual(bytes.resets, [], 'byte by byte');
}

const req = (text: string, bytes: number, kind = MessageKind.Normal, matchId = -1): Event => ({
  text,
  kind,
  error: false,
  bytes,
  status: -1,
  statusText: '',
  matchId,
});

const rsp = (statusText: string, bytes: number, error = false): Event => ({
  text: '',
  kind: MessageKind.Normal,
  error,
  bytes,
  status: -1,
  statusText,
  matchId: -1,
});

// ---------------------------------------------------------------- text requests

test('text requests: every command, split at every byte', () => {
  const cases: [string, string, MessageKind?][] = [
    ['get a\r\n', 'get a'],
    ['get a b c\r\n', 'get a b c'],
    ['gets  k1   k2 \r\n', 'gets k1 k2'],
    ['gat 60 a b\r\n', 'gat 60 a b'],
    ['gats 0 a\r\n', 'gats 0 a'],
    ['set key 0 0 5\r\nhello\r\n', 'set key 0 0 5'],
    ['set k 1 2 4\r\n\r\n\r\n\r\n', 'set k 1 2 4'], // data that looks like line ends
    ['add k 0 0 0\r\n\r\n', 'add k 0 0 0'],
    ['replace k 0 0 3\r\nabc\r\n', 'replace k 0 0 3'],
    ['append k 0 0 1\r\nx\r\n', 'append k 0 0 1'],
    ['prepend k 0 0 1\r\ny\r\n', 'prepend k 0 0 1'],
    ['cas k 0 0 2 12345\r\nhi\r\n', 'cas k 0 0 2 12345'],
    ['incr n 1\r\n', 'incr n 1'],
    ['decr n 10\r\n', 'decr n 10'],
    ['delete k\r\n', 'delete k'],
    ['touch k 60\r\n', 'touch k 60'],
    ['stats\r\n', 'stats'],
    ['stats slabs\r\n', 'stats slabs'],
    ['version\r\n', 'version'],
    ['verbosity 1\r\n', 'verbosity 1'],
    ['flush_all\r\n', 'flush_all'],
    ['flush_all 10\n', 'flush_all 10'], // a bare LF ends a line too
    ['mg k v f t\r\n', 'mg k v f t'],
    ['ms k 2 T60 F1\r\nhi\r\n', 'ms k 2 T60 F1'],
    ['md k\r\n', 'md k'],
    ['ma k D5\r\n', 'ma k D5'],
    ['me k\r\n', 'me k'],
    ['mn\r\n', 'mn'],
    ['frobnicate x\r\n', 'frobnicate x'], // unknown: still a request, memcached answers ERROR
    ['\r\n', ''], // memcached answers an empty line with ERROR
    ['quit\r\n', 'quit', MessageKind.NoReply],
  ];
  splitEverywhere(
    true,
    cases.map((c) => c[0]).join(''),
    cases.map(([wire, text, kind]) => req(text, wire.length, kind)),
  );
});

test('text requests: pipelined requests in one chunk are one message each', () => {
  const r = parse(true, [Buffer.from('get a\r\nget b\r\nset c 0 0 1\r\nx\r\nget d e\r\n')]);
  assert.deepEqual(
    r.seen.map((s) => [s.text, s.bytes, s.start, s.end]),
    [
      ['get a', 7, 0, 0],
      ['get b', 7, 0, 0],
      ['set c 0 0 1', 16, 0, 0],
      ['get d e', 9, 0, 0],
    ],
  );
  assert.deepEqual(r.resets, []);
});

test('text requests: noreply, meta q and quit need no response', () => {
  const cases: [string, string, MessageKind][] = [
    ['set k 0 0 1 noreply\r\nx\r\n', 'set k 0 0 1 noreply', MessageKind.NoReply],
    ['cas k 0 0 1 99 noreply\r\nx\r\n', 'cas k 0 0 1 99 noreply', MessageKind.NoReply],
    ['delete k noreply\r\n', 'delete k noreply', MessageKind.NoReply],
    ['delete k 0 noreply \r\n', 'delete k 0 noreply', MessageKind.NoReply],
    ['incr k 1 noreply\r\n', 'incr k 1 noreply', MessageKind.NoReply],
    ['touch k 1 noreply\r\n', 'touch k 1 noreply', MessageKind.NoReply],
    ['flush_all noreply\r\n', 'flush_all noreply', MessageKind.NoReply],
    ['verbosity 1 noreply\r\n', 'verbosity 1 noreply', MessageKind.NoReply],
    ['ms k 1 q\r\nx\r\n', 'ms k 1 q', MessageKind.NoReply],
    ['mg k v q\r\n', 'mg k v q', MessageKind.NoReply],
    ['md k q\r\n', 'md k q', MessageKind.NoReply],
    // A key called noreply, or noreply not last, or where no noreply is taken.
    ['delete noreply\r\n', 'delete noreply', MessageKind.Normal],
    ['get noreply\r\n', 'get noreply', MessageKind.Normal],
    ['set k 0 0 1 noreply2\r\nx\r\n', 'set k 0 0 1 noreply2', MessageKind.Normal],
    ['mg q v\r\n', 'mg q v', MessageKind.Normal],
    ['ms k 1 qq\r\nx\r\n', 'ms k 1 qq', MessageKind.Normal],
    ['get a\r\n', 'get a', MessageKind.Normal],
  ];
  splitEverywhere(
    true,
    cases.map((c) => c[0]).join(''),
    cases.map(([wire, text, kind]) => req(text, wire.length, kind)),
  );
});

test('text requests: long arguments are shortened, control bytes show as dots', () => {
  const key = 'k'.repeat(100);
  const r = parse(true, [Buffer.from(`get ${key} b\r\nget a\x01b\r\n`)]);
  assert.deepEqual(
    r.seen.map((s) => s.text),
    [`get ${'k'.repeat(64)}... b`, 'get a.b'],
  );
  // Many keys: the preview stops at PREVIEW_MAX, the message is whole.
  const many = `get ${Array.from({ length: 500 }, (_, i) => `key${i}`).join(' ')}\r\n`;
  const m = parse(true, [Buffer.from(many)]);
  assert.equal(m.seen.length, 1);
  assert.equal(m.seen[0].bytes, many.length);
  assert.equal(m.seen[0].text, many.slice(0, PREVIEW_MAX));
});

test('text requests: a 100 KB set value across many chunks is one message', () => {
  const value = Buffer.alloc(100_000, 'v');
  value.write('\r\nEND\r\nget x\r\n', 500); // data is skipped by length, never read as lines
  const wire = Buffer.concat([Buffer.from(`set big 0 0 ${value.length}\r\n`), value, Buffer.from('\r\nget big\r\n')]);
  const chunks = chunked(wire, 1448);
  const r = parse(true, chunks);
  assert.deepEqual(r.resets, []);
  assert.deepEqual(
    r.seen.map((s) => [s.text, s.bytes, s.start, s.end]),
    [
      ['set big 0 0 100000', wire.length - 9, 0, chunks.length - 1],
      ['get big', 9, chunks.length - 1, chunks.length - 1],
    ],
  );
});

test('text requests: skip() inside a data block steps over the missing bytes', () => {
  const rec = new Recorder();
  const p = new MemcachedParser(newPairedConnection(), true, rec);
  const head = Buffer.from('set k 0 0 10\r\nabc');
  p.feed(head, 0, head.length, 0, 0);
  assert.equal(p.skip(7, 1, 0), true);
  const tail = Buffer.from('\r\nget k\r\n');
  p.feed(tail, 0, tail.length, 2, 0);
  assert.deepEqual(
    rec.seen.map((s) => [s.text, s.bytes, s.start, s.end]),
    [
      ['set k 0 0 10', 26, 0, 2],
      ['get k', 7, 2, 2],
    ],
  );
  // A gap that covers the rest of the data and its CRLF ends the message.
  const head2 = Buffer.from('set k 0 0 5\r\nab');
  p.feed(head2, 0, head2.length, 3, 0);
  assert.equal(p.skip(5, 4, 0), true);
  assert.deepEqual(rec.seen.at(-1), { ...rec.seen.at(-1)!, text: 'set k 0 0 5', bytes: 20, start: 3, end: 4 });
  assert.deepEqual(rec.resets, []);
  // Outside a data block the parser cannot know what it missed.
  assert.equal(p.skip(3, 5, 0), false);
  const mid = Buffer.from('get a');
  p.feed(mid, 0, mid.length, 6, 0);
  assert.equal(p.skip(1, 6, 0), false);
  assert.equal(p.skip(10, 6, 0), false, 'a gap longer than the data block');
  assert.deepEqual(rec.resets, [ResetReason.Gap, ResetReason.Gap, ResetReason.Gap]);
  // It resumes at the next segment that starts a command.
  const next = Buffer.from('get b\r\n');
  p.feed(next, 0, next.length, 7, 0);
  assert.equal(rec.seen.at(-1)!.text, 'get b');
});

test('text requests: malformed input resets and resumes at the next line', () => {
  // A binary mess in a command.
  const junk = parse(true, [Buffer.from('\x00\x01\x02garbage\r\nget a\r\n')]);
  assert.deepEqual(junk.resets, [ResetReason.Malformed]);
  assert.deepEqual(junk.seen.map((s) => [s.text, s.bytes]), [['get a', 7]]);
  // A storage command without a usable length.
  const noLen = parse(true, [Buffer.from('set k 0 0 abc\r\nget a\r\nset k 0 0\r\nget b\r\n')]);
  assert.deepEqual(noLen.resets, [ResetReason.Malformed, ResetReason.Malformed]);
  assert.deepEqual(noLen.seen.map((s) => s.text), ['get a', 'get b']);
  // Data longer than stated: the CRLF is not where it should be.
  const long = parse(true, [Buffer.from('set k 0 0 3\r\nabcd\r\nget a\r\n')]);
  assert.deepEqual(long.resets, [ResetReason.Malformed]);
  assert.deepEqual(long.seen.map((s) => s.text), ['get a']);
  // A line that never ends.
  const endless = parse(true, [Buffer.from(`set ${'x'.repeat(10_000)}`), Buffer.from('\r\nget a\r\n')]);
  assert.deepEqual(endless.resets, [ResetReason.Malformed]);
  assert.deepEqual(endless.seen.map((s) => s.text), ['get a']);
  // Resynchronisation waits for a line that starts like a command.
  const lines = parse(true, [Buffer.from('\x7f\r\n\x01x\r\nGET a\r\nget b\r\n')]);
  assert.deepEqual(lines.resets, [ResetReason.Malformed]);
  assert.deepEqual(lines.seen.map((s) => s.text), ['get b']);
});

// ---------------------------------------------------------------- text responses

test('text responses: every reply, split at every byte', () => {
  const cases: [string, string, boolean?][] = [
    ['VALUE k 0 5\r\nhello\r\nEND\r\n', 'HIT'],
    ['VALUE a 1 1 77\r\nx\r\nVALUE b 2 4 78\r\nEND\r\r\nEND\r\n', 'HIT'], // gets, data that looks like END
    ['VALUE e 0 0\r\n\r\nEND\r\n', 'HIT'],
    ['END\r\n', 'MISS'],
    ['STORED\r\n', 'STORED'],
    ['NOT_STORED\r\n', 'NOT_STORED'],
    ['EXISTS\r\n', 'EXISTS'],
    ['NOT_FOUND\r\n', 'NOT_FOUND'],
    ['DELETED\r\n', 'DELETED'],
    ['TOUCHED\r\n', 'TOUCHED'],
    ['OK\r\n', 'OK'],
    ['RESET\r\n', 'RESET'],
    ['42\r\n', 'NUMBER'],
    ['18446744073709551615\r\n', 'NUMBER'],
    ['STAT pid 1234\r\nSTAT uptime 5\r\nSTAT version 1.6.21\r\nEND\r\n', 'STAT'],
    ['ITEM k [5 b; 0 s]\r\nEND\r\n', 'STAT'],
    ['VERSION 1.6.21\r\n', 'VERSION'],
    ['ERROR\r\n', 'ERROR', true],
    ['ERROR: shutdown not enabled\r\n', 'ERROR', true],
    ['CLIENT_ERROR bad data chunk\r\n', 'CLIENT_ERROR', true],
    ['SERVER_ERROR out of memory storing object\r\n', 'SERVER_ERROR', true],
    ['VALUE k 0 1\r\nx\r\nSERVER_ERROR out of memory writing get response\r\n', 'SERVER_ERROR', true],
    ['HD\r\n', 'HD'],
    ['HD c123 t-1\r\n', 'HD'],
    ['VA 2 f30 t90\r\nhi\r\n', 'VA'],
    ['VA 0\r\n\r\n', 'VA'],
    ['EN\r\n', 'EN'],
    ['NF\r\n', 'NF'],
    ['NS\r\n', 'NS'],
    ['EX\r\n', 'EX'],
    ['MN\r\n', 'MN'],
    ['ME k exp=-1 la=2 cas=3 fetch=no cls=1 size=63\r\n', 'ME'],
    ['STORED\n', 'STORED'],
  ];
  splitEverywhere(
    false,
    cases.map((c) => c[0]).join(''),
    cases.map(([wire, status, error]) => rsp(status, wire.length, error ?? false)),
  );
});

test('text responses: pipelined get answers, a large VALUE across chunks, skip() inside it', () => {
  const value = Buffer.alloc(100_000, 'x');
  const wire = Buffer.concat([
    Buffer.from('END\r\n'),
    Buffer.from(`VALUE big 0 ${value.length}\r\n`),
    value,
    Buffer.from('\r\nEND\r\nSTORED\r\n'),
  ]);
  const chunks = chunked(wire, 65483);
  const r = parse(false, chunks);
  assert.deepEqual(r.resets, []);
  assert.deepEqual(
    r.seen.map((s) => [s.statusText, s.bytes, s.start, s.end]),
    [
      ['MISS', 5, 0, 0],
      ['HIT', wire.length - 5 - 8, 0, chunks.length - 1],
      ['STORED', 8, chunks.length - 1, chunks.length - 1],
    ],
  );

  const rec = new Recorder();
  const p = new MemcachedParser(newPairedConnection(), false, rec);
  const head = Buffer.from('VALUE k 0 10\r\nab');
  p.feed(head, 0, head.length, 0, 0);
  assert.equal(p.skip(8, 1, 0), true);
  const tail = Buffer.from('\r\nEND\r\nVA 3\r\nab');
  p.feed(tail, 0, tail.length, 2, 0);
  assert.equal(p.skip(3, 3, 0), true, 'a gap over the rest of a VA block and its CRLF');
  assert.deepEqual(
    rec.seen.map((s) => [s.statusText, s.bytes, s.start, s.end]),
    [
      ['HIT', 31, 0, 2],
      ['VA', 11, 2, 3],
    ],
  );
  assert.equal(p.skip(1, 4, 0), false);
  assert.deepEqual(rec.resets, [ResetReason.Gap]);
});

test('text responses: malformed replies reset and resume at the next line', () => {
  const r = parse(false, [Buffer.from('BOGUS\r\nSTORED\r\nwhat\nEND\r\n\x00\x01\r\n42\r\n')]);
  assert.deepEqual(r.resets, [ResetReason.Malformed, ResetReason.Malformed, ResetReason.Malformed]);
  assert.deepEqual(r.seen.map((s) => s.statusText), ['STORED', 'MISS', 'NUMBER']);
  // A VALUE with no length, a VALUE whose data is too long, a STAT inside a get answer.
  const v = parse(false, [Buffer.from('VALUE k 0\r\nEND\r\nVALUE k 0 1\r\nxy\r\nEND\r\nVALUE k 0 1\r\nx\r\nSTAT a b\r\nOK\r\n')]);
  assert.deepEqual(v.resets, [ResetReason.Malformed, ResetReason.Malformed, ResetReason.Malformed]);
  assert.deepEqual(v.seen.map((s) => s.statusText), ['MISS', 'MISS', 'OK']);
  // Lines that never end.
  const endless = parse(false, [Buffer.from(`VALUE ${'k'.repeat(5000)}`), Buffer.from('k'.repeat(5000)), Buffer.from(' 0 1\r\nx\r\nEND\r\nOK\r\n')]);
  assert.deepEqual(endless.resets, [ResetReason.Malformed]);
  assert.deepEqual(endless.seen.map((x) => x.statusText), ['MISS', 'OK']);
  const endless2 = parse(false, [Buffer.from(`SERVER_ERROR ${'e'.repeat(9000)}`), Buffer.from('\r\nOK\r\n')]);
  assert.deepEqual(endless2.resets, [ResetReason.Malformed]);
  assert.deepEqual(endless2.seen.map((x) => x.statusText), ['OK']);
  // A STORED inside a get answer is no part of it.
  const s = parse(false, [Buffer.from('VALUE k 0 1\r\nx\r\nSTORED\r\nEND\r\n')]);
  assert.deepEqual(s.resets, [ResetReason.Malformed]);
  assert.deepEqual(s.seen.map((x) => x.statusText), ['MISS']);
});

// ---------------------------------------------------------------- binary

interface BinOpts {
  opcode: number;
  key?: string;
  extras?: number[];
  value?: string | Buffer;
  opaque?: number;
  status?: number;
  dataType?: number;
}

function bin(magic: number, o: BinOpts): Buffer {
  const key = Buffer.from(o.key ?? '', 'latin1');
  const extras = Buffer.from(o.extras ?? []);
  const value = typeof o.value === 'string' ? Buffer.from(o.value, 'latin1') : (o.value ?? Buffer.alloc(0));
  const h = Buffer.alloc(24);
  h[0] = magic;
  h[1] = o.opcode;
  h.writeUInt16BE(key.length, 2);
  h[4] = extras.length;
  h[5] = o.dataType ?? 0;
  h.writeUInt16BE(o.status ?? 0, 6);
  h.writeUInt32BE(extras.length + key.length + value.length, 8);
  h.writeUInt32BE(o.opaque ?? 0, 12);
  h.writeBigUInt64BE(0x1122334455667788n, 16);
  return Buffer.concat([h, extras, key, value]);
}
const binReq = (o: BinOpts) => bin(0x80, o);
const binRsp = (o: BinOpts) => bin(0x81, o);

const SET_EXTRAS = [0xde, 0xad, 0xbe, 0xef, 0, 0, 0x0e, 0x10];

test('binary requests: opcode and key, opaque as matchId, quiet opcodes, split at every byte', () => {
  const msgs: [Buffer, string, number, MessageKind?][] = [
    [binReq({ opcode: 0x00, key: 'foo', opaque: 1 }), 'GET foo', 1],
    [binReq({ opcode: 0x01, key: 'foo', extras: SET_EXTRAS, value: 'bar', opaque: 2 }), 'SET foo', 2],
    [binReq({ opcode: 0x09, key: 'a', opaque: 3 }), 'GETQ a', 3],
    [binReq({ opcode: 0x0d, key: 'b', opaque: 4 }), 'GETKQ b', 4],
    [binReq({ opcode: 0x11, key: 'c', extras: SET_EXTRAS, value: 'v', opaque: 5 }), 'SETQ c', 5],
    [binReq({ opcode: 0x0a, opaque: 6 }), 'NOOP', 6],
    [binReq({ opcode: 0x05, key: 'n', extras: new Array(20).fill(1), opaque: 0xfffffffe }), 'INCR n', 0xfffffffe],
    [binReq({ opcode: 0x04, key: 'k\r\nx', opaque: 0x80000000 }), 'DELETE k..x', 0x80000000],
    [binReq({ opcode: 0x10, key: 'items' }), 'STAT items', 0],
    [binReq({ opcode: 0x0b }), 'VERSION', 0],
    [binReq({ opcode: 0x55, key: 'z' }), 'OP_0x55 z', 0],
    [binReq({ opcode: 0x17 }), 'QUITQ', 0, MessageKind.NoReply],
  ];
  splitEverywhere(
    true,
    Buffer.concat(msgs.map((m) => m[0])),
    msgs.map(([wire, text, id, kind]) => req(text, wire.length, kind ?? MessageKind.Normal, id)),
  );
});

test('binary requests: a long key is shortened; a large body across chunks; skip() inside the body', () => {
  const key = 'k'.repeat(200);
  const value = Buffer.alloc(100_000, 7);
  const set = binReq({ opcode: 0x01, key, extras: SET_EXTRAS, value, opaque: 9 });
  const get = binReq({ opcode: 0x00, key: 'x', opaque: 10 });
  const wire = Buffer.concat([set, get]);
  const chunks = chunked(wire, 1000);
  const r = parse(true, chunks);
  assert.deepEqual(
    r.seen.map((s) => [s.text, s.bytes, s.matchId, s.start, s.end]),
    [
      [`SET ${'k'.repeat(64)}...`, set.length, 9, 0, chunks.length - 1],
      ['GET x', get.length, 10, chunks.length - 1, chunks.length - 1],
    ],
  );

  // Bytes missing from the value, and from the key.
  const rec = new Recorder();
  const p = new MemcachedParser(newPairedConnection(), true, rec);
  const small = binReq({ opcode: 0x01, key: 'abcdef', extras: SET_EXTRAS, value: 'v'.repeat(50), opaque: 11 });
  p.feed(small, 0, 40, 0, 0);
  assert.equal(p.skip(small.length - 40, 1, 0), true);
  p.feed(get, 0, get.length, 2, 0);
  p.feed(small, 0, 34, 3, 0); // header, extras, 2 key bytes
  assert.equal(p.skip(10, 4, 0), true);
  p.feed(small, 44, small.length, 5, 0);
  assert.deepEqual(
    rec.seen.map((s) => [s.text, s.bytes, s.matchId, s.start, s.end]),
    [
      ['SET abcdef', small.length, 11, 0, 1],
      ['GET x', get.length, 10, 2, 2],
      ['SET ab...', small.length, 11, 3, 5],
    ],
  );
  assert.deepEqual(rec.resets, []);
  p.feed(get, 0, 10, 6, 0);
  assert.equal(p.skip(10, 7, 0), false, 'inside a header the parser must reset');
  assert.deepEqual(rec.resets, [ResetReason.Gap]);
});

test('binary responses: status names, errors and opaques, split at every byte', () => {
  const cases: [number, string, boolean][] = [
    [0x00, 'OK', false],
    [0x01, 'NOT_FOUND', false],
    [0x02, 'EXISTS', false],
    [0x03, 'TOO_LARGE', true],
    [0x04, 'INVALID', true],
    [0x05, 'NOT_STORED', false],
    [0x06, 'NON_NUMERIC', true],
    [0x81, 'UNKNOWN_COMMAND', true],
    [0x82, 'OUT_OF_MEMORY', true],
    [0x21, 'AUTH_CONTINUE', false],
    [0x99, 'STATUS_0x99', true],
  ];
  const msgs = cases.map(([status], i) =>
    binRsp({ opcode: 0x00, status, opaque: 0xffffffff - i, extras: status === 0 ? [0, 0, 0, 1] : [], value: status === 0 ? 'hello' : '' }),
  );
  const getk = binRsp({ opcode: 0x0c, key: 'thekey', extras: [0, 0, 0, 0], value: 'v', opaque: 42 });
  splitEverywhere(false, Buffer.concat([...msgs, getk]), [
    ...cases.map(([status, text, error], i) => ({
      text: '',
      kind: MessageKind.Normal,
      error,
      bytes: msgs[i].length,
      status,
      statusText: text,
      matchId: 0xffffffff - i,
    })),
    { text: '', kind: MessageKind.Normal, error: false, bytes: getk.length, status: 0, statusText: 'OK', matchId: 42 },
  ]);
  // The names are constants: the same string every time.
  assert.equal(binaryStatusText(0x1234), binaryStatusText(0x1234));
  assert.equal(binaryStatusText(0x1234), 'STATUS_0x1234');
});

test('binary: a quiet multi-get batch ended by NOOP pairs by opaque', () => {
  const reqs = Buffer.concat([
    binReq({ opcode: 0x0d, key: 'a', opaque: 100 }),
    binReq({ opcode: 0x0d, key: 'b', opaque: 101 }),
    binReq({ opcode: 0x0d, key: 'c', opaque: 102 }),
    binReq({ opcode: 0x0a, opaque: 103 }),
  ]);
  const q = parse(true, [reqs]);
  assert.deepEqual(
    q.seen.map((s) => [s.text, s.kind, s.matchId]),
    [
      ['GETKQ a', MessageKind.Normal, 100],
      ['GETKQ b', MessageKind.Normal, 101],
      ['GETKQ c', MessageKind.Normal, 102],
      ['NOOP', MessageKind.Normal, 103],
    ],
  );
  // Only b hit; then the NOOP's answer.
  const rsps = Buffer.concat([binRsp({ opcode: 0x0d, key: 'b', extras: [0, 0, 0, 0], value: 'B', opaque: 101 }), binRsp({ opcode: 0x0a, opaque: 103 })]);
  const a = parse(false, [rsps]);
  assert.deepEqual(a.seen.map((s) => [s.statusText, s.matchId]), [['OK', 101], ['OK', 103]]);
});

test('isQuietOpcode', () => {
  const quiet = [0x09, 0x0d, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1e, 0x24];
  for (let op = 0; op < 256; op++) assert.equal(isQuietOpcode(op), quiet.includes(op), `opcode 0x${op.toString(16)}`);
});

test('binary: a malformed header resets; the next segment starting with the magic resumes', () => {
  const bad = binReq({ opcode: 0x00, key: 'x', dataType: 5 });
  const badLen = binReq({ opcode: 0x00, key: 'x' });
  badLen.writeUInt32BE(0, 8); // key longer than the body
  const good = binReq({ opcode: 0x00, key: 'ok', opaque: 7 });
  const r = parse(true, [Buffer.concat([bad, good]), good, Buffer.concat([badLen, good]), good]);
  assert.deepEqual(r.resets, [ResetReason.Malformed, ResetReason.Malformed]);
  assert.deepEqual(r.seen.map((s) => [s.text, s.matchId, s.start]), [['GET ok', 7, 1], ['GET ok', 7, 3]]);
  // A response parser sees no request magic, and the other way round.
  const wrong = parse(false, [binReq({ opcode: 0, key: 'x' }), binRsp({ opcode: 0, opaque: 1 })]);
  assert.deepEqual(wrong.resets, [ResetReason.Malformed]);
  assert.deepEqual(wrong.seen.map((s) => s.matchId), [1]);
});

test('text and binary on one parser: detected per message', () => {
  const r = parse(true, [Buffer.concat([Buffer.from('get a\r\n'), binReq({ opcode: 0, key: 'b', opaque: 5 }), Buffer.from('get c\r\n')])]);
  assert.deepEqual(r.seen.map((s) => [s.text, s.matchId]), [['get a', -1], ['GET b', 5], ['get c', -1]]);
});

test('the factory makes a parser per direction', () => {
  const rec = new Recorder();
  const conn = newPairedConnection();
  const c = memcachedParser(conn, true, rec);
  const s = memcachedParser(conn, false, rec);
  c.feed(Buffer.from('get a\r\n'), 0, 7, 1, 500);
  s.feed(Buffer.from('END\r\n'), 0, 5, 2, 600);
  assert.deepEqual(rec.seen.map((x) => [x.text, x.statusText]), [['get a', ''], ['', 'MISS']]);
});

test('timestamps: the first byte starts a message, the last ends it', () => {
  const seen: [number, number, number, number][] = [];
  const sink: MessageSink = {
    message: (_c, _f, m) => seen.push([m.startSec, m.startNsec, m.endSec, m.endNsec]),
    reset: () => assert.fail('no reset'),
  };
  const p = new MemcachedParser(newPairedConnection(), false, sink);
  const a = Buffer.from('STORED\r\nVALUE k 0 3\r\nab');
  const b = Buffer.from('c\r\nEND\r\nEND');
  const c = Buffer.from('\r\n');
  p.feed(a, 0, a.length, 10, 1);
  p.feed(b, 0, b.length, 11, 2);
  p.feed(c, 0, c.length, 12, 3);
  assert.deepEqual(seen, [
    [10, 1, 10, 1],
    [10, 1, 11, 2],
    [11, 2, 12, 3],
  ]);
});

test('feed() honours start and end within a larger buffer', () => {
  const buf = Buffer.from('xxxget a\r\nget b\r\nyyy');
  const rec = new Recorder();
  const p = new MemcachedParser(newPairedConnection(), true, rec);
  p.feed(buf, 3, 10, 0, 0);
  p.feed(buf, 10, 17, 1, 0);
  assert.deepEqual(rec.seen.map((s) => s.text), ['get a', 'get b']);
});

// ---------------------------------------------------------------- UDP

/** Feeds datagrams (timestamp = index) to the factory's parser for a UDP flow. */
function udp(request: boolean, grams: Buffer[]): Recorder {
  const conn = newPairedConnection();
  conn.proto = 17;
  const rec = new Recorder();
  const p = memcachedParser(conn, request, rec);
  grams.forEach((g, i) => p.feed(g, 0, g.length, i, 0));
  return rec;
}

test('UDP: the frame is stripped and its request id pairs request and reply', () => {
  assert.equal(memcachedUdpRequestId(datagram(0xbeef, 0, 1, ''), 0), 0xbeef);
  const q = udp(true, [datagram(7, 0, 1, 'get a\r\n'), datagram(8, 0, 1, 'set k 0 0 2\r\nhi\r\n'), datagram(9, 0, 1, 'set q 0 0 1 noreply\r\nx\r\n')]);
  assert.deepEqual(
    q.seen.map((s) => [s.text, s.matchId, s.kind, s.bytes]),
    [
      ['get a', 7, MessageKind.Normal, 7],
      ['set k 0 0 2', 8, MessageKind.Normal, 17],
      ['set q 0 0 1 noreply', 9, MessageKind.NoReply, 24],
    ],
  );
  const r = udp(false, [datagram(8, 0, 1, 'STORED\r\n'), datagram(7, 0, 1, 'END\r\n')]);
  assert.deepEqual(r.seen.map((s) => [s.statusText, s.matchId]), [['STORED', 8], ['MISS', 7]]);
});

test('UDP: a reply in several datagrams is one message, timed by its first', () => {
  const value = 'v'.repeat(3000);
  const reply = Buffer.from(`VALUE big 0 ${value.length}\r\n${value}\r\nEND\r\n`);
  const grams = [0, 1, 2].map((i) => datagram(3, i, 3, reply.subarray(i * 1400, (i + 1) * 1400)));
  const r = udp(false, grams);
  assert.deepEqual(r.seen.map((s) => [s.statusText, s.matchId, s.start, s.end, s.bytes]), [['HIT', 3, 0, 2, reply.length]]);
  assert.deepEqual(r.resets, []);
  // memcached 1.6: the parts of one reply in datagrams each framed 0 of 1.
  const parts = udp(false, [datagram(5, 0, 1, 'VALUE k 0 2\r\nhi\r\n'), datagram(5, 0, 1, 'END\r\n'), datagram(6, 0, 1, 'END\r\n')]);
  assert.deepEqual(parts.seen.map((s) => [s.statusText, s.matchId, s.start, s.end]), [['HIT', 5, 0, 1], ['MISS', 6, 2, 2]]);
  assert.deepEqual(parts.resets, []);
  // The middle datagram lost: the reply is abandoned (counted), the next one parses.
  const lost = udp(false, [grams[0], grams[2], datagram(4, 0, 1, 'STORED\r\n')]);
  assert.deepEqual(lost.seen.map((s) => [s.statusText, s.matchId]), [['STORED', 4]]);
  assert.deepEqual(lost.resets, [ResetReason.Malformed]);
  // Shorter than the frame: counted, nothing reported.
  const short = udp(false, [Buffer.from([0, 1, 0])]);
  assert.deepEqual([short.seen, short.resets], [[], [ResetReason.Malformed]]);
});

test('UDP: quiet binary requests wait for nothing (nothing over UDP says they were answered by silence)', () => {
  const bin = (op: number, key: string): Buffer => {
    const h = Buffer.alloc(24);
    h[0] = 0x80;
    h[1] = op;
    h.writeUInt16BE(key.length, 2);
    h.writeUInt32BE(key.length, 8);
    return Buffer.concat([h, Buffer.from(key)]);
  };
  const q = udp(true, [datagram(1, 0, 1, bin(0x11, 'k')), datagram(2, 0, 1, bin(0x00, 'k'))]);
  assert.deepEqual(q.seen.map((s) => [s.text, s.matchId, s.kind]), [['SETQ k', 1, MessageKind.NoReply], ['GET k', 2, MessageKind.Normal]]);
});

// ---------------------------------------------------------------- properties

const SAMPLES: [boolean, Buffer][] = [
  [true, Buffer.from('get a b\r\nset k 0 0 5 noreply\r\nhello\r\ncas k 0 0 1 7\r\nx\r\nmg k v q\r\nms k 2 T1\r\nhi\r\nincr n 1\r\n')],
  [false, Buffer.from('VALUE k 0 5\r\nhello\r\nEND\r\nSTORED\r\nSTAT a 1\r\nEND\r\n42\r\nVA 2 f1\r\nhi\r\nSERVER_ERROR x\r\n')],
  [true, Buffer.concat([binReq({ opcode: 1, key: 'k', extras: SET_EXTRAS, value: 'val', opaque: 1 }), binReq({ opcode: 0x0d, key: 'q', opaque: 2 }), binReq({ opcode: 0x0a, opaque: 3 })])],
  [false, Buffer.concat([binRsp({ opcode: 0, extras: [0, 0, 0, 0], value: 'val', opaque: 1 }), binRsp({ opcode: 1, status: 5, opaque: 2 })])],
];

/** Feeds bytes in pieces, with skips between some; checks nothing throws and the counts add up. */
function feedPieces(request: boolean, bytes: Buffer, cuts: number[], skips: number[]): void {
  const rec = new Recorder();
  const p = new MemcachedParser(newPairedConnection(), request, rec);
  const at = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((x, y) => x - y);
  let prev = 0;
  let skipped = 0;
  for (let i = 0; i <= at.length; i++) {
    const next = i < at.length ? at[i] : bytes.length;
    p.feed(bytes, prev, next, i, 0);
    if (i < skips.length && skips[i] > 0) {
      if (p.skip(skips[i], i, 0)) skipped += skips[i];
    }
    prev = next;
  }
  const total = rec.seen.reduce((n, s) => n + s.bytes, 0);
  assert.ok(total <= bytes.length + skipped, 'messages never hold more bytes than were fed');
  for (const s of rec.seen) assert.ok(s.bytes > 0);
}

test('random and mutated bytes never throw and never hang', () => {
  const bytesArb = fc.oneof(
    fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 400 })).map(([request, b]) => [request, Buffer.from(b)] as const),
    fc
      .tuple(
        fc.nat(SAMPLES.length - 1),
        fc.array(fc.tuple(fc.nat(1000), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.boolean(),
      )
      .map(([which, muts, flip]) => {
        const [request, sample] = SAMPLES[which];
        const b = Buffer.from(sample);
        for (const [i, v] of muts) b[i % b.length] = v;
        return [flip ? !request : request, b] as const;
      }),
  );
  fc.assert(
    fc.property(bytesArb, fc.array(fc.nat(400), { maxLength: 6 }), fc.array(fc.nat(40), { maxLength: 6 }), ([request, bytes], cuts, skips) => {
      feedPieces(request, bytes, cuts, skips);
    }),
    { numRuns: fuzzRuns(3000) },
  );
});

test('any valid stream split into any pieces parses as it does whole', () => {
  const reqParts: Buffer[] = [
    'get a\r\n',
    'gets a b c\r\n',
    'set k 0 0 3\r\nabc\r\n',
    'set k 0 0 2 noreply\r\n\r\n\r\n',
    'delete k\r\n',
    'mg k v\r\n',
    'ms k 1 q\r\nx\r\n',
    'mn\r\n',
  ].map((s) => Buffer.from(s));
  reqParts.push(binReq({ opcode: 0, key: 'k', opaque: 1 }), binReq({ opcode: 0x11, key: 'k', extras: SET_EXTRAS, value: 'v', opaque: 2 }));
  const rspParts: Buffer[] = ['END\r\n', 'VALUE a 0 2\r\nab\r\nVALUE b 0 0\r\n\r\nEND\r\n', 'STORED\r\n', 'STAT x 1\r\nEND\r\n', 'VA 1 t\r\n\n\r\n', '12\r\n', 'CLIENT_ERROR no\r\n'].map((s) => Buffer.from(s));
  rspParts.push(binRsp({ opcode: 0, extras: [0, 0, 0, 0], value: 'v', opaque: 3 }), binRsp({ opcode: 4, status: 1, opaque: 4 }));
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.array(fc.nat(100), { minLength: 1, maxLength: 12 }),
      fc.array(fc.nat(400), { maxLength: 8 }),
      (request, picks, cuts) => {
        const parts = request ? reqParts : rspParts;
        const wire = Buffer.concat(picks.map((i) => parts[i % parts.length]));
        const whole = parse(request, [wire]);
        assert.deepEqual(whole.resets, []);
        assert.equal(whole.seen.length, picks.length);
        assert.equal(
          whole.seen.reduce((n, s) => n + s.bytes, 0),
          wire.length,
        );
        const at = [...new Set(cuts.map((c) => Math.min(c, wire.length)))].sort((x, y) => x - y);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const c of [...at, wire.length]) {
          chunks.push(wire.subarray(prev, c));
          prev = c;
        }
        const pieces = parse(request, chunks);
        assert.deepEqual(events(pieces), events(whole));
        assert.deepEqual(pieces.resets, []);
      },
    ),
    { numRuns: fuzzRuns(1000) },
  );
});

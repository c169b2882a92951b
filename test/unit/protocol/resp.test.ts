// The RESP parser: every message split at every byte offset parses the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzRuns } from '../../helpers/fuzz-runs';
import { newPairedConnection, type PairedConnection as Connection } from '../../../src/pairing/connection';
import { RespParser } from '../../../src/protocol/resp';
import { MessageKind, ResetReason, type MessageInfo, type MessageSink } from '../../../src/protocol/message';

interface Seen {
  text: string;
  kind: MessageKind;
  error: boolean;
  bytes: number;
  start: number;
}

class Recorder implements MessageSink {
  seen: Seen[] = [];
  resets: ResetReason[] = [];
  message(_c: Connection, _fromClient: boolean, m: MessageInfo): void {
    this.seen.push({ text: m.preview.toString('latin1', 0, m.previewLen), kind: m.kind, error: m.isError, bytes: m.bytes, start: m.startSec });
  }
  reset(_c: Connection, _f: boolean, r: ResetReason): void {
    this.resets.push(r);
  }
}

/** Feeds `chunks` (each with its own timestamp = its index) and returns what was parsed. */
function parse(request: boolean, chunks: Buffer[]): Recorder {
  const rec = new Recorder();
  const p = new RespParser(newPairedConnection(), request, rec);
  chunks.forEach((c, i) => p.feed(c, 0, c.length, i, 0));
  return rec;
}

function splitEverywhere(request: boolean, wire: string, expected: Omit<Seen, 'start'>[]): void {
  const buf = Buffer.from(wire, 'latin1');
  const whole = parse(request, [buf]);
  assert.deepEqual(whole.resets, [], 'no resets in one piece');
  assert.deepEqual(whole.seen.map(({ start, ...s }) => s), expected);
  for (let i = 1; i < buf.length; i++) {
    const r = parse(request, [buf.subarray(0, i), buf.subarray(i)]);
    assert.deepEqual(r.seen.map(({ start, ...s }) => s), expected, `split at ${i}`);
    assert.deepEqual(r.resets, [], `split at ${i}`);
  }
  // One byte at a time, too.
  const bytes = parse(request, [...buf].map((b) => Buffer.from([b])));
  assert.deepEqual(bytes.seen.map(({ start, ...s }) => s), expected, 'byte by byte');
}

const req = (text: string, bytes: number) => ({ text, kind: MessageKind.Normal, error: false, bytes });

test('requests: arrays of bulk strings and inline commands, split at every byte', () => {
  const parts = ['*3\r\n$3\r\nSET\r\n$8\r\ntest_key\r\n$5\r\nhello\r\n', 'PING\r\n', '*2\r\n$3\r\nGET\r\n$8\r\ntest_key\r\n', '  get   a  b \r\n'];
  const texts = ['SET test_key hello', 'PING', 'GET test_key', 'get a b'];
  splitEverywhere(true, parts.join(''), parts.map((p, i) => req(texts[i], p.length)));
});

test('requests: empty lines and *0 are no commands', () => {
  const r = parse(true, [Buffer.from('\r\n*0\r\nPING\r\n')]);
  assert.deepEqual(r.seen.map((s) => s.text), ['PING']);
});

test('requests: a long argument is shortened, its bytes still counted', () => {
  const value = 'v'.repeat(200_000);
  const wire = Buffer.from(`*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${value.length}\r\n${value}\r\n*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n`);
  const chunks: Buffer[] = [];
  for (let i = 0; i < wire.length; i += 1448) chunks.push(wire.subarray(i, i + 1448));
  const r = parse(true, chunks);
  assert.equal(r.seen.length, 2);
  assert.equal(r.seen[0].text, `SET big ${'v'.repeat(64)}...`);
  assert.equal(r.seen[0].bytes, wire.length - 22);
  assert.equal(r.seen[0].start, 0, 'starts at the first chunk');
  assert.equal(r.seen[1].text, 'GET big');
});

test('requests: control bytes show as dots', () => {
  const r = parse(true, [Buffer.from('*2\r\n$3\r\nGET\r\n$3\r\na\nb\r\n')]);
  assert.equal(r.seen[0].text, 'GET a.b');
});

const rsp = (bytes: number, error = false, kind = MessageKind.Normal) => ({ text: '', kind, error, bytes });

test('responses: every RESP2 and RESP3 type, split at every byte', () => {
  const parts = [
    '+OK\r\n',
    '-ERR unknown command\r\n',
    ':1000\r\n',
    '$5\r\nhello\r\n',
    '$-1\r\n',
    '*-1\r\n',
    '*0\r\n',
    '*2\r\n$1\r\na\r\n*2\r\n:1\r\n+x\r\n',
    '_\r\n',
    '#t\r\n',
    ',3.14\r\n',
    '(12345678901234567890\r\n',
    '!9\r\nERR oops!\r\n',
    '=8\r\ntxt:abcd\r\n',
    '%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n',
    '~2\r\n+a\r\n+b\r\n',
    '|1\r\n+ttl\r\n:3600\r\n+OK\r\n',
    '>3\r\n+message\r\n+chan\r\n+hi\r\n',
  ];
  const expected = parts.map((p) => rsp(p.length, p[0] === '-' || p[0] === '!', p[0] === '>' ? MessageKind.Push : MessageKind.Normal));
  splitEverywhere(false, parts.join(''), expected);
});

test('responses: a 200 KB bulk string across segments is one message', () => {
  const value = 'x'.repeat(200_000);
  const wire = Buffer.from(`$${value.length}\r\n${value}\r\n+OK\r\n`);
  const chunks: Buffer[] = [];
  for (let i = 0; i < wire.length; i += 65483) chunks.push(wire.subarray(i, i + 65483));
  const r = parse(false, chunks);
  assert.deepEqual(r.seen.map((s) => [s.bytes, s.start]), [[wire.length - 5, 0], [5, chunks.length - 1]]);
});

test('malformed data resets the parser, which resynchronises at the next command', () => {
  const r = parse(true, [Buffer.from('*2\r\n$3\r\nGET\r\n:oops\r\n*1\r\n$4\r\nPING\r\n')]);
  assert.deepEqual(r.resets, [ResetReason.Malformed]);
  assert.deepEqual(r.seen.map((s) => s.text), ['PING']);
  const bad = parse(false, [Buffer.from('?what\r\n+OK\r\n')]);
  assert.deepEqual(bad.resets, [ResetReason.Malformed]);
  assert.equal(bad.seen.length, 1);
});

test('skip(): bytes snaplen cut from a bulk string are stepped over', () => {
  const rec = new Recorder();
  const p = new RespParser(newPairedConnection(), false, rec);
  const head = Buffer.from('$10\r\nabc');
  p.feed(head, 0, head.length, 0, 0);
  assert.equal(p.skip(7, 0, 0), true);
  const tail = Buffer.from('\r\n+OK\r\n');
  p.feed(tail, 0, tail.length, 1, 0);
  assert.deepEqual(rec.seen.map((s) => s.bytes), [17, 5]);
  assert.equal(p.skip(3, 0, 0), false, 'outside a bulk string the parser must reset');
  assert.deepEqual(rec.resets, [ResetReason.Gap]);
});

test('random and mutated bytes never throw and never hang', () => {
  const sample = Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n+OK\r\n%1\r\n$1\r\na\r\n*2\r\n:1\r\n:2\r\n');
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.tuple(fc.nat(sample.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }).map((muts) => {
          const b = Buffer.from(sample);
          for (const [i, v] of muts) b[i] = v;
          return new Uint8Array(b);
        }),
      ),
      fc.boolean(),
      fc.nat(300),
      (bytes, request, cut) => {
        const b = Buffer.from(bytes);
        const at = Math.min(cut, b.length);
        parse(request, [b.subarray(0, at), b.subarray(at)]);
      },
    ),
    { numRuns: fuzzRuns(2000) },
  );
});

// The parser takes whole, plain messages in one pass and leaves everything else
// to its state machine: both must see the same messages, in any chunking.
interface Event {
  kind: 'message' | 'reset';
  text?: string;
  fields?: unknown[];
}

class EventLog implements MessageSink {
  events: Event[] = [];
  message(_c: Connection, _fromClient: boolean, m: MessageInfo): void {
    this.events.push({
      kind: 'message',
      text: m.preview.toString('latin1', 0, m.previewLen),
      fields: [m.startSec, m.startNsec, m.endSec, m.endNsec, m.bytes, m.kind, m.isError, m.previewLen],
    });
  }
  reset(_c: Connection, _f: boolean, r: ResetReason): void {
    this.events.push({ kind: 'reset', fields: [r] });
  }
}

function events(request: boolean, chunks: Buffer[], skips: number[], onePass: boolean): Event[] {
  const log = new EventLog();
  const p = new RespParser(newPairedConnection(), request, log);
  if (!onePass) {
    const sm = p as unknown as { wholeRequest: () => number; wholeResponse: () => number };
    sm.wholeRequest = () => 0;
    sm.wholeResponse = () => 0;
  }
  chunks.forEach((c, i) => {
    p.feed(c, 0, c.length, i, i * 7);
    if (skips[i] > 0) p.skip(skips[i], i, i * 7);
  });
  return log.events;
}

const respPiece = fc.oneof(
  fc.constantFrom(
    '*3\r\n$3\r\nSET\r\n$8\r\ntest_key\r\n$5\r\nhello\r\n', '*2\r\n$3\r\nGET\r\n$1\r\nk\r\n', '*1\r\n$0\r\n\r\n', '*0\r\n',
    '*2\r\n$-1\r\n$1\r\na\r\n', '*1\r\n*1\r\n$1\r\na\r\n', '*01\r\n$03\r\nabc\r\n', '*1\r\n$1\r\r\na\r\n', '*1\r\n$3\r\na\nb\r\n',
    'PING\r\n', '\r\n', '+OK\r\n', '-ERR bad\r\n', ':1234\r\n', '$5\r\nhello\r\n', '$-1\r\n', '$0\r\n\r\n', '*-1\r\n',
    '*2\r\n+a\r\n:1\r\n', '>2\r\n$7\r\nmessage\r\n$1\r\nx\r\n', '|1\r\n+k\r\n+v\r\n+OK\r\n', '!3\r\nerr\r\n', '_\r\n',
    '$1234567890\r\n', '*1234567890\r\n', '*\r\n', '$\r\n\r\n', '*1\r\n$\r\n\r\n', '+no end', '$3\r\nab', `*1\r\n$100\r\n${'x'.repeat(100)}\r\n`,
  ),
  fc.string({ maxLength: 12 }),
  fc.integer({ min: 0, max: 70 }).map((n) => `*2\r\n$3\r\nSET\r\n$${n}\r\n${'\u0001v'.repeat(n).slice(0, n)}\r\n`),
);

test('one-pass parsing of whole messages matches the state machine, in any chunking', () => {
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.array(respPiece, { minLength: 1, maxLength: 12 }),
      fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 8 }),
      fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 8 }),
      (request, pieces, cuts, skipsAt) => {
        const wire = Buffer.from(pieces.join(''), 'latin1');
        const chunks: Buffer[] = [];
        let at = 0;
        for (const c of cuts) {
          if (at >= wire.length) break;
          chunks.push(wire.subarray(at, at + c));
          at += c;
        }
        if (at < wire.length) chunks.push(wire.subarray(at));
        const skips = chunks.map((_, i) => (skipsAt[i] ?? 0) === 1 ? 3 : 0);
        assert.deepEqual(events(request, chunks, skips, true), events(request, chunks, skips, false));
      },
    ),
    { numRuns: fuzzRuns(3000) },
  );
});

// The DNS parser: UDP datagrams and TCP length-prefixed streams; every TCP
// stream split at every byte offset parses the same; malformed, cut or random
// bytes reset, never throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzRuns } from '../../helpers/fuzz-runs';
import { newPairedConnection, type PairedConnection as Connection } from '../../../src/pairing/connection';
import { DnsParser, dnsParser, dnsRcodeText, isDnsError } from '../../../src/protocol/dns';
import { MessageKind, PREVIEW_MAX, ResetReason } from '../../../src/protocol/message';
import { Recorder, events, type Event } from '../../helpers/recorder';


const UDP = 17;
const TCP = 6;

function conn(proto: number): Connection {
  const c = newPairedConnection();
  c.proto = proto;
  return c;
}

// ---------------------------------------------------------------- building messages

const T = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, HTTPS: 65, ANY: 255, CAA: 257 };

interface Msg {
  id: number;
  qr?: boolean;
  opcode?: number;
  rcode?: number;
  /** Dotted name ('' or '.' is the root), or raw name bytes. */
  name?: string | Buffer;
  type?: number;
  qd?: number;
  /** Bytes after the question (answers). */
  tail?: Buffer;
  /** No question section at all. */
  noQuestion?: boolean;
}

function encodeName(name: string): Buffer {
  const parts: Buffer[] = [];
  if (name !== '' && name !== '.') {
    for (const label of name.split('.')) {
      const b = Buffer.from(label, 'latin1');
      parts.push(Buffer.from([b.length]), b);
    }
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function dns(m: Msg): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(m.id, 0);
  h[2] = (m.qr ? 0x80 : 0) | ((m.opcode ?? 0) << 3) | (m.qr ? 0 : 1); // RD on queries
  h[3] = (m.qr ? 0x80 : 0) | (m.rcode ?? 0); // RA on responses
  h.writeUInt16BE(m.qd ?? (m.noQuestion ? 0 : 1), 4);
  if (m.qr && m.tail) h.writeUInt16BE(1, 6);
  if (m.noQuestion) return Buffer.concat([h, m.tail ?? Buffer.alloc(0)]);
  const name = typeof m.name === 'string' || m.name === undefined ? encodeName(m.name ?? 'example.com') : m.name;
  const q = Buffer.alloc(4);
  q.writeUInt16BE(m.type ?? T.A, 0);
  q.writeUInt16BE(1, 2); // IN
  return Buffer.concat([h, name, q, m.tail ?? Buffer.alloc(0)]);
}

/** An A answer using a compression pointer to the question's name. */
const ANSWER_A = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 93, 184, 216, 34]);

const tcp = (...msgs: Buffer[]): Buffer => Buffer.concat(msgs.flatMap((m) => [Buffer.from([m.length >> 8, m.length & 255]), m]));

const query = (text: string, bytes: number, matchId: number): Event => ({
  text,
  kind: MessageKind.Normal,
  error: false,
  bytes,
  status: -1,
  statusText: '',
  matchId,
});

const answer = (statusText: string, status: number, bytes: number, matchId: number, error = false): Event => ({
  text: '',
  kind: MessageKind.Normal,
  error,
  bytes,
  status,
  statusText,
  matchId,
});

// ---------------------------------------------------------------- parsing helpers

/** Each buffer is one datagram, with timestamp = its index. */
function udp(fromClient: boolean, datagrams: Buffer[]): Recorder {
  const rec = new Recorder();
  const p = dnsParser(conn(UDP), fromClient, rec);
  datagrams.forEach((d, i) => {
    if (i > 0) p.reset(); // as the pipeline does
    p.feed(d, 0, d.length, i, 0);
  });
  return rec;
}

/** Feeds TCP chunks (each with timestamp = its index). */
function stream(fromClient: boolean, chunks: Buffer[]): Recorder {
  const rec = new Recorder();
  const p = new DnsParser(conn(TCP), fromClient, rec);
  chunks.forEach((c, i) => p.feed(c, 0, c.length, i, 0));
  return rec;
}

function splitEverywhere(fromClient: boolean, wire: Buffer, expected: Event[]): void {
  const whole = stream(fromClient, [wire]);
  assert.deepEqual(whole.resets, [], 'no resets in one piece');
  assert.deepEqual(events(whole), expected);
  for (let i = 1; i < wire.length; i++) {
    const r = stream(fromClient, [wire.subarray(0, i), wire.subarray(i)]);
    assert.deepEqual(events(r), expected, `split at ${i}`);
    assert.deepEqual(r.resets, [], `split at ${i}`);
  }
  for (let i = 1; i < wire.length; i += 7) {
    for (let j = i + 1; j < wire.length; j += 5) {
      const r = stream(fromClient, [wire.subarray(0, i), wire.subarray(i, j), wire.subarray(j)]);
      assert.deepEqual(events(r), expected, `split at ${i}, ${j}`);
      assert.deepEqual(r.resets, [], `split at ${i}, ${j}`);
    }
  }
  const bytes = stream(
    fromClient,
    [...wire].map((b) => Buffer.from([b])),
  );
  assert.deepEqual(events(bytes), expected, 'byte by byte');
  assert.deepEqual(bytes.resets, [], 'byte by byte');
}

// ---------------------------------------------------------------- queries and responses

const QUERIES: [Msg, string][] = [
  [{ id: 1, name: 'example.com', type: T.A }, 'example.com A'],
  [{ id: 2, name: 'example.com', type: T.AAAA }, 'example.com AAAA'],
  [{ id: 3, name: 'example.org', type: T.MX }, 'example.org MX'],
  [{ id: 4, name: 'example.org', type: T.TXT }, 'example.org TXT'],
  [{ id: 5, name: '_sip._tcp.example.com', type: T.SRV }, '_sip._tcp.example.com SRV'],
  [{ id: 6, name: 'example.com', type: 999 }, 'example.com TYPE999'],
  [{ id: 7, name: 'example.com', type: 0 }, 'example.com TYPE0'],
  [{ id: 8, name: 'example.com', type: 65535 }, 'example.com TYPE65535'],
  [{ id: 9, name: '', type: T.NS }, '. NS'],
  [{ id: 10, name: '34.216.184.93.in-addr.arpa', type: T.PTR }, '34.216.184.93.in-addr.arpa PTR'],
  [{ id: 11, name: 'cloudflare.com', type: T.HTTPS }, 'cloudflare.com HTTPS'],
  [{ id: 12, name: 'example.com', type: T.CAA }, 'example.com CAA'],
  [{ id: 13, name: 'example.com', type: T.ANY }, 'example.com ANY'],
  [{ id: 14, name: 'example.com', type: 252 }, 'example.com AXFR'],
  [{ id: 15, name: 'EXAMPLE.com', type: T.SOA }, 'EXAMPLE.com SOA'],
  [{ id: 0xffff, name: 'a', type: 64 }, 'a SVCB'],
  [{ id: 0, name: 'x', type: 48 }, 'x DNSKEY'],
  // Item 7 of issue 16: every type IANA's registry names, not only the common ones.
  [{ id: 40, name: 'example.com', type: 29 }, 'example.com LOC'],
  [{ id: 41, name: 'example.com', type: 44 }, 'example.com SSHFP'],
  [{ id: 42, name: 'example.com', type: 23 }, 'example.com NSAP-PTR'],
  [{ id: 43, name: 'example.com', type: 99 }, 'example.com SPF'],
  [{ id: 44, name: 'example.com', type: 63 }, 'example.com ZONEMD'],
  [{ id: 45, name: 'example.com', type: 108 }, 'example.com EUI48'],
  [{ id: 46, name: 'example.com', type: 256 }, 'example.com URI'],
  [{ id: 47, name: 'example.com', type: 32769 }, 'example.com DLV'],
  [{ id: 48, name: 'example.com', type: 250 }, 'example.com TSIG'],
  [{ id: 49, name: 'example.com', type: 54 }, 'example.com TYPE54'],
  // Opcodes other than QUERY are shown first.
  [{ id: 16, opcode: 5, name: 'example.com', type: T.SOA }, 'UPDATE example.com SOA'],
  [{ id: 17, opcode: 4, name: 'example.com', type: T.SOA }, 'NOTIFY example.com SOA'],
  [{ id: 18, opcode: 9, name: 'example.com', type: T.A }, 'OPCODE9 example.com A'],
  // No question: no name.
  [{ id: 19, noQuestion: true }, ''],
  [{ id: 20, opcode: 6, noQuestion: true }, 'DSO'],
  // Unusual bytes: control bytes as '.', the rest as they are.
  [{ id: 21, name: Buffer.from('\x03a\x01b\x03c d\x02\xc3\xa9\x00', 'latin1'), type: T.A }, 'a.b.c d.\xc3\xa9 A'],
  // Only the first question is shown.
  [{ id: 22, qd: 2, name: 'first.example', type: T.A, tail: Buffer.concat([encodeName('second.example'), Buffer.from([0, 28, 0, 1])]) }, 'first.example A'],
  // An EDNS OPT record after the question is ignored.
  [{ id: 23, name: 'example.com', type: T.A, tail: Buffer.from([0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]) }, 'example.com A'],
];

test('UDP queries: name and type, id in matchId, one message per datagram', () => {
  const wires = QUERIES.map(([m]) => dns(m));
  const r = udp(true, wires);
  assert.deepEqual(r.resets, []);
  assert.deepEqual(
    events(r),
    QUERIES.map(([m, text], i) => query(text, wires[i].length, m.id)),
  );
  // Both timestamps are the datagram's.
  assert.deepEqual(
    r.seen.map((s) => [s.start, s.end]),
    wires.map((_w, i) => [i, i]),
  );
});

test('UDP responses: rcode as status and statusText, only SERVFAIL/FORMERR/NOTIMP/REFUSED are errors', () => {
  const cases: [number, string, boolean][] = [
    [0, 'NOERROR', false],
    [1, 'FORMERR', true],
    [2, 'SERVFAIL', true],
    [3, 'NXDOMAIN', false],
    [4, 'NOTIMP', true],
    [5, 'REFUSED', true],
    [6, 'YXDOMAIN', false],
    [7, 'YXRRSET', false],
    [8, 'NXRRSET', false],
    [9, 'NOTAUTH', false],
    [10, 'NOTZONE', false],
    [11, 'RCODE11', false],
    [15, 'RCODE15', false],
  ];
  const wires = cases.map(([rcode], i) => dns({ id: 100 + i, qr: true, rcode, tail: rcode === 0 ? ANSWER_A : undefined }));
  const r = udp(false, wires);
  assert.deepEqual(r.resets, []);
  assert.deepEqual(
    events(r),
    cases.map(([rcode, text, error], i) => answer(text, rcode, wires[i].length, 100 + i, error)),
  );
  for (const [rcode, text, error] of cases) {
    assert.equal(dnsRcodeText(rcode), text);
    assert.equal(isDnsError(rcode), error);
  }
  // The strings are constants: the same object every time.
  assert.equal(dnsRcodeText(12), dnsRcodeText(12));
});

test('responses to A, AAAA, MX, TXT, SRV and unknown-type queries pair by id', () => {
  const q = [
    dns({ id: 0x1234, name: 'example.com', type: T.A }),
    dns({ id: 0x1235, name: 'example.com', type: T.AAAA }),
    dns({ id: 0x1236, name: 'example.com', type: T.MX }),
    dns({ id: 0x1237, name: 'example.com', type: T.TXT }),
    dns({ id: 0x1238, name: '_sip._tcp.example.com', type: T.SRV }),
    dns({ id: 0x1239, name: 'example.com', type: 4242 }),
  ];
  const a = [
    dns({ id: 0x1234, qr: true, name: 'example.com', type: T.A, tail: ANSWER_A }),
    dns({ id: 0x1235, qr: true, name: 'example.com', type: T.AAAA }),
    dns({ id: 0x1236, qr: true, rcode: 3, name: 'example.com', type: T.MX }),
    dns({ id: 0x1237, qr: true, rcode: 2, name: 'example.com', type: T.TXT }),
    dns({ id: 0x1238, qr: true, rcode: 3, name: '_sip._tcp.example.com', type: T.SRV }),
    dns({ id: 0x1239, qr: true, rcode: 0, name: 'example.com', type: 4242 }),
  ];
  const rq = udp(true, q);
  const ra = udp(false, a);
  assert.deepEqual(
    rq.seen.map((s) => [s.matchId, s.text]),
    [
      [0x1234, 'example.com A'],
      [0x1235, 'example.com AAAA'],
      [0x1236, 'example.com MX'],
      [0x1237, 'example.com TXT'],
      [0x1238, '_sip._tcp.example.com SRV'],
      [0x1239, 'example.com TYPE4242'],
    ],
  );
  assert.deepEqual(
    ra.seen.map((s) => [s.matchId, s.statusText, s.status, s.error, s.text]),
    [
      [0x1234, 'NOERROR', 0, false, ''],
      [0x1235, 'NOERROR', 0, false, ''],
      [0x1236, 'NXDOMAIN', 3, false, ''],
      [0x1237, 'SERVFAIL', 2, true, ''],
      [0x1238, 'NXDOMAIN', 3, false, ''],
      [0x1239, 'NOERROR', 0, false, ''],
    ],
  );
});

test('unusual direction: a response from the client side and a query from the server side are still reported', () => {
  const r1 = udp(true, [dns({ id: 5, qr: true, rcode: 3, name: 'example.com', type: T.A })]);
  assert.deepEqual(r1.resets, []);
  assert.equal(r1.seen.length, 1);
  assert.equal(r1.seen[0].kind, MessageKind.Normal);
  assert.equal(r1.seen[0].statusText, 'NXDOMAIN');
  assert.equal(r1.seen[0].matchId, 5);
  const r2 = udp(false, [dns({ id: 6, name: 'example.com', type: T.A })]);
  assert.deepEqual(r2.resets, []);
  assert.deepEqual(events(r2), [query('example.com A', dns({ id: 6 }).length, 6)]);
});

test('compression pointers in the question: followed backwards, loops and forward pointers are malformed', () => {
  // "www" then a pointer to header byte 10 (ARCOUNT, zero): the root.
  const ok = dns({ id: 1, name: Buffer.from([3, 0x77, 0x77, 0x77, 0xc0, 10]), type: T.A });
  // "a" then a pointer back to itself: a loop.
  const loop = dns({ id: 2, name: Buffer.from([1, 0x61, 0xc0, 12]), type: T.A });
  // A pointer forward, past itself.
  const forward = dns({ id: 3, name: Buffer.from([0xc0, 14, 1, 0x61, 0]), type: T.A });
  // A pointer beyond the message.
  const outside = dns({ id: 4, name: Buffer.from([0xc3, 0xff]), type: T.A });
  // A pointer to itself.
  const self = dns({ id: 5, name: Buffer.from([0xc0, 12]), type: T.A });
  // Extended label types (0x40, 0x80).
  const ext = dns({ id: 6, name: Buffer.from([0x41, 0]), type: T.A });
  const r = udp(true, [ok, loop, forward, outside, self, ext]);
  assert.deepEqual(events(r), [query('www A', ok.length, 1)]);
  assert.deepEqual(r.resets, [ResetReason.Malformed, ResetReason.Malformed, ResetReason.Malformed, ResetReason.Malformed, ResetReason.Malformed]);
});

test('long names: up to 255 bytes accepted, longer malformed, preview shortened with "..."', () => {
  const l63 = 'a'.repeat(63);
  const longest = `${l63}.${l63}.${l63}.${'b'.repeat(61)}`; // 255 bytes on the wire
  const tooLong = `${l63}.${l63}.${l63}.${'b'.repeat(62)}`;
  const r = udp(true, [
    dns({ id: 1, name: longest, type: T.A }),
    dns({ id: 2, name: tooLong, type: T.A }),
    dns({ id: 3, opcode: 5, name: longest, type: T.SOA }),
    dns({ id: 4, name: 'x'.repeat(64), type: T.A }),
  ]);
  assert.deepEqual(r.resets, [ResetReason.Malformed, ResetReason.Malformed]);
  assert.equal(r.seen.length, 2);
  assert.equal(r.seen[0].text, `${longest} A`);
  const shortened = r.seen[1].text;
  assert.equal(shortened.length, PREVIEW_MAX);
  assert.equal(shortened, `UPDATE ${longest} SOA`.slice(0, PREVIEW_MAX - 3) + '...');
  assert.equal(r.seen[1].matchId, 3);
});

// ---------------------------------------------------------------- UDP: malformed and cut

test('UDP: short or malformed datagrams reset, the next one parses', () => {
  const good = dns({ id: 9, name: 'example.com', type: T.A });
  const r = udp(true, [
    Buffer.alloc(0),
    Buffer.from([1, 2, 3]),
    good.subarray(0, 11),
    // A name running off the end of a whole datagram (no skip follows).
    good.subarray(0, 17),
    // The type missing.
    good.subarray(0, good.length - 4),
    good,
  ]);
  assert.deepEqual(events(r), [query('example.com A', good.length, 9)]);
  assert.deepEqual(r.resets, [ResetReason.Malformed, ResetReason.Malformed, ResetReason.Malformed, ResetReason.Malformed, ResetReason.Malformed]);
});

test('UDP: a datagram cut by snaplen is reported with what was captured', () => {
  const rec = new Recorder();
  const p = dnsParser(conn(UDP), true, rec);
  const q = dns({ id: 77, name: 'www.example.com', type: T.A, tail: Buffer.alloc(100) });
  // Cut inside the name: "www.examp..." and the whole datagram's length.
  p.feed(q, 0, 22, 5, 0);
  assert.equal(rec.seen.length, 0);
  assert.equal(p.skip(q.length - 22, 5, 0), true);
  // Cut after the question: reported at once, the skip changes nothing.
  p.reset();
  p.feed(q, 0, 40, 6, 0);
  assert.equal(p.skip(q.length - 40, 6, 0), true);
  // Cut in the type.
  p.reset();
  const typeAt = 12 + 17;
  p.feed(q, 0, typeAt + 1, 7, 0);
  assert.equal(p.skip(q.length - typeAt - 1, 7, 0), true);
  // The header itself cut: malformed; skip still fine.
  p.reset();
  p.feed(q, 0, 8, 8, 0);
  assert.equal(p.skip(q.length - 8, 8, 0), true);
  assert.deepEqual(events(rec), [query('www.examp...', q.length, 77), query('www.example.com A', 40, 77), query('www.example.com...', q.length, 77)]);
  assert.deepEqual(rec.resets, [ResetReason.Malformed]);
  assert.deepEqual(
    rec.seen.map((s) => [s.start, s.end]),
    [
      [5, 5],
      [6, 6],
      [7, 7],
    ],
  );
});

test('UDP: a cut question with no skip after it is malformed at the next datagram or end', () => {
  const q = dns({ id: 1, name: 'www.example.com', type: T.A });
  const rec = new Recorder();
  const p = dnsParser(conn(UDP), true, rec);
  p.feed(q, 0, 20, 0, 0);
  p.feed(q, 0, q.length, 1, 0); // no reset() in between: still counted
  p.feed(q, 0, 20, 2, 0);
  p.end?.(3, 0);
  assert.deepEqual(rec.resets, [ResetReason.Malformed, ResetReason.Malformed]);
  assert.deepEqual(events(rec), [query('www.example.com A', q.length, 1)]);
});

// ---------------------------------------------------------------- TCP

test('TCP: a message longer than the kept head still parses its question', () => {
  const m = dns({ id: 42, name: 'example.com', type: T.TXT, tail: Buffer.alloc(2000, 1) });
  const wire = tcp(m);
  for (const at of [1, 2, 5, 13, 20, 600, 1500]) {
    const r = stream(true, [wire.subarray(0, at), wire.subarray(at)]);
    assert.deepEqual(events(r), [query('example.com TXT', m.length + 2, 42)], `split at ${at}`);
  }
});

test('TCP: skip inside a message steps over the missing bytes', () => {
  const big = dns({ id: 7, qr: true, name: 'example.com', type: T.TXT, tail: Buffer.alloc(1000, 0x41) });
  const next = dns({ id: 8, qr: true, rcode: 3, name: 'x.example', type: T.A });
  const wire = tcp(big, next);
  const rec = new Recorder();
  const p = new DnsParser(conn(TCP), false, rec);
  p.feed(wire, 0, 100, 0, 0);
  assert.equal(p.skip(500, 1, 0), true);
  p.feed(wire, 600, 700, 2, 0);
  assert.equal(p.skip(big.length + 2 - 700, 3, 0), true); // ends the message exactly
  p.feed(wire, big.length + 2, wire.length, 4, 0);
  assert.deepEqual(rec.resets, []);
  assert.deepEqual(events(rec), [answer('NOERROR', 0, big.length + 2, 7), answer('NXDOMAIN', 3, next.length + 2, 8)]);
  assert.deepEqual(
    rec.seen.map((s) => [s.start, s.end]),
    [
      [0, 3],
      [4, 4],
    ],
  );
});

test('TCP: skip over a cut question shows it with "..."; over the header, or past the message, resets', () => {
  const q = dns({ id: 11, name: 'www.example.com', type: T.A, tail: Buffer.alloc(50) });
  const next = dns({ id: 12, name: 'example.net', type: T.AAAA });
  const wire = tcp(q, next);
  {
    const rec = new Recorder();
    const p = new DnsParser(conn(TCP), true, rec);
    p.feed(wire, 0, 2 + 20, 0, 0); // header + "www.exa"
    assert.equal(p.skip(10, 0, 0), true);
    p.feed(wire, 32, wire.length, 1, 0);
    assert.deepEqual(rec.resets, []);
    assert.deepEqual(events(rec), [query('www.exa...', q.length + 2, 11), query('example.net AAAA', next.length + 2, 12)]);
  }
  {
    // The header cut: the id is lost.
    const rec = new Recorder();
    const p = new DnsParser(conn(TCP), true, rec);
    p.feed(wire, 0, 2 + 20 + 40, 0, 0);
    assert.equal(p.skip(q.length + 2 - 62, 0, 0), true);
    p.feed(wire, q.length + 2, q.length + 2 + 8, 1, 0);
    assert.equal(p.skip(4, 1, 0), false);
    assert.deepEqual(rec.resets, [ResetReason.Gap]);
    // The next chunk is taken to start a message.
    p.feed(wire, q.length + 2, wire.length, 2, 0);
    assert.deepEqual(events(rec), [query('www.example.com A', q.length + 2, 11), query('example.net AAAA', next.length + 2, 12)]);
  }
  {
    // The message ends inside the missing bytes: it is reported, then the framing is lost.
    const rec = new Recorder();
    const p = new DnsParser(conn(TCP), true, rec);
    p.feed(wire, 0, 40, 0, 0);
    assert.equal(p.skip(q.length + 2 - 40 + 5, 0, 0), false);
    assert.deepEqual(rec.resets, [ResetReason.Gap]);
    assert.deepEqual(events(rec), [query('www.example.com A', q.length + 2, 11)]);
    // The rest of the next message, mid-message: dropped quietly, not reported.
    p.feed(wire, q.length + 2 + 5, wire.length, 1, 0);
    assert.deepEqual(rec.resets, [ResetReason.Gap]);
    assert.equal(rec.seen.length, 1);
    // A later chunk at a message start is parsed again.
    p.feed(tcp(next), 0, next.length + 2, 2, 0);
    assert.deepEqual(rec.seen.map((s) => s.matchId), [11, 12]);
  }
  {
    // A gap between messages.
    const rec = new Recorder();
    const p = new DnsParser(conn(TCP), true, rec);
    p.feed(wire, 0, q.length + 2, 0, 0);
    assert.equal(p.skip(3, 0, 0), false);
    assert.deepEqual(rec.resets, [ResetReason.Gap]);
  }
});

test('TCP: malformed messages reset; a bad question keeps the framing, a bad length loses it', () => {
  const good = dns({ id: 1, name: 'example.com', type: T.A });
  const badName = dns({ id: 2, name: Buffer.from([5, 0x61, 0]), type: T.A }); // label runs into the type
  const loop = dns({ id: 3, name: Buffer.from([0xc0, 12]), type: T.A });
  const after = dns({ id: 4, name: 'after.example', type: T.A });
  {
    const r = stream(true, [tcp(good, badName, loop, after)]);
    assert.deepEqual(r.resets, [ResetReason.Malformed, ResetReason.Malformed]);
    assert.deepEqual(r.seen.map((s) => s.matchId), [1, 4]);
  }
  {
    // A length below 12: the rest of the chunk is dropped, the next chunk starts a message.
    const short = Buffer.from([0, 5, 1, 2, 3, 4, 5]);
    const wire = Buffer.concat([tcp(good), short, tcp(after)]);
    const r = stream(true, [wire, tcp(after)]);
    assert.deepEqual(r.resets, [ResetReason.Malformed]);
    assert.deepEqual(r.seen.map((s) => s.matchId), [1, 4]);
    // Byte by byte the same: the bad length is found in a later chunk.
    const r2 = stream(true, [...[...tcp(good)].map((b) => Buffer.from([b])), Buffer.from([0]), Buffer.from([5]), tcp(after)]);
    assert.deepEqual(r2.resets, [ResetReason.Malformed]);
    assert.deepEqual(r2.seen.map((s) => s.matchId), [1, 4]);
  }
});

test('TCP: a capture starting mid-message finds the next message start quietly', () => {
  const a = dns({ id: 1, name: 'example.com', type: T.A, tail: Buffer.alloc(300, 0xff) });
  const b = dns({ id: 2, name: 'example.org', type: T.AAAA });
  const wire = tcp(a, b);
  // Start inside a's tail: 0xffff is a length, and its "header" is not DNS.
  const r = stream(true, [wire.subarray(100, a.length + 2), tcp(b)]);
  assert.deepEqual(r.resets, []);
  assert.deepEqual(events(r), [query('example.org AAAA', b.length + 2, 2)]);
});

test('TCP: reset() forgets a partial message', () => {
  const a = dns({ id: 1, name: 'example.com', type: T.A });
  const wire = tcp(a, a);
  const rec = new Recorder();
  const p = new DnsParser(conn(TCP), true, rec);
  p.feed(wire, 0, 10, 0, 0);
  p.reset();
  p.feed(wire, a.length + 2, wire.length, 1, 0);
  assert.deepEqual(rec.resets, []);
  assert.deepEqual(events(rec), [query('example.com A', a.length + 2, 1)]);
});

// ---------------------------------------------------------------- properties

test('TCP: queries length-prefixed, split at every byte offset', () => {
  const msgs = QUERIES.map(([m]) => dns(m));
  splitEverywhere(
    true,
    tcp(...msgs),
    QUERIES.map(([m, text], i) => query(text, msgs[i].length + 2, m.id)),
  );
});

test('TCP: two messages in one chunk, each split at every offset', () => {
  const a = dns({ id: 0xbeef, name: 'example.com', type: T.A });
  const b = dns({ id: 0xcafe, name: '_sip._tcp.example.com', type: T.SRV });
  const wire = tcp(a, b);
  const r = stream(true, [wire]);
  assert.deepEqual(events(r), [query('example.com A', a.length + 2, 0xbeef), query('_sip._tcp.example.com SRV', b.length + 2, 0xcafe)]);
  assert.deepEqual(
    r.seen.map((s) => [s.start, s.end]),
    [
      [0, 0],
      [0, 0],
    ],
  );
  splitEverywhere(true, wire, events(r));
});

test('TCP: responses, with answers, split at every byte offset; timestamps span the chunks', () => {
  const a = dns({ id: 1, qr: true, name: 'example.com', type: T.A, tail: ANSWER_A });
  const b = dns({ id: 2, qr: true, rcode: 3, name: 'nope.example.com', type: T.A });
  const c = dns({ id: 3, qr: true, rcode: 2, name: 'example.com', type: T.MX });
  const big = dns({ id: 4, qr: true, name: 'example.com', type: T.TXT, tail: Buffer.alloc(3000, 7) });
  const expected = [
    answer('NOERROR', 0, a.length + 2, 1),
    answer('NXDOMAIN', 3, b.length + 2, 2),
    answer('SERVFAIL', 2, c.length + 2, 3, true),
    answer('NOERROR', 0, big.length + 2, 4),
  ];
  splitEverywhere(false, tcp(a, b, c), expected.slice(0, 3));
  const wire = tcp(a, b, c, big);
  const r = stream(false, [wire.subarray(0, 10), wire.subarray(10, 200), wire.subarray(200, 1000), wire.subarray(1000)]);
  assert.deepEqual(r.resets, []);
  assert.deepEqual(events(r), expected);
  assert.deepEqual(
    r.seen.map((s) => [s.start, s.end]),
    [
      [0, 1],
      [1, 1],
      [1, 1],
      [1, 3],
    ],
  );
});

test('random bytes, any cuts and skips: never throw (UDP and TCP, both directions)', () => {
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.boolean(),
      fc.uint8Array({ maxLength: 600 }),
      fc.array(fc.nat(600), { maxLength: 6 }),
      fc.array(fc.nat(70), { maxLength: 6 }),
      (isUdp, fromClient, bytes, cuts, skips) => {
        const rec = new Recorder();
        const p = dnsParser(conn(isUdp ? UDP : TCP), fromClient, rec);
        const buf = Buffer.from(bytes);
        const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((x, y) => x - y);
        let prev = 0;
        points.push(buf.length);
        points.forEach((at, i) => {
          if (isUdp && i > 0) p.reset();
          if (at > prev) p.feed(buf, prev, at, i, 0);
          if (i < skips.length && skips[i] > 0) p.skip(skips[i], i, 0);
          prev = at;
        });
        p.end?.(points.length, 0);
        for (const s of rec.seen) assert.ok(s.text.length <= PREVIEW_MAX);
      },
    ),
    { numRuns: fuzzRuns(3000) },
  );
});

test('random bytes after a valid header: never throw, names are bounded', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.nat(0xffff), fc.uint8Array({ maxLength: 300 }), (isUdp, id, rest) => {
      const h = dns({ id, noQuestion: true });
      h.writeUInt16BE(1, 4);
      const m = Buffer.concat([h, Buffer.from(rest)]);
      const rec = new Recorder();
      const p = dnsParser(conn(isUdp ? UDP : TCP), true, rec);
      const wire = isUdp ? m : tcp(m);
      p.feed(wire, 0, wire.length, 0, 0);
      // UDP: a question running off the end waits for a skip(); the end says none comes.
      p.end?.(1, 0);
      assert.equal(rec.seen.length + rec.resets.length, 1);
      for (const s of rec.seen) assert.equal(s.matchId, id);
    }),
    { numRuns: fuzzRuns(3000) },
  );
});

test('any valid TCP stream split into any pieces parses as it does whole', () => {
  const parts = QUERIES.map(([m]) => dns(m));
  fc.assert(
    fc.property(fc.array(fc.nat(100), { minLength: 1, maxLength: 10 }), fc.array(fc.nat(2000), { maxLength: 8 }), (picks, cuts) => {
      // The first message is checked to look like DNS (QDCOUNT <= 1): start with a plain one.
      const wire = tcp(parts[0], ...picks.map((i) => parts[i % parts.length]));
      const whole = stream(true, [wire]);
      assert.deepEqual(whole.resets, []);
      assert.equal(whole.seen.length, picks.length + 1);
      assert.equal(
        whole.seen.reduce((n, s) => n + s.bytes, 0),
        wire.length,
      );
      const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((x, y) => x - y);
      const chunks: Buffer[] = [];
      let prev = 0;
      for (const at of [...points, wire.length]) {
        if (at > prev) chunks.push(wire.subarray(prev, at));
        prev = at;
      }
      const r = stream(true, chunks);
      assert.deepEqual(r.resets, []);
      assert.deepEqual(events(r), events(whole));
    }),
    { numRuns: fuzzRuns(500) },
  );
});


// The DNS parser, field by field: what dns.test.ts's Recorder does not keep
// (the side a message or reset is reported for, nanoseconds), every type,
// opcode and rcode name against IANA's registries, a message at an offset
// inside a larger buffer, the limits (16 compression pointers, the preview's
// 256 bytes), and the header check used after the TCP framing is lost.
// Written for the survivors of `make mutate` (test/TESTING.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newPairedConnection } from '../../../src/pairing/connection';
import { DnsParser, dnsParser, dnsRcodeText } from '../../../src/protocol/dns';
import { PREVIEW_MAX, ResetReason } from '../../../src/protocol/message';
import { FullRecorder, msg } from '../../helpers/full-recorder';

const UDP = 17;
const TCP = 6;

function conn(proto: number): ReturnType<typeof newPairedConnection> {
  const c = newPairedConnection();
  c.proto = proto;
  return c;
}

interface Q {
  id?: number;
  qr?: boolean;
  opcode?: number;
  rcode?: number;
  qd?: number;
  z?: boolean;
  /** Raw name bytes (default: example.com). */
  name?: Buffer;
  type?: number;
  tail?: Buffer;
}

function name(dotted: string): Buffer {
  const parts: number[] = [];
  if (dotted !== '.') for (const l of dotted.split('.')) parts.push(l.length, ...Buffer.from(l, 'latin1'));
  parts.push(0);
  return Buffer.from(parts);
}

function dns(q: Q): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(q.id ?? 0x4242, 0);
  h[2] = (q.qr ? 0x80 : 0) | ((q.opcode ?? 0) << 3) | 1;
  h[3] = (q.qr ? 0x80 : 0) | (q.z ? 0x40 : 0) | (q.rcode ?? 0);
  h.writeUInt16BE(q.qd ?? 1, 4);
  const t = Buffer.alloc(4);
  t.writeUInt16BE(q.type ?? 1, 0);
  t.writeUInt16BE(1, 2);
  return Buffer.concat([h, q.name ?? name('example.com'), t, q.tail ?? Buffer.alloc(0)]);
}

const tcp = (...m: Buffer[]): Buffer => Buffer.concat(m.flatMap((x) => [Buffer.from([x.length >> 8, x.length & 255]), x]));

/** One UDP datagram at offset 7 of a buffer with other bytes around it, at time (sec, nsec). */
function udpOne(fromClient: boolean, d: Buffer, sec = 3, nsec = 456): FullRecorder {
  const rec = new FullRecorder();
  const p = dnsParser(conn(UDP), fromClient, rec);
  const buf = Buffer.concat([Buffer.alloc(7, 0xc0), d, Buffer.alloc(12)]);
  p.feed(buf, 7, 7 + d.length, sec, nsec);
  p.end?.(sec, nsec);
  return rec;
}

// IANA "Resource Record (RR) TYPEs", every assigned value.
const IANA_TYPES: [number, string][] = [
  [1, 'A'], [2, 'NS'], [3, 'MD'], [4, 'MF'], [5, 'CNAME'], [6, 'SOA'], [7, 'MB'], [8, 'MG'], [9, 'MR'], [10, 'NULL'],
  [11, 'WKS'], [12, 'PTR'], [13, 'HINFO'], [14, 'MINFO'], [15, 'MX'], [16, 'TXT'], [17, 'RP'], [18, 'AFSDB'], [19, 'X25'],
  [20, 'ISDN'], [21, 'RT'], [22, 'NSAP'], [23, 'NSAP-PTR'], [24, 'SIG'], [25, 'KEY'], [26, 'PX'], [27, 'GPOS'], [28, 'AAAA'],
  [29, 'LOC'], [30, 'NXT'], [31, 'EID'], [32, 'NIMLOC'], [33, 'SRV'], [34, 'ATMA'], [35, 'NAPTR'], [36, 'KX'], [37, 'CERT'],
  [38, 'A6'], [39, 'DNAME'], [40, 'SINK'], [41, 'OPT'], [42, 'APL'], [43, 'DS'], [44, 'SSHFP'], [45, 'IPSECKEY'], [46, 'RRSIG'],
  [47, 'NSEC'], [48, 'DNSKEY'], [49, 'DHCID'], [50, 'NSEC3'], [51, 'NSEC3PARAM'], [52, 'TLSA'], [53, 'SMIMEA'], [55, 'HIP'],
  [56, 'NINFO'], [57, 'RKEY'], [58, 'TALINK'], [59, 'CDS'], [60, 'CDNSKEY'], [61, 'OPENPGPKEY'], [62, 'CSYNC'], [63, 'ZONEMD'],
  [64, 'SVCB'], [65, 'HTTPS'], [66, 'DSYNC'], [99, 'SPF'], [100, 'UINFO'], [101, 'UID'], [102, 'GID'], [103, 'UNSPEC'],
  [104, 'NID'], [105, 'L32'], [106, 'L64'], [107, 'LP'], [108, 'EUI48'], [109, 'EUI64'], [128, 'NXNAME'], [249, 'TKEY'],
  [250, 'TSIG'], [251, 'IXFR'], [252, 'AXFR'], [253, 'MAILB'], [254, 'MAILA'], [255, 'ANY'], [256, 'URI'], [257, 'CAA'],
  [258, 'AVC'], [259, 'DOA'], [260, 'AMTRELAY'], [261, 'RESINFO'], [262, 'WALLET'], [263, 'CLA'], [264, 'IPN'],
  [32768, 'TA'], [32769, 'DLV'],
];

test('every QTYPE: IANA names, everything else TYPE<n> (0 to 300, around 32768, the largest)', () => {
  const named = new Map(IANA_TYPES);
  const types = [...Array(301).keys(), 1000, 1010, 10000, 10001, 32767, 32768, 32769, 32770, 65534, 65535];
  const rec = new FullRecorder();
  const p = dnsParser(conn(UDP), true, rec);
  for (const t of types) {
    const d = dns({ id: t, type: t, name: name('a') });
    p.feed(d, 0, d.length, 1, 2);
    p.reset();
  }
  assert.deepEqual(rec.resets, []);
  assert.deepEqual(
    rec.seen.map((s) => s.text),
    types.map((t) => `a ${named.get(t) ?? `TYPE${t}`}`),
  );
});

test('every opcode: QUERY shows none, IQUERY STATUS NOTIFY UPDATE DSO by name, the rest OPCODE<n>', () => {
  const names = ['', 'IQUERY ', 'STATUS ', 'OPCODE3 ', 'NOTIFY ', 'UPDATE ', 'DSO ', 'OPCODE7 ', 'OPCODE8 ', 'OPCODE9 ', 'OPCODE10 ', 'OPCODE11 ', 'OPCODE12 ', 'OPCODE13 ', 'OPCODE14 ', 'OPCODE15 '];
  for (let op = 0; op < 16; op++) {
    const r = udpOne(true, dns({ id: op, opcode: op, type: 6 }));
    assert.deepEqual(r.seen, [msg({ text: `${names[op]}example.com SOA`, matchId: op, bytes: 29, start: [3, 456], end: [3, 456] })], `opcode ${op}`);
    // No question: the opcode alone, without its space.
    const none = udpOne(true, dns({ id: op, opcode: op, qd: 0 }).subarray(0, 12));
    assert.deepEqual(none.seen, [msg({ text: names[op].trimEnd(), matchId: op, bytes: 12, start: [3, 456], end: [3, 456] })], `opcode ${op}, no question`);
  }
});

test('every rcode: its name, the mask to 4 bits, and which are errors', () => {
  const names = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE', 'RCODE11', 'RCODE12', 'RCODE13', 'RCODE14', 'RCODE15'];
  for (let rc = 0; rc < 16; rc++) {
    const r = udpOne(false, dns({ id: 900 + rc, qr: true, rcode: rc }));
    assert.deepEqual(r.seen, [msg({ fromClient: false, status: rc, statusText: names[rc], error: [1, 2, 4, 5].includes(rc), matchId: 900 + rc, bytes: 29, start: [3, 456], end: [3, 456] })], `rcode ${rc}`);
    assert.equal(dnsRcodeText(rc + 16), names[rc]);
    assert.equal(dnsRcodeText(rc + 0x7f0), names[rc]);
  }
});

test('the side reported: a message by its QR bit, a reset by the parser\'s side; a response from the client side shows its question', () => {
  // A response on the client's side (port 53 to port 53): reported as a response, with the question shown.
  const r = udpOne(true, dns({ id: 7, qr: true, rcode: 3, type: 28 }));
  assert.deepEqual(r.seen, [msg({ fromClient: false, text: 'example.com AAAA', status: 3, statusText: 'NXDOMAIN', matchId: 7, bytes: 29, start: [3, 456], end: [3, 456] })]);
  // A query on the server's side: reported as a query.
  const q = udpOne(false, dns({ id: 8, type: 15 }));
  assert.deepEqual(q.seen, [msg({ fromClient: true, text: 'example.com MX', matchId: 8, bytes: 29, start: [3, 456], end: [3, 456] })]);
  // Resets carry the parser's side, whatever the message said.
  for (const side of [true, false]) {
    const bad = udpOne(side, Buffer.from([1, 2, 3]));
    assert.deepEqual(bad.resets, [{ fromClient: side, reason: ResetReason.Malformed }]);
    const rec = new FullRecorder();
    const p = new DnsParser(conn(TCP), side, rec);
    const good = dns({ id: 1 });
    const badName = dns({ id: 2, name: Buffer.from([5, 0x61, 0]) }); // a query: its question is read on either side
    const wire = tcp(good, badName);
    p.feed(wire, 0, wire.length, 1, 0);
    assert.equal(p.skip(5, 2, 0), false);
    assert.deepEqual(rec.resets, [
      { fromClient: side, reason: ResetReason.Malformed },
      { fromClient: side, reason: ResetReason.Gap },
    ]);
  }
});

test('a message inside a larger buffer: offsets, compression pointers and lengths are relative to it', () => {
  // www + a pointer to header byte 10 (ARCOUNT 0: the end of the name).
  const d = dns({ id: 0x0102, name: Buffer.from([3, 0x77, 0x77, 0x77, 0xc0, 10]), type: 33 });
  const r = udpOne(true, d, 5, 999);
  assert.deepEqual(r.seen, [msg({ text: 'www SRV', matchId: 0x0102, bytes: d.length, start: [5, 999], end: [5, 999] })]);
  // TCP: three messages after 5 bytes of something else, the chunk ending 4 bytes before the buffer does.
  const a = dns({ id: 1, name: Buffer.from([1, 0x61, 0xc0, 10]) });
  const b = dns({ id: 2, qr: true, rcode: 2 });
  const c = dns({ id: 3, name: name('c.example'), type: 16 });
  const wire = Buffer.concat([Buffer.alloc(5, 0xee), tcp(a, b, c), Buffer.alloc(4, 0xee)]);
  const rec = new FullRecorder();
  const p = new DnsParser(conn(TCP), true, rec);
  p.feed(wire, 5, wire.length - 4, 8, 800);
  assert.deepEqual(rec.resets, []);
  assert.deepEqual(rec.seen, [
    msg({ text: 'a A', matchId: 1, bytes: a.length + 2, start: [8, 800], end: [8, 800] }),
    msg({ fromClient: false, text: 'example.com A', status: 2, statusText: 'SERVFAIL', error: true, matchId: 2, bytes: b.length + 2, start: [8, 800], end: [8, 800] }),
    msg({ text: 'c.example TXT', matchId: 3, bytes: c.length + 2, start: [8, 800], end: [8, 800] }),
  ]);
});

/**
 * A question whose name is a label holding `pairs` pointers, each to the one
 * before, the first to a zero byte, followed by a pointer to the last: the
 * name is that one label, reached through pairs + 1 pointers.
 */
function pointerChain(pairs: number): { d: Buffer; label: Buffer } {
  const label = Buffer.alloc(1 + 2 * pairs);
  label[0] = 0;
  for (let j = 0; j < pairs; j++) {
    const target = j === 0 ? 13 : 14 + 2 * (j - 1);
    label[1 + 2 * j] = 0xc0 | (target >> 8);
    label[2 + 2 * j] = target & 255;
  }
  const last = 14 + 2 * (pairs - 1);
  const nm = Buffer.concat([Buffer.from([label.length]), label, Buffer.from([0xc0, last])]);
  return { d: dns({ id: pairs, name: nm, type: 1 }), label };
}

const shown = (b: Buffer): string => [...b].map((x) => (x < 0x20 || x === 0x7f ? '.' : String.fromCharCode(x))).join('');

test('compression: up to 16 pointers in one name are followed, a 17th is malformed', () => {
  const ok = pointerChain(15);
  const r = udpOne(true, ok.d);
  assert.deepEqual(r.resets, []);
  assert.deepEqual(r.seen, [msg({ text: `${shown(ok.label)} A`, matchId: 15, bytes: ok.d.length, start: [3, 456], end: [3, 456] })]);
  const bad = udpOne(true, pointerChain(16).d);
  assert.deepEqual(bad.seen, []);
  assert.deepEqual(bad.resets, [{ fromClient: true, reason: ResetReason.Malformed }]);
  // A pointer to the byte just before it is backwards: header byte 11, ARCOUNT's zero, ends the name.
  const justBefore = udpOne(true, dns({ id: 1, name: Buffer.from([0xc0, 11]) }));
  assert.deepEqual(justBefore.seen.map((s) => s.text), ['. A']);
});

test('label bytes: control bytes and DEL as ".", space, "~" and bytes above 0x7f as they are', () => {
  const label = Buffer.from([0x00, 0x01, 0x1f, 0x20, 0x21, 0x7e, 0x7f, 0x80, 0xff, 0x2e]);
  const r = udpOne(true, dns({ id: 1, name: Buffer.concat([Buffer.from([label.length]), label, Buffer.from([0])]) }));
  assert.deepEqual(r.seen.map((s) => s.text), ['... !~.\x80\xff. A']);
});

test('the preview holds 256 bytes: a question that fills it exactly is whole, one byte more ends in "..."', () => {
  const rec = new FullRecorder();
  const p = dnsParser(conn(UDP), true, rec);
  const expected: string[] = [];
  // "UPDATE " (7) + the name + " SOA" (4): 245 characters of name fill the preview.
  for (let n = 240; n <= 252; n++) {
    const labels: string[] = [];
    let left = n;
    while (left > 0) {
      const l = Math.min(63, left);
      labels.push('x'.repeat(l));
      left -= l + 1;
    }
    let dotted = labels.join('.');
    if (dotted.length < n) dotted = dotted.slice(0, -1) + 'yy'; // a label boundary one short: make it up
    dotted = dotted.slice(0, n);
    if (dotted.endsWith('.')) dotted = dotted.slice(0, -1) + 'z';
    const d = dns({ id: n, opcode: 5, name: name(dotted), type: 6 });
    p.feed(d, 0, d.length, 1, 0);
    p.reset();
    const full = `UPDATE ${dotted} SOA`;
    expected.push(full.length <= PREVIEW_MAX ? full : `${full.slice(0, PREVIEW_MAX - 3)}...`);
  }
  assert.deepEqual(rec.resets, []);
  assert.deepEqual(rec.seen.map((s) => s.text), expected);
  assert.ok(expected.some((e) => e.length === PREVIEW_MAX && !e.endsWith('...')));
});

test('a name that fills the preview inside a label, then is cut by snaplen: "..." once', () => {
  const dotted = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(60)}`;
  const d = dns({ id: 5, name: name(dotted), type: 1 });
  const rec = new FullRecorder();
  const p = dnsParser(conn(UDP), true, rec);
  p.feed(d, 0, d.length - 3, 4, 40);
  assert.deepEqual(rec.seen, []);
  assert.equal(p.skip(3, 4, 41), true);
  assert.deepEqual(rec.seen, [msg({ text: `${dotted.slice(0, PREVIEW_MAX - 3)}...`, matchId: 5, bytes: d.length, start: [4, 40], end: [4, 40] })]);
  // skip() with nothing pending reports nothing.
  assert.equal(p.skip(10, 5, 0), true);
  assert.equal(rec.seen.length, 1);
  assert.deepEqual(rec.resets, []);
});

test('UDP: a datagram cut in its type, with skip(): the name and "..."; bytes count what was cut', () => {
  const d = dns({ id: 6, name: name('ab.cd'), type: 1, tail: Buffer.alloc(20) });
  const rec = new FullRecorder();
  const p = dnsParser(conn(UDP), false, rec);
  p.feed(d, 0, 12 + 7 + 1, 9, 90);
  assert.equal(p.skip(d.length - 20, 9, 91), true);
  assert.deepEqual(rec.seen, [msg({ text: 'ab.cd...', matchId: 6, bytes: d.length, start: [9, 90], end: [9, 90] })]);
});

// ---------------------------------------------------------------- TCP

test('TCP: a header-only message (length 12) is a message; 11 loses the framing', () => {
  const h = dns({ id: 0x0a0b, opcode: 4, qd: 0 }).subarray(0, 12);
  for (const split of [0, 1, 2, 3, 13]) {
    const wire = tcp(h, h);
    const rec = new FullRecorder();
    const p = new DnsParser(conn(TCP), true, rec);
    if (split > 0) p.feed(wire, 0, split, 1, 10);
    p.feed(wire, split, wire.length, 2, 20);
    assert.deepEqual(rec.resets, [], `split ${split}`);
    const start: [number, number] = split > 0 ? [1, 10] : [2, 20];
    assert.deepEqual(rec.seen, [msg({ text: 'NOTIFY', matchId: 0x0a0b, bytes: 14, start, end: [2, 20] }), msg({ text: 'NOTIFY', matchId: 0x0a0b, bytes: 14, start: [2, 20], end: [2, 20] })], `split ${split}`);
  }
  const short = Buffer.concat([tcp(h), Buffer.from([0, 11]), h.subarray(0, 11), tcp(h)]);
  for (const split of [0, 15, 16]) {
    const rec = new FullRecorder();
    const p = new DnsParser(conn(TCP), false, rec);
    if (split > 0) p.feed(short, 0, split, 1, 0);
    p.feed(short, split, short.length, 2, 0);
    assert.deepEqual(rec.resets, [{ fromClient: false, reason: ResetReason.Malformed }], `split ${split}`);
    assert.equal(rec.seen.length, 1, `split ${split}`);
  }
});

/** Feeds `first` at the start of a stream (or after a reset), then `after` in its own chunk. */
function startWith(first: Buffer, split: number, after: Buffer, resetFirst = false): FullRecorder {
  const rec = new FullRecorder();
  const p = new DnsParser(conn(TCP), true, rec);
  if (resetFirst) {
    const ok = tcp(dns({ id: 99 }));
    p.feed(ok, 0, ok.length, 0, 0);
    p.reset();
  }
  const wire = Buffer.concat([tcp(first), tcp(after)]);
  if (split > 0) p.feed(wire, 0, split, 1, 0);
  p.feed(wire, split, wire.length, 1, 0);
  p.feed(tcp(after), 0, after.length + 2, 2, 0);
  return rec;
}

test('TCP: the first message must look like DNS (opcode 0-2 or 4-6, Z clear, at most one question), whole or split', () => {
  const after = dns({ id: 77, name: name('after.example') });
  for (const split of [0, 5, 13]) {
    for (const resetFirst of [false, true]) {
      const where = `split ${split}${resetFirst ? ', after a reset' : ''}`;
      for (let op = 0; op < 16; op++) {
        const r = startWith(dns({ id: op, opcode: op }), split, after, resetFirst);
        const plausible = op <= 2 || (op >= 4 && op <= 6);
        assert.deepEqual(r.resets, [], `${where}, opcode ${op}`);
        const ids = r.seen.map((s) => s.matchId).filter((id) => id !== 99);
        assert.deepEqual(ids, plausible ? [op, 77, 77] : [77], `${where}, opcode ${op}`);
      }
      for (const [q, ok] of [
        [{ id: 1, z: true }, false],
        [{ id: 2, qd: 0 }, true],
        [{ id: 3, qd: 1 }, true],
        [{ id: 4, qd: 2 }, false],
        [{ id: 5, qd: 256 }, false],
      ] as [Q, boolean][]) {
        const r = startWith(dns(q), split, after, resetFirst);
        const ids = r.seen.map((s) => s.matchId).filter((id) => id !== 99);
        assert.deepEqual(ids, ok ? [q.id, 77, 77] : [77], `${where}, ${JSON.stringify(q)}`);
      }
    }
  }
  // Once a message has parsed, the next is not checked: an undefined opcode is shown.
  const r = startWith(dns({ id: 1 }), 0, dns({ id: 2, opcode: 3, z: true }));
  assert.deepEqual(r.seen.map((s) => s.text), ['example.com A', 'OPCODE3 example.com A', 'OPCODE3 example.com A']);
});

test('TCP: timestamps are the first length byte\'s and the last byte\'s, to the nanosecond', () => {
  const a = dns({ id: 1 });
  const wire = tcp(a, a);
  const rec = new FullRecorder();
  const p = new DnsParser(conn(TCP), true, rec);
  p.feed(wire, 0, 1, 10, 100);
  p.feed(wire, 1, 20, 11, 110);
  p.feed(wire, 20, a.length + 3, 12, 120);
  p.feed(wire, a.length + 3, wire.length, 13, 130);
  assert.deepEqual(rec.seen.map((s) => [s.start, s.end]), [
    [[10, 100], [12, 120]],
    [[12, 120], [13, 130]],
  ]);
});

test('TCP skip(): past the message loses the framing, the next chunk starts a message; skip while lost reports nothing', () => {
  const a = dns({ id: 1, tail: Buffer.alloc(30) });
  const b = dns({ id: 2, type: 28 });
  const wire = tcp(a, b);
  const rec = new FullRecorder();
  const p = new DnsParser(conn(TCP), true, rec);
  p.feed(wire, 0, 40, 1, 1);
  // One byte more than the message has left.
  assert.equal(p.skip(a.length + 2 - 40 + 1, 2, 2), false);
  assert.deepEqual(rec.seen, [msg({ text: 'example.com A', matchId: 1, bytes: a.length + 2, start: [1, 1], end: [2, 2] })]);
  assert.deepEqual(rec.resets, [{ fromClient: true, reason: ResetReason.Gap }]);
  // Lost: another skip is refused quietly.
  assert.equal(p.skip(3, 3, 3), false);
  assert.equal(rec.resets.length, 1);
  p.feed(wire, a.length + 2, wire.length, 4, 4);
  assert.deepEqual(rec.seen.map((s) => s.text), ['example.com A', 'example.com AAAA']);
  // Between messages (expecting a length): a gap.
  assert.equal(p.skip(1, 5, 5), false);
  assert.deepEqual(rec.resets, [
    { fromClient: true, reason: ResetReason.Gap },
    { fromClient: true, reason: ResetReason.Gap },
  ]);
  assert.equal(rec.seen.length, 2, 'the message before the gap is not reported again');
  assert.equal(p.flushPartial(), false);
});

test('TCP: a message split after its header keeps only what fits the head; a skip inside the question shows it cut', () => {
  const big = dns({ id: 3, name: name('www.example.com'), type: 16, tail: Buffer.alloc(600, 0x41) });
  const wire = tcp(big);
  const rec = new FullRecorder();
  const p = new DnsParser(conn(TCP), true, rec);
  p.feed(wire, 0, 2 + 12 + 4, 1, 0); // header and "www" (with its length)
  assert.equal(p.skip(3, 1, 0), true);
  p.feed(wire, 2 + 12 + 4 + 3, 2 + 520, 2, 0);
  p.feed(wire, 2 + 520, wire.length, 3, 0);
  assert.deepEqual(rec.resets, []);
  assert.deepEqual(rec.seen, [msg({ text: 'www...', matchId: 3, bytes: big.length + 2, start: [1, 0], end: [3, 0] })]);
});

test('end() forgets a TCP message in progress', () => {
  const a = dns({ id: 1 });
  const wire = tcp(a);
  const rec = new FullRecorder();
  const p = new DnsParser(conn(TCP), true, rec);
  p.feed(wire, 0, 1, 1, 0);
  p.end();
  p.feed(wire, 0, wire.length, 3, 0);
  assert.deepEqual(rec.resets, []);
  assert.deepEqual(rec.seen, [msg({ text: 'example.com A', matchId: 1, bytes: a.length + 2, start: [3, 0], end: [3, 0] })]);
});

test('TCP: a skip right after the header (12 bytes in) shows the question as cut; before it, a gap', () => {
  // After a first message, so that the framing is trusted (a lost one at the start is not reported).
  const first = tcp(dns({ id: 1 }));
  const a = dns({ id: 0x3132, tail: Buffer.alloc(40) });
  const wire = Buffer.concat([first, tcp(a)]);
  for (const [got, ok] of [
    [12, true],
    [11, false],
  ] as [number, boolean][]) {
    const rec = new FullRecorder();
    const p = new DnsParser(conn(TCP), true, rec);
    p.feed(wire, 0, first.length + 2 + got, 1, 0);
    assert.equal(p.skip(a.length - got, 2, 0), ok, `${got} bytes in`);
    if (ok) {
      assert.deepEqual(rec.resets, []);
      assert.deepEqual(rec.seen.slice(1), [msg({ text: '...', matchId: 0x3132, bytes: a.length + 2, start: [1, 0], end: [2, 0] })]);
    } else {
      assert.deepEqual(rec.resets, [{ fromClient: true, reason: ResetReason.Gap }]);
      assert.equal(rec.seen.length, 1);
    }
  }
});

test('TCP: a question running off its message is malformed however the message is split (never read from an earlier one)', () => {
  const good = dns({ id: 1, name: name('a-much-longer-name.example.com'), type: 16 });
  const badName = dns({ id: 2, name: Buffer.from([5, 0x61, 0]) }); // the label runs into the type, the next off the end
  const after = dns({ id: 3 });
  const wire = tcp(good, badName, after);
  const from = good.length + 2;
  for (let at = from + 1; at < from + badName.length + 2; at++) {
    const rec = new FullRecorder();
    const p = new DnsParser(conn(TCP), true, rec);
    p.feed(wire, 0, at, 1, 0);
    p.feed(wire, at, wire.length, 2, 0);
    assert.deepEqual(rec.resets, [{ fromClient: true, reason: ResetReason.Malformed }], `split at ${at}`);
    assert.deepEqual(rec.seen.map((m) => m.matchId), [1, 3], `split at ${at}`);
  }
});

test('a question that ends with its type (no class) is whole; one byte of type is not', () => {
  const d = dns({ id: 4, type: 28 }).subarray(0, 12 + 13 + 2);
  assert.deepEqual(udpOne(true, d).seen, [msg({ text: 'example.com AAAA', matchId: 4, bytes: 27, start: [3, 456], end: [3, 456] })]);
  const r = udpOne(true, d.subarray(0, 26));
  assert.deepEqual(r.seen, []);
  assert.deepEqual(r.resets, [{ fromClient: true, reason: ResetReason.Malformed }]);
});

test('a name ending in the first byte of a pointer, at the end of its message, is malformed (the byte after is not read)', () => {
  // "\x05x" then a pointer back into that label, which then spans the pointer and the type: the name
  // goes on to offset 19, the message's last byte, the first half of a pointer.
  const body = Buffer.from([0x02, 0x05, 0x78, 0xc0, 0x0d, 0x00, 0x01, 0xc0]);
  const h = Buffer.alloc(12);
  h[2] = 0x01;
  h[5] = 1;
  const bad = Buffer.concat([h, body]); // id 0: a pointer to offset 0 would end the name there
  const next = dns({ id: 9 });
  const rec = new FullRecorder();
  const p = new DnsParser(conn(TCP), true, rec);
  const wire = Buffer.concat([tcp(dns({ id: 8 })), tcp(bad, next)]);
  p.feed(wire, 0, wire.length, 1, 0);
  assert.deepEqual(rec.resets, [{ fromClient: true, reason: ResetReason.Malformed }]);
  assert.deepEqual(rec.seen.map((m) => m.matchId), [8, 9]);
});

test('TCP: a gap right after a message that came in pieces is a gap; that message is not reported twice', () => {
  const a = dns({ id: 21 });
  const wire = tcp(a);
  const rec = new FullRecorder();
  const p = new DnsParser(conn(TCP), true, rec);
  p.feed(wire, 0, 20, 1, 0);
  p.feed(wire, 20, wire.length, 2, 0);
  assert.equal(p.skip(1, 3, 0), false);
  assert.deepEqual(rec.resets, [{ fromClient: true, reason: ResetReason.Gap }]);
  assert.deepEqual(rec.seen, [msg({ text: 'example.com A', matchId: 21, bytes: a.length + 2, start: [1, 0], end: [2, 0] })]);
});

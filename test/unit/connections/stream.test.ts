// connections/ in process: TcpStream's verdict on each kind of segment
// (in order, retransmitted, overlapping, ahead of a hole, across the 32-bit
// wrap), holding and releasing segments with their limits; address parsing
// and formatting (RFC 5952); a Connection's formatted endpoints and reset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_HELD_BYTES, MAX_HELD_SEGMENTS, SegmentVerdict, TcpStream, seqAfter } from '../../../src/connections/stream';
import { formatEndpoint, formatIp, parseIp } from '../../../src/connections/address';
import { Connection } from '../../../src/connections/connection';

const Deliver = SegmentVerdict.Deliver;
const Duplicate = SegmentVerdict.Duplicate;
const Ahead = SegmentVerdict.Ahead;

test('seqAfter is RFC 1982 on 32 bits: across the wrap, and never after itself', () => {
  assert.equal(seqAfter(1, 0), true);
  assert.equal(seqAfter(0, 1), false);
  assert.equal(seqAfter(5, 5), false);
  assert.equal(seqAfter(0, 0xffffffff), true);
  assert.equal(seqAfter(0xffffffff, 0), false);
  assert.equal(seqAfter(0x7fffffff, 0), true);
  assert.equal(seqAfter(0x80000000, 0), false);
});

test('a stream joined mid-connection starts at the first segment; a pure ACK first delivers nothing', () => {
  const s = new TcpStream();
  assert.equal(s.accept(1000, 10, false), Deliver);
  assert.deepEqual([s.synced, s.nextSeq, s.skip, s.isn], [true, 1010, 0, -1]);
  const t = new TcpStream();
  assert.equal(t.accept(500, 0, false), Duplicate);
  assert.deepEqual([t.synced, t.nextSeq], [true, 500]);
  const f = new TcpStream();
  assert.equal(f.accept(500, 0, true), Duplicate);
  assert.equal(f.nextSeq, 501);
});

test('after a SYN: in order, a retransmission, an overlap, a FIN, a pure ACK, a segment ahead', () => {
  const s = new TcpStream();
  s.syn(0xfffffffe);
  assert.deepEqual([s.isn, s.nextSeq, s.synced], [0xfffffffe, 0xffffffff, true]);
  assert.equal(s.accept(0xffffffff, 4, false), Deliver); // across the wrap
  assert.equal(s.nextSeq, 3);
  assert.equal(s.accept(0xffffffff, 4, false), Duplicate); // all old
  assert.equal(s.accept(1, 2, false), Duplicate); // the last two bytes again
  assert.equal(s.accept(1, 5, false), Deliver); // two old, three new
  assert.deepEqual([s.skip, s.nextSeq], [2, 6]);
  assert.equal(s.accept(2, 2, false), Duplicate); // old bytes that end before the next expected: nothing moves back
  assert.equal(s.nextSeq, 6);
  assert.equal(s.accept(6, 0, false), Duplicate); // a pure ACK
  assert.equal(s.skip, 0);
  assert.equal(s.nextSeq, 6);
  assert.equal(s.accept(10, 3, false), Ahead);
  assert.equal(s.nextSeq, 6);
  assert.equal(s.accept(10, 0, false), Duplicate); // a pure ACK past the hole
  assert.equal(s.accept(6, 0, true), Duplicate); // a bare FIN: nothing to deliver, one number used
  assert.equal(s.nextSeq, 7);
  assert.equal(s.accept(6, 0, true), Duplicate); // the FIN again
  assert.equal(s.nextSeq, 7);
  assert.equal(s.accept(5, 1, true), Duplicate); // old byte, old FIN
  assert.equal(s.nextSeq, 7);
  const u = new TcpStream();
  u.syn(99);
  assert.equal(u.accept(100, 4, false), Deliver);
  assert.equal(u.accept(100, 4, true), Duplicate); // the same bytes, now with a FIN: only the FIN is new
  assert.equal(u.nextSeq, 105);
  assert.equal(u.skip, 0);
  assert.equal(u.accept(104, 0, true), Duplicate);
  assert.equal(u.nextSeq, 105);
  const v = new TcpStream();
  v.syn(99);
  v.accept(100, 4, false);
  assert.equal(v.accept(103, 3, true), Deliver); // one old byte, two new, a FIN
  assert.deepEqual([v.skip, v.nextSeq], [1, 107]);
});

test('held segments come back in sequence order once the hole is filled, and the stream can skip a hole', () => {
  const s = new TcpStream();
  s.syn(0);
  const buf = Buffer.from('0123456789abcdefghij');
  assert.equal(s.hold(11, 3, buf, 10, 13, false, 5, 6), true);
  assert.equal(s.hold(5, 2, buf, 4, 6, true, 7, 8), true);
  assert.equal(s.hold(8, 1, buf, 7, 8, false, 9, 10), true);
  assert.deepEqual(s.held!.map((h) => h.seq), [5, 8, 11]);
  assert.equal(s.takeHeld(), null); // 1..4 not here yet
  assert.equal(s.skipHole(), 4);
  assert.equal(s.nextSeq, 5);
  const a = s.takeHeld()!;
  assert.deepEqual([a.seq, a.len, a.data.toString(), a.fin, a.tsSec, a.tsNsec], [5, 2, '45', true, 7, 8]);
  buf.fill(0x2e); // the held copy is a copy
  assert.equal(a.data.toString(), '45');
  assert.equal(s.accept(a.seq, a.len, a.fin), Deliver);
  assert.equal(s.nextSeq, 8);
  const b = s.takeHeld()!;
  assert.equal(b.seq, 8);
  assert.equal(s.accept(b.seq, b.len, b.fin), Deliver);
  assert.equal(s.takeHeld(), null); // 9, 10 missing
  s.accept(9, 3, false);
  assert.equal(s.nextSeq, 12);
  const c = s.takeHeld()!; // overlaps what came: taken all the same
  assert.equal(c.seq, 11);
  assert.equal(s.held, null);
  assert.equal(s.takeHeld(), null);
  assert.equal(s.skipTo(20), 8);
  assert.equal(s.nextSeq, 20);
  assert.equal(s.skipTo(0x100000005), -15); // taken modulo 2^32
  assert.equal(s.nextSeq, 5);
});

test('holding stops at the segment and byte limits; the counts start again after the hold empties', () => {
  const s = new TcpStream();
  s.syn(0);
  const one = Buffer.from('x');
  for (let i = 0; i < MAX_HELD_SEGMENTS; i++) assert.equal(s.hold(10 + i, 1, one, 0, 1, false, 0, 0), true, `segment ${i + 1}`);
  assert.equal(s.hold(200, 1, one, 0, 1, false, 0, 0), false);
  s.clearHeld();
  assert.equal(s.held, null);
  const big = Buffer.alloc(MAX_HELD_BYTES / 2);
  assert.equal(s.hold(10, big.length, big, 0, big.length, false, 0, 0), true);
  assert.equal(s.hold(10 + big.length, big.length, big, 0, big.length, false, 0, 0), true); // exactly the limit
  assert.equal(s.hold(20 + 2 * big.length, 1, one, 0, 1, false, 0, 0), false);
  // Taking the held segments out gives their bytes back.
  s.skipHole();
  assert.equal(s.takeHeld()!.seq, 10);
  s.accept(10, big.length, false);
  s.takeHeld();
  s.accept(10 + big.length, big.length, false);
  s.skipHole();
  s.takeHeld();
  assert.equal(s.held, null);
  assert.equal(s.hold(5_000_000, big.length, big, 0, big.length, false, 0, 0), true);
  assert.equal(s.hold(6_000_000, big.length, big, 0, big.length, false, 0, 0), true);
  s.syn(0); // a new SYN forgets the held segments and their bytes
  assert.equal(s.held, null);
  assert.equal(s.hold(10, big.length, big, 0, big.length, false, 0, 0), true);
  assert.equal(s.hold(20 + big.length, big.length, big, 0, big.length, false, 0, 0), true);
  s.reset();
  assert.deepEqual([s.nextSeq, s.synced, s.isn, s.skip, s.held], [0, false, -1, 0, null]);
  assert.equal(s.hold(10, big.length, big, 0, big.length, false, 0, 0), true);
  assert.equal(s.hold(20 + big.length, big.length, big, 0, big.length, false, 0, 0), true);
});

test('a held segment keeps only its captured bytes, and one partly taken leaves the byte count right', () => {
  const s = new TcpStream();
  s.syn(0);
  const half = Buffer.alloc(MAX_HELD_BYTES / 2 + 1);
  assert.equal(s.hold(100, half.length, half, 0, half.length, false, 0, 0), true);
  assert.equal(s.hold(50, 10, half, 0, 10, false, 0, 0), true);
  assert.equal(s.held!.length, 2);
  s.skipHole();
  assert.equal(s.takeHeld()!.seq, 50); // its 10 bytes given back
  assert.equal(s.hold(100 + half.length, MAX_HELD_BYTES / 2 - 1, half, 0, MAX_HELD_BYTES / 2 - 1, false, 0, 0), true);
  assert.equal(s.hold(200 + 2 * half.length, 1, half, 0, 1, false, 0, 0), false);
});

test('IPv6 addresses print per RFC 5952: the longest run of two or more zero groups is "::", the first of equals', () => {
  const w = (t: string) => parseIp(t)!.words;
  const fmt = (t: string) => formatIp(6, ...w(t));
  assert.equal(fmt('fd77:0:0:0:0:0:0:1'), 'fd77::1');
  assert.equal(fmt('0:0:0:0:0:0:0:0'), '::');
  assert.equal(fmt('0:0:0:0:0:0:0:1'), '::1');
  assert.equal(fmt('1:0:0:0:0:0:0:0'), '1::');
  assert.equal(fmt('1:0:1:1:1:1:1:1'), '1:0:1:1:1:1:1:1'); // one zero group stays
  assert.equal(fmt('1:0:0:1:0:0:0:1'), '1:0:0:1::1'); // the longer run
  assert.equal(fmt('1:0:0:1:1:0:0:1'), '1::1:1:0:0:1'); // the first of two equal runs
  assert.equal(fmt('2001:db8:abcd:12:ffff:1:ffff:fffe'), '2001:db8:abcd:12:ffff:1:ffff:fffe');
  assert.equal(formatEndpoint(6, ...w('fd77::2'), 54484), '[fd77::2]:54484');
  assert.equal(formatEndpoint(4, 0, 0, 0, 0xfffefdfc, 6379), '255.254.253.252:6379');
  assert.equal(formatIp(4, 0, 0, 0, 0x0a000001), '10.0.0.1');
  assert.equal(formatIp(4, 0, 0, 0, 0x01020304), '1.2.3.4');
});

test('parseIp: IPv4, IPv6 in every shorthand, brackets, an IPv4 tail; null for what is not an address', () => {
  assert.deepEqual(parseIp('10.0.0.1'), { family: 4, words: [0, 0, 0, 0x0a000001] });
  assert.deepEqual(parseIp('255.255.255.255'), { family: 4, words: [0, 0, 0, 0xffffffff] });
  assert.deepEqual(parseIp('1.2.3.4'), { family: 4, words: [0, 0, 0, 0x01020304] });
  assert.deepEqual(parseIp('fd77::1'), { family: 6, words: [0xfd770000, 0, 0, 1] });
  assert.deepEqual(parseIp('[fd77::1]'), { family: 6, words: [0xfd770000, 0, 0, 1] });
  assert.deepEqual(parseIp('::'), { family: 6, words: [0, 0, 0, 0] });
  assert.deepEqual(parseIp('::1'), { family: 6, words: [0, 0, 0, 1] });
  assert.deepEqual(parseIp('1::'), { family: 6, words: [0x00010000, 0, 0, 0] });
  assert.deepEqual(parseIp('1:2:3:4:5:6:7:8'), { family: 6, words: [0x00010002, 0x00030004, 0x00050006, 0x00070008] });
  assert.deepEqual(parseIp('1:2:3:4:5:6::8'), { family: 6, words: [0x00010002, 0x00030004, 0x00050006, 0x00000008] });
  assert.deepEqual(parseIp('ABCD:ef01::'), { family: 6, words: [0xabcdef01, 0, 0, 0] });
  assert.deepEqual(parseIp('::ffff:10.0.0.1'), { family: 6, words: [0, 0, 0xffff, 0x0a000001] });
  assert.deepEqual(parseIp('1:2:3:4:5:6:1.2.3.4'), { family: 6, words: [0x00010002, 0x00030004, 0x00050006, 0x01020304] });
  for (const bad of [
    '256.0.0.1', '1.2.3', '1.2.3.4.5', '1.2.3.4 ', 'a.b.c.d', '', ':', 'fd77', 'fd77:::1', '1::2::3', '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::8', '::1:2:3:4:5:6:7:8', '12345::1', 'fd77::g', '[fd77::1', 'fd77::1]',
    '::ffff:300.0.0.1', 'x::1', '1:2:3:4:5:6:7:1.2.3.4',
  ]) {
    assert.equal(parseIp(bad), null, bad);
  }
});

class Waiting {
  count = 0;
  released = 0;
  release(): void {
    this.released++;
    this.count = 0;
  }
}

function conn(): Connection<{ reset(): void }, Waiting> {
  const c = new Connection<{ reset(): void }, Waiting>(new Waiting());
  c.family = 4;
  c.c3 = 0x0a000002;
  c.cport = 54484;
  c.s3 = 0x0a000001;
  c.sport = 6379;
  return c;
}

test('a connection formats its endpoints once, as text, bytes and little-endian words', () => {
  const c = conn();
  assert.equal(c.reusable, true);
  assert.equal(c.client(), '10.0.0.2:54484');
  assert.equal(c.reusable, false);
  assert.equal(c.server(), '10.0.0.1:6379');
  assert.equal(c.endpoints(), '10.0.0.2:54484 => 10.0.0.1:6379');
  c.cport = 1; // formatted once: later changes do not show
  assert.equal(c.client(), '10.0.0.2:54484');
  assert.equal(c.endpoints(), '10.0.0.2:54484 => 10.0.0.1:6379');
  assert.equal(c.endpointsBytes(), c.endpointsBytes());
  assert.equal(c.endpointsBytes().toString(), '10.0.0.2:54484 => 10.0.0.1:6379');
  const words = c.endpointsWords();
  assert.equal(words, c.endpointsWords());
  assert.equal(words.length, 8); // 31 bytes, the last word zero-padded
  assert.deepEqual(Buffer.from(words.buffer), Buffer.concat([Buffer.from('10.0.0.2:54484 => 10.0.0.1:6379'), Buffer.alloc(1)]));
  const v6 = new Connection(new Waiting());
  v6.family = 6;
  v6.c0 = 0xfd770000;
  v6.c3 = 2;
  v6.cport = 1;
  v6.s0 = 0xfd770000;
  v6.s3 = 1;
  v6.sport = 53;
  assert.equal(v6.endpoints(), '[fd77::2]:1 => [fd77::1]:53');
  const w = v6.endpointsWords();
  assert.equal(w.length, 7); // 27 bytes
  assert.deepEqual(Buffer.from(w.buffer), Buffer.concat([Buffer.from('[fd77::2]:1 => [fd77::1]:53'), Buffer.alloc(1)]));
  const x = new Connection(new Waiting());
  Object.assign(x, { family: 6, c0: 0xfd770000, c3: 2, cport: 1, s0: 0xfd770000, s3: 1, sport: 535 });
  assert.deepEqual(Buffer.from(x.endpointsWords().buffer), Buffer.from('[fd77::2]:1 => [fd77::1]:535')); // 28 bytes, no padding
});

test('reusable: only while nothing was formatted, parsed or queued; reset() makes a connection as new', () => {
  let c = conn();
  c.server();
  assert.equal(c.reusable, false);
  c = conn();
  c.endpoints();
  assert.equal(c.reusable, false);
  c = conn();
  c.requestParser = { reset() {} };
  assert.equal(c.reusable, false);
  c = conn();
  c.responseParser = { reset() {} };
  assert.equal(c.reusable, false);
  c = conn();
  c.pending.count = 1;
  assert.equal(c.reusable, false);
  c = conn();
  c.endpointsWords();
  c.hash = 5;
  c.nextInBucket = c;
  c.lastSeen = 9;
  c.flowId = 3;
  c.lowIsClient = true;
  c.withoutData = true;
  c.olderWithoutData = c.newerWithoutData = c;
  c.clientClosed = c.serverClosed = true;
  c.toServer.syn(5);
  c.toClient.accept(9, 1, false);
  c.requestParser = c.responseParser = { reset() {} };
  c.replyMode = 2;
  c.subscribed = true;
  c.proto = 6;
  c.c0 = c.c1 = c.c2 = c.s0 = c.s1 = c.s2 = 1;
  c.reset();
  assert.deepEqual(
    [c.family, c.proto, c.c0, c.c1, c.c2, c.c3, c.cport, c.s0, c.s1, c.s2, c.s3, c.sport, c.hash, c.nextInBucket, c.lastSeen, c.flowId, c.lowIsClient],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, null, 0, 0, false],
  );
  assert.deepEqual([c.withoutData, c.olderWithoutData, c.newerWithoutData, c.clientClosed, c.serverClosed, c.requestParser, c.responseParser, c.replyMode, c.subscribed], [false, null, null, false, false, null, null, 0, false]);
  assert.deepEqual([c.toServer.synced, c.toServer.isn, c.toClient.synced, c.toClient.nextSeq, c.pending.released], [false, -1, false, 0, 1]);
  assert.equal(c.reusable, true);
  c.family = 4;
  c.c3 = 0x01010101;
  c.s3 = 0x02020202;
  assert.equal(c.endpoints(), '1.1.1.1:0 => 2.2.2.2:0');
  assert.equal(c.endpointsBytes().toString(), '1.1.1.1:0 => 2.2.2.2:0');
  assert.equal(Buffer.from(c.endpointsWords().buffer).subarray(0, 22).toString(), '1.1.1.1:0 => 2.2.2.2:0');
});

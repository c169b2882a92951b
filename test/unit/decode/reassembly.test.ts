// The Reassembler in process: a datagram put back together from fragments in
// any order, timed from its first fragment; retransmitted and overlapping
// fragments; every reason a fragment is given up on, with exact counters; and
// the limits (datagrams at once, bytes held, time waited).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeResult, Packet, decodePacket } from '../../../src/decode/packet';
import { MAX_BYTES, MAX_DATAGRAMS, MAX_WAIT_SEC, Reassembler } from '../../../src/decode/fragments';
import { udpPackets } from '../../helpers/pcap-writer';

const RAW = 101;

/** A UDP datagram 10.0.0.1:53 -> 10.0.0.2:40000 (or fd77::) of `size` payload bytes, as raw IP fragments of `frag` bytes. */
function fragments(size: number, frag: number, id = 0x1234, v6 = false): Buffer[] {
  const payload = Buffer.alloc(size);
  for (let i = 0; i < size; i++) payload[i] = i & 0xff;
  return v6 ? udpPackets('raw', 'fd77::1', 53, 'fd77::2', 40000, payload, frag, id) : udpPackets('raw', '10.0.0.1', 53, '10.0.0.2', 40000, payload, frag, id);
}

/** Decodes `frame` as fragment and hands it to `r` at time `sec`.`nsec`: the datagram's buffer when it completed one. */
function add(r: Reassembler, frame: Buffer, sec = 100, nsec = 0, capLen = frame.length, p = new Packet()): { whole: Buffer | null; p: Packet } {
  p.tsSec = sec;
  p.tsNsec = nsec;
  assert.equal(decodePacket(frame, 0, capLen, RAW, p), DecodeResult.Fragment);
  return { whole: r.add(p, frame), p };
}

function counters(r: Reassembler): number[] {
  return [r.counters.fragments, r.counters.reassembled, r.counters.dropped];
}

test('three fragments in any order make one datagram, timed from the fragment at offset 0, decoded as UDP', () => {
  for (const v6 of [false, true]) {
    for (const order of [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1]]) {
      const f = fragments(100, 40, 7, v6);
      assert.equal(f.length, 3);
      const r = new Reassembler();
      let done: { whole: Buffer | null; p: Packet } | null = null;
      order.forEach((i, k) => {
        const got = add(r, f[i], 100 + k, 1000 * (i + 1));
        if (k < 2) assert.equal(got.whole, null, `${order} ${k}`);
        else done = got;
      });
      const { whole, p } = done!;
      assert.ok(whole !== null, `${order}`);
      assert.equal(whole.length, 108);
      assert.deepEqual([p.sport, p.dport, p.proto, p.payloadOff, p.payloadLen, p.payloadCap], [53, 40000, 17, 8, 100, 100]);
      assert.deepEqual([...whole.subarray(8, 108)], Array.from({ length: 100 }, (_, i) => i));
      assert.deepEqual([p.tsSec, p.tsNsec], [100 + order.indexOf(0), 1000], `${order}`);
      assert.deepEqual(counters(r), [3, 1, 0]);
    }
  }
});

test('a retransmitted fragment adds nothing; overlapping ones are trimmed when put together', () => {
  const f = fragments(100, 40);
  const r = new Reassembler();
  add(r, f[0]);
  assert.equal(add(r, f[0]).whole, null);
  add(r, f[1]);
  const { whole } = add(r, f[2]);
  assert.ok(whole);
  assert.deepEqual(counters(r), [4, 1, 0]);
  // Pieces 0-47 and 40-87 (overlapping), and 88-107: the same datagram.
  const big = fragments(100, 48);
  const mid = fragments(100, 40);
  const s = new Reassembler();
  add(s, big[0]); // 0..48
  add(s, mid[1]); // 40..80
  const last = Buffer.from(mid[2]); // 80..108
  const done = add(s, last).whole;
  assert.ok(done);
  assert.deepEqual([...done.subarray(8)], Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual(counters(s), [3, 1, 0]);
});

test('a fragment at the offset of one held, but longer, is kept: the datagram completes with it', () => {
  const short = fragments(100, 40); // 0..40, 40..80, 80..108
  const long = fragments(100, 80); // 0..80, 80..108
  const r = new Reassembler();
  add(r, short[0]);
  add(r, long[0]);
  const { whole } = add(r, long[1]);
  assert.ok(whole);
  assert.deepEqual([...whole.subarray(8)], Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual(counters(r), [3, 1, 0]);
});

test('a hole that the byte count hides (overlaps) waits for the missing bytes', () => {
  const a = fragments(100, 16); // 0,16,32,48,64,80,96 (7 pieces)
  const b = fragments(100, 32); // 0,32,64,96
  const r = new Reassembler();
  add(r, b[0]); // 0..32
  add(r, a[1]); // 16..32 again (overlap): bytes counted twice
  add(r, b[3]); // 96..108, last
  add(r, b[2]); // 64..96: 32+16+12+32 = 92 < 108
  add(r, a[4]); // 64..80 again: 108 counted, but 32..64 is missing
  assert.deepEqual(counters(r), [5, 0, 0]);
  const { whole } = add(r, b[1]); // 32..64
  assert.ok(whole);
  assert.deepEqual(counters(r), [6, 1, 0]);
});

test('given up on: cut by snaplen, a middle fragment not a multiple of 8, one past 65,535, an inconsistent end', () => {
  const f = fragments(100, 40);
  let r = new Reassembler();
  assert.equal(add(r, f[1], 100, 0, f[1].length - 1).whole, null);
  assert.deepEqual(counters(r), [1, 0, 1]);
  // A fragment with more to come whose length is not a multiple of 8.
  const odd = Buffer.from(f[0]);
  odd.writeUInt16BE(odd.readUInt16BE(2) - 1, 2);
  r = new Reassembler();
  assert.equal(add(r, odd.subarray(0, odd.length - 1)).whole, null);
  assert.deepEqual(counters(r), [1, 0, 1]);
  // The last fragment may be any length.
  r = new Reassembler();
  add(r, f[0]);
  add(r, f[1]);
  assert.ok(add(r, f[2]).whole);
  // Ending past 65,535.
  const far = Buffer.from(f[2]);
  far.writeUInt16BE(8184, 6); // offset 65,472 (+28 bytes of data = 65,500: allowed)
  r = new Reassembler();
  assert.equal(add(r, far).whole, null);
  assert.deepEqual(counters(r), [1, 0, 0]);
  const tooFar = Buffer.from(f[1]);
  tooFar.writeUInt16BE(0x2000 | 8188, 6); // 65,504 + 40 > 65,535
  r = new Reassembler();
  assert.equal(add(r, tooFar).whole, null);
  assert.deepEqual(counters(r), [1, 0, 1]);
  const exact = Buffer.concat([f[2].subarray(0, 20), Buffer.alloc(31)]);
  exact.writeUInt16BE(51, 2);
  exact.writeUInt16BE(8188, 6); // 65,504 + 31 = 65,535 exactly
  r = new Reassembler();
  add(r, exact);
  assert.deepEqual(counters(r), [1, 0, 0]);
});

test('given up on: two last fragments that disagree, a piece past the known end, a last fragment before a piece already held', () => {
  const f = fragments(100, 40); // 0..40, 40..80, 80..108
  let r = new Reassembler();
  add(r, f[2]);
  const shorter = Buffer.concat([f[2].subarray(0, 20), f[2].subarray(20, 40)]);
  shorter.writeUInt16BE(40, 2); // a last fragment ending at 100
  assert.equal(add(r, shorter).whole, null);
  assert.deepEqual(counters(r), [2, 0, 1]);
  // The other way round: a last fragment ending at 100, then one ending at 108.
  const rev = new Reassembler();
  add(rev, shorter);
  assert.equal(add(rev, f[2]).whole, null);
  assert.deepEqual(counters(rev), [2, 0, 1]);
  // The first was forgotten with it: the rest cannot complete it now.
  add(r, f[0]);
  add(r, f[1]);
  assert.deepEqual(counters(r), [4, 0, 1]);
  assert.ok(add(r, f[2]).whole); // a fresh last fragment completes it
  assert.deepEqual(counters(r), [5, 1, 1]);
  // The same last fragment twice is no disagreement.
  r = new Reassembler();
  add(r, f[2]);
  add(r, f[2]);
  add(r, f[0]);
  assert.ok(add(r, f[1]).whole);
  assert.deepEqual(counters(r), [4, 1, 0]);
  // A middle piece beyond the end a last fragment set.
  r = new Reassembler();
  const early = Buffer.concat([f[1].subarray(0, 20), f[1].subarray(20, 44)]);
  early.writeUInt16BE(44, 2);
  early.writeUInt16BE(5, 6); // offset 40, last: ends at 64
  add(r, early);
  assert.equal(add(r, f[1]).whole, null); // 40..80 with more to come: past 64
  assert.deepEqual(counters(r), [2, 0, 1]);
  // A middle piece ending exactly at the known end is fine.
  const g = fragments(96, 40); // 0..40, 40..80, 80..104 (last)
  const mid = Buffer.from(g[1]);
  mid.writeUInt16BE(0x2000 | 8, 6); // 64..104, more to come
  r = new Reassembler();
  add(r, g[2]);
  add(r, mid);
  assert.deepEqual(counters(r), [2, 0, 0]);
  add(r, g[1]);
  assert.ok(add(r, g[0]).whole);
  assert.deepEqual(counters(r), [4, 1, 0]);
  // A last fragment ending before a piece already held.
  r = new Reassembler();
  add(r, f[1]); // 40..80
  assert.equal(add(r, early).whole, null); // says the datagram ends at 64
  assert.deepEqual(counters(r), [2, 0, 1]);
  r = new Reassembler();
  add(r, f[1]);
  const at80 = Buffer.concat([f[1].subarray(0, 20)]);
  at80.writeUInt16BE(20, 2);
  at80.writeUInt16BE(10, 6); // an empty last fragment at 80: ends where the piece does
  assert.equal(add(r, at80).whole, null);
  assert.deepEqual(counters(r), [2, 0, 0]);
});

test('a datagram whose transport header is broken is put together, counted, and not returned', () => {
  const f = fragments(100, 40);
  const r = new Reassembler();
  const first = Buffer.from(f[0]);
  first[9] = 1; // ICMP
  const p = new Packet();
  add(r, first, 100, 0, first.length, p);
  const second = Buffer.from(f[1]);
  second[9] = 1;
  add(r, second, 100, 0, second.length, p);
  const third = Buffer.from(f[2]);
  third[9] = 1;
  assert.equal(add(r, third, 100, 0, third.length, p).whole, null);
  assert.deepEqual(counters(r), [3, 1, 0]);
});

test('fragments of different datagrams (id, addresses, family) are kept apart', () => {
  const a = fragments(100, 40, 1);
  const b = fragments(100, 40, 2);
  const c = fragments(100, 40, 1, true);
  const r = new Reassembler();
  add(r, a[0]);
  add(r, b[1]);
  add(r, c[2]);
  add(r, a[1]);
  add(r, b[2]);
  add(r, c[0]);
  assert.deepEqual(counters(r), [6, 0, 0]);
  assert.ok(add(r, a[2]).whole);
  assert.ok(add(r, b[0]).whole);
  assert.ok(add(r, c[1]).whole);
  assert.deepEqual(counters(r), [9, 3, 0]);
  // The same id between other addresses.
  const d = udpPackets('raw', '10.0.0.1', 53, '10.0.0.3', 40000, Buffer.alloc(100), 40, 1);
  const e = udpPackets('raw', '10.0.0.4', 53, '10.0.0.2', 40000, Buffer.alloc(100), 40, 1);
  add(r, a[0]);
  add(r, a[1]);
  add(r, d[2]);
  add(r, e[2]);
  assert.deepEqual(counters(r), [13, 3, 0]);
});

test('after MAX_WAIT_SEC a datagram is given up on, each held fragment counted; before, it is kept', () => {
  assert.equal(MAX_WAIT_SEC, 30);
  const f = fragments(100, 40);
  const r = new Reassembler();
  add(r, f[0], 100);
  add(r, f[1], 110);
  r.sweep(129);
  assert.deepEqual(counters(r), [2, 0, 0]);
  r.sweep(130);
  assert.deepEqual(counters(r), [2, 0, 2]);
  assert.equal(add(r, f[2], 131).whole, null); // the rest is gone
  r.sweep(131);
  assert.deepEqual(counters(r), [3, 0, 2]);
  r.sweep(161);
  assert.deepEqual(counters(r), [3, 0, 3]);
  r.sweep(1000);
  assert.deepEqual(counters(r), [3, 0, 3]);
});

test(`at ${MAX_DATAGRAMS} datagrams in progress the oldest is given up on for a new one`, () => {
  assert.equal(MAX_DATAGRAMS, 1024);
  const r = new Reassembler();
  const firsts: Buffer[][] = [];
  for (let id = 0; id <= MAX_DATAGRAMS; id++) {
    const f = fragments(100, 40, id);
    firsts.push(f);
    add(r, f[0]);
    add(r, f[1]);
  }
  // Datagram 0 (two fragments) went when datagram 1024 came.
  assert.deepEqual(counters(r), [2 * (MAX_DATAGRAMS + 1), 0, 2]);
  assert.equal(add(r, firsts[0][2]).whole, null);
  assert.ok(add(r, firsts[2][2]).whole);
  assert.ok(add(r, firsts[MAX_DATAGRAMS][2]).whole);
  assert.deepEqual(counters(r), [2 * (MAX_DATAGRAMS + 1) + 3, 2, 4]); // 0's last evicted 1 (two fragments)
});

test(`at ${MAX_BYTES} bytes held a new fragment is given up on with its datagram; bytes come back when datagrams complete or go`, () => {
  assert.equal(MAX_BYTES, 8 << 20);
  const r = new Reassembler();
  // The first 32,000-byte half of 262 datagrams: 8,384,000 bytes held.
  const per = 32_000;
  const n = Math.floor(MAX_BYTES / per);
  const firstPieces: Buffer[] = [];
  for (let id = 0; id < n; id++) {
    const f = fragments(2 * per - 8, per, id);
    firstPieces.push(f[1]);
    add(r, f[0]);
  }
  assert.deepEqual(counters(r), [n, 0, 0]);
  const room = MAX_BYTES - n * per; // 4,608 bytes left
  const fits = fragments(2 * room - 8, room, 9999); // a first piece of exactly `room` bytes
  add(r, fits[0]);
  assert.deepEqual(counters(r), [n + 1, 0, 0]);
  const over = fragments(100, 40, 5000);
  assert.equal(add(r, over[0]).whole, null);
  assert.deepEqual(counters(r), [n + 2, 0, 1]);
  // Completing datagram 0 frees its bytes (and those of its second piece): the new one fits now.
  const done = add(r, firstPieces[0]);
  assert.equal(done.whole, null); // over the limit: given up on, with datagram 0
  assert.deepEqual(counters(r), [n + 3, 0, 2]);
  add(r, over[0]);
  assert.deepEqual(counters(r), [n + 4, 0, 2]);
  add(r, over[1]);
  assert.ok(add(r, over[2]).whole);
  assert.deepEqual(counters(r), [n + 6, 1, 2]);
  // A retransmitted fragment takes no more room: 40 bytes left, one of 40 held twice, another of 40 still fits.
  const half = fragments(2 * 1000 - 8, 1000, 7777); // 1,000 of the 4,608 freed above
  add(r, half[0]);
  const rest = MAX_BYTES - (n - 1) * per - room - 1000 - 80; // what is free now, but 80 bytes
  const filler = fragments(2 * rest - 8, rest, 7778);
  add(r, filler[0]);
  const a = fragments(88, 40, 7779);
  add(r, a[0]);
  add(r, a[0]); // the same again: adds nothing
  const b = fragments(88, 40, 7780);
  add(r, b[0]); // fits exactly
  assert.deepEqual(counters(r), [n + 11, 1, 2]);
  add(r, fragments(88, 40, 7781)[0]); // now it is full
  assert.deepEqual(counters(r), [n + 12, 1, 3]);
  r.sweep(100 + MAX_WAIT_SEC);
  // Datagrams 1..n-1, 9999, 7777, 7778, 7779 (its copy was not kept) and 7780: one piece each.
  assert.deepEqual(counters(r), [n + 12, 1, 3 + n + 4]);
  const again = fragments(2 * per - 8, per, 1);
  add(r, again[0]);
  add(r, again[1]);
  assert.deepEqual(counters(r), [n + 14, 2, 3 + n + 4]);
});

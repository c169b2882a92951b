// Captures never crash tcpkit: files cut short (through the fast classic
// pcap reader and through libpcap, for pcap and pcapng), files damaged
// partway, zero-length and oversized packets, packets cut by a snaplen,
// garbage among real traffic. What is whole is reported, then one line says
// what was wrong with the file. A few random damaged files go through the
// command line too (the bulk of the fuzzing runs in process: test/unit/fuzz).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Conversation, pcapBytes, pcapngBytes, tcpPacket, type Frame } from '../helpers/pcap-writer';
import { parseLines, parseSummary, tcpkit } from '../helpers/run';
import { BYTE_MUTATIONS, FRAME_MUTATIONS, LINKS, MODES, PORT, captureBytes, type Seed } from '../fuzz/captures';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-damaged-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
function save(bytes: Buffer, ext = 'pcap'): string {
  const f = path.join(dir, `c${n++}.${ext}`);
  fs.writeFileSync(f, bytes);
  return f;
}

const T0 = 1_580_000_000_000_000; // 2020-01-26 00:53:20 UTC
const PING = '*1\r\n$4\r\nPING\r\n';

/** Three PINGs on one connection, 100 µs to each PONG. */
function threePings(): Frame[] {
  const c = new Conversation('ethernet', '10.0.0.2', 40000, '10.0.0.1', 6379).handshake(T0);
  for (let i = 0; i < 3; i++) c.request(T0 + 1000 * (i + 1), PING).response(T0 + 1000 * (i + 1) + 100, '+PONG\r\n');
  return c.close(T0 + 5000).frames;
}

/** The classic pcap file as big-endian: libpcap reads it (the fast reader takes native order only). */
function bigEndian(le: Buffer): Buffer {
  const b = Buffer.from(le);
  const swap32 = (o: number) => b.writeUInt32BE(le.readUInt32LE(o), o);
  swap32(0);
  b.writeUInt16BE(le.readUInt16LE(4), 4);
  b.writeUInt16BE(le.readUInt16LE(6), 6);
  for (const o of [8, 12, 16, 20]) swap32(o);
  for (let off = 24; off + 16 <= le.length; ) {
    const cap = le.readUInt32LE(off + 8);
    for (let k = 0; k < 16; k += 4) swap32(off + k);
    off += 16 + cap;
  }
  return b;
}

/** Where each packet record starts in a pcap or pcapng file, and where the file ends. */
function recordOffsets(file: Buffer, format: 'pcap' | 'pcapng'): number[] {
  const at: number[] = [];
  if (format === 'pcap') {
    for (let off = 24; off < file.length; off += 16 + file.readUInt32LE(off + 8)) at.push(off);
  } else {
    for (let off = 0; off < file.length; off += file.readUInt32LE(off + 4)) if (file.readUInt32LE(off) === 6) at.push(off);
  }
  return at;
}

const PONG_AT = (i: number) => `2020-01-26 00:53:20.00${i + 1}100 10.0.0.2:40000 => 10.0.0.1:6379 | 0.100 ms | PING`;

for (const [format, reader] of [['pcap', 'the fast reader'], ['pcap-be', 'libpcap'], ['pcapng', 'libpcap']] as const) {
  test(`${format} cut short (${reader}): the whole exchanges are reported, then one line names the cut, exit 1`, () => {
    const le = pcapBytes('ethernet', threePings());
    const whole = format === 'pcap' ? le : format === 'pcap-be' ? bigEndian(le) : pcapngBytes('ethernet', threePings());
    const recs = recordOffsets(format === 'pcapng' ? whole : le, format === 'pcapng' ? 'pcapng' : 'pcap');
    // Packets: SYN, SYN-ACK, ACK, then PING, PONG three times (3..8), then FIN, FIN, ACK.
    const secondPong = recs[6];
    for (const [cut, what] of [
      [secondPong + 5, 'header'],
      [secondPong + (format === 'pcapng' ? 40 : 20), 'data'],
    ] as const) {
      const file = save(whole.subarray(0, cut), format === 'pcapng' ? 'pcapng' : 'pcap');
      const r = tcpkit(['-r', file, '-p', '6379', '-m', 'redis']);
      assert.equal(r.code, 1, r.stderr);
      // The first PING paired; the second's PONG was cut: given up on at the end of the input.
      assert.deepEqual(r.stdout.split('\n'), [PONG_AT(0), '2020-01-26 00:53:20.002000 10.0.0.2:40000 => 10.0.0.1:6379 | in flight | PING', '']);
      const last = r.stderr.trimEnd().split('\n').pop();
      const expected =
        format === 'pcapng'
          ? what === 'header'
            ? 'truncated pcapng dump file; tried to read 8 bytes, only got 5'
            : `truncated pcapng dump file; tried to read ${whole.readUInt32LE(secondPong + 4) - 8} bytes, only got 32`
          : what === 'header'
            ? 'truncated dump file; tried to read 16 header bytes, only got 5'
            : `truncated dump file; tried to read ${le.readUInt32LE(secondPong + 8)} captured bytes, only got 4`;
      assert.equal(last, `tcpkit: ${file}: the file is cut short (${expected}); reported what was whole`);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
}

test('a record claiming more than 256 KiB in the middle: the packets before it, then "damaged", exit 1 (pcap and pcapng)', () => {
  for (const format of ['pcap', 'pcapng'] as const) {
    const whole = format === 'pcap' ? pcapBytes('ethernet', threePings()) : pcapngBytes('ethernet', threePings());
    const b = Buffer.from(whole);
    const rec = recordOffsets(b, format)[6];
    b.writeUInt32LE(300_000, rec + (format === 'pcap' ? 8 : 20));
    const file = save(b, format);
    const r = tcpkit(['-r', file, '-p', '6379', '-m', 'redis']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(parseLines(r.stdout).length, 2);
    assert.equal(
      r.stderr.trimEnd().split('\n').pop(),
      `tcpkit: ${file}: the file is damaged after packet 6 (invalid packet capture length 300000, bigger than snaplen of 262144); reported the packets before it`,
    );
  }
});

/** A TCP segment larger than IP can say (GRO/TSO): IPv4 total length 0, the capture says how long. */
function offloaded(payload: number): Buffer {
  const p = tcpPacket('ethernet', '10.0.0.9', 1, '10.0.0.1', 6379, 0, 0, 0x18, Buffer.alloc(60_000, 0x2a));
  const b = Buffer.concat([p, Buffer.alloc(payload - 60_000, 0x2a)]);
  b.writeUInt16BE(0, 14 + 2);
  return b;
}

test('zero-length, oversized, snaplen-cut and garbage packets among real ones: counted, the real exchanges reported, exit 0', () => {
  const frames = threePings();
  const ping = frames[3];
  const junk: Frame[] = [
    { tsUs: T0 + 10, data: Buffer.alloc(0) }, // nothing captured, nothing on the wire
    { tsUs: T0 + 11, data: Buffer.alloc(1500), capLen: 0 }, // nothing captured of 1500 bytes
    { tsUs: T0 + 12, data: ping.data, capLen: 30 }, // cut inside the IP header
    { tsUs: T0 + 13, data: ping.data, capLen: 40 }, // cut inside the TCP header
    { tsUs: T0 + 14, data: Buffer.from('garbage, not a frame at all') },
    { tsUs: T0 + 15, data: Buffer.concat([Buffer.alloc(12), Buffer.from([0x08, 0x06]), Buffer.alloc(28)]) }, // ARP
    { tsUs: T0 + 16, data: offloaded(70_000) }, // 70 KB in one frame, as segmentation offload leaves them
  ];
  const b = pcapBytes('ethernet', [...frames, ...junk]);
  const r = tcpkit(['-r', save(b), '-p', '6379', '-m', 'redis']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.split('\n'), [PONG_AT(0), PONG_AT(1), PONG_AT(2), '']);
  // The 70 KB segment is decoded (a connection of its own) and waits for a line end that never comes: no reset, no line.
  assert.match(r.stderr, /^6 packets not decoded \(2 not IP, 4 cut short or malformed\)$/m);
  assert.match(r.stderr, /; 2 connections\n/);
  assert.equal(parseSummary(r.stderr).answered, 3);
});

test('a record longer than the file\'s snaplen (under 256 KiB) is cut to the snaplen, as libpcap does: exit 0', () => {
  const frames = threePings();
  const b = pcapBytes('ethernet', frames);
  // The file's snaplen: 128, more than any of the conversation's packets; a
  // 200-byte one (not IP) is added, recorded whole against the snaplen.
  b.writeUInt32LE(128, 16);
  const big = pcapBytes('ethernet', [{ tsUs: T0 + 1, data: Buffer.alloc(200, 0x55) }]).subarray(24);
  const file = save(Buffer.concat([b.subarray(0, 24), big, b.subarray(24)]));
  const r = tcpkit(['-r', file, '-p', '6379', '-m', 'redis']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(parseLines(r.stdout).length, 3);
  assert.match(r.stderr, /^1 packet not decoded \(1 not IP\)$/m);
});

test('link types tcpkit does not decode: one line says so up front, the packets are counted, exit 0', () => {
  for (const [link, name] of [[189, ' (USB_LINUX)'], [147, '']] as const) {
    const b = pcapBytes('ethernet', threePings());
    b.writeUInt32LE(link, 20);
    const file = save(b);
    const r = tcpkit(['-r', file, '-p', '6379', '-m', 'redis']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.split('\n');
    assert.equal(lines[0], `tcpkit: ${file}: link type ${link}${name} is not one tcpkit decodes (Ethernet, 802.1Q, Linux cooked v1/v2, raw IP, BSD loopback); its packets are counted, not decoded`);
    assert.ok(lines.includes('12 packets not decoded (12 of a link type tcpkit does not decode)'), r.stderr);
  }
});

test('random damaged captures through the command line: exit 0 or 1, one line for what was wrong, never a stack trace', { timeout: 120_000 }, () => {
  const seedArb: fc.Arbitrary<Seed> = fc.record({
    mode: fc.constantFrom(...MODES),
    link: fc.constantFrom(...LINKS),
    v6: fc.boolean(),
    picks: fc.array(fc.nat(64), { minLength: 1, maxLength: 6 }),
    mss: fc.constantFrom(1, 7, 536, 65000),
    pipelined: fc.boolean(),
  });
  const frameMutation = fc.record({ kind: fc.constantFrom(...FRAME_MUTATIONS), frame: fc.nat(), at: fc.nat(), value: fc.nat() });
  const byteMutation = fc.record({ kind: fc.constantFrom(...BYTE_MUTATIONS), at: fc.nat(), value: fc.nat() });
  fc.assert(
    fc.property(
      seedArb,
      fc.array(frameMutation, { maxLength: 8 }),
      fc.array(byteMutation, { maxLength: 4 }),
      fc.constantFrom('pcap' as const, 'pcapng' as const),
      (seed, frames, bytes, format) => {
        const file = save(captureBytes(seed, frames, bytes, format), format);
        const r = tcpkit(['-r', file, '-p', String(PORT[seed.mode]), '-m', seed.mode], { timeoutMs: 30_000 });
        assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
        if (seed.mode !== 'raw') parseLines(r.stdout);
        if (r.code === 1) {
          assert.match(
            r.stderr.trimEnd().split('\n').pop()!,
            /^tcpkit: \S+: (the file is cut short \(.*\); reported what was whole|the file is damaged after packet \d+ \(.*\); reported the packets before it|not a capture libpcap can read \(.*\)|is empty, not a capture file)$/,
          );
        }
        fs.rmSync(file);
      },
    ),
    { numRuns: 24 },
  );
});

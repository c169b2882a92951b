// decodePacket() field by field, in process: every link type, IPv4 and IPv6
// headers and their options, truncation at each boundary, fragments, tunnels
// and their limits, and what the summary says of packets not decoded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DECODE_RESULTS, DecodeResult, Packet, decodePacket, decodeTransport, notDecodedText } from '../../../src/decode/packet';
import { SAMPLE_HDR_LEN, SampleField, sampleAddresses } from '../../../src/decode/sample';
import { tcpPacket, udpPacket, type Link } from '../../helpers/pcap-writer';

const LINK: Record<Link, number> = { ethernet: 1, vlan: 1, sll: 113, sll2: 276, raw: 101, null: 0 };
const PAYLOAD = Buffer.from('PING\r\n');
/** Where the record starts in the batch buffer: never 0, so an offset forgotten shows. */
const AT = 7;

function inBatch(frame: Buffer): Buffer {
  return Buffer.concat([Buffer.alloc(AT, 0xee), frame, Buffer.alloc(5, 0xee)]);
}

function decodeAt(frame: Buffer, linkType: number, capLen = frame.length, p = new Packet()): { res: DecodeResult; p: Packet; buf: Buffer } {
  const buf = inBatch(frame);
  return { res: decodePacket(buf, AT, capLen, linkType, p), p, buf };
}

/** The fields a TCP or UDP packet decodes to, addresses as unsigned words. */
function fields(p: Packet): number[] {
  return [p.family, p.proto, p.s0 >>> 0, p.s1 >>> 0, p.s2 >>> 0, p.s3 >>> 0, p.d0 >>> 0, p.d1 >>> 0, p.d2 >>> 0, p.d3 >>> 0, p.sport, p.dport, p.seq >>> 0, p.ack >>> 0, p.flags];
}

/** A Packet whose every field is set, so a field the decoder forgets to write shows. */
function dirty(): Packet {
  const p = new Packet();
  p.s0 = p.s1 = p.s2 = p.s3 = p.d0 = p.d1 = p.d2 = p.d3 = 0x5a5a5a5a;
  p.seq = p.ack = 77;
  p.flags = 0x3f;
  p.sport = p.dport = 1;
  return p;
}

const V4 = [4, 6, 0, 0, 0, 0x0a000002, 0, 0, 0, 0x0a000001, 40000, 6379, 0x01020304, 0xfffffff0, 0x18];
const V6 = [6, 6, 0xfd770000, 0, 0x00010002, 0x00030004, 0xfd770000, 0, 0x00050006, 0x00070008, 40000, 6379, 0x01020304, 0xfffffff0, 0x18];

test('every link type: a TCP packet over IPv4 and IPv6 decodes to its exact fields, payload at its offset', () => {
  for (const link of ['ethernet', 'vlan', 'sll', 'sll2', 'raw', 'null'] as Link[]) {
    for (const v6 of [false, true]) {
      const frame = v6
        ? tcpPacket(link, 'fd77::1:2:3:4', 40000, 'fd77::5:6:7:8', 6379, 0x01020304, 0xfffffff0, 0x18, PAYLOAD)
        : tcpPacket(link, '10.0.0.2', 40000, '10.0.0.1', 6379, 0x01020304, 0xfffffff0, 0x18, PAYLOAD);
      const { res, p, buf } = decodeAt(frame, LINK[link], frame.length, dirty());
      const name = `${link} v${v6 ? 6 : 4}`;
      assert.equal(res, DecodeResult.Ok, name);
      assert.deepEqual(fields(p), v6 ? V6 : V4, name);
      assert.equal(p.payloadOff, AT + frame.length - PAYLOAD.length, name);
      assert.deepEqual([p.payloadLen, p.payloadCap], [6, 6], name);
      assert.equal(buf.subarray(p.payloadOff, p.payloadOff + p.payloadCap).toString(), 'PING\r\n', name);
    }
  }
});

test('the other raw and loopback link types: LINKTYPE_IPV4/IPV6, DLT_RAW 12, LOOP in network order, the BSD IPv6 families', () => {
  const v4 = tcpPacket('raw', '10.0.0.2', 40000, '10.0.0.1', 6379, 0x01020304, 0xfffffff0, 0x18, PAYLOAD);
  const v6 = tcpPacket('raw', 'fd77::1:2:3:4', 40000, 'fd77::5:6:7:8', 6379, 0x01020304, 0xfffffff0, 0x18, PAYLOAD);
  for (const link of [12, 101, 228, 229]) {
    assert.deepEqual(fields(decodeAt(v4, link).p), V4, `link ${link}`);
    assert.deepEqual(fields(decodeAt(v6, link).p), V6, `link ${link}`);
  }
  for (const [hdr, ip, want] of [
    [[0, 0, 0, 2], v4, V4], // LOOP: network order
    [[2, 0, 0, 0], v4, V4], // NULL: little-endian writer
    [[24, 0, 0, 0], v6, V6],
    [[28, 0, 0, 0], v6, V6],
    [[0, 0, 0, 30], v6, V6],
  ] as [number[], Buffer, number[]][]) {
    for (const link of [0, 108]) {
      const { res, p } = decodeAt(Buffer.concat([Buffer.from(hdr), ip]), link);
      assert.equal(res, DecodeResult.Ok, `${hdr} ${link}`);
      assert.deepEqual(fields(p), want, `${hdr} ${link}`);
    }
  }
  // A family that is neither, and a raw packet whose version is neither 4 nor 6.
  assert.equal(decodeAt(Buffer.concat([Buffer.from([23, 0, 0, 0]), v4]), 0).res, DecodeResult.NotIp);
  const v5 = Buffer.from(v4);
  v5[0] = 0x55;
  assert.equal(decodeAt(v5, 101).res, DecodeResult.NotIp);
  assert.equal(decodeAt(v4, 147).res, DecodeResult.UnknownLink);
  assert.equal(decodeAt(v4, 2).res, DecodeResult.UnknownLink);
});

test('every capture length shorter than the headers is Truncated; from there on the payload is what was captured', () => {
  for (const link of ['ethernet', 'vlan', 'sll', 'sll2', 'raw', 'null'] as Link[]) {
    for (const v6 of [false, true]) {
      const frame = v6
        ? tcpPacket(link, 'fd77::1:2:3:4', 40000, 'fd77::5:6:7:8', 6379, 1, 2, 0x18, PAYLOAD)
        : tcpPacket(link, '10.0.0.2', 40000, '10.0.0.1', 6379, 1, 2, 0x18, PAYLOAD);
      const headers = frame.length - PAYLOAD.length;
      for (let cap = 0; cap <= frame.length; cap++) {
        const { res, p } = decodeAt(frame, LINK[link], cap);
        const name = `${link} v${v6 ? 6 : 4} cap ${cap}`;
        if (cap < headers) {
          assert.equal(res, DecodeResult.Truncated, name);
        } else {
          assert.equal(res, DecodeResult.Ok, name);
          assert.deepEqual([p.payloadOff, p.payloadLen, p.payloadCap], [AT + headers, 6, cap - headers], name);
        }
      }
    }
  }
});

test('UDP: ports, and seq, ack and flags cleared; the payload length comes from the IP header, not the capture', () => {
  const frame = udpPacket('ethernet', '10.0.0.2', 5353, '10.0.0.1', 53, Buffer.from('query'));
  const padded = Buffer.concat([frame, Buffer.alloc(11)]); // Ethernet padding after the datagram
  const { res, p } = decodeAt(padded, 1, padded.length, dirty());
  assert.equal(res, DecodeResult.Ok);
  assert.deepEqual(fields(p), [4, 17, 0, 0, 0, 0x0a000002, 0, 0, 0, 0x0a000001, 5353, 53, 0, 0, 0]);
  assert.deepEqual([p.payloadOff, p.payloadLen, p.payloadCap], [AT + 14 + 20 + 8, 5, 5]);
  for (let cap = 14 + 20; cap < 14 + 28; cap++) assert.equal(decodeAt(frame, 1, cap).res, DecodeResult.Truncated, `cap ${cap}`);
  const v6 = udpPacket('ethernet', 'fd77::2', 5353, 'fd77::1', 53, Buffer.from('query'));
  const r6 = decodeAt(Buffer.concat([v6, Buffer.alloc(3)]), 1);
  assert.deepEqual([r6.res, r6.p.family, r6.p.proto, r6.p.payloadLen, r6.p.payloadCap], [DecodeResult.Ok, 6, 17, 5, 5]);
});

test('IPv4 header: options, a zero total length (offload), a total shorter than the header, a bad version or IHL', () => {
  const base = tcpPacket('raw', '10.0.0.2', 40000, '10.0.0.1', 6379, 1, 2, 0xff, PAYLOAD);
  // Options: IHL 6, four bytes of NOPs between the IP and TCP headers.
  const opts = Buffer.concat([base.subarray(0, 20), Buffer.from([1, 1, 1, 1]), base.subarray(20)]);
  opts[0] = 0x46;
  opts.writeUInt16BE(base.length + 4, 2);
  let r = decodeAt(opts, 101);
  assert.equal(r.res, DecodeResult.Ok);
  assert.deepEqual([r.p.sport, r.p.dport, r.p.flags, r.p.payloadOff, r.p.payloadLen], [40000, 6379, 0x3f, AT + 44, 6]);
  const zero = Buffer.from(base);
  zero.writeUInt16BE(0, 2);
  r = decodeAt(Buffer.concat([zero, Buffer.from('xy')]), 101);
  assert.deepEqual([r.res, r.p.payloadLen, r.p.payloadCap], [DecodeResult.Ok, 8, 8]);
  const short = Buffer.from(base);
  short.writeUInt16BE(19, 2);
  assert.equal(decodeAt(short, 101).res, DecodeResult.Truncated);
  short.writeUInt16BE(20, 2); // the IP header only: TCP's header is beyond the datagram
  r = decodeAt(short, 101);
  assert.deepEqual([r.res, r.p.payloadLen, r.p.payloadCap], [DecodeResult.Ok, 0, 0]);
  const ihl = Buffer.from(base);
  ihl[0] = 0x44;
  assert.equal(decodeAt(ihl, 101).res, DecodeResult.Truncated);
  const ver = Buffer.concat([Buffer.from([0, 0, 0, 2]), base]);
  ver[4] = 0x65; // the loopback header says IPv4, the packet does not
  assert.equal(decodeAt(ver, 0).res, DecodeResult.Truncated);
  const ver6 = Buffer.concat([Buffer.from([30, 0, 0, 0]), base]);
  assert.equal(decodeAt(ver6, 0).res, DecodeResult.Truncated); // says IPv6, is IPv4 (and long enough)
  // The Don't Fragment bit alone is not a fragment.
  const df = Buffer.from(base);
  df.writeUInt16BE(0x4000, 6);
  assert.equal(decodeAt(df, 101).res, DecodeResult.Ok);
});

test('TCP header: a data offset under 5 words is Truncated; options move the payload; flags keep their low six bits', () => {
  const base = tcpPacket('raw', '10.0.0.2', 40000, '10.0.0.1', 6379, 1, 2, 0xc2, PAYLOAD);
  const bad = Buffer.from(base);
  bad[20 + 12] = 4 << 4;
  assert.equal(decodeAt(bad, 101).res, DecodeResult.Truncated);
  const opt = Buffer.concat([base.subarray(0, 40), Buffer.alloc(12, 1), base.subarray(40)]);
  opt[20 + 12] = 8 << 4;
  opt.writeUInt16BE(opt.length, 2);
  const r = decodeAt(opt, 101);
  assert.deepEqual([r.res, r.p.flags, r.p.payloadOff, r.p.payloadLen, r.p.payloadCap], [DecodeResult.Ok, 0x02, AT + 52, 6, 6]);
  // ICMP, and ARP.
  const icmp = Buffer.from(base);
  icmp[9] = 1;
  assert.equal(decodeAt(icmp, 101).res, DecodeResult.OtherProto);
  const arp = Buffer.alloc(42);
  arp.writeUInt16BE(0x0806, 12);
  assert.equal(decodeAt(arp, 1).res, DecodeResult.NotIp);
});

test('IPv4 fragments: id, offset, more, and where their data is', () => {
  const base = udpPacket('raw', '10.0.0.2', 5353, '10.0.0.1', 53, Buffer.alloc(24, 0x61));
  const frag = Buffer.from(base);
  frag.writeUInt16BE(0xbeef, 4);
  frag.writeUInt16BE(0x2000 | 3, 6); // more fragments, offset 3 * 8
  let r = decodeAt(frag, 101, frag.length, dirty());
  assert.equal(r.res, DecodeResult.Fragment);
  assert.deepEqual([r.p.proto, r.p.fragId, r.p.fragOffset, r.p.fragMore, r.p.payloadOff, r.p.payloadLen, r.p.payloadCap], [17, 0xbeef, 24, true, AT + 20, 32, 32]);
  assert.deepEqual([r.p.s3 >>> 0, r.p.d3 >>> 0], [0x0a000002, 0x0a000001]);
  const last = Buffer.from(base);
  last.writeUInt16BE(0x1fff, 6);
  r = decodeAt(last, 101, 30);
  assert.deepEqual([r.res, r.p.fragOffset, r.p.fragMore, r.p.payloadLen, r.p.payloadCap], [DecodeResult.Fragment, 0x1fff * 8, false, 32, 10]);
  r = decodeAt(last, 101, 20);
  assert.deepEqual([r.res, r.p.payloadCap], [DecodeResult.Fragment, 0]);
  const firstOfMany = Buffer.from(base);
  firstOfMany.writeUInt16BE(0x2000, 6);
  assert.equal(decodeAt(firstOfMany, 101).res, DecodeResult.Fragment);
});

/** An IPv6 TCP packet whose transport header sits behind `ext` (the first's type in `first`). */
function v6With(first: number, ext: Buffer): Buffer {
  const base = tcpPacket('raw', 'fd77::2', 40000, 'fd77::1', 6379, 1, 2, 0x18, PAYLOAD);
  const out = Buffer.concat([base.subarray(0, 40), ext, base.subarray(40)]);
  out[6] = first;
  out.writeUInt16BE(base.length - 40 + ext.length, 4);
  return out;
}

test('IPv6 extension headers: hop-by-hop, routing and destination options are walked, each by its length', () => {
  const hop = Buffer.from([43, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // 16 bytes, next: routing
  const rt = Buffer.from([60, 0, 0, 0, 0, 0, 0, 0]); // next: destination options
  const dst = Buffer.from([6, 0, 0, 0, 0, 0, 0, 0]); // next: TCP
  const frame = v6With(0, Buffer.concat([hop, rt, dst]));
  const r = decodeAt(frame, 101);
  assert.equal(r.res, DecodeResult.Ok);
  assert.deepEqual([r.p.proto, r.p.sport, r.p.dport, r.p.payloadOff, r.p.payloadLen], [6, 40000, 6379, AT + 40 + 32 + 20, 6]);
  for (let cap = 40; cap < 48; cap++) assert.equal(decodeAt(frame, 101, cap).res, DecodeResult.Truncated, `cap ${cap}`);
  // An atomic fragment (offset 0, no more) is a whole packet.
  const atomic = v6With(44, Buffer.from([6, 0, 0, 0, 0, 0, 0, 9]));
  const a = decodeAt(atomic, 101);
  assert.deepEqual([a.res, a.p.proto, a.p.payloadOff, a.p.payloadLen], [DecodeResult.Ok, 6, AT + 68, 6]);
  assert.equal(decodeAt(atomic, 101, 47).res, DecodeResult.Truncated);
  // Nine extension headers: the walk stops after eight, at a header that is not TCP.
  const nine = v6With(60, Buffer.concat(Array.from({ length: 9 }, (_, i) => Buffer.from([i < 8 ? 60 : 6, 0, 0, 0, 0, 0, 0, 0]))));
  assert.equal(decodeAt(nine, 101).res, DecodeResult.OtherProto);
  const eight = v6With(60, Buffer.concat(Array.from({ length: 8 }, (_, i) => Buffer.from([i < 7 ? 60 : 6, 0, 0, 0, 0, 0, 0, 0]))));
  assert.equal(decodeAt(eight, 101).res, DecodeResult.Ok);
});

test('IPv6 fragments: id, offset and more from the fragment header; a zero payload length is a jumbogram', () => {
  const frag = v6With(44, Buffer.from([17, 0, 0x05, 0x59, 0xca, 0xfe, 0xba, 0xbe])); // offset 0x558, M set
  const r = decodeAt(frag, 101);
  assert.equal(r.res, DecodeResult.Fragment);
  assert.deepEqual([r.p.proto, r.p.fragId >>> 0, r.p.fragOffset, r.p.fragMore, r.p.payloadOff, r.p.payloadLen, r.p.payloadCap], [17, 0xcafebabe, 0x558, true, AT + 48, 26, 26]);
  const last = v6With(44, Buffer.from([17, 0, 0x00, 0x08, 0, 0, 0, 1]));
  const l = decodeAt(last, 101);
  assert.deepEqual([l.res, l.p.fragOffset, l.p.fragMore], [DecodeResult.Fragment, 8, false]);
  const jumbo = tcpPacket('raw', 'fd77::2', 40000, 'fd77::1', 6379, 1, 2, 0x18, PAYLOAD);
  jumbo.writeUInt16BE(0, 4);
  const j = decodeAt(Buffer.concat([jumbo, Buffer.from('ab')]), 101);
  assert.deepEqual([j.res, j.p.payloadLen, j.p.payloadCap], [DecodeResult.Ok, 8, 8]);
  const short6 = tcpPacket('raw', 'fd77::2', 40000, 'fd77::1', 6379, 1, 2, 0x18, PAYLOAD);
  short6[0] = 0x40;
  assert.equal(decodeAt(Buffer.concat([Buffer.from([30, 0, 0, 0]), short6]), 0).res, DecodeResult.Truncated);
});

test('a fragment whose IP total ends before its data starts is Truncated', () => {
  const v4 = udpPacket('raw', '10.0.0.2', 5353, '10.0.0.1', 53, Buffer.alloc(8));
  v4.writeUInt16BE(0x2001, 6);
  v4.writeUInt16BE(20, 2);
  const r = decodeAt(v4, 101);
  assert.deepEqual([r.res, r.p.payloadLen, r.p.payloadCap], [DecodeResult.Fragment, 0, 0]);
  const frag = v6With(44, Buffer.from([17, 0, 0x00, 0x09, 0, 0, 0, 1]));
  frag.writeUInt16BE(4, 4); // the payload length ends inside the fragment header
  assert.equal(decodeAt(frag, 101).res, DecodeResult.Truncated);
});

const INNER = tcpPacket('raw', '10.1.1.2', 40000, '10.1.1.1', 6379, 7, 9, 0x18, PAYLOAD);
const INNER_FIELDS = [4, 6, 0, 0, 0, 0x0a010102, 0, 0, 0, 0x0a010101, 40000, 6379, 7, 9, 0x18];

function ipv4Around(proto: number, inner: Buffer): Buffer {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + inner.length, 2);
  ip[9] = proto;
  ip.writeUInt32BE(0xc0000201, 12);
  ip.writeUInt32BE(0xc0000202, 16);
  return Buffer.concat([ip, inner]);
}
function eth(type: number): Buffer {
  const b = Buffer.alloc(14);
  b.writeUInt16BE(type, 12);
  return b;
}
function gre(flags: number, type: number, extra: number): Buffer {
  const b = Buffer.alloc(4 + extra);
  b[0] = flags;
  b.writeUInt16BE(type, 2);
  return b;
}

test('tunnels: four nested IP-in-IP are opened, a fifth is too deep; IPv6 in IPv4; a tunnel with nothing inside is Truncated', () => {
  let deep = INNER;
  for (let i = 0; i < 4; i++) deep = ipv4Around(4, deep);
  let r = decodeAt(deep, 101);
  assert.equal(r.res, DecodeResult.Ok);
  assert.deepEqual(fields(r.p), INNER_FIELDS);
  assert.equal(decodeAt(ipv4Around(4, deep), 101).res, DecodeResult.TunnelTooDeep);
  const v6 = tcpPacket('raw', 'fd77::2', 40000, 'fd77::1', 6379, 1, 2, 0x18, PAYLOAD);
  r = decodeAt(ipv4Around(41, v6), 101);
  assert.deepEqual([r.res, r.p.family, r.p.s3 >>> 0, r.p.dport, r.p.payloadLen], [DecodeResult.Ok, 6, 2, 6379, 6]);
  assert.equal(decodeAt(ipv4Around(4, Buffer.alloc(0)), 101).res, DecodeResult.Truncated);
  assert.equal(decodeAt(ipv4Around(4, Buffer.from([0x45])), 101).res, DecodeResult.Truncated);
});

test('GRE: each optional field (checksum, key, sequence) moves the inner packet by four bytes', () => {
  for (const [flags, extra] of [[0x00, 0], [0x80, 4], [0x20, 4], [0x10, 4], [0xb0, 12], [0x30, 8]]) {
    const r = decodeAt(ipv4Around(47, Buffer.concat([gre(flags, 0x0800, extra), INNER])), 101);
    assert.equal(r.res, DecodeResult.Ok, `flags ${flags}`);
    assert.deepEqual(fields(r.p), INNER_FIELDS, `flags ${flags}`);
  }
  const v6 = tcpPacket('raw', 'fd77::2', 40000, 'fd77::1', 6379, 1, 2, 0x18, PAYLOAD);
  assert.equal(decodeAt(ipv4Around(47, Buffer.concat([gre(0, 0x86dd, 0), v6])), 101).p.family, 6);
  assert.equal(decodeAt(ipv4Around(47, Buffer.from([0, 0, 8])), 101).res, DecodeResult.Truncated);
  // ERSPAN III cut inside its header.
  assert.equal(decodeAt(ipv4Around(47, Buffer.concat([gre(0, 0x22eb, 0), Buffer.alloc(11)])), 101).res, DecodeResult.Truncated);
  assert.equal(decodeAt(ipv4Around(47, Buffer.concat([gre(0, 0x22eb, 0), Buffer.alloc(12)])), 101).res, DecodeResult.Truncated);
  // An inner Ethernet frame cut short.
  assert.equal(decodeAt(ipv4Around(47, Buffer.concat([gre(0, 0x6558, 0), Buffer.alloc(13)])), 101).res, DecodeResult.Truncated);
});

test('VXLAN needs its I flag and a whole header; Geneve needs version 0 and a known protocol; else they are plain UDP', () => {
  const inner = Buffer.concat([eth(0x0800), INNER]);
  const vx = (flags: number) => Buffer.concat([Buffer.from([flags, 0, 0, 0, 0, 0, 1, 0]), inner]);
  assert.deepEqual(fields(decodeAt(udpPacket('raw', '192.0.2.1', 5, '192.0.2.2', 4789, vx(0x08)), 101).p), INNER_FIELDS);
  let r = decodeAt(udpPacket('raw', '192.0.2.1', 5, '192.0.2.2', 4789, vx(0x00)), 101);
  assert.deepEqual([r.res, r.p.proto, r.p.dport, r.p.payloadLen], [DecodeResult.Ok, 17, 4789, 8 + inner.length]);
  r = decodeAt(udpPacket('raw', '192.0.2.1', 5, '192.0.2.2', 4789, Buffer.from([0x08, 0, 0, 0, 0, 0, 1])), 101);
  assert.deepEqual([r.res, r.p.dport, r.p.payloadLen], [DecodeResult.Ok, 4789, 7]);
  const gv = (b0: number, type: number, opts: number) => Buffer.concat([Buffer.from([b0, 0]), Buffer.from([type >> 8, type & 0xff]), Buffer.alloc(4 + opts * 4)]);
  assert.deepEqual(fields(decodeAt(udpPacket('raw', '192.0.2.1', 5, '192.0.2.2', 6081, Buffer.concat([gv(0x02, 0x6558, 2), inner])), 101).p), INNER_FIELDS);
  assert.deepEqual(fields(decodeAt(udpPacket('raw', '192.0.2.1', 5, '192.0.2.2', 6081, Buffer.concat([gv(0x00, 0x0800, 0), INNER])), 101).p), INNER_FIELDS);
  for (const [b0, type] of [[0x40, 0x6558], [0x00, 0x0806]]) {
    r = decodeAt(udpPacket('raw', '192.0.2.1', 5, '192.0.2.2', 6081, Buffer.concat([gv(b0, type, 0), inner])), 101);
    assert.deepEqual([r.res, r.p.proto, r.p.dport], [DecodeResult.Ok, 17, 6081], `${b0} ${type}`);
  }
  r = decodeAt(udpPacket('raw', '192.0.2.1', 5, '192.0.2.2', 6081, Buffer.from([0, 0, 0x65, 0x58, 0, 0, 0])), 101);
  assert.deepEqual([r.res, r.p.dport, r.p.payloadLen], [DecodeResult.Ok, 6081, 7]);
});

test('below IP: VLAN tags of all three types, PPPoE and MPLS cut short are Truncated; Ethernet in Ethernet stops at four', () => {
  for (const t of [0x8100, 0x88a8, 0x9100]) {
    const f = Buffer.concat([eth(t), Buffer.from([0, 1, 0x08, 0x00]), INNER]);
    assert.deepEqual(fields(decodeAt(f, 1).p), INNER_FIELDS, `tag ${t}`);
    assert.equal(decodeAt(f, 1, 17).res, DecodeResult.Truncated);
    // The same tags inside a tunnel's Ethernet frame.
    const g = ipv4Around(47, Buffer.concat([gre(0, 0x6558, 0), f]));
    assert.deepEqual(fields(decodeAt(g, 101).p), INNER_FIELDS, `inner tag ${t}`);
    assert.equal(decodeAt(g, 101, 20 + 4 + 17).res, DecodeResult.Truncated);
  }
  const pppoe = Buffer.concat([eth(0x8864), Buffer.from([0x11, 0, 0, 1, 0, 0, 0x00, 0x21]), INNER]);
  assert.deepEqual(fields(decodeAt(pppoe, 1).p), INNER_FIELDS);
  assert.equal(decodeAt(pppoe, 1, 21).res, DecodeResult.Truncated);
  assert.equal(decodeAt(pppoe, 1, 22).res, DecodeResult.Truncated); // PPPoE whole, no IP header
  const mpls = Buffer.concat([eth(0x8848), Buffer.from([0, 0, 1, 64]), INNER]);
  assert.deepEqual(fields(decodeAt(mpls, 1).p), INNER_FIELDS);
  assert.equal(decodeAt(mpls, 1, 17).res, DecodeResult.Truncated);
  assert.equal(decodeAt(mpls, 1, 18).res, DecodeResult.Truncated);
  const mpls6 = Buffer.concat([eth(0x8847), Buffer.from([0, 0, 1, 64]), tcpPacket('raw', 'fd77::2', 1, 'fd77::1', 2, 1, 2, 0x18, PAYLOAD)]);
  assert.equal(decodeAt(mpls6, 1).p.family, 6);
  // Ethernet in VXLAN in ... : an inner Ethernet frame carrying an inner Ethernet frame is not a thing;
  // TEB carrying TEB three times over is opened, four times is too deep.
  let teb = Buffer.concat([eth(0x0800), INNER]);
  for (let i = 0; i < 3; i++) teb = Buffer.concat([eth(0x0800), ipv4Around(47, Buffer.concat([gre(0, 0x6558, 0), teb]))]);
  assert.deepEqual(fields(decodeAt(teb, 1).p), INNER_FIELDS);
  const tooDeep = Buffer.concat([eth(0x0800), ipv4Around(47, Buffer.concat([gre(0, 0x6558, 0), teb]))]);
  assert.equal(decodeAt(tooDeep, 1).res, DecodeResult.Ok); // four tunnels: still opened
  const five = Buffer.concat([eth(0x0800), ipv4Around(47, Buffer.concat([gre(0, 0x6558, 0), tooDeep]))]);
  assert.equal(decodeAt(five, 1).res, DecodeResult.TunnelTooDeep);
});

test('the same Packet and decoder over two batch buffers in turn read each from its own bytes', () => {
  const a = inBatch(tcpPacket('ethernet', '10.0.0.2', 1000, '10.0.0.1', 2000, 5, 6, 0x10, PAYLOAD));
  const b = inBatch(tcpPacket('ethernet', '10.0.0.3', 3000, '10.0.0.4', 4000, 7, 8, 0x10, PAYLOAD));
  const p = new Packet();
  const len = a.length - AT - 5;
  for (const [buf, want] of [[a, [1000, 2000, 0x0a000002]], [b, [3000, 4000, 0x0a000003]], [a, [1000, 2000, 0x0a000002]]] as [Buffer, number[]][]) {
    assert.equal(decodePacket(buf, AT, len, 1, p), DecodeResult.Ok);
    assert.deepEqual([p.sport, p.dport, p.s3 >>> 0], want);
  }
});

test('decodeTransport on a reassembled datagram: its payload runs to the datagram end', () => {
  const udp = Buffer.from([0x14, 0xe9, 0x00, 0x35, 0, 13, 0, 0, 0x61, 0x62, 0x63, 0x64, 0x65]);
  const p = dirty();
  p.proto = 17;
  assert.equal(decodeTransport(udp, 0, udp.length, udp.length, p), DecodeResult.Ok);
  assert.deepEqual([p.sport, p.dport, p.seq, p.ack, p.flags, p.payloadOff, p.payloadLen, p.payloadCap], [5353, 53, 0, 0, 0, 8, 5, 5]);
  p.proto = 1;
  assert.equal(decodeTransport(udp, 0, udp.length, udp.length, p), DecodeResult.OtherProto);
  p.proto = 17;
  assert.equal(decodeTransport(udp, 0, 7, udp.length, p), DecodeResult.Truncated);
  assert.equal(decodeTransport(udp, 0, 8, 6, p), DecodeResult.Ok);
  assert.deepEqual([p.payloadLen, p.payloadCap], [0, 0]);
});

test('the summary names every reason a packet was not decoded, in order, and only those counted', () => {
  const counts = Array.from({ length: DECODE_RESULTS }, (_, i) => i);
  assert.equal(DECODE_RESULTS, 10);
  assert.equal(
    notDecodedText(counts),
    '1 of a link type tcpkit does not decode, 2 not IP, 3 cut short or malformed, 4 IP fragments, 5 neither TCP nor UDP, ' +
      '6 PPPoE discovery or PPP control, 7 MPLS not carrying IP, 8 GRE carrying neither IP nor Ethernet, 9 tunnels nested too deep',
  );
  assert.equal(notDecodedText([5, 0, 0, 1]), '1 cut short or malformed');
  assert.equal(notDecodedText(new Array<number>(DECODE_RESULTS).fill(0)), '');
});

test('an eBPF sample header gives the 5-tuple: ports little-endian, IPv4 in the first four address bytes, IPv6 in all sixteen', () => {
  const s = Buffer.alloc(AT + SAMPLE_HDR_LEN);
  const at = AT;
  s[at + SampleField.Family] = 4;
  s[at + SampleField.Proto] = 6;
  s.writeUInt16LE(40000, at + SampleField.Sport);
  s.writeUInt16LE(6379, at + SampleField.Dport);
  s.writeUInt32BE(0x0a000002, at + SampleField.Saddr);
  s.writeUInt32BE(0x0a000001, at + SampleField.Daddr);
  const p = dirty();
  sampleAddresses(s, at, p);
  assert.deepEqual(fields(p).slice(0, 12), [4, 6, 0, 0, 0, 0x0a000002, 0, 0, 0, 0x0a000001, 40000, 6379]);
  s[at + SampleField.Family] = 6;
  s[at + SampleField.Proto] = 17;
  for (let i = 0; i < 16; i++) {
    s[at + SampleField.Saddr + i] = 0x10 + i;
    s[at + SampleField.Daddr + i] = 0x40 + i;
  }
  sampleAddresses(s, at, p);
  assert.deepEqual(fields(p).slice(0, 12), [6, 17, 0x10111213, 0x14151617, 0x18191a1b, 0x1c1d1e1f, 0x40414243, 0x44454647, 0x48494a4b, 0x4c4d4e4f, 40000, 6379]);
});

/** Every frame the tests above build, encapsulations included: for the cut-anywhere test below. */
function allFrames(): [string, Buffer, number][] {
  const out: [string, Buffer, number][] = [];
  const inner = Buffer.concat([eth(0x0800), INNER]);
  for (const link of ['ethernet', 'vlan', 'sll', 'sll2', 'raw', 'null'] as Link[]) {
    out.push([`${link} v4`, tcpPacket(link, '10.0.0.2', 40000, '10.0.0.1', 6379, 1, 2, 0x18, PAYLOAD), LINK[link]]);
    out.push([`${link} v6`, tcpPacket(link, 'fd77::2', 40000, 'fd77::1', 6379, 1, 2, 0x18, PAYLOAD), LINK[link]]);
    out.push([`${link} udp`, udpPacket(link, '10.0.0.2', 5353, '10.0.0.1', 53, PAYLOAD), LINK[link]]);
  }
  for (const t of [0x8100, 0x88a8, 0x9100]) out.push([`tag ${t}`, Buffer.concat([eth(t), Buffer.from([0, 1, 0x08, 0x00]), INNER]), 1]);
  out.push(['pppoe', Buffer.concat([eth(0x8864), Buffer.from([0x11, 0, 0, 1, 0, 0, 0x00, 0x21]), INNER]), 1]);
  out.push(['pppoe v6', Buffer.concat([eth(0x8864), Buffer.from([0x11, 0, 0, 1, 0, 0, 0x00, 0x57]), tcpPacket('raw', 'fd77::2', 1, 'fd77::1', 2, 1, 2, 0x18, PAYLOAD)]), 1]);
  out.push(['mpls', Buffer.concat([eth(0x8847), Buffer.from([0, 0, 0, 64, 0, 0, 1, 64]), INNER]), 1]);
  for (const [flags, extra] of [[0, 0], [0xb0, 12]]) out.push([`gre ${flags}`, ipv4Around(47, Buffer.concat([gre(flags, 0x0800, extra), INNER])), 101]);
  out.push(['gre teb', ipv4Around(47, Buffer.concat([gre(0, 0x6558, 0), inner])), 101]);
  out.push(['erspan2', ipv4Around(47, Buffer.concat([gre(0, 0x88be, 0), Buffer.alloc(8), inner])), 101]);
  const o = Buffer.alloc(12);
  o[11] = 1;
  out.push(['erspan3', ipv4Around(47, Buffer.concat([gre(0, 0x22eb, 0), o, Buffer.alloc(8), inner])), 101]);
  out.push(['vxlan', udpPacket('raw', '192.0.2.1', 5, '192.0.2.2', 4789, Buffer.concat([Buffer.from([0x08, 0, 0, 0, 0, 0, 1, 0]), inner])), 101]);
  out.push(['geneve', udpPacket('raw', '192.0.2.1', 5, '192.0.2.2', 6081, Buffer.concat([Buffer.from([0x01, 0, 0x65, 0x58]), Buffer.alloc(8), inner])), 101]);
  out.push(['ipip', ipv4Around(4, INNER), 101]);
  out.push(['gre teb vlan', ipv4Around(47, Buffer.concat([gre(0, 0x6558, 0), eth(0x8100), Buffer.from([0, 1, 0x08, 0x00]), INNER])), 101]);
  out.push(['v6 ext', v6With(0, Buffer.concat([Buffer.from([43, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([44, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([6, 0, 0, 0, 0, 0, 0, 1])])), 101]);
  return out;
}

test('cut anywhere, a frame decodes the same whatever follows it in the buffer, and never reads past its end', () => {
  for (const [name, frame, link] of allFrames()) {
    for (let cap = 0; cap <= frame.length; cap++) {
      const results = [0xee, 0x00, -1].map((fill) => {
        const buf = fill < 0 ? Buffer.from(frame.subarray(0, cap)) : Buffer.concat([frame.subarray(0, cap), Buffer.alloc(64, fill)]);
        const p = new Packet();
        let res: DecodeResult | string;
        try {
          res = decodePacket(buf, 0, cap, link, p);
        } catch (e) {
          res = String(e);
        }
        return [res, p.family, p.proto, p.s3, p.d3, p.sport, p.dport, p.payloadOff, p.payloadLen, p.payloadCap, p.fragOffset];
      });
      assert.deepEqual(results[1], results[0], `${name} cut at ${cap}, zeros after`);
      assert.deepEqual(results[2], results[0], `${name} cut at ${cap}, nothing after`);
    }
  }
});

test('a header that ends exactly where the capture does: what it says still counts', () => {
  // PPPoE discovery behind a VLAN tag, and behind a tunnel's Ethernet header, with nothing after.
  assert.equal(decodeAt(Buffer.concat([eth(0x8100), Buffer.from([0, 1, 0x88, 0x63])]), 1).res, DecodeResult.PppoeNotIp);
  assert.equal(decodeAt(ipv4Around(47, Buffer.concat([gre(0, 0x6558, 0), eth(0x8863)])), 101).res, DecodeResult.PppoeNotIp);
  assert.equal(decodeAt(ipv4Around(47, Buffer.concat([gre(0, 0x6558, 0), eth(0x8100), Buffer.from([0, 1, 0x88, 0x63])])), 101).res, DecodeResult.PppoeNotIp);
  // PPP control with no bytes after the PPPoE header.
  assert.equal(decodeAt(Buffer.concat([eth(0x8864), Buffer.from([0x11, 0, 0, 1, 0, 2, 0xc0, 0x21])]), 1).res, DecodeResult.PppoeNotIp);
  // GRE of an unknown type with nothing after its header.
  assert.equal(decodeAt(ipv4Around(47, gre(0, 0x880b, 0)), 101).res, DecodeResult.GreNotIp);
  // An IPv6 header alone saying "no next header"; an extension header alone before ICMPv6; a fragment header alone.
  const alone = tcpPacket('raw', 'fd77::2', 1, 'fd77::1', 2, 1, 2, 0x18, PAYLOAD).subarray(0, 40);
  alone[6] = 59;
  alone.writeUInt16BE(0, 4);
  assert.equal(decodeAt(Buffer.from(alone), 101).res, DecodeResult.OtherProto);
  const hop = v6With(0, Buffer.from([58, 0, 0, 0, 0, 0, 0, 0]));
  assert.equal(decodeAt(hop.subarray(0, 48), 101).res, DecodeResult.OtherProto);
  const frag = v6With(44, Buffer.from([17, 0, 0x00, 0x10, 0, 0, 0, 1]));
  const f = decodeAt(frag.subarray(0, 48), 101);
  assert.deepEqual([f.res, f.p.fragOffset, f.p.payloadCap], [DecodeResult.Fragment, 16, 0]);
  // VXLAN and Geneve headers with no frame inside: a tunnel cut short, not a UDP datagram.
  assert.equal(decodeAt(udpPacket('raw', '192.0.2.1', 5, '192.0.2.2', 4789, Buffer.from([0x08, 0, 0, 0, 0, 0, 1, 0])), 101).res, DecodeResult.Truncated);
  assert.equal(decodeAt(udpPacket('raw', '192.0.2.1', 5, '192.0.2.2', 6081, Buffer.from([0, 0, 0x65, 0x58, 0, 0, 1, 0])), 101).res, DecodeResult.Truncated);
  // A loopback header or a raw packet with too few bytes to say what follows.
  for (const [bytes, link] of [[[0, 0], 0], [[0, 0, 0], 108], [[0x99], 101]] as [number[], number][]) {
    const p = new Packet();
    assert.equal(decodePacket(Buffer.from(bytes), 0, bytes.length - 1, link, p), DecodeResult.Truncated, `${bytes}`);
  }
  // An ethertype of 1 is no encapsulation.
  assert.equal(decodeAt(Buffer.concat([eth(1), INNER]), 1).res, DecodeResult.NotIp);
  assert.equal(decodeAt(Buffer.concat([eth(1), eth(0x0800), INNER]), 1).res, DecodeResult.NotIp); // not an Ethernet frame in Ethernet
  assert.equal(decodeAt(Buffer.concat([eth(0xffff), INNER]), 1).res, DecodeResult.NotIp);
});

test('tunnels are opened for UDP only, on their own ports; Geneve carries IPv6 too', () => {
  const inner = Buffer.concat([eth(0x0800), INNER]);
  for (const port of [4789, 6081]) {
    const body = Buffer.concat([Buffer.from([0x08, 0, 0x65, 0x58, 0, 0, 1, 0]), inner]);
    // The ack's bytes sit where a UDP tunnel header would: a VXLAN I flag and Geneve's Ethernet type.
    const t = decodeAt(tcpPacket('raw', '192.0.2.1', 5, '192.0.2.2', port, 1, 0x08006558, 0x18, body), 101);
    assert.deepEqual([t.res, t.p.proto, t.p.dport, t.p.payloadLen], [DecodeResult.Ok, 6, port, body.length], `TCP to ${port}`);
  }
  for (const type of [0x6558, 0x0800, 0x86dd]) {
    const u = decodeAt(udpPacket('raw', '192.0.2.1', 5, '192.0.2.2', 5000, Buffer.concat([Buffer.from([0, 0, type >> 8, type & 0xff, 0, 0, 1, 0]), inner])), 101);
    assert.deepEqual([u.res, u.p.proto, u.p.dport], [DecodeResult.Ok, 17, 5000], `UDP to 5000, ${type}`);
  }
  const v6 = tcpPacket('raw', 'fd77::2', 40000, 'fd77::1', 6379, 1, 2, 0x18, PAYLOAD);
  const g = decodeAt(udpPacket('raw', '192.0.2.1', 5, '192.0.2.2', 6081, Buffer.concat([Buffer.from([0, 0, 0x86, 0xdd, 0, 0, 1, 0]), v6])), 101);
  assert.deepEqual([g.res, g.p.family, g.p.dport, g.p.payloadLen], [DecodeResult.Ok, 6, 6379, 6]);
  // Geneve version 1..3 is not opened.
  for (const b0 of [0x40, 0x80, 0xc0]) {
    const x = decodeAt(udpPacket('raw', '192.0.2.1', 5, '192.0.2.2', 6081, Buffer.concat([Buffer.from([b0, 0, 0x08, 0x00, 0, 0, 1, 0]), INNER])), 101);
    assert.deepEqual([x.res, x.p.proto, x.p.dport], [DecodeResult.Ok, 17, 6081]);
  }
});

test('an IHL under 5 words is refused even when a TCP header seems to follow at the shorter offset', () => {
  const f = tcpPacket('raw', '10.0.0.2', 40000, '10.0.0.1', 6379, 1, 0x50000000, 0x18, PAYLOAD);
  // With IHL 4 the "TCP header" would start 4 bytes early: its data offset byte is the ack's first byte (0x50).
  f[0] = 0x44;
  assert.equal(decodeAt(f, 101).res, DecodeResult.Truncated);
  f[0] = 0x45;
  assert.equal(decodeAt(f, 101).res, DecodeResult.Ok);
});

test('headers longer than what was captured leave no payload, never a negative one', () => {
  // TCP with 12 bytes of options, captured to the end of its fixed header.
  const f = tcpPacket('raw', '10.0.0.2', 40000, '10.0.0.1', 6379, 1, 2, 0x18, Buffer.concat([Buffer.alloc(12), PAYLOAD]));
  f[32] = 8 << 4;
  const t = decodeAt(f, 101, 40);
  assert.deepEqual([t.res, t.p.payloadOff, t.p.payloadLen, t.p.payloadCap], [DecodeResult.Ok, AT + 52, 6, 0]);
  // An IPv4 fragment with 4 bytes of options, captured to the end of the fixed header.
  const g = udpPacket('raw', '10.0.0.2', 5353, '10.0.0.1', 53, Buffer.alloc(24));
  const opt = Buffer.concat([g.subarray(0, 20), Buffer.alloc(4), g.subarray(20)]);
  opt[0] = 0x46;
  opt.writeUInt16BE(opt.length, 2);
  opt.writeUInt16BE(0x2001, 6);
  const r = decodeAt(opt, 101, 20);
  assert.deepEqual([r.res, r.p.payloadOff, r.p.payloadLen, r.p.payloadCap], [DecodeResult.Fragment, AT + 24, 32, 0]);
  // An MPLS stack whose bottom label is the last captured byte.
  assert.equal(decodeAt(Buffer.concat([eth(0x8847), Buffer.from([0, 0, 1, 64])]), 1).res, DecodeResult.Truncated);
});

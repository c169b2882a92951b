// Link-layer encapsulations a production capture may carry: PPPoE (also under
// QinQ VLAN tags), MPLS, GRE (IP, bridged Ethernet, ERSPAN II and III),
// VXLAN, Geneve, IP in IP. Those whose inner packet is IP are decoded to it;
// the rest are counted by name.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DecodeResult, Packet, decodePacket, notDecodedText } from '../../../src/decode/packet';
import { Conversation, tcpPacket, udpPacket, writePcap } from '../../helpers/pcap-writer';
import { parseLines, parseSummary, tcpkit } from '../../helpers/run';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-encap-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const ETHERNET = 1;

/** The inner packet every case carries: a TCP segment 10.1.1.2:40000 -> 10.1.1.1:6379 with "PING\r\n". */
const INNER_IP = tcpPacket('raw', '10.1.1.2', 40000, '10.1.1.1', 6379, 7, 9, 0x18, Buffer.from('PING\r\n'));
const INNER_ETH = Buffer.concat([ethernet(0x0800), INNER_IP]);

function ethernet(type: number): Buffer {
  const b = Buffer.alloc(14);
  b.writeUInt16BE(type, 12);
  return b;
}
function u16(...v: number[]): Buffer {
  const b = Buffer.alloc(v.length * 2);
  v.forEach((x, i) => b.writeUInt16BE(x, i * 2));
  return b;
}
function vlan(type: number, id = 10): Buffer {
  return u16(id, type);
}
function pppoe(pppProto: number, len: number): Buffer {
  return Buffer.concat([Buffer.from([0x11, 0x00]), u16(0x1234, len + 2, pppProto)]);
}
/** An outer IPv4 packet 192.0.2.1 -> 192.0.2.2 of protocol `proto` around `inner`. */
function outerIp(proto: number, inner: Buffer): Buffer {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + inner.length, 2);
  ip[8] = 64;
  ip[9] = proto;
  Buffer.from([192, 0, 2, 1]).copy(ip, 12);
  Buffer.from([192, 0, 2, 2]).copy(ip, 16);
  return Buffer.concat([ip, inner]);
}

function decode(frame: Buffer): { res: DecodeResult; p: Packet } {
  const p = new Packet();
  const res = decodePacket(frame, 0, frame.length, ETHERNET, p);
  return { res, p };
}

function assertInner(name: string, frame: Buffer): void {
  const { res, p } = decode(frame);
  assert.equal(res, DecodeResult.Ok, name);
  assert.deepEqual([p.family, p.proto, p.s3 >>> 0, p.d3 >>> 0, p.sport, p.dport, p.seq, p.ack], [4, 6, 0x0a010102, 0x0a010101, 40000, 6379, 7, 9], name);
  assert.equal(frame.subarray(p.payloadOff, p.payloadOff + p.payloadCap).toString(), 'PING\r\n', name);
  assert.equal(p.payloadLen, 6, name);
}

test('item 6: PPPoE sessions, plain and under QinQ tags, are decoded to their IP packet', () => {
  assertInner('PPPoE', Buffer.concat([ethernet(0x8864), pppoe(0x0021, INNER_IP.length), INNER_IP]));
  assertInner('QinQ PPPoE', Buffer.concat([ethernet(0x88a8), vlan(0x8100, 100), vlan(0x8864, 200), pppoe(0x0021, INNER_IP.length), INNER_IP]));
  const v6 = tcpPacket('raw', 'fd00::2', 40000, 'fd00::1', 6379, 7, 9, 0x18, Buffer.from('PING\r\n'));
  const { res, p } = decode(Buffer.concat([ethernet(0x8864), pppoe(0x0057, v6.length), v6]));
  assert.deepEqual([res, p.family, p.dport, p.payloadLen], [DecodeResult.Ok, 6, 6379, 6]);
});

test('item 6: MPLS, GRE, ERSPAN, VXLAN, Geneve and IP in IP are decoded to their inner IP packet', () => {
  const labels = Buffer.from([0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40]); // two labels, the second bottom of stack
  assertInner('MPLS', Buffer.concat([ethernet(0x8847), labels, INNER_IP]));
  assertInner('GRE', Buffer.concat([ethernet(0x0800), outerIp(47, Buffer.concat([u16(0x0000, 0x0800), INNER_IP]))]));
  assertInner('GRE with checksum and key', Buffer.concat([ethernet(0x0800), outerIp(47, Buffer.concat([u16(0xa000, 0x0800), Buffer.alloc(8), INNER_IP]))]));
  assertInner('GRE bridging Ethernet', Buffer.concat([ethernet(0x0800), outerIp(47, Buffer.concat([u16(0x2000, 0x6558), Buffer.alloc(4), INNER_ETH]))]));
  assertInner('ERSPAN II', Buffer.concat([ethernet(0x0800), outerIp(47, Buffer.concat([u16(0x1000, 0x88be), Buffer.alloc(4), Buffer.from([0x10, 0, 0, 1, 0, 0, 0, 0]), INNER_ETH]))]));
  assertInner('ERSPAN III', Buffer.concat([ethernet(0x0800), outerIp(47, Buffer.concat([u16(0x1000, 0x22eb), Buffer.alloc(4), Buffer.alloc(12), INNER_ETH]))]));
  const subheader = Buffer.alloc(12);
  subheader[11] = 1; // O: an 8-byte platform subheader follows
  assertInner('ERSPAN III with subheader', Buffer.concat([ethernet(0x0800), outerIp(47, Buffer.concat([u16(0x1000, 0x22eb), Buffer.alloc(4), subheader, Buffer.alloc(8), INNER_ETH]))]));
  const vxlanHdr = Buffer.from([0x08, 0, 0, 0, 0, 0, 42, 0]);
  assertInner('VXLAN', udpPacket('ethernet', '192.0.2.1', 50000, '192.0.2.2', 4789, Buffer.concat([vxlanHdr, INNER_ETH])));
  const geneve = Buffer.concat([Buffer.from([0x01, 0x00]), u16(0x6558), Buffer.from([0, 0, 42, 0]), Buffer.alloc(4)]); // one 4-byte option
  assertInner('Geneve', udpPacket('ethernet', '192.0.2.1', 50000, '192.0.2.2', 6081, Buffer.concat([geneve, INNER_ETH])));
  assertInner('IP in IP', Buffer.concat([ethernet(0x0800), outerIp(4, INNER_IP)]));
  assertInner('VLAN, then VXLAN', Buffer.concat([ethernet(0x8100), vlan(0x0800).subarray(0, 2), Buffer.from([0x08, 0x00]), udpPacket('raw', '192.0.2.1', 50000, '192.0.2.2', 4789, Buffer.concat([vxlanHdr, INNER_ETH]))]));
});

test('item 6: encapsulations that carry something else are counted by name', () => {
  const lcp = Buffer.concat([ethernet(0x8864), pppoe(0xc021, 4), Buffer.alloc(4)]);
  const padi = Buffer.concat([ethernet(0x8863), Buffer.alloc(6)]);
  const pw = Buffer.concat([ethernet(0x8847), Buffer.from([0, 1, 1, 64]), Buffer.alloc(4), INNER_ETH]); // a pseudowire: control word, then Ethernet
  const greOther = Buffer.concat([ethernet(0x0800), outerIp(47, Buffer.concat([u16(0, 0x880b), Buffer.alloc(8)]))]);
  assert.equal(decode(lcp).res, DecodeResult.PppoeNotIp);
  assert.equal(decode(padi).res, DecodeResult.PppoeNotIp);
  assert.equal(decode(pw).res, DecodeResult.MplsNotIp);
  assert.equal(decode(greOther).res, DecodeResult.GreNotIp);
  let deep = INNER_IP;
  for (let i = 0; i < 6; i++) deep = outerIp(4, deep);
  assert.equal(decode(Buffer.concat([ethernet(0x0800), deep])).res, DecodeResult.TunnelTooDeep);
  const counts = new Array<number>(10).fill(0);
  counts[DecodeResult.PppoeNotIp] = 2;
  counts[DecodeResult.MplsNotIp] = 1;
  counts[DecodeResult.GreNotIp] = 1;
  assert.equal(notDecodedText(counts), '2 PPPoE discovery or PPP control, 1 MPLS not carrying IP, 1 GRE carrying neither IP nor Ethernet');
});

test('item 6: tcpkit -r pairs Redis over PPPoE under QinQ, and names what it could not open', () => {
  const c = new Conversation('raw', '10.1.1.2', 40000, '10.1.1.1', 6379)
    .handshake(1_580_000_000_000_000)
    .request(1_580_000_000_001_000, '*1\r\n$4\r\nPING\r\n')
    .response(1_580_000_000_001_250, '+PONG\r\n');
  const frames = c.frames.map((f) => ({ tsUs: f.tsUs, data: Buffer.concat([ethernet(0x88a8), vlan(0x8100, 100), vlan(0x8864, 200), pppoe(0x0021, f.data.length), f.data]) }));
  frames.push({ tsUs: 1_580_000_000_002_000, data: Buffer.concat([ethernet(0x8864), pppoe(0xc021, 4), Buffer.alloc(4)]) });
  const file = path.join(dir, 'pppoe.pcap');
  writePcap(file, 'ethernet', frames);
  const r = tcpkit(['-r', file, '-p', '6379', '-m', 'redis']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(parseLines(r.stdout).map((l) => [l.request, l.latencyMs]), [['PING', 0.25]]);
  assert.equal(parseSummary(r.stderr).undecoded, 1);
  assert.match(r.stderr, /1 packet not decoded \(1 PPPoE discovery or PPP control\)/);
});

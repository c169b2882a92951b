// Builds small pcap files for tests: TCP conversations over IPv4 or IPv6 with
// the link layer of your choice, sequence numbers kept for you.
import fs from 'node:fs';

export type Link = 'ethernet' | 'vlan' | 'sll' | 'sll2' | 'raw' | 'null';
const DLT: Record<Link, number> = { ethernet: 1, vlan: 1, sll: 113, sll2: 276, raw: 101, null: 0 };

export interface Frame {
  /** Microseconds since the epoch. */
  tsUs: number;
  data: Buffer;
  /** Bytes kept (snaplen); the rest are on the wire only. */
  capLen?: number;
}

function ipWords(ip: string): Buffer {
  if (ip.includes(':')) {
    const [h, t = ''] = ip.split('::');
    const head = h ? h.split(':') : [];
    const tail = t ? t.split(':') : [];
    const groups = [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail];
    const b = Buffer.alloc(16);
    groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
    return b;
  }
  return Buffer.from(ip.split('.').map(Number));
}

function linkHeader(link: Link, v6: boolean): Buffer {
  const ethertype = v6 ? 0x86dd : 0x0800;
  switch (link) {
    case 'ethernet': {
      const b = Buffer.alloc(14);
      b.writeUInt16BE(ethertype, 12);
      return b;
    }
    case 'vlan': {
      const b = Buffer.alloc(18);
      b.writeUInt16BE(0x8100, 12);
      b.writeUInt16BE(42, 14);
      b.writeUInt16BE(ethertype, 16);
      return b;
    }
    case 'sll': {
      const b = Buffer.alloc(16);
      b.writeUInt16BE(ethertype, 14);
      return b;
    }
    case 'sll2': {
      const b = Buffer.alloc(20);
      b.writeUInt16BE(ethertype, 0);
      return b;
    }
    case 'null': {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(v6 ? 30 : 2, 0);
      return b;
    }
    case 'raw':
      return Buffer.alloc(0);
  }
}

export const FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16;

/** An IP packet (v4 or v6, as the addresses are) carrying `l4` as protocol `proto`, behind the link header. */
function ipPacket(link: Link, src: string, dst: string, proto: number, l4: Buffer): Buffer {
  const v6 = src.includes(':');
  let ip: Buffer;
  if (v6) {
    ip = Buffer.alloc(40);
    ip[0] = 0x60;
    ip.writeUInt16BE(l4.length, 4);
    ip[6] = proto;
    ip[7] = 64;
    ipWords(src).copy(ip, 8);
    ipWords(dst).copy(ip, 24);
  } else {
    ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + l4.length, 2);
    ip[8] = 64;
    ip[9] = proto;
    ipWords(src).copy(ip, 12);
    ipWords(dst).copy(ip, 16);
  }
  return Buffer.concat([linkHeader(link, v6), ip, l4]);
}

export function tcpPacket(link: Link, src: string, sport: number, dst: string, dport: number, seq: number, ack: number, flags: number, payload: Buffer): Buffer {
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(sport, 0);
  tcp.writeUInt16BE(dport, 2);
  tcp.writeUInt32BE(seq >>> 0, 4);
  tcp.writeUInt32BE(ack >>> 0, 8);
  tcp[12] = 5 << 4;
  tcp[13] = flags;
  tcp.writeUInt16BE(65535, 14);
  return ipPacket(link, src, dst, 6, Buffer.concat([tcp, payload]));
}

export function udpPacket(link: Link, src: string, sport: number, dst: string, dport: number, payload: Buffer): Buffer {
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(sport, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  return ipPacket(link, src, dst, 17, Buffer.concat([udp, payload]));
}

/**
 * A UDP datagram from src to dst, as IP packets: one, or fragments carrying
 * at most `fragSize` bytes of the IP payload each (a multiple of 8), in order.
 */
export function udpPackets(link: Link, src: string, sport: number, dst: string, dport: number, payload: Buffer, fragSize = 0, id = 0x1234): Buffer[] {
  const v6 = src.includes(':');
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(sport, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  const l4 = Buffer.concat([udp, payload]);
  const size = fragSize > 0 ? fragSize : l4.length;
  const out: Buffer[] = [];
  for (let off = 0; off < l4.length; off += size) {
    const piece = l4.subarray(off, off + size);
    const more = off + size < l4.length;
    const fragmented = fragSize > 0 && l4.length > fragSize;
    let ip: Buffer;
    if (v6) {
      const frag = fragmented ? Buffer.alloc(8) : Buffer.alloc(0);
      if (fragmented) {
        frag[0] = 17;
        frag.writeUInt16BE(off | (more ? 1 : 0), 2);
        frag.writeUInt32BE(id, 4);
      }
      ip = Buffer.alloc(40);
      ip[0] = 0x60;
      ip.writeUInt16BE(frag.length + piece.length, 4);
      ip[6] = fragmented ? 44 : 17;
      ip[7] = 64;
      ipWords(src).copy(ip, 8);
      ipWords(dst).copy(ip, 24);
      ip = Buffer.concat([ip, frag]);
    } else {
      ip = Buffer.alloc(20);
      ip[0] = 0x45;
      ip.writeUInt16BE(20 + piece.length, 2);
      ip.writeUInt16BE(id & 0xffff, 4);
      ip.writeUInt16BE((off >> 3) | (more ? 0x2000 : 0), 6);
      ip[8] = 64;
      ip[9] = 17;
      ipWords(src).copy(ip, 12);
      ipWords(dst).copy(ip, 16);
    }
    out.push(Buffer.concat([linkHeader(link, v6), ip, piece]));
  }
  return out;
}

/** A TCP conversation between one client and one server, tracking sequence numbers. */
export class Conversation {
  frames: Frame[] = [];
  private cseq = 1000;
  private sseq = 5000;
  constructor(
    readonly link: Link,
    readonly client: string,
    readonly cport: number,
    readonly server: string,
    readonly sport: number,
  ) {}

  handshake(tsUs: number): this {
    this.push(tsUs, true, SYN, Buffer.alloc(0));
    this.cseq++;
    this.push(tsUs + 10, false, SYN | ACK, Buffer.alloc(0));
    this.sseq++;
    this.push(tsUs + 20, true, ACK, Buffer.alloc(0));
    return this;
  }

  /** Client sends `data` at tsUs (in segments of `mss` bytes, 1 µs apart). */
  request(tsUs: number, data: string | Buffer, mss = 65000): this {
    return this.send(true, tsUs, data, mss);
  }

  response(tsUs: number, data: string | Buffer, mss = 65000): this {
    return this.send(false, tsUs, data, mss);
  }

  /** Sends a segment without advancing the sequence number: a retransmission. */
  retransmit(tsUs: number, fromClient: boolean, data: string | Buffer, back: number): this {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const seq = (fromClient ? this.cseq : this.sseq) - back;
    this.frames.push({ tsUs, data: this.packet(fromClient, seq, PSH | ACK, buf) });
    return this;
  }

  /** The client's SYN again, with its first sequence number: a retransmitted SYN. */
  retransmitSyn(tsUs: number): this {
    this.frames.push({ tsUs, data: this.packet(true, 1000, SYN, Buffer.alloc(0)) });
    return this;
  }

  /** A pure ACK from one side, acknowledging everything the other has sent (lost bytes included). */
  ack(tsUs: number, fromClient: boolean): this {
    this.push(tsUs, fromClient, ACK, Buffer.alloc(0));
    return this;
  }

  /** A reset from one side. */
  reset(tsUs: number, fromClient: boolean): this {
    this.push(tsUs, fromClient, RST | ACK, Buffer.alloc(0));
    return this;
  }

  /** Advances the sequence without emitting: the capture lost these bytes. */
  lose(fromClient: boolean, n: number): this {
    if (fromClient) this.cseq += n;
    else this.sseq += n;
    return this;
  }

  close(tsUs: number): this {
    this.push(tsUs, true, FIN | ACK, Buffer.alloc(0));
    this.cseq++;
    this.push(tsUs + 10, false, FIN | ACK, Buffer.alloc(0));
    this.sseq++;
    this.push(tsUs + 20, true, ACK, Buffer.alloc(0));
    return this;
  }

  private send(fromClient: boolean, tsUs: number, data: string | Buffer, mss: number): this {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    for (let off = 0, i = 0; off < buf.length; off += mss, i++) {
      const seg = buf.subarray(off, off + mss);
      this.push(tsUs + i, fromClient, PSH | ACK, seg);
      if (fromClient) this.cseq += seg.length;
      else this.sseq += seg.length;
    }
    return this;
  }

  private push(tsUs: number, fromClient: boolean, flags: number, payload: Buffer): void {
    this.frames.push({ tsUs, data: this.packet(fromClient, fromClient ? this.cseq : this.sseq, flags, payload) });
  }

  private packet(fromClient: boolean, seq: number, flags: number, payload: Buffer): Buffer {
    return fromClient
      ? tcpPacket(this.link, this.client, this.cport, this.server, this.sport, seq, this.sseq, flags, payload)
      : tcpPacket(this.link, this.server, this.sport, this.client, this.cport, seq, this.cseq, flags, payload);
  }
}

/** Writes frames (sorted by time) as a microsecond pcap file. */
export function writePcap(file: string, link: Link, frames: Frame[], snaplen = 262144): void {
  fs.writeFileSync(file, pcapBytes(link, frames, snaplen));
}

/** Frames (sorted by time) as the bytes of a microsecond pcap file. */
export function pcapBytes(link: Link, frames: Frame[], snaplen = 262144): Buffer {
  const sorted = [...frames].sort((a, b) => a.tsUs - b.tsUs);
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(snaplen, 16);
  gh.writeUInt32LE(DLT[link], 20);
  parts.push(gh);
  for (const f of sorted) {
    const cap = Math.min(f.capLen ?? f.data.length, f.data.length, snaplen);
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(Math.floor(f.tsUs / 1e6), 0);
    rh.writeUInt32LE(f.tsUs % 1e6, 4);
    rh.writeUInt32LE(cap, 8);
    rh.writeUInt32LE(f.data.length, 12);
    parts.push(rh, f.data.subarray(0, cap));
  }
  return Buffer.concat(parts);
}

/**
 * Writes a microsecond pcap file packet by packet, for captures too large to
 * build in memory. Packets must come in time order; close() when done.
 */
export class PcapStream {
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  packets = 0;

  constructor(
    readonly file: string,
    link: Link,
    readonly snaplen = 262144,
  ) {
    this.fd = fs.openSync(file, 'w');
    this.buf.writeUInt32LE(0xa1b2c3d4, 0);
    this.buf.writeUInt16LE(2, 4);
    this.buf.writeUInt16LE(4, 6);
    this.buf.writeUInt32LE(0, 8);
    this.buf.writeUInt32LE(0, 12);
    this.buf.writeUInt32LE(snaplen, 16);
    this.buf.writeUInt32LE(DLT[link], 20);
    this.used = 24;
  }

  write(frame: Frame): void {
    const cap = Math.min(frame.capLen ?? frame.data.length, frame.data.length, this.snaplen);
    if (this.used + 16 + cap > this.buf.length) this.flush();
    if (16 + cap > this.buf.length) throw new Error(`a packet of ${cap} bytes does not fit the stream's buffer`);
    const b = this.buf;
    b.writeUInt32LE(Math.floor(frame.tsUs / 1e6), this.used);
    b.writeUInt32LE(frame.tsUs % 1e6, this.used + 4);
    b.writeUInt32LE(cap, this.used + 8);
    b.writeUInt32LE(frame.data.length, this.used + 12);
    frame.data.copy(b, this.used + 16, 0, cap);
    this.used += 16 + cap;
    this.packets++;
  }

  private flush(): void {
    let off = 0;
    while (off < this.used) off += fs.writeSync(this.fd, this.buf, off, this.used - off);
    this.used = 0;
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }
}

/** Writes frames (sorted by time) as a pcapng file: one section, one interface, microsecond times. */
export function writePcapng(file: string, link: Link, frames: Frame[], snaplen = 262144): void {
  fs.writeFileSync(file, pcapngBytes(link, frames, snaplen));
}

/** Frames (sorted by time) as the bytes of a pcapng file. */
export function pcapngBytes(link: Link, frames: Frame[], snaplen = 262144): Buffer {
  const block = (type: number, body: Buffer): Buffer => {
    const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
    const b = Buffer.alloc(12 + padded.length);
    b.writeUInt32LE(type, 0);
    b.writeUInt32LE(b.length, 4);
    padded.copy(b, 8);
    b.writeUInt32LE(b.length, b.length - 4);
    return b;
  };
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0); // byte-order magic
  shb.writeUInt16LE(1, 4);
  shb.writeUInt16LE(0, 6);
  shb.writeBigInt64LE(-1n, 8); // section length unknown
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(DLT[link], 0);
  idb.writeUInt32LE(snaplen, 4);
  const parts = [block(0x0a0d0d0a, shb), block(1, idb)];
  for (const f of [...frames].sort((a, b) => a.tsUs - b.tsUs)) {
    const cap = Math.min(f.capLen ?? f.data.length, f.data.length, snaplen);
    const epb = Buffer.alloc(20 + cap);
    const ts = BigInt(f.tsUs);
    epb.writeUInt32LE(0, 0); // interface 0
    epb.writeUInt32LE(Number(ts >> 32n), 4);
    epb.writeUInt32LE(Number(ts & 0xffffffffn), 8);
    epb.writeUInt32LE(cap, 12);
    epb.writeUInt32LE(f.data.length, 16);
    f.data.copy(epb, 20, 0, cap);
    parts.push(block(6, epb));
  }
  return Buffer.concat(parts);
}

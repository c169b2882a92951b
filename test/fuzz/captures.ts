// Captures for fuzzing: real-looking conversations in every mode, link type
// and IP version, then damaged on purpose, at two levels:
//  - packets (FrameMutation): bytes flipped, cut by a snaplen, dropped,
//    repeated, reordered, replaced by garbage, emptied;
//  - the file (ByteMutation): bytes flipped or overwritten anywhere (record
//    headers included, so lengths go wild), the file cut short, bytes
//    inserted or removed.
// Mutations are plain data, so fast-check can generate and shrink them, and
// the long fuzz run (test/fuzz/fuzz-cli.ts) and the AddressSanitizer run
// (test/fuzz/asan-reader.ts) draw them from a seeded generator.
import { Conversation, pcapBytes, pcapngBytes, udpPacket, type Frame, type Link } from '../helpers/pcap-writer';

export const MODES = ['redis', 'memcached', 'http', 'dns', 'raw'] as const;
export type Mode = (typeof MODES)[number];
export const LINKS: readonly Link[] = ['ethernet', 'vlan', 'sll', 'sll2', 'raw', 'null'];
export const PORT: Record<Mode, number> = { redis: 6379, memcached: 11211, http: 80, dns: 53, raw: 6379 };

/** Request and response, as the wire carries them. */
type Exchange = [string | Buffer, string | Buffer];

function memcachedBinary(magic: number, opcode: number, key: string, value: string, opaque: number, status = 0): Buffer {
  const b = Buffer.alloc(24 + key.length + value.length);
  b[0] = magic;
  b[1] = opcode;
  b.writeUInt16BE(key.length, 2);
  b.writeUInt16BE(status, 6);
  b.writeUInt32BE(key.length + value.length, 8);
  b.writeUInt32BE(opaque, 12);
  b.write(key, 24, 'latin1');
  b.write(value, 24 + key.length, 'latin1');
  return b;
}

/** A DNS message: one question, no answers. */
export function dnsMessage(id: number, response: boolean, name: string, rcode = 0): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  const q = Buffer.concat([...labels, Buffer.from([0, 0, 1, 0, 1])]);
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(response ? 0x8180 | rcode : 0x0100, 2);
  h.writeUInt16BE(1, 4);
  return Buffer.concat([h, q]);
}

const tcpLength = (m: Buffer): Buffer => Buffer.concat([Buffer.from([m.length >> 8, m.length & 255]), m]);

const EXCHANGES: Record<Mode, Exchange[]> = {
  redis: [
    ['*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n', '+OK\r\n'],
    ['*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n', '$5\r\nvalue\r\n'],
    ['*1\r\n$4\r\nPING\r\n', '+PONG\r\n'],
    ['*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n', ':1\r\n'],
    ['*2\r\n$3\r\nGET\r\n$7\r\nmissing\r\n', '$-1\r\n'],
    ['*1\r\n$7\r\nFOOBARX\r\n', "-ERR unknown command 'FOOBARX'\r\n"],
    ['*4\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n$1\r\n0\r\n$2\r\n-1\r\n', '*2\r\n$1\r\na\r\n$1\r\nb\r\n'],
    ['*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n', '*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n'],
    ['PING\r\n', '+PONG\r\n'],
    [`*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$3000\r\n${'v'.repeat(3000)}\r\n`, '+OK\r\n'],
    ['*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n', `$3000\r\n${'v'.repeat(3000)}\r\n`],
  ],
  memcached: [
    ['set k 0 0 5\r\nvalue\r\n', 'STORED\r\n'],
    ['get k\r\n', 'VALUE k 0 5\r\nvalue\r\nEND\r\n'],
    ['get a b c\r\n', 'END\r\n'],
    ['incr n 1\r\n', '2\r\n'],
    ['bogus\r\n', 'ERROR\r\n'],
    ['delete k noreply\r\nget k\r\n', 'END\r\n'],
    [memcachedBinary(0x80, 0x00, 'key', '', 7), memcachedBinary(0x81, 0x00, '', 'value', 7)],
    [memcachedBinary(0x80, 0x09, 'q1', '', 8), memcachedBinary(0x81, 0x00, '', 'x', 8, 1)],
  ],
  http: [
    ['GET / HTTP/1.1\r\nHost: a\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'],
    ['HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n'],
    ['POST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc', 'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'],
    ['GET /missing HTTP/1.1\r\nHost: a\r\n\r\n', 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'],
    ['GET /busy HTTP/1.1\r\nHost: a\r\n\r\n', 'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\n\r\nsorry'],
    ['GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n', 'HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n'],
  ],
  dns: [
    [tcpLength(dnsMessage(1, false, 'example.com')), tcpLength(dnsMessage(1, true, 'example.com'))],
    [tcpLength(dnsMessage(2, false, 'nope.example')), tcpLength(dnsMessage(2, true, 'nope.example', 3))],
  ],
  raw: [
    ['*1\r\n$4\r\nPING\r\n', '+PONG\r\n'],
    ['hello\x00\x01\x02\r\n', 'world\xff\r\n'],
  ],
};

const T0 = 1_600_000_000_000_000;

export interface Seed {
  mode: Mode;
  link: Link;
  v6: boolean;
  /** Which exchanges, by index (taken modulo the mode's list). */
  picks: number[];
  /** Segment size for the payloads. */
  mss: number;
  /** Pipelined: all requests, then all responses. */
  pipelined: boolean;
}

/** The unharmed capture a seed describes: one TCP connection (and, for DNS, UDP queries too). */
export function seedFrames(seed: Seed): Frame[] {
  const [client, server] = seed.v6 ? ['fd00::2', 'fd00::1'] : ['10.0.0.2', '10.0.0.1'];
  const port = PORT[seed.mode];
  const list = EXCHANGES[seed.mode];
  const ex = seed.picks.map((p) => list[p % list.length]);
  const c = new Conversation(seed.link, client, 40000, server, port).handshake(T0);
  let t = T0 + 1000;
  const mss = Math.max(1, seed.mss);
  if (seed.pipelined) {
    for (const [req] of ex) c.request((t += 10), req, mss);
    for (const [, rsp] of ex) if (rsp.length > 0) c.response((t += 10), rsp, mss);
  } else {
    for (const [req, rsp] of ex) {
      c.request((t += 10), req, mss);
      if (rsp.length > 0) c.response((t += 100), rsp, mss);
    }
  }
  c.close((t += 10));
  const frames = c.frames;
  if (seed.mode === 'dns') {
    seed.picks.forEach((p, i) => {
      const id = 100 + i;
      frames.push({ tsUs: T0 + 10 * i, data: udpPacket(seed.link, client, 50000 + i, server, 53, dnsMessage(id, false, 'example.org')) });
      frames.push({ tsUs: T0 + 10 * i + 5, data: udpPacket(seed.link, server, 53, client, 50000 + i, dnsMessage(id, true, 'example.org', p % 4)) });
    });
  }
  return frames.sort((a, b) => a.tsUs - b.tsUs);
}

export const FRAME_MUTATIONS = ['flip', 'cut', 'drop', 'repeat', 'swap', 'garbage', 'empty', 'wire'] as const;

export interface FrameMutation {
  kind: (typeof FRAME_MUTATIONS)[number];
  /** Which frame (modulo the count) and where in it (modulo its length). */
  frame: number;
  at: number;
  value: number;
}

/** The frames with each mutation applied in turn. */
export function mutateFrames(input: Frame[], mutations: FrameMutation[]): Frame[] {
  const frames = input.map((f) => ({ ...f, data: Buffer.from(f.data) }));
  for (const m of mutations) {
    if (frames.length === 0) break;
    const i = m.frame % frames.length;
    const f = frames[i];
    switch (m.kind) {
      case 'flip':
        if (f.data.length > 0) f.data[m.at % f.data.length] ^= 1 << (m.value & 7) || 1;
        break;
      case 'cut': // a snaplen: the packet's head only
        f.capLen = f.data.length === 0 ? 0 : m.at % f.data.length;
        break;
      case 'drop':
        frames.splice(i, 1);
        break;
      case 'repeat':
        frames.splice(i, 0, { ...f, data: Buffer.from(f.data) });
        break;
      case 'swap':
        if (i + 1 < frames.length) [frames[i], frames[i + 1]] = [frames[i + 1], frames[i]];
        break;
      case 'garbage': {
        const g = Buffer.alloc(m.at % 120);
        for (let k = 0; k < g.length; k++) g[k] = (m.value * (k + 1) * 2654435761) >>> 24;
        f.data = g;
        f.capLen = undefined;
        break;
      }
      case 'empty':
        f.data = Buffer.alloc(0);
        f.capLen = undefined;
        break;
      case 'wire': // a byte inside the headers, where lengths and ports live
        if (f.data.length > 0) f.data[m.at % Math.min(f.data.length, 64)] = m.value & 255;
        break;
    }
  }
  return frames;
}

export const BYTE_MUTATIONS = ['flip', 'set', 'set32', 'cut', 'insert', 'delete'] as const;

export interface ByteMutation {
  kind: (typeof BYTE_MUTATIONS)[number];
  at: number;
  value: number;
}

/** The file's bytes with each mutation applied in turn. */
export function mutateBytes(input: Buffer, mutations: ByteMutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of mutations) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    switch (m.kind) {
      case 'flip':
        b[at] ^= 1 << (m.value & 7);
        break;
      case 'set':
        b[at] = m.value & 255;
        break;
      case 'set32': // lengths in record headers: small, large, enormous
        if (at + 4 <= b.length) b.writeUInt32LE([0, 1, 65535, 262144, 262145, 0x7fffffff, 0xffffffff, m.value >>> 0][m.value & 7] >>> 0, at);
        break;
      case 'cut':
        b = b.subarray(0, at);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.alloc((m.value & 31) + 1, m.value & 255), b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + (m.value & 63) + 1)]);
        break;
    }
  }
  return b;
}

/** The capture file a seed and its mutations make, as pcap or pcapng. */
export function captureBytes(seed: Seed, frameMutations: FrameMutation[], byteMutations: ByteMutation[], format: 'pcap' | 'pcapng', snaplen = 262144): Buffer {
  const frames = mutateFrames(seedFrames(seed), frameMutations);
  const file = format === 'pcap' ? pcapBytes(seed.link, frames, snaplen) : pcapngBytes(seed.link, frames, snaplen);
  return mutateBytes(file, byteMutations);
}

/** A seeded generator (xorshift32): the long runs draw seeds and mutations from it. */
export function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** A random seed and mutations, from a generator: for the long runs. */
export function randomCase(next: () => number): { seed: Seed; frames: FrameMutation[]; bytes: ByteMutation[]; format: 'pcap' | 'pcapng'; snaplen: number } {
  const n = (k: number) => next() % k;
  const seed: Seed = {
    mode: MODES[n(MODES.length)],
    link: LINKS[n(LINKS.length)],
    v6: n(2) === 1,
    picks: Array.from({ length: 1 + n(8) }, () => n(64)),
    mss: [1, 3, 7, 40, 536, 1460, 65000][n(7)],
    pipelined: n(2) === 1,
  };
  const frames = Array.from({ length: n(12) }, () => ({ kind: FRAME_MUTATIONS[n(FRAME_MUTATIONS.length)], frame: next(), at: next(), value: next() }));
  const bytes = Array.from({ length: n(3) === 0 ? 0 : n(6) }, () => ({ kind: BYTE_MUTATIONS[n(BYTE_MUTATIONS.length)], at: next(), value: next() }));
  return { seed, frames, bytes, format: n(2) === 0 ? 'pcap' : 'pcapng', snaplen: [262144, 65535, 96, 60][n(4)] };
}

// The eBPF hand-over (pipeline.onSamples) on ring records built as the kernel
// program writes them (bpf/sample.h): flow ids that find their connection by
// index, and every case where the id cannot be trusted or is missing, which
// must fall back to the addresses and still pair exactly.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RING_HDR_LEN, RING_DISCARD } from '../../src/engine/ring';
import { SAMPLE_HDR_LEN, SampleField, SampleInfo } from '../../src/decode/sample';
import { IpProto, TcpFlag } from '../../src/decode/packet';
import { Pipeline } from '../../src/pipeline';
import { LineOutput } from '../../src/output/lines';
import { FdWriter } from '../../src/output/writer';
import { respParser } from '../../src/protocol/resp';
import { buildConfig } from '../../src/cli/config';
import { parseLines } from '../helpers/run';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-samples-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** 2020-01-26 00:53:20 UTC: the wall clock the samples' monotonic time is offset to. */
const WALL = 1_580_000_000;

interface End {
  ip: string;
  port: number;
}

interface SampleSpec {
  /** Microseconds after WALL. */
  us: number;
  flowId: number;
  client: End;
  server: End;
  fromClient: boolean;
  flags?: number;
  seq: number;
  ack?: number;
  payload?: string;
  /** Extra info bits (NoFlow); SrcLow is worked out as the program does. */
  info?: number;
  discard?: boolean;
}

function addrBytes(ip: string): Buffer {
  if (!ip.includes(':')) return Buffer.from(ip.split('.').map(Number));
  const [h, t = ''] = ip.split('::');
  const head = h ? h.split(':') : [];
  const tail = t ? t.split(':') : [];
  const groups = [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), 2 * i));
  return b;
}

/** The lower (address, port) end first, as the program keys its flow map. */
function srcIsLow(src: End, dst: End): boolean {
  const c = Buffer.compare(addrBytes(src.ip), addrBytes(dst.ip));
  return c < 0 || (c === 0 && src.port <= dst.port);
}

/** Ring records (8-byte header, sample, padding to 8) for `specs`, in order. */
function ring(specs: SampleSpec[]): Buffer {
  const parts: Buffer[] = [];
  for (const s of specs) {
    const payload = Buffer.from(s.payload ?? '', 'latin1');
    const sampleLen = SAMPLE_HDR_LEN + payload.length;
    const rec = Buffer.alloc((RING_HDR_LEN + sampleLen + 7) & ~7);
    rec.writeUInt32LE(sampleLen | (s.discard ? RING_DISCARD : 0), 0);
    const o = RING_HDR_LEN;
    const [src, dst] = s.fromClient ? [s.client, s.server] : [s.server, s.client];
    rec.writeUInt32LE(Math.floor(s.us / 1e6), o + SampleField.TsSec);
    rec.writeUInt32LE((s.us % 1e6) * 1000, o + SampleField.TsNsec);
    rec.writeUInt32LE(s.flowId, o + SampleField.FlowId);
    rec.writeUInt32LE(s.seq >>> 0, o + SampleField.Seq);
    rec.writeUInt32LE((s.ack ?? 0) >>> 0, o + SampleField.Ack);
    rec.writeUInt32LE(payload.length, o + SampleField.PayloadLen);
    rec.writeUInt32LE(payload.length, o + SampleField.CapLen);
    rec.writeUInt32LE(payload.length + 40, o + SampleField.OrigLen);
    rec.writeUInt16LE(src.port, o + SampleField.Sport);
    rec.writeUInt16LE(dst.port, o + SampleField.Dport);
    rec[o + SampleField.TcpFlags] = s.flags ?? (payload.length > 0 ? TcpFlag.Ack | TcpFlag.Psh : TcpFlag.Ack);
    rec[o + SampleField.Info] = (srcIsLow(src, dst) ? SampleInfo.SrcLow : 0) | (s.info ?? 0);
    rec[o + SampleField.Proto] = IpProto.Tcp;
    rec[o + SampleField.Family] = src.ip.includes(':') ? 6 : 4;
    addrBytes(src.ip).copy(rec, o + SampleField.Saddr);
    addrBytes(dst.ip).copy(rec, o + SampleField.Daddr);
    payload.copy(rec, o + SAMPLE_HDR_LEN);
    parts.push(rec);
  }
  return Buffer.concat(parts);
}

/** A TCP conversation's samples, its sequence numbers kept as the kernel would see them. */
class Flow {
  readonly samples: SampleSpec[] = [];
  private cseq = 1000;
  private sseq = 5000;
  constructor(readonly client: End, readonly server: End, public flowId: number) {}

  private add(us: number, fromClient: boolean, flags: number, payload = ''): this {
    const seq = fromClient ? this.cseq : this.sseq;
    const ack = fromClient ? this.sseq : this.cseq;
    this.samples.push({ us, flowId: this.flowId, client: this.client, server: this.server, fromClient, flags, seq, ack, payload });
    const advance = payload.length + ((flags & (TcpFlag.Syn | TcpFlag.Fin)) !== 0 ? 1 : 0);
    if (fromClient) this.cseq += advance;
    else this.sseq += advance;
    return this;
  }

  handshake(us: number): this {
    this.add(us, true, TcpFlag.Syn);
    return this.add(us + 10, false, TcpFlag.Syn | TcpFlag.Ack);
  }

  request(us: number, payload: string): this {
    return this.add(us, true, TcpFlag.Ack | TcpFlag.Psh, payload);
  }

  response(us: number, payload: string): this {
    return this.add(us, false, TcpFlag.Ack | TcpFlag.Psh, payload);
  }
}

const GET = (k: string) => `*2\r\n$3\r\nGET\r\n$${k.length}\r\n${k}\r\n`;

/**
 * Runs the samples through a Pipeline as `tcpkit --ebpf -p 6379 -m redis`
 * would, `chunks` drains of them; returns the lines and the pipeline.
 */
function run(specs: SampleSpec[], chunks = 1) {
  const per = Math.ceil(specs.length / chunks);
  const drains: SampleSpec[][] = [];
  for (let i = 0; i < specs.length; i += per) drains.push(specs.slice(i, i + per));
  return runDrains(drains);
}

/** The same, one drain per element of `drains`, with `--timeout` when given. */
function runDrains(drains: SampleSpec[][], timeout?: string) {
  const file = path.join(dir, `out-${Math.random().toString(36).slice(2)}.txt`);
  const fd = fs.openSync(file, 'w');
  const config = buildConfig({ port: '6379', mode: 'redis', timeout });
  const pipeline = new Pipeline(config, [new LineOutput(new FdWriter(fd), config.thresholdMs)], respParser, null);
  for (const specs of drains) {
    const data = ring(specs);
    // Drains hand over a range of the ring: put this one at an offset, behind other bytes.
    const mapped = Buffer.concat([Buffer.alloc(64, 0xee), data, Buffer.alloc(64, 0xee)]);
    pipeline.onSamples(mapped, 64, 64 + data.length, WALL, 0);
  }
  pipeline.finish();
  fs.closeSync(fd);
  const out = fs.readFileSync(file, 'utf8');
  return { lines: parseLines(out), out, pipeline };
}

const byTime = (specs: SampleSpec[]) => specs.sort((a, b) => a.us - b.us);
const server: End = { ip: '10.0.0.1', port: 6379 };

test('flow ids: each connection found by its id, every request paired with its own latency', () => {
  const a = new Flow({ ip: '10.0.0.2', port: 40000 }, server, 1).handshake(0).request(1000, GET('a')).response(1270, '$1\r\nA\r\n');
  const b = new Flow({ ip: '10.0.0.3', port: 40001 }, server, 2).handshake(5).request(1100, GET('b')).response(1600, '$1\r\nB\r\n');
  const { out, pipeline } = run(byTime([...a.samples, ...b.samples]), 3);
  assert.equal(
    out,
    '2020-01-26 00:53:20.001270 10.0.0.2:40000 => 10.0.0.1:6379 | 0.270 ms | GET a\n' +
      '2020-01-26 00:53:20.001600 10.0.0.3:40001 => 10.0.0.1:6379 | 0.500 ms | GET b\n',
  );
  assert.equal(pipeline.table.counters.flowsRenamed, 0);
  assert.equal(pipeline.pairer.counters.paired, 2);
});

test('a flow slot reused after eviction (the same slot, a new id) never mixes two connections', () => {
  // Ids 7 and 7 + 65,536 share a slot: the second connection takes it while the first still waits.
  const a = new Flow({ ip: '10.0.0.2', port: 40000 }, server, 7).handshake(0).request(1000, GET('a')).response(1300, '$1\r\nA\r\n')
    .request(2000, GET('a2')).response(2050, '$2\r\nA2\r\n');
  const b = new Flow({ ip: '10.0.0.3', port: 40001 }, server, 7 + 65_536).handshake(900).request(1100, GET('b')).response(1200, '$1\r\nB\r\n')
    .request(2100, GET('b2')).response(2400, '$2\r\nB2\r\n');
  const { lines, pipeline } = run(byTime([...a.samples, ...b.samples]), 4);
  assert.deepEqual(lines.map((l) => [l.client, l.request, l.latencyMs]), [
    ['10.0.0.3:40001', 'GET b', 0.1],
    ['10.0.0.2:40000', 'GET a', 0.3],
    ['10.0.0.2:40000', 'GET a2', 0.05],
    ['10.0.0.3:40001', 'GET b2', 0.3],
  ]);
  assert.equal(pipeline.pairer.counters.paired, 4);
  assert.equal(pipeline.pairer.counters.orphanResponses, 0);
  // Neither connection was renamed: each kept its id, the slot just changed hands.
  assert.equal(pipeline.table.counters.flowsRenamed, 0);
});

test('a connection older than tcpkit (no handshake, an id never seen) is found by its addresses and pairs', () => {
  const old = new Flow({ ip: '10.0.0.9', port: 51000 }, server, 42).request(1000, GET('old')).response(1450, '$3\r\nOLD\r\n')
    .request(3000, GET('again')).response(3100, ':1\r\n');
  const { lines, pipeline } = run(old.samples, 2);
  assert.deepEqual(lines.map((l) => [l.client, l.server, l.request, l.latencyMs]), [
    ['10.0.0.9:51000', '10.0.0.1:6379', 'GET old', 0.45],
    ['10.0.0.9:51000', '10.0.0.1:6379', 'GET again', 0.1],
  ]);
  assert.equal(pipeline.table.counters.opened, 1);
});

test('the kernel forgot a flow and named it again: the same connection, counted as renamed', () => {
  const f = new Flow({ ip: '10.0.0.2', port: 40000 }, server, 3).handshake(0).request(1000, GET('x')).response(1200, '+OK\r\n');
  f.flowId = 900; // the LRU map evicted the flow: its next packet got a new id
  f.request(2000, GET('y')).response(2700, '+OK\r\n');
  const { lines, pipeline } = run(f.samples, 2);
  assert.deepEqual(lines.map((l) => [l.request, l.latencyMs]), [['GET x', 0.2], ['GET y', 0.7]]);
  assert.equal(pipeline.table.counters.flowsRenamed, 1);
  assert.equal(pipeline.table.counters.opened, 1);
});

test('the flow map full (id 0, NoFlow): every packet found by its addresses, nothing lost', () => {
  const f = new Flow({ ip: '10.0.0.2', port: 40000 }, server, 0).handshake(0).request(1000, GET('x')).response(1100, '$1\r\n1\r\n')
    .request(2000, GET('y')).response(2900, '$1\r\n2\r\n');
  for (const s of f.samples) s.info = SampleInfo.NoFlow;
  const { lines, pipeline } = run(f.samples);
  assert.deepEqual(lines.map((l) => [l.request, l.latencyMs]), [['GET x', 0.1], ['GET y', 0.9]]);
  assert.equal(pipeline.table.counters.opened, 1);
  assert.equal(pipeline.table.counters.flowsRenamed, 0);
});

test('IPv6 samples: addresses from the sample, the line in brackets', () => {
  const f = new Flow({ ip: 'fd77::2', port: 40000 }, { ip: 'fd77::1', port: 6379 }, 5).handshake(0).request(1000, GET('six')).response(1250, '$1\r\n6\r\n');
  const { out } = run(f.samples);
  assert.equal(out, '2020-01-26 00:53:20.001250 [fd77::2]:40000 => [fd77::1]:6379 | 0.250 ms | GET six\n');
});

test('both ends in one flow id: the lower end (the client here) is told apart by the SrcLow bit', () => {
  // The client's port is above the server's, and its address below: the client is the low end.
  const f = new Flow({ ip: '10.0.0.1', port: 50000 }, { ip: '10.0.0.200', port: 6379 }, 11).request(1000, GET('k')).response(1040, '$1\r\nv\r\n');
  const { lines } = run(f.samples);
  assert.deepEqual(lines.map((l) => [l.client, l.server, l.request, l.latencyMs]), [['10.0.0.1:50000', '10.0.0.200:6379', 'GET k', 0.04]]);
});

test('discarded ring records are skipped; a drain ending on a record boundary leaves nothing behind', () => {
  const f = new Flow({ ip: '10.0.0.2', port: 40000 }, server, 1).handshake(0).request(1000, GET('a')).response(1300, '+OK\r\n');
  const specs = [...f.samples];
  specs.splice(2, 0, { ...specs[2], discard: true, payload: GET('discarded') });
  const { lines, pipeline } = run(specs);
  assert.deepEqual(lines.map((l) => [l.request, l.latencyMs]), [['GET a', 0.3]]);
  assert.equal(pipeline.counters.records, 4);
});

test('--timeout on the sample path: checked once a drain, after its packets, so an answer in the same drain still pairs', () => {
  // a's request (second 0) reaches the 1 s timeout in second 1; b's packets carry the capture into second 1.
  const flows = () => {
    const a = new Flow({ ip: '10.0.0.2', port: 40000 }, server, 1).handshake(0).request(100_000, GET('a'));
    const b = new Flow({ ip: '10.0.0.3', port: 40001 }, server, 2).handshake(5).request(1_000_050, GET('b')).response(1_000_100, '+OK\r\n');
    a.response(1_000_200, '+LATE\r\n');
    return { a: a.samples, b: b.samples };
  };
  // One drain: a's answer is in it, so a is paired (900.2 ms), not given up first.
  let { a, b } = flows();
  const one = runDrains([byTime([...a, ...b])], '1');
  assert.deepEqual(one.lines.map((l) => [l.client, l.latencyMs]), [['10.0.0.3:40001', 0.05], ['10.0.0.2:40000', 900.2]]);
  assert.deepEqual([one.pipeline.pairer.counters.paired, one.pipeline.pairer.counters.unanswered, one.pipeline.pairer.counters.orphanResponses], [2, 0, 0]);
  // The answer in a later drain: the drain that reached second 1 gave a up, and its answer pairs with nothing.
  ({ a, b } = flows());
  const late = a.pop()!;
  const two = runDrains([byTime([...a, ...b.slice(0, 2)]), b.slice(2), [late]], '1');
  assert.deepEqual([two.pipeline.pairer.counters.paired, two.pipeline.pairer.counters.unanswered, two.pipeline.pairer.counters.orphanResponses], [1, 1, 1]);
  assert.deepEqual(two.lines.map((l) => [l.client, l.request, l.latencyMs]), [['10.0.0.3:40001', 'GET b', 0.05], ['10.0.0.2:40000', 'GET a', null]]);
});

test('quiet (the live clock stops): nothing to expire until a connection comes, and again once it has been swept as idle', () => {
  const config = buildConfig({ port: '6379', mode: 'redis' });
  const pipeline = new Pipeline(config, [], respParser, null);
  assert.equal(pipeline.quiet, true);
  const a = new Flow({ ip: '10.0.0.2', port: 40000 }, server, 1).handshake(0).request(1000, GET('a'));
  const data = ring(a.samples);
  pipeline.onSamples(data, 0, data.length, WALL, 0);
  assert.equal(pipeline.quiet, false);
  pipeline.clock(WALL + 20); // the request given up (--timeout 10); the connection still there
  assert.equal(pipeline.pairer.counters.unanswered, 1);
  assert.equal(pipeline.quiet, false);
  pipeline.clock(WALL + 3600); // idle for an hour: swept
  assert.equal(pipeline.table.connections, 0);
  assert.equal(pipeline.quiet, true);
});

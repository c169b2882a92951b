// What JavaScript spends per packet in each eBPF hand-over, measured in one
// process on the same packets: a recorded capture's watched packets, turned
// into (a) the record batches the eBPF engine handed over before (a copy of
// each IP packet behind a tk_record header), and (b) ring records holding
// eBPF samples (bpf/sample.h: the kernel's parse, flow id, payload only), as
// the program writes them now. Each goes through a fresh Pipeline with the
// outputs of `tcpkit -m redis -t 10` (stats, and lines that print nothing),
// several times; the best run is reported in ns per packet.
//
//   node dist/test/bench/ring-replay.js CAPTURE [PORT] [RUNS]
//
// RING_REPLAY_CHUNK_KB (default 1024) sets how much one call hands over;
// RING_REPLAY_EVICT_MB=N walks N MiB of other memory before each call, as
// redis and its clients do between two drains of the live engine, so each
// drain starts with cold caches. Then only the calls are timed.
// RING_REPLAY_ONLY=samples (or records) runs one hand-over alone: with RUNS=1
// that is a cold process's cost, V8 compiling the hot path included
// (process.cpuUsage counts every thread).
//
// Kernel flow ids are assigned as the program does: one per 5-tuple, both
// directions under one key, the lower (address, port) end first. Pure ACKs
// are left out, as the program leaves them in the kernel.
import { native } from '../../src/engine/native';
import { LinkType, RECORD_HDR_LEN, nextRecord, RecordField } from '../../src/engine/record';
import { RING_HDR_LEN } from '../../src/engine/ring';
import { DecodeResult, IpProto, Packet, TcpFlag, decodePacket } from '../../src/decode/packet';
import { SAMPLE_HDR_LEN, SampleField, SampleInfo } from '../../src/decode/sample';
import { Pipeline } from '../../src/pipeline';
import { Stats } from '../../src/stats/stats';
import { LineOutput } from '../../src/output/lines';
import { FdWriter } from '../../src/output/writer';
import { respParser } from '../../src/protocol/resp';
import { buildConfig } from '../../src/cli/config';
import fs from 'node:fs';

const [file, portArg, runsArg] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: node dist/test/bench/ring-replay.js CAPTURE [PORT] [RUNS]\n');
  process.exit(2);
}
const PORT = Number(portArg ?? 6379);
const RUNS = Number(runsArg ?? 5);
const CHUNK = Number(process.env.RING_REPLAY_CHUNK_KB ?? 1024) * 1024;
const ONLY = process.env.RING_REPLAY_ONLY;
const EVICT = Number(process.env.RING_REPLAY_EVICT_MB ?? 0) * 1024 * 1024;
const evictArea = new Uint8Array(EVICT);
let evictSum = 0;
/** Touches every cache line of the eviction area (writes, so the lines leave other cores' caches too). */
function evict(): void {
  for (let i = 0; i < evictArea.length; i += 64) evictSum += evictArea[i]++;
}

/** Where the IP header starts for the link types a capture of ours has. */
function ipOffset(linkType: number, buf: Buffer, off: number): number {
  switch (linkType) {
    case LinkType.Ethernet: {
      let o = 14;
      while (buf.readUInt16BE(off + o - 2) === 0x8100) o += 4;
      return o;
    }
    case LinkType.LinuxSll:
      return 16;
    case LinkType.LinuxSll2:
      return 20;
    case LinkType.Null:
    case LinkType.Loop:
      return 4;
    default:
      return 0;
  }
}

// Read the capture.
const reader = new (native().PcapFileReader)(file);
const batch = Buffer.allocUnsafeSlow(1 << 20);
const recordChunks: Buffer[] = [];
const ringChunks: Buffer[] = [];
let rec = Buffer.allocUnsafeSlow(CHUNK);
let recUsed = 0;
let ring = Buffer.allocUnsafeSlow(CHUNK);
let ringUsed = 0;
const p = new Packet();
const flowIds = new Map<string, number>();
let packets = 0;

function flush(): void {
  if (recUsed > 0) recordChunks.push(Buffer.from(rec.subarray(0, recUsed)));
  if (ringUsed > 0) ringChunks.push(Buffer.from(ring.subarray(0, ringUsed)));
  recUsed = ringUsed = 0;
}

for (;;) {
  const used = reader.read(batch);
  if (used <= 0) break;
  const linkType = reader.linkType;
  for (let off = 0; off < used; ) {
    const cap = batch.readUInt32LE(off + RecordField.CapLen);
    const data = off + RECORD_HDR_LEN;
    const tsSec = batch.readUInt32LE(off + RecordField.TsSec);
    const tsNsec = batch.readUInt32LE(off + RecordField.TsNsec);
    off = nextRecord(off, cap);
    if (decodePacket(batch, data, cap, linkType, p) !== DecodeResult.Ok || p.proto !== IpProto.Tcp) continue;
    if (p.sport !== PORT && p.dport !== PORT) continue;
    if (p.payloadLen === 0 && (p.flags & (TcpFlag.Syn | TcpFlag.Fin | TcpFlag.Rst)) === 0) continue;
    packets++;
    const ipOff = data + ipOffset(linkType, batch, data);
    const ipLen = data + cap - ipOff;
    // (a) a record batch, as the old eBPF reader built it.
    if (recUsed + RECORD_HDR_LEN + ipLen + 8 > rec.length) flush();
    rec.writeUInt32LE(tsSec, recUsed + RecordField.TsSec);
    rec.writeUInt32LE(tsNsec, recUsed + RecordField.TsNsec);
    rec.writeUInt32LE(0, recUsed + RecordField.Ifindex);
    rec.writeUInt32LE(ipLen, recUsed + RecordField.OrigLen);
    rec.writeUInt32LE(ipLen, recUsed + RecordField.CapLen);
    rec.writeUInt16LE(LinkType.Raw, recUsed + RecordField.LinkType);
    batch.copy(rec, recUsed + RECORD_HDR_LEN, ipOff, ipOff + ipLen);
    recUsed = nextRecord(recUsed, ipLen);
    // (b) a ring record holding a payload sample, as the program writes it.
    const a = `${p.s0}.${p.s1}.${p.s2}.${p.s3}:${p.sport}`;
    const b = `${p.d0}.${p.d1}.${p.d2}.${p.d3}:${p.dport}`;
    const srcLow = p.s3 < p.d3 || (p.s3 === p.d3 && p.sport <= p.dport);
    const key = srcLow ? `${a}-${b}` : `${b}-${a}`;
    let id = flowIds.get(key);
    if (id === undefined) flowIds.set(key, (id = flowIds.size + 1));
    const payloadCap = p.payloadCap;
    const sampleLen = SAMPLE_HDR_LEN + payloadCap;
    const recLen = (RING_HDR_LEN + sampleLen + 7) & ~7;
    if (ringUsed + recLen > ring.length) {
      flush();
      if (recLen > ring.length) ring = Buffer.allocUnsafeSlow(recLen * 2);
    }
    const s = ringUsed + RING_HDR_LEN;
    ring.fill(0, ringUsed, ringUsed + recLen);
    ring.writeUInt32LE(sampleLen, ringUsed);
    ring.writeUInt32LE(tsSec, s + SampleField.TsSec);
    ring.writeUInt32LE(tsNsec, s + SampleField.TsNsec);
    ring.writeUInt32LE(id, s + SampleField.FlowId);
    ring.writeUInt32LE(p.seq >>> 0, s + SampleField.Seq);
    ring.writeUInt32LE(p.ack >>> 0, s + SampleField.Ack);
    ring.writeUInt32LE(p.payloadLen, s + SampleField.PayloadLen);
    ring.writeUInt32LE(payloadCap, s + SampleField.CapLen);
    ring.writeUInt32LE(ipLen, s + SampleField.OrigLen);
    ring.writeUInt16LE(p.sport, s + SampleField.Sport);
    ring.writeUInt16LE(p.dport, s + SampleField.Dport);
    ring[s + SampleField.TcpFlags] = p.flags;
    ring[s + SampleField.Info] = srcLow ? SampleInfo.SrcLow : 0;
    ring[s + SampleField.Proto] = p.proto;
    ring[s + SampleField.Family] = p.family;
    if (p.family === 4) {
      ring.writeUInt32BE(p.s3 >>> 0, s + SampleField.Saddr);
      ring.writeUInt32BE(p.d3 >>> 0, s + SampleField.Daddr);
    } else {
      for (let i = 0; i < 4; i++) {
        ring.writeUInt32BE([p.s0, p.s1, p.s2, p.s3][i] >>> 0, s + SampleField.Saddr + 4 * i);
        ring.writeUInt32BE([p.d0, p.d1, p.d2, p.d3][i] >>> 0, s + SampleField.Daddr + 4 * i);
      }
    }
    batch.copy(ring, s + SAMPLE_HDR_LEN, p.payloadOff, p.payloadOff + payloadCap);
    ringUsed += recLen;
  }
}
flush();
reader.close();

const config = buildConfig({ port: String(PORT), mode: 'redis', threshold: '10' });
const devnull = fs.openSync('/dev/null', 'w');

function run(kind: 'records' | 'samples'): { ns: number; answered: number } {
  const stats = new Stats(config.mode, config.ports, config.thresholdMs);
  const lines = new LineOutput(new FdWriter(devnull), config.thresholdMs);
  const pipeline = new Pipeline(config, [stats, lines], respParser, null);
  let us: number;
  if (EVICT === 0) {
    const t0 = process.cpuUsage();
    if (kind === 'records') for (const c of recordChunks) pipeline.onBatch(c, c.length);
    else for (const c of ringChunks) pipeline.onSamples(c, 0, c.length, 0, 0);
    pipeline.finish();
    const t = process.cpuUsage(t0);
    us = t.user + t.system;
  } else {
    // Only the calls are timed (the clock, not CPU time: getrusage is too coarse for one call).
    let ns = 0n;
    const chunks = kind === 'records' ? recordChunks : ringChunks;
    for (const c of chunks) {
      evict();
      const t0 = process.hrtime.bigint();
      if (kind === 'records') pipeline.onBatch(c, c.length);
      else pipeline.onSamples(c, 0, c.length, 0, 0);
      ns += process.hrtime.bigint() - t0;
    }
    pipeline.finish();
    us = Number(ns) / 1000;
  }
  return { ns: (us * 1000) / packets, answered: pipeline.pairer.counters.paired };
}

const best: Record<string, number> = { records: Infinity, samples: Infinity };
const answered: Record<string, number> = {};
for (let i = 0; i < RUNS; i++) {
  for (const kind of ['records', 'samples'] as const) {
    if (ONLY !== undefined && ONLY !== kind) continue;
    const r = run(kind);
    best[kind] = Math.min(best[kind], r.ns);
    answered[kind] = r.answered;
  }
}
process.stdout.write(
  `${packets} watched packets (pure ACKs left out), ${flowIds.size} flows, ${CHUNK >> 10} KiB a call` +
    (EVICT > 0 ? `, ${EVICT >> 20} MiB walked before each (only the calls timed, by the clock)` : '') +
    `, best of ${RUNS}, CPU ns per packet:\n` +
    (ONLY === 'samples' ? '' : `  record batches (the eBPF engine before): ${best.records.toFixed(0)} ns, ${answered.records} answered\n`) +
    (ONLY === 'records' ? '' : `  ring samples (the eBPF engine now):      ${best.samples.toFixed(0)} ns, ${answered.samples} answered\n`),
);
if (evictSum < 0) process.stdout.write('\n'); // keeps the walk's reads alive


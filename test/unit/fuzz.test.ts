// Fuzzing in the suite: the packet decoder on any bytes and link type, and
// the whole pipeline (decode, connections, parsers, pairing, lines) on
// damaged captures in every mode. Nothing may throw or hang; what comes out
// must still be well-formed lines.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { DECODE_RESULTS, DecodeResult, Packet, decodePacket } from '../../src/decode/packet';
import { LinkType, RECORD_HDR_LEN, RecordField, nextRecord } from '../../src/engine/record';
import { Pipeline } from '../../src/pipeline';
import { buildConfig } from '../../src/cli/config';
import { respParser } from '../../src/protocol/resp';
import { memcachedParser } from '../../src/protocol/memcached';
import { httpParser } from '../../src/protocol/http';
import { dnsParser } from '../../src/protocol/dns';
import { LineOutput } from '../../src/output/lines';
import { RawPacketOutput } from '../../src/output/raw';
import { Stats } from '../../src/stats/stats';
import { FdWriter } from '../../src/output/writer';
import type { Frame, Link } from '../helpers/pcap-writer';
import { parseLines } from '../helpers/run';
import { FRAME_MUTATIONS, LINKS, MODES, PORT, mutateFrames, seedFrames, type FrameMutation, type Seed } from '../fuzz/captures';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-fuzz-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const DLT: Record<Link, number> = { ethernet: 1, vlan: 1, sll: 113, sll2: 276, raw: 101, null: 0 };
const DECODED = [LinkType.Null, LinkType.Ethernet, LinkType.Raw, LinkType.RawAlt, LinkType.Loop, LinkType.LinuxSll, LinkType.Ipv4, LinkType.Ipv6, LinkType.LinuxSll2];

test('decodePacket: any bytes, any link type: a verdict, never a throw, never a byte past the capture', () => {
  const a = new Packet();
  const b = new Packet();
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 160 }),
      fc.oneof(fc.constantFrom(...DECODED), fc.integer({ min: 0, max: 70000 })),
      fc.nat(16),
      (bytes, linkType, lead) => {
        // The same packet twice, with different bytes after it: a decoder that
        // read past capLen would see them differ.
        const one = Buffer.alloc(lead + bytes.length + 64, 0x00);
        const two = Buffer.alloc(lead + bytes.length + 64, 0xff);
        one.set(bytes, lead);
        two.set(bytes, lead);
        const ra = decodePacket(one, lead, bytes.length, linkType, a);
        const rb = decodePacket(two, lead, bytes.length, linkType, b);
        assert.equal(ra, rb);
        assert.ok(ra >= DecodeResult.Ok && ra < DECODE_RESULTS);
        if (ra === DecodeResult.Ok) {
          assert.deepEqual({ ...a }, { ...b });
          assert.ok(a.family === 4 || a.family === 6);
          assert.ok(a.payloadOff >= lead && a.payloadCap >= 0 && a.payloadOff + a.payloadCap <= lead + bytes.length);
          assert.ok(a.payloadCap <= a.payloadLen);
          assert.ok(a.sport >= 0 && a.sport <= 65535 && a.dport >= 0 && a.dport <= 65535);
        }
      },
    ),
    { numRuns: 3000 },
  );
});

/** The frames as one batch of records (bpf/record.h), as an engine would hand them over. */
function batch(frames: Frame[], link: Link): { buf: Buffer; used: number } {
  let size = 0;
  for (const f of frames) size = nextRecord(size, Math.min(f.capLen ?? f.data.length, f.data.length));
  const buf = Buffer.alloc(size);
  let off = 0;
  for (const f of frames) {
    const cap = Math.min(f.capLen ?? f.data.length, f.data.length);
    buf.writeUInt32LE(Math.floor(f.tsUs / 1e6), off + RecordField.TsSec);
    buf.writeUInt32LE((f.tsUs % 1e6) * 1000, off + RecordField.TsNsec);
    buf.writeUInt32LE(f.data.length, off + RecordField.OrigLen);
    buf.writeUInt32LE(cap, off + RecordField.CapLen);
    buf.writeUInt16LE(DLT[link], off + RecordField.LinkType);
    f.data.copy(buf, off + RECORD_HDR_LEN, 0, cap);
    off = nextRecord(off, cap);
  }
  return { buf, used: off };
}

let runs = 0;
/** Runs frames through a Pipeline as tcpkit -r would; returns the lines written. */
function pipelineOver(mode: (typeof MODES)[number], link: Link, frames: Frame[], timeout: number): { out: string; records: number } {
  const config = buildConfig({ mode, port: String(PORT[mode]), timeout: String(timeout) });
  const file = path.join(dir, `lines-${runs++}.txt`);
  const writer = FdWriter.toFile(file);
  const stats = new Stats(mode, config.ports, 0);
  const parsers = { redis: respParser, memcached: memcachedParser, http: httpParser, dns: dnsParser, raw: null } as const;
  const raw = mode === 'raw' ? new RawPacketOutput(writer) : null;
  const outputs = mode === 'raw' ? [stats] : [stats, new LineOutput(writer, 0)];
  const pipeline = new Pipeline(config, outputs, parsers[mode], raw);
  const { buf, used } = batch(frames, link);
  pipeline.onBatch(buf, used);
  pipeline.finish();
  for (const o of outputs) o.close();
  raw?.close();
  writer.close();
  const out = fs.readFileSync(file, 'utf8');
  fs.rmSync(file);
  return { out, records: pipeline.counters.records };
}

const seedArb: fc.Arbitrary<Seed> = fc.record({
  mode: fc.constantFrom(...MODES),
  link: fc.constantFrom(...LINKS),
  v6: fc.boolean(),
  picks: fc.array(fc.nat(64), { minLength: 1, maxLength: 8 }),
  mss: fc.constantFrom(1, 2, 5, 13, 100, 1460, 65000),
  pipelined: fc.boolean(),
});
const frameMutationArb: fc.Arbitrary<FrameMutation> = fc.record({
  kind: fc.constantFrom(...FRAME_MUTATIONS),
  frame: fc.nat(),
  at: fc.nat(),
  value: fc.nat(),
});

test('the pipeline on damaged captures, every mode and link type: no throw, well-formed lines, every record counted', () => {
  fc.assert(
    fc.property(seedArb, fc.array(frameMutationArb, { maxLength: 16 }), fc.constantFrom(0.001, 1, 10), (seed, mutations, timeout) => {
      const frames = mutateFrames(seedFrames(seed), mutations);
      const { out, records } = pipelineOver(seed.mode, seed.link, frames, timeout);
      assert.equal(records, frames.length);
      if (seed.mode !== 'raw') parseLines(out); // throws on a line that is not one
      else for (const line of out.split('\n').filter(Boolean)) assert.match(line, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} \S+=>\S+ (REQ|RSP) /);
    }),
    { numRuns: 400 },
  );
});

test('the pipeline on undamaged seeds reports every exchange: the fuzz inputs are not all noise', () => {
  for (const mode of MODES) {
    if (mode === 'raw') continue;
    const seed: Seed = { mode, link: 'ethernet', v6: false, picks: [0, 1], mss: 1460, pipelined: false };
    const lines = parseLines(pipelineOver(mode, 'ethernet', seedFrames(seed), 10).out);
    const tcp = lines.filter((l) => l.client.endsWith(':40000'));
    assert.equal(tcp.length, 2, `${mode}: ${JSON.stringify(lines)}`);
    assert.ok(tcp.every((l) => l.latencyMs !== null));
  }
});

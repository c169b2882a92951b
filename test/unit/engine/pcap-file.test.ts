// The pcap file reader parses classic pcap files itself and hands anything
// unusual back to libpcap: records, timestamps, snaplen cuts and the messages
// for files cut short must be what libpcap gives.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { native } from '../../../src/engine/native';
import { RECORD_HDR_LEN, RecordField, nextRecord } from '../../../src/engine/record';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-pcapfile-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

interface Rec {
  sec: number;
  frac: number; // µs or ns, as in the file
  len: number; // on the wire
  data: Buffer;
}

function pcapFile(recs: Rec[], opts: { nano?: boolean; snaplen?: number; bigEndian?: boolean; tail?: Buffer } = {}): string {
  const le = !opts.bigEndian;
  const hdr = Buffer.alloc(24);
  const u32 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));
  const u16 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  u32(hdr, opts.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  u16(hdr, 2, 4);
  u16(hdr, 4, 6);
  u32(hdr, opts.snaplen ?? 262144, 16);
  u32(hdr, 1, 20); // Ethernet
  const parts: Buffer[] = [hdr];
  for (const r of recs) {
    const h = Buffer.alloc(16);
    u32(h, r.sec, 0);
    u32(h, r.frac, 4);
    u32(h, r.data.length, 8);
    u32(h, r.len, 12);
    parts.push(h, r.data);
  }
  if (opts.tail) parts.push(opts.tail);
  const file = path.join(dir, `f${n++}.pcap`);
  fs.writeFileSync(file, Buffer.concat(parts));
  return file;
}

interface Got {
  sec: number;
  nsec: number;
  origLen: number;
  data: Buffer;
}

function readAll(file: string, batchBytes = 1 << 20): { recs: Got[]; error: string | null; packets: number; batches: number } {
  const reader = new (native().PcapFileReader)(file);
  const batch = Buffer.alloc(batchBytes);
  const recs: Got[] = [];
  let batches = 0;
  for (;;) {
    const used = reader.read(batch);
    if (used === 0) break;
    batches++;
    for (let off = 0; off < used; ) {
      const cap = batch.readUInt32LE(off + RecordField.CapLen);
      recs.push({
        sec: batch.readUInt32LE(off + RecordField.TsSec),
        nsec: batch.readUInt32LE(off + RecordField.TsNsec),
        origLen: batch.readUInt32LE(off + RecordField.OrigLen),
        data: Buffer.from(batch.subarray(off + RECORD_HDR_LEN, off + RECORD_HDR_LEN + cap)),
      });
      off = nextRecord(off, cap);
    }
  }
  const result = { recs, error: reader.error, packets: reader.packets, batches };
  reader.close();
  return result;
}

function records(count: number, size: (i: number) => number): Rec[] {
  const out: Rec[] = [];
  for (let i = 0; i < count; i++) {
    const data = Buffer.alloc(size(i));
    for (let j = 0; j < data.length; j++) data[j] = (i * 31 + j) & 0xff;
    out.push({ sec: 1_700_000_000 + i, frac: (i * 7919) % 1_000_000, len: data.length + (i % 3), data });
  }
  return out;
}

test('records, times and lengths come through, in any batch size, across read windows', () => {
  // ~6 MB: more than one 4 MiB read window, records straddling its edges.
  const recs = records(6000, (i) => 60 + ((i * 137) % 1400));
  const file = pcapFile(recs, { nano: true });
  for (const batchBytes of [1 << 20, 300_000, 4096]) {
    const got = readAll(file, batchBytes);
    assert.equal(got.error, null);
    assert.equal(got.packets, recs.length);
    assert.equal(got.recs.length, recs.length);
    got.recs.forEach((g, i) => {
      assert.equal(g.sec, recs[i].sec);
      assert.equal(g.nsec, recs[i].frac);
      assert.equal(g.origLen, recs[i].len);
      assert.ok(g.data.equals(recs[i].data), `record ${i}`);
    });
  }
});

test('microsecond files: times scaled to nanoseconds, as libpcap does (32 bits kept)', () => {
  const recs = records(4, () => 60);
  recs[0].frac = 999_999;
  recs[1].frac = 5_000_000; // out of range, still scaled
  recs[2].frac = 0xffffffff; // -1 as libpcap's signed field
  recs[3].frac = 0;
  const got = readAll(pcapFile(recs));
  assert.deepEqual(got.recs.map((g) => g.nsec), [999_999_000, 5_000_000_000 % 2 ** 32, (2 ** 32 - 1000) >>> 0, 0]);
});

test('big-endian files read the same', () => {
  const recs = records(50, (i) => 60 + i);
  const a = readAll(pcapFile(recs, { nano: true }));
  const b = readAll(pcapFile(recs, { nano: true, bigEndian: true }));
  assert.deepEqual(b, a);
});

test('records longer than the snaplen are cut to it; longer than libpcap allows end the file', () => {
  const recs = records(5, () => 100);
  const cut = readAll(pcapFile(recs, { nano: true, snaplen: 64 }));
  assert.equal(cut.error, null);
  assert.deepEqual(cut.recs.map((g) => g.data.length), [64, 64, 64, 64, 64]);
  assert.ok(cut.recs[2].data.equals(recs[2].data.subarray(0, 64)));

  const giant = records(3, () => 60);
  giant.splice(1, 0, { sec: 1, frac: 2, len: 300_000, data: Buffer.alloc(300_000) });
  const bad = readAll(pcapFile(giant, { nano: true }));
  assert.equal(bad.recs.length, 1);
  assert.equal(bad.error, 'invalid packet capture length 300000, bigger than snaplen of 262144');
});

test('a file cut short: the whole records before the cut, and libpcap\'s message', () => {
  const recs = records(3, () => 74);
  const full = fs.readFileSync(pcapFile(recs, { nano: true }));
  const at = (cut: number) => {
    const file = path.join(dir, `cut${n++}.pcap`);
    fs.writeFileSync(file, full.subarray(0, cut));
    return readAll(file);
  };
  const second = 24 + 16 + 74;
  assert.deepEqual([at(24).recs.length, at(24).error], [0, null]);
  assert.deepEqual([at(30).recs.length, at(30).error], [0, 'truncated dump file; tried to read 16 header bytes, only got 6']);
  assert.deepEqual([at(24 + 16 + 10).recs.length, at(24 + 16 + 10).error], [0, 'truncated dump file; tried to read 74 captured bytes, only got 10']);
  assert.deepEqual([at(second + 3).recs.length, at(second + 3).error], [1, 'truncated dump file; tried to read 16 header bytes, only got 3']);
  assert.deepEqual([at(full.length - 1).recs.length, at(full.length - 1).error], [2, 'truncated dump file; tried to read 74 captured bytes, only got 73']);
  assert.deepEqual([at(full.length).recs.length, at(full.length).error], [3, null]);
});

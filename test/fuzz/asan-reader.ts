// The native pcap reader under AddressSanitizer: damaged captures (see
// captures.ts, and the real captures of test/fixtures and ../shared/corpus,
// damaged the same way) read through an addon built with -fsanitize=address,
// in batches of every size, with the records then decoded by the pipeline.
// An out-of-bounds access aborts the run with ASan's report.
//
//   make asan-fuzz                        (builds build-asan/tcpkit.node, runs this)
//   LD_PRELOAD=$(g++ -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 \
//     node dist/test/fuzz/asan-reader.js --addon build-asan/tcpkit.node --seconds 300 [--seed N]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NativeAddon } from '../../src/engine/native';
import { RECORD_HDR_LEN, RecordField, nextRecord } from '../../src/engine/record';
import { Pipeline } from '../../src/pipeline';
import { buildConfig } from '../../src/cli/config';
import { respParser } from '../../src/protocol/resp';
import { Stats } from '../../src/stats/stats';
import { captureBytes, mutateBytes, random, randomCase, BYTE_MUTATIONS } from './captures';
import { corpusCaptures, option } from './options';

const addonPath = option('--addon', '');
const seconds = Number(option('--seconds', '60'));
const seed = Number(option('--seed', String(Date.now() % 2 ** 31)));
if (addonPath === '') {
  process.stderr.write('asan-reader: --addon PATH (the addon built with -fsanitize=address) is required\n');
  process.exit(2);
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const addon = require(path.resolve(addonPath)) as NativeAddon;

const next = random(seed);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-asan-'));
const file = path.join(dir, 'case.pcap');
const real = corpusCaptures().map((f) => fs.readFileSync(f));
const BATCH_SIZES = [64, 100, 256, 1500, 4096, 65536, 300_000, 1 << 20];

let cases = 0;
let records = 0;
let refused = 0;
let cutShort = 0;
const started = Date.now();
try {
  while (Date.now() - started < seconds * 1000) {
    let bytes: Buffer;
    if (real.length > 0 && next() % 4 === 0) {
      const base = real[next() % real.length];
      const muts = Array.from({ length: 1 + (next() % 8) }, () => ({ kind: BYTE_MUTATIONS[next() % BYTE_MUTATIONS.length], at: next(), value: next() }));
      bytes = mutateBytes(base, muts);
    } else {
      const c = randomCase(next);
      bytes = captureBytes(c.seed, c.frames, c.bytes, c.format, c.snaplen);
    }
    fs.writeFileSync(file, bytes);
    cases++;
    let reader;
    try {
      reader = new addon.PcapFileReader(file);
    } catch {
      refused++; // not a capture: the constructor said so
      continue;
    }
    const pipeline = new Pipeline(buildConfig({ port: '6379', mode: 'redis' }), [new Stats('redis', [6379], 0)], respParser, null);
    const size = BATCH_SIZES[next() % BATCH_SIZES.length];
    const batch = Buffer.alloc(size);
    for (;;) {
      const used = reader.read(batch);
      if (used === 0) break;
      if (used > batch.length) throw new Error(`read() said ${used} bytes of a ${batch.length}-byte batch`);
      for (let off = 0; off < used; ) {
        const cap = batch.readUInt32LE(off + RecordField.CapLen);
        if (off + RECORD_HDR_LEN + cap > used) throw new Error(`a record of ${cap} bytes at ${off} runs past the batch (${used})`);
        records++;
        off = nextRecord(off, cap);
      }
      pipeline.onBatch(batch, used);
      if (next() % 64 === 0) break; // closed before the end, as a stopped run does
    }
    if (reader.error !== null) cutShort++;
    reader.close();
    reader.read(batch); // after close: nothing, no crash
    reader.close(); // twice: harmless
    pipeline.finish();
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(
  `asan-reader: ${cases} damaged captures in ${seconds} s (seed ${seed}): ${refused} refused as not a capture, ` +
    `${cutShort} ended early (cut short or damaged), ${records} records read; no error from AddressSanitizer\n`,
);

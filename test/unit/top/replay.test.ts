// -r under --top replays at the capture's pace: each record is handed over
// once as much time has passed as separated it from the first, never before,
// and stop() ends a wait at once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Conversation, writePcap } from '../../helpers/pcap-writer';
import { PacedFileEngine } from '../../../src/top/replay';
import { RecordField, nextRecord } from '../../../src/engine/record';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-replay-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const T0 = 1_700_000_000_000_000; // µs
/** Packets at 0, 10 µs, 20 µs (the handshake), then at 300 and 600 ms. */
function capture(): string {
  const c = new Conversation('ethernet', '10.0.0.2', 40000, '10.0.0.1', 6379)
    .handshake(T0)
    .request(T0 + 300_000, '*1\r\n$4\r\nPING\r\n')
    .response(T0 + 600_000, '+PONG\r\n');
  const file = path.join(dir, 'paced.pcap');
  writePcap(file, 'ethernet', c.frames);
  return file;
}

/** Each record's capture time (ms after the first) and when it was handed over (ms after the run began). */
async function replay(engine: PacedFileEngine, stopAfter = Infinity): Promise<{ capturedMs: number; deliveredMs: number }[]> {
  const out: { capturedMs: number; deliveredMs: number }[] = [];
  const start = performance.now();
  let first = -1;
  await engine.run((buf, used) => {
    const at = performance.now() - start;
    for (let off = 0; off < used; off = nextRecord(off, buf.readUInt32LE(off + RecordField.CapLen))) {
      const ms = buf.readUInt32LE(off + RecordField.TsSec) * 1000 + buf.readUInt32LE(off + RecordField.TsNsec) / 1e6;
      if (first < 0) first = ms;
      out.push({ capturedMs: ms - first, deliveredMs: at });
      if (out.length === stopAfter) engine.stop();
    }
  });
  return out;
}

test('records come at the pace they were captured, each no earlier than its time', async () => {
  const engine = new PacedFileEngine(capture());
  const started = performance.now();
  const got = await replay(engine);
  const took = performance.now() - started;
  assert.deepEqual(got.map((g) => Math.round(g.capturedMs * 1000) / 1000), [0, 0.01, 0.02, 300, 600]);
  for (const g of got) {
    assert.ok(g.deliveredMs >= g.capturedMs - 1, `captured at ${g.capturedMs} ms, handed over at ${g.deliveredMs.toFixed(1)} ms`);
    assert.ok(g.deliveredMs <= g.capturedMs + 150, `captured at ${g.capturedMs} ms, handed over late at ${g.deliveredMs.toFixed(1)} ms`);
  }
  assert.ok(took >= 599 && took < 900, `the replay took ${took.toFixed(0)} ms`);
  assert.deepEqual(engine.counters(), { seen: 5, packets: 5, dropped: 0 });
  assert.equal(engine.endMessage(), null);
  assert.equal(engine.linkNotice(), null);
});

test('stop() while waiting for the next record ends the replay at once', async () => {
  const engine = new PacedFileEngine(capture());
  const started = performance.now();
  const run = replay(engine);
  await new Promise((r) => setTimeout(r, 100));
  engine.stop();
  const got = await run;
  const took = performance.now() - started;
  assert.equal(got.length, 3, 'the handshake, not the request due at 300 ms');
  assert.ok(took < 250, `stopped after ${took.toFixed(0)} ms`);
  assert.deepEqual(engine.counters(), { seen: 3, packets: 3, dropped: 0 });
});

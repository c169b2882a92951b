// The line output formats bytes itself; these check it writes exactly what the
// plain string formatting writes, for any latency, status and request text.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { newPairedConnection, type PairedConnection as Connection } from '../../../src/pairing/connection';
import { Transaction, TxStatus } from '../../../src/pairing/transaction';
import { WallClockFormatter } from '../../../src/output/clock';
import { LineOutput } from '../../../src/output/lines';
import { FdWriter } from '../../../src/output/writer';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-lines-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

interface Tx {
  status: TxStatus;
  sec: number;
  nsec: number;
  latencyNs: number;
  preview: Buffer;
  previewLen: number;
}

/** The line as the string formatting writes it (the original implementation). */
function expected(conn: Connection, t: Tx, thresholdMs: number): string {
  if (t.latencyNs < thresholdMs * 1e6) return '';
  const time = new WallClockFormatter().format(t.sec, t.nsec);
  const latency = t.status === TxStatus.NoResponse ? 'no response' : `${(t.latencyNs / 1e6).toFixed(3)} ms`;
  const tail = t.status === TxStatus.Error ? ' | error' : '';
  let text = t.preview.toString('utf8', 0, t.previewLen);
  if (t.previewLen >= t.preview.length) text += '...';
  return `${time} ${conn.endpoints()} | ${latency} | ${text}${tail}\n`;
}

function written(conn: Connection, txs: Tx[], thresholdMs: number): Buffer {
  const file = path.join(dir, `l${n++}.txt`);
  const out = new LineOutput(FdWriter.toFile(file), thresholdMs);
  const tx = new Transaction();
  tx.conn = conn;
  for (const t of txs) {
    tx.status = t.status;
    // An answer's line shows its response's time, a request without one its own: both are t's here.
    tx.rspSec = tx.reqSec = t.sec;
    tx.rspNsec = tx.reqNsec = t.nsec;
    tx.latencyNs = t.latencyNs;
    tx.preview = t.preview;
    tx.previewLen = t.previewLen;
    out.transaction(tx);
  }
  out.close();
  return fs.readFileSync(file);
}

function connection(v6: boolean): Connection {
  const c = newPairedConnection();
  c.family = v6 ? 6 : 4;
  c.c0 = v6 ? 0xfd770000 : 0;
  c.c3 = v6 ? 2 : 0x7f000001;
  c.cport = 54484;
  c.s0 = v6 ? 0xfd770000 : 0;
  c.s3 = v6 ? 1 : 0x7f000001;
  c.sport = 6379;
  return c;
}

const latency = fc.oneof(
  fc.integer({ min: 0, max: 20_000_000 }),
  fc.integer({ min: 0, max: 20_000 }).map((us) => us * 1000 + 500), // exactly half a microsecond
  fc.integer({ min: -5_000_000, max: -1 }),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  fc.constantFrom(0, 499, 500, 501, 999_500, 1_000_000, 1e15 - 1, 1e15, 2 ** 53),
);

const preview = fc.oneof(
  fc.string({ maxLength: 40 }).map((s) => Buffer.from(s, 'latin1')),
  fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
  fc.constant(Buffer.from('SET k ' + 'x'.repeat(250), 'latin1')), // 256: shown with "..."
  fc.constant(Buffer.from('GET ключ', 'utf8')),
);

const txArb = fc.record({
  status: fc.constantFrom(TxStatus.Ok, TxStatus.Error, TxStatus.NoResponse),
  sec: fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.constant(1_580_000_000)),
  nsec: fc.oneof(fc.integer({ min: 0, max: 999_999_999 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
  latencyNs: latency,
  preview: preview,
}).map((t) => ({ ...t, previewLen: t.preview.length, preview: Buffer.concat([t.preview, Buffer.alloc(t.preview.length >= 256 ? 0 : 256 - t.preview.length)]) }));

test('byte-formatted lines equal string-formatted lines', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.array(txArb, { maxLength: 30 }), fc.constantFrom(0, 1, -1), (v6, txs, threshold) => {
      const conn = connection(v6);
      const want = txs.map((t) => expected(conn, t, threshold)).join('');
      assert.equal(written(conn, txs, threshold).toString('utf8'), want);
    }),
    { numRuns: 300 },
  );
});

test('many lines across arena flushes come out whole and in order', () => {
  const conn = connection(false);
  const txs: Tx[] = [];
  for (let i = 0; i < 5000; i++) {
    const p = Buffer.alloc(256);
    const len = p.write(`SET key:${i} ${'v'.repeat(i % 200)}`, 'latin1');
    txs.push({ status: i % 7 === 0 ? TxStatus.Error : TxStatus.Ok, sec: 1_580_000_000 + (i >> 8), nsec: i * 1000, latencyNs: i * 1234, preview: p, previewLen: len });
  }
  const want = txs.map((t) => expected(conn, t, 0)).join('');
  assert.equal(written(conn, txs, 0).toString('utf8'), want);
});

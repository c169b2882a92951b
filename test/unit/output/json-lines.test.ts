// --json formats bytes itself; every object must be exactly what
// JSON.stringify writes for the same fields, for any time, latency, status
// and request bytes, and each line must parse on its own.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { newPairedConnection, type PairedConnection as Connection } from '../../../src/pairing/connection';
import { Transaction, TxStatus } from '../../../src/pairing/transaction';
import { JsonLineOutput } from '../../../src/output/json-lines';
import { CommandTable } from '../../../src/stats/commands';
import { FdWriter } from '../../../src/output/writer';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-json-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

interface Tx {
  status: TxStatus;
  statusText: string;
  sec: number;
  nsec: number;
  latencyNs: number;
  reqBytes: number;
  rspBytes: number;
  preview: Buffer;
  previewLen: number;
}

function connection(v6: boolean): Connection {
  const c = newPairedConnection();
  c.family = v6 ? 6 : 4;
  c.c0 = v6 ? 0xfd770000 : 0;
  c.c3 = v6 ? 2 : 0x0a000002;
  c.cport = 54484;
  c.s0 = v6 ? 0xfd770000 : 0;
  c.s3 = v6 ? 1 : 0x0a000001;
  c.sport = 6379;
  return c;
}

/** The object, built independently of the output's own string path. */
function expected(conn: Connection, t: Tx, command: string): Record<string, unknown> {
  const iso = new Date(t.sec * 1000).toISOString().slice(0, 19);
  const answered = t.status !== TxStatus.NoResponse;
  let request = t.preview.toString('utf8', 0, t.previewLen);
  if (t.previewLen >= t.preview.length) request += '...';
  return {
    time: `${iso}.${String(Math.floor(t.nsec / 1000) % 1_000_000).padStart(6, '0')}Z`,
    client: conn.client(),
    server: conn.server(),
    protocol: 'redis',
    command,
    request,
    status: answered && t.statusText !== '' ? t.statusText : null,
    latency_us: answered ? Math.round(t.latencyNs / 1000) : null,
    request_bytes: t.reqBytes,
    response_bytes: t.rspBytes,
    error: t.status === TxStatus.Error,
    answered,
  };
}

function run(conn: Connection, txs: Tx[], thresholdMs: number): { text: string; commands: CommandTable } {
  const file = path.join(dir, `j${n++}.ndjson`);
  const commands = new CommandTable('redis');
  const out = new JsonLineOutput(FdWriter.toFile(file), commands, thresholdMs);
  const tx = new Transaction();
  tx.conn = conn;
  tx.protocol = 'redis';
  for (const t of txs) {
    tx.status = t.status;
    tx.statusText = t.statusText;
    tx.reqSec = t.sec;
    tx.reqNsec = t.nsec;
    tx.latencyNs = t.latencyNs;
    tx.reqBytes = t.reqBytes;
    tx.rspBytes = t.rspBytes;
    tx.preview = t.preview;
    tx.previewLen = t.previewLen;
    tx.commandId = -1;
    out.transaction(tx);
  }
  out.close();
  return { text: fs.readFileSync(file, 'utf8'), commands };
}

const preview = fc.oneof(
  fc.string({ maxLength: 40 }).map((s) => Buffer.from(s, 'latin1')),
  fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
  fc.constant(Buffer.from('SET k "quoted" back\\slash\ttab', 'latin1')),
  fc.constant(Buffer.from('SET k ' + 'x'.repeat(250), 'latin1')), // 256: shown with "..."
  fc.constant(Buffer.from('GET ключ', 'utf8')),
);

const txArb = fc
  .record({
    status: fc.constantFrom(TxStatus.Ok, TxStatus.Error, TxStatus.NoResponse),
    statusText: fc.constantFrom('', '200', 'NXDOMAIN', 'HIT'),
    sec: fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.constant(1_580_000_000)),
    nsec: fc.integer({ min: 0, max: 999_999_999 }),
    latencyNs: fc.oneof(fc.integer({ min: 0, max: 20_000_000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom(0, 499, 500, 1500, 2500)),
    reqBytes: fc.oneof(fc.nat(100), fc.nat(2 ** 31)),
    rspBytes: fc.nat(2 ** 31),
    preview,
  })
  .map((t) => ({ ...t, previewLen: t.preview.length, preview: Buffer.concat([t.preview, Buffer.alloc(t.preview.length >= 256 ? 0 : 256 - t.preview.length)]) }));

test('byte-formatted objects equal JSON.stringify of the same fields, one per line', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.array(txArb, { maxLength: 30 }), fc.constantFrom(0, 1), (v6, txs, threshold) => {
      const conn = connection(v6);
      const { text, commands } = run(conn, txs, threshold);
      const kept = txs.filter((t) => t.latencyNs >= threshold * 1e6);
      const want = kept.map((t) => {
        const cmd = commands.name(commands.idOf(t.preview, t.previewLen));
        return `${JSON.stringify(expected(conn, t, cmd))}\n`;
      });
      assert.equal(text, want.join(''));
      for (const line of text.split('\n').filter(Boolean)) JSON.parse(line);
    }),
    { numRuns: 300 },
  );
});

test('many objects across arena flushes come out whole and in order', () => {
  const conn = connection(false);
  const txs: Tx[] = [];
  for (let i = 0; i < 5000; i++) {
    const p = Buffer.alloc(256);
    const len = p.write(`SET key:${i} ${'v'.repeat(i % 200)}`, 'latin1');
    txs.push({ status: i % 7 === 0 ? TxStatus.Error : TxStatus.Ok, statusText: '', sec: 1_580_000_000 + (i >> 8), nsec: i * 1000, latencyNs: i * 1234, reqBytes: 20 + i, rspBytes: 5, preview: p, previewLen: len });
  }
  const lines = run(conn, txs, 0).text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.equal(lines.length, 5000);
  lines.forEach((o, i) => {
    assert.equal(o.request_bytes, 20 + i);
    assert.equal(o.command, 'SET');
    assert.equal(o.error, i % 7 === 0);
  });
});

// -m memcached end to end on synthetic captures: text and binary protocol,
// noreply, pipelined gets, pairing binary responses by opaque.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Conversation, writePcap } from '../helpers/pcap-writer';
import { parseLines, tcpkit } from '../helpers/run';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-memcached-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const T0 = 1_580_000_000_000_000;

function run(c: Conversation, extra: string[] = []) {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.pcap`);
  writePcap(file, 'ethernet', c.frames);
  const r = tcpkit(['-r', file, '-p', '11211', '-m', 'memcached', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return { lines: parseLines(r.stdout), stderr: r.stderr };
}

test('text protocol: one line per request, data blocks left out, noreply not waited for', () => {
  const c = new Conversation('ethernet', '10.0.0.2', 40000, '10.0.0.1', 11211)
    .handshake(T0)
    .request(T0 + 1000, 'set k 0 0 5\r\nhello\r\n')
    .response(T0 + 1150, 'STORED\r\n')
    .request(T0 + 2000, 'set q 0 0 1 noreply\r\nx\r\n')
    .request(T0 + 3000, 'get k q missing\r\n')
    .response(T0 + 3400, 'VALUE k 0 5\r\nhello\r\nVALUE q 0 1\r\nx\r\nEND\r\n')
    .request(T0 + 4000, 'incr k 1\r\n')
    .response(T0 + 4100, 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n')
    .request(T0 + 5000, 'delete gone\r\n')
    .response(T0 + 5050, 'NOT_FOUND\r\n')
    .close(T0 + 6000);
  const { lines, stderr } = run(c);
  assert.deepEqual(
    lines.map((l) => [l.request, l.latencyMs, l.error]),
    [
      ['set k 0 0 5', 0.15, false],
      ['get k q missing', 0.4, false],
      ['incr k 1', 0.1, true],
      ['delete gone', 0.05, false],
    ],
  );
  assert.match(stderr, /requests: 4 answered \(1 error\), 0 without response/);
  assert.deepEqual(lines.map((l) => l.status), ['STORED', 'HIT', 'CLIENT_ERROR', 'NOT_FOUND']);
});

test('text protocol: pipelined gets pair in order', () => {
  const c = new Conversation('ethernet', '10.0.0.2', 40001, '10.0.0.1', 11211)
    .handshake(T0)
    .request(T0 + 1000, 'get a\r\nget b\r\nget c\r\n')
    .response(T0 + 1300, 'END\r\nVALUE b 0 1\r\n2\r\nEND\r\nEND\r\n')
    .close(T0 + 2000);
  assert.deepEqual(run(c).lines.map((l) => l.request), ['get a', 'get b', 'get c']);
});

function bin(magic: number, opcode: number, key: string, opaque: number, status = 0, value = ''): Buffer {
  const k = Buffer.from(key);
  const v = Buffer.from(value);
  const h = Buffer.alloc(24);
  h[0] = magic;
  h[1] = opcode;
  h.writeUInt16BE(k.length, 2);
  h.writeUInt16BE(status, 6);
  h.writeUInt32BE(k.length + v.length, 8);
  h.writeUInt32BE(opaque, 12);
  return Buffer.concat([h, k, v]);
}

test('binary protocol: quiet gets answered only on a hit pair by opaque', () => {
  const GETQ = 0x09;
  const NOOP = 0x0a;
  const c = new Conversation('ethernet', '10.0.0.2', 40002, '10.0.0.1', 11211)
    .handshake(T0)
    .request(T0 + 1000, Buffer.concat([bin(0x80, GETQ, 'miss', 1), bin(0x80, GETQ, 'hit', 2), bin(0x80, NOOP, '', 3)]))
    .response(T0 + 1200, Buffer.concat([bin(0x81, GETQ, '', 2, 0, 'value'), bin(0x81, NOOP, '', 3)]))
    .close(T0 + 2000);
  const { lines } = run(c);
  assert.deepEqual(lines.map((l) => l.request), ['GETQ hit', 'NOOP']);
});

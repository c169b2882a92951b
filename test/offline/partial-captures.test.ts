// Captures that hold only part of a message: cut at their end, with a hole
// the peer acknowledged, with a connection reset mid-answer, with a
// retransmitted SYN, and an HTTP answer that comes before its request's
// body. Every capture is built here; every request is reported.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Conversation, writePcap } from '../helpers/pcap-writer';
import { parseLines, parseSummary, tcpkit } from '../helpers/run';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-partial-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const T0 = 1_580_000_000_000_000;

function run(c: Conversation, mode: string, snaplen?: number, frames = c.frames) {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.pcap`);
  writePcap(file, 'ethernet', snaplen === undefined ? frames : frames.map((f) => ({ ...f, capLen: Math.min(f.data.length, snaplen) })), snaplen);
  const r = tcpkit(['-r', file, '-p', String(c.sport), '-m', mode]);
  assert.equal(r.code, 0, r.stderr);
  return { lines: parseLines(r.stdout), stderr: r.stderr, summary: parseSummary(r.stderr) };
}

function http(cport: number): Conversation {
  return new Conversation('ethernet', '10.0.0.2', cport, '10.0.0.1', 80).handshake(T0);
}

test('item 1: an HTTP 200 whose 100 KB body was only partly captured is answered, incomplete', () => {
  const body = Buffer.alloc(100_000, 0x61);
  const rsp = Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n'), body]);
  const c = http(41000)
    .request(T0 + 1000, 'GET /big HTTP/1.1\r\nHost: x\r\n\r\n')
    .response(T0 + 1700, rsp.subarray(0, 30_000), 1448);
  const { lines, stderr, summary } = run(c, 'http');
  assert.deepEqual(lines.map((l) => [l.request, l.latencyMs, l.status]), [['GET /big', 0.7, '200']]);
  assert.equal(summary.answered, 1);
  assert.equal(summary.noResponse, 0);
  assert.match(stderr, /^requests: 1 answered \(1 incomplete\), 0 without response/m);
});

test('item 1: a response segment holding only its status line', () => {
  const c = http(41001)
    .request(T0 + 1000, 'GET /old HTTP/1.0\r\n\r\n')
    .response(T0 + 1250, 'HTTP/1.0 200 OK\r\n');
  const { lines, stderr } = run(c, 'http');
  assert.deepEqual(lines.map((l) => [l.request, l.latencyMs, l.status]), [['GET /old', 0.25, '200']]);
  assert.match(stderr, /^requests: 1 answered \(1 incomplete\), 0 without response/m);
});

test('item 1: a capture cut right after the response\'s first segment, mid-keep-alive', () => {
  const c = http(41002)
    .request(T0 + 1000, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n')
    .response(T0 + 1100, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
    .request(T0 + 2000, 'GET /b HTTP/1.1\r\nHost: x\r\n\r\n')
    .response(T0 + 2400, Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n'), Buffer.alloc(5000, 0x62)]), 1448);
  // As `editcap -r in.pcap out.pcap 1-N`: everything up to the first segment of /b's answer.
  const cut = c.frames.slice(0, c.frames.length - 3);
  const { lines, stderr } = run(c, 'http', undefined, cut);
  assert.deepEqual(lines.map((l) => [l.request, l.latencyMs]), [['GET /a', 0.1], ['GET /b', 0.4]]);
  assert.match(stderr, /^requests: 2 answered \(1 incomplete\), 0 without response/m);
});

test('item 1: a response cut by snaplen, its length unknown (close-delimited), is answered', () => {
  const c = http(41003)
    .request(T0 + 1000, 'GET /x HTTP/1.1\r\nHost: x\r\n\r\n')
    .response(T0 + 1300, Buffer.concat([Buffer.from('HTTP/1.1 500 Oops\r\nX-Pad: '), Buffer.alloc(300, 0x70), Buffer.from('\r\n\r\nbody')]));
  const { lines, stderr } = run(c, 'http', 128);
  assert.deepEqual(lines.map((l) => [l.request, l.latencyMs, l.status, l.error]), [['GET /x', 0.3, '500', true]]);
  assert.match(stderr, /^requests: 1 answered \(1 error, 1 incomplete\), 0 without response/m);
});

test('item 1: a Redis bulk reply of 490 KB missing only its final CRLF', () => {
  const value = Buffer.alloc(490_000, 0x76);
  const c = new Conversation('ethernet', '10.0.0.2', 41004, '10.0.0.1', 6379)
    .handshake(T0)
    .request(T0 + 1000, '*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n')
    .response(T0 + 1900, Buffer.concat([Buffer.from('$490000\r\n'), value]), 65000);
  const { lines, stderr } = run(c, 'redis');
  assert.deepEqual(lines.map((l) => [l.request, l.latencyMs]), [['GET big', 0.9]]);
  assert.match(stderr, /^requests: 1 answered \(1 incomplete\), 0 without response/m);
});

test('item 1: a response whose tail was lost (the client acknowledged it) and one cut by a reset', () => {
  const c = new Conversation('ethernet', '10.0.0.2', 41005, '10.0.0.1', 6379)
    .handshake(T0)
    .request(T0 + 1000, '*2\r\n$3\r\nGET\r\n$1\r\na\r\n')
    .response(T0 + 1200, '$10\r\n01234')
    .lose(false, 7)
    .request(T0 + 2000, '*2\r\n$3\r\nGET\r\n$1\r\nb\r\n')
    .response(T0 + 2300, '$10\r\n01234')
    .reset(T0 + 2400, false);
  const { lines, stderr, summary } = run(c, 'redis');
  assert.deepEqual(lines.map((l) => [l.request, l.latencyMs]), [['GET a', 0.2], ['GET b', 0.3]]);
  assert.equal(summary.gaps, 1);
  assert.match(stderr, /^requests: 2 answered \(2 incomplete\), 0 without response/m);
});

test('item 2: a POST whose tail was lost (the server acknowledged it) pairs with the answer, and the gap is counted', () => {
  const c = http(41006)
    .request(T0 + 1000, 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n')
    .lose(true, 800)
    .response(T0 + 1600, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')
    .close(T0 + 2000);
  const { lines, summary } = run(c, 'http');
  assert.deepEqual(lines.map((l) => [l.request, l.latencyMs, l.status]), [['POST /upload', 0.6, '200']]);
  assert.equal(summary.answered, 1);
  assert.equal(summary.gaps, 1);
  assert.equal(summary.orphans, 0);
});

test('item 3: a retransmitted SYN (same ISN) after data does not restart the request', () => {
  const c = http(41007)
    .request(T0 + 1000, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n')
    .retransmitSyn(T0 + 20_000)
    .retransmit(T0 + 30_000, true, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n', 31)
    .response(T0 + 77_660, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')
    .close(T0 + 80_000);
  const { lines, summary } = run(c, 'http');
  assert.deepEqual(lines.map((l) => [l.request, l.latencyMs]), [['GET /slow', 76.66]]);
  assert.equal(summary.answered, 1);
  assert.equal(summary.orphans, 0);
});

test('item 4: a 413 and a 401 sent before the request body pair with their requests; 100 Continue is no push', () => {
  const c = http(41008)
    .request(T0 + 1000, 'POST /big HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10000000\r\n\r\n')
    .response(T0 + 1200, 'HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
    .close(T0 + 2000);
  const d = http(41009)
    .request(T0 + 1000, 'POST /secret HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n')
    .response(T0 + 1300, 'HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n')
    .request(T0 + 1400, 'hello')
    .request(T0 + 2000, 'POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n')
    .response(T0 + 2100, 'HTTP/1.1 100 Continue\r\n\r\n')
    .request(T0 + 2200, 'ok')
    .response(T0 + 2500, 'HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n')
    .close(T0 + 3000);
  const a = run(c, 'http');
  assert.deepEqual(a.lines.map((l) => [l.request, l.latencyMs, l.status]), [['POST /big', 0.2, '413']]);
  assert.equal(a.summary.orphans, 0);
  const b = run(d, 'http');
  assert.deepEqual(b.lines.map((l) => [l.request, l.latencyMs, l.status]), [['POST /secret', 0.3, '401'], ['POST /up', 0.5, '201']]);
  assert.equal(b.summary.orphans, 0);
  assert.equal(b.summary.pushes, 0);
  assert.doesNotMatch(b.stderr, /push/);
});

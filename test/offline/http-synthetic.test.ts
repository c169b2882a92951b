// -m http end to end on synthetic captures: keep-alive, HEAD, chunked,
// 100-continue, 5xx as errors, and a body delimited by the server's close.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Conversation, writePcap } from '../helpers/pcap-writer';
import { parseLines, tcpkit } from '../helpers/run';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-http-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const T0 = 1_580_000_000_000_000;

function run(c: Conversation) {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.pcap`);
  writePcap(file, 'ethernet', c.frames);
  const r = tcpkit(['-r', file, '-p', '80', '-m', 'http']);
  assert.equal(r.code, 0, r.stderr);
  return { lines: parseLines(r.stdout), stderr: r.stderr };
}

test('keep-alive: GET, HEAD, chunked POST after 100-continue, a 503', () => {
  const c = new Conversation('ethernet', '10.0.0.2', 40000, '10.0.0.1', 80)
    .handshake(T0)
    .request(T0 + 1000, 'GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n')
    .response(T0 + 1500, 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello')
    .request(T0 + 2000, 'HEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\n')
    .response(T0 + 2200, 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n')
    .request(T0 + 3000, 'POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n')
    .response(T0 + 3100, 'HTTP/1.1 100 Continue\r\n\r\n')
    .request(T0 + 3200, '5\r\nhello\r\n0\r\n\r\n')
    .response(T0 + 3900, 'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n')
    .request(T0 + 4000, 'GET /broken HTTP/1.1\r\nHost: x\r\n\r\n')
    .response(T0 + 4300, 'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n')
    .close(T0 + 5000);
  const { lines, stderr } = run(c);
  assert.deepEqual(
    lines.map((l) => [l.request, l.latencyMs, l.error]),
    [
      ['GET /index.html', 0.5, false],
      ['HEAD /index.html', 0.2, false],
      ['POST /upload', 0.9, false],
      ['GET /broken', 0.3, true],
    ],
  );
  assert.match(stderr, /requests: 4 answered \(1 error\), 0 without response/);
  // The status follows the request; the 1xx interim answer is not it.
  assert.deepEqual(lines.map((l) => l.status), ['200', '200', '201', '503']);
});

test('HTTP/1.0: a body that ends when the server closes', () => {
  const c = new Conversation('ethernet', '10.0.0.2', 40001, '10.0.0.1', 80)
    .handshake(T0)
    .request(T0 + 1000, 'GET /old HTTP/1.0\r\n\r\n')
    .response(T0 + 1800, 'HTTP/1.0 200 OK\r\n\r\nall of this is the body')
    .close(T0 + 2000);
  assert.deepEqual(run(c).lines.map((l) => [l.request, l.latencyMs]), [['GET /old', 0.8]]);
});

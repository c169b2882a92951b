// Several ports without -m (issue 16, item 9): each port is decoded as the
// protocol its well-known number implies; a port with none stays raw, and
// tcpkit says so once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Conversation, writePcap } from '../helpers/pcap-writer';
import { parseLines, parseSummary, tcpkit } from '../helpers/run';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-port-modes-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const T0 = 1_580_000_000_000_000;

function capture(): string {
  const redis = new Conversation('ethernet', '10.0.0.2', 47000, '10.0.0.1', 6379)
    .handshake(T0)
    .request(T0 + 1000, '*2\r\n$3\r\nGET\r\n$1\r\nk\r\n')
    .response(T0 + 1200, '$1\r\nv\r\n');
  const mc = new Conversation('ethernet', '10.0.0.2', 47001, '10.0.0.1', 11211)
    .handshake(T0)
    .request(T0 + 2000, 'get k\r\n')
    .response(T0 + 2300, 'VALUE k 0 1\r\nv\r\nEND\r\n');
  const other = new Conversation('ethernet', '10.0.0.2', 47002, '10.0.0.1', 6380)
    .handshake(T0)
    .request(T0 + 3000, '*1\r\n$4\r\nPING\r\n')
    .response(T0 + 3100, '+PONG\r\n');
  const file = path.join(dir, 'three-ports.pcap');
  writePcap(file, 'ethernet', [...redis.frames, ...mc.frames, ...other.frames].sort((a, b) => a.tsUs - b.tsUs));
  return file;
}

test('item 9: -p 6379,11211 decodes 11211 as memcached, not Redis', () => {
  const r = tcpkit(['-r', capture(), '-p', '6379,11211']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(parseLines(r.stdout).map((l) => [l.server, l.request, l.latencyMs, l.status]), [
    ['10.0.0.1:6379', 'GET k', 0.2, ''],
    ['10.0.0.1:11211', 'get k', 0.3, 'HIT'],
  ]);
  assert.equal(parseSummary(r.stderr).answered, 2);
  assert.match(r.stderr, /^tcpkit: port 6379: redis, port 11211: memcached$/m);
  assert.match(r.stderr, /to or from port 6379 \(redis\), port 11211 \(memcached\)/);
  const j = tcpkit(['-r', capture(), '-p', '6379,11211', '--json']);
  assert.deepEqual(j.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { protocol: string }).protocol), ['redis', 'memcached']);
});

test('item 9: a port with no well-known protocol stays raw, and -r says so once', () => {
  const r = tcpkit(['-r', capture(), '-p', '6379,6380']);
  assert.equal(r.code, 0, r.stderr);
  const notice = 'tcpkit: port 6379: redis, port 6380: raw (no well-known protocol; -m redis to decode)';
  assert.equal(r.stderr.split('\n').filter((l) => l === notice).length, 1, r.stderr);
  const lines = r.stdout.trim().split('\n');
  // The Redis line, and the raw port's packets as raw mode prints them.
  assert.match(lines[0], /10\.0\.0\.2:47000 => 10\.0\.0\.1:6379 \| 0\.200 ms \| GET k$/);
  assert.ok(lines.slice(1).every((l) => / 10\.0\.0\.(1:6380|2:47002)=>/.test(l)), lines.join('\n'));
  // (raw mode prints the packets that carry data: the PING and the PONG)
  assert.equal(lines.length, 1 + 2);
  // -m says what every port speaks: no notice.
  const m = tcpkit(['-r', capture(), '-p', '6379,6380', '-m', 'redis']);
  assert.doesNotMatch(m.stderr, /port 6380: raw/);
  assert.deepEqual(parseLines(m.stdout).map((l) => l.request), ['GET k', 'PING']);
  // A single port with no well-known protocol: raw, said once.
  const single = tcpkit(['-r', capture(), '-p', '6380']);
  assert.match(single.stderr, /^tcpkit: port 6380: raw \(no well-known protocol; -m MODE to decode\)$/m);
});

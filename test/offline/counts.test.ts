// What the lines and the summary say about requests that got no answer, the
// connection table's limits, and the summary's own wording (issue 16, items
// 10, 11 and 13), on captures built here.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Conversation, writePcap, type Frame } from '../helpers/pcap-writer';
import { parseSummary, tcpkit } from '../helpers/run';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-counts-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const T0 = 1_580_000_000_000_000; // 2020-01-26 00:53:20 UTC
const PING = '*1\r\n$4\r\nPING\r\n';

function write(frames: Frame[]): string {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.pcap`);
  writePcap(file, 'ethernet', frames.sort((a, b) => a.tsUs - b.tsUs));
  return file;
}

function redis(cport: number, client = '10.0.0.2'): Conversation {
  return new Conversation('ethernet', client, cport, '10.0.0.1', 6379);
}

test('item 10: lines for unanswered requests carry the request\'s own time; waiting at the end is in flight', () => {
  const a = redis(43000).handshake(T0).request(T0 + 1_234_567, '*2\r\n$3\r\nGET\r\n$1\r\na\r\n').close(T0 + 3_000_000);
  const b = redis(43001).handshake(T0).request(T0 + 2_000_000, '*2\r\n$3\r\nGET\r\n$1\r\nb\r\n').response(T0 + 2_000_300, '$-1\r\n')
    // Waits 3.2 s, past --timeout 2: given up on at a whole second of capture time.
    .request(T0 + 2_100_001, '*2\r\n$3\r\nGET\r\n$1\r\nc\r\n')
    // Still waiting when the capture ends, 0.5 s later.
    .request(T0 + 5_000_042, '*2\r\n$3\r\nGET\r\n$1\r\nd\r\n');
  const c = redis(43002).handshake(T0).request(T0 + 5_300_000, PING).response(T0 + 5_500_000, '+PONG\r\n');
  const file = write([...a.frames, ...b.frames, ...c.frames]);
  const r = tcpkit(['-r', file, '-p', '6379', '-m', 'redis', '--timeout', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    '2020-01-26 00:53:22.000300 10.0.0.2:43001 => 10.0.0.1:6379 | 0.300 ms | GET b',
    '2020-01-26 00:53:21.234567 10.0.0.2:43000 => 10.0.0.1:6379 | no response | GET a',
    '2020-01-26 00:53:22.100001 10.0.0.2:43001 => 10.0.0.1:6379 | no response | GET c',
    '2020-01-26 00:53:25.500000 10.0.0.2:43002 => 10.0.0.1:6379 | 200.000 ms | PING',
    '2020-01-26 00:53:25.000042 10.0.0.2:43001 => 10.0.0.1:6379 | in flight | GET d',
  ]);
  assert.match(r.stderr, /^requests: 2 answered, 2 without response, 1 in flight \(still waiting when the capture stopped\)$/m);
  const j = tcpkit(['-r', file, '-p', '6379', '-m', 'redis', '--timeout', '2', '--json']);
  const objs = j.stdout.trim().split('\n').map((l) => JSON.parse(l) as { time: string; answered: boolean; in_flight?: boolean });
  assert.deepEqual(objs.filter((o) => !o.answered).map((o) => [o.time, o.in_flight ?? false]), [
    ['2020-01-26T00:53:21.234567Z', false],
    ['2020-01-26T00:53:22.100001Z', false],
    ['2020-01-26T00:53:25.000042Z', true],
  ]);
});

test('item 11: --max-connections counts connections, not packets, and never expires one idle less than documented', () => {
  const frames: Frame[] = [];
  const real = [redis(44000), redis(44001)];
  for (const c of real) c.handshake(T0);
  // A third connection while the table is full: refused, however many packets it sends.
  const refused = redis(44002, '10.0.0.3').handshake(T0 + 1_300_000);
  for (let i = 0; i < 10; i++) refused.request(T0 + 1_400_000 + i * 1000, PING);
  // The real ones go on, idle 1.3 s in between.
  for (let i = 0; i < 4; i++) {
    for (const c of real) c.request(T0 + i * 1_300_000 + 10, PING).response(T0 + i * 1_300_000 + 110, '+PONG\r\n');
  }
  for (const c of [...real, refused]) frames.push(...c.frames);
  const r = tcpkit(['-r', write(frames), '-p', '6379', '-m', 'redis', '--max-connections', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 8);
  assert.match(r.stderr, /; 2 connections$/m);
  assert.match(r.stderr, /1 connection refused \(table full\)/);
  assert.doesNotMatch(r.stderr, /expired|evicted/);
  assert.deepEqual(parseSummary(r.stderr).answered, 8);
});

test('item 13: the summary reads right: one and many, -t only when given, every packet explained', () => {
  const c = redis(45000).handshake(T0)
    .request(T0 + 1000, PING).response(T0 + 1100, '+PONG\r\n')
    .request(T0 + 2000, '*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n').response(T0 + 2050, '-WRONGTYPE no\r\n')
    .request(T0 + 3000, '*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n')
    .close(T0 + 30_000_000);
  // One packet that is not to the watched port.
  const other = new Conversation('ethernet', '10.0.0.2', 46000, '10.0.0.1', 22).request(T0 + 5000, 'ssh');
  const file = write([...c.frames, ...other.frames]);
  const r = tcpkit(['-r', file, '-p', '6379', '-m', 'redis']);
  assert.equal(r.code, 0, r.stderr);
  // 3 + 5 + 3 packets of the connection: 5 with data, 5 handshake, FIN and ACK, the last ACK after it closed; 1 SSH packet.
  assert.match(r.stderr, /^tcpkit: pcap-file \S+: 12 packets in [\d.]+ s: 5 to or from redis on port 6379, 5 handshake\/ACK without data, 1 of no tracked connection \(ACK\/FIN\/RST after a close, or refused\), 1 other traffic; 1 connection$/m);
  assert.match(r.stderr, /^requests: 2 answered \(1 error\), 1 without response$/m);
  assert.doesNotMatch(r.stderr, /threshold|-t /);
  // With -t 10: the unanswered BLPOP (given up on after 10 s) is printed, and counted with the slow ones.
  const t = tcpkit(['-r', file, '-p', '6379', '-m', 'redis', '-t', '10']);
  assert.equal(t.stdout.trim().split('\n').length, 1);
  assert.match(t.stdout, /\| no response \| BLPOP q 0$/m);
  assert.match(t.stderr, /^-t 10 ms: 1 line printed, 0 answered at or above 10 ms, 1 without response$/m);
});

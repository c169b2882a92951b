// Pairing end to end on synthetic captures, where each latency is known to the
// microsecond: a request queue that wraps and then grows, DNS answered out of
// order on one flow, flows whose both ends are watched ports, and latency to
// the response's first byte (not its last).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Conversation, udpPacket, writePcap, type Frame } from '../helpers/pcap-writer';
import { parseLines, parseSummary, tcpkit } from '../helpers/run';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-pairing-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const T0 = 1_580_000_000_000_000;

function run(frames: Frame[], args: string[]) {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.pcap`);
  writePcap(file, 'ethernet', frames);
  const r = tcpkit(['-r', file, ...args]);
  assert.equal(r.code, 0, r.stderr);
  return { lines: parseLines(r.stdout), stderr: r.stderr, summary: parseSummary(r.stderr) };
}

const get = (k: string) => `*2\r\n$3\r\nGET\r\n$${k.length}\r\n${k}\r\n`;
const bulk = (v: string) => `$${v.length}\r\n${v}\r\n`;

test('redis: a queue that wraps, then grows, keeps its order (a, b, reply, c, d, replies)', () => {
  // After a's reply the queue's two slots hold b at index 1 and c at index 0;
  // d makes it grow, and the copy must start at b, not at index 0.
  const c = new Conversation('ethernet', '10.0.0.2', 40000, '10.0.0.1', 6379)
    .handshake(T0)
    .request(T0 + 1000, get('a'))
    .request(T0 + 1100, get('b'))
    .response(T0 + 1200, bulk('A'))
    .request(T0 + 1300, get('c'))
    .request(T0 + 1400, get('d'))
    .response(T0 + 1500, bulk('B'))
    .response(T0 + 1600, bulk('C'))
    .response(T0 + 1700, bulk('D'))
    .close(T0 + 2000);
  const { lines, summary } = run(c.frames, ['-p', '6379', '-m', 'redis']);
  assert.deepEqual(
    lines.map((l) => [l.request, l.latencyMs]),
    [['GET a', 0.2], ['GET b', 0.4], ['GET c', 0.3], ['GET d', 0.3]],
  );
  assert.equal(summary.answered, 4);
  assert.equal(summary.orphans, 0);
});

test('redis: a deep pipeline that wraps and grows several times pairs every request in order', () => {
  // Two requests, then one reply, fifty times: the queue keeps wrapping while
  // it grows 1 -> 2 -> 4 -> ... -> 64; then the last fifty replies drain it.
  const c = new Conversation('ethernet', '10.0.0.2', 40001, '10.0.0.1', 6379).handshake(T0);
  const sent: number[] = [];
  const answered: number[] = [];
  let t = T0 + 1000;
  const reply = () => {
    c.response(t, bulk(`v${answered.length}`));
    answered.push(t);
    t += 10;
  };
  for (let i = 0; i < 100; i++) {
    c.request(t, get(`k${i}`));
    sent.push(t);
    t += 10;
    if (i % 2 === 1) reply();
  }
  while (answered.length < 100) reply();
  const { lines, summary } = run(c.close(t + 100).frames, ['-p', '6379', '-m', 'redis']);
  assert.deepEqual(
    lines.map((l) => [l.request, l.latencyMs]),
    sent.map((s, i) => [`GET k${i}`, (answered[i] - s) / 1000]),
  );
  assert.deepEqual([summary.answered, summary.noResponse, summary.orphans], [100, 0, 0]);
});

/** A DNS query or answer for `name`, type A. */
function dns(id: number, name: string, answer: boolean): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h[2] = answer ? 0x81 : 0x01;
  h[3] = answer ? 0x80 : 0x00;
  h.writeUInt16BE(1, 4);
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  return Buffer.concat([h, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

test('dns: two queries on one UDP flow, answered out of order, pair by id', () => {
  const q = (ts: number, id: number, name: string): Frame => ({ tsUs: ts, data: udpPacket('ethernet', '10.0.0.2', 40053, '10.0.0.1', 53, dns(id, name, false)) });
  const a = (ts: number, id: number, name: string): Frame => ({ tsUs: ts, data: udpPacket('ethernet', '10.0.0.1', 53, '10.0.0.2', 40053, dns(id, name, true)) });
  const frames = [q(T0 + 1000, 0x1111, 'one.example'), q(T0 + 1100, 0x2222, 'two.example'), a(T0 + 1300, 0x2222, 'two.example'), a(T0 + 1600, 0x1111, 'one.example')];
  const { lines, summary } = run(frames, ['-p', '53', '-u', '-m', 'dns']);
  assert.deepEqual(
    lines.map((l) => [l.request, l.latencyMs, l.status]),
    [
      ['two.example A', 0.2, 'NOERROR'],
      ['one.example A', 0.6, 'NOERROR'],
    ],
  );
  assert.equal(summary.answered, 2);
  assert.equal(summary.orphans, 0);
});

/** PING and +PONG between two watched ports, with or without the handshake. */
function pingBetweenServers(client: [string, number], server: [string, number], opening: 'none' | 'syn' | 'synack'): Frame[] {
  const c = new Conversation('ethernet', client[0], client[1], server[0], server[1]);
  if (opening !== 'none') c.handshake(T0);
  c.request(T0 + 1000, '*1\r\n$4\r\nPING\r\n').response(T0 + 1250, '+PONG\r\n');
  // Without the SYN, the SYN-ACK is the first thing the capture saw.
  return opening === 'synack' ? c.frames.slice(1) : c.frames;
}

test('both ends watched ports (-p 6379,6380): with no handshake, the lower port is the server', () => {
  const { lines, summary } = run(pingBetweenServers(['10.0.0.2', 6380], ['10.0.0.1', 6379], 'none'), ['-p', '6379,6380', '-m', 'redis']);
  assert.deepEqual(lines.map((l) => [l.client, l.server, l.latencyMs, l.request]), [['10.0.0.2:6380', '10.0.0.1:6379', 0.25, 'PING']]);
  assert.deepEqual([summary.answered, summary.noResponse, summary.orphans], [1, 0, 0]);
});

test('both ends watched ports: the SYN names the client, even on the lower port, and the reply keeps that orientation', () => {
  const { lines, summary } = run(pingBetweenServers(['10.0.0.2', 6379], ['10.0.0.1', 6380], 'syn'), ['-p', '6379,6380', '-m', 'redis']);
  assert.deepEqual(lines.map((l) => [l.client, l.server, l.latencyMs, l.request]), [['10.0.0.2:6379', '10.0.0.1:6380', 0.25, 'PING']]);
  assert.deepEqual([summary.answered, summary.noResponse, summary.orphans], [1, 0, 0]);
});

test('both ends watched ports: a SYN-ACK without its SYN names the server', () => {
  const { lines, summary } = run(pingBetweenServers(['10.0.0.2', 6379], ['10.0.0.1', 6380], 'synack'), ['-p', '6379,6380', '-m', 'redis']);
  assert.deepEqual(lines.map((l) => [l.client, l.server, l.latencyMs, l.request]), [['10.0.0.2:6379', '10.0.0.1:6380', 0.25, 'PING']]);
  assert.deepEqual([summary.answered, summary.noResponse, summary.orphans], [1, 0, 0]);
});

test('latency runs to the first byte of the response; its last byte comes later', () => {
  // GET's reply in three segments, 0.5 ms, 0.9 ms and 1.4 ms after the request.
  const c = new Conversation('ethernet', '10.0.0.2', 40002, '10.0.0.1', 6379)
    .handshake(T0)
    .request(T0 + 1000, get('k'))
    .response(T0 + 1500, '$10\r\nabc')
    .response(T0 + 1900, 'defg')
    .response(T0 + 2400, 'hij\r\n')
    .request(T0 + 3000, get('k'))
    .response(T0 + 3100, bulk('0123456789'))
    .close(T0 + 4000);
  const { lines } = run(c.frames, ['-p', '6379', '-m', 'redis']);
  assert.deepEqual(lines.map((l) => [l.request, l.latencyMs]), [['GET k', 0.5], ['GET k', 0.1]]);
  const json = tcpkitJson(c.frames, ['-p', '6379', '-m', 'redis']);
  assert.deepEqual(json.map((j) => [j.latency_us, j.response_bytes]), [[500, 17], [100, 17]]);
});

function tcpkitJson(frames: Frame[], args: string[]): { latency_us: number; response_bytes: number }[] {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.pcap`);
  writePcap(file, 'ethernet', frames);
  const r = tcpkit(['-r', file, '--json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l));
}

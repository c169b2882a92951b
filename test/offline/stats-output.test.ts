// --json, the exit summary and the stats port's errors, end to end with -r on
// the recorded demo capture and on synthetic ones.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Conversation, writePcap } from '../helpers/pcap-writer';
import { FIXTURES, parseLines, parseSummary, tcpkit } from '../helpers/run';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-stats-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const demo = path.join(FIXTURES, 'redis-demo.pcap');
const T0 = 1_580_000_000_000_000;

interface Event {
  time: string;
  client: string;
  server: string;
  protocol: string;
  command: string;
  request: string;
  status: string | null;
  latency_us: number | null;
  request_bytes: number;
  response_bytes: number;
  error: boolean;
  answered: boolean;
}

function events(stdout: string): Event[] {
  return stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event);
}

test('--json: one object per line, the same transactions as the text lines', () => {
  const text = tcpkit(['-r', demo, '-p', '6379', '-m', 'redis']);
  const json = tcpkit(['-r', demo, '-p', '6379', '-m', 'redis', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const lines = parseLines(text.stdout);
  const evs = events(json.stdout);
  assert.equal(evs.length, lines.length);
  assert.ok(evs.length > 10);
  evs.forEach((e, i) => {
    const l = lines[i];
    assert.deepEqual(Object.keys(e), ['time', 'client', 'server', 'protocol', 'command', 'request', 'status', 'latency_us', 'request_bytes', 'response_bytes', 'error', 'answered']);
    assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.equal(e.client, l.client);
    assert.equal(e.server, l.server);
    assert.equal(e.protocol, 'redis');
    assert.equal(e.request, l.request);
    assert.equal(e.command, l.request.split(' ')[0].toUpperCase());
    assert.equal(e.error, l.error);
    assert.equal(e.answered, true);
    assert.ok(Math.abs(e.latency_us! - l.latencyMs! * 1000) <= 1, `${e.latency_us} vs ${l.latencyMs}`);
    // The line's time is the response's; the event's is the request's.
    const lineUs = Date.parse(`${l.time.slice(0, 19).replace(' ', 'T')}Z`) * 1000 + Number(l.time.slice(20));
    const evUs = Date.parse(`${e.time.slice(0, 19)}Z`) * 1000 + Number(e.time.slice(20, 26));
    assert.ok(Math.abs(lineUs - evUs - e.latency_us!) <= 1, `${l.time} - ${e.time} != ${e.latency_us} us`);
    assert.ok(e.request_bytes > 0 && e.response_bytes > 0);
  });
  // The summary is the same either way.
  assert.deepEqual(parseSummary(json.stderr), parseSummary(text.stderr));
});

test('--json with -t: only the slow ones; with -o: into the file', () => {
  const out = path.join(dir, 'slow.ndjson');
  const r = tcpkit(['-r', demo, '-p', '6379', '-m', 'redis', '--json', '-t', '10', '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  const evs = events(fs.readFileSync(out, 'utf8'));
  assert.deepEqual(evs.map((e) => e.request), ['DEBUG SLEEP 0.03']);
  // tshark: the request is frame 18 (.861586), its reply frame 19 (.892099).
  assert.equal(evs[0].latency_us, 30_513);
});

test('--json: unanswered requests and HTTP statuses', () => {
  const c = new Conversation('ethernet', '10.0.0.2', 40000, '10.0.0.1', 80)
    .handshake(T0)
    .request(T0 + 1000, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n')
    .response(T0 + 1500, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
    .request(T0 + 2000, 'POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')
    .response(T0 + 2700, 'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n')
    .request(T0 + 3000, 'GET /never HTTP/1.1\r\nHost: x\r\n\r\n');
  const file = path.join(dir, 'http.pcap');
  writePcap(file, 'ethernet', c.frames);
  const r = tcpkit(['-r', file, '-p', '80', '-m', 'http', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const evs = events(r.stdout);
  assert.deepEqual(
    evs.map((e) => [e.command, e.request, e.status, e.latency_us, e.error, e.answered]),
    [
      ['GET', 'GET /a', '200', 500, false, true],
      ['POST', 'POST /b', '503', 700, true, true],
      ['GET', 'GET /never', null, null, false, false],
    ],
  );
  assert.equal(evs[0].time, '2020-01-26T00:53:20.001000Z');
});

test('the exit summary: a row per port and per command with percentiles, bars, counters', () => {
  const frames = [];
  for (const [port, cport] of [[6379, 40000], [6380, 40001]]) {
    const c = new Conversation('ethernet', '10.0.0.2', cport, '10.0.0.1', port).handshake(T0);
    for (let i = 0; i < 20; i++) {
      const t = T0 + 1000 + i * 10_000;
      c.request(t, `*2\r\n$3\r\nGET\r\n$2\r\nk${i % 10}\r\n`).response(t + (port === 6379 ? 100 : 2000) + i, '$-1\r\n');
    }
    c.request(T0 + 300_000, '*1\r\n$4\r\nPING\r\n').response(T0 + 300_050, '+PONG\r\n');
    frames.push(...c.frames);
  }
  const file = path.join(dir, 'two-ports.pcap');
  writePcap(file, 'ethernet', frames);
  const r = tcpkit(['-r', file, '-p', '6379,6380', '-m', 'redis']);
  assert.equal(r.code, 0, r.stderr);
  const s = r.stderr;
  assert.match(s, /^requests: 42 answered, 0 without response$/m);
  assert.match(s, /^latency: avg \d+\.\d{3} ms, p50 \d+\.\d{3} ms, p90 \d+\.\d{3} ms, p99 \d+\.\d{3} ms, p99\.9 \d+\.\d{3} ms, max 2\.019 ms$/m);
  // 100 µs is in the first bucket (upper bounds are inclusive), with the PINGs.
  assert.match(s, /^ {5}<0\.1ms {9}3 #{6}\n {2}0\.1-0\.2ms {8}19 #{38}\n {6}1-5ms {8}20 #{40}\n/m);
  assert.match(s, /^ +requests +errors +no resp +avg +p50 +p90 +p99 +p99\.9 +max +\(ms\)$/m);
  assert.match(s, /^ {2}port 6379 +21 +0 +0 +0\.\d{3} /m);
  assert.match(s, /^ {2}port 6380 +21 +0 +0 +1\.\d{3} /m);
  assert.match(s, /^ {2}GET +40 +0 +0 /m);
  assert.match(s, /^ {2}PING +2 +0 +0 +0\.050 +0\.050 +0\.050 +0\.050 +0\.050 +0\.050$/m);
});

test('reading a file with stderr not a terminal: no progress bar', () => {
  const r = tcpkit(['-r', demo, '-p', '6379', '-m', 'redis']);
  assert.equal(r.code, 0);
  assert.doesNotMatch(r.stderr, /\r|\x1b/);
});

test('a stats port already in use: one clear line, exit 1, nothing read', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const r = tcpkit(['-r', demo, '-p', '6379', '-P', String(port)]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `tcpkit: stats port: 127.0.0.1:${port} is already in use\n`);
    assert.equal(r.stdout, '');
  } finally {
    blocker.close();
  }
});

test('-P with -r: the file is read and the port let go at its end', async () => {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const r = tcpkit(['-r', demo, '-p', '6379', '-P', String(port)]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(parseLines(r.stdout).length, 22);
  // Let go: the port can be taken again.
  const again = net.createServer();
  await new Promise<void>((resolve, reject) => again.once('error', reject).listen(port, '127.0.0.1', resolve));
  again.close();
});

test('--pid-file: written while running, removed at the end; a stale one is replaced; a live one refuses', () => {
  const pidFile = path.join(dir, 'tk.pid');
  const r = tcpkit(['-r', demo, '-p', '6379', '--pid-file', pidFile]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.existsSync(pidFile), false, 'removed at exit');
  fs.writeFileSync(pidFile, '999999999\n'); // no such process
  assert.equal(tcpkit(['-r', demo, '-p', '6379', '--pid-file', pidFile]).code, 0);
  assert.equal(fs.existsSync(pidFile), false);
  fs.writeFileSync(pidFile, `${process.pid}\n`); // this test runner: alive
  const refused = tcpkit(['-r', demo, '-p', '6379', '--pid-file', pidFile]);
  assert.equal(refused.code, 1);
  assert.equal(refused.stderr, `tcpkit: ${pidFile}: tcpkit is already running as pid ${process.pid} (stop it, or give another --pid-file)\n`);
  assert.equal(refused.stdout, '');
  assert.equal(fs.readFileSync(pidFile, 'utf8'), `${process.pid}\n`, 'left alone');
});

// -m redis on synthetic captures: RESP2 pub/sub, and error replies that say which error.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Conversation, writePcap } from '../helpers/pcap-writer';
import { parseLines, parseSummary, tcpkit } from '../helpers/run';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-redis-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const T0 = 1_580_000_000_000_000;

function resp(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

function run(frames: Conversation['frames'], args: string[] = []) {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.pcap`);
  writePcap(file, 'ethernet', frames.sort((a, b) => a.tsUs - b.tsUs));
  const r = tcpkit(['-r', file, '-p', '6379', '-m', 'redis', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return { lines: args.includes('--json') ? [] : parseLines(r.stdout), stderr: r.stderr, summary: parseSummary(r.stderr), stdout: r.stdout };
}

test('item 5: RESP2 pub/sub messages on a subscribed connection are pushes, not responses without a request', () => {
  const sub = new Conversation('ethernet', '10.0.0.2', 42000, '10.0.0.1', 6379)
    .handshake(T0)
    .request(T0 + 1000, resp('SUBSCRIBE', 'news', 'sport'))
    .response(T0 + 1100, '*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$5\r\nsport\r\n:2\r\n')
    .response(T0 + 5000, '*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n')
    .response(T0 + 6000, '*3\r\n$7\r\nmessage\r\n$5\r\nsport\r\n$4\r\ngoal\r\n')
    .request(T0 + 7000, resp('PSUBSCRIBE', 'n*'))
    .response(T0 + 7200, '*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:3\r\n')
    .response(T0 + 8000, '*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n')
    .request(T0 + 9000, resp('PING'))
    .response(T0 + 9300, '*2\r\n$4\r\npong\r\n$0\r\n\r\n');
  // Not subscribed: a list that happens to start with "message" is a reply.
  const list = new Conversation('ethernet', '10.0.0.3', 42001, '10.0.0.1', 6379)
    .handshake(T0)
    .request(T0 + 2000, resp('LRANGE', 'l', '0', '-1'))
    .response(T0 + 2400, '*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nb\r\n');
  const { lines, summary } = run([...sub.frames, ...list.frames]);
  assert.deepEqual(lines.map((l) => [l.request, l.latencyMs]), [
    ['SUBSCRIBE news sport', 0.1],
    ['LRANGE l 0 -1', 0.4],
    ['PSUBSCRIBE n*', 0.2],
    ['PING', 0.3],
  ]);
  assert.equal(summary.orphans, 0);
  // The second channel's confirmation and three messages.
  assert.equal(summary.pushes, 4);
});

test('item 8: an error reply shows its first word', () => {
  const c = new Conversation('ethernet', '10.0.0.2', 42002, '10.0.0.1', 6379)
    .handshake(T0)
    .request(T0 + 1000, resp('GET', 'k'))
    .response(T0 + 1100, '-NOAUTH Authentication required.\r\n')
    .request(T0 + 2000, resp('INCR', 'list'))
    .response(T0 + 2100, '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n')
    .request(T0 + 3000, resp('GET', 'big'))
    // Split inside the error's first word, and one too long to show whole.
    .response(T0 + 3100, '-ERR')
    .response(T0 + 3200, ' unknown\r\n')
    .request(T0 + 4000, resp('GET', 'x'))
    .response(T0 + 4100, `-${'X'.repeat(40)} long\r\n`)
    .request(T0 + 5000, resp('GET', 'ok'))
    .response(T0 + 5100, '$1\r\nv\r\n');
  const { lines, stdout, summary } = run(c.frames);
  assert.deepEqual(lines.map((l) => [l.request, l.status, l.error]), [
    ['GET k', 'NOAUTH', true],
    ['INCR list', 'WRONGTYPE', true],
    ['GET big', 'ERR', true],
    ['GET x', 'X'.repeat(32), true],
    ['GET ok', '', false],
  ]);
  assert.match(stdout, /\| GET k \| NOAUTH \| error\n/);
  assert.equal(summary.errors, 4);
  const json = run(c.frames, ['--json']).stdout.trim().split('\n').map((l) => JSON.parse(l) as { status: string | null });
  assert.deepEqual(json.map((j) => j.status), ['NOAUTH', 'WRONGTYPE', 'ERR', 'X'.repeat(32), null]);
});

// -m kafka live: a real client (kcat, librdkafka) against a small Kafka
// responder (test/helpers/kafka-broker.ts) in a lab namespace, tcpkit on the
// server side with each engine. Every request the responder read is
// reported once, with its API, version and correlation id: answered when the
// responder answered it, `no response` when its client left first (kcat
// sends its next Fetch and exits while the broker holds it); acks=0 Produce
// requests expect nothing and are not waited for; the consumer's empty
// Fetch, held for fetch.wait.max.ms, is a long poll.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab } from '../helpers/netns';
import { kernelStateBefore, settlesTo } from '../helpers/kernel-state';
import { toolsUnavailable } from '../helpers/servers';

const why = toolsUnavailable(['kcat']);
if (why) process.stdout.write(`# kafka-live: skipped, ${why}\n`);

const PORT = 9092;
const NAMES: Record<number, string> = { 0: 'Produce', 1: 'Fetch', 2: 'ListOffsets', 3: 'Metadata', 18: 'ApiVersions' };

interface Seen {
  port: number;
  api_key: number;
  api_version: number;
  correlation_id: number;
  expects: boolean;
  sent?: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('live capture of a real Kafka client (kcat) and a Kafka responder', { skip: why ?? false }, () => {
  let lab: Lab;
  let broker: ChildProcess;
  let log = '';

  before(async () => {
    lab = Lab.create();
    broker = lab.spawn('server', [process.execPath, path.join(__dirname, '..', 'helpers', 'kafka-broker.js'), lab.ip4.server, String(PORT)]);
    broker.stdout!.on('data', (d) => (log += d));
    broker.stderr!.on('data', (d) => (log += d));
    for (let i = 0; i < 100 && !log.includes('listening'); i++) await sleep(50);
    assert.match(log, /listening/);
  });

  after(async () => {
    await lab?.destroy();
  });

  /** What the responder read since `from` (an offset in its log). */
  const seenSince = (from: number): Seen[] =>
    log.slice(from).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Seen);

  const kcat = (args: string[], input = ''): string => lab.exec('client', ['kcat', '-b', `${lab.ip4.server}:${PORT}`, ...args], input);

  for (const engine of ['ebpf', 'libpcap']) {
    test(`${engine}: every request kcat sent is reported once, paired by correlation id; acks=0 waits for nothing; the idle Fetch is a long poll`, async () => {
      const nsList = [lab.ns.server, lab.ns.client];
      const state = await kernelStateBefore(nsList);
      const from = log.length;
      const tk = await lab.tcpkit('server', [...(engine === 'ebpf' ? ['--ebpf'] : []), '-p', String(PORT), '-m', 'kafka', '--json', '--timeout', '2']);
      kcat(['-P', '-t', 'orders', '-p', '0'], 'one\ntwo\nthree\n');
      kcat(['-P', '-t', 'orders', '-p', '0', '-X', 'acks=0'], 'fire\nand\nforget\n');
      kcat(['-C', '-t', 'orders', '-p', '0', '-o', 'beginning', '-e', '-X', 'fetch.wait.max.ms=300']);
      // Let the last packets reach tcpkit, and any request left waiting time out.
      await sleep(2500);
      assert.equal(await tk.stop(), 0, tk.stderr);
      assert.match(tk.stderr, new RegExp(`^tcpkit: capturing with ${engine === 'ebpf' ? 'eBPF' : 'libpcap'} on any, tcp and \\(port ${PORT}\\)`, 'm'));
      const events = seenSince(from);
      const seen = events.filter((s) => s.sent === undefined);
      const sent = new Set(events.filter((s) => s.sent !== undefined).map((s) => `${s.port} ${s.sent}`));
      const expected = seen.filter((s) => s.expects).map((s) => [s.port, NAMES[s.api_key], s.api_version, s.correlation_id, sent.has(`${s.port} ${s.correlation_id}`)]);
      const evs = tk.stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
      const reported = evs.map((e) => [Number(e.client.split(':').pop()), e.command, e.api_version, e.correlation_id, e.answered]);
      const key = (x: unknown[]) => x.join(' ');
      assert.deepEqual(reported.map(key).sort(), expected.map(key).sort());
      assert.ok(evs.every((e) => e.error === false), tk.stdout);
      // Each API kcat needs was there, and acks=0 Produce requests were sent and expected nothing.
      for (const api of ['ApiVersions', 'Metadata', 'Produce', 'Fetch']) assert.ok(evs.some((e) => e.command === api && e.answered), api);
      assert.ok(seen.some((s) => s.api_key === 0 && !s.expects), 'an acks=0 Produce');
      const unanswered = expected.filter((x) => !x[4]);
      assert.ok(unanswered.every((x) => x[1] === 'Fetch'), `only a held Fetch goes unanswered: ${JSON.stringify(unanswered)}`);
      const answered = expected.length - unanswered.length;
      assert.match(tk.stderr, new RegExp(`requests: ${answered - 1} answered, .*1 long poll \\(`));
      // The consumer's Fetch found nothing and was held for its 300 ms: a long poll.
      const fetches = evs.filter((e) => e.command === 'Fetch' && e.answered);
      assert.equal(fetches.length, 1);
      for (const f of fetches) {
        assert.equal(f.status, 'OK (long poll)', JSON.stringify(f));
        assert.equal(f.long_poll, true);
        assert.ok(f.latency_us >= 290_000 && f.latency_us < 1_000_000, String(f.latency_us));
        assert.match(f.request, /^Fetch v\d+ max_wait_ms=300 orders\[0\]$/);
      }
      assert.ok(evs.filter((e) => e.command === 'Produce').every((e) => /^Produce v\d+ orders\[0\]$/.test(e.request) && e.client_id === 'rdkafka'));
      assert.equal(await settlesTo(state, nsList), state);
    });
  }
});

// What the recorded-* offline tests share: a Lab with tcpdump on both ends of
// its veth (the server's side and the client's) while a test drives a real
// server, then `tcpkit -r` on each file, and the checks every protocol makes.
//
//   const rec = await Recording.create('redis', 6379);
//   await rec.record('tcp port 6379', () => { lab.redis(...) });
//   const { lines, stderr } = rec.analyse('client', rec.servers());
//   await rec.destroy();
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Lab, tempDir, type Side } from './netns';
import { parseLines, parseSummary, tcpkit, type TxLine } from './run';

/**
 * A line as the tests expect it: request text, status ('' when the protocol
 * shows none, as Redis; NO_RESPONSE for a request given up on), error mark.
 */
export type Expected = [request: string, status: string, error: boolean];
export const NO_RESPONSE = 'no response';

export class Recording {
  readonly files: Record<Side, string>;

  private constructor(
    readonly lab: Lab,
    private readonly tmp: { dir: string; remove: () => void },
    private readonly mode: string,
    private readonly port: number,
  ) {
    this.files = { server: path.join(tmp.dir, 'server.pcap'), client: path.join(tmp.dir, 'client.pcap') };
  }

  /** A fresh lab and a temporary directory for the captures. */
  static create(mode: string, port: number): Recording {
    const tmp = tempDir(`tk-recorded-${mode}-`);
    try {
      return new Recording(Lab.create(), tmp, mode, port);
    } catch (e) {
      tmp.remove();
      throw e;
    }
  }

  /** A scratch directory beside the captures (server configuration, files to serve). */
  get dir(): string {
    return this.tmp.dir;
  }

  /** Captures `filter` on both ends of the veth while `drive` runs; no packet may be dropped. */
  async record(filter: string, drive: () => void | Promise<void>): Promise<void> {
    const caps = [await this.lab.startTcpdump('server', this.files.server, filter), await this.lab.startTcpdump('client', this.files.client, filter)];
    try {
      await drive();
    } finally {
      for (const c of caps) assert.match(await c.stop(), /^0 packets dropped by kernel$/m);
    }
  }

  /** `-s` for each server address, as a client-side capture is read. */
  servers(): string[] {
    return ['-s', this.lab.ip4.server, '-s', this.lab.ip6.server];
  }

  /**
   * `tcpkit -r` on one side's capture; it must exit 0, and every latency must
   * agree with the capture's own frame times (assertFrameTimes).
   */
  analyse(side: Side, extra: string[] = []): { lines: TxLine[]; stderr: string } {
    const r = tcpkit(['-r', this.files[side], '-p', String(this.port), '-m', this.mode, ...extra]);
    assert.equal(r.code, 0, r.stderr);
    const lines = parseLines(r.stdout);
    this.frames[side] ??= dataFrames(this.files[side]);
    assertFrameTimes(this.frames[side]!, lines, `${this.mode} ${side} side`);
    return { lines, stderr: r.stderr };
  }

  private readonly frames: Partial<Record<Side, DataFrame[]>> = {};

  async destroy(): Promise<void> {
    await this.lab.destroy();
    this.tmp.remove();
  }
}

/**
 * Exactly the expected lines, in order, and a summary that agrees: every
 * request answered or given up on, no orphan responses, no parser resets, no
 * gaps; `pushes`: HTTP 1xx answers and other server pushes.
 */
export function assertLines(lines: TxLine[], stderr: string, expected: Expected[], pushes = 0): void {
  assert.deepEqual(
    lines.map((l): Expected => [l.request, l.latencyMs === null ? NO_RESPONSE : l.status, l.error]),
    expected,
  );
  assert.equal(lines.length, expected.length);
  const unanswered = expected.filter((e) => e[1] === NO_RESPONSE).length;
  const s = parseSummary(stderr);
  assert.deepEqual(
    // In flight (still waiting, for less than --timeout, when the capture ended) or given up on: no answer either way.
    { answered: s.answered, errors: s.errors, noResponse: s.noResponse + s.inFlight, orphans: s.orphans, malformed: s.malformed, gaps: s.gaps, pushes: s.pushes },
    { answered: expected.length - unanswered, errors: expected.filter((e) => e[2]).length, noResponse: unanswered, orphans: 0, malformed: 0, gaps: 0, pushes },
    stderr,
  );
  // Each latency itself is checked against the capture's frame times in Recording.analyse().
}

/** The same requests on both sides, and the client's round trip never shorter than the server's time. */
export function assertClientNotFaster(server: TxLine[], client: TxLine[]): void {
  assert.equal(client.length, server.length);
  for (let i = 0; i < server.length; i++) {
    assert.equal(client[i].request, server[i].request);
    if (server[i].latencyMs === null) continue;
    assert.ok(client[i].latencyMs! >= server[i].latencyMs! - 0.002, `${client[i].request}: ${client[i].latencyMs} < ${server[i].latencyMs}`);
  }
}

/**
 * The endpoints of each group of lines (one connection, or one exchange):
 * the server's address and port, the client's address, IPv6 in brackets.
 */
export function assertEndpoints(lines: TxLine[], lab: Lab, port: number, ipv6: boolean): void {
  for (const l of lines) {
    assert.equal(l.server, ipv6 ? `[${lab.ip6.server}]:${port}` : `${lab.ip4.server}:${port}`);
    assert.ok(l.client.startsWith(ipv6 ? `[${lab.ip6.client}]:` : `${lab.ip4.client}:`), l.client);
  }
}

/** A packet that carried data, as tshark read it from a capture. */
export interface DataFrame {
  us: number;
  src: string;
  dst: string;
}

/** The packets of a capture that carry TCP or UDP payload, by tshark (IP fragments: the first). */
export function dataFrames(file: string): DataFrame[] {
  const r = spawnSync(
    'tshark',
    ['-r', file, '-n', '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-Y', 'tcp.len > 0 or udp',
      '-T', 'fields', '-E', 'separator=,', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'ip.dst', '-e', 'ipv6.dst',
      '-e', 'tcp.srcport', '-e', 'udp.srcport', '-e', 'tcp.dstport', '-e', 'udp.dstport'],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  assert.equal(r.status, 0, `tshark: ${r.stderr}`);
  const out: DataFrame[] = [];
  for (const row of r.stdout.split('\n')) {
    if (row === '') continue;
    const [t, s4, s6, d4, d6, tsp, usp, tdp, udp] = row.split(',');
    const [sec, frac = ''] = t.split('.');
    const us = Number(sec) * 1e6 + Number(frac.padEnd(6, '0').slice(0, 6));
    const at = (v4: string, v6: string, port: string) => (v6 ? `[${v6}]:${port}` : `${v4}:${port}`);
    out.push({ us, src: at(s4, s6, tsp || usp), dst: at(d4, d6, tdp || udp) });
  }
  return out;
}

/** A line's time (the response's first byte, UTC) in microseconds since the epoch. */
function lineUs(time: string): number {
  return Date.parse(`${time.slice(0, 19).replace(' ', 'T')}Z`) * 1000 + Number(time.slice(20, 26));
}

/**
 * Every answered line against the capture's frame times, to the microsecond:
 * the line's time is a packet from the server to that client carrying data
 * (the response's first byte), and the line's time less its latency is a
 * packet from the client carrying data (the request's first byte). A latency
 * taken to the response's last byte, or from another request, lands on no
 * such packet.
 */
export function assertFrameTimes(frames: DataFrame[], lines: TxLine[], what: string): void {
  const at = new Set(frames.map((f) => `${f.us} ${f.src} ${f.dst}`));
  const near = (us: number, src: string, dst: string) => at.has(`${us} ${src} ${dst}`) || at.has(`${us - 1} ${src} ${dst}`) || at.has(`${us + 1} ${src} ${dst}`);
  let checked = 0;
  for (const l of lines) {
    if (l.latencyMs === null) continue;
    const rsp = lineUs(l.time);
    const req = rsp - Math.round(l.latencyMs * 1000);
    assert.ok(near(rsp, l.server, l.client), `${what}: ${l.request}: no packet from ${l.server} to ${l.client} at ${l.time} (the response's first byte)`);
    assert.ok(near(req, l.client, l.server), `${what}: ${l.request}: no packet from ${l.client} to ${l.server} ${l.latencyMs} ms before ${l.time} (the request's first byte)`);
    checked++;
  }
  assert.ok(checked > 0 || lines.length === 0, `${what}: no line checked`);
}

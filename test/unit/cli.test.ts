// Mistakes a user can make: one clear line on stderr, a non-zero exit, no stack trace.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, FIXTURES, ROOT, parseLines, tcpkit } from '../helpers/run';
import { tcxAnswer } from '../../src/cli/version';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-cli-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const notCapture = path.join(dir, 'notes.txt');
fs.writeFileSync(notCapture, 'these are not packets\n');
const cutShort = path.join(dir, 'short.pcap');
const demo = path.join(FIXTURES, 'redis-demo.pcap');

const cases: [string, string[], number, RegExp][] = [
  ['a port out of range', ['-r', notCapture, '-p', '99999'], 2, /^tcpkit: -p: '99999' is not a port \(1-65535\)$/],
  ['a port that is not a number', ['-r', notCapture, '-p', 'six'], 2, /^tcpkit: -p: 'six' is not a port/],
  ['an unknown mode', ['-r', notCapture, '-m', 'gopher'], 2, /^tcpkit: -m: unknown mode 'gopher' \(modes: raw, redis, memcached, http, dns, kafka, mysql, pgsql\)$/],
  ['a server that is not an address', ['-r', notCapture, '-p', '6379', '-s', 'redis.local'], 2, /^tcpkit: -s: 'redis\.local' is not an IPv4 or IPv6 address$/],
  ['a negative threshold', ['-r', notCapture, '-p', '6379', '-t', '-1'], 2, /^tcpkit: -t: '-1' is not a number from 0/],
  ['an unknown option', ['--frobnicate'], 2, /^tcpkit: unknown option '--frobnicate'$/],
  ['a missing file', ['-r', path.join(dir, 'nope.pcap'), '-p', '6379'], 1, /^tcpkit: .*nope\.pcap: No such file or directory$/],
  ['a file that is not a capture', ['-r', notCapture, '-p', '6379'], 1, /^tcpkit: .*notes\.txt: not a capture libpcap can read/],
  ['a directory', ['-r', dir, '-p', '6379'], 1, /is a directory, not a capture file$/],
  ['neither port nor mode', ['-r', notCapture], 2, /^tcpkit: say which port to watch \(-p PORT\) or which protocol \(-m MODE\); tcpkit -h lists every flag$/],
  // Issue 16, item 17: errors in the order a user needs them.
  ['no arguments at all', [], 2, /^tcpkit: say which port to watch \(-p PORT\) or which protocol \(-m MODE\); tcpkit -h lists every flag$/],
  ['a missing file, and no port', ['-r', path.join(dir, 'nope.pcap')], 1, /^tcpkit: .*nope\.pcap: No such file or directory$/],
  ['-w to a path that cannot be written: refused before the capture line', ['-i', 'lo', '-p', '6379', '-w', path.join(dir, 'no-such-dir', 'x.pcap')], 1, /^tcpkit: -w .*no-such-dir.*x\.pcap/],
  ['redis over UDP', ['-r', notCapture, '-m', 'redis', '-u'], 2, /^tcpkit: -u: redis runs over TCP; -u watches UDP only, for the raw, dns and memcached modes$/],
  ['http over UDP', ['-r', notCapture, '-m', 'http', '-u'], 2, /^tcpkit: -u: http runs over TCP; -u watches UDP only, for the raw, dns and memcached modes$/],
  ['a stats port out of range', ['-r', notCapture, '-p', '6379', '-P', '70000'], 2, /^tcpkit: -P: '70000' is not a whole number from 1 to 65535$/],
  ['a stats address that is not an address', ['-r', notCapture, '-p', '6379', '-P', '9', '--stats-addr', 'localhost'], 2, /^tcpkit: --stats-addr: 'localhost' is not an IPv4 or IPv6 address$/],
  ['--stats-addr without -P', ['-r', notCapture, '-p', '6379', '--stats-addr', '0.0.0.0'], 2, /^tcpkit: --stats-addr is where the stats port \(-P\) listens; give -P too$/],
  ['--json in raw mode', ['-r', notCapture, '-p', '9999', '--json'], 2, /^tcpkit: --json writes one object per request/],
  ['-d without -o', ['-r', notCapture, '-p', '6379', '-d'], 2, /^tcpkit: -d needs -o FILE/],
  ['--ebpf with a file', ['--ebpf', '-r', notCapture, '-p', '6379'], 2, /^tcpkit: --ebpf captures live; with -r the packets come from the file$/],
  ['-i with a file', ['-i', 'lo', '-r', notCapture, '-p', '6379'], 2, /^tcpkit: -i and -r: capture live on an interface, or read a file, not both$/],
  ['a buffer size of zero', ['-p', '6379', '-B', '0'], 2, /^tcpkit: -B: '0' is not a whole number from 1/],
  ['a Lua script that is not there', ['-r', notCapture, '-p', '6379', '-S', path.join(dir, 'x.lua')], 1, /^tcpkit: -S .*x\.lua: cannot read the script: no such file$/],
  ['raw mode without a port', ['-r', notCapture, '-m', 'raw'], 2, /^tcpkit: say which port to watch \(-p PORT\): raw mode has no usual port$/],
  ['-w with a file', ['-r', notCapture, '-p', '6379', '-w', 'x.pcap'], 2, /^tcpkit: -w records a live capture; with -r the file already is one$/],
  ['an interface that does not exist', ['-i', 'nosuchif0', '-p', '6379'], 1, /^tcpkit: .*nosuchif0.*$/],
  ['--top without a terminal', ['-r', demo, '-p', '6379', '--top'], 2, /^tcpkit: --top draws a full-screen view, and standard output is not a terminal \(without --top, lines go to a pipe or a file\)$/],
  ['--top-speed without --top', ['-r', demo, '-p', '6379', '--top-speed'], 2, /^tcpkit: --top-speed is how --top replays -r; give --top too$/],
  ['--top-speed live', ['-p', '6379', '--top', '--top-speed'], 2, /^tcpkit: --top-speed is for -r: a live capture goes at its own speed$/],
  ['--top in the background', ['-p', '6379', '--top', '-d', '-o', 'x.log'], 2, /^tcpkit: --top draws on the terminal; -d runs without one$/],
  ['--top with a script and no -o', ['-r', demo, '-p', '6379', '--top', '-S', 'x.lua'], 2, /^tcpkit: --top fills the terminal: send the script's output to a file with -o FILE$/],
];

for (const [what, args, code, message] of cases) {
  test(`${what}: exit ${code}, one line`, () => {
    const r = tcpkit(args);
    assert.equal(r.code, code, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], message);
    assert.equal(r.stdout, '');
  });
}

test('a file cut short: what was whole is reported, then the cut is named, exit 1', () => {
  const whole = fs.readFileSync(demo);
  fs.writeFileSync(cutShort, whole.subarray(0, Math.floor(whole.length * 0.6)));
  const r = tcpkit(['-r', cutShort, '-p', '6379', '-m', 'redis']);
  assert.equal(r.code, 1);
  // 20 of the demo's 22 requests were answered within the first 60% of the file;
  // the 21st was sent and is still waiting where the file ends: in flight.
  const lines = parseLines(r.stdout);
  assert.equal(lines.length, 21, 'lines from the whole part');
  assert.equal(lines.filter((l) => l.inFlight).length, 1, r.stdout);
  assert.match(r.stderr, /the file is cut short .*; reported what was whole\n$/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('-v prints the version first, then what this host offers (test/release checks the rest); -h lists every flag and the modes', () => {
  const version = tcpkit(['-v']);
  assert.equal(version.code, 0, version.stderr);
  assert.match(version.stdout, /^tcpkit \d+\.\d+\.\d+\nnode: /);
  assert.match(version.stdout, /^libpcap: libpcap version /m);
  const help = tcpkit(['-h']);
  assert.equal(help.code, 0);
  for (const flag of ['-s', '-p', '-P', '-i', '-d', '-r', '-t', '-m', '-w', '-S', '-B', '-o', '-u', '-v', '-h', '--ebpf', '--json', '--redact', '--stats-addr', '--pid-file', '--top', '--top-speed']) {
    assert.match(help.stdout, new RegExp(`(^|[ ,])${flag}[ ,]`, 'm'), flag);
  }
  assert.match(help.stdout, /raw,\s+redis,\s+memcached,\s+http,\s+dns,\s+kafka,\s+mysql,\s+pgsql/);
  // Item 17: what -o does to an existing file, and -B's default.
  assert.match(help.stdout.replace(/\s+/g, ' '), /-o, --output <file> write lines to this file instead of standard output: replaced, or appended with -d; reopened on SIGHUP/);
  assert.match(help.stdout.replace(/\s+/g, ' '), /-B, --buffer <KiB> capture buffer size, in KiB \(default: 16384/);
  assert.match(help.stdout.replace(/\s+/g, ' '), /-u, --udp watch UDP only \(raw, dns and memcached modes\)/);
});

test('run as a command (its #! line, as `tcpkit` and bin/tcpkit start it), node compiles on the JavaScript thread: -v names the flag', () => {
  // The #! line finds node on the PATH (env -S): this test's own node comes first.
  const env = { ...process.env, TZ: 'UTC', PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  for (const command of [CLI, path.join(ROOT, 'bin', 'tcpkit')]) {
    const r = spawnSync(command, ['-v'], { encoding: 'utf8', env });
    assert.equal(r.status, 0, `${command}: ${r.stderr}`);
    assert.match(r.stdout, /^node: v[\d.]+ \(N-API \d+; flags --no-concurrent-recompilation\), /m, command);
  }
  // Started by hand without the launcher: no flags, and -v says none.
  assert.match(tcpkit(['-v']).stdout, /^node: v[\d.]+ \(N-API \d+\), /m);
});

test('-v says whether --ebpf can attach at tcx: the kernel, then CAP_NET_ADMIN', () => {
  const netAdmin = 1n << 12n;
  assert.equal(tcxAnswer(true, netAdmin), 'yes: --ebpf -i NAME attaches there (payload mode)');
  assert.equal(tcxAnswer(true, 0n), 'yes, but it needs CAP_NET_ADMIN: --ebpf attaches as a socket filter');
  assert.equal(tcxAnswer(false, netAdmin), 'no (Linux 6.6 or later): --ebpf attaches as a socket filter');
  assert.equal(tcxAnswer(os.constants.errno.ENOENT, netAdmin), 'unknown (ENOENT): --ebpf tries it, else a socket filter');
  assert.match(tcpkit(['-v']).stdout, /^tcx: (yes|no|unknown)/m);
});

test('-o writes the lines to a file', () => {
  const out = path.join(dir, 'lines.log');
  const r = tcpkit(['-r', demo, '-p', '6379', '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(fs.readFileSync(out, 'utf8'), / => .*:6379 \| \d+\.\d{3} ms \| /);
});

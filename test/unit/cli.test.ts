// Mistakes a user can make: one clear line on stderr, a non-zero exit, no stack trace.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIXTURES, tcpkit } from '../helpers/run';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-cli-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const notCapture = path.join(dir, 'notes.txt');
fs.writeFileSync(notCapture, 'these are not packets\n');
const cutShort = path.join(dir, 'short.pcap');
const demo = path.join(FIXTURES, 'redis-demo.pcap');

const cases: [string, string[], number, RegExp][] = [
  ['a port out of range', ['-r', notCapture, '-p', '99999'], 2, /^tcpkit: -p: '99999' is not a port \(1-65535\)$/],
  ['a port that is not a number', ['-r', notCapture, '-p', 'six'], 2, /^tcpkit: -p: 'six' is not a port/],
  ['an unknown mode', ['-r', notCapture, '-m', 'gopher'], 2, /^tcpkit: -m: unknown mode 'gopher' \(modes: raw, redis, memcached, http, dns, mysql, pgsql\)$/],
  ['a server that is not an address', ['-r', notCapture, '-p', '6379', '-s', 'redis.local'], 2, /^tcpkit: -s: 'redis\.local' is not an IPv4 or IPv6 address$/],
  ['a negative threshold', ['-r', notCapture, '-p', '6379', '-t', '-1'], 2, /^tcpkit: -t: '-1' is not a number from 0/],
  ['an unknown option', ['--frobnicate'], 2, /^tcpkit: unknown option '--frobnicate'$/],
  ['a missing file', ['-r', path.join(dir, 'nope.pcap'), '-p', '6379'], 1, /^tcpkit: .*nope\.pcap: No such file or directory$/],
  ['a file that is not a capture', ['-r', notCapture, '-p', '6379'], 1, /^tcpkit: .*notes\.txt: not a capture libpcap can read/],
  ['a directory', ['-r', dir, '-p', '6379'], 1, /is a directory, not a capture file$/],
  ['neither port nor mode', ['-r', notCapture], 2, /^tcpkit: say which port to watch \(-p PORT\) or which protocol \(-m MODE\)$/],
  ['redis over UDP', ['-r', notCapture, '-m', 'redis', '-u'], 2, /^tcpkit: -u: redis runs over TCP/],
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
  assert.ok(r.stdout.split('\n').length > 3, 'lines from the whole part');
  assert.match(r.stderr, /the file is cut short .*; reported what was whole\n$/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('-v prints the version; -h lists every flag and the modes', () => {
  assert.match(tcpkit(['-v']).stdout, /^\d+\.\d+\.\d+\n$/);
  const help = tcpkit(['-h']);
  assert.equal(help.code, 0);
  for (const flag of ['-s', '-p', '-P', '-i', '-d', '-r', '-t', '-m', '-w', '-S', '-B', '-o', '-u', '-v', '-h', '--ebpf', '--json', '--redact', '--stats-addr', '--pid-file']) {
    assert.match(help.stdout, new RegExp(`(^|[ ,])${flag}[ ,]`, 'm'), flag);
  }
  assert.match(help.stdout, /raw,\s+redis,\s+memcached,\s+http,\s+dns,\s+mysql,\s+pgsql/);
});

test('-o writes the lines to a file', () => {
  const out = path.join(dir, 'lines.log');
  const r = tcpkit(['-r', demo, '-p', '6379', '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(fs.readFileSync(out, 'utf8'), / => .*:6379 \| \d+\.\d{3} ms \| /);
});

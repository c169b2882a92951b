// Every mistake a user can make: one line on stderr, exactly this one, the
// exit status (2 for the command line, 1 for the input or the host), and no
// stack trace. Live cases need root (to take privileges away again).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, FIXTURES, tcpkit, type RunResult } from '../helpers/run';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-badinput-'));
fs.chmodSync(dir, 0o755); // nobody may look inside; some files here it may not read
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string, data: string | Buffer, mode = 0o644): string => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, data);
  fs.chmodSync(f, mode);
  return f;
};

/** A classic pcap file header: magic, version, snaplen, link type. */
function pcapHeader(major: number, minor: number, linkType: number): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(major, 4);
  h.writeUInt16LE(minor, 6);
  h.writeUInt32LE(65535, 16);
  h.writeUInt32LE(linkType, 20);
  return h;
}

const demo = path.join(FIXTURES, 'redis-demo.pcap');
const missing = path.join(dir, 'nope.pcap');
const notes = file('notes.txt', 'These are my notes about the Redis outage, not packets.\n');
const tiny = file('tiny.txt', 'hi\n');
const empty = file('empty.pcap', '');
const version3 = file('v3.pcap', pcapHeader(3, 0, 1));
const secret = file('secret.pcap', fs.readFileSync(demo), 0o600);

const isRoot = process.getuid?.() === 0;
const hasCapsh = spawnSync('sh', ['-c', 'command -v capsh']).status === 0;
const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];
/** As root, without the capabilities that capture (libcap2-bin's capsh runs the shell). */
const NO_CAPTURE_CAPS = ['capsh', '--drop=cap_net_raw,cap_net_admin', '--'];

interface Case {
  what: string;
  args: string[];
  code: number;
  line: string;
  /** A command that runs tcpkit (setpriv ... -- node ..., or capsh ... -- -c '...'). */
  wrap?: string[];
  needs?: 'root' | 'capsh';
}

const cases: Case[] = [
  // Files.
  { what: 'a missing file', args: ['-r', missing, '-p', '6379'], code: 1, line: `${missing}: No such file or directory` },
  { what: 'a directory', args: ['-r', dir, '-p', '6379'], code: 1, line: `${dir}: is a directory, not a capture file` },
  { what: 'a text file', args: ['-r', notes, '-p', '6379'], code: 1, line: `${notes}: not a capture libpcap can read (unknown file format)` },
  { what: 'a file of three bytes', args: ['-r', tiny, '-p', '6379'], code: 1, line: `${tiny}: not a capture libpcap can read (truncated dump file; tried to read 4 file header bytes, only got 3)` },
  { what: 'an empty file', args: ['-r', empty, '-p', '6379'], code: 1, line: `${empty}: is empty, not a capture file` },
  { what: 'a pcap version libpcap refuses', args: ['-r', version3, '-p', '6379'], code: 1, line: `${version3}: not a capture libpcap can read (unsupported pcap savefile version 3.0)` },
  { what: 'a file the user may not read', args: ['-r', secret, '-p', '6379'], code: 1, line: `${secret}: Permission denied`, wrap: NOBODY, needs: 'root' },
  { what: '-o into a directory that does not exist', args: ['-r', demo, '-p', '6379', '-o', path.join(missing, 'x.log')], code: 1, line: `-o ${path.join(missing, 'x.log')}: no such file or directory` },
  { what: '-o onto a directory', args: ['-r', demo, '-p', '6379', '-o', dir], code: 1, line: `-o ${dir}: is a directory` },
  { what: '-o onto a full disk', args: ['-r', demo, '-p', '6379', '-o', '/dev/full'], code: 1, line: '-o /dev/full: no space left on device' },
  // The command line.
  { what: 'an unknown mode', args: ['-r', demo, '-m', 'gopher'], code: 2, line: `-m: unknown mode 'gopher' (modes: raw, redis, memcached, http, dns, kafka, mysql, pgsql)` },
  { what: 'port 0', args: ['-r', demo, '-p', '0'], code: 2, line: `-p: '0' is not a port (1-65535)` },
  { what: 'port 70000', args: ['-r', demo, '-p', '70000'], code: 2, line: `-p: '70000' is not a port (1-65535)` },
  { what: 'a port that is a word', args: ['-r', demo, '-p', 'abc'], code: 2, line: `-p: 'abc' is not a port (1-65535)` },
  { what: 'a port list with an empty entry', args: ['-r', demo, '-p', '1,,2'], code: 2, line: `-p: '1,,2' has an empty entry (ports are comma-separated, e.g. 6379,6380)` },
  { what: 'a port with a fraction', args: ['-r', demo, '-p', '6379.5'], code: 2, line: `-p: '6379.5' is not a port (1-65535)` },
  { what: 'a host name for -s', args: ['-r', demo, '-p', '6379', '-s', 'redis.local'], code: 2, line: `-s: 'redis.local' is not an IPv4 or IPv6 address` },
  { what: 'an IPv4 address with three parts', args: ['-r', demo, '-p', '6379', '-s', '10.0.5'], code: 2, line: `-s: '10.0.5' is not an IPv4 or IPv6 address` },
  { what: 'an IPv4 address out of range', args: ['-r', demo, '-p', '6379', '-s', '10.0.0.256'], code: 2, line: `-s: '10.0.0.256' is not an IPv4 or IPv6 address` },
  { what: 'an IPv6 address with two ::', args: ['-r', demo, '-p', '6379', '-s', 'fd00::1::2'], code: 2, line: `-s: 'fd00::1::2' is not an IPv4 or IPv6 address` },
  { what: 'an address list with an empty entry', args: ['-r', demo, '-p', '6379', '-s', '10.0.0.1,'], code: 2, line: `-s: '10.0.0.1,' has an empty entry (addresses are comma-separated, e.g. 10.0.0.5,fd00::5)` },
  { what: 'a threshold that is a word', args: ['-r', demo, '-p', '6379', '-t', 'slow'], code: 2, line: `-t: 'slow' is not a number from 0 to 86400000` },
  { what: 'a negative threshold', args: ['-r', demo, '-p', '6379', '-t', '-1'], code: 2, line: `-t: '-1' is not a number from 0 to 86400000` },
  { what: 'a threshold of infinity', args: ['-r', demo, '-p', '6379', '-t', 'Infinity'], code: 2, line: `-t: 'Infinity' is not a number from 0 to 86400000` },
  { what: 'a timeout of 0', args: ['-r', demo, '-p', '6379', '--timeout', '0'], code: 2, line: `--timeout: '0' is not a number from 0.001 to 86400` },
  { what: 'a timeout that is a word', args: ['-r', demo, '-p', '6379', '--timeout', 'soon'], code: 2, line: `--timeout: 'soon' is not a number from 0.001 to 86400` },
  { what: 'a buffer of 0', args: ['-p', '6379', '-B', '0'], code: 2, line: `-B: '0' is not a whole number from 1 to 4194304` },
  { what: 'a buffer with a unit', args: ['-p', '6379', '-B', '16M'], code: 2, line: `-B: '16M' is not a whole number from 1 to 4194304` },
  { what: 'a buffer too large', args: ['-p', '6379', '-B', '99999999'], code: 2, line: `-B: '99999999' is not a whole number from 1 to 4194304` },
  { what: '-B with a file', args: ['-r', demo, '-p', '6379', '-B', '1024'], code: 2, line: `-B sizes a live capture's buffer; it does nothing with -r` },
  { what: 'a flag without its value', args: ['-p', '6379', '-r'], code: 2, line: `option '-r, --read <file>' argument missing` },
  { what: '-Z with no user', args: ['-r', demo, '-p', '6379', '-Z', ''], code: 2, line: '-Z: name a user, e.g. -Z nobody' },
  { what: '-Z with a user that does not exist', args: ['-r', demo, '-p', '6379', '-Z', 'no-such-user-here'], code: 1, line: '-Z no-such-user-here: no such user' },
  { what: '-Z when not root', args: ['-r', demo, '-p', '6379', '-Z', 'daemon'], code: 1, line: '-Z daemon: not allowed: switching users needs root (tcpkit runs as uid 65534)', wrap: NOBODY, needs: 'root' },
  // Live capture.
  {
    what: '-w onto a full disk',
    args: ['-i', 'lo', '-p', '6379', '-w', '/dev/full'],
    code: 1,
    line: 'capturing with libpcap on lo, tcp and (port 6379)\ntcpkit: -w /dev/full: no space left on device',
    needs: 'root',
  },
  { what: 'an interface that does not exist (libpcap)', args: ['-i', 'nosuchif0', '-p', '6379'], code: 1, line: '-i nosuchif0: no such interface', needs: 'root' },
  { what: 'an interface that does not exist (--ebpf)', args: ['--ebpf', '-i', 'nosuchif0', '-p', '6379'], code: 1, line: '-i nosuchif0: no such interface', needs: 'root' },
  {
    what: 'live capture without CAP_NET_RAW',
    args: ['-i', 'lo', '-p', '6379'],
    code: 1,
    line: 'capturing on lo needs root or CAP_NET_RAW; libpcap: socket: Operation not permitted',
    wrap: NO_CAPTURE_CAPS,
    needs: 'capsh',
  },
  {
    what: 'live capture as an ordinary user',
    args: ['-i', 'lo', '-p', '6379'],
    code: 1,
    line: 'capturing on lo needs root or CAP_NET_RAW; libpcap: socket: Operation not permitted',
    wrap: NOBODY,
    needs: 'root',
  },
  {
    what: '--ebpf as an ordinary user',
    args: ['--ebpf', '-i', 'lo', '-p', '6379'],
    code: 1,
    line: 'capturing on lo needs root or CAP_NET_RAW, and CAP_BPF too for --ebpf; eBPF: loading the BPF program: Operation not permitted; libpcap: socket: Operation not permitted',
    wrap: NOBODY,
    needs: 'root',
  },
];

function run(c: Case): RunResult {
  if (c.wrap === undefined) return tcpkit(c.args);
  const argv = [process.execPath, CLI, ...c.args];
  // capsh runs a shell: tcpkit goes in as one quoted command.
  const full = c.wrap[0] === 'capsh' ? [...c.wrap, '-c', `exec ${argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')}`] : [...c.wrap, ...argv];
  const r = spawnSync(full[0], full.slice(1), { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' }, timeout: 60_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Whether an ordinary user can reach the built CLI: every folder above it
 * searchable by others (a checkout under `mktemp -d`, mode 0700, is not).
 */
function othersReach(file: string): boolean {
  for (let d = path.dirname(file); d !== path.dirname(d); d = path.dirname(d)) {
    if ((fs.statSync(d).mode & 0o001) === 0) return false;
  }
  return true;
}
const nobodyReaches = othersReach(CLI);

for (const c of cases) {
  const asNobody = c.wrap === NOBODY;
  const skip =
    c.needs === 'root' && !isRoot ? 'needs root'
    : c.needs === 'capsh' && !(isRoot && hasCapsh) ? 'needs root and capsh (libcap2-bin)'
    : asNobody && isRoot && !nobodyReaches ? `an ordinary user cannot reach ${CLI} (a folder above it is not searchable by others)`
    : false;
  const lines = c.line.split('\n').length;
  test(`${c.what}: exit ${c.code}, ${lines === 1 ? 'one line' : `${lines} lines (the engine's, then the error)`}`, { skip }, () => {
    const r = run(c);
    assert.equal(r.stderr, `tcpkit: ${c.line}\n`);
    assert.equal(r.code, c.code);
    assert.equal(r.stdout, '');
  });
}

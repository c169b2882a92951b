// Scripts written for the original tcpkit print, through ours, the very bytes
// the original prints: its three 2019 scripts (example.lua, dns.lua,
// tcp-connect.lua, from ../shared/reference) and scripts in the 2015-2018
// style (process_packet(item), a decoder module beside the script loaded
// with package.path and require, module tables with setmetatable), on
// recorded captures. The original, built from ../shared/reference, runs
// beside ours in the same test; nothing of its output is kept in the
// repository. Skipped, with a message, when ../shared is absent.
//
// The 2019 original calls process(packet) only; for a process_packet(item)
// script it runs a shim (below) that hands the script the 2018 item made
// from the 2019 packet as the 2018 src/packet.c defined it: len is size,
// src/dst are sip/dip, is_client is 1 on the client side (-s names a server
// that is not this host), incoming is 1 for packets to this host.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ACK, Conversation, RST, SYN, tcpPacket, udpPacket, writePcap, type Frame } from '../helpers/pcap-writer';
import { CLI, FIXTURES } from '../helpers/run';
import { REFERENCE, originalMissing, originalTcpkit, runOriginal } from '../helpers/original';

const missing = originalMissing();
if (missing !== null) process.stdout.write(`# skipped: the comparison with the original tcpkit needs ${missing}\n`);
const skip = missing ?? false;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-lua-orig-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const DEMO = path.join(FIXTURES, 'redis-demo.pcap');
const OLDER = path.join(FIXTURES, 'lua', 'older');
const T0 = 1_580_000_000_000_000; // 2020-01-26 00:53:20 UTC, in µs

/** The original's own scripts, as build-original.sh copied them. */
function originalScript(name: string): string {
  return path.join(path.dirname(originalTcpkit()), 'scripts', name);
}

function ours(args: string[], cwd: string): { code: number; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, TZ: 'UTC' }, timeout: 120_000, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** A process(packet) wrapper that gives a 2018 script its item, for the 2019 original. */
function shim(script: string, isClient: 0 | 1): string {
  const file = path.join(dir, `shim-${path.basename(script, '.lua')}-${isClient}.lua`);
  fs.writeFileSync(
    file,
    [
      `local IS_CLIENT = ${isClient}`,
      `dofile(${JSON.stringify(script)})`,
      'local handler = process_packet',
      'function process(packet)',
      '  local incoming = 0',
      '  if (packet.request and IS_CLIENT == 0) or (not packet.request and IS_CLIENT == 1) then incoming = 1 end',
      '  return handler({ tv_sec = packet.tv_sec, tv_usec = packet.tv_usec, src = packet.sip, dst = packet.dip,',
      '    sport = packet.sport, dport = packet.dport, seq = packet.seq, ack = packet.ack, flags = packet.flags,',
      '    len = packet.size, payload = packet.payload, is_client = IS_CLIENT, incoming = incoming })',
      'end',
      '',
    ].join('\n'),
  );
  return file;
}

interface Case {
  capture: string;
  args: string[];
  script: string;
  /** For a 2018 script: the original runs it through the shim with this is_client. */
  isClient?: 0 | 1;
  cwd?: string;
}

/** Runs both; asserts the same bytes and returns them. */
function same(c: Case): Buffer {
  const cwd = c.cwd ?? dir;
  const origScript = c.isClient === undefined ? c.script : shim(c.script, c.isClient);
  const want = runOriginal(['-r', c.capture, ...c.args, '-S', origScript], cwd);
  assert.equal(want.code, 0, want.stderr);
  const got = ours(['-r', c.capture, ...c.args, '-S', c.script], cwd);
  assert.equal(got.code, 0, got.stderr);
  // Only tcpkit's own summary on stderr (raw mode and -S print one): no script error.
  const errLines = got.stderr.split('\n').filter((l) => l !== '');
  assert.ok(errLines.every((l) => l.startsWith('tcpkit: ') && !/script error/.test(l)), got.stderr);
  if (!got.stdout.equals(want.stdout)) {
    // The first difference, readable.
    let i = 0;
    while (i < got.stdout.length && got.stdout[i] === want.stdout[i]) i++;
    assert.fail(
      `differs from the original at byte ${i}:\n original: ${JSON.stringify(want.stdout.subarray(Math.max(0, i - 60), i + 60).toString('latin1'))}\n ours:     ${JSON.stringify(got.stdout.subarray(Math.max(0, i - 60), i + 60).toString('latin1'))}`,
    );
  }
  return got.stdout;
}

// --- captures -------------------------------------------------------------------

/** Binary payloads: NUL bytes in strings shorter and longer than 100 bytes (C's sprintf %s stops at the first). */
function binaryCapture(): string {
  const fill = (n: number, nulAt: number): Buffer => {
    const b = Buffer.alloc(n, 0x41);
    for (let i = 0; i < n; i++) b[i] = 0x41 + (i % 26);
    if (nulAt >= 0) b[nulAt] = 0;
    return b;
  };
  const c = new Conversation('ethernet', '10.0.0.2', 40100, '10.0.0.1', 9092)
    .handshake(T0)
    .request(T0 + 100, Buffer.from('ab\0cd\r\n'))
    .response(T0 + 300, Buffer.from([0, 0, 0, 12, 0, 1, 2, 3, 0xff, 0x80, 10, 13]))
    .request(T0 + 1000, fill(99, 50))
    .response(T0 + 1200, fill(100, 50))
    .request(T0 + 2000, fill(150, 10))
    .response(T0 + 2100, fill(98, -1))
    .request(T0 + 3000, Buffer.from('\0leading nul'))
    .response(T0 + 3100, Buffer.from('%s %d %%\ttab'))
    .close(T0 + 4000);
  const file = path.join(dir, 'binary.pcap');
  writePcap(file, 'ethernet', c.frames);
  return file;
}

function dnsMessage(id: number, name: string, qtype: number, response: boolean, rcode = 0): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(response ? 0x8180 | rcode : 0x0100, 2);
  header.writeUInt16BE(1, 4);
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(qtype, 1);
  tail.writeUInt16BE(1, 3);
  return Buffer.concat([header, ...labels, tail]);
}

function dnsCapture(): string {
  const q = (tsUs: number, sport: number, payload: Buffer): Frame => ({ tsUs, data: udpPacket('ethernet', '10.0.0.2', sport, '10.0.0.1', 53, payload) });
  const a = (tsUs: number, dport: number, payload: Buffer): Frame => ({ tsUs, data: udpPacket('ethernet', '10.0.0.1', 53, '10.0.0.2', dport, payload) });
  const frames: Frame[] = [
    q(T0, 5353, dnsMessage(0x1234, 'example.com', 1, false)),
    a(T0 + 1234, 5353, dnsMessage(0x1234, 'example.com', 1, true)),
    q(T0 + 2000, 5354, dnsMessage(7, 'nope.example', 28, false)),
    a(T0 + 27_000, 5354, dnsMessage(7, 'nope.example', 28, true, 3)),
    q(T0 + 30_000, 5355, dnsMessage(9, 'mail.example.org', 15, false)),
    a(T0 + 1_030_500, 5355, dnsMessage(9, 'mail.example.org', 15, true)),
    a(T0 + 1_031_000, 5356, dnsMessage(99, 'stray.example', 1, true)),
  ];
  const file = path.join(dir, 'dns.pcap');
  writePcap(file, 'ethernet', frames);
  return file;
}

function connectCapture(): string {
  const tcp = (tsUs: number, fromClient: boolean, cport: number, seq: number, ack: number, flags: number): Frame => ({
    tsUs,
    data: fromClient
      ? tcpPacket('ethernet', '10.0.0.2', cport, '10.0.0.1', 80, seq, ack, flags, Buffer.alloc(0))
      : tcpPacket('ethernet', '10.0.0.1', 80, '10.0.0.2', cport, seq, ack, flags, Buffer.alloc(0)),
  });
  const S = 1_000_000;
  const frames: Frame[] = [
    // Two SYNs lost: answered after the third (and its usec below the first SYN's).
    tcp(T0 + 700_000, true, 40001, 100, 0, SYN),
    tcp(T0 + 1 * S + 700_000, true, 40001, 100, 0, SYN),
    tcp(T0 + 3 * S + 700_000, true, 40001, 100, 0, SYN),
    tcp(T0 + 4 * S + 200, false, 40001, 900, 101, SYN | ACK),
    tcp(T0 + 4 * S + 250, true, 40001, 101, 901, ACK),
    // No retransmit: not printed.
    tcp(T0 + 5 * S, true, 40002, 500, 0, SYN),
    tcp(T0 + 5 * S + 150, false, 40002, 700, 501, SYN | ACK),
    // One retransmit, then refused.
    tcp(T0 + 6 * S, true, 40003, 800, 0, SYN),
    tcp(T0 + 7 * S + 5, true, 40003, 800, 0, SYN),
    tcp(T0 + 7 * S + 30, false, 40003, 0, 801, RST | ACK),
  ];
  const file = path.join(dir, 'connect.pcap');
  writePcap(file, 'ethernet', frames);
  return file;
}

/** Redis-like traffic on 127.0.0.1, where both ends are this host: the server side. */
function loopbackCapture(): string {
  const c = new Conversation('ethernet', '127.0.0.1', 41000, '127.0.0.1', 6379)
    .handshake(T0)
    .request(T0 + 100, '*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n')
    .response(T0 + 350, '$5\r\nvalue\r\n')
    .request(T0 + 1000, '*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$2\r\nv2\r\n')
    .response(T0 + 1500, '+OK\r\n')
    .close(T0 + 2000);
  const file = path.join(dir, 'loopback.pcap');
  writePcap(file, 'ethernet', c.frames);
  return file;
}

// --- the original's 2019 scripts ----------------------------------------------------

test('the original\'s example.lua: the same bytes on the recorded Redis capture', { skip }, () => {
  const out = same({ capture: DEMO, args: ['-p', '6379', '-s', '10.77.58.1'], script: originalScript('example.lua') });
  assert.equal(out.toString('latin1').split('\n')[0], '2026-11-23 15:27:37.857521 10.77.58.2:45854=>10.77.58.1:6379 REQ 3626633901 1447844158 24 38 *3\r');
});

test('the original\'s example.lua on binary payloads: %s stops at a NUL below 100 bytes, as C\'s sprintf', { skip }, () => {
  const out = same({ capture: binaryCapture(), args: ['-p', '9092', '-s', '10.0.0.1'], script: originalScript('example.lua') }).toString('latin1');
  const lines = out.split('\n');
  // 'ab\0cd\r\n' prints as 'ab'; 100 bytes and more print whole, NUL included.
  assert.match(lines[0], / REQ \d+ \d+ 24 7 ab$/);
  assert.match(lines[1], / RSP \d+ \d+ 24 12 $/);
  assert.ok(lines[2].endsWith(' 99 ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWX'), lines[2]);
  assert.ok(lines[3].includes(' 100 ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWX\0ZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUV'), lines[3]);
  assert.ok(lines[4].includes(' 150 ABCDEFGHIJ\0LMNOP'), lines[4]);
});

test('the original\'s dns.lua: the same bytes on DNS over UDP (-u)', { skip }, () => {
  // MINFO for MX (15) is the script's: its type table lists MD twice.
  const out = same({ capture: dnsCapture(), args: ['-p', '53', '-u', '-s', '10.0.0.1'], script: originalScript('dns.lua') }).toString('latin1');
  assert.equal(
    out,
    '2020-01-26 00:53:20.001234 | 10.0.0.2:5353 => 10.0.0.1:53 4660 |  example.com. | A | 1.234ms\n' +
      '2020-01-26 00:53:20.027000 | 10.0.0.2:5354 => 10.0.0.1:53 7 |  nope.example. | AAAA | 25.000ms\n' +
      '2020-01-26 00:53:21.030500 | 10.0.0.2:5355 => 10.0.0.1:53 9 |  mail.example.org. | MINFO | 1000.500ms\n' +
      'recevie unknown response:\t10.0.0.2:5356 => 10.0.0.1:53 99\n',
  );
});

test('the original\'s tcp-connect.lua: the same bytes on handshakes with SYN retransmits and a refusal', { skip }, () => {
  const out = same({ capture: connectCapture(), args: ['-p', '80', '-s', '10.0.0.1'], script: originalScript('tcp-connect.lua') }).toString('latin1');
  const lines = out.split('\n');
  assert.equal(lines.length, 6, out);
  assert.equal(lines[3], '   2020-01-26 00:53:24.200                   10.0.0.2:40001 => 10.0.0.1:80      2            3.300200');
  assert.equal(lines[4], '    2020-01-26 00:53:27.30                   10.0.0.2:40003 => 10.0.0.1:80      1            1.000030');
});

// --- scripts in the 2015-2018 style ---------------------------------------------------

test('a 2018 monitor: process_packet(item), a decoder module beside it (package.path, require), setmetatable objects; client side with -s', { skip }, () => {
  const out = same({ capture: DEMO, args: ['-p', '6379', '-s', '10.77.58.1'], script: path.join(OLDER, 'monitor.lua'), isClient: 1, cwd: OLDER }).toString('latin1');
  const lines = out.trimEnd().split('\n');
  assert.equal(lines.length, 11);
  assert.equal(lines[0], '2026-11-23 15:27:37.857672 10.77.58.2:45854->10.77.58.1:6379           0.151 ms SET test_key hello       | +OK | 2b4f4b0d | seq 1447844158 in=1 client=1');
});

test('2018 fields on loopback: the server side without -s and with a local -s, the client side with a remote one', { skip }, () => {
  const loop = loopbackCapture();
  const server = same({ capture: loop, args: ['-p', '6379'], script: path.join(OLDER, 'fields.lua'), isClient: 0, cwd: OLDER }).toString('latin1');
  const lines = server.trimEnd().split('\n').map((l) => l.split('\t'));
  assert.equal(lines.length, 10);
  // A request comes in (incoming 1), a response goes out (0): is_client 0.
  assert.deepEqual(lines[3].slice(2), ['127.0.0.1', '41000', '127.0.0.1', '6379', '1001', '22', '22', '1', '0']);
  assert.deepEqual(lines[4].slice(2, 6).concat(lines[4].slice(9)), ['127.0.0.1', '6379', '127.0.0.1', '41000', '0', '0']);
  assert.equal(same({ capture: loop, args: ['-p', '6379', '-s', '127.0.0.1'], script: path.join(OLDER, 'fields.lua'), isClient: 0, cwd: OLDER }).toString('latin1'), server);
  const client = same({ capture: DEMO, args: ['-p', '6379', '-s', '10.77.58.1'], script: path.join(OLDER, 'fields.lua'), isClient: 1, cwd: OLDER }).toString('latin1');
  const first = client.split('\n')[0].split('\t');
  // The client side: a request goes out (incoming 0), is_client 1.
  assert.deepEqual(first.slice(2, 6).concat(first.slice(9)), ['10.77.58.2', '45854', '10.77.58.1', '6379', '0', '1']);
});

test('Lua 5.2 details (%c with 0, %q, %5.2s, %s and NUL, numbers, %, string.rep, os.time, #, unpack, floor, byte, sub, bit32): the same bytes', { skip }, () => {
  const out = same({ capture: binaryCapture(), args: ['-p', '9092', '-s', '10.0.0.1'], script: path.join(OLDER, 'lua52.lua') }).toString('latin1');
  assert.match(out, /^c0=\[\0\|B\]\n/);
  assert.match(out, /\ns-nul=\[ab\| {4}x\|\]\n/);
  assert.match(out, /\ndivision=\[-3\.5 -4 2 -2 0\.5 0 0\]\n/);
  assert.match(out, /\nsub=\[hello\|he\|ell\]\n/);
});

test('the reference is the 2019 original', { skip }, () => {
  assert.ok(fs.existsSync(path.join(REFERENCE, 'tcpkit-2019.tar.gz')));
});

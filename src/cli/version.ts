// tcpkit --version: the version, and what this host offers each engine. It is
// the first thing a bug report needs, so it never fails on what it finds: an
// addon that cannot load, a probe the kernel refuses, each becomes a line.
import fs from 'node:fs';
import os from 'node:os';
import { addonFile } from '../engine/addon-file';
import { native } from '../engine/native';

/** libbpf's feature probes (native/probe.cc): true, false, or the errno that kept them from answering. */
export interface EbpfProbe {
  libbpf: string;
  ringbuf: boolean | number;
  socketFilter: boolean | number;
  /** The kernel knows tcx (Linux 6.6+); an errno when its BTF could not be read. */
  tcx: boolean | number;
}

const EPERM = 1;
const BTF_FILE = '/sys/kernel/btf/vmlinux';

/** The capabilities capture cares about, by bit number (linux/capability.h). */
const CAPTURE_CAPS: ReadonlyArray<readonly [name: string, bit: number]> = [
  ['CAP_BPF', 39],
  ['CAP_PERFMON', 38],
  ['CAP_NET_RAW', 13],
  ['CAP_NET_ADMIN', 12],
  ['CAP_SYS_ADMIN', 21],
];

/** The effective capability set of this process, from /proc (0n when it cannot be read). */
export function effectiveCapabilities(status = readStatus()): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

function readStatus(): string {
  try {
    return fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    return '';
  }
}

const has = (caps: bigint, name: string): boolean => {
  const bit = CAPTURE_CAPS.find(([n]) => n === name)![1];
  return ((caps >> BigInt(bit)) & 1n) === 1n;
};

/** "CAP_BPF CAP_NET_RAW", the capture capabilities held, and how many others. */
export function describeCapabilities(caps: bigint): string {
  const held = CAPTURE_CAPS.filter(([name]) => has(caps, name)).map(([name]) => name);
  let others = 0;
  let rest = caps;
  for (const [, bit] of CAPTURE_CAPS) rest &= ~(1n << BigInt(bit));
  for (; rest !== 0n; rest >>= 1n) others += Number(rest & 1n);
  if (held.length === 0 && others === 0) return 'none';
  return held.join(' ') + (others > 0 ? `${held.length > 0 ? ' ' : ''}and ${others} others` : '');
}

/**
 * A probe's answer. Without CAP_BPF the kernel refuses every probe, and
 * libbpf reports that as "no": then the answer is not known.
 */
function answer(a: boolean | number, caps: bigint): string {
  const privileged = has(caps, 'CAP_BPF') || has(caps, 'CAP_SYS_ADMIN');
  if (a === true) return 'yes';
  if ((a === false || a === EPERM) && !privileged) return 'unknown (probing needs CAP_BPF)';
  if (a === false) return 'no';
  return `unknown (${errnoName(a)})`;
}

function errnoName(n: number): string {
  const found = Object.entries(os.constants.errno).find(([, v]) => v === n);
  return found ? found[0] : `errno ${n}`;
}

/** Whether --ebpf can attach at tcx here (README: "Where --ebpf attaches"). */
export function tcxAnswer(a: boolean | number, caps: bigint): string {
  if (a === false) return 'no (Linux 6.6 or later): --ebpf attaches as a socket filter';
  if (a !== true) return `unknown (${errnoName(a)}): --ebpf tries it, else a socket filter`;
  if (!has(caps, 'CAP_NET_ADMIN')) return 'yes, but it needs CAP_NET_ADMIN: --ebpf attaches as a socket filter';
  return 'yes: --ebpf -i NAME attaches there (payload mode)';
}

/** Whether the eBPF engine can run here, and if not, why. */
export function ebpfVerdict(probe: EbpfProbe, caps: bigint): string {
  const why: string[] = [];
  if (!has(caps, 'CAP_BPF') && !has(caps, 'CAP_SYS_ADMIN')) why.push('needs CAP_BPF');
  if (!has(caps, 'CAP_NET_RAW')) why.push('needs CAP_NET_RAW');
  if (why.length === 0 && probe.ringbuf !== true) why.push('the kernel has no BPF ring buffer (Linux >= 5.8)');
  if (why.length === 0 && probe.socketFilter !== true) why.push('the kernel cannot load socket filter programs');
  return why.length === 0 ? 'usable' : `not usable here: ${why.join(', ')} (--ebpf falls back to libpcap)`;
}

/** The node flags tcpkit was started with (its launcher's #! line), as `; flags ...`, or nothing. */
function nodeFlags(): string {
  return process.execArgv.length === 0 ? '' : `; flags ${process.execArgv.join(' ')}`;
}

/** The whole report, one fact a line; `ok` is false when the addon cannot load. */
export function versionReport(version: string): { text: string; ok: boolean } {
  const caps = effectiveCapabilities();
  const uid = process.getuid?.() ?? -1;
  const lines = [
    `tcpkit ${version}`,
    `node: ${process.version} (N-API ${process.versions.napi}${nodeFlags()}), ${process.platform}-${process.arch}, kernel ${os.release()}`,
  ];
  let ok = true;
  try {
    const addon = native() as unknown as { pcapVersion: string; probeEbpf(): EbpfProbe };
    const probe = addon.probeEbpf();
    lines.push(
      `addon: ${addonFile()}`,
      `libpcap: ${addon.pcapVersion}`,
      `libbpf: ${probe.libbpf}`,
      `BTF: ${fs.existsSync(BTF_FILE) ? `yes (${BTF_FILE})` : `no (${BTF_FILE} is absent)`}`,
      `BPF ring buffer: ${answer(probe.ringbuf, caps)}`,
      `BPF socket filter: ${answer(probe.socketFilter, caps)}`,
      `tcx: ${tcxAnswer(probe.tcx, caps)}`,
      `capabilities: ${describeCapabilities(caps)} (uid ${uid})`,
      `eBPF engine: ${ebpfVerdict(probe, caps)}`,
      `libpcap engine: ${has(caps, 'CAP_NET_RAW') ? 'usable' : 'live capture needs CAP_NET_RAW (-r reads files without it)'}`,
    );
  } catch (err) {
    lines.push(`addon: ${(err as Error).message}`);
    ok = false;
  }
  return { text: lines.join('\n') + '\n', ok };
}

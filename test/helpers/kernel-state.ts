// What a capture could leave behind in the kernel: BPF programs and links,
// qdiscs, tc filters, XDP and other attachments, in the host and in the given
// namespaces. Tests take a snapshot before and compare after.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

function out(argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  return `${argv.join(' ')} -> ${r.status}\n${r.stdout}${r.stderr}`;
}

function inNs(ns: string | null, argv: string[]): string[] {
  return ns === null ? argv : ['ip', 'netns', 'exec', ns, ...argv];
}

export interface StateOptions {
  /**
   * Include the host-wide lists of BPF programs and links (default true).
   * Leave them out when other tcpkits may run on the host at the same time
   * (they come and go in those lists); check this process's own programs
   * with bpfHeldBy() and bpfGone() instead.
   */
  hostBpf?: boolean;
}

/** One string describing the state; equal strings mean nothing changed. */
export function kernelState(namespaces: string[] = [], opts: StateOptions = {}): string {
  const parts = opts.hostBpf === false ? [] : [out(['bpftool', 'prog', 'show']), out(['bpftool', 'link', 'show'])];
  for (const ns of [null, ...namespaces]) {
    parts.push(out(inNs(ns, ['tc', 'qdisc', 'show'])));
    parts.push(out(inNs(ns, ['bpftool', 'net', 'show'])));
    const links = spawnSync(inNs(ns, ['ip', '-o', 'link', 'show'])[0], inNs(ns, ['ip', '-o', 'link', 'show']).slice(1), { encoding: 'utf8' }).stdout;
    for (const m of links.matchAll(/^\d+: ([^:@]+)/gm)) {
      for (const dir of ['ingress', 'egress']) parts.push(out(inNs(ns, ['tc', 'filter', 'show', 'dev', m[1], dir])));
    }
  }
  // Program ids are what matters; load times and memlock can differ run to run.
  return parts.join('\n');
}

/**
 * The state before a test, once programs of tcpkits that already exited are
 * gone: the kernel frees a closed program after an RCU grace period, so one
 * from the test before may still be listed for a moment (waits up to `ms`).
 */
export async function kernelStateBefore(namespaces: string[] = [], ms = 5000): Promise<string> {
  const deadline = Date.now() + ms;
  while (/name tk_(filter|tcx_ingress|tcx_egress)\b/.test(out(['bpftool', 'prog', 'show'])) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  return kernelState(namespaces);
}

/** Waits (the kernel frees programs after an RCU grace period) until the state is `before`. */
export async function settlesTo(before: string, namespaces: string[] = [], ms = 5000, opts: StateOptions = {}): Promise<string> {
  const deadline = Date.now() + ms;
  let now = kernelState(namespaces, opts);
  while (now !== before && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    now = kernelState(namespaces, opts);
  }
  return now;
}

/** BPF objects by kind and id: what a process holds open. */
export interface BpfObjects {
  prog: number[];
  map: number[];
  link: number[];
}

/** The BPF programs, maps and links a running process holds (from /proc/PID/fdinfo). */
export function bpfHeldBy(pid: number): BpfObjects {
  const held: BpfObjects = { prog: [], map: [], link: [] };
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let info: string;
    try {
      if (!fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('anon_inode:bpf')) continue;
      info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // closed meanwhile
    }
    const m = /^(prog|map|link)_id:\s+(\d+)$/m.exec(info);
    if (m) held[m[1] as keyof BpfObjects].push(Number(m[2]));
  }
  return held;
}

/** Waits until none of these objects is loaded any more; returns those still there ("prog 12"). */
export async function bpfGone(held: BpfObjects, ms = 5000): Promise<string[]> {
  const deadline = Date.now() + ms;
  const left = (): string[] =>
    (Object.keys(held) as (keyof BpfObjects)[]).flatMap((kind) =>
      held[kind].filter((id) => spawnSync('bpftool', [kind, 'show', 'id', String(id)], { stdio: 'ignore' }).status === 0).map((id) => `${kind} ${id}`),
    );
  let now = left();
  while (now.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    now = left();
  }
  return now;
}

/**
 * After a capture in a lab where other tcpkits may come and go: the BPF
 * objects this one held are gone, and the lab's namespaces settled back to
 * `state` (a kernelState(namespaces, { hostBpf: false })).
 */
export async function assertLeftAsItWas(state: string, held: BpfObjects, namespaces: string[]): Promise<void> {
  assert.deepEqual(await bpfGone(held), [], 'its BPF objects are gone');
  assert.equal(await settlesTo(state, namespaces, 5000, { hostBpf: false }), state, 'the lab\'s interfaces and qdiscs are as they were');
}

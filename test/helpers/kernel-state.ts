// What a capture could leave behind in the kernel: BPF programs and links,
// qdiscs, tc filters, XDP and other attachments, in the host and in the given
// namespaces. Tests take a snapshot before and compare after.
import { spawnSync } from 'node:child_process';

function out(argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  return `${argv.join(' ')} -> ${r.status}\n${r.stdout}${r.stderr}`;
}

function inNs(ns: string | null, argv: string[]): string[] {
  return ns === null ? argv : ['ip', 'netns', 'exec', ns, ...argv];
}

/** One string describing the state; equal strings mean nothing changed. */
export function kernelState(namespaces: string[] = []): string {
  const parts = [out(['bpftool', 'prog', 'show']), out(['bpftool', 'link', 'show'])];
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

/** Waits (the kernel frees programs after an RCU grace period) until the state is `before`. */
export async function settlesTo(before: string, namespaces: string[] = [], ms = 5000): Promise<string> {
  const deadline = Date.now() + ms;
  let now = kernelState(namespaces);
  while (now !== before && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    now = kernelState(namespaces);
  }
  return now;
}

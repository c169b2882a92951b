// The functions that take the most self time in a V8 CPU profile (the
// .cpuprofile that `node --cpu-prof` writes), for test/bench/profile.sh, each
// with its hottest lines, mapped back to the TypeScript where dist/ has a
// source map.
//
//   node dist/test/bench/profile-top.js N FILE.cpuprofile...
//
// Several profiles of the same run add up: V8 inlines differently from run to
// run, and one profile can charge a callee's time to a different caller.
import fs from 'node:fs';
import path from 'node:path';
import { SourceMap } from 'node:module';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  /** Samples per source line (1-based) of this function, taken while it was on top. */
  positionTicks?: { line: number; ticks: number }[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  us: number;
  /** Samples per line, keyed by the line (1-based) in the function's script. */
  lineTicks: Map<number, number>;
  url: string;
}

/** Self time per function (by name and place), most first. */
export function selfTimes(profile: CpuProfile, root = process.cwd()): { total: number; rows: SelfTime[] } {
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const acc = new Map<string, SelfTime>();
  let total = 0;
  // timeDeltas[i] is the time before sample i; it is charged to the node that
  // was on top of the stack when the sample was taken.
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const us = profile.timeDeltas[i] ?? 0;
    if (!node || us <= 0) continue;
    total += us;
    const f = node.callFrame;
    const file = f.url.startsWith('file://') ? path.relative(root, f.url.slice('file://'.length)) : f.url;
    const where = file ? `${file}:${f.lineNumber + 1}` : '';
    const name = f.functionName || '(anonymous)';
    const key = `${name}\u0000${where}`;
    const row = acc.get(key);
    if (row) row.us += us;
    else acc.set(key, { name, where, us, lineTicks: new Map(), url: f.url });
  }
  // Line ticks are per node, not per sample: add them once per node.
  for (const node of profile.nodes) {
    const f = node.callFrame;
    const file = f.url.startsWith('file://') ? path.relative(root, f.url.slice('file://'.length)) : f.url;
    const row = acc.get(`${f.functionName || '(anonymous)'}\u0000${file ? `${file}:${f.lineNumber + 1}` : ''}`);
    if (!row) continue;
    for (const t of node.positionTicks ?? []) row.lineTicks.set(t.line, (row.lineTicks.get(t.line) ?? 0) + t.ticks);
  }
  return { total, rows: [...acc.values()].sort((a, b) => b.us - a.us) };
}

/** Where a line of compiled JavaScript came from: "src/x.ts:12", or the JS line when there is no map. */
function sourceLine(url: string, line: number, maps: Map<string, SourceMap | null>, root: string): string {
  const file = url.slice('file://'.length);
  let map = maps.get(file);
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')));
    } catch {
      map = null;
    }
    maps.set(file, map);
  }
  // The last mapping on the line stands for the line.
  const e = map?.findEntry(line - 1, 1 << 20) as { generatedLine?: number; originalSource?: string; originalLine?: number } | undefined;
  if (!e || e.generatedLine !== line - 1 || e.originalSource === undefined || e.originalLine === undefined) {
    return `${path.relative(root, file)}:${line}`;
  }
  return `${path.relative(root, path.resolve(path.dirname(file), e.originalSource))}:${e.originalLine + 1}`;
}

/** A function's hottest lines: "src/x.ts:12 40%, src/x.ts:15 20%". */
export function hotLines(row: SelfTime, n: number, root = process.cwd(), maps = new Map<string, SourceMap | null>()): string {
  const all = [...row.lineTicks.values()].reduce((a, b) => a + b, 0);
  if (all === 0 || !row.url.startsWith('file://')) return '';
  return [...row.lineTicks.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([line, ticks]) => `${sourceLine(row.url, line, maps, root)} ${Math.round((ticks / all) * 100)}%`)
    .join(', ');
}

/** Adds b's self times into a (same function, same place). */
function merge(a: SelfTime[], b: SelfTime[]): SelfTime[] {
  const byKey = new Map(a.map((r) => [`${r.name}\u0000${r.where}`, r]));
  for (const r of b) {
    const k = `${r.name}\u0000${r.where}`;
    const have = byKey.get(k);
    if (!have) {
      byKey.set(k, r);
      continue;
    }
    have.us += r.us;
    for (const [line, t] of r.lineTicks) have.lineTicks.set(line, (have.lineTicks.get(line) ?? 0) + t);
  }
  return [...byKey.values()].sort((x, y) => y.us - x.us);
}

if (require.main === module) {
  const n = Number(process.argv[2]);
  const files = process.argv.slice(3);
  if (!Number.isInteger(n) || n < 1 || files.length === 0) {
    process.stderr.write('usage: node dist/test/bench/profile-top.js N FILE.cpuprofile...\n');
    process.exitCode = 2;
  } else {
    let total = 0;
    let rows: SelfTime[] = [];
    for (const file of files) {
      const one = selfTimes(JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile);
      total += one.total;
      rows = merge(rows, one.rows);
    }
    const maps = new Map<string, SourceMap | null>();
    const root = process.cwd();
    const place = (r: SelfTime): string =>
      r.url.startsWith('file://') ? sourceLine(r.url, Number(r.where.slice(r.where.lastIndexOf(':') + 1)), maps, root) : r.where;
    const pct = (us: number): string => ((us / total) * 100).toFixed(1);
    process.stdout.write(`${files.length} profile(s), ${(total / 1000).toFixed(0)} ms sampled\n\n`);
    process.stdout.write('| # | function | where | self ms | self % | hottest lines (share of its samples) |\n| ---: | --- | --- | ---: | ---: | --- |\n');
    rows.slice(0, n).forEach((r, i) => {
      process.stdout.write(`| ${i + 1} | \`${r.name}\` | ${place(r) || '-'} | ${(r.us / 1000).toFixed(0)} | ${pct(r.us)} | ${hotLines(r, 3, root, maps) || '-'} |\n`);
    });
    // The same time by source file: which stage of the flow it is spent in.
    const byFile = new Map<string, number>();
    for (const r of rows) {
      const p = place(r);
      const file = p === '' ? r.name : p.slice(0, p.lastIndexOf(':'));
      byFile.set(file, (byFile.get(file) ?? 0) + r.us);
    }
    process.stdout.write('\nself time by file: ');
    process.stdout.write(
      [...byFile.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([f, us]) => `${f} ${pct(us)}%`)
        .join(', ') + '\n',
    );
  }
}

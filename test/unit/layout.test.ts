// The layout is the data flow: each folder of src/ is a stage, and a stage
// imports only from the stages before it (type-only imports included). A
// later stage hands its own types down only through interfaces that the
// earlier stage defines (connections/connection.ts's DirectionParser and
// WaitingRequests, protocol/message.ts's ParserConnection).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { ROOT } from '../helpers/run';

/** The stages, first to last. A stage may import from the ones before it. */
const FLOW = ['config', 'engine', 'decode', 'connections', 'protocol', 'pairing', 'stats', 'output', 'top', 'lua', 'pipeline', 'cli'];

const SRC = path.join(ROOT, 'src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** src/protocol/memcached/parser.ts -> 'protocol'; src/pipeline.ts -> 'pipeline'. */
function stageOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length === 1 ? rel[0].replace(/\.ts$/, '') : rel[0];
}

/** Every module of src/ a file imports or re-exports, types and lazy require()s included. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  const forms = /^\s*(?:import|export)\b[^'";]*?from\s*'(\.[^']+)'|^\s*import\s*'(\.[^']+)'|\b(?:require|import)\('(\.[^']+)'\)/gm;
  for (const m of text.matchAll(forms)) {
    const spec = m[1] ?? m[2] ?? m[3];
    let target = path.resolve(path.dirname(file), spec);
    if (!target.startsWith(SRC + path.sep)) continue; // package.json
    if (fs.existsSync(`${target}.ts`)) target = `${target}.ts`;
    else if (fs.existsSync(path.join(target, 'index.ts'))) target = path.join(target, 'index.ts');
    else assert.fail(`${path.relative(ROOT, file)}: cannot resolve '${spec}'`);
    out.push(target);
  }
  return out;
}

const files = sources(SRC);
const edges = new Map<string, Set<string>>();
const where = new Map<string, string>();
for (const f of files) {
  const from = stageOf(f);
  for (const t of importsOf(f)) {
    const to = stageOf(t);
    if (to === from) continue;
    if (!edges.has(from)) edges.set(from, new Set());
    edges.get(from)!.add(to);
    where.set(`${from}->${to}`, `${path.relative(ROOT, f)} imports ${path.relative(ROOT, t)}`);
  }
}

type Graph = Map<string, Set<string>>;

/** Each import of a later stage: what it is and where. */
function backEdges(g: Graph): string[] {
  const wrong: string[] = [];
  for (const [from, tos] of g) for (const to of tos) if (FLOW.indexOf(to) > FLOW.indexOf(from)) wrong.push(where.get(`${from}->${to}`) ?? `${from}->${to}`);
  return wrong;
}

/** A cycle of folders, as a path that ends where it began; [] when there is none. */
function findCycle(g: Graph): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const visit = (n: string, trail: string[]): string[] => {
    if (state.get(n) === 'done') return [];
    if (state.get(n) === 'open') return [...trail.slice(trail.indexOf(n)), n];
    state.set(n, 'open');
    for (const m of g.get(n) ?? []) {
      const c = visit(m, [...trail, n]);
      if (c.length > 0) return c;
    }
    state.set(n, 'done');
    return [];
  };
  for (const n of g.keys()) {
    const c = visit(n, []);
    if (c.length > 0) return c;
  }
  return [];
}

test('every folder of src/ is a stage of the flow', () => {
  const stages = new Set(files.map(stageOf));
  assert.deepEqual([...stages].filter((s) => !FLOW.includes(s)), [], 'a new folder needs its place in FLOW');
  for (const s of ['stats', 'lua', 'output', 'protocol', 'pairing']) assert.ok(stages.has(s), s);
});

test('imports go down the flow: no stage imports a later one', () => {
  assert.deepEqual(backEdges(edges), []);
});

test('no import cycle between folders', () => {
  assert.deepEqual(findCycle(edges), []);
});

test('output/ holds only outputs: nothing of the statistics or Lua', () => {
  const names = fs.readdirSync(path.join(SRC, 'output'));
  assert.deepEqual(names.filter((n) => /stats|prometheus|counters|commands|lua/.test(n)), []);
});

test('the checks fail on the circle this layout removed', () => {
  // connections -> pairing -> protocol -> connections, as it was before.
  const old: Graph = new Map([
    ['connections', new Set(['pairing', 'protocol'])],
    ['pairing', new Set(['protocol'])],
    ['protocol', new Set(['connections'])],
  ]);
  assert.deepEqual(findCycle(old), ['connections', 'pairing', 'protocol', 'connections']);
  assert.deepEqual(backEdges(old).sort(), ['connections->pairing', 'connections->protocol', 'pairing->protocol'].filter((e) => e !== 'pairing->protocol').concat([]).sort());
});

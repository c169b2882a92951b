// Prints what `make mutate` found: per folder, the mutation score and every
// surviving mutant (file:line, the mutator, what the code became), from the
// JSON reports Stryker wrote to reports/mutation/.
import fs from 'node:fs';
import path from 'node:path';

interface Mutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number; column: number } };
}
interface Report {
  files: Record<string, { source: string; mutants: Mutant[] }>;
}

/** Stryker's own score: killed and timed out over every mutant that ran or had no test. */
export function score(mutants: Mutant[]): { killed: number; survived: number; noCoverage: number; timeout: number; other: number; score: number } {
  const n = (s: string) => mutants.filter((m) => m.status === s).length;
  const killed = n('Killed');
  const timeout = n('Timeout');
  const survived = n('Survived');
  const noCoverage = n('NoCoverage');
  const valid = killed + timeout + survived + noCoverage;
  return { killed, timeout, survived, noCoverage, other: mutants.length - valid, score: valid === 0 ? 0 : (100 * (killed + timeout)) / valid };
}

/** The folder of src/ a unit of run.sh belongs to: protocol-http is src/protocol. */
export function folderOf(unit: string): string {
  return unit.split('-')[0];
}

function main(): void {
  const root = path.resolve(__dirname, '..', '..', '..');
  // --sample: the reports of MUTATE_SAMPLE runs (test/mutate/stryker.config.mjs), an estimate of each unit's score.
  const sampled = process.argv.includes('--sample');
  const units = process.argv.slice(2).filter((a) => a !== '--sample');
  const folders = [...new Set(units.map(folderOf))];
  const rows: string[] = [];
  let missing = false;
  for (const folder of folders) {
    const all: Mutant[] = [];
    const survivors: string[] = [];
    const measured: string[] = [];
    for (const unit of units.filter((u) => folderOf(u) === folder)) {
      const file = path.join(root, 'reports', 'mutation', `${unit}${sampled ? '.sample' : ''}.json`);
      if (!fs.existsSync(file)) {
        console.log(`${unit}: no report (${path.relative(root, file)} is missing)`);
        missing = true;
        continue;
      }
      const report = JSON.parse(fs.readFileSync(file, 'utf8')) as Report;
      const mine: Mutant[] = [];
      for (const [name, f] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
        const lines = f.source.split('\n');
        for (const m of [...f.mutants].sort((a, b) => a.location.start.line - b.location.start.line)) {
          mine.push(m);
          if (m.status !== 'Survived' && m.status !== 'NoCoverage') continue;
          const code = (lines[m.location.start.line - 1] ?? '').trim();
          survivors.push(`  ${m.status === 'NoCoverage' ? 'no test ' : 'survived'} ${name}:${m.location.start.line} ${m.mutatorName}: ${JSON.stringify(m.replacement ?? '')}  <- ${code.slice(0, 100)}`);
        }
      }
      all.push(...mine);
      if (unit !== folder) measured.push(`    ${unit}: ${score(mine).score.toFixed(1)}% of ${mine.length}`);
    }
    if (all.length === 0) continue;
    const s = score(all);
    rows.push(`src/${folder}: ${s.score.toFixed(1)}% of ${all.length} (${s.killed} killed, ${s.timeout} timed out, ${s.survived} survived, ${s.noCoverage} without a test, ${s.other} not run: compile or runtime errors)`, ...measured);
    console.log(`\nsrc/${folder}: ${survivors.length} surviving mutants`);
    for (const line of survivors) console.log(line);
  }
  console.log(sampled ? '\nMutation score per folder, of a sample of each unit (MUTATE_SAMPLE):' : '\nMutation score per folder:');
  for (const r of rows) console.log(`  ${r}`);
  if (missing) process.exitCode = 1;
}

if (require.main === module) main();

// Loaded into every node process of a `make mutate` run (NODE_OPTIONS=--require).
//
// Stryker's tap runner learns which mutants a test file covers from the test
// file's own process. Most offline tests run the CLI as a child process, so
// what the child covers would be lost and its mutants reported "no coverage".
// Here each child (during Stryker's dry run) leaves its coverage in a file
// named after the test process, and the test process adds those files to its
// own coverage before the tap runner's exit handler records it.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const DIR = path.join(os.tmpdir(), 'tcpkit-mutate-coverage');
const KEY = 'TCPKIT_MUTATE_TEST_PID';
const isTestProcess = process.execArgv.some((a) => a.includes('tap-runner'));
const dryRun = process.env.STRYKER_DRY_RUN === 'true';

function coverage() {
  const ns = globalThis[process.env.STRYKER_NAMESPACE || '__stryker__'];
  return ns && ns.mutantCoverage ? ns.mutantCoverage : null;
}

if (dryRun && isTestProcess) {
  process.env[KEY] = String(process.pid);
  // First in line: the tap runner's own 'exit' handler writes the coverage out.
  process.prependListener('exit', () => {
    let names = [];
    try {
      names = fs.readdirSync(DIR).filter((n) => n.startsWith(`${process.pid}-`));
    } catch {
      return;
    }
    const ns = globalThis[process.env.STRYKER_NAMESPACE || '__stryker__'] || (globalThis.__stryker__ = {});
    const mine = ns.mutantCoverage || (ns.mutantCoverage = { static: {}, perTest: {} });
    for (const n of names) {
      const file = path.join(DIR, n);
      try {
        const child = JSON.parse(fs.readFileSync(file, 'utf8'));
        for (const [id, hits] of Object.entries(child)) mine.static[id] = (mine.static[id] || 0) + hits;
      } catch {
        // A child killed while writing: its coverage is lost, nothing else.
      }
      fs.rmSync(file, { force: true });
    }
  });
} else if (dryRun && process.env[KEY]) {
  const parent = process.env[KEY];
  process.on('exit', () => {
    const cov = coverage();
    if (cov === null) return;
    const all = { ...cov.static };
    for (const t of Object.values(cov.perTest)) for (const [id, hits] of Object.entries(t)) all[id] = (all[id] || 0) + hits;
    fs.mkdirSync(DIR, { recursive: true });
    fs.writeFileSync(path.join(DIR, `${parent}-${process.pid}.json`), JSON.stringify(all));
  });
}

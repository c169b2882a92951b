// Keeps only the killed and timed-out mutants of a Stryker incremental report,
// so the next run tests every other mutant again (see run.sh for why).
// MUTATE_RETRY_TIMEOUTS=1 drops the timed-out ones too: a test file starved
// of CPU on a busy machine times out like an endless loop does, so a score
// measured beside other work is checked again on a quiet one.
import fs from 'node:fs';

interface Incremental {
  files: Record<string, { mutants: { status: string }[] }>;
}

function main(): void {
  const file = process.argv[2];
  if (file === undefined || !fs.existsSync(file)) return;
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as Incremental;
  const retryTimeouts = process.env.MUTATE_RETRY_TIMEOUTS === '1';
  let dropped = 0;
  for (const f of Object.values(report.files)) {
    const keep = f.mutants.filter((m) => m.status === 'Killed' || (m.status === 'Timeout' && !retryTimeouts));
    dropped += f.mutants.length - keep.length;
    f.mutants = keep;
  }
  fs.writeFileSync(file, JSON.stringify(report));
  console.log(`${file}: ${dropped} mutants that were not killed${retryTimeouts ? ' (or timed out)' : ''} will run again`);
}

if (require.main === module) main();

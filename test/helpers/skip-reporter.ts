// A node --test reporter that runs beside tap or spec (test/run.sh): at the
// end it lists, once, every suite or test that was skipped and why (no root,
// no ../shared/corpus, a tool missing), so that a green run says what it did
// not run; then one closing line: `tests: N passed, N failed, N skipped`.
import path from 'node:path';

interface TestEvent {
  type: string;
  data: { name: string; file?: string; nesting: number; skip?: string | boolean; details?: { type?: string } };
}

async function* skipReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const skipped = new Map<string, string[]>();
  let passed = 0;
  let failed = 0;
  let skips = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { data } = event;
    const suite = data.details?.type === 'suite';
    if (data.skip !== undefined && data.skip !== false) {
      const reason = typeof data.skip === 'string' ? data.skip : 'skipped';
      const file = data.file ? path.relative(process.cwd(), data.file) : '?';
      const key = `${file}: ${reason}`;
      if (!skipped.has(key)) skipped.set(key, []);
      skipped.get(key)!.push(data.name);
      skips++;
      continue;
    }
    if (suite) continue;
    if (event.type === 'test:pass') passed++;
    else failed++;
  }
  if (skipped.size > 0) {
    yield `\nNot run (${skips} suites or tests skipped):\n`;
    for (const [key, names] of skipped) {
      yield `  ${key}\n      ${names.length === 1 ? names[0] : `${names.length}: ${names.slice(0, 3).join('; ')}${names.length > 3 ? '; ...' : ''}`}\n`;
    }
  }
  yield `tests: ${passed} passed, ${failed} failed, ${skips} skipped\n`;
}

export = skipReporter;

// StrykerJS for `make mutate` (test/mutate/run.sh runs it once per unit).
// MUTATE_FOLDER picks a unit: a folder of src/, or one protocol of
// src/protocol (protocol-resp, protocol-http, ...: a run of all of
// src/protocol takes hours, and one unit's result is kept even if a later one
// is stopped). The tests run as compiled JavaScript from the sandbox's own
// `tsc` build, each test file in its own `node` process (the tap runner).
//
// Each unit lists the non-live test files that exercise it, fastest first:
// with coverageAnalysis 'perTest' Stryker runs, for each mutant, only the
// files that executed it in the dry run (a test file is one "test" to the tap
// runner), in this order, and stops at the first file that fails (and, with
// forceBail, at the first failing test in it). So the in-process unit tests
// kill most mutants in about a second, and the slower files that drive the
// CLI through synthetic captures only see the mutants the unit tests missed.
// Left out: the recorded-* tests (they record live traffic on every run), the
// corpus and the slowest offline files; test/TESTING.md says what that leaves.
import fs from 'node:fs';
import ts from 'typescript';

const folder = process.env.MUTATE_FOLDER;
const PROTOCOL_BASE = ['src/protocol/message.ts', 'src/protocol/text.ts'];
const UNITS = {
  'protocol-resp': {
    mutate: ['src/protocol/resp.ts', ...PROTOCOL_BASE],
    tests: ['unit/protocol/message.test.js', 'unit/protocol/resp-exact.test.js', 'unit/protocol/resp.test.js', 'unit/protocol/memcached.test.js', 'unit/protocol/http.test.js', 'unit/protocol/dns.test.js', 'unit/protocol/kafka.test.js', 'unit/protocol/pgsql.test.js', 'unit/protocol/mysql.test.js'],
  },
  'protocol-http': { mutate: ['src/protocol/http.ts'], tests: ['unit/protocol/http-exact.test.js', 'unit/protocol/http.test.js'] },
  'protocol-dns': { mutate: ['src/protocol/dns.ts'], tests: ['unit/protocol/dns-exact.test.js', 'unit/protocol/dns.test.js'] },
  'protocol-memcached': { mutate: ['src/protocol/memcached/**/*.ts'], tests: ['unit/protocol/memcached-exact.test.js', 'unit/protocol/memcached.test.js'] },
  'protocol-kafka': { mutate: ['src/protocol/kafka/**/*.ts'], tests: ['unit/protocol/kafka-exact.test.js', 'unit/protocol/kafka.test.js'] },
  'protocol-mysql': { mutate: ['src/protocol/mysql/**/*.ts'], tests: ['unit/protocol/mysql-exact.test.js', 'unit/protocol/mysql.test.js'] },
  'protocol-pgsql': { mutate: ['src/protocol/pgsql/**/*.ts'], tests: ['unit/protocol/pgsql-exact.test.js', 'unit/protocol/pgsql.test.js'] },
  // The SQL modes' shared statement table, text helpers and redaction.
  'protocol-sql': { mutate: ['src/protocol/sql.ts', 'src/protocol/redact.ts'], tests: ['unit/protocol/sql-exact.test.js', 'unit/protocol/redact.test.js', 'unit/protocol/pgsql.test.js', 'unit/protocol/mysql.test.js'] },
  pairing: {
    mutate: ['src/pairing/**/*.ts'],
    tests: [
      'unit/pairing/queue.test.js',
      'unit/pairing/redis-replies.test.js',
      'unit/pairing/pairer.test.js',
      'unit/pairing/pairer-paths.test.js',
      'unit/connections/bounded-state.test.js',
      'offline/synthetic-pairing.test.js',
      'offline/memcached-synthetic.test.js',
      'offline/http-synthetic.test.js',
    ],
  },
  connections: {
    mutate: ['src/connections/**/*.ts'],
    tests: [
      'unit/connections/stream.test.js',
      'unit/connections/table.test.js',
      'unit/connections/bounded-state.test.js',
      'unit/pairing/pairer.test.js',
      'offline/synthetic-pairing.test.js',
      'offline/http-synthetic.test.js',
    ],
  },
  decode: {
    mutate: ['src/decode/**/*.ts'],
    tests: [
      'unit/decode/packet.test.js',
      'unit/decode/reassembly.test.js',
      'unit/decode/encapsulation.test.js',
    ],
  },
};
if (!(folder in UNITS)) throw new Error(`MUTATE_FOLDER must be one of ${Object.keys(UNITS).join(', ')}`);
const unit = UNITS[folder];

// MUTATE_SAMPLE=0.2: mutate only a sample of each file, for an estimate when
// the whole unit would take longer than there is (src/protocol has over 8,000
// mutants). The sample is made of small pieces of code: each simple
// statement, condition or table element is in or out as a whole (a range of
// lines and columns), chosen by a hash of
// MUTATE_SEED, the file and the code's text, so the same sample comes back
// run after run and edits elsewhere do not move it. A compound statement is
// split into its tests (an if's condition, a loop's) and its statements, a
// table into its elements: Stryker takes a mutant only if it lies entirely
// inside a range, so whole methods would make a few huge clusters, and single
// lines would leave out every mutant spanning lines. Left out of every
// sample: the mutants that empty a whole block (a body, a branch).
const sample = process.env.MUTATE_SAMPLE === undefined ? undefined : Number(process.env.MUTATE_SAMPLE);
if (sample !== undefined && !(sample > 0 && sample <= 1)) throw new Error('MUTATE_SAMPLE must be a fraction in (0, 1]');
const seed = process.env.MUTATE_SEED ?? '1';

function expand(pattern) {
  if (!pattern.endsWith('/**/*.ts')) return [pattern];
  const dir = pattern.slice(0, -'/**/*.ts'.length);
  return fs.readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.ts')).map((f) => `${dir}/${f}`).sort();
}

function fnv1a(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function sampledRanges(file) {
  const src = fs.readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, src, ts.ScriptTarget.ES2022, true);
  const at = (pos) => {
    const { line, character } = sf.getLineAndCharacterOfPosition(pos);
    return `${line + 1}:${character}`;
  };
  const seen = new Map();
  const ranges = [];
  // One piece of code in or out of the sample, by its text (and which repeat of that text it is).
  const unit = (node) => {
    if (node === undefined) return;
    const start = node.getStart(sf);
    const text = src.slice(start, node.getEnd());
    const n = (seen.get(text) ?? 0) + 1;
    seen.set(text, n);
    if (fnv1a(`${seed}:${file}:${text}:${n}`) / 2 ** 32 < sample) ranges.push(`${file}:${at(start)}-${at(node.getEnd())}`);
  };
  const fn = (f) => {
    f.parameters?.forEach((p) => unit(p.initializer));
    if (f.body === undefined) return;
    if (ts.isBlock(f.body)) f.body.statements.forEach(visit);
    else expr(f.body);
  };
  // Expressions: tables (array and object literals) and functions are split further.
  const expr = (e) => {
    if (e === undefined) return;
    while (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e)) e = e.expression;
    if (ts.isArrayLiteralExpression(e)) e.elements.forEach(expr);
    else if (ts.isObjectLiteralExpression(e)) e.properties.forEach((p) => (ts.isPropertyAssignment(p) ? expr(p.initializer) : ts.isMethodDeclaration(p) ? fn(p) : unit(p)));
    else if (ts.isArrowFunction(e) || ts.isFunctionExpression(e)) fn(e);
    else if (ts.isCallExpression(e) && e.arguments.length === 0 && (ts.isArrowFunction(e.expression) || ts.isFunctionExpression(e.expression) || ts.isParenthesizedExpression(e.expression))) expr(e.expression);
    else unit(e);
  };
  // Statements: compound ones are split into their tests and their bodies.
  const visit = (st) => {
    if (st === undefined) return;
    if (ts.isBlock(st)) st.statements.forEach(visit);
    else if (ts.isIfStatement(st)) (unit(st.expression), visit(st.thenStatement), visit(st.elseStatement));
    else if (ts.isWhileStatement(st) || ts.isDoStatement(st)) (unit(st.expression), visit(st.statement));
    else if (ts.isForStatement(st)) (unit(st.initializer), unit(st.condition), unit(st.incrementor), visit(st.statement));
    else if (ts.isForOfStatement(st) || ts.isForInStatement(st)) (unit(st.initializer), unit(st.expression), visit(st.statement));
    else if (ts.isSwitchStatement(st)) {
      unit(st.expression);
      for (const c of st.caseBlock.clauses) {
        if (ts.isCaseClause(c)) unit(c.expression);
        c.statements.forEach(visit);
      }
    } else if (ts.isTryStatement(st)) (visit(st.tryBlock), visit(st.catchClause?.block), visit(st.finallyBlock));
    else if (ts.isLabeledStatement(st)) visit(st.statement);
    else if (ts.isFunctionDeclaration(st)) fn(st);
    else if (ts.isClassDeclaration(st)) st.members.forEach((m) => (ts.isPropertyDeclaration(m) ? expr(m.initializer) : fn(m)));
    else if (ts.isVariableStatement(st)) st.declarationList.declarations.forEach((d) => expr(d.initializer));
    else if (ts.isReturnStatement(st) || ts.isExpressionStatement(st)) expr(st.expression);
    else if (ts.isImportDeclaration(st) || ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) return;
    else unit(st);
  };
  sf.statements.forEach(visit);
  return ranges;
}

const mutate = sample === undefined ? unit.mutate : unit.mutate.flatMap(expand).flatMap(sampledRanges);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  mutate,
  buildCommand: 'npx --no-install tsc -p tsconfig.json',
  tap: {
    testFiles: unit.tests.map((t) => `dist/test/${t}`),
    nodeArgs: ['--test-reporter=tap', '-r', '{{hookFile}}', '{{testFile}}'],
    forceBail: true,
  },
  // dist/test stays in: incremental mode knows a test file by its source, and
  // would count every test as new (and re-run every mutant) without it.
  // Top-level folders are anchored with '/': Stryker matches patterns without
  // case against every name, and a bare 'release' also left out
  // build/Release, the addon the CLI tests load.
  ignorePatterns: ['/dist/src', '/dist/bench', '/release', '/build-asan', '/build/Release/obj.target', '/reports', '/.stryker-tmp', '/bpf/.output'],
  coverageAnalysis: 'perTest',
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 1),
  incremental: true,
  incrementalFile: `reports/mutation/${folder}.incremental.json`,
  reporters: ['json', 'progress-append-only'],
  // A sample's report is kept apart (test/mutate/report.ts reads it with --sample); the
  // incremental file is shared, so a later full run reuses the sample's kills.
  jsonReporter: { fileName: `reports/mutation/${folder}${sample === undefined ? '' : '.sample'}.json` },
  // An infinite loop is a timeout after this much more than the tests' own time.
  timeoutMS: 3000,
  timeoutFactor: 1.5,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};

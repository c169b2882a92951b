// StrykerJS for `make mutate` (test/mutate/run.sh runs it once per folder).
// MUTATE_FOLDER picks the folder of src/ to mutate and the non-live tests
// that exercise it; the tests run as compiled JavaScript from the sandbox's
// own `tsc` build, each test file in its own `node` process (the tap runner).
const folder = process.env.MUTATE_FOLDER;
// The tests that exercise each folder, fast in-process unit tests first, then
// synthetic captures through the CLI (every latency in them is known). Left
// out: the recorded-* tests (they record live traffic on every run), the
// corpus and the slowest offline files (tens of seconds each, paid again for
// every mutant that survives); TESTING.md says what that leaves untested.
const TESTS = {
  protocol: [
    'unit/protocol/resp.test.js',
    'unit/protocol/memcached.test.js',
    'unit/protocol/http.test.js',
    'unit/protocol/dns.test.js',
    'offline/synthetic-pairing.test.js',
    'offline/http-synthetic.test.js',
    'offline/memcached-synthetic.test.js',
  ],
  pairing: [
    'unit/pairing/pairer.test.js',
    'offline/synthetic-pairing.test.js',
    'offline/http-synthetic.test.js',
    'offline/memcached-synthetic.test.js',
    'unit/pipeline.test.js',
  ],
  connections: [
    'unit/connections/bounded-state.test.js',
    'offline/synthetic-pairing.test.js',
    'offline/http-synthetic.test.js',
    'unit/pipeline.test.js',
  ],
  decode: [
    'unit/decode/fragments.test.js',
    'offline/synthetic-pairing.test.js',
    'unit/pipeline.test.js',
  ],
};
if (!(folder in TESTS)) throw new Error(`MUTATE_FOLDER must be one of ${Object.keys(TESTS).join(', ')}`);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  mutate: [`src/${folder}/**/*.ts`],
  buildCommand: 'npx --no-install tsc -p tsconfig.json',
  tap: {
    testFiles: TESTS[folder].map((t) => `dist/test/${t}`),
    nodeArgs: ['--test-reporter=tap', '-r', '{{hookFile}}', '{{testFile}}'],
  },
  ignorePatterns: ['dist', 'build-asan', 'build/Release/obj.target', 'reports', '.stryker-tmp', 'bpf/.output'],
  coverageAnalysis: 'perTest',
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 1),
  incremental: true,
  incrementalFile: `reports/mutation/${folder}.incremental.json`,
  reporters: ['json', 'progress-append-only'],
  jsonReporter: { fileName: `reports/mutation/${folder}.json` },
  timeoutMS: 10000,
  timeoutFactor: 2,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};

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
// corpus and the slowest offline files; TESTING.md says what that leaves.
const folder = process.env.MUTATE_FOLDER;
const PROTOCOL_BASE = ['src/protocol/message.ts', 'src/protocol/text.ts'];
const UNITS = {
  'protocol-resp': {
    mutate: ['src/protocol/resp.ts', ...PROTOCOL_BASE],
    tests: ['unit/protocol/message.test.js', 'unit/protocol/resp.test.js', 'unit/protocol/memcached.test.js', 'unit/protocol/http.test.js', 'unit/protocol/dns.test.js', 'unit/protocol/kafka.test.js'],
  },
  'protocol-http': { mutate: ['src/protocol/http.ts'], tests: ['unit/protocol/http.test.js'] },
  'protocol-dns': { mutate: ['src/protocol/dns.ts'], tests: ['unit/protocol/dns.test.js'] },
  'protocol-memcached': { mutate: ['src/protocol/memcached/**/*.ts'], tests: ['unit/protocol/memcached.test.js'] },
  'protocol-kafka': { mutate: ['src/protocol/kafka/**/*.ts'], tests: ['unit/protocol/kafka.test.js'] },
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

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  mutate: unit.mutate,
  buildCommand: 'npx --no-install tsc -p tsconfig.json',
  tap: {
    testFiles: unit.tests.map((t) => `dist/test/${t}`),
    nodeArgs: ['--test-reporter=tap', '-r', '{{hookFile}}', '{{testFile}}'],
    forceBail: true,
  },
  // dist/test stays in: incremental mode knows a test file by its source, and
  // would count every test as new (and re-run every mutant) without it.
  ignorePatterns: ['dist/src', 'dist/bench', 'release', 'build-asan', 'build/Release/obj.target', 'reports', '.stryker-tmp', 'bpf/.output'],
  coverageAnalysis: 'perTest',
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 1),
  incremental: true,
  incrementalFile: `reports/mutation/${folder}.incremental.json`,
  reporters: ['json', 'progress-append-only'],
  jsonReporter: { fileName: `reports/mutation/${folder}.json` },
  // An infinite loop is a timeout after this much more than the tests' own time.
  timeoutMS: 3000,
  timeoutFactor: 1.5,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};

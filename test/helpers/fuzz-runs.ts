// How many cases a property test tries. Under `make mutate` (Stryker sets
// __STRYKER_ACTIVE_MUTANT__ for each mutant's run) a tenth: those tests are
// most of a protocol test file's time, and each mutant runs the file again.
// The exact tests still run in full; test/TESTING.md says what this costs.
export function fuzzRuns(n: number): number {
  return process.env.__STRYKER_ACTIVE_MUTANT__ === undefined ? n : Math.ceil(n / 10);
}

// The progress bar: only on a terminal, only for reads that take a while,
// out of the way of lines written to the same terminal, gone at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressBar, renderProgress } from '../../../src/output/progress';

test('the bar: percentage, bar, bytes and time left, within the terminal width', () => {
  assert.equal(renderProgress(0, 200e6, 0, 80), '  0% [........................................]  0.0 of 200.0 MB');
  assert.equal(renderProgress(50e6, 200e6, 1000, 80), ' 25% [##########..............................]  50.0 of 200.0 MB, 3 s left');
  assert.equal(renderProgress(200e6, 200e6, 4000, 80), '100% [########################################]  200.0 of 200.0 MB');
  for (const cols of [20, 40, 60, 80, 200]) assert.ok(renderProgress(123e6, 200e6, 900, cols).length < cols, String(cols));
  assert.match(renderProgress(123e6, 200e6, 900, 60), /^ 61% \[#+\.+\]/);
  assert.equal(renderProgress(123e6, 200e6, 900, 40), ' 61%  123.0 of 200.0 MB, 1 s left', 'too narrow for a bar');
});

function fakeTerminal(isTTY: boolean, columns = 80) {
  const written: string[] = [];
  return { written, term: { isTTY, columns, write: (t: string) => written.push(t) } };
}

test('wanted on a terminal only', () => {
  assert.equal(ProgressBar.wanted(fakeTerminal(true).term), true);
  assert.equal(ProgressBar.wanted(fakeTerminal(false).term), false);
  assert.equal(ProgressBar.wanted({ write: () => true }), false);
});

test('nothing for the first half second; then drawn in place; cleared for lines and at the end', () => {
  let now = 1000;
  const source = { offset: 0, size: 100e6 };
  const { written, term } = fakeTerminal(true);
  const bar = new ProgressBar(source, term, () => now);
  now += 400;
  bar.tick();
  assert.deepEqual(written, []);
  bar.clear();
  assert.deepEqual(written, [], 'nothing drawn, nothing to clear');
  now += 200;
  source.offset = 30e6;
  bar.tick();
  assert.equal(written.length, 1);
  assert.match(written[0], /^\r 30% \[#{12}\.{28}\]  30\.0 of 100\.0 MB, 2 s left\x1b\[K$/);
  bar.clear();
  assert.equal(written[1], '\r\x1b[K');
  bar.clear();
  assert.equal(written.length, 2, 'cleared once');
  bar.tick();
  bar.stop();
  assert.equal(written[written.length - 1], '\r\x1b[K');
});

test('a terminal that does not say its width (script, some CI): 80 columns', () => {
  let now = 0;
  const { written, term } = fakeTerminal(true, 0);
  const bar = new ProgressBar({ offset: 50e6, size: 100e6 }, term, () => now);
  now = 600;
  bar.tick();
  assert.match(written[0], /^\r 50% \[#{20}\.{20}\]  50\.0 of 100\.0 MB, 1 s left\x1b\[K$/);
});

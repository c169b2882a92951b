// The --top renderer: rows fitted to the width, network bytes kept harmless,
// attributes as SGR, and only the rows that changed written again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Attr, ENTER, LEAVE, Screen, encodeRow, fit } from '../../../src/top/screen';

test('fit: cut or padded to exactly the width', () => {
  assert.equal(fit('abc', 5), 'abc  ');
  assert.equal(fit('abcdef', 4), 'abcd');
  assert.equal(fit('', 3), '   ');
  assert.equal(fit('▁▂█', 4), '▁▂█ ', 'the sparkline blocks are one column each');
});

test('fit: controls, escapes and anything wide from the network become dots', () => {
  assert.equal(fit('GET \x1b[2Jx\r\n\t\x7f', 13), 'GET .[2Jx....');
  assert.equal(fit('SET k\u00e9 \u4e2d\ud83d\ude00', 10), 'SET k. .. ');
  assert.equal(fit('\x9b31m', 4), '.31m', 'a C1 CSI too');
});

test('encodeRow: the whole row, and stretches of it, in their attributes', () => {
  assert.equal(encodeRow({ text: 'plain' }, 7), 'plain  ');
  assert.equal(encodeRow({ text: 'title', attr: Attr.Reverse }, 6), '\x1b[0;7mtitle \x1b[0m');
  assert.equal(
    encodeRow({ text: 'ab P99 cd', attr: Attr.Bold, spans: [{ from: 3, to: 6, attr: Attr.Reverse }] }, 10),
    '\x1b[0;1mab \x1b[0;7mP99\x1b[0;1m cd \x1b[0m',
  );
  assert.equal(encodeRow({ text: 'abcdef', spans: [{ from: 4, to: 9, attr: Attr.Reverse }] }, 5), 'abcd\x1b[0;7me\x1b[0m', 'a span past the edge is cut');
});

test('entering and leaving: alternate screen, cursor, autowrap, each undone', () => {
  assert.equal(ENTER, '\x1b[?1049h\x1b[?25l\x1b[?7l\x1b[0m\x1b[H\x1b[2J');
  assert.equal(LEAVE, '\x1b[0m\x1b[?7h\x1b[?25h\x1b[?1049l');
});

test('frames: the first paints everything, later ones only the rows that changed', () => {
  const s = new Screen();
  const first = s.frame([{ text: 'one' }, { text: 'two' }], 5, 3);
  assert.equal(first, '\x1b[0m\x1b[H\x1b[2J\x1b[1;1Hone  \x1b[2;1Htwo  \x1b[3;1H     ');
  assert.equal(s.frame([{ text: 'one' }, { text: 'two' }], 5, 3), '', 'nothing changed, nothing written');
  assert.equal(s.frame([{ text: 'one' }, { text: 'TWO' }], 5, 3), '\x1b[2;1HTWO  ');
  assert.equal(s.frame([{ text: 'one' }, { text: 'TWO' }, { text: 'three', attr: Attr.Bold }, { text: 'past the bottom' }], 5, 3), '\x1b[3;1H\x1b[0;1mthree\x1b[0m');
});

test('frames: a new size, or invalidate(), paints everything again', () => {
  const s = new Screen();
  s.frame([{ text: 'a' }], 2, 1);
  assert.equal(s.frame([{ text: 'a' }], 3, 1), '\x1b[0m\x1b[H\x1b[2J\x1b[1;1Ha  ');
  s.invalidate();
  assert.equal(s.frame([{ text: 'a' }], 3, 1), '\x1b[0m\x1b[H\x1b[2J\x1b[1;1Ha  ');
});

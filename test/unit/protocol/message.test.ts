// protocol/message.ts and text.ts on their own: a MessageInfo begun again
// forgets the last message; the preview replaces control bytes and stops at
// PREVIEW_MAX; afterLf finds the end of a line or says it runs on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DETAIL_MAX, MessageInfo, MessageKind, PREVIEW_MAX } from '../../../src/protocol/message';
import { afterLf } from '../../../src/protocol/text';

test('begin() sets the start time and resets every other field', () => {
  const m = new MessageInfo();
  assert.deepEqual([m.startSec, m.startNsec, m.bytes, m.kind, m.isError, m.incomplete, m.matchId, m.status, m.statusText, m.previewLen, m.detailLen, m.longPoll], [0, 0, 0, MessageKind.Normal, false, false, -1, -1, '', 0, 0, false]);
  assert.deepEqual([m.preview.length, m.detail.length, PREVIEW_MAX, DETAIL_MAX], [256, 128, 256, 128]);
  Object.assign(m, { bytes: 5, kind: MessageKind.Push, isError: true, incomplete: true, matchId: 7, status: 404, statusText: 'Not Found', previewLen: 3, detailLen: 2, longPoll: true });
  m.begin(12, 345);
  assert.deepEqual([m.startSec, m.startNsec, m.bytes, m.kind, m.isError, m.incomplete, m.matchId, m.status, m.statusText, m.previewLen, m.detailLen, m.longPoll], [12, 345, 0, MessageKind.Normal, false, false, -1, -1, '', 0, 0, false]);
});

test('the preview shows control bytes and DEL as dots, keeps the rest, and stops at PREVIEW_MAX', () => {
  const m = new MessageInfo();
  for (const b of [0x00, 0x09, 0x1f, 0x20, 0x41, 0x7e, 0x7f, 0x80, 0xff]) m.appendPreview(b);
  assert.deepEqual([...m.preview.subarray(0, m.previewLen)], [0x2e, 0x2e, 0x2e, 0x20, 0x41, 0x7e, 0x2e, 0x80, 0xff]);
  m.appendEllipsis();
  assert.equal(m.preview.subarray(0, m.previewLen).toString('latin1'), '... A~.\x80\xff...');
  m.begin(0, 0);
  for (let i = 0; i < PREVIEW_MAX - 1; i++) m.appendPreview(0x61);
  m.appendEllipsis();
  assert.equal(m.previewLen, PREVIEW_MAX);
  assert.equal(m.preview[PREVIEW_MAX - 1], 0x2e);
  m.appendPreview(0x62);
  assert.equal(m.previewLen, PREVIEW_MAX);
});

test('afterLf: the offset past the LF, searched only in [from, end); -1 when the line runs on', () => {
  const b = Buffer.from('ab\ncd\nef');
  assert.equal(afterLf(b, 0, b.length), 3);
  assert.equal(afterLf(b, 3, b.length), 6);
  assert.equal(afterLf(b, 6, b.length), -1);
  assert.equal(afterLf(b, 0, 2), -1);
  assert.equal(afterLf(b, 0, 3), 3);
  assert.equal(afterLf(b, 2, 3), 3);
  assert.equal(afterLf(b, 3, 3), -1);
});

// pairing/redis-replies.ts on its own: CLIENT REPLY ON/OFF/SKIP as a state
// machine, which requests are (un)subscribe commands, and which RESP2 arrays
// on a subscribed connection are pushes rather than replies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplyMode, expectsReply, isPubSubPush, isSubscribe, subscribes } from '../../../src/pairing/redis-replies';

/** The request's preview as pairing holds it: its text, in a buffer longer than the text. */
function preview(text: string): [Buffer, number] {
  const b = Buffer.alloc(text.length + 8, 0x20);
  b.write(text, 'latin1');
  return [b, text.length];
}

/** Runs requests through expectsReply from mode On; each step's [expects a reply, mode after]. */
function run(...requests: string[]): [boolean, number][] {
  const mode = { replyMode: ReplyMode.On as number };
  return requests.map((r) => {
    const [b, len] = preview(r);
    const e = expectsReply(mode, b, len);
    return [e, mode.replyMode];
  });
}

test('CLIENT REPLY OFF silences everything until ON, which is answered', () => {
  assert.deepEqual(run('GET a', 'CLIENT REPLY OFF', 'GET b', 'SET c d', 'CLIENT REPLY ON', 'GET e'), [
    [true, ReplyMode.On],
    [false, ReplyMode.Off],
    [false, ReplyMode.Off],
    [false, ReplyMode.Off],
    [true, ReplyMode.On],
    [true, ReplyMode.On],
  ]);
});

test('CLIENT REPLY SKIP silences itself and the next command only; SKIP while OFF stays OFF', () => {
  assert.deepEqual(run('CLIENT REPLY SKIP', 'GET a', 'GET b'), [
    [false, ReplyMode.SkipNext],
    [false, ReplyMode.On],
    [true, ReplyMode.On],
  ]);
  assert.deepEqual(run('CLIENT REPLY OFF', 'CLIENT REPLY SKIP', 'GET a', 'GET b'), [
    [false, ReplyMode.Off],
    [false, ReplyMode.Off],
    [false, ReplyMode.Off],
    [false, ReplyMode.Off],
  ]);
  // SKIP twice: the second is the "next command", silenced, and leaves the mode On.
  assert.deepEqual(run('CLIENT REPLY SKIP', 'CLIENT REPLY SKIP', 'GET a'), [
    [false, ReplyMode.SkipNext],
    [false, ReplyMode.SkipNext],
    [false, ReplyMode.On],
  ]);
  // ON right after SKIP is answered and clears it.
  assert.deepEqual(run('CLIENT REPLY SKIP', 'CLIENT REPLY ON', 'GET a'), [
    [false, ReplyMode.SkipNext],
    [true, ReplyMode.On],
    [true, ReplyMode.On],
  ]);
});

test('CLIENT REPLY is matched in any case; other CLIENT commands and look-alikes are plain requests', () => {
  assert.deepEqual(run('client reply off', 'Client Reply On'), [
    [false, ReplyMode.Off],
    [true, ReplyMode.On],
  ]);
  assert.deepEqual(run('client reply skip', 'x'), [
    [false, ReplyMode.SkipNext],
    [false, ReplyMode.On],
  ]);
  for (const r of ['CLIENT LIST', 'CLIENT REPLYOFF', 'CLIENT REPLY', 'CLIENT REPLY X', 'CLIENT REPLY', 'CLIENT  REPLY OFF', 'XCLIENT REPLY OFF', 'CLIENT REPL', 'C']) {
    assert.deepEqual(run(r, 'GET a'), [[true, ReplyMode.On], [true, ReplyMode.On]], r);
  }
  // "CLIENT REPLY " cut before its argument by a short preview.
  const mode = { replyMode: ReplyMode.On as number };
  const b = Buffer.from('CLIENT REPLY OFF');
  assert.equal(expectsReply(mode, b, 12), true);
  assert.equal(mode.replyMode, ReplyMode.On);
  // Only the bytes before `len` count as the command.
  assert.equal(expectsReply(mode, Buffer.from('CLIENT REPLZ OFF'), 16), true);
  assert.equal(expectsReply(mode, Buffer.from('CLIENT`REPLY OFF'), 16), true);
  assert.equal(expectsReply(mode, Buffer.from('CLIENT{REPLY OFF'), 16), true);
  assert.equal(mode.replyMode, ReplyMode.On);
});

test('isSubscribe: the six (un)subscribe commands, with arguments or alone, in any case; nothing else', () => {
  for (const cmd of ['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE']) {
    for (const text of [cmd, `${cmd} news`, cmd.toLowerCase(), `${cmd.toLowerCase()} a b`]) {
      assert.equal(isSubscribe(...preview(text)), true, text);
    }
    assert.equal(isSubscribe(...preview(`${cmd}X a`)), false, `${cmd}X`);
    assert.equal(isSubscribe(...preview(cmd.slice(0, -1))), false, cmd.slice(0, -1));
  }
  for (const text of ['SET a b', 'PUBLISH news hi', 'SUBSCRIB', 'PING', 'UNLINK a', 'SSCAN s 0', '', 'subscribe'.toUpperCase().replace('S', 'Z')]) {
    assert.equal(isSubscribe(...preview(text)), false, text);
  }
  // The preview may hold more than the command: only `len` bytes count.
  assert.equal(isSubscribe(Buffer.from('SUBSCRIBE news'), 9), true);
  assert.equal(isSubscribe(Buffer.from('SUBSCRIBERS'), 11), false);
  assert.equal(isSubscribe(Buffer.from('SUBSCRIBERS'), 9), true); // what lies past len is not the command's
});

test('subscribes: SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE, not the unsubscribes (PUNSUBSCRIBE and SUNSUBSCRIBE were taken for subscribing)', () => {
  for (const text of ['SUBSCRIBE a', 'psubscribe a*', 'SSUBSCRIBE s']) assert.equal(subscribes(...preview(text)), true, text);
  for (const text of ['UNSUBSCRIBE a', 'unsubscribe', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE', 'SET a b', 'PING']) assert.equal(subscribes(...preview(text)), false, text);
});

test('isPubSubPush: a message always; a confirmation only when no (un)subscribe waits for it', () => {
  const p = (w: string, waiting: boolean) => isPubSubPush(Buffer.from(w), w.length, waiting);
  for (const w of ['message', 'pmessage', 'smessage']) {
    assert.equal(p(w, false), true, w);
    assert.equal(p(w, true), true, w);
  }
  for (const w of ['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe']) {
    assert.equal(p(w, false), true, w);
    assert.equal(p(w, true), false, w);
  }
  for (const w of ['messages', 'MESSAGE', 'pong', 'foo', 'subscribed', 'bar', '']) {
    assert.equal(p(w, false), false, w);
  }
  // The word is the first `len` bytes; shorter than any of them is never one.
  assert.equal(isPubSubPush(Buffer.from('messagex'), 7, false), true);
  assert.equal(isPubSubPush(Buffer.from('message'), 6, false), false);
  assert.equal(isPubSubPush(Buffer.from('subscribe'), 8, false), false);
});

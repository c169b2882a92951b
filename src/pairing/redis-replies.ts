// Redis requests whose replies do not follow the plain one-request-one-reply
// rule, recognised from the request text pairing already holds:
//   - CLIENT REPLY OFF: no reply to it or to anything after it, until
//     CLIENT REPLY ON (which is answered); CLIENT REPLY SKIP: no reply to it
//     nor to the next command.
//   - SUBSCRIBE and friends: under RESP3 the confirmation is a push.

export const enum ReplyMode {
  On = 0,
  Off = 1,
  /** SKIP was sent: the next command gets no reply. */
  SkipNext = 2,
}

const CLIENT_REPLY = Buffer.from('CLIENT REPLY ');

function startsWithUpper(buf: Buffer, len: number, word: Buffer): boolean {
  if (len < word.length) return false;
  for (let i = 0; i < word.length; i++) {
    const c = buf[i];
    if ((c >= 0x61 && c <= 0x7a ? c - 0x20 : c) !== word[i]) return false;
  }
  return true;
}

const SUBSCRIBES = ['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE'].map((w) => Buffer.from(w));

/** The words a RESP2 pub/sub array starts with: a message, and the confirmations of (un)subscribing. */
const MESSAGES = ['message', 'pmessage', 'smessage'].map((w) => Buffer.from(w));
const CONFIRMATIONS = ['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe'].map((w) => Buffer.from(w));

function equalsWord(buf: Buffer, len: number, words: Buffer[]): boolean {
  for (const w of words) if (len === w.length && buf.compare(w, 0, len, 0, len) === 0) return true;
  return false;
}

/**
 * On a subscribed RESP2 connection, whether a reply (its array's first bulk
 * string in `first`) is server-sent: a pub/sub message always, and an
 * (un)subscribe confirmation when no (un)subscribe command waits for it (the
 * second and later channels of one command each get their own).
 */
export function isPubSubPush(first: Buffer, len: number, subscribeWaiting: boolean): boolean {
  if (len < 7) return false;
  if (equalsWord(first, len, MESSAGES)) return true;
  return !subscribeWaiting && equalsWord(first, len, CONFIRMATIONS);
}

/** Whether a request subscribes (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE): pub/sub messages may follow. */
export function subscribes(preview: Buffer, len: number): boolean {
  // Not UNSUBSCRIBE, nor PUNSUBSCRIBE or SUNSUBSCRIBE ("un" after the first letter).
  if ((preview[0] | 0x20) === 0x75 || ((preview[1] | 0x20) === 0x75 && (preview[2] | 0x20) === 0x6e)) return false;
  return isSubscribe(preview, len);
}

/** Whether a request is one of the (un)subscribe commands. */
export function isSubscribe(preview: Buffer, len: number): boolean {
  const c = preview[0] | 0x20;
  if (c !== 0x73 && c !== 0x70 && c !== 0x75) return false; // s, p, u
  for (const w of SUBSCRIBES) {
    if (startsWithUpper(preview, len, w) && (len === w.length || preview[w.length] === 0x20)) return true;
  }
  return false;
}

/**
 * Applies CLIENT REPLY to a connection's state; returns whether this request
 * expects a reply.
 */
export function expectsReply(mode: { replyMode: number }, preview: Buffer, len: number): boolean {
  let arg = -1; // 0 ON, 1 OFF, 2 SKIP
  if ((preview[0] | 0x20) === 0x63 && startsWithUpper(preview, len, CLIENT_REPLY)) {
    const a = preview[CLIENT_REPLY.length] | 0x20;
    if (a === 0x6f) arg = (preview[CLIENT_REPLY.length + 1] | 0x20) === 0x6e ? 0 : 1; // on / off
    else if (a === 0x73) arg = 2; // skip
  }
  const before = mode.replyMode;
  if (arg === 0) {
    mode.replyMode = ReplyMode.On;
    return true; // ON is answered
  }
  if (arg === 1) {
    mode.replyMode = ReplyMode.Off;
    return false;
  }
  if (arg === 2) {
    if (before === ReplyMode.On) mode.replyMode = ReplyMode.SkipNext;
    return false;
  }
  if (before === ReplyMode.SkipNext) {
    mode.replyMode = ReplyMode.On;
    return false;
  }
  return before === ReplyMode.On;
}

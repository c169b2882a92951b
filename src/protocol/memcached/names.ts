// memcached's vocabulary: the text commands and replies, and the binary
// opcodes and statuses, as the parser recognises them and the lines show them.

/** Bytes of a command or reply word kept for recognising it (the longest name is 14). */
export const WORD_MAX = 16;

// ---------------------------------------------------------------- text requests

export interface Command {
  readonly name: Buffer;
  /** Token index of a data block's length (storage commands), or -1. */
  readonly dataIdx: number;
  /** `noreply` counts as the last token from this index on (0: the command takes no noreply). */
  readonly noreplyFrom: number;
  /**
   * Meta flags start at this token index; a `q` flag there makes the command
   * quiet (0: none). A quiet meta command is reported NoReply: memcached stays
   * silent on its usual outcome (ms/md success, mg miss) and answers only
   * failures and mg hits, which then reach pairing with no request waiting.
   * Text has no opaque to pair by (meta `O` tokens are not used).
   */
  readonly quietFrom: number;
  /** The line may be long (many keys). */
  readonly longLine: boolean;
  /** Never answered (quit). */
  readonly noReply: boolean;
}

function command(name: string, o: Partial<Omit<Command, 'name'>> = {}): Command {
  return {
    name: Buffer.from(name, 'latin1'),
    dataIdx: o.dataIdx ?? -1,
    noreplyFrom: o.noreplyFrom ?? 0,
    quietFrom: o.quietFrom ?? 0,
    longLine: o.longLine ?? false,
    noReply: o.noReply ?? false,
  };
}

/** Known commands, most frequent first. Others are still requests (memcached answers ERROR). */
const COMMANDS: readonly Command[] = [
  command('get', { longLine: true }),
  command('set', { dataIdx: 4, noreplyFrom: 2 }),
  command('mg', { quietFrom: 2 }),
  command('ms', { dataIdx: 2, quietFrom: 3 }),
  command('gets', { longLine: true }),
  command('delete', { noreplyFrom: 2 }),
  command('md', { quietFrom: 2 }),
  command('incr', { noreplyFrom: 2 }),
  command('decr', { noreplyFrom: 2 }),
  command('ma', { quietFrom: 2 }),
  command('mn'),
  command('add', { dataIdx: 4, noreplyFrom: 2 }),
  command('replace', { dataIdx: 4, noreplyFrom: 2 }),
  command('append', { dataIdx: 4, noreplyFrom: 2 }),
  command('prepend', { dataIdx: 4, noreplyFrom: 2 }),
  command('cas', { dataIdx: 4, noreplyFrom: 2 }),
  command('touch', { noreplyFrom: 2 }),
  command('gat', { longLine: true }),
  command('gats', { longLine: true }),
  command('me'),
  command('stats'),
  command('version'),
  command('verbosity', { noreplyFrom: 1 }),
  command('flush_all', { noreplyFrom: 1 }),
  command('cache_memlimit', { noreplyFrom: 1 }),
  command('quit', { noReply: true }),
];

function sameWord(word: Uint8Array, len: number, name: Buffer): boolean {
  if (name.length !== len) return false;
  for (let i = 0; i < len; i++) if (word[i] !== name[i]) return false;
  return true;
}

export function lookupCommand(word: Uint8Array, len: number): Command | null {
  if (len > WORD_MAX) return null;
  for (let i = 0; i < COMMANDS.length; i++) if (sameWord(word, len, COMMANDS[i].name)) return COMMANDS[i];
  return null;
}

// ---------------------------------------------------------------- text replies

export const enum ReplyType {
  /** One line. */
  Single,
  /** `VALUE <key> <flags> <bytes> [<cas>]` and a data block; more VALUEs or END follow. */
  Value,
  /** `END`: ends a get or stats answer, or is a get miss by itself. */
  End,
  /** `STAT ...` / `ITEM ...`: more such lines or END follow. */
  Stat,
  /** Meta `VA <size> <flags>*` and a data block: the whole reply. */
  Va,
}

export interface Reply {
  readonly name: Buffer;
  readonly type: ReplyType;
  readonly text: string;
  readonly error: boolean;
  /** Token index of the data block length, or -1. */
  readonly dataIdx: number;
}

function reply(name: string, type = ReplyType.Single, error = false): Reply {
  const dataIdx = type === ReplyType.Value ? 3 : type === ReplyType.Va ? 1 : -1;
  return { name: Buffer.from(name, 'latin1'), type, text: name, error, dataIdx };
}

const REPLIES: readonly Reply[] = [
  reply('VALUE', ReplyType.Value),
  reply('END', ReplyType.End),
  reply('STORED'),
  reply('HD'),
  reply('VA', ReplyType.Va),
  reply('EN'),
  reply('NOT_FOUND'),
  reply('DELETED'),
  reply('NOT_STORED'),
  reply('EXISTS'),
  reply('TOUCHED'),
  reply('NF'),
  reply('NS'),
  reply('EX'),
  reply('MN'),
  reply('ME'),
  reply('OK'),
  reply('STAT', ReplyType.Stat),
  reply('ITEM', ReplyType.Stat),
  reply('VERSION'),
  reply('RESET'),
  reply('ERROR', ReplyType.Single, true),
  reply('CLIENT_ERROR', ReplyType.Single, true),
  reply('SERVER_ERROR', ReplyType.Single, true),
];
/** An incr/decr result. */
export const NUMBER_REPLY: Reply = { name: Buffer.alloc(0), type: ReplyType.Single, text: 'NUMBER', error: false, dataIdx: -1 };

export function lookupReply(word: Uint8Array, len: number, digits: boolean): Reply | null {
  if (len === 0) return null;
  if (digits) return NUMBER_REPLY;
  if (len > WORD_MAX) return null;
  for (let i = 0; i < REPLIES.length; i++) if (sameWord(word, len, REPLIES[i].name)) return REPLIES[i];
  return null;
}

export const enum Multi {
  None,
  Value,
  Stat,
}

// ---------------------------------------------------------------- binary

/** Binary opcodes (protocol_binary.h) by name, as shown in the preview. */
const OPCODES: ReadonlyArray<readonly [number, string]> = [
  [0x00, 'GET'],
  [0x01, 'SET'],
  [0x02, 'ADD'],
  [0x03, 'REPLACE'],
  [0x04, 'DELETE'],
  [0x05, 'INCR'],
  [0x06, 'DECR'],
  [0x07, 'QUIT'],
  [0x08, 'FLUSH'],
  [0x09, 'GETQ'],
  [0x0a, 'NOOP'],
  [0x0b, 'VERSION'],
  [0x0c, 'GETK'],
  [0x0d, 'GETKQ'],
  [0x0e, 'APPEND'],
  [0x0f, 'PREPEND'],
  [0x10, 'STAT'],
  [0x11, 'SETQ'],
  [0x12, 'ADDQ'],
  [0x13, 'REPLACEQ'],
  [0x14, 'DELETEQ'],
  [0x15, 'INCRQ'],
  [0x16, 'DECRQ'],
  [0x17, 'QUITQ'],
  [0x18, 'FLUSHQ'],
  [0x19, 'APPENDQ'],
  [0x1a, 'PREPENDQ'],
  [0x1b, 'VERBOSITY'],
  [0x1c, 'TOUCH'],
  [0x1d, 'GAT'],
  [0x1e, 'GATQ'],
  [0x20, 'SASL_LIST_MECHS'],
  [0x21, 'SASL_AUTH'],
  [0x22, 'SASL_STEP'],
  [0x23, 'GATK'],
  [0x24, 'GATKQ'],
];

/** Each opcode's preview name as bytes; unknown opcodes show as OP_0xNN. */
export const OPCODE_NAMES: readonly Buffer[] = (() => {
  const names: Buffer[] = [];
  for (let op = 0; op < 256; op++) names.push(Buffer.from(`OP_0x${op.toString(16).padStart(2, '0')}`, 'latin1'));
  for (const [op, name] of OPCODES) names[op] = Buffer.from(name, 'latin1');
  return names;
})();

export const OP_STAT = 0x10;
export const OP_QUITQ = 0x17;

/**
 * Quiet binary opcodes: GETQ, GETKQ, SETQ, ADDQ, REPLACEQ, DELETEQ, INCRQ,
 * DECRQ, QUITQ, FLUSHQ, APPENDQ, PREPENDQ, GATQ, GATKQ. The server answers a
 * quiet get only on a hit, other quiet commands only on failure; clients end a
 * batch with a non-quiet command (usually NOOP), whose answer implies that
 * every earlier quiet request without an answer succeeded (or missed). The
 * parser reports quiet requests as Normal with matchId = opaque, so pairing
 * matches answers by opaque and drops the unanswered ones when a later
 * response arrives; only QUITQ, which is never answered, is NoReply.
 */
export function isQuietOpcode(op: number): boolean {
  switch (op) {
    case 0x09: // GETQ
    case 0x0d: // GETKQ
    case 0x11: // SETQ
    case 0x12: // ADDQ
    case 0x13: // REPLACEQ
    case 0x14: // DELETEQ
    case 0x15: // INCRQ
    case 0x16: // DECRQ
    case 0x17: // QUITQ
    case 0x18: // FLUSHQ
    case 0x19: // APPENDQ
    case 0x1a: // PREPENDQ
    case 0x1e: // GATQ
    case 0x24: // GATKQ
      return true;
    default:
      return false;
  }
}

const otherStatus = new Map<number, string>();

/** A binary response status as a constant string. */
export function binaryStatusText(status: number): string {
  switch (status) {
    case 0x00:
      return 'OK';
    case 0x01:
      return 'NOT_FOUND';
    case 0x02:
      return 'EXISTS';
    case 0x03:
      return 'TOO_LARGE';
    case 0x04:
      return 'INVALID';
    case 0x05:
      return 'NOT_STORED';
    case 0x06:
      return 'NON_NUMERIC';
    case 0x07:
      return 'NOT_MY_VBUCKET';
    case 0x20:
      return 'AUTH_ERROR';
    case 0x21:
      return 'AUTH_CONTINUE';
    case 0x81:
      return 'UNKNOWN_COMMAND';
    case 0x82:
      return 'OUT_OF_MEMORY';
    case 0x83:
      return 'NOT_SUPPORTED';
    case 0x84:
      return 'INTERNAL_ERROR';
    case 0x85:
      return 'BUSY';
    case 0x86:
      return 'TEMPORARY_FAILURE';
  }
  // Made once per status value (at most 65536), then the same string.
  let s = otherStatus.get(status);
  if (s === undefined) {
    s = `STATUS_0x${status.toString(16).padStart(2, '0')}`;
    otherStatus.set(status, s);
  }
  return s;
}

/**
 * Errors are what text reports as ERROR, CLIENT_ERROR or SERVER_ERROR. A key
 * that is missing or exists, a cas conflict and an add/replace not done are
 * the server answering correctly, as their text counterparts are.
 */
export function isBinaryError(status: number): boolean {
  return status !== 0x00 && status !== 0x01 && status !== 0x02 && status !== 0x05 && status !== 0x21;
}

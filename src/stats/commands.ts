// The command a transaction ran, as a small number: the Redis command, the
// memcached verb, the HTTP method, the DNS query type. Statistics are kept
// per command and Prometheus labels them by it, so the names must not cost a
// string per transaction, and traffic must not be able to make up new names
// without end: the first MAX_COMMANDS distinct names get their own id, every
// later one (and anything that is not a plausible name) counts as OTHER.
//
// The name is read from the request preview's bytes (pairing keeps them in a
// Buffer): hashed while it is scanned, looked up by the hash in a small
// open-addressing table, confirmed byte by byte. A string is made once per
// distinct name, when it is first seen.
import type { Transaction } from '../pairing/transaction';
import type { Mode } from '../config';

/** Distinct command names kept; the rest are OTHER. */
export const MAX_COMMANDS = 64;
/** The id of everything past MAX_COMMANDS, and of requests with no usable name. */
export const OTHER = MAX_COMMANDS;
export const OTHER_NAME = 'other';
/** Longest name kept; a longer first token is not a command name. */
const MAX_NAME = 32;

const enum Ch {
  SPACE = 0x20,
  DQUOTE = 0x22,
  BACKSLASH = 0x5c,
  DOT = 0x2e,
}

/**
 * Each byte as it counts in a name: folded (Redis commands are case-insensitive,
 * GET = get; memcached's binary opcode names fold to its text verbs, GET = get),
 * or 0 for a byte no name has: controls, space, non-ASCII, and the quote and
 * backslash that JSON and Prometheus labels would have to escape.
 */
function foldTable(fold: 'upper' | 'lower' | 'none'): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0x21; b < 0x7f; b++) {
    if (b === Ch.DQUOTE || b === Ch.BACKSLASH) continue;
    let f = b;
    if (fold === 'upper' && b >= 0x61 && b <= 0x7a) f = b - 0x20;
    if (fold === 'lower' && b >= 0x41 && b <= 0x5a) f = b + 0x20;
    t[b] = f;
  }
  return t;
}

/** Slots in the open-addressing table: a power of two, well above MAX_COMMANDS. */
const SLOTS = 256;
/** Slots in the cache of recent raw tokens: a power of two. */
const CACHE_SLOTS = 64;

export class CommandTable {
  /** Names by id. */
  readonly names: string[] = [];
  /** Each name's bytes (folded), by id. */
  private readonly bytes: Uint8Array[] = [];
  /** Open addressing by hash: the id + 1 in each slot (0 empty), and the full hash. */
  private readonly slotId = new Int32Array(SLOTS);
  private readonly slotHash = new Int32Array(SLOTS);
  /**
   * The last first tokens seen, as they came (before folding), with their
   * ids: a request usually repeats a recent command, and one compare of raw
   * bytes answers it without folding, hashing or probing. Direct-mapped by
   * the first two bytes; CACHE_SLOTS slots of MAX_NAME bytes, no allocation.
   */
  private readonly cacheRaw = new Uint8Array(CACHE_SLOTS * MAX_NAME);
  private readonly cacheLen = new Int32Array(CACHE_SLOTS);
  private readonly cacheId = new Int32Array(CACHE_SLOTS);
  /** Where the name is: the first token, or for DNS the query type (the last). */
  private readonly lastToken: boolean;
  private readonly fold: Uint8Array;

  constructor(mode: Mode) {
    this.lastToken = mode === 'dns';
    this.fold = foldTable(mode === 'redis' || mode === 'mysql' || mode === 'pgsql' ? 'upper' : mode === 'memcached' ? 'lower' : 'none');
  }

  /** Distinct names seen, not counting OTHER. */
  get size(): number {
    return this.names.length;
  }

  name(id: number): string {
    return id === OTHER ? OTHER_NAME : this.names[id];
  }

  /** The transaction's command id, computed once per transaction (kept in tx.commandId). */
  of(tx: Transaction): number {
    if (tx.commandId < 0) tx.commandId = this.idOf(tx.preview, tx.previewLen);
    return tx.commandId;
  }

  /** The id of the command in preview[0, len). */
  idOf(preview: Uint8Array, len: number): number {
    if (this.lastToken || len === 0) return this.lookup(preview, len);
    const slot = ((preview[0] << 3) ^ (len > 1 ? preview[1] : 0)) & (CACHE_SLOTS - 1);
    const n = this.cacheLen[slot];
    if (n > 0 && n <= len && (n === len || preview[n] === Ch.SPACE)) {
      const raw = this.cacheRaw;
      const base = slot * MAX_NAME;
      let j = 0;
      while (j < n && preview[j] === raw[base + j]) j++;
      if (j === n) return this.cacheId[slot];
    }
    const id = this.lookup(preview, len);
    // Remember the token as it came (OTHER too: a name refused stays refused).
    let m = 0;
    while (m < len && m < MAX_NAME && preview[m] !== Ch.SPACE) m++;
    if (m > 0 && (m === len || preview[m] === Ch.SPACE)) {
      const base = slot * MAX_NAME;
      for (let j = 0; j < m; j++) this.cacheRaw[base + j] = preview[j];
      this.cacheLen[slot] = m;
      this.cacheId[slot] = id;
    }
    return id;
  }

  /** The id of the command in preview[0, len), by its folded name. */
  private lookup(preview: Uint8Array, len: number): number {
    let start = 0;
    let end = len;
    if (this.lastToken) {
      // DNS: `example.com A`, `UPDATE example.com SOA`. A shortened preview
      // (ending in "...") may have lost the type.
      if (len >= 3 && preview[len - 1] === Ch.DOT && preview[len - 2] === Ch.DOT && preview[len - 3] === Ch.DOT) return OTHER;
      start = len;
      while (start > 0 && preview[start - 1] !== Ch.SPACE) start--;
      if (start === 0) return OTHER; // no question, or no type
    }
    // FNV-1a over the folded bytes, up to the first space.
    const fold = this.fold;
    let h = 0x811c9dc5;
    let i = start;
    for (; i < end; i++) {
      const raw = preview[i];
      if (raw === Ch.SPACE) break;
      const b = fold[raw];
      if (b === 0 || i - start === MAX_NAME) return OTHER;
      h = Math.imul(h ^ b, 0x01000193);
    }
    end = i;
    const n = end - start;
    if (n === 0) return OTHER;
    // At most MAX_COMMANDS of SLOTS slots are ever filled: probing always ends.
    for (let slot = (h ^ (h >>> 16)) & (SLOTS - 1); ; slot = (slot + 1) & (SLOTS - 1)) {
      const id = this.slotId[slot] - 1;
      if (id < 0) return this.add(slot, h, preview, start, n);
      if (this.slotHash[slot] !== h) continue;
      const known = this.bytes[id];
      if (known.length !== n) continue;
      let j = 0;
      while (j < n && known[j] === fold[preview[start + j]]) j++;
      if (j === n) return id;
    }
  }

  /** A name not seen before: its own id while there is room. */
  private add(slot: number, h: number, preview: Uint8Array, start: number, n: number): number {
    if (this.names.length >= MAX_COMMANDS) return OTHER;
    const bytes = new Uint8Array(n);
    for (let j = 0; j < n; j++) bytes[j] = this.fold[preview[start + j]];
    const id = this.names.length;
    this.bytes.push(bytes);
    this.names.push(Buffer.from(bytes).toString('latin1'));
    this.slotId[slot] = id + 1;
    this.slotHash[slot] = h;
    return id;
  }
}

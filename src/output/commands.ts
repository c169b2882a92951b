// The command a transaction ran, as a small number: the Redis command, the
// memcached verb, the HTTP method, the DNS query type. Statistics are kept
// per command and Prometheus labels them by it, so the names must not cost a
// string per transaction, and traffic must not be able to make up new names
// without end: the first MAX_COMMANDS distinct names get their own id, every
// later one (and anything that is not a plausible name) counts as OTHER.
//
// The name is read from the request preview's bytes (pairing keeps them in a
// Buffer): hashed while it is scanned, looked up by the hash, confirmed byte
// by byte. A string is made once per distinct name, when it is first seen.
import type { Transaction } from '../pairing/transaction';
import type { Mode } from '../cli/config';

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

const enum Fold {
  None,
  Upper,
  Lower,
}

class Entry {
  constructor(
    readonly id: number,
    readonly bytes: Uint8Array,
    readonly name: string,
    public next: Entry | null,
  ) {}
}

export class CommandTable {
  /** Names by id; OTHER_NAME last once anything counted as other. */
  readonly names: string[] = [];
  private readonly byHash = new Map<number, Entry>();
  private readonly scratch = new Uint8Array(MAX_NAME);
  /** Where the name is: the first token, or for DNS the query type (the last). */
  private readonly lastToken: boolean;
  /** Redis commands are case-insensitive (GET = get); memcached's binary opcode names fold to its text verbs (GET = get). */
  private readonly fold: Fold;

  constructor(mode: Mode) {
    this.lastToken = mode === 'dns';
    this.fold = mode === 'redis' ? Fold.Upper : mode === 'memcached' ? Fold.Lower : Fold.None;
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
    let start = 0;
    let end: number;
    if (this.lastToken) {
      // DNS: `example.com A`, `UPDATE example.com SOA`. A shortened preview
      // (ending in "...") may have lost the type.
      if (len >= 3 && preview[len - 1] === Ch.DOT && preview[len - 2] === Ch.DOT && preview[len - 3] === Ch.DOT) return OTHER;
      end = len;
      start = len;
      while (start > 0 && preview[start - 1] !== Ch.SPACE) start--;
      if (start === 0) return OTHER; // no question, or no type
    } else {
      end = 0;
      while (end < len && preview[end] !== Ch.SPACE) end++;
    }
    const n = end - start;
    if (n === 0 || n > MAX_NAME) return OTHER;
    // FNV-1a over the (folded) bytes, which must be printable ASCII and need
    // no escaping in JSON or a Prometheus label.
    const scratch = this.scratch;
    let h = 0x811c9dc5;
    for (let i = 0; i < n; i++) {
      let b = preview[start + i];
      if (b <= Ch.SPACE || b >= 0x7f || b === Ch.DQUOTE || b === Ch.BACKSLASH) return OTHER;
      if (this.fold === Fold.Upper) {
        if (b >= 0x61 && b <= 0x7a) b -= 0x20;
      } else if (this.fold === Fold.Lower) {
        if (b >= 0x41 && b <= 0x5a) b += 0x20;
      }
      scratch[i] = b;
      h = Math.imul(h ^ b, 0x01000193);
    }
    const head = this.byHash.get(h) ?? null;
    for (let e = head; e !== null; e = e.next) {
      if (e.bytes.length !== n) continue;
      let i = 0;
      while (i < n && e.bytes[i] === scratch[i]) i++;
      if (i === n) return e.id;
    }
    if (this.names.length >= MAX_COMMANDS) return OTHER;
    const bytes = scratch.slice(0, n);
    const entry = new Entry(this.names.length, bytes, Buffer.from(bytes).toString('latin1'), head);
    this.byHash.set(h, entry);
    this.names.push(entry.name);
    return entry.id;
  }
}

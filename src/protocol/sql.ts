// What the SQL protocols (mysql/, pgsql/) share: the statement text as the
// line shows it, and the statement with its literals replaced by `?`
// (--redact, and the per-statement script's grouping).
import { PREVIEW_MAX, type MessageInfo } from './message';

const enum Ch {
  TAB = 0x09,
  LF = 0x0a,
  VT = 0x0b,
  FF = 0x0c,
  CR = 0x0d,
  SPACE = 0x20,
  DQUOTE = 0x22,
  DOLLAR = 0x24,
  QUOTE = 0x27,
  STAR = 0x2a,
  DASH = 0x2d,
  DOT = 0x2e,
  SLASH = 0x2f,
  ZERO = 0x30,
  NINE = 0x39,
  QUESTION = 0x3f,
  BACKSLASH = 0x5c,
  UNDERSCORE = 0x5f,
  BACKTICK = 0x60,
}

function isSpace(b: number): boolean {
  return b === Ch.SPACE || (b >= Ch.TAB && b <= Ch.CR);
}

/**
 * Appends SQL text to the preview as one line: leading white space dropped,
 * each run of white space (newlines, tabs) one space, other control bytes '.'.
 */
export function appendSql(info: MessageInfo, buf: Uint8Array, start: number, end: number): void {
  const pv = info.preview;
  let n = info.previewLen;
  for (let i = start; i < end && n < PREVIEW_MAX; i++) {
    const b = buf[i];
    if (isSpace(b)) {
      if (n > 0 && pv[n - 1] !== Ch.SPACE) pv[n++] = Ch.SPACE;
    } else {
      pv[n++] = b < 0x20 || b === 0x7f ? Ch.DOT : b;
    }
  }
  info.previewLen = n;
}

/** Drops the space appendSql may have left at the end of a complete statement. */
export function trimSql(info: MessageInfo): void {
  while (info.previewLen > 0 && info.previewLen < PREVIEW_MAX && info.preview[info.previewLen - 1] === Ch.SPACE) info.previewLen--;
}

/** How a dialect writes literals. */
export interface SqlDialect {
  /** MySQL: "..." is a string (unless ANSI_QUOTES); PostgreSQL: an identifier. */
  doubleQuoteIsString: boolean;
  /** MySQL: a backslash escapes inside strings; PostgreSQL: only in E'...'. */
  backslashEscapes: boolean;
  /** PostgreSQL's $tag$ ... $tag$ strings (and $1 parameters, kept). */
  dollarQuotes: boolean;
}

export const MYSQL_DIALECT: SqlDialect = { doubleQuoteIsString: true, backslashEscapes: true, dollarQuotes: false };
export const PGSQL_DIALECT: SqlDialect = { doubleQuoteIsString: false, backslashEscapes: false, dollarQuotes: true };
/** For error messages: every quoted thing may hold a value. */
export const STRICT_DIALECT: SqlDialect = { doubleQuoteIsString: true, backslashEscapes: true, dollarQuotes: true };

function isWord(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === Ch.UNDERSCORE || b === Ch.DOLLAR || b >= 0x80;
}

/** The end of a quoted run opened at `open` (the offset after the closing quote, or `len` when cut off). */
function quotedEnd(buf: Uint8Array, open: number, len: number, q: number, backslash: boolean): number {
  for (let i = open + 1; i < len; i++) {
    const b = buf[i];
    if (backslash && b === Ch.BACKSLASH) {
      i++;
      continue;
    }
    if (b === q) {
      if (i + 1 < len && buf[i + 1] === q) {
        i++; // '' inside a string
        continue;
      }
      return i + 1;
    }
  }
  return len;
}

/**
 * Replaces the literals in buf[0, len) with `?`, in place: strings ('...',
 * and "..." where the dialect makes it a string, with their X/B/N/E
 * prefixes), dollar-quoted strings, and numbers (not digits inside a name,
 * nor a PostgreSQL $1 parameter). Identifiers (`...`, and "..." in
 * PostgreSQL), keywords, operators and comments stay. A literal cut off by
 * the end of the text is replaced to the end. Returns the new length (never
 * longer).
 */
export function redactSql(buf: Uint8Array, len: number, d: SqlDialect): number {
  let w = 0;
  let i = 0;
  while (i < len) {
    const b = buf[i];
    const prevWord = w > 0 && isWord(buf[w - 1]);
    if (b === Ch.QUOTE || (b === Ch.DQUOTE && d.doubleQuoteIsString)) {
      let backslash = d.backslashEscapes;
      // X'..', B'..', N'..', E'..': the prefix letter goes with the string.
      if (w > 0 && b === Ch.QUOTE) {
        const p = buf[w - 1] | 0x20;
        if ((p === 0x78 || p === 0x62 || p === 0x6e || p === 0x65) && !(w > 1 && isWord(buf[w - 2]))) {
          if (p === 0x65) backslash = true;
          w--;
        }
      }
      i = quotedEnd(buf, i, len, b, backslash);
      buf[w++] = Ch.QUESTION;
      continue;
    }
    if (b === Ch.DQUOTE || b === Ch.BACKTICK) {
      // An identifier: copied as it is.
      const e = quotedEnd(buf, i, len, b, false);
      while (i < e) buf[w++] = buf[i++];
      continue;
    }
    if (b === Ch.DASH && i + 1 < len && buf[i + 1] === Ch.DASH) {
      // A comment to the end of the line (the preview has made it one line: to the end).
      while (i < len) buf[w++] = buf[i++];
      continue;
    }
    if (b === Ch.SLASH && i + 1 < len && buf[i + 1] === Ch.STAR) {
      let e = i + 2;
      while (e < len && !(buf[e] === Ch.STAR && e + 1 < len && buf[e + 1] === Ch.SLASH)) e++;
      e = e < len ? e + 2 : len;
      while (i < e) buf[w++] = buf[i++];
      continue;
    }
    if (b === Ch.DOLLAR && d.dollarQuotes && !prevWord) {
      // $tag$ ... $tag$ (the tag may be empty); $1 is a parameter.
      let t = i + 1;
      while (t < len && buf[t] !== Ch.DOLLAR && isWord(buf[t]) && !(t === i + 1 && buf[t] >= Ch.ZERO && buf[t] <= Ch.NINE)) t++;
      if (t < len && buf[t] === Ch.DOLLAR) {
        const tagLen = t + 1 - i;
        let e = t + 1;
        for (; e + tagLen <= len; e++) {
          let k = 0;
          while (k < tagLen && buf[e + k] === buf[i + k]) k++;
          if (k === tagLen) break;
        }
        i = e + tagLen <= len ? e + tagLen : len;
        buf[w++] = Ch.QUESTION;
        continue;
      }
      // A $1 parameter: copied with its digits.
      buf[w++] = buf[i++];
      while (i < len && buf[i] >= Ch.ZERO && buf[i] <= Ch.NINE) buf[w++] = buf[i++];
      continue;
    }
    if (((b >= Ch.ZERO && b <= Ch.NINE) || (b === Ch.DOT && i + 1 < len && buf[i + 1] >= Ch.ZERO && buf[i + 1] <= Ch.NINE)) && !prevWord) {
      // A number: digits, a fraction, an exponent, or 0x.. hex.
      let e = i + 1;
      if (b === Ch.ZERO && e < len && (buf[e] | 0x20) === 0x78) {
        e++;
        while (e < len && isWord(buf[e])) e++;
      } else {
        while (e < len && ((buf[e] >= Ch.ZERO && buf[e] <= Ch.NINE) || buf[e] === Ch.DOT)) e++;
        if (e < len && (buf[e] | 0x20) === 0x65) {
          let f = e + 1;
          if (f < len && (buf[f] === 0x2b || buf[f] === Ch.DASH)) f++;
          if (f < len && buf[f] >= Ch.ZERO && buf[f] <= Ch.NINE) {
            e = f;
            while (e < len && buf[e] >= Ch.ZERO && buf[e] <= Ch.NINE) e++;
          }
        }
      }
      // Not a number but a name that starts with digits (MySQL allows 1abc).
      if (e < len && isWord(buf[e])) {
        while (i < len && isWord(buf[i])) buf[w++] = buf[i++];
        continue;
      }
      i = e;
      buf[w++] = Ch.QUESTION;
      continue;
    }
    if (isWord(b)) {
      while (i < len && isWord(buf[i])) buf[w++] = buf[i++];
      continue;
    }
    buf[w++] = buf[i++];
  }
  return w;
}

/** The preview's SQL with its literals redacted; a cut text keeps its "...". */
export function redactSqlPreview(preview: Buffer, len: number, d: SqlDialect): number {
  const cut = len >= preview.length;
  let n = redactSql(preview, len, d);
  if (cut && n < preview.length) {
    // The outputs add "..." only to a full preview: say it here.
    for (let k = 0; k < 3 && n < preview.length; k++) preview[n++] = Ch.DOT;
  }
  return n;
}

/** A message (an error's text) with its literals redacted. */
export function redactSqlText(text: string): string {
  if (text === '') return text;
  const b = Buffer.from(text, 'utf8');
  return b.toString('utf8', 0, redactSql(b, b.length, STRICT_DIALECT));
}

/**
 * Strings for a protocol's short texts (PostgreSQL command tags, SQLSTATEs,
 * MySQL error codes) without a string per message: looked up by their bytes,
 * made once when first seen. Bounded: past `max` distinct texts, `other`.
 */
export class InternTable {
  /** Known texts by first byte: their bytes and their strings. */
  private readonly bytes: Uint8Array[][] = [];
  private readonly strings: string[][] = [];
  private count = 0;

  constructor(
    private readonly max: number,
    private readonly other: string,
    known: readonly string[] = [],
  ) {
    for (let i = 0; i < 256; i++) {
      this.bytes.push([]);
      this.strings.push([]);
    }
    for (const k of known) {
      const b = Buffer.from(k, 'latin1');
      this.get(b, 0, b.length);
    }
  }

  get(buf: Uint8Array, start: number, len: number): string {
    if (len === 0) return '';
    const bucket = this.bytes[buf[start]];
    for (let i = 0; i < bucket.length; i++) {
      const k = bucket[i];
      if (k.length !== len) continue;
      let j = 1;
      while (j < len && k[j] === buf[start + j]) j++;
      if (j === len) return this.strings[buf[start]][i];
    }
    if (this.count >= this.max) return this.other;
    for (let j = 0; j < len; j++) {
      const b = buf[start + j];
      // Only printable ASCII becomes a name: the outputs print these as they are.
      if (b < 0x20 || b >= 0x7f || b === 0x22 || b === 0x5c) return this.other;
    }
    this.count++;
    const copy = Uint8Array.prototype.slice.call(buf, start, start + len) as Uint8Array;
    bucket.push(copy);
    const s = Buffer.from(copy).toString('latin1');
    this.strings[buf[start]].push(s);
    return s;
  }
}

/** A small map from names (bytes) to SQL text, per connection: prepared statements and portals. */
export class StatementTable {
  private names: Uint8Array[] = [];
  private texts: Uint8Array[] = [];
  private next = 0;

  constructor(private readonly max: number) {}

  private find(buf: Uint8Array, start: number, len: number): number {
    for (let i = 0; i < this.names.length; i++) {
      const k = this.names[i];
      if (k.length !== len) continue;
      let j = 0;
      while (j < len && k[j] === buf[start + j]) j++;
      if (j === len) return i;
    }
    return -1;
  }

  /** The text stored under the name, or null. */
  get(buf: Uint8Array, start: number, len: number): Uint8Array | null {
    const i = this.find(buf, start, len);
    return i < 0 ? null : this.texts[i];
  }

  /** Stores a copy of the text (the oldest entry goes when the table is full). */
  set(buf: Uint8Array, start: number, len: number, text: Uint8Array): void {
    let i = this.find(buf, start, len);
    if (i < 0) {
      const name = Uint8Array.prototype.slice.call(buf, start, start + len) as Uint8Array;
      if (this.names.length < this.max) {
        i = this.names.length;
        this.names.push(name);
        this.texts.push(text);
      } else {
        i = this.next;
        this.next = (this.next + 1) % this.max;
        this.names[i] = name;
      }
    }
    this.texts[i] = text;
  }

  delete(buf: Uint8Array, start: number, len: number): void {
    const i = this.find(buf, start, len);
    if (i < 0) return;
    const last = this.names.length - 1;
    this.names[i] = this.names[last];
    this.texts[i] = this.texts[last];
    this.names.pop();
    this.texts.pop();
    if (this.next > this.names.length) this.next = 0;
  }

  clear(): void {
    this.names = [];
    this.texts = [];
    this.next = 0;
  }
}

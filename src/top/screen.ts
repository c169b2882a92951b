// top/: the live full-screen view (--top). It consumes transactions and reads
// the statistics like output/ does, and draws them on the terminal once a
// second.
//
// The screen, in plain ANSI: a frame is a list of rows, each exactly as wide
// as the terminal; only the rows that differ from the last frame are written.
// No terminal library: the handful of sequences below (the alternate screen,
// the cursor, autowrap, cursor position, bold and reverse) are what every
// terminal tcpkit meets understands, and the libraries that would do it for
// us are either unmaintained (blessed), ES modules built on React (ink), or
// bring image decoders along (terminal-kit).

/** How a row, or a stretch of it, is drawn. */
export const enum Attr {
  Plain = 0,
  Bold = 1,
  Reverse = 2,
}

/** A stretch of a row drawn differently: columns [from, to). */
export interface Span {
  from: number;
  to: number;
  attr: Attr;
}

export interface Row {
  text: string;
  /** The whole row's attribute. */
  attr?: Attr;
  /** Stretches with their own attribute, in order, not overlapping. */
  spans?: Span[];
}

const ESC = '\x1b[';
/** The alternate screen (the user's scrollback stays as it was), cursor hidden, no autowrap, cleared. */
export const ENTER = `${ESC}?1049h${ESC}?25l${ESC}?7l${ESC}0m${ESC}H${ESC}2J`;
/** Everything ENTER changed, back: attributes off, autowrap and cursor on, the main screen. */
export const LEAVE = `${ESC}0m${ESC}?7h${ESC}?25h${ESC}?1049l`;

const SGR: Record<Attr, string> = {
  [Attr.Plain]: `${ESC}0m`,
  [Attr.Bold]: `${ESC}0;1m`,
  [Attr.Reverse]: `${ESC}0;7m`,
};

/**
 * `text` in exactly `width` columns: cut, or padded with spaces. Anything
 * but printable ASCII and the few block characters the view draws becomes
 * '.', so that bytes from the network (a request's text) can never move the
 * cursor, change colours or widen a row.
 */
export function fit(text: string, width: number): string {
  let out = '';
  let n = 0;
  for (const ch of text) {
    if (n === width) break;
    const c = ch.codePointAt(0)!;
    out += (c >= 0x20 && c < 0x7f) || (c >= 0x2581 && c <= 0x2588) ? ch : '.';
    n++;
  }
  return n < width ? out + ' '.repeat(width - n) : out;
}

/** A row as the terminal gets it: its text fitted to `width`, with attributes. */
export function encodeRow(row: Row, width: number): string {
  const text = fit(row.text, width);
  const base = row.attr ?? Attr.Plain;
  const spans = row.spans ?? [];
  if (spans.length === 0) return base === Attr.Plain ? text : `${SGR[base]}${text}${SGR[Attr.Plain]}`;
  // Split by code point: fit() made every character one column.
  const chars = Array.from(text);
  let out = base === Attr.Plain ? '' : SGR[base];
  let at = 0;
  for (const s of spans) {
    const from = Math.max(at, Math.min(s.from, width));
    const to = Math.max(from, Math.min(s.to, width));
    out += chars.slice(at, from).join('');
    if (to > from) out += SGR[s.attr] + chars.slice(from, to).join('') + SGR[base];
    at = to;
  }
  out += chars.slice(at).join('');
  return base === Attr.Plain ? out : out + SGR[Attr.Plain];
}

/**
 * What is on the terminal, and what to write to make it show a new frame.
 * Rows are addressed absolutely (CSI row;1 H), so nothing depends on where
 * the cursor was left.
 */
export class Screen {
  /** The encoded rows on the terminal now; empty after invalidate(). */
  private shown: string[] = [];
  private width = 0;
  private height = 0;

  /** The next frame repaints everything (a resize, or the view just entered). */
  invalidate(): void {
    this.shown = [];
  }

  /**
   * The bytes that turn the terminal into `rows` (at most `height` of them;
   * the rest blank) on a `width` x `height` terminal: only the rows that
   * changed, or everything after invalidate() or a new size.
   */
  frame(rows: readonly Row[], width: number, height: number): string {
    let out = '';
    if (width !== this.width || height !== this.height || this.shown.length === 0) {
      out = `${ESC}0m${ESC}H${ESC}2J`;
      this.shown = new Array<string>(height).fill('');
      this.width = width;
      this.height = height;
    }
    for (let y = 0; y < height; y++) {
      const line = encodeRow(y < rows.length ? rows[y] : { text: '' }, width);
      if (line === this.shown[y]) continue;
      out += `${ESC}${y + 1};1H${line}`;
      this.shown[y] = line;
    }
    return out;
  }
}

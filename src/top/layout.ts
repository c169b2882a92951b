// The --top screen as rows of text, from a snapshot and the view's state, for
// a terminal of a given size. Pure: the same inputs give the same rows, which
// is what the tests check. Latencies are in milliseconds with three decimals,
// as the exit summary prints them, so that the two can be compared.
import { Attr, type Row, type Span } from './screen';
import type { Figures, RowSnapshot, SlowSnapshot, TopSnapshot, ClientSnapshot } from './model';

export const MIN_COLS = 72;
export const MIN_ROWS = 16;

export type SortKey = 'p99' | 'rate' | 'errors' | 'max';
/** The key that picks each sort. */
export const SORT_KEYS: Record<string, SortKey> = { p: 'p99', r: 'rate', e: 'errors', m: 'max' };

/** What the screen says about the run, fixed once it starts. */
export interface RunLabel {
  engine: string;
  /** The interface, or the file read. */
  source: string;
  mode: string;
  ports: readonly number[];
  thresholdMs: number;
  /** -r: replaying at the capture's speed, or as fast as it reads. */
  replay: 'file speed' | 'fast' | null;
  /** When the view started (wall clock), ms. */
  startMs: number;
}

export interface ViewState {
  sort: SortKey;
  paused: boolean;
  help: boolean;
  /** The input ended (-r): what the status line says instead of the keys' hints. */
  ended: string | null;
  /** The last thing tcpkit had to say (a loss notice): shown until the next. */
  notice: string;
  /** How far through the file, 0-1 (-r). */
  progress: number | null;
  /** Sparklines in block characters; without a UTF-8 locale, ASCII. */
  utf8: boolean;
  /** The wall clock now, ms (the uptime, for a live capture). */
  wallMs: number;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** "23:01:39" in local time. */
export function clockText(ms: number): string {
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** "2020-02-06 23:01:39" in local time. */
function dateTimeText(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${clockText(ms)}`;
}

/** "23:01:39.706" in local time. */
function timeMsText(ms: number): string {
  const m = Math.floor(ms % 1000);
  return `${clockText(ms)}.${String(1000 + m).slice(1)}`;
}

/** "1:02:03" for an uptime. */
function durationText(sec: number): string {
  const s = Math.max(0, Math.floor(sec));
  return `${Math.floor(s / 3600)}:${pad2(Math.floor(s / 60) % 60)}:${pad2(s % 60)}`;
}

/** "0.3 s", "10 s": a span of time, one decimal below 10 s. */
function secondsText(sec: number): string {
  return `${sec < 10 ? sec.toFixed(1) : Math.round(sec)} s`;
}

/** A latency in µs as the summary prints it in ms (three decimals); '-' when there is none. */
export function msText(us: number): string {
  if (us < 0) return '-';
  const ms = us / 1000;
  return ms < 100_000 ? ms.toFixed(3) : ms.toFixed(0);
}

/** `n` per `sec` seconds: one decimal below 10, whole above; '-' when no time passed. */
export function rateText(n: number, sec: number): string {
  if (!(sec > 0)) return '-';
  const r = n / sec;
  if (r === 0) return '0';
  return r < 10 ? r.toFixed(1) : String(Math.round(r));
}

const SPARK_UTF8 = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const SPARK_ASCII = ['.', ':', '-', '=', '+', '*', '#', '@'];

/** The last `width` points as a sparkline, scaled to the largest shown; a blank where nothing was answered. */
export function sparkline(points: readonly number[], width: number, utf8: boolean): string {
  const shown = points.slice(Math.max(0, points.length - width));
  const top = Math.max(0, ...shown);
  const ramp = utf8 ? SPARK_UTF8 : SPARK_ASCII;
  let out = '';
  for (const v of shown) {
    if (v < 0) out += ' ';
    else out += ramp[top <= 0 ? 0 : Math.min(ramp.length - 1, Math.floor((v / top) * ramp.length))];
  }
  return out.padStart(width);
}

interface Column {
  head: string;
  width: number;
  /** Lower goes in first when the terminal is narrow. */
  priority: number;
  group: 'interval' | 'since';
  value: (r: RowSnapshot, sec: number) => string;
  /** The sort this column shows. */
  sort?: SortKey;
}

const NAME_WIDTH = 14;
const SPARK_MIN = 8;
const SPARK_MAX = 60;

function latencyColumn(head: string, group: 'interval' | 'since', pick: (f: Figures) => number, priority: number, sort?: SortKey): Column {
  return { head, width: 10, priority, group, sort, value: (r) => msText(pick(group === 'interval' ? r.interval : r.since)) };
}

/** Every column, in the order they are drawn. */
const COLUMNS: Column[] = [
  { head: 'REQ/S', width: 9, priority: 1, group: 'interval', sort: 'rate', value: (r, s) => rateText(r.interval.requests, s) },
  { head: 'ERR/S', width: 8, priority: 6, group: 'interval', sort: 'errors', value: (r, s) => rateText(r.interval.errors, s) },
  { head: 'NORSP/S', width: 8, priority: 7, group: 'interval', value: (r, s) => rateText(r.interval.unanswered, s) },
  latencyColumn('P50', 'interval', (f) => f.p50, 5),
  latencyColumn('P99', 'interval', (f) => f.p99, 2, 'p99'),
  latencyColumn('P99.9', 'interval', (f) => f.p999, 8),
  latencyColumn('MAX', 'interval', (f) => f.max, 3, 'max'),
  { head: 'REQUESTS', width: 11, priority: 4, group: 'since', value: (r) => String(r.since.requests) },
  { head: 'ERRORS', width: 8, priority: 13, group: 'since', value: (r) => String(r.since.errors) },
  { head: 'NO RESP', width: 8, priority: 14, group: 'since', value: (r) => String(r.since.unanswered) },
  latencyColumn('P50', 'since', (f) => f.p50, 11),
  latencyColumn('P99', 'since', (f) => f.p99, 9),
  latencyColumn('P99.9', 'since', (f) => f.p999, 12),
  latencyColumn('MAX', 'since', (f) => f.max, 10),
];

/** The columns that fit in `width` beside the name and a sparkline, most wanted first, drawn in order. */
export function columnsFor(width: number): Column[] {
  let room = width - NAME_WIDTH - 1 - SPARK_MIN;
  const chosen = new Set<Column>();
  for (const c of COLUMNS.slice().sort((a, b) => a.priority - b.priority)) {
    if (c.width > room) break;
    chosen.add(c);
    room -= c.width;
  }
  return COLUMNS.filter((c) => chosen.has(c));
}

function compareBy(sort: SortKey): (a: RowSnapshot, b: RowSnapshot) => number {
  const pick = (f: Figures): number =>
    sort === 'p99' ? f.p99 : sort === 'rate' ? f.requests : sort === 'errors' ? f.errors : f.max;
  return (a, b) =>
    pick(b.interval) - pick(a.interval) || pick(b.since) - pick(a.since) || b.since.requests - a.since.requests || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** The table's rows in the order drawn: ports (when several) then commands, each sorted. */
export function sortRows(rows: readonly RowSnapshot[], sort: SortKey): RowSnapshot[] {
  const cmp = compareBy(sort);
  const ports = rows.filter((r) => r.kind === 'port').sort(cmp);
  const commands = rows.filter((r) => r.kind === 'command').sort(cmp);
  return [...ports, ...commands];
}

/** The first of `texts` no longer than `width` (the last, cut, when none is). */
function firstFit(texts: string[], width: number): string {
  return texts.find((t) => t.length <= width) ?? texts[texts.length - 1].slice(0, Math.max(0, width));
}

function right(text: string, width: number): string {
  return text.length >= width ? text : ' '.repeat(width - text.length) + text;
}

function left(text: string, width: number): string {
  return text.length >= width ? text.slice(0, width) : text + ' '.repeat(width - text.length);
}

/** `l` and `r` on one line of `width`, `r` against the right edge (cut from the left's end when both do not fit). */
function spread(l: string, r: string, width: number): string {
  if (l.length + 1 + r.length > width) return `${l.slice(0, Math.max(0, width - r.length - 1))} ${r}`;
  return l + ' '.repeat(width - l.length - r.length) + r;
}

/** How the rows below the header are shared: the table, the slow requests, the clients. */
export function sections(height: number): { table: number; slow: number; clients: number } {
  const rest = height - 11;
  const table = Math.max(1, Math.floor(rest * 0.45));
  const slow = Math.max(1, Math.floor((rest - table) * 0.55));
  return { table, slow, clients: Math.max(1, rest - table - slow) };
}

function header(snap: TopSnapshot, label: RunLabel, state: ViewState, width: number): Row[] {
  const what = label.mode === 'raw' ? `raw, port ${label.ports.join(',')}` : `${label.mode} on port ${label.ports.join(',')}`;
  let title: string;
  let clock: string;
  if (label.replay !== null) {
    const pct = state.progress === null ? '' : `, ${Math.floor(state.progress * 100)}% read`;
    title = `tcpkit --top | ${label.source} at ${label.replay}${pct} | ${what}`;
    clock = snap.nowMs > 0 ? `capture time ${dateTimeText(snap.nowMs)}` : '';
  } else {
    title = `tcpkit --top | ${label.engine} on ${label.source} | ${what} | up ${durationText((state.wallMs - label.startMs) / 1000)}`;
    clock = clockText(state.wallMs);
  }
  const sec = snap.intervalSec;
  const since = snap.sinceMs === label.startMs ? 'in all' : `since ${clockText(snap.sinceMs)}`;
  const rates =
    `packets ${rateText(snap.packetsSeenInterval, sec)}/s (${snap.packetsSeen} ${since}), lost ${rateText(snap.packetsLostInterval, sec)}/s (${snap.packetsLost})` +
    ` | requests ${rateText(snap.requestsInterval, sec)}/s (${snap.requestsSince} ${since})` +
    ` | connections ${snap.connectionsOpen} open`;
  return [{ text: spread(title, clock, width), attr: Attr.Reverse }, { text: rates }];
}

function table(snap: TopSnapshot, label: RunLabel, state: ViewState, width: number, height: number): Row[] {
  const cols = columnsFor(width);
  const used = NAME_WIDTH + cols.reduce((n, c) => n + c.width, 0);
  const sparkWidth = Math.max(SPARK_MIN, Math.min(SPARK_MAX, width - used - 2));
  const interval = cols.filter((c) => c.group === 'interval');
  const sinceCols = cols.filter((c) => c.group === 'since');
  const sec = snap.intervalSec;
  // The group headings, over their columns.
  const iw = interval.reduce((n, c) => n + c.width, 0);
  const sw = sinceCols.reduce((n, c) => n + c.width, 0);
  const intervalTitles = [` last ${sec > 0 ? secondsText(sec) : 'interval'} (ms)`, ' last', ''];
  const since = snap.sinceMs === label.startMs ? 'since start' : `since ${clockText(snap.sinceMs)}`;
  const sinceTitles = [` ${since} (ms)`, ` ${since}`, ' since', ''];
  const rule = (titles: string[], w: number): string => (w === 0 ? '' : left(`--${firstFit(titles, w - 3)} ${'-'.repeat(w)}`, w - 1) + ' ');
  const sparkHead = firstFit([`p99, last ${sparkWidth} ticks`, 'p99 trend', 'p99'], sparkWidth);
  const groups = ' '.repeat(NAME_WIDTH) + rule(intervalTitles, iw) + rule(sinceTitles, sw) + `  ${sparkHead}`;
  // Column heads; the sorted one drawn in reverse.
  let heads = left('COMMAND', NAME_WIDTH);
  const spans: Span[] = [];
  for (const c of cols) {
    const h = right(c.head, c.width);
    if (c.group === 'interval' && c.sort === state.sort) spans.push({ from: heads.length + c.width - c.head.length, to: heads.length + c.width, attr: Attr.Reverse });
    heads += h;
  }
  const out: Row[] = [{ text: groups }, { text: heads, attr: Attr.Bold, spans }];
  const rows = sortRows(snap.rows, state.sort);
  const room = height;
  const shown = rows.length > room ? rows.slice(0, room - 1) : rows;
  for (const r of shown) {
    let line = left(r.name, NAME_WIDTH - 1) + ' ';
    for (const c of cols) line += right(c.value(r, sec), c.width);
    line += '  ' + sparkline(r.spark, sparkWidth, state.utf8);
    out.push({ text: line });
  }
  if (shown.length < rows.length) out.push({ text: `(${rows.length - shown.length} more; a taller terminal shows them)` });
  if (rows.length === 0) out.push({ text: label.mode === 'raw' ? '(raw mode: packets only, no requests to pair)' : '(no requests yet)' });
  while (out.length < room + 2) out.push({ text: '' });
  return out;
}

function slowTitle(snap: TopSnapshot, label: RunLabel): string {
  if (label.thresholdMs > 0) return `LAST REQUESTS AT OR ABOVE ${label.thresholdMs} ms`;
  return `SLOWEST IN THE LAST ${secondsText(snap.windowSec)}`;
}

function slowRows(snap: TopSnapshot, label: RunLabel, width: number, height: number): Row[] {
  const list: SlowSnapshot[] = snap.slow.slice(0, height);
  const cw = Math.min(47, Math.max(6, ...list.map((s) => s.client.length)));
  const sw = Math.min(47, Math.max(6, ...list.map((s) => s.server.length)));
  const out: Row[] = [
    { text: slowTitle(snap, label), attr: Attr.Bold },
    { text: `${left('TIME', 13)}${left('CLIENT', cw + 1)}${left('SERVER', sw + 1)}${right('LATENCY ms', 11)}  REQUEST`, attr: Attr.Bold },
  ];
  for (const s of list) {
    const latency = s.noResponse ? 'no response' : msText(s.latencyUs);
    let request = s.request;
    if (s.statusText !== '' && !s.noResponse) request += ` | ${s.statusText}`;
    if (s.error) request += ' | error';
    out.push({ text: `${left(timeMsText(s.timeMs), 13)}${left(s.client, cw + 1)}${left(s.server, sw + 1)}${right(latency, 11)}  ${request}` });
  }
  if (list.length === 0) out.push({ text: '(none)' });
  while (out.length < height + 2) out.push({ text: '' });
  return out.slice(0, height + 2);
}

function clientRows(snap: TopSnapshot, width: number, height: number): Row[] {
  const sec = snap.windowSec;
  const wait = (c: ClientSnapshot): string => (sec > 0 ? (c.waitUs / 1000 / sec).toFixed(1) : '-');
  const byRequests = snap.clients.slice().sort((a, b) => b.requests - a.requests || b.waitUs - a.waitUs).slice(0, height);
  const byWait = snap.clients.slice().sort((a, b) => b.waitUs - a.waitUs || b.requests - a.requests).slice(0, height);
  // Two lists side by side when the longest address fits twice.
  const longest = Math.max(23, ...snap.clients.map((c) => c.client.length));
  const twoLists = width >= 2 * (longest + 21) + 3;
  const half = twoLists ? Math.floor((width - 3) / 2) : width;
  const nameW = half - 9 - 12;
  const window = `, LAST ${secondsText(sec)}`;
  const list = (title: string, rows: ClientSnapshot[]): string[] => {
    const lines = [`${left(firstFit([title + window, title], nameW), nameW)}${right('REQ/S', 9)}${right('WAIT ms/s', 12)}`];
    for (const c of rows) lines.push(`${left(c.client, nameW)}${right(rateText(c.requests, sec), 9)}${right(wait(c), 12)}`);
    if (rows.length === 0) lines.push('(none)');
    return lines;
  };
  const a = list('CLIENTS BY REQUESTS', byRequests);
  const b = twoLists ? list('CLIENTS BY TIME WAITING', byWait) : [];
  const out: Row[] = [];
  for (let i = 0; i < height + 1; i++) {
    const l = a[i] ?? '';
    const text = twoLists ? `${left(l, half)} | ${b[i] ?? ''}` : l;
    out.push(i === 0 ? { text, attr: Attr.Bold } : { text });
  }
  return out;
}

const HELP = [
  'tcpkit --top: what is slow right now',
  '',
  '  q        quit (the summary follows on standard error)',
  '  space    pause the view; capture goes on',
  '  c        clear: the figures since start, the sparklines, the slow requests and',
  '           the clients start again now (the summary and -P keep the whole run)',
  '  p r e m  sort the table by p99, requests per second, errors, or max',
  '  ?        this help; any key closes it',
  '',
  'The table: one row per command (and per port, when several), over the last',
  'interval (the time between two redraws) and since the start; latencies in ms.',
  'The sparkline is the interval p99 at each redraw, scaled to the row\'s largest.',
  'Without -t, the slow list holds the slowest requests of the last 10 seconds;',
  'with -t, the last requests at or above it. Clients: the last 10 seconds.',
];

function statusLine(label: RunLabel, state: ViewState, width: number): Row {
  const keys = `q quit  space pause  c clear  ? help  sort: ${state.sort} (p r e m)`;
  let message = state.notice;
  if (state.paused) message = 'PAUSED: space resumes (capture goes on)';
  if (state.ended !== null) message = state.ended;
  return { text: spread(keys, message, width), attr: Attr.Reverse };
}

/** The whole screen. */
export function layout(snap: TopSnapshot, label: RunLabel, state: ViewState, width: number, height: number): Row[] {
  if (width < MIN_COLS || height < MIN_ROWS) {
    return [
      { text: `terminal too small (${width}x${height}): tcpkit --top needs at least ${MIN_COLS}x${MIN_ROWS}` },
      { text: 'q quits' },
    ];
  }
  const rows: Row[] = header(snap, label, state, width);
  rows.push({ text: '' });
  if (state.help) {
    for (const line of HELP) rows.push({ text: line });
    while (rows.length < height - 1) rows.push({ text: '' });
    rows.length = height - 1;
    rows.push(statusLine(label, state, width));
    return rows;
  }
  const s = sections(height);
  rows.push(...table(snap, label, state, width, s.table));
  rows.push({ text: '' });
  rows.push(...slowRows(snap, label, width, s.slow));
  rows.push({ text: '' });
  rows.push(...clientRows(snap, width, s.clients));
  rows.push(statusLine(label, state, width));
  return rows;
}

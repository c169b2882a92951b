// Reads tcpkit --top's screen (as capture-pane gives it) back into figures.

export interface TableRow {
  name: string;
  /** The interval's columns as printed: REQ/S, ERR/S, NORSP/S, P50, P99, P99.9, MAX. */
  interval: string[];
  /** Since start: REQUESTS, ERRORS, NO RESP, P50, P99, P99.9, MAX. */
  since: string[];
}

export interface SlowRow {
  time: string;
  client: string;
  server: string;
  latency: string;
  request: string;
}

/** The table's rows (a terminal wide enough for every column: 160). */
export function tableRows(screen: string[]): TableRow[] {
  const head = screen.findIndex((l) => l.startsWith('COMMAND '));
  if (head < 0) throw new Error(`no table on the screen:\n${screen.join('\n')}`);
  const out: TableRow[] = [];
  for (let i = head + 1; i < screen.length && screen[i] !== ''; i++) {
    if (screen[i].startsWith('(')) continue;
    const t = screen[i].split(/\s+/);
    out.push({ name: t[0], interval: t.slice(1, 8), since: t.slice(8, 15) });
  }
  return out;
}

export function slowRows(screen: string[]): SlowRow[] {
  const title = screen.findIndex((l) => /^(SLOWEST IN THE LAST|LAST REQUESTS AT OR ABOVE)/.test(l));
  if (title < 0) throw new Error(`no slow list on the screen:\n${screen.join('\n')}`);
  const out: SlowRow[] = [];
  for (let i = title + 2; i < screen.length && screen[i] !== '' && screen[i] !== '(none)'; i++) {
    const m = /^(\S+) (\S+)\s+(\S+)\s+(no response|[\d.]+)  (.*)$/.exec(screen[i]);
    if (!m) throw new Error(`not a slow-list row: ${screen[i]}`);
    out.push({ time: m[1], client: m[2], server: m[3], latency: m[4], request: m[5] });
  }
  return out;
}

/** The header's second line: rates and totals. */
export function headerRates(screen: string[]): { packetsPerSec: number; packets: number; lostPerSec: number; lost: number; requestsPerSec: number; requests: number; open: number } {
  const m = /^packets (\S+)\/s \((\d+) in all\), lost (\S+)\/s \((\d+)\) \| requests (\S+)\/s \((\d+) in all\) \| connections (\d+) open/.exec(screen[1]);
  if (!m) throw new Error(`no rates on the screen's second line: ${screen[1]}`);
  const num = (s: string) => (s === '-' ? NaN : Number(s));
  return {
    packetsPerSec: num(m[1]), packets: Number(m[2]), lostPerSec: num(m[3]), lost: Number(m[4]),
    requestsPerSec: num(m[5]), requests: Number(m[6]), open: Number(m[7]),
  };
}

/** The exit summary's per-command table: name -> requests, errors, no resp, avg, p50, p90, p99, p99.9, max. */
export function summaryTable(stderr: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const lines = stderr.split('\n');
  const head = lines.findIndex((l) => /^\s+requests\s+errors\s+no resp/.test(l));
  if (head < 0) throw new Error(`no table in the summary:\n${stderr}`);
  for (let i = head + 1; i < lines.length && /^  \S/.test(lines[i]) && !lines[i].startsWith('  ('); i++) {
    const t = lines[i].trim().split(/\s+/);
    out.set(t[0], t.slice(1));
  }
  return out;
}

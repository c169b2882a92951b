// The summary printed when the input ends (end of file, Ctrl-C, SIGTERM):
// totals, percentiles, the original tool's buckets drawn as bars, a table of
// percentiles per port and for the top commands, and what went wrong.
import { PERCENTILES } from '../stats/stats-json';
import { SEED_BUCKET_LABELS, type Series, type Stats } from '../stats/stats';
import type { RunCounters } from '../stats/counters';
import { notDecodedText } from '../decode/packet';

/** Commands shown in the table; the rest are summed in one line. */
const TOP_COMMANDS = 10;

function ms(us: number): string {
  return `${(us / 1000).toFixed(3)} ms`;
}

/** "1 error", "2 errors": a count and its noun, singular when it is one. */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}

/**
 * Where every packet went, adding up to the total: "27 to or from redis on
 * port 6379, 3 handshake/ACK without data". `empty` is the
 * matched packets without payload when they are told apart (-1 when not: raw mode).
 */
export function packetsPhrase(records: number, matched: number, empty: number, stray: number, undecoded: number, watched: string): string {
  const parts = [`${empty >= 0 ? matched - empty : matched} to or from ${watched}`];
  if (empty > 0) parts.push(`${empty} handshake/ACK without data`);
  if (stray > 0) parts.push(`${stray} of no tracked connection (ACK/FIN/RST after a close, or refused)`);
  const other = records - matched - stray - undecoded;
  if (other > 0) parts.push(`${other} other traffic`);
  if (undecoded > 0) parts.push(`${undecoded} not decoded`);
  return parts.join(', ');
}

/** The things that went wrong or were left out, as phrases; only those that happened. */
export function counterPhrases(c: RunCounters): string[] {
  const out: string[] = [];
  if (c.packetsUndecoded) out.push(`${plural(c.packetsUndecoded, 'packet')} not decoded (${notDecodedText(c.packetsUndecodedBy)})`);
  if (c.orphanResponses) out.push(`${plural(c.orphanResponses, 'response')} without a request`);
  if (c.parserResets) out.push(`${plural(c.parserResets, 'parser reset')} on malformed data`);
  if (c.gaps) out.push(`${plural(c.gaps, 'gap')} in streams`);
  if (c.segmentsReordered) out.push(`${plural(c.segmentsReordered, 'segment')} put back in order`);
  if (c.ipFragments) out.push(`${plural(c.ipFragments, 'IP fragment')}: ${plural(c.datagramsReassembled, 'datagram')} put together, ${plural(c.fragmentsDropped, 'fragment')} given up on`);
  if (c.serverPushes) out.push(`${plural(c.serverPushes, 'server push', 'server pushes')}`);
  if (c.connectionsEncrypted) out.push(`${plural(c.connectionsEncrypted, 'connection')} in TLS: not decoded`);
  if (c.requestsDropped) out.push(`${plural(c.requestsDropped, 'request')} dropped (too many waiting)`);
  if (c.connectionsEvicted) out.push(`${plural(c.connectionsEvicted, 'connection')} evicted before carrying data (to make room)`);
  if (c.connectionsRefused) out.push(`${plural(c.connectionsRefused, 'connection')} refused (table full)`);
  if (c.connectionsExpired) out.push(`${plural(c.connectionsExpired, 'idle connection')} expired`);
  if (c.luaErrors) out.push(`${plural(c.luaErrors, 'script error')}`);
  return out;
}

/** The seed buckets as bars, the longest 40 wide. */
function bars(buckets: Float64Array): string[] {
  const most = Math.max(...buckets);
  const lines: string[] = [];
  for (let i = 0; i < buckets.length; i++) {
    const count = buckets[i];
    if (count === 0) continue;
    const bar = '#'.repeat(Math.max(1, Math.round((count / most) * 40)));
    lines.push(`  ${SEED_BUCKET_LABELS[i].padStart(9)} ${String(count).padStart(9)} ${bar}`);
  }
  return lines;
}

/** One row per port (when there are several) and per top command: counts and percentiles in ms. */
function table(stats: Stats): string[] {
  const rows: [string, Series][] = [];
  if (stats.ports.length > 1) for (const p of stats.ports) rows.push([`port ${p.port}`, stats.port(p)]);
  const top = stats.topCommands();
  for (const [id, s] of top.slice(0, TOP_COMMANDS)) rows.push([stats.commands.name(id), s]);
  if (rows.length === 0) return [];
  const nameWidth = Math.max(9, ...rows.map(([n]) => n.length));
  const heads = ['requests', 'errors', 'no resp', 'avg', ...PERCENTILES.map(([n]) => n), 'max'];
  const lines = [`  ${''.padEnd(nameWidth)} ${heads.map((h) => h.padStart(9)).join('')}  (ms)`];
  for (const [name, t] of rows) {
    const cells = [String(t.requests), String(t.errors), String(t.unanswered)];
    const lat = [t.averageUs, ...PERCENTILES.map(([, p]) => t.percentileUs(p)), t.maxUs];
    for (const us of lat) cells.push(t.answered === 0 ? '-' : (us / 1000).toFixed(3));
    lines.push(`  ${name.padEnd(nameWidth)} ${cells.map((c) => c.padStart(9)).join('')}`);
  }
  if (top.length > TOP_COMMANDS) {
    const rest = top.slice(TOP_COMMANDS).reduce((n, [, s]) => n + s.requests, 0);
    lines.push(`  (${top.length - TOP_COMMANDS} more commands, ${rest} requests)`);
  }
  return lines;
}

/** The exit summary, as lines for stderr. */
export function renderSummary(stats: Stats, header: string[], counters: RunCounters): string {
  const lines = [...header];
  const t = stats.total();
  const notes: string[] = [];
  if (t.errors) notes.push(plural(t.errors, 'error'));
  // Answered from the response's first bytes: its end was never captured.
  if (counters.answeredIncomplete) notes.push(`${counters.answeredIncomplete} incomplete`);
  lines.push(
    `requests: ${t.answered} answered` +
      (notes.length > 0 ? ` (${notes.join(', ')})` : '') +
      `, ${t.unanswered} without response` +
      (t.longPolls ? `, ${plural(t.longPolls, 'long poll')} (Fetch held to max_wait_ms, empty; not in the latencies)` : '') +
      (t.inFlight ? `, ${t.inFlight} in flight (still waiting when the capture stopped)` : ''),
  );
  if (stats.thresholdMs > 0) {
    // What -t printed: the answers at or above it, and the requests that waited as long in vain.
    const shown = t.slow + t.slowUnanswered;
    lines.push(
      `-t ${stats.thresholdMs} ms: ${plural(shown, 'line')} printed, ${t.slow} answered at or above ${stats.thresholdMs} ms` +
        (t.slowUnanswered ? `, ${t.slowUnanswered} without response` : ''),
    );
  }
  if (t.answered > 0) {
    lines.push(`latency: avg ${ms(t.averageUs)}, ${PERCENTILES.map(([n, p]) => `${n} ${ms(t.percentileUs(p))}`).join(', ')}, max ${ms(t.maxUs)}`);
    lines.push(...bars(t.buckets));
  }
  if (t.requests > 0) lines.push(...table(stats));
  const problems = counterPhrases(counters);
  if (problems.length > 0) lines.push(problems.join(', '));
  return lines.join('\n') + '\n';
}

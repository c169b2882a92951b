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

/** The things that went wrong or were left out, as phrases; only those that happened. */
export function counterPhrases(c: RunCounters): string[] {
  const out: string[] = [];
  if (c.packetsUndecoded) out.push(`${c.packetsUndecoded} packets not decoded (${notDecodedText(c.packetsUndecodedBy)})`);
  if (c.orphanResponses) out.push(`${c.orphanResponses} responses without a request`);
  if (c.parserResets) out.push(`${c.parserResets} parser resets on malformed data`);
  if (c.gaps) out.push(`${c.gaps} gaps in streams`);
  if (c.segmentsReordered) out.push(`${c.segmentsReordered} segments put back in order`);
  if (c.ipFragments) out.push(`${c.ipFragments} IP fragments: ${c.datagramsReassembled} datagrams put together, ${c.fragmentsDropped} fragments given up on`);
  if (c.serverPushes) out.push(`${c.serverPushes} server pushes`);
  if (c.connectionsEncrypted) out.push(`${c.connectionsEncrypted} connections in TLS: not decoded`);
  if (c.requestsDropped) out.push(`${c.requestsDropped} requests dropped (too many waiting)`);
  if (c.connectionsEvicted) out.push(`${c.connectionsEvicted} connections evicted before carrying data (to make room)`);
  if (c.connectionsRefused) out.push(`${c.connectionsRefused} connections refused (table full)`);
  if (c.connectionsExpired) out.push(`${c.connectionsExpired} idle connections expired`);
  if (c.luaErrors) out.push(`${c.luaErrors} script errors`);
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
  lines.push(
    `requests: ${t.answered} answered` +
      (t.errors ? ` (${t.errors} errors)` : '') +
      `, ${t.unanswered} without response, ${t.slow} at or above the threshold` +
      (t.longPolls ? `, ${t.longPolls} long polls (Fetch held to max_wait_ms, empty; not in the latencies)` : ''),
  );
  if (t.answered > 0) {
    lines.push(`latency: avg ${ms(t.averageUs)}, ${PERCENTILES.map(([n, p]) => `${n} ${ms(t.percentileUs(p))}`).join(', ')}, max ${ms(t.maxUs)}`);
    lines.push(...bars(t.buckets));
  }
  if (t.requests > 0) lines.push(...table(stats));
  const problems = counterPhrases(counters);
  if (problems.length > 0) lines.push(problems.join(', '));
  return lines.join('\n') + '\n';
}

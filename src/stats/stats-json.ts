// The statistics as JSON: the original tool's shape, which its collectors
// read from a bare TCP connection, and the full report served at /stats.
import { OTHER } from './commands';
import { SEED_BUCKETS_US, Series, type Stats, type Tally } from './stats';
import type { RunCounters } from './counters';

/** The percentiles every report gives. */
export const PERCENTILES: readonly [string, number][] = [
  ['p50', 50],
  ['p90', 90],
  ['p99', 99],
  ['p99.9', 99.9],
];

/**
 * The original's JSON, field for field:
 * {"type":"redis","ports":[{"6379":{"total_reqs":7,"total_costs":76785,"slow_reqs":7,"latencies":[...18]}}],
 *  "in_packets":..,"out_packets":..,"in_bytes":..,"out_bytes":..}
 * total_reqs counts answered requests, total_costs sums their latencies in
 * whole µs, slow_reqs those at or above -t, latencies the 18 seed buckets.
 * in_ and out_ are packets and payload bytes from clients and from servers.
 */
export function seedJson(stats: Stats, counters: RunCounters): string {
  const ports = stats.ports.map((p) => {
    const t = new Series(null);
    for (const c of p.commands) if (c !== undefined) t.add(c);
    return {
      [String(p.port)]: {
        total_reqs: t.answered,
        total_costs: Math.round(t.totalUs),
        slow_reqs: t.slow,
        latencies: Array.from(t.buckets),
      },
    };
  });
  return JSON.stringify({
    type: stats.mode,
    ports,
    in_packets: counters.requestPackets,
    out_packets: counters.responsePackets,
    in_bytes: counters.requestBytes,
    out_bytes: counters.responseBytes,
  });
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** A series' counts, and for a Series its latency percentiles (µs). */
function series(t: Tally): Record<string, unknown> {
  const out: Record<string, unknown> = {
    requests: t.requests,
    answered: t.answered,
    errors: t.errors,
    unanswered: t.unanswered,
    in_flight: t.inFlight,
    slow: t.slow,
    long_polls: t.longPolls,
    request_bytes: t.requestBytes,
    response_bytes: t.responseBytes,
    total_us: Math.round(t.totalUs),
  };
  if (t instanceof Series) {
    const lat: Record<string, number> = { avg: round3(t.averageUs) };
    for (const [name, p] of PERCENTILES) lat[name] = t.percentileUs(p);
    lat.max = round3(t.maxUs);
    out.latency_us = lat;
  }
  out.latencies = Array.from(t.buckets);
  return out;
}

export interface RunInfo {
  version: string;
  engine: string;
  /** The interface or file read. */
  source: string;
}

/** The full report: totals, per port (and per command on it), per command, the run's counters. */
export function fullJson(stats: Stats, counters: RunCounters, info: RunInfo, now = Date.now()): string {
  const name = (id: number): string => stats.commands.name(id);
  const commandsOn = (list: (Tally | undefined)[]): Record<string, unknown>[] => {
    const out: Record<string, unknown>[] = [];
    for (let id = 0; id <= OTHER; id++) {
      const t = list[id];
      if (t !== undefined) out.push({ command: name(id), ...series(t) });
    }
    return out;
  };
  const c = counters;
  return JSON.stringify({
    type: stats.mode,
    version: info.version,
    engine: info.engine,
    source: info.source,
    started: new Date(stats.started).toISOString(),
    uptime_seconds: Math.round((now - stats.started) / 1000),
    threshold_ms: stats.thresholdMs,
    bucket_bounds_us: SEED_BUCKETS_US,
    totals: series(stats.total()),
    ports: stats.ports.map((p) => ({ port: p.port, ...series(stats.port(p)), commands: commandsOn(p.commands) })),
    commands: stats.topCommands().map(([id, s]) => ({ command: name(id), ...series(s) })),
    counters: {
      packets_seen: c.packetsSeen,
      packets_lost: c.packetsLost,
      packets_delivered: c.packetsDelivered,
      packets_matched: c.packetsMatched,
      packets_undecoded: c.packetsUndecoded,
      request_packets: c.requestPackets,
      response_packets: c.responsePackets,
      request_payload_bytes: c.requestBytes,
      response_payload_bytes: c.responseBytes,
      connections_open: c.connectionsOpen,
      connections_opened: c.connectionsOpened,
      connections_closed: c.connectionsClosed,
      connections_expired: c.connectionsExpired,
      connections_refused: c.connectionsRefused,
      connections_evicted: c.connectionsEvicted,
      parser_resets: c.parserResets,
      gaps: c.gaps,
      segments_reordered: c.segmentsReordered,
      ip_fragments: c.ipFragments,
      datagrams_reassembled: c.datagramsReassembled,
      fragments_dropped: c.fragmentsDropped,
      orphan_responses: c.orphanResponses,
      server_pushes: c.serverPushes,
      connections_encrypted: c.connectionsEncrypted,
      requests_dropped: c.requestsDropped,
      answered_incomplete: c.answeredIncomplete,
      requests_waiting: c.requestsWaiting,
      lua_errors: c.luaErrors,
    },
  });
}

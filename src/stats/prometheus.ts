// The statistics as Prometheus text (prom-client), served at /metrics.
//
// Nothing is observed through prom-client per transaction (it hashes a label
// set per observation): the counts live in stats/stats.ts, and each metric's
// collect() copies them in when scraped. The latency histogram is a
// prom-client Histogram whose exported values are the stats' seed buckets,
// cumulated, so prom-client does the exposition format (names, escaping,
// +Inf, _sum, _count) and tcpkit only supplies numbers.
//
// Label cardinality is bounded: ports are the watched ones, commands at most
// commands.ts's MAX_COMMANDS plus "other".
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { OTHER } from './commands';
import { SEED_BUCKETS_US, type Stats, type Tally } from './stats';
import type { RunCounters } from './counters';
import type { RunInfo } from './stats-json';

type PortCommand = 'port' | 'command';
const PORT_COMMAND: PortCommand[] = ['port', 'command'];
const BUCKETS_S = SEED_BUCKETS_US.map((us) => us / 1e6);

/** Every (port, command) pair with a tally, with its labels. */
function* pairs(stats: Stats): Generator<[{ port: string; command: string }, Tally]> {
  for (const p of stats.ports) {
    const port = String(p.port);
    for (let id = 0; id <= OTHER; id++) {
      const t = p.commands[id];
      if (t !== undefined) yield [{ port, command: stats.commands.name(id) }, t];
    }
  }
}

interface HistogramValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/** A histogram whose values are the stats' seed buckets for each (port, command). */
class SeedBucketHistogram extends Histogram<PortCommand> {
  constructor(
    registry: Registry,
    private readonly stats: Stats,
  ) {
    super({
      name: 'tcpkit_request_duration_seconds',
      help: 'Time from the first byte of a request to the first byte of its response, for answered requests.',
      labelNames: PORT_COMMAND,
      buckets: BUCKETS_S,
      registers: [registry],
    });
  }

  /** What prom-client's Registry formats (its Histogram builds the same shape from its own counts). */
  async getForPromString(): Promise<{ name: string; help: string; type: string; values: HistogramValue[]; aggregator: string }> {
    const name = 'tcpkit_request_duration_seconds';
    const values: HistogramValue[] = [];
    for (const [labels, t] of pairs(this.stats)) {
      let acc = 0;
      for (let i = 0; i < BUCKETS_S.length; i++) {
        acc += t.buckets[i];
        values.push({ labels: { ...labels, le: BUCKETS_S[i] }, value: acc, metricName: `${name}_bucket` });
      }
      values.push({ labels: { ...labels, le: '+Inf' }, value: t.answered, metricName: `${name}_bucket` });
      // In seconds, to the nanosecond (no 0.019553975999999997).
      values.push({ labels, value: Math.round(t.totalUs * 1000) / 1e9, metricName: `${name}_sum` });
      values.push({ labels, value: t.answered, metricName: `${name}_count` });
    }
    return { name, help: 'Time from the first byte of a request to the first byte of its response, for answered requests.', type: 'histogram', values, aggregator: 'sum' };
  }
}

export class PrometheusReport {
  readonly registry = new Registry();
  /** The run's counters as of the scrape in progress. */
  private counters: RunCounters | null = null;

  constructor(
    private readonly stats: Stats,
    private readonly readCounters: () => RunCounters,
    info: RunInfo,
  ) {
    const registers = [this.registry];
    new Gauge({
      name: 'tcpkit_info',
      help: 'tcpkit version, protocol mode and capture engine; always 1.',
      labelNames: ['version', 'mode', 'engine'],
      registers,
      collect() {
        this.set({ version: info.version, mode: stats.mode, engine: info.engine }, 1);
      },
    });
    new Gauge({
      name: 'tcpkit_slow_threshold_seconds',
      help: 'The -t threshold: requests at least this slow count as slow.',
      registers,
      collect() {
        this.set(stats.thresholdMs / 1000);
      },
    });
    new SeedBucketHistogram(this.registry, stats);
    const perPair: [string, string, (t: Tally) => number][] = [
      ['tcpkit_requests_total', 'Requests seen, answered or not.', (t) => t.requests],
      ['tcpkit_request_errors_total', 'Requests answered with an error (Redis error reply, HTTP 5xx, DNS SERVFAIL, ...).', (t) => t.errors],
      ['tcpkit_requests_unanswered_total', 'Requests given up on: no response within --timeout, or before their connection ended.', (t) => t.unanswered],
      ['tcpkit_requests_in_flight_total', 'Requests still waiting, for less than --timeout, when the capture stopped.', (t) => t.inFlight],
      ['tcpkit_slow_requests_total', 'Answered requests at or above the -t threshold.', (t) => t.slow],
      ['tcpkit_long_polls_total', 'Kafka Fetches the broker held to max_wait_ms and answered with no records: not in the latency histogram.', (t) => t.longPolls],
      ['tcpkit_request_bytes_total', 'Bytes of requests.', (t) => t.requestBytes],
      ['tcpkit_response_bytes_total', 'Bytes of responses.', (t) => t.responseBytes],
    ];
    for (const [name, help, read] of perPair) {
      new Counter<PortCommand>({
        name,
        help,
        labelNames: PORT_COMMAND,
        registers,
        collect() {
          this.reset();
          for (const [labels, t] of pairs(stats)) this.inc(labels, read(t));
        },
      });
    }
    const self = this;
    const run: [string, string, (c: RunCounters) => number][] = [
      ['tcpkit_packets_seen_total', 'Packets the engine saw: eBPF, every packet on the interface; libpcap, those its filter passed; a file, those read.', (c) => c.packetsSeen],
      ['tcpkit_packets_lost_total', 'Packets the engine could not hand over (ring or capture buffer full, interface drops).', (c) => c.packetsLost],
      ['tcpkit_packets_delivered_total', 'Packets that reached tcpkit from the engine.', (c) => c.packetsDelivered],
      ['tcpkit_packets_matched_total', 'Packets to or from a watched server.', (c) => c.packetsMatched],
      ['tcpkit_packets_undecoded_total', 'Packets that were not IPv4 or IPv6 TCP or UDP that tcpkit decodes.', (c) => c.packetsUndecoded],
      ['tcpkit_connections_opened_total', 'Connections (and UDP flows) tracked.', (c) => c.connectionsOpened],
      ['tcpkit_connections_closed_total', 'Connections that ended (FIN both ways, or RST).', (c) => c.connectionsClosed],
      ['tcpkit_connections_expired_total', 'Connections forgotten after being idle for twice --timeout (at least 60 s).', (c) => c.connectionsExpired],
      ['tcpkit_connections_refused_total', 'Connections not tracked because the table was full (--max-connections).', (c) => c.connectionsRefused],
      ['tcpkit_segments_reordered_total', 'TCP segments that arrived ahead of a hole and were delivered in order once it filled.', (c) => c.segmentsReordered],
      ['tcpkit_ip_fragments_total', 'IP fragments seen.', (c) => c.ipFragments],
      ['tcpkit_ip_datagrams_reassembled_total', 'UDP/TCP datagrams put together from IP fragments.', (c) => c.datagramsReassembled],
      ['tcpkit_ip_fragments_dropped_total', 'IP fragments given up on (cut by snaplen, inconsistent, over a limit, or never completed).', (c) => c.fragmentsDropped],
      ['tcpkit_connections_evicted_total', 'Connections that never carried data, evicted to make room (a SYN flood).', (c) => c.connectionsEvicted],
      ['tcpkit_orphan_responses_total', 'Responses with no request waiting.', (c) => c.orphanResponses],
      ['tcpkit_server_pushes_total', 'Server pushes (pub/sub messages, RESP3 pushes): not responses.', (c) => c.serverPushes],
      ['tcpkit_answered_incomplete_total', 'Answered requests whose response was captured only in part (its first bytes, not its end).', (c) => c.answeredIncomplete],
      ['tcpkit_connections_encrypted_total', 'Connections not decoded because they are encrypted (TLS).', (c) => c.connectionsEncrypted],
      ['tcpkit_requests_dropped_total', 'Requests dropped because one connection had too many waiting.', (c) => c.requestsDropped],
      ['tcpkit_lua_errors_total', 'Errors raised by the -S Lua script.', (c) => c.luaErrors],
    ];
    for (const [name, help, read] of run) {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read(self.snapshot()));
        },
      });
    }
    new Counter<'reason'>({
      name: 'tcpkit_parser_resets_total',
      help: 'Times a parser lost its place and started over: malformed data, or a gap in the captured stream.',
      labelNames: ['reason'],
      registers,
      collect() {
        const c = self.snapshot();
        this.reset();
        this.inc({ reason: 'malformed' }, c.parserResets);
        this.inc({ reason: 'gap' }, c.gaps);
      },
    });
    new Gauge({
      name: 'tcpkit_connections_open',
      help: 'Connections tracked now.',
      registers,
      collect() {
        this.set(self.snapshot().connectionsOpen);
      },
    });
  }

  private snapshot(): RunCounters {
    if (this.counters === null) this.counters = this.readCounters();
    return this.counters;
  }

  /** The exposition text, as of now. */
  async render(): Promise<string> {
    this.counters = null;
    try {
      return await this.registry.metrics();
    } finally {
      this.counters = null;
    }
  }

  /** The HTTP Content-Type of render()'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

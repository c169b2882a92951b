// The run's counters in one flat snapshot: what the engine saw and lost, what
// the pipeline matched, connections, parser trouble. Read by the exit
// summary, the stats JSON and Prometheus; taken when asked, never per packet
// (pipeline.ts's snapshotCounters fills it).

export interface RunCounters {
  /** What the engine saw (see EngineCounters.seen: eBPF before its filter, libpcap after, a file all). */
  packetsSeen: number;
  /** Packets the engine could not hand over (ring buffer or capture buffer full, interface drops). */
  packetsLost: number;
  /** Records that reached the pipeline. */
  packetsDelivered: number;
  /** Packets to or from a watched server. */
  packetsMatched: number;
  /** Records that were not IP packets tcpkit decodes. */
  packetsUndecoded: number;
  /** Why, by DecodeResult (index 0, decoded, stays 0). */
  packetsUndecodedBy: readonly number[];
  /** Of the matched packets, from clients and from servers, and their payload bytes. */
  requestPackets: number;
  responsePackets: number;
  requestBytes: number;
  responseBytes: number;
  connectionsOpen: number;
  connectionsOpened: number;
  connectionsClosed: number;
  /** Evicted because they were idle for long. */
  connectionsExpired: number;
  /** Not tracked because the table was full (--max-connections). */
  connectionsRefused: number;
  /** Connections that never carried data, evicted to make room (a SYN flood). */
  connectionsEvicted: number;
  /** Parser resets on malformed data, and on gaps in a stream. */
  parserResets: number;
  gaps: number;
  /** TCP segments that arrived ahead of a hole and were delivered in order once it filled. */
  segmentsReordered: number;
  /** IP fragments seen, datagrams put together from them, and fragments given up on. */
  ipFragments: number;
  datagramsReassembled: number;
  fragmentsDropped: number;
  orphanResponses: number;
  serverPushes: number;
  /** Connections not decoded because they are encrypted (TLS to a Kafka port, MySQL's SSL request, PostgreSQL's SSLRequest answered S). */
  connectionsEncrypted: number;
  /** Requests dropped because one connection had too many waiting. */
  requestsDropped: number;
  /** Answered requests whose response's end was never captured. */
  answeredIncomplete: number;
  /** Requests waiting for their answer now. */
  requestsWaiting: number;
  /** Errors raised by the -S Lua script (lua.errors, once the Lua output exists); 0 without a script. */
  luaErrors: number;
}

// What every stage may know of the run: the configuration's shape and the
// values it is made of. It sits below every folder of src/ and imports none of
// them; cli/config.ts builds a Config from the command line.

export const MODES = ['raw', 'redis', 'memcached', 'http', 'dns', 'kafka', 'mysql', 'pgsql'] as const;
export type Mode = (typeof MODES)[number];

export interface Endpoint {
  family: number;
  words: [number, number, number, number];
}

export interface Config {
  /** The run's protocol: -m, or without it the first watched port's. */
  mode: Mode;
  ports: number[];
  /** Each port's protocol, in the order of `ports`: -m for all, or without it the one each port's number implies (raw when none). */
  portModes: Mode[];
  servers: Endpoint[];
  /** -s as written, for the libpcap filter. */
  serverNames: string[];
  readFile: string | undefined;
  /** -w: write what a live capture sees to this pcap file. */
  writeFile: string | undefined;
  /** -B, in bytes. */
  bufferBytes: number | undefined;
  ebpf: boolean;
  iface: string;
  thresholdMs: number;
  udp: boolean;
  /** What the mode runs over: DNS over both, unless -u narrows it to UDP. */
  transport: 'tcp' | 'udp' | 'both';
  outputFile: string | undefined;
  timeoutSec: number;
  maxConnections: number;
  /** -S: the Lua script that gets every packet (and transaction) instead of tcpkit's lines. */
  scriptFile: string | undefined;
  /** -P: serve statistics on this port; undefined when not asked for. */
  statsPort: number | undefined;
  /** --stats-addr: the address the stats port listens on. */
  statsAddr: string;
  /** --json: one JSON object per transaction instead of the text line. */
  json: boolean;
  /** -d: run in the background. */
  daemon: boolean;
  /** --pid-file, or the default with -d; undefined: no pid file. */
  pidFile: string | undefined;
  /** -Z: the user to run as once the capture is attached. */
  relinquishTo: string | undefined;
  /** --top: a live full-screen view on the terminal instead of lines on standard output. */
  top: boolean;
  /** --top-speed: with --top and -r, read as fast as possible instead of at the capture's pace. */
  topSpeed: boolean;
  /** --redact: values in requests (SQL literals, Redis arguments after the key, ...) are written as `?`. */
  redact: boolean;
}

// The command line, validated into one typed config. Commander declares the
// flags (cli/main.ts); zod checks their values here and every problem becomes
// one line for the user.
import fs from 'node:fs';
import net from 'node:net';
import { z } from 'zod';
import { parseIp } from '../connections/address';
import { MODES, type Config, type Endpoint, type Mode } from '../config';
import type { EbpfAttach } from '../engine/native';

export { MODES, type Config, type Mode };

/** Modes whose decoders exist today; the others say so instead of doing nothing. */
const READY_MODES: readonly Mode[] = ['raw', 'redis', 'memcached', 'http', 'dns', 'kafka', 'mysql', 'pgsql'];

/** A mode's usual port, used when -p is not given. */
const DEFAULT_PORT: Record<Mode, number | undefined> = {
  raw: undefined,
  redis: 6379,
  memcached: 11211,
  http: 80,
  dns: 53,
  kafka: 9092,
  mysql: 3306,
  pgsql: 5432,
};

/** The ports tcpkit knows the protocol of, for -h and the README. */
export const WELL_KNOWN_PORTS = (Object.keys(DEFAULT_PORT) as Mode[])
  .filter((m) => DEFAULT_PORT[m] !== undefined)
  .map((m) => `${DEFAULT_PORT[m]} ${m}`)
  .join(', ');

/** The protocol a port's number implies, raw when none. */
export function wellKnownMode(port: number): Mode {
  return (Object.keys(DEFAULT_PORT) as Mode[]).find((m) => DEFAULT_PORT[m] === port) ?? 'raw';
}

/**
 * What each port is decoded as, when -m did not say: "port 6379: redis, port
 * 6380: raw (no well-known protocol; -m redis to decode)"; null when -m (or
 * -S) chose, or a single well-known port speaks for itself.
 */
export function portModesNotice(config: Config, modeGiven: boolean): string | null {
  if (modeGiven) return null;
  const modes = config.portModes;
  if (modes.length === 1 && modes[0] !== 'raw') return null;
  const hint = config.mode !== 'raw' ? config.mode : 'MODE';
  return config.ports
    .map((p, i) => (modes[i] === 'raw' ? `port ${p}: raw (no well-known protocol; -m ${hint} to decode)` : `port ${p}: ${modes[i]}`))
    .join(', ');
}

export class UsageError extends Error {
  readonly code = 'EUSAGE';
}


/** -P without a number: the original tool's stats port. */
export const DEFAULT_STATS_PORT = 33333;
/** Where -d writes its pid unless --pid-file says otherwise. */
export const DEFAULT_PID_FILE = '/run/tcpkit.pid';

/** What commander hands over: strings and booleans as typed. */
export interface RawOptions {
  server?: string;
  port?: string;
  /** true when -P is given without a number. */
  statsPort?: string | boolean;
  statsAddr?: string;
  pidFile?: string;
  interface?: string;
  daemon?: boolean;
  read?: string;
  threshold?: string;
  mode?: string;
  write?: string;
  script?: string;
  buffer?: string;
  output?: string;
  udp?: boolean;
  ebpf?: boolean;
  json?: boolean;
  redact?: boolean;
  timeout?: string;
  maxConnections?: string;
  user?: string;
  top?: boolean;
  topSpeed?: boolean;
}

const portList = z
  .string()
  .transform((s, ctx) => {
    const ports: number[] = [];
    for (const part of s.split(',')) {
      const t = part.trim();
      if (t === '') {
        ctx.addIssue({ code: 'custom', message: `-p: '${s}' has an empty entry (ports are comma-separated, e.g. 6379,6380)` });
        return z.NEVER;
      }
      if (!/^\d+$/.test(t) || Number(t) < 1 || Number(t) > 65535) {
        ctx.addIssue({ code: 'custom', message: `-p: '${t}' is not a port (1-65535)` });
        return z.NEVER;
      }
      ports.push(Number(t));
    }
    return ports;
  });

const serverList = z.string().transform((s, ctx) => {
  const servers: Endpoint[] = [];
  for (const part of s.split(',')) {
    const t = part.trim();
    if (t === '') {
      ctx.addIssue({ code: 'custom', message: `-s: '${s}' has an empty entry (addresses are comma-separated, e.g. 10.0.0.5,fd00::5)` });
      return z.NEVER;
    }
    const ip = parseIp(t);
    if (ip === null) {
      ctx.addIssue({ code: 'custom', message: `-s: '${t}' is not an IPv4 or IPv6 address` });
      return z.NEVER;
    }
    servers.push({ family: ip.family, words: ip.words });
  }
  return servers;
});

function number(flag: string, min: number, max: number, integer: boolean) {
  return z.string().transform((s, ctx) => {
    const n = Number(s);
    if (s.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      ctx.addIssue({ code: 'custom', message: `${flag}: '${s}' is not ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}` });
      return z.NEVER;
    }
    return n;
  });
}

const schema = z.object({
  server: serverList.optional(),
  port: portList.optional(),
  // -P alone: the original's port.
  statsPort: z.preprocess((v) => (v === true ? String(DEFAULT_STATS_PORT) : v), number('-P', 1, 65535, true)).optional(),
  statsAddr: z
    .string()
    .refine((a) => net.isIP(a) !== 0, (a) => ({ message: `--stats-addr: '${a}' is not an IPv4 or IPv6 address` }))
    .optional(),
  pidFile: z.string().min(1).optional(),
  interface: z.string().optional(),
  daemon: z.boolean().optional(),
  read: z.string().min(1).optional(),
  threshold: number('-t', 0, 86_400_000, false).optional(),
  mode: z
    .string()
    .refine((m): m is Mode => (MODES as readonly string[]).includes(m), (m) => ({
      message: `-m: unknown mode '${m}' (modes: ${MODES.join(', ')})`,
    }))
    .optional(),
  write: z.string().min(1).optional(),
  script: z.string().min(1, '-S: give the Lua script\'s file').optional(),
  buffer: number('-B', 1, 4_194_304, true).optional(),
  output: z.string().min(1).optional(),
  udp: z.boolean().optional(),
  ebpf: z.boolean().optional(),
  json: z.boolean().optional(),
  redact: z.boolean().optional(),
  timeout: number('--timeout', 0.001, 86_400, false).optional(),
  maxConnections: number('--max-connections', 1, 100_000_000, true).optional(),
  user: z.string().min(1, '-Z: name a user, e.g. -Z nobody').optional(),
  top: z.boolean().optional(),
  topSpeed: z.boolean().optional(),
});

/**
 * TCPKIT_EBPF_ATTACH: where --ebpf attaches its program. auto (the default):
 * tcx where it can apply (Linux 6.6+, a named Ethernet or loopback
 * interface), else a socket filter; tcx or socket: that one only.
 */
export function ebpfAttach(value: string | undefined): EbpfAttach {
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if (value === 'tcx' || value === 'socket') return value;
  throw new UsageError(`TCPKIT_EBPF_ATTACH=${value}: say auto, tcx or socket`);
}

export function buildConfig(raw: RawOptions): Config {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
  }
  const o = parsed.data;
  // A file that is not there is the first thing to say, before what else is missing.
  if (o.read !== undefined && !fs.existsSync(o.read)) {
    throw Object.assign(new Error(`${o.read}: No such file or directory`), { code: 'ENOENT' });
  }
  if (o.read !== undefined) {
    if (o.interface !== undefined) throw new UsageError('-i and -r: capture live on an interface, or read a file, not both');
    if (o.ebpf) throw new UsageError('--ebpf captures live; with -r the packets come from the file');
    if (o.write !== undefined) throw new UsageError('-w records a live capture; with -r the file already is one');
    if (o.buffer !== undefined) throw new UsageError('-B sizes a live capture\'s buffer; it does nothing with -r');
  }
  let mode: Mode | undefined = o.mode as Mode | undefined;
  // A script without -m sees raw packets, whatever the port.
  if (mode === undefined && o.script !== undefined) mode = 'raw';
  let portModes: Mode[] | undefined;
  if (mode === undefined && o.port !== undefined) {
    // No -m: each port speaks the protocol its well-known number implies; the others stay raw (the original's default).
    portModes = o.port.map(wellKnownMode);
    mode = portModes.find((m) => m !== 'raw') ?? 'raw';
  }
  if (mode === undefined) throw new UsageError('say which port to watch (-p PORT) or which protocol (-m MODE); tcpkit -h lists every flag');
  if (!READY_MODES.includes(mode)) throw new UsageError(`-m ${mode} is not supported yet (modes today: ${READY_MODES.join(', ')})`);
  if ((mode === 'redis' || mode === 'http' || mode === 'kafka' || mode === 'mysql' || mode === 'pgsql') && o.udp) throw new UsageError(`-u: ${mode} runs over TCP; -u watches UDP only, for the raw, dns and memcached modes`);
  if (o.port === undefined && DEFAULT_PORT[mode] === undefined) throw new UsageError(`say which port to watch (-p PORT): ${mode} mode has no usual port`);
  if (o.json && mode === 'raw' && (portModes === undefined || portModes.every((m) => m === 'raw'))) throw new UsageError('--json writes one object per request and response; -m raw has none (choose -m or a well-known -p)');
  if (o.statsAddr !== undefined && o.statsPort === undefined) throw new UsageError('--stats-addr is where the stats port (-P) listens; give -P too');
  if (o.daemon && o.output === undefined) throw new UsageError('-d needs -o FILE: in the background there is no terminal to write to');
  if (o.topSpeed && !o.top) throw new UsageError('--top-speed is how --top replays -r; give --top too');
  if (o.topSpeed && o.read === undefined) throw new UsageError('--top-speed is for -r: a live capture goes at its own speed');
  if (o.top && o.daemon) throw new UsageError('--top draws on the terminal; -d runs without one');
  if (o.top && o.script !== undefined && o.output === undefined) throw new UsageError('--top fills the terminal: send the script\'s output to a file with -o FILE');
  const ports = o.port ?? [DEFAULT_PORT[mode] as number];
  const modes = portModes ?? ports.map(() => mode);
  return {
    mode,
    ports,
    portModes: modes,
    servers: o.server ?? [],
    serverNames: raw.server === undefined ? [] : raw.server.split(',').map((t) => t.trim()),
    readFile: o.read,
    writeFile: o.write,
    bufferBytes: o.buffer === undefined ? undefined : o.buffer * 1024,
    ebpf: o.ebpf ?? false,
    iface: o.interface ?? 'any',
    thresholdMs: o.threshold ?? 0,
    udp: o.udp ?? false,
    transport: o.udp ? 'udp' : modes.some((m) => m === 'dns' || m === 'memcached') ? 'both' : 'tcp',
    outputFile: o.output,
    timeoutSec: o.timeout ?? 10,
    maxConnections: o.maxConnections ?? 1_000_000,
    scriptFile: o.script,
    statsPort: o.statsPort,
    statsAddr: o.statsAddr ?? '127.0.0.1',
    json: o.json ?? false,
    redact: o.redact ?? false,
    daemon: o.daemon ?? false,
    pidFile: o.pidFile ?? (o.daemon ? DEFAULT_PID_FILE : undefined),
    relinquishTo: o.user,
    top: o.top ?? false,
    topSpeed: o.topSpeed ?? false,
  };
}

#!/usr/bin/env node
// The tcpkit command. Declares the flags, builds the run, and is the one place
// that exits the process.
// First: SIGINT and SIGTERM are caught from here on (see lifecycle.ts).
import { stopOnSignal, stopSignal } from './lifecycle';
import { relinquishPrivileges, targetUser } from './privileges';
import { Command, CommanderError } from 'commander';
import { buildConfig, MODES, UsageError, type Config, type RawOptions } from './config';
import { PcapFileEngine } from '../engine/pcap-file';
import { openLiveEngine, type EbpfEngine, type PcapLiveEngine } from '../engine/live';
import { CaptureFileWriter } from '../output/capture-file';
import { Pipeline } from '../pipeline';
import { respParser } from '../protocol/resp';
import { memcachedParser } from '../protocol/memcached';
import { httpParser } from '../protocol/http';
import { dnsParser } from '../protocol/dns';
import { mysqlParser } from '../protocol/mysql';
import { pgsqlParser } from '../protocol/pgsql';
import { LineOutput } from '../output/lines';
import { JsonLineOutput } from '../output/json-lines';
import { RawPacketOutput } from '../output/raw';
import { counterPhrases, renderSummary } from '../output/summary';
import { FdWriter } from '../output/writer';
import type { LuaHost } from '../lua/host';
import { RunReport } from './report';
import { DaemonChild, daemonize, isDaemonChild } from './daemon';
import type { Output, PacketSink } from '../pairing/consumer';
import type { ParserFactory } from '../protocol/message';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = require('../../../package.json').version;

/** -s and -p may be given more than once; the values add up. */
const list = (value: string, previous?: string): string => (previous === undefined ? value : `${previous},${value}`);

function program(): Command {
  return new Command('tcpkit')
    .description('Capture TCP/UDP, pair each request with its response, print the slow ones.')
    .option('-s, --server <ips>', 'server addresses to watch, e.g. 10.0.0.5,fd00::5 (needed on the client side)', list)
    .option('-p, --port <ports>', 'server ports to watch, e.g. 6379,6380 (default: the mode\'s usual port)', list)
    .option('-P, --stats-port [port]', 'serve latency stats (JSON, Prometheus /metrics) on this port (default: 33333)')
    .option('--stats-addr <ip>', 'address the stats port listens on (default: 127.0.0.1)')
    .option('-i, --interface <name>', 'network interface to capture on (default: any)')
    .option('-d, --daemon', 'run in the background (needs -o)')
    .option('--pid-file <file>', 'write the process id here (default with -d: /run/tcpkit.pid)')
    .option('-r, --read <file>', 'read packets from a pcap or pcapng file')
    .option('-t, --threshold <ms>', 'print only requests this slow or slower, in milliseconds (default: 0, all)')
    .option('-m, --mode <mode>', `protocol: ${MODES.join(', ')}`)
    .option('-w, --write <file>', 'write captured packets to a pcap file')
    .option('-S, --script <file>', 'Lua script called for every packet')
    .option('-B, --buffer <KiB>', 'capture buffer size, in KiB')
    .option('-o, --output <file>', 'write lines to this file instead of standard output (reopened on SIGHUP)')
    .option('-u, --udp', 'watch UDP instead of TCP')
    .option('--ebpf', 'capture with eBPF: ports are filtered in the kernel')
    .option('--json', 'one JSON object per request instead of the text line (NDJSON)')
    .option('--redact', 'write values in requests as ? (SQL literals, Redis arguments after the key, query-string values)')
    .option('--timeout <seconds>', 'report a request as unanswered after this long (default: 10)')
    .option('--max-connections <n>', 'most connections tracked at once (default: 1000000)')
    .option('-Z, --user <name>', 'once the capture is attached, run as this user instead of root')
    .version(VERSION, '-v, --version')
    .helpOption('-h, --help')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
}

/** Where packets come from: a file (-r), or a live engine (eBPF or libpcap). */
function openEngine(config: Config): { engine: PcapFileEngine | EbpfEngine | PcapLiveEngine; source: string } {
  if (config.readFile !== undefined) {
    const engine = new PcapFileEngine(config.readFile);
    const notice = engine.linkNotice();
    if (notice !== null) process.stderr.write(`tcpkit: ${notice}\n`);
    return { engine, source: config.readFile };
  }
  const { engine, notice } = openLiveEngine(
    {
      iface: config.iface,
      ports: config.ports,
      servers: config.servers,
      serverNames: config.serverNames,
      transport: config.transport,
      snaplen: config.ebpf ? 16360 : 65535,
      bufferBytes: config.bufferBytes,
      wantEmpty: config.mode === 'raw' || config.scriptFile !== undefined,
    },
    config.ebpf,
  );
  // Nobody should have to guess which engine runs.
  process.stderr.write(`tcpkit: ${notice}\n`);
  return { engine, source: config.iface };
}

async function run(config: Config, daemon: DaemonChild | null): Promise<number> {
  const report = await RunReport.open(config, VERSION, daemon);
  try {
    return await watch(config, report);
  } finally {
    await report.close();
  }
}

async function watch(config: Config, report: RunReport): Promise<number> {
  const runAs = config.relinquishTo === undefined ? null : targetUser(config.relinquishTo);
  // A daemon adds to its log; in the foreground -o replaces the file, as > would.
  const writer = config.outputFile ? FdWriter.toFile(config.outputFile, config.daemon) : new FdWriter(1);
  // The script is loaded (and refused, if it cannot run) before capture starts;
  // fengari itself only then (it takes ~100 ms to load).
  const lua: LuaHost | null =
    config.scriptFile === undefined
      ? null
      : // eslint-disable-next-line @typescript-eslint/no-require-imports
        (require('../lua/host') as typeof import('../lua/host')).LuaHost.open(config.scriptFile, writer, config.mode);
  const { engine, source } = openEngine(config);
  const stats = report.stats;
  const outputs: Output[] = [stats];
  let parserFactory: ParserFactory | null = null;
  let raw: PacketSink | null = null;
  if (config.mode === 'raw') {
    raw = lua ?? new RawPacketOutput(writer);
  } else {
    const parsers = { redis: respParser, memcached: memcachedParser, http: httpParser, dns: dnsParser, mysql: mysqlParser, pgsql: pgsqlParser } as const;
    parserFactory = parsers[config.mode];
    // A script's output replaces tcpkit's lines.
    outputs.push(lua ?? (config.json ? new JsonLineOutput(writer, stats.commands, config.thresholdMs) : new LineOutput(writer, config.thresholdMs)));
    if (lua?.wantsPackets) raw = lua;
  }
  const pipeline = new Pipeline(config, outputs, parserFactory, raw);
  let onBatch = pipeline.onBatch;
  let capture: CaptureFileWriter | null = null;
  if (config.writeFile !== undefined && !(engine instanceof PcapFileEngine)) {
    const file = new CaptureFileWriter(config.writeFile, engine.linkType, config.ebpf ? 16360 : 65535);
    capture = file;
    onBatch = (buf, used) => {
      file.write(buf, used);
      pipeline.onBatch(buf, used);
    };
  }

  // Everything tcpkit writes is open and the capture attached: root is no longer needed.
  if (runAs !== null) relinquishPrivileges(runAs);
  const stop = (): void => engine.stop();
  stopOnSignal(stop);
  writer.onReaderGone = stop;

  report.attach(pipeline, engine, source, writer, lua === null ? {} : { luaErrors: () => lua.luaErrors });
  const started = process.hrtime.bigint();
  // Live: time passes without packets too (timeouts, idle connections).
  const clock = engine instanceof PcapFileEngine ? null : setInterval(() => {
    pipeline.clock(Math.floor(Date.now() / 1000));
    const lost = engine.lossNotice(Date.now());
    if (lost !== null) process.stderr.write(`tcpkit: ${lost}\n`);
  }, 1000);
  try {
    await engine.run(onBatch);
  } finally {
    if (clock !== null) clearInterval(clock);
    capture?.close();
  }
  report.stopProgress();
  pipeline.finish();
  for (const o of outputs) o.flush();
  raw?.flush();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  const c = pipeline.counters;
  const tc = pipeline.table.counters;
  const header = [
    `tcpkit: ${engine.name} ${source}: ${c.records} packets in ${seconds.toFixed(2)} s, ` +
      `${c.matched} to or from ${config.mode === 'raw' ? 'the watched ports' : `${config.mode} on port ${config.ports.join(',')}`}, ` +
      `${tc.opened} connections`,
  ];
  if (!(engine instanceof PcapFileEngine)) header.push(`tcpkit: ${engine.describeCounters()}`);
  if (capture !== null) header.push(`tcpkit: wrote ${capture.packets} packets to ${capture.file}`);
  const counters = report.counters();
  const problems = counterPhrases(counters);
  if (config.mode !== 'raw' || problems.length > 0) {
    const summary = config.mode === 'raw' ? header.concat(problems).join('\n') + '\n' : renderSummary(stats, header, counters);
    process.stderr.write(summary);
  }
  let code = 0;
  const ended = engine instanceof PcapFileEngine ? engine.endMessage() : null;
  if (ended !== null && stopSignal() === null) {
    process.stderr.write(`tcpkit: ${ended}\n`);
    code = 1;
  }
  // What went to stderr goes to a daemon's output file too: close it last.
  for (const o of outputs) o.close();
  raw?.close();
  return code;
}

async function main(argv: string[]): Promise<number> {
  const cmd = program();
  try {
    cmd.parse(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0; // --help, --version
      process.stderr.write(`tcpkit: ${err.message.replace(/^error: /, '')}\n`);
      return 2;
    }
    throw err;
  }
  const config = buildConfig(cmd.opts<RawOptions>());
  if (config.daemon && !isDaemonChild()) return daemonize(argv, config.outputFile!, config.pidFile!);
  return run(config, config.daemon ? new DaemonChild() : null);
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: NodeJS.ErrnoException) => {
    if (err instanceof UsageError) {
      for (const line of err.message.split('\n')) process.stderr.write(`tcpkit: ${line}\n`);
      process.exitCode = 2;
    } else if (err.code === 'ENOENT' || err.code === 'EBADCAPTURE' || err.code === 'EISDIR' || err.code === 'EIO' || err.code === 'ENOADDON' || err.code === 'EACCES' ||
      err.code === 'ENODEV' || err.code === 'EPERM' || err.code === 'EPCAP' || err.code === 'EFILTER' || err.code === 'ECAPTURE' || err.code === 'EBPF' ||
      err.code === 'ESCRIPT' || err.code === 'ESTATS' || err.code === 'EDAEMON' || err.code === 'EOUTPUT' || err.code === 'EPRIVILEGE') {
      process.stderr.write(`tcpkit: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`tcpkit: internal error: ${err.message}\n`);
      if (process.env.TCPKIT_DEBUG) process.stderr.write(`${err.stack}\n`);
      process.exitCode = 70;
    }
  },
);

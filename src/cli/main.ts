#!/usr/bin/env -S node --no-concurrent-recompilation
// The tcpkit command. Declares the flags, builds the run, and is the one place
// that exits the process.
// First: SIGINT and SIGTERM are caught from here on (see lifecycle.ts), and
// V8 is set for a long run (v8-flags.ts; the #! line above carries the one
// setting that must be given on node's command line).
import './v8-flags';
import { stopOnSignal, stopSignal } from './lifecycle';
import { relinquishPrivileges, targetUser } from './privileges';
import { Command, CommanderError } from 'commander';
import { buildConfig, ebpfAttach, MODES, portModesNotice, UsageError, WELL_KNOWN_PORTS, type Config, type Mode, type RawOptions } from './config';
import { PcapFileEngine } from '../engine/pcap-file';
import { EbpfEngine, openLiveEngine, type PcapLiveEngine } from '../engine/live';
import { native } from '../engine/native';
import { CaptureFileWriter } from '../output/capture-file';
import { Pipeline } from '../pipeline';
import { respParser } from '../protocol/resp';
import { memcachedParser } from '../protocol/memcached';
import { httpParser } from '../protocol/http';
import { dnsParser } from '../protocol/dns';
import { kafkaParser } from '../protocol/kafka';
import { mysqlParser } from '../protocol/mysql';
import { pgsqlParser } from '../protocol/pgsql';
import { LineOutput } from '../output/lines';
import { JsonLineOutput } from '../output/json-lines';
import { RawPacketOutput } from '../output/raw';
import { counterPhrases, packetsPhrase, plural, renderSummary } from '../output/summary';
import { FdWriter } from '../output/writer';
import type { LuaHost } from '../lua/host';
import { RunReport } from './report';
import { LiveClock } from './live-clock';
import { versionReport } from './version';
import { DaemonChild, daemonize, isDaemonChild } from './daemon';
import type { Output, PacketSink } from '../pairing/consumer';
import type { ParserFactory, StreamParser } from '../protocol/message';

/** A raw port among decoded ones: its packets are printed raw, not parsed. */
const NOT_PARSED: StreamParser = { feed() {}, skip: () => true, reset() {}, flushPartial: () => false };
import { PacedFileEngine } from '../top/replay';
import { RecordField } from '../engine/record';
import { requireTerminal, startTop, topModel } from './top';

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
    .option('-m, --mode <mode>', `protocol: ${MODES.join(', ')} (default: each port's well-known protocol, ${WELL_KNOWN_PORTS}; raw for other ports)`)
    .option('-w, --write <file>', 'write captured packets to a pcap file')
    .option('-S, --script <file>', 'Lua script called for every packet')
    .option('-B, --buffer <KiB>', 'capture buffer size, in KiB (default: 16384, the eBPF ring buffer or the libpcap buffer)')
    .option('-o, --output <file>', 'write lines to this file instead of standard output: replaced, or appended with -d; reopened on SIGHUP')
    .option('-u, --udp', 'watch UDP only (raw, dns and memcached modes)')
    .option('--ebpf', 'capture with eBPF: ports are filtered in the kernel')
    .option('--json', 'one JSON object per request instead of the text line (NDJSON)')
    .option('--redact', 'write values in requests as ? (SQL literals, Redis arguments after the key, query-string values)')
    .option('--timeout <seconds>', 'report a request as unanswered after this long (default: 10)')
    .option('--max-connections <n>', 'most connections tracked at once (default: 1000000)')
    .option('-Z, --user <name>', 'once the capture is attached, run as this user instead of root')
    .option('-v, --version', 'print the version, and what this host offers each engine (libraries, kernel, capabilities)')
    .option('--top', 'a live full-screen view of what is slow instead of lines (needs a terminal)')
    .option('--top-speed', 'with --top and -r: replay as fast as possible, not at the capture\'s pace')
    .helpOption('-h, --help')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
}

type FileEngine = PcapFileEngine | PacedFileEngine;
function isFile(engine: FileEngine | EbpfEngine | PcapLiveEngine): engine is FileEngine {
  return engine instanceof PcapFileEngine || engine instanceof PacedFileEngine;
}

/** Where packets come from: a file (-r; at the capture's pace for --top), or a live engine (eBPF or libpcap). */
function openEngine(config: Config, modes: string | null, luaWantsPackets: boolean): { engine: FileEngine | EbpfEngine | PcapLiveEngine; source: string } {
  if (config.readFile !== undefined) {
    const engine = config.top && !config.topSpeed ? new PacedFileEngine(config.readFile) : new PcapFileEngine(config.readFile);
    const notice = engine.linkNotice();
    if (notice !== null) process.stderr.write(`tcpkit: ${notice}\n`);
    // What each port is decoded as, once.
    if (modes !== null) process.stderr.write(`tcpkit: ${modes}\n`);
    return { engine, source: config.readFile };
  }
  const { engine, notice } = openLiveEngine(
    {
      iface: config.iface,
      ports: config.ports,
      servers: config.servers,
      serverNames: config.serverNames,
      transport: config.transport,
      snaplen: 65535,
      bufferBytes: config.bufferBytes,
      wantEmpty: config.mode === 'raw' || config.portModes.includes('raw') || config.scriptFile !== undefined || config.writeFile !== undefined,
      // What sees whole packets gets them; the parsers need only payloads.
      wantFull: config.mode === 'raw' || config.portModes.includes('raw') || luaWantsPackets || config.writeFile !== undefined,
      flowSlots: config.maxConnections,
      ebpfAttach: ebpfAttach(process.env.TCPKIT_EBPF_ATTACH),
    },
    config.ebpf,
  );
  // Nobody should have to guess which engine runs, nor what each port is decoded as.
  process.stderr.write(`tcpkit: ${notice}${modes !== null ? `; ${modes}` : ''}\n`);
  return { engine, source: config.iface };
}

async function run(config: Config, daemon: DaemonChild | null, modes: string | null): Promise<number> {
  const report = await RunReport.open(config, VERSION, daemon);
  try {
    return await watch(config, report, modes);
  } finally {
    await report.close();
  }
}

async function watch(config: Config, report: RunReport, modes: string | null): Promise<number> {
  const runAs = config.relinquishTo === undefined ? null : targetUser(config.relinquishTo);
  // A daemon adds to its log; in the foreground -o replaces the file, as > would.
  const writer = config.outputFile ? FdWriter.toFile(config.outputFile, config.daemon) : new FdWriter(1);
  // The script is loaded (and refused, if it cannot run) before capture starts;
  // fengari itself only then (it takes ~100 ms to load).
  const lua: LuaHost | null =
    config.scriptFile === undefined
      ? null
      : // eslint-disable-next-line @typescript-eslint/no-require-imports
        (require('../lua/host') as typeof import('../lua/host')).LuaHost.open(config.scriptFile, writer, config.mode, { servers: config.servers });
  // -w is opened before the engine announces the capture: a path that cannot be written is refused first.
  const capture = config.writeFile !== undefined && config.readFile === undefined ? new CaptureFileWriter(config.writeFile) : null;
  let engineOpened: ReturnType<typeof openEngine>;
  try {
    engineOpened = openEngine(config, modes, lua !== null && (config.mode === 'raw' || lua.wantsPackets));
  } catch (e) {
    capture?.close();
    throw e;
  }
  const { engine, source } = engineOpened;
  const stats = report.stats;
  const outputs: Output[] = [stats];
  let parserFactory: ParserFactory | null = null;
  let raw: PacketSink | null = null;
  const mixed = config.portModes.some((m) => m !== config.mode);
  // --top has the terminal: lines only where -o sends them.
  const lines = !config.top || config.outputFile !== undefined;
  if (config.mode === 'raw') {
    raw = lua ?? (lines ? new RawPacketOutput(writer) : null);
  } else {
    const parsers = { redis: respParser, memcached: memcachedParser, http: httpParser, dns: dnsParser, kafka: kafkaParser, mysql: mysqlParser, pgsql: pgsqlParser } as const;
    parserFactory = parsers[config.mode];
    if (mixed) {
      // Several ports without -m: each connection is parsed as its server port's protocol.
      const byPort = new Map<number, Mode>();
      config.portModes.forEach((m, i) => byPort.set(config.ports[i], m));
      parserFactory = (conn, fromClient, sink) => {
        const m = byPort.get(conn.sport) ?? config.mode;
        return m === 'raw' ? NOT_PARSED : parsers[m](conn, fromClient, sink);
      };
      if (config.portModes.includes('raw') && lua === null) {
        // The raw ports' packets are printed as raw mode prints them.
        const rawPorts = new Set(config.ports.filter((_, i) => config.portModes[i] === 'raw'));
        const out = new RawPacketOutput(writer);
        raw = {
          packet: (p, buf, fromClient) => {
            if (rawPorts.has(fromClient ? p.dport : p.sport)) out.packet(p, buf, fromClient);
          },
          flush: () => out.flush(),
          close: () => {},
        };
      }
    }
    // A script's output replaces tcpkit's lines.
    if (lua !== null || lines) outputs.push(lua ?? (config.json ? new JsonLineOutput(writer, stats.commands, config.thresholdMs) : new LineOutput(writer, config.thresholdMs)));
    if (lua?.wantsPackets) raw = lua;
  }
  // After the statistics: it reads the command id they gave each transaction.
  const top = config.top ? topModel(config, stats, () => report.counters()) : null;
  if (top !== null) outputs.push(top);
  const pipeline = new Pipeline(config, outputs, parserFactory, raw);
  let onBatch = pipeline.onBatch;
  let onSamples = pipeline.onSamples;
  if (top !== null && isFile(engine)) {
    // The view's clock is the capture's: a batch's first record tells where it is.
    onBatch = (buf, used) => {
      top.observe(buf.readUInt32LE(RecordField.TsSec), buf.readUInt32LE(RecordField.TsNsec));
      pipeline.onBatch(buf, used);
    };
  }
  if (capture !== null) {
    const file = capture;
    file.start(engine.linkType, 65535);
    onBatch = (buf, used) => {
      file.write(buf, used);
      pipeline.onBatch(buf, used);
    };
    onSamples = (data, start, end, offSec, offNsec) => {
      file.writeSamples(data, start, end, offSec, offNsec);
      pipeline.onSamples(data, start, end, offSec, offNsec);
    };
  }

  // Everything tcpkit writes is open and the capture attached: root is no longer needed.
  if (runAs !== null) {
    // Files tcpkit writes belong to the user it runs as, so that a rotated -o can be opened again.
    if (writer.path !== null) writer.chown(runAs.uid, runAs.gid);
    capture?.chown(runAs.uid, runAs.gid);
    report.beforeRelinquish();
    relinquishPrivileges(runAs);
  }
  const stop = (): void => engine.stop();
  stopOnSignal(stop);
  writer.onReaderGone = stop;

  report.attach(pipeline, engine, source, writer, lua === null ? {} : { luaErrors: () => lua.luaErrors });
  const started = process.hrtime.bigint();
  // Live: the once-a-second clock (cli/live-clock.ts); it stops while there
  // is nothing to expire and nothing to tell, and the next packets start it.
  const clock = isFile(engine) ? null : new LiveClock(pipeline, engine, (line) => process.stderr.write(`tcpkit: ${line}\n`));
  if (clock !== null) {
    clock.start();
    const batches = onBatch;
    const samples = onSamples;
    onBatch = (buf, used) => {
      clock.start();
      batches(buf, used);
    };
    onSamples = (data, start, end, offSec, offNsec) => {
      clock.start();
      samples(data, start, end, offSec, offNsec);
    };
  }
  const view = top === null ? null : startTop(config, top, engine, source, stop);
  try {
    await engine.run(onBatch, onSamples);
    // The last screen of a file stays until q.
    if (view !== null && isFile(engine)) await view.ended(`${engine.endMessage() ?? `end of ${source}`}: q quits`);
  } finally {
    clock?.stop();
    capture?.close();
    view?.stop();
  }
  if (view?.failure) throw view.failure;
  report.stopProgress();
  pipeline.finish();
  for (const o of outputs) o.flush();
  raw?.flush();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  const c = pipeline.counters;
  const tc = pipeline.table.counters;
  const undecoded = c.undecoded.reduce((a, b) => a + b, 0);
  const watched = config.mode === 'raw'
    ? 'the watched ports'
    : mixed
      ? config.ports.map((p, i) => `port ${p} (${config.portModes[i]})`).join(', ')
      : `${config.mode} on port ${config.ports.join(',')}`;
  const header = [
    `tcpkit: ${engine.name} ${source}: ${plural(c.records, 'packet')} in ${seconds.toFixed(2)} s: ` +
      `${packetsPhrase(c.records, c.matched, parserFactory === null ? -1 : c.withoutPayload, tc.strayPackets, undecoded, watched)}; ` +
      `${plural(tc.opened, 'connection')}`,
  ];
  if (!isFile(engine)) header.push(`tcpkit: ${engine.describeCounters()}`);
  if (engine instanceof EbpfEngine) {
    // The program names each flow in an LRU map sized by --max-connections; past that it forgets the oldest.
    const k = engine.kernelCounters();
    if (k.noFlow > 0 || tc.flowsRenamed > 0) {
      header.push(`tcpkit: ebpf flow map full at times (--max-connections sizes it): ${plural(k.noFlow, 'packet')} without a flow id, ` +
        `${plural(tc.flowsRenamed, 'new id')} for connections it had forgotten; found by their addresses instead`);
    }
  }
  if (capture !== null) header.push(`tcpkit: wrote ${capture.packets} packets to ${capture.file}`);
  const counters = report.counters();
  const problems = counterPhrases(counters);
  // Raw mode (and -S without -m) has no requests to count, but the engine's counts and the script's errors still matter.
  const summary = config.mode === 'raw' ? header.concat(problems.length > 0 ? [problems.join(', ')] : []).join('\n') + '\n' : renderSummary(stats, header, counters);
  process.stderr.write(summary);
  let code = 0;
  const ended = isFile(engine) ? engine.endMessage() : null;
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
      if (err.exitCode === 0) return 0; // --help
      process.stderr.write(`tcpkit: ${err.message.replace(/^error: /, '')}\n`);
      return 2;
    }
    throw err;
  }
  if (cmd.opts().version === true) {
    const report = versionReport(VERSION);
    process.stdout.write(report.text);
    return report.ok ? 0 : 1;
  }
  const opts = cmd.opts<RawOptions>();
  const config = buildConfig(opts);
  if (config.top) requireTerminal();
  if (config.daemon && !isDaemonChild()) return daemonize(argv, config.outputFile!, config.pidFile!);
  return run(config, config.daemon ? new DaemonChild() : null, portModesNotice(config, opts.mode !== undefined || opts.script !== undefined));
}

/**
 * Everything is written: only node's shutdown is left. It can deadlock in
 * node 20 (nodejs/node#54918, seen after SIGINT under heavy --ebpf load), so
 * a native thread ends the process with its code if it is still there 1 s on.
 */
function exitSoon(code: number): void {
  try {
    native().exitWatchdog(1000, code);
  } catch {
    // No addon (its own error was already told): nothing can hang on it either.
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
    exitSoon(code);
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
    exitSoon(process.exitCode as number);
  },
);

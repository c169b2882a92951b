// What a run reports besides its lines, and how it lives: the statistics and
// the stats port (-P), the progress bar (-r on a terminal), -o following
// SIGHUP, the pid file, and the daemon's start (-d). main.ts opens one of
// these before the engine, attaches the pipeline once it exists, and closes
// it at the end.
import { Stats } from '../stats/stats';
import type { RunCounters } from '../stats/counters';
import { seedJson, fullJson, type RunInfo } from '../stats/stats-json';
import { StatsServer } from '../stats/stats-server';
import { ProgressBar } from '../output/progress';
import { PcapFileEngine } from '../engine/pcap-file';
import { DaemonChild, PidFile, reopenOnHangup } from './daemon';
import type { FdWriter } from '../output/writer';
import type { Engine } from '../engine/engine';
import { snapshotCounters, type ExtraCounters, type Pipeline } from '../pipeline';
import type { Config } from './config';

/** The counters before there is a pipeline to count (a scrape while starting). */
const NOTHING_YET: RunCounters = {
  packetsSeen: 0, packetsLost: 0, packetsDelivered: 0, packetsMatched: 0, packetsUndecoded: 0, packetsUndecodedBy: [],
  requestPackets: 0, responsePackets: 0, requestBytes: 0, responseBytes: 0,
  connectionsOpen: 0, connectionsOpened: 0, connectionsClosed: 0, connectionsExpired: 0, connectionsRefused: 0, connectionsEvicted: 0,
  parserResets: 0, gaps: 0, segmentsReordered: 0, ipFragments: 0, datagramsReassembled: 0, fragmentsDropped: 0, orphanResponses: 0, serverPushes: 0, connectionsEncrypted: 0, requestsDropped: 0, answeredIncomplete: 0, requestsWaiting: 0, luaErrors: 0,
};

export class RunReport {
  readonly stats: Stats;
  private readonly info: RunInfo;
  private server: StatsServer | null = null;
  private progress: ProgressBar | null = null;
  private pidFile: PidFile | null = null;
  private stopHangup: (() => void) | null = null;
  /** The run's counters now; attach() points it at the pipeline and engine. */
  counters: () => RunCounters = () => NOTHING_YET;

  private constructor(
    private readonly config: Config,
    version: string,
    /** Set in a daemon's child: told when the run is ready. */
    private readonly daemon: DaemonChild | null,
  ) {
    this.stats = new Stats(config.mode, config.ports, config.thresholdMs);
    this.info = { version, engine: '', source: '' };
  }

  /**
   * The statistics, the pid file, and the stats port listening when -P asks:
   * before any capture starts, so that a tcpkit already running with this pid
   * file, or a port in use, stops the run first.
   */
  static async open(config: Config, version: string, daemon: DaemonChild | null): Promise<RunReport> {
    const report = new RunReport(config, version, daemon);
    if (config.pidFile !== undefined) {
      report.pidFile = new PidFile(config.pidFile);
      report.pidFile.write();
    }
    if (config.statsPort !== undefined) {
      // prom-client takes ~100 ms to load: only when it is used.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { PrometheusReport } = require('../stats/prometheus') as typeof import('../stats/prometheus');
      const prom = new PrometheusReport(report.stats, () => report.counters(), report.info);
      report.server = await StatsServer.listen(
        {
          seed: () => seedJson(report.stats, report.counters()),
          json: () => fullJson(report.stats, report.counters(), report.info),
          metrics: () => prom.render(),
          metricsContentType: prom.contentType,
        },
        { host: config.statsAddr, port: config.statsPort },
      ).catch((e: Error) => {
        report.pidFile?.remove();
        throw e;
      });
    }
    return report;
  }

  /**
   * The run is about to start: counters come from the pipeline and engine,
   * the progress bar and SIGHUP are set up, and a daemon's parent is told to go.
   */
  attach(pipeline: Pipeline, engine: Engine, source: string, writer: FdWriter, extra: ExtraCounters = {}): void {
    this.info.engine = engine.name;
    this.info.source = source;
    this.counters = () => snapshotCounters(pipeline, engine, extra);
    // Under --top the view shows how far the file is read.
    if (engine instanceof PcapFileEngine && ProgressBar.wanted(process.stderr) && this.daemon === null && !this.config.top) {
      const bar = new ProgressBar(engine, process.stderr);
      // Lines to the same terminal: the bar steps aside first.
      if (writer.path === null && process.stdout.isTTY) writer.beforeWrite = () => bar.clear();
      bar.start();
      this.progress = bar;
    }
    if (writer.path !== null) this.stopHangup = reopenOnHangup(writer);
    this.daemon?.ready(writer, this.config.json);
  }

  /** tcpkit is about to run as another user (-Z): the pid file is still removed at the end. */
  beforeRelinquish(): void {
    this.pidFile?.removeAsRootAtExit();
  }

  /** Reading is over (the bar goes before the summary is printed). */
  stopProgress(): void {
    this.progress?.stop();
    this.progress = null;
  }

  async close(): Promise<void> {
    this.stopProgress();
    this.stopHangup?.();
    await this.server?.close();
    this.pidFile?.remove();
  }
}

// The live engines: eBPF (--ebpf) and libpcap, and the choice between them.
//
// libpcap runs a native capture thread that hands over one batch at a time;
// eBPF has no thread: its ring buffer is read in place on a timer, or when
// the program wakes the reader (engine/ring.ts, EbpfEngine.run). The run()
// promise settles when capture has ended (stop(), or an error).
import { native, type EbpfAttach, type EbpfCaptureHandle, type EbpfCounters, type LiveBatchCallback, type PcapLiveCaptureHandle } from './native';
import type { BatchHandler, Engine, EngineCounters, SampleHandler } from './engine';
import { RingReader } from './ring';
import type { Endpoint } from '../config';

export interface LiveOptions {
  iface: string;
  ports: readonly number[];
  servers: readonly Endpoint[];
  /** The same servers as the user wrote them, for the libpcap filter. */
  serverNames: readonly string[];
  transport: 'tcp' | 'udp' | 'both';
  snaplen: number;
  /** -B in bytes, or undefined for the engine's default. */
  bufferBytes: number | undefined;
  /** Keep segments without payload (pure ACKs): raw mode and Lua need them. */
  wantEmpty: boolean;
  /** eBPF: whole packets from the IP header on (raw mode, Lua's packets, -w), not payloads. */
  wantFull?: boolean;
  /** eBPF: the kernel's flow map's size (default in bpf/sample.h). */
  flowSlots?: number;
  /** eBPF: where the program attaches (TCPKIT_EBPF_ATTACH; default auto). */
  ebpfAttach?: EbpfAttach;
}

export class CaptureError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** Losses during a capture are told at most this often (the summary has the total). */
const LOSS_NOTICE_MS = 10_000;

const EBPF_RING_DEFAULT = 16 << 20;
const PCAP_BUFFER_DEFAULT = 16 << 20;

/** The next power of two at or above n, at least one page: what a ring buffer takes. */
function ringSize(n: number): number {
  let size = 4096;
  while (size < n && size < 1 << 30) size *= 2;
  return size;
}

function serverBytes(e: Endpoint): Buffer {
  const b = Buffer.alloc(16);
  if (e.family === 4) {
    b[10] = b[11] = 0xff;
    b.writeUInt32BE(e.words[3], 12);
  } else {
    for (let i = 0; i < 4; i++) b.writeUInt32BE(e.words[i], i * 4);
  }
  return b;
}

/** The libpcap filter for the ports and servers: `tcp and (port 6379) and (host 10.0.0.5)`. */
export function pcapFilter(o: Pick<LiveOptions, 'ports' | 'serverNames' | 'transport'>): string {
  const proto = o.transport === 'both' ? '(tcp or udp)' : o.transport;
  const ports = o.ports.map((p) => `port ${p}`).join(' or ');
  let f = `${proto} and (${ports})`;
  if (o.serverNames.length > 0) f += ` and (${o.serverNames.map((s) => `host ${s}`).join(' or ')})`;
  return f;
}

export abstract class LiveEngine implements Engine {
  abstract readonly name: string;
  readonly endError: string | null = null;
  protected stopRequested = false;
  protected running = false;
  protected abstract readonly handle: EbpfCaptureHandle | PcapLiveCaptureHandle;
  /** Called when capture has ended, before run() settles. */
  onEnd: (() => void) | null = null;

  abstract run(onBatch: BatchHandler, onSamples?: SampleHandler): Promise<void>;
  abstract stop(): void;
  abstract counters(): EngineCounters;
  /** One line about what the engine counted, for the summary. */
  abstract describeCounters(): string;
  /** Where packets are lost when user space falls behind. */
  protected abstract readonly lossWhere: string;

  private lossesTold = 0;
  private lossToldAt = -Infinity;

  /** Losses no notice has told yet: the clock keeps running until one has. */
  get lossesUntold(): boolean {
    return this.counters().dropped > this.lossesTold;
  }

  /**
   * While capturing, called by tcpkit's clock (cli/live-clock.ts, once a
   * second while it runs): a line when packets were lost since the last such
   * line (at most one every LOSS_NOTICE_MS), so that losses are never silent
   * until the summary. Null when there is nothing new, or nothing new may be
   * told yet.
   */
  lossNotice(nowMs: number): string | null {
    if (nowMs - this.lossToldAt < LOSS_NOTICE_MS) return null;
    const lost = this.counters().dropped;
    if (lost <= this.lossesTold) return null;
    const line = `${this.name}: ${lost - this.lossesTold} packets lost (${this.lossWhere}), ${lost} since the start; a larger -B may help`;
    this.lossesTold = lost;
    this.lossToldAt = nowMs;
    return line;
  }
}

/**
 * How often the ring is drained. Each wake-up of the JavaScript thread costs
 * far more than a packet (its caches are cold after redis and its clients
 * ran): measured on unpipelined redis-benchmark traffic, draining every 5 ms
 * cost 44-49 CPU ticks per 200k requests, every 20 ms 32-33, every 50 ms
 * 27-32; later, once warm (4 alternating rounds, medians): every 40 ms 17,
 * every 100 ms 14.5, every 200 ms 11 (but on 2026-12-06, 12 alternating
 * rounds each, 250 ms was no cheaper than 100: medians 9 and 8 ticks). So
 * the ring is drained every DRAIN_MS, and at once when the program wakes the
 * reader because a quarter of it is unread: a burst does not wait for the
 * timer. (A drain that found the ring an eighth full also brought the next
 * one forward to 5 ms; with the wake-up that rule was no longer needed: at
 * -P 16, 1M GETs over a veth, 4 alternating rounds each, without it a median
 * of 32 ticks against 34.5 and 0 lost either way; through a 1 MiB ring,
 * 1,702-1,988 samples lost without it against 1,796-7,517 with it.) While idle
 * the reader sleeps, and the program wakes it with the first sample that
 * comes (its reader_sleeps flag): no wake-ups while nothing is watched (it
 * woke 20 times a second before, 0.4-0.5% of a core). Timestamps are the
 * kernel's: only when lines appear waits, never what they say.
 */
const DRAIN_MS = 100;
/** The first drain: soon after the start, so that the first lines do not wait. */
const FIRST_DRAIN_MS = 5;

export class EbpfEngine extends LiveEngine {
  readonly name = 'ebpf';
  protected readonly lossWhere = 'ring buffer full';
  protected readonly handle: EbpfCaptureHandle;
  readonly ringBytes: number;
  /** Whole packets (the record path) rather than payloads. */
  readonly full: boolean;
  private reader: RingReader | null = null;
  private timer: NodeJS.Timeout | null = null;
  private finish: (() => void) | null = null;
  /** CLOCK_REALTIME - CLOCK_MONOTONIC, refreshed about once a second. */
  private offSec = 0;
  private offNsec = 0;
  private offsetAt = -Infinity;
  private last: EbpfCounters | null = null;
  /** Samples handed to the pipeline. */
  delivered = 0;

  constructor(readonly options: LiveOptions) {
    super();
    this.ringBytes = ringSize(options.bufferBytes ?? EBPF_RING_DEFAULT);
    this.full = options.wantFull === true;
    try {
      this.handle = new (native().EbpfCapture)({
        iface: options.iface,
        ports: [...options.ports],
        servers: options.servers.map(serverBytes),
        l4proto: options.transport === 'tcp' ? 6 : options.transport === 'udp' ? 17 : 0,
        snaplen: options.snaplen,
        ringBytes: this.ringBytes,
        wantEmpty: options.wantEmpty,
        full: this.full,
        flows: options.flowSlots ?? 0,
        attach: options.ebpfAttach ?? 'auto',
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new CaptureError(err.message, err.code ?? 'EBPF');
    }
  }

  get linkType(): number {
    return this.handle.linkType;
  }

  /** How the program is attached, and why not with tcx when that was tried: for the line that says which engine runs. */
  get attachment(): string {
    const failure = this.handle.tcxFailure;
    return failure === '' ? this.handle.attached : `${this.handle.attached} [${failure}]`;
  }

  /** Reads the ring until stop(): `onSamples` gets each drain's samples, with the wall-clock offset. */
  run(_onBatch: BatchHandler, onSamples?: SampleHandler): Promise<void> {
    if (onSamples === undefined) throw new Error('the eBPF engine hands over samples: run() needs a SampleHandler');
    const reader = new RingReader(this.handle.ring());
    this.reader = reader;
    this.running = true;
    return new Promise<void>((resolve, reject) => {
      const handler = (data: Buffer, start: number, end: number): void => onSamples(data, start, end, this.offSec, this.offNsec);
      const drain = (): number => {
        const now = Date.now();
        if (now - this.offsetAt >= 1000) {
          // The wall clock may be stepped (NTP): follow it about once a second.
          const [sec, nsec] = this.handle.wallOffset();
          this.offSec = sec;
          this.offNsec = nsec;
          this.offsetAt = now;
        }
        const before = reader.bytes;
        reader.drain(handler);
        return reader.bytes - before;
      };
      const end = (error: Error | null): void => {
        if (this.timer !== null) clearTimeout(this.timer);
        this.timer = null;
        this.finish = null;
        this.running = false;
        this.last = this.handle.counters();
        this.handle.close();
        this.reader = null;
        this.onEnd?.();
        if (error !== null) reject(error);
        else resolve();
      };
      // Idle, the reader sleeps: it sets the program's reader_sleeps, looks at
      // the ring once more, and, when nothing at all is reserved there, waits
      // with no timer for the program to wake it (sleeper()). The program
      // looks at the flag again after each commit that did not wake the
      // reader (bpf/tcpkit.bpf.c, woken_if_asleep), so no sample is left
      // behind a sleeping reader. The program also wakes the reader while a
      // quarter of the ring is unread (a burst): then it drains at once,
      // whatever its timer says.
      let sleeping = false;
      const asleep = this.handle.sleeper(() => {
        if (sleeping) sleeping = false;
        else if (this.timer !== null) clearTimeout(this.timer);
        else return; // the last drain is already due (stop())
        tick();
      });
      // Only this thread writes the flag; the program only reads it.
      const sleeps = new Uint32Array(asleep.buffer, asleep.byteOffset, 1);
      const tick = (): void => {
        this.timer = null;
        let n: number;
        try {
          n = drain();
          if (n === 0 && !this.stopRequested && sleeps[0] === 0) {
            Atomics.store(sleeps, 0, 1);
            n = drain();
          }
          // Awake: the program goes back to submitting without wake-ups.
          if (n > 0 && sleeps[0] !== 0) Atomics.store(sleeps, 0, 0);
        } catch (e) {
          end(e as Error);
          return;
        }
        if (this.stopRequested) {
          end(null);
          return;
        }
        // Asleep only with nothing reserved: a record still being written
        // may have been reserved before the flag was set, and its commit
        // would not wake the reader. Then the timer comes back for it.
        if (n === 0 && !reader.pending) sleeping = true;
        else this.timer = setTimeout(tick, DRAIN_MS);
      };
      // stop(): one last drain of what the kernel already committed, then close.
      this.finish = () => {
        if (this.timer !== null || sleeping) {
          if (this.timer !== null) clearTimeout(this.timer);
          this.timer = null;
          sleeping = false;
          setImmediate(tick);
        }
      };
      this.timer = setTimeout(tick, FIRST_DRAIN_MS);
      if (this.stopRequested) this.finish();
    });
  }

  stop(): void {
    this.stopRequested = true;
    this.finish?.();
  }

  kernelCounters(): EbpfCounters {
    return this.running || this.last === null ? this.handle.counters() : this.last;
  }

  counters(): EngineCounters {
    const c = this.kernelCounters();
    return { seen: c.seen, packets: c.sent, dropped: c.lost };
  }

  describeCounters(): string {
    const c = this.kernelCounters();
    const unread = c.unread > 0 ? `, ${c.unread} not read (bpf_skb_load_bytes failed)` : '';
    return `ebpf: ${c.seen} packets seen in the kernel, ${c.matched} matched, ${c.skipped} pure ACKs left there, ${c.sent} sent up, ${c.lost} lost (ring buffer full)${unread}`;
  }
}

abstract class ThreadedLiveEngine extends LiveEngine {
  protected abstract override readonly handle: PcapLiveCaptureHandle;

  run(onBatch: BatchHandler): Promise<void> {
    this.running = true;
    return new Promise<void>((resolve, reject) => {
      const cb: LiveBatchCallback = (buf, used, error) => {
        if (buf !== null) {
          try {
            onBatch(buf, used);
          } catch (e) {
            this.stop();
            reject(e as Error);
          }
          return;
        }
        this.handle.close();
        this.running = false;
        this.onEnd?.();
        if (error !== undefined && !this.stopRequested) reject(new CaptureError(error, 'ECAPTURE'));
        else resolve();
      };
      this.handle.start(cb);
      if (this.stopRequested) this.handle.stop();
    });
  }

  stop(): void {
    this.stopRequested = true;
    if (this.running) this.handle.stop();
  }
}

export class PcapLiveEngine extends ThreadedLiveEngine {
  readonly name = 'libpcap';
  protected readonly lossWhere = 'capture buffer full, or dropped by the interface';
  protected readonly handle: PcapLiveCaptureHandle;
  readonly filter: string;

  constructor(readonly options: LiveOptions) {
    super();
    this.filter = pcapFilter(options);
    try {
      this.handle = new (native().PcapLiveCapture)({
        iface: options.iface,
        filter: this.filter,
        snaplen: options.snaplen,
        bufferBytes: options.bufferBytes ?? PCAP_BUFFER_DEFAULT,
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new CaptureError(err.message, err.code ?? 'EPCAP');
    }
  }

  get linkType(): number {
    return this.handle.linkType;
  }

  counters(): EngineCounters {
    const c = this.handle.counters();
    return { seen: c.received, packets: c.delivered, dropped: c.dropped + c.ifdropped };
  }

  describeCounters(): string {
    const c = this.handle.counters();
    return `libpcap: ${c.received} packets received by the filter, ${c.delivered} delivered, ${c.dropped} dropped (buffer full), ${c.ifdropped} dropped by the interface`;
  }
}

/**
 * libpcap, or the one line that says why it cannot capture: what is missing
 * (an interface, a privilege) in the user's words, the library's after.
 */
function openPcap(options: LiveOptions, ebpfFailure: string | null): PcapLiveEngine {
  try {
    return new PcapLiveEngine(options);
  } catch (e) {
    const err = e as CaptureError;
    if (err.code === 'ENODEV') throw new CaptureError(`-i ${options.iface}: no such interface`, 'ENODEV');
    if (err.code === 'EPERM') {
      throw new CaptureError(
        ebpfFailure === null
          ? `capturing on ${options.iface} needs root or CAP_NET_RAW; libpcap: ${err.message}`
          : `capturing on ${options.iface} needs root or CAP_NET_RAW, and CAP_BPF too for --ebpf; eBPF: ${ebpfFailure}; libpcap: ${err.message}`,
        'EPERM',
      );
    }
    throw new CaptureError(`${options.iface}: ${err.message}`, err.code);
  }
}

/** The engine for a live capture, and the line that says which one runs and why. */
export function openLiveEngine(options: LiveOptions, wantEbpf: boolean): { engine: EbpfEngine | PcapLiveEngine; notice: string } {
  const where = `on ${options.iface}, ${pcapFilter(options)}`;
  if (wantEbpf) {
    try {
      const engine = new EbpfEngine(options);
      return { engine, notice: `capturing with eBPF ${where} (${engine.attachment}, ring buffer ${engine.ringBytes >> 10} KiB)` };
    } catch (e) {
      const err = e as CaptureError;
      if (err.code === 'ENODEV') throw new CaptureError(`-i ${options.iface}: no such interface`, 'ENODEV');
      if (err.code !== 'EBPF') throw err;
      const engine = openPcap(options, err.message);
      return { engine, notice: `eBPF unavailable (${err.message}); capturing with libpcap ${where}` };
    }
  }
  const engine = openPcap(options, null);
  return { engine, notice: `capturing with libpcap ${where}` };
}

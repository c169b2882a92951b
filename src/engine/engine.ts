// engine/: capture. What every capture engine offers the pipeline: batches of
// records, nothing else (eBPF ring, libpcap live, pcap files). Imports only config.

/** Called once per batch: `buf[0, used)` holds records laid out as in bpf/record.h. */
export type BatchHandler = (buf: Buffer, used: number) => void;

/**
 * The eBPF engine's hand-over, once per drain of its ring: `data[start, end)`
 * holds ring records (engine/ring.ts), each an eBPF sample (bpf/sample.h)
 * stamped with CLOCK_MONOTONIC; add (offSec, offNsec) for the wall clock.
 */
export type SampleHandler = (data: Buffer, start: number, end: number, offSec: number, offNsec: number) => void;

export interface EngineCounters {
  /**
   * Packets the engine saw: eBPF, every packet on the interface, before the
   * kernel filter; libpcap, those its filter passed (ps_recv); a file, those read.
   */
  seen: number;
  /** Packets the engine delivered to user space. */
  packets: number;
  /** Packets the engine could not deliver (ring or buffer full), where it knows. */
  dropped: number;
}

export interface Engine {
  readonly name: string;
  /** Runs until the input ends or stop() is called; resolves then. The eBPF engine calls onSamples instead of onBatch. */
  run(onBatch: BatchHandler, onSamples?: SampleHandler): Promise<void>;
  stop(): void;
  counters(): EngineCounters;
  /** Why the input ended early (a truncated file), if it did. */
  readonly endError: string | null;
}

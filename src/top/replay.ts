// -r under --top: the file replayed at the speed it was captured, so that the
// view shows the traffic as it happened (rates per second, the sparklines, a
// slow request when it came). Records are handed to the pipeline when their
// time comes: a record captured t seconds after the first is delivered t
// seconds after the replay began. --top-speed reads as fast as it can
// instead (engine/pcap-file.ts, unchanged).
//
// The same reader as engine/pcap-file.ts (the addon's PcapFileReader); this
// engine only waits between the records. It lives here rather than in
// engine/ because only the view needs it.
import { native, type PcapFileReaderHandle } from '../engine/native';
import { LinkType, RecordField, nextRecord } from '../engine/record';
import type { BatchHandler, Engine, EngineCounters } from '../engine/engine';
import { endMessage, linkNotice } from '../engine/pcap-file';
import fs from 'node:fs';

/** Smaller than the file engine's 1 MiB: a batch is read ahead of its time. */
const BATCH_BYTES = 256 * 1024;
/** The longest wait in one go: stop() ends a wait at once anyway. */
const WAIT_MAX_MS = 1000;

export class PacedFileEngine implements Engine {
  readonly name = 'pcap-file';
  private readonly reader: PcapFileReaderHandle;
  private readonly batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
  private stopped = false;
  private wake: (() => void) | null = null;
  endError: string | null = null;
  readonly size: number;
  private endOffset = 0;
  /** Records handed to the pipeline (the reader is a batch ahead). */
  private delivered = 0;

  constructor(
    readonly file: string,
    /** A monotonic clock, ms. */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.reader = new (native().PcapFileReader)(file);
    this.size = fs.statSync(file).size;
  }

  get offset(): number {
    return this.reader.offset || this.endOffset;
  }

  get linkType(): number {
    return this.reader.linkType;
  }

  /** As PcapFileEngine.linkNotice(). */
  linkNotice(): string | null {
    return linkNotice(this.file, this.reader);
  }

  /** As PcapFileEngine.endMessage(). */
  endMessage(): string | null {
    return endMessage(this.file, this.reader, this.endError);
  }

  private wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, Math.max(1, Math.min(ms, WAIT_MAX_MS)));
      this.wake = () => {
        clearTimeout(t);
        this.wake = null;
        resolve();
      };
    });
  }

  async run(onBatch: BatchHandler): Promise<void> {
    const buf = this.batch;
    // The first record's capture time and when it was delivered: the rest follow at the same pace.
    let firstMs = -1;
    let startedMs = 0;
    try {
      while (!this.stopped) {
        const used = this.reader.read(buf);
        if (used === 0) break;
        let off = 0;
        while (off < used && !this.stopped) {
          const now = this.now();
          let end = off;
          let dueIn = 0;
          while (end < used) {
            const ms = buf.readUInt32LE(end + RecordField.TsSec) * 1000 + buf.readUInt32LE(end + RecordField.TsNsec) / 1e6;
            if (firstMs < 0) {
              firstMs = ms;
              startedMs = now;
            }
            dueIn = startedMs + (ms - firstMs) - now;
            if (dueIn > 0) break;
            end = nextRecord(end, buf.readUInt32LE(end + RecordField.CapLen));
            this.delivered++;
          }
          if (end > off) {
            onBatch(off === 0 ? buf : buf.subarray(off), end - off);
            off = end;
          }
          // Let keys, redraws and signals in, and wait for the next record's time.
          if (off < used) await this.wait(dueIn);
          else await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
      this.endError = this.reader.error;
      this.endOffset = this.reader.offset;
    } finally {
      this.reader.close();
    }
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  counters(): EngineCounters {
    return { seen: this.delivered, packets: this.delivered, dropped: 0 };
  }
}

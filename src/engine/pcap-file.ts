// The offline engine (-r): libpcap reads pcap or pcapng, the addon fills batches.
import fs from 'node:fs';
import { native, type PcapFileReaderHandle } from './native';
import type { BatchHandler, Engine, EngineCounters } from './engine';

const BATCH_BYTES = 1 << 20;

export class PcapFileEngine implements Engine {
  readonly name = 'pcap-file';
  private readonly reader: PcapFileReaderHandle;
  private readonly batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
  private stopped = false;
  endError: string | null = null;
  /** The file's size in bytes, for progress. */
  readonly size: number;
  /** Bytes read when reading ended. */
  private endOffset = 0;

  constructor(readonly file: string) {
    this.reader = new (native().PcapFileReader)(file);
    this.size = fs.statSync(file).size;
  }

  /** Bytes of the file read so far. */
  get offset(): number {
    return this.reader.offset || this.endOffset;
  }

  get linkType(): number {
    return this.reader.linkType;
  }

  async run(onBatch: BatchHandler): Promise<void> {
    try {
      let batches = 0;
      while (!this.stopped) {
        const used = this.reader.read(this.batch);
        if (used === 0) break;
        onBatch(this.batch, used);
        // Let signals and the stats server in now and then without paying for it per batch.
        if ((++batches & 15) === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      this.endError = this.reader.error;
      this.endOffset = this.reader.offset;
    } finally {
      this.reader.close();
    }
  }

  stop(): void {
    this.stopped = true;
  }

  counters(): EngineCounters {
    return { seen: this.reader.packets, packets: this.reader.packets, dropped: 0 };
  }
}

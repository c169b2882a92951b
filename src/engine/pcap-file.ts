// The offline engine (-r): libpcap reads pcap or pcapng, the addon fills batches.
import { native, type PcapFileReaderHandle } from './native';
import type { BatchHandler, Engine, EngineCounters } from './engine';

const BATCH_BYTES = 1 << 20;

export class PcapFileEngine implements Engine {
  readonly name = 'pcap-file';
  private readonly reader: PcapFileReaderHandle;
  private readonly batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
  private stopped = false;
  endError: string | null = null;

  constructor(readonly file: string) {
    this.reader = new (native().PcapFileReader)(file);
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
    } finally {
      this.reader.close();
    }
  }

  stop(): void {
    this.stopped = true;
  }

  counters(): EngineCounters {
    return { packets: this.reader.packets, dropped: 0 };
  }
}

// The offline engine (-r): libpcap reads pcap or pcapng, the addon fills batches.
import fs from 'node:fs';
import { native, type PcapFileReaderHandle } from './native';
import type { BatchHandler, Engine, EngineCounters } from './engine';
import { LinkType } from './record';

const BATCH_BYTES = 1 << 20;

/** The link types src/decode/packet.ts decodes. */
const DECODED_LINK_TYPES: readonly number[] = [
  LinkType.Null, LinkType.Ethernet, LinkType.Raw, LinkType.RawAlt, LinkType.Loop,
  LinkType.LinuxSll, LinkType.Ipv4, LinkType.Ipv6, LinkType.LinuxSll2,
];

/**
 * A line to print before reading `file`, when no packet of it will decode
 * (its link type is not one tcpkit knows): the run goes on and counts them,
 * but nobody should wonder why nothing is reported. Shared with --top's replay.
 */
export function linkNotice(file: string, reader: PcapFileReaderHandle): string | null {
  const link = reader.linkType;
  if (DECODED_LINK_TYPES.includes(link)) return null;
  const name = reader.linkTypeName === null ? '' : ` (${reader.linkTypeName})`;
  return `${file}: link type ${link}${name} is not one tcpkit decodes (Ethernet, 802.1Q, Linux cooked v1/v2, raw IP, BSD loopback); its packets are counted, not decoded`;
}

/**
 * Why reading `file` ended early (`why`, the reader's error), as the line the
 * user reads: a file cut short (the whole packets before the cut were
 * reported), or one damaged partway.
 */
export function endMessage(file: string, reader: PcapFileReaderHandle, why: string | null): string | null {
  if (why === null) return null;
  if (/^truncated/.test(why)) return `${file}: the file is cut short (${why}); reported what was whole`;
  return `${file}: the file is damaged after packet ${reader.packets} (${why}); reported the packets before it`;
}


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

  /** See linkNotice() above. */
  linkNotice(): string | null {
    return linkNotice(this.file, this.reader);
  }

  /** See endMessage() above. */
  endMessage(): string | null {
    return endMessage(this.file, this.reader, this.endError);
  }

  get linkType(): number {
    return this.reader.linkType;
  }

  async run(onBatch: BatchHandler): Promise<void> {
    try {
      while (!this.stopped) {
        const used = this.reader.read(this.batch);
        if (used === 0) break;
        onBatch(this.batch, used);
        // Let signals (and the stats server) in after every batch: a 1 MiB
        // batch is thousands of packets, so a stop request waits a few
        // milliseconds at most, and the yield costs nothing measurable.
        await new Promise<void>((resolve) => setImmediate(resolve));
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

// Loads the native addon built by node-gyp (see binding.gyp).
import path from 'node:path';

export interface PcapFileReaderHandle {
  /** Fills `buf` with records; returns the bytes used, 0 once the file is done. */
  read(buf: Buffer): number;
  close(): void;
  readonly linkType: number;
  readonly snaplen: number;
  /** Why reading stopped early (a file cut short), or null. */
  readonly error: string | null;
  readonly packets: number;
}

export interface NativeAddon {
  PcapFileReader: new (file: string) => PcapFileReaderHandle;
  RECORD_HDR_LEN: number;
  RECORD_ALIGN: number;
  pcapVersion: string;
}

let addon: NativeAddon | undefined;

export function native(): NativeAddon {
  if (addon === undefined) {
    const root = path.resolve(__dirname, '..', '..', '..');
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      addon = require(path.join(root, 'build', 'Release', 'tcpkit.node')) as NativeAddon;
    } catch (err) {
      const e = new Error(`the native addon is not built (run 'make build'): ${(err as Error).message}`);
      (e as NodeJS.ErrnoException).code = 'ENOADDON';
      throw e;
    }
  }
  return addon;
}

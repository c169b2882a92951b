// Loads the native addon built by node-gyp (see binding.gyp; addon-file.ts finds it).
import { loadAddon } from './addon-file';

export interface PcapFileReaderHandle {
  /** Fills `buf` with records; returns the bytes used, 0 once the file is done. */
  read(buf: Buffer): number;
  close(): void;
  readonly linkType: number;
  /** libpcap's name for the link type ("EN10MB"), null when it has none. */
  readonly linkTypeName: string | null;
  readonly snaplen: number;
  /** Why reading stopped early (a file cut short), or null. */
  readonly error: string | null;
  readonly packets: number;
  /** Bytes of the file read so far (for progress; 0 once closed). */
  readonly offset: number;
}

/** The end call carries (null, 0, why), why undefined when asked to stop. */
export type LiveBatchCallback = (buf: Buffer | null, used: number, error?: string) => void;

interface LiveCaptureHandle {
  start(onBatch: LiveBatchCallback): void;
  /** Asks the capture thread to end; the end call follows the last batch. */
  stop(): void;
  /** After the end call: joins the thread, detaches, frees. */
  close(): void;
  readonly linkType: number;
}

export interface EbpfOptions {
  iface: string;
  ports: number[];
  /** 16 bytes each; IPv4 as ::ffff:a.b.c.d. */
  servers: Buffer[];
  /** 6 TCP, 17 UDP, 0 both. */
  l4proto: number;
  snaplen: number;
  ringBytes: number;
  /** Keep pure ACKs (raw mode, Lua). */
  wantEmpty: boolean;
  /** Whole IP packets instead of payloads (raw mode, Lua's packets, -w). */
  full: boolean;
  /** The kernel flow map's size; 0 for its default. */
  flows: number;
  /** tcx where it can apply, else the socket filter (auto); or only one of them. */
  attach: EbpfAttach;
}

export type EbpfAttach = 'auto' | 'tcx' | 'socket';

export interface EbpfCounters {
  seen: number;
  matched: number;
  sent: number;
  lost: number;
  skipped: number;
  /** Flows added to the kernel's flow map, and samples sent without a flow id (map full). */
  flows: number;
  noFlow: number;
  /** Samples not sent because the packet's bytes could not be loaded (never expected: the lengths are checked first). */
  unread: number;
}

export interface EbpfCaptureHandle {
  /** The ring buffer's pages, mapped (once): see engine/ring.ts. */
  ring(): { consumer: Buffer; data: Buffer; page: number; size: number };
  /**
   * The page where the reader says it sleeps (a u32 at 0, the program's
   * reader_sleeps): while it is 1 the program wakes the reader with each
   * sample, and `onWake` is called. Once.
   */
  sleeper(onWake: () => void): Buffer;
  /** [seconds, nanoseconds]: CLOCK_REALTIME - CLOCK_MONOTONIC now. */
  wallOffset(): [number, number];
  counters(): EbpfCounters;
  /** Detaches the program and frees its maps; the ring's pages stay mapped while referenced. */
  close(): void;
  readonly linkType: number;
  /** How the program is attached: "tcx" or "socket filter". */
  readonly attached: string;
  /** Why tcx was tried and not used; "" when it was not tried or worked. */
  readonly tcxFailure: string;
}

export interface PcapLiveOptions {
  iface: string;
  filter: string;
  snaplen: number;
  bufferBytes: number;
}

export interface PcapLiveCounters {
  received: number;
  dropped: number;
  ifdropped: number;
  delivered: number;
}

export interface PcapLiveCaptureHandle extends LiveCaptureHandle {
  counters(): PcapLiveCounters;
}

export interface NativeAddon {
  PcapFileReader: new (file: string) => PcapFileReaderHandle;
  EbpfCapture: new (options: EbpfOptions) => EbpfCaptureHandle;
  PcapLiveCapture: new (options: PcapLiveOptions) => PcapLiveCaptureHandle;
  /** The user's ids from the user database, or null when there is no such user. */
  lookupUser(name: string): { uid: number; gid: number } | null;
  /** no_new_privs on, ambient capabilities cleared, bounding set emptied (this thread and those it starts). */
  restrictPrivileges(): void;
  RECORD_HDR_LEN: number;
  RECORD_ALIGN: number;
  pcapVersion: string;
  /** Ends the process with `code` after `ms` if it has not ended by then (node#54918's deadlock at exit). */
  exitWatchdog(ms: number, code: number): void;
}

let addon: NativeAddon | undefined;

export function native(): NativeAddon {
  if (addon === undefined) addon = loadAddon<NativeAddon>();
  return addon;
}

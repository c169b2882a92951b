// What pairing's consumers implement: stats/, output/ and lua/ are fed through
// these, so none of them needs the others or the pipeline.
import type { TransactionSink } from './transaction';
import type { Packet } from '../decode/packet';

export interface Output extends TransactionSink {
  /** Called once per batch: write out what was gathered. */
  flush(): void;
  close(): void;
}

/** What receives every matched packet as it comes (raw mode's lines, a Lua script). */
export interface PacketSink {
  packet(p: Packet, buf: Buffer, fromClient: boolean): void;
  flush(): void;
  close(): void;
}

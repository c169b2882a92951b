// The interface every output shares.
import type { TransactionSink } from '../pairing/transaction';

export interface Output extends TransactionSink {
  /** Called once per batch: write out what was gathered. */
  flush(): void;
  close(): void;
}

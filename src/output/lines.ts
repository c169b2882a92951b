// The original tool's line, one per request at or above the slow threshold:
// 2020-02-06 23:01:39.706782 127.0.0.1:54484 => 127.0.0.1:6379 | 0.270 ms | GET test_key
import { TxStatus, type Transaction } from '../pairing/transaction';
import { WallClockFormatter } from './clock';
import type { Output } from './output';
import type { FdWriter } from './writer';

export class LineOutput implements Output {
  private readonly clock = new WallClockFormatter();
  private readonly thresholdNs: number;

  constructor(private readonly writer: FdWriter, thresholdMs: number) {
    this.thresholdNs = thresholdMs * 1e6;
  }

  transaction(tx: Transaction): void {
    if (tx.latencyNs < this.thresholdNs) return;
    const time = this.clock.format(tx.rspSec, tx.rspNsec);
    const conn = tx.conn;
    let latency: string;
    let tail = '';
    if (tx.status === TxStatus.NoResponse) {
      latency = 'no response';
    } else {
      latency = `${(tx.latencyNs / 1e6).toFixed(3)} ms`;
      if (tx.status === TxStatus.Error) tail = ' | error';
    }
    this.writer.write(`${time} ${conn.endpoints()} | ${latency} | ${tx.requestText()}${tail}\n`);
  }

  flush(): void {
    this.writer.flush();
  }

  close(): void {
    this.writer.close();
  }
}

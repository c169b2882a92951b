// A request paired with its response: what every output receives.
import type { Connection } from '../connections/connection';

export const enum TxStatus {
  Ok = 0,
  /** The server answered with an error (Redis -ERR, ...). */
  Error = 1,
  /** No response came within the timeout, or before the connection or capture ended. */
  NoResponse = 2,
}

/**
 * One transaction. Pairing reuses a single instance: an output that keeps
 * anything past its call copies it.
 */
export class Transaction {
  conn!: Connection;
  protocol = '';
  status: TxStatus = TxStatus.Ok;
  /** The response's status as the protocol names it ('200', 'NXDOMAIN', 'STORED'); '' when none (Redis, no response). */
  statusText = '';
  /** Answered, but the response's end was never captured: latency is known, complete time and size are as far as the capture went. */
  incomplete = false;
  /** NoResponse only: the capture stopped while it waited, for less than --timeout (in flight, not unanswered). */
  inFlight = false;
  /** First byte of the request. */
  reqSec = 0;
  reqNsec = 0;
  /** First byte of the response (or, for NoResponse, when it was given up on). */
  rspSec = 0;
  rspNsec = 0;
  /** First byte of the request to first byte of the response, ns (the seed's latency). */
  latencyNs = 0;
  /** First byte of the request to last byte of the response, ns. */
  completeNs = 0;
  reqBytes = 0;
  rspBytes = 0;
  /** Request text for display: args joined by spaces, long ones shortened. */
  preview: Buffer = Buffer.alloc(0);
  previewLen = 0;
  /** The request's protocol-specific facts (MessageInfo.detail); detailLen 0 when it has none. */
  detail: Buffer = Buffer.alloc(0);
  detailLen = 0;
  /** The request's id (a DNS id, a memcached opaque, a Kafka correlation id, unsigned), -1 when none. */
  matchId = -1;
  /** The response's status as a number (HTTP status, DNS rcode, Kafka error code), -1 when none. */
  statusCode = -1;
  /** The server held the answer until a deadline on purpose (a Kafka long poll): statistics count it apart. */
  longPoll = false;
  /**
   * The request's command as an id in stats/commands.ts's CommandTable; -1
   * until the first output that needs it asks (pairing resets it per transaction).
   */
  commandId = -1;
  /**
   * SQL responses (mysql, pgsql; -1 and '' elsewhere): the number the line
   * shows after statusText (`SELECT 3`, `OK 1`), rows returned, rows
   * affected, the server's error code, SQLSTATE and error message.
   */
  statusCount = -1;
  rows = -1;
  affectedRows = -1;
  errorCode = -1;
  sqlState = '';
  errorMessage = '';

  requestText(): string {
    const text = this.preview.toString('utf8', 0, this.previewLen);
    return this.previewLen >= this.preview.length ? `${text}...` : text;
  }
}

export interface TransactionSink {
  transaction(tx: Transaction): void;
}

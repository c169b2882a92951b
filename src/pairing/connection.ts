// The connection as the pipeline uses it: the connections stage's Connection
// carrying a protocol parser per direction and pairing's queue of requests
// waiting for an answer.
import { Connection } from '../connections/connection';
import type { StreamParser } from '../protocol/message';
import { RequestQueue } from './queue';

export type PairedConnection = Connection<StreamParser, RequestQueue>;

/** An empty connection for the table to fill in. */
export function newPairedConnection(): PairedConnection {
  return new Connection<StreamParser, RequestQueue>(new RequestQueue());
}

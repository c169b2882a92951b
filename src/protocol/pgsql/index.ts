// PostgreSQL: the frontend/backend protocol 3.0 over TCP.
//   parser.ts  the streaming parsers, one per direction, and what they share per connection
//   names.ts   message types, startup codes, command tags and SQLSTATEs
import type { MessageSink, ParserConnection, ParserFactory, StreamParser } from '../message';
import { PgRequestParser, PgResponseParser } from './parser';

export { PgRequestParser, PgResponseParser } from './parser';

/** A PostgreSQL parser for one direction of a connection. */
export const pgsqlParser: ParserFactory = (conn: ParserConnection, fromClient: boolean, sink: MessageSink): StreamParser =>
  fromClient ? new PgRequestParser(conn, true, sink) : new PgResponseParser(conn, false, sink);

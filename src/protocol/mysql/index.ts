// MySQL and MariaDB: the client/server protocol over TCP, plain or compressed.
//   parser.ts  the streaming parsers, one per direction, and what they share per connection
//   names.ts   commands, capability and status flags, packet headers
import type { MessageSink, ParserConnection, ParserFactory, StreamParser } from '../message';
import { MysqlRequestParser, MysqlResponseParser } from './parser';

export { MysqlRequestParser, MysqlResponseParser } from './parser';

/** A MySQL parser for one direction of a connection. */
export const mysqlParser: ParserFactory = (conn: ParserConnection, fromClient: boolean, sink: MessageSink): StreamParser =>
  fromClient ? new MysqlRequestParser(conn, true, sink) : new MysqlResponseParser(conn, false, sink);

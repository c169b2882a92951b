// memcached: text (classic and meta) and binary over TCP, framed over UDP.
//   parser.ts  the streaming parser for one direction (text or binary per message)
//   names.ts   commands, replies, binary opcodes and statuses
//   udp.ts     the UDP frame and pairing by request id
import { IpProto } from '../../decode/packet';
import type { MessageSink, ParserConnection, ParserFactory, StreamParser } from '../message';
import { MemcachedParser } from './parser';
import { MemcachedUdpParser } from './udp';

export { MemcachedParser } from './parser';
export { isQuietOpcode, binaryStatusText } from './names';
export { MEMCACHED_UDP_HEADER_LEN, memcachedUdpRequestId } from './udp';

/** A memcached parser for one direction of a connection (text or binary, detected per message; UDP framed). */
export const memcachedParser: ParserFactory = (conn: ParserConnection, fromClient: boolean, sink: MessageSink): StreamParser =>
  conn.proto === IpProto.Udp ? new MemcachedUdpParser(conn, fromClient, sink) : new MemcachedParser(conn, fromClient, sink);

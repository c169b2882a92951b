// Kafka: requests and responses over TCP, paired by correlation id.
//   parser.ts  the streaming parser for one direction, and what both directions share
//   names.ts   API keys (names, flexible versions) and error codes
//   reader.ts  a cursor over a message's fields
import type { MessageSink, ParserConnection, ParserFactory, StreamParser } from '../message';
import { KafkaParser } from './parser';
import { apiName } from './names';

export { KafkaParser, ERROR_DECODED } from './parser';
export { apiName, errorName, isFlexible, LONG_POLL_TEXT } from './names';

/** A Kafka parser for one direction of a connection. */
export const kafkaParser: ParserFactory = (conn: ParserConnection, fromClient: boolean, sink: MessageSink): StreamParser =>
  new KafkaParser(conn, fromClient, sink);

/** What a Kafka request's detail bytes say (see KafkaParser.putDetail), for --json and Lua. */
export interface KafkaRequestFields {
  apiKey: number;
  api: string;
  apiVersion: number;
  clientId: string;
}

export function requestFields(detail: Buffer, detailLen: number): KafkaRequestFields | null {
  if (detailLen < 5) return null;
  const apiKey = (detail[0] << 24) >> 16 | detail[1];
  const n = detail[4];
  return {
    apiKey,
    api: apiName(apiKey).toString('latin1'),
    apiVersion: (detail[2] << 24) >> 16 | detail[3],
    clientId: detail.toString('utf8', 5, 5 + Math.min(n, detailLen - 5)),
  };
}

/**
 * The topics a request's text names: every word after `<Api> v<n>` that is
 * neither `key=value` nor cut short (`...`), without its partition list.
 */
export function requestTopics(text: string): string[] {
  const words = text.split(' ');
  const out: string[] = [];
  for (let i = 2; i < words.length; i++) {
    const w = words[i];
    if (w === '' || w.includes('=') || w.endsWith('...')) continue;
    const b = w.indexOf('[');
    if (b === 0) continue;
    if (b > 0 && !w.endsWith(']')) continue;
    out.push(b > 0 ? w.slice(0, b) : w);
  }
  return out;
}

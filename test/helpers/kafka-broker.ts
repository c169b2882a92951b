// A small Kafka responder for the live test: it answers ApiVersions,
// Metadata, ListOffsets, Produce and Fetch as the protocol specification
// says, enough for a real client (kcat, librdkafka) to produce and consume.
// It stores nothing: Produce gets base offset 0, Fetch finds an empty
// partition and is held for its max_wait_ms first, as a broker holds a long
// poll. Run in a lab namespace:
//
//   node kafka-broker.js HOST PORT
//
// It prints `listening` when ready, then one JSON line per request it reads
// ({"port":client port,"api_key":..,"api_version":..,"correlation_id":..,
// "expects":false for acks=0 and versions it does not speak}) and one when it
// sends an answer ({"port":..,"sent":correlation id}; a held answer whose
// client has gone is never sent), and exits on SIGTERM.
import net from 'node:net';
import { Reader } from '../../src/protocol/kafka/reader';
import { isFlexible } from '../../src/protocol/kafka';
import { apiVersionsResponse, metadataResponse, response, type TopicParts } from './kafka-wire';

const [host, portText] = process.argv.slice(2);
const port = Number(portText);
const BROKER = { id: 1, host, port };

/** The versions this responder speaks: [key, min, max]. */
const APIS: [number, number, number][] = [
  [0, 0, 9], // Produce
  [1, 0, 11], // Fetch
  [2, 0, 5], // ListOffsets
  [3, 0, 9], // Metadata
  [18, 0, 3], // ApiVersions
];

function topicsOf(r: Reader, flex: boolean, partition: (r: Reader) => void, ids = false): TopicParts[] {
  const out: TopicParts[] = [];
  const n = r.array(flex);
  for (let t = 0; t < n; t++) {
    let name = '';
    if (ids) r.skip(16);
    else {
      r.str(flex);
      name = r.buf.toString('utf8', r.strStart, r.strStart + Math.max(0, r.strLen));
    }
    const parts: number[] = [];
    const p = r.array(flex);
    for (let i = 0; i < p; i++) {
      parts.push(r.i32());
      partition(r);
      if (flex) r.tags();
    }
    if (flex) r.tags();
    out.push({ name, partitions: parts });
  }
  return out;
}

function answer(msg: Buffer, send: (b: Buffer, delayMs?: number) => void): boolean {
  // Kept for the log: the correlation id of the answer being sent.
  const r = new Reader();
  r.reset(msg, 0, msg.length);
  const key = r.i16();
  const ver = r.i16();
  const corr = r.i32();
  r.str(false);
  const flex = isFlexible(key, ver);
  if (flex) r.tags();
  const supported = APIS.find(([k, lo, hi]) => k === key && ver >= lo && ver <= hi);
  if (key === 18) {
    // An ApiVersions request newer than ours gets UNSUPPORTED_VERSION in v0 form.
    send(supported ? apiVersionsResponse(ver, corr, APIS) : apiVersionsResponse(0, corr, APIS, 35));
    return true;
  }
  if (!supported) return false;
  switch (key) {
    case 3: {
      const n = r.array(flex);
      const names: string[] = [];
      for (let i = 0; i < n; i++) {
        if (ver >= 10) r.skip(16);
        r.str(flex);
        names.push(r.buf.toString('utf8', r.strStart, r.strStart + Math.max(0, r.strLen)));
        if (flex) r.tags();
      }
      const topics = (n < 0 || (n === 0 && ver === 0) ? ['orders'] : names).map((name) => ({ name, partitions: [0] }));
      send(metadataResponse(ver, corr, [BROKER], topics));
      return true;
    }
    case 0: {
      if (ver >= 3) r.str(flex);
      const acks = r.i16();
      r.i32();
      const topics = topicsOf(r, flex, (r) => r.bytes(flex));
      if (acks === 0) return false;
      send(
        response(0, ver, corr, (w) => {
          w.array(topics, (w, t) => {
            w.str(t.name);
            w.array(t.partitions, (w, p) => {
              w.i32(p).i16(0).i64(0);
              if (ver >= 2) w.i64(-1);
              if (ver >= 5) w.i64(0);
              if (ver >= 8) w.array([] as number[], () => {}).str(null);
              w.tags();
            });
            w.tags();
          });
          if (ver >= 1) w.i32(0);
          w.tags();
        }),
      );
      return true;
    }
    case 2: {
      r.i32();
      if (ver >= 2) r.i8();
      const topics = topicsOf(r, flex, (r) => {
        if (ver >= 4) r.i32();
        r.skip(8);
        if (ver === 0) r.i32();
      });
      send(
        response(2, ver, corr, (w) => {
          if (ver >= 2) w.i32(0);
          w.array(topics, (w, t) => {
            w.str(t.name);
            w.array(t.partitions, (w, p) => {
              w.i32(p).i16(0);
              if (ver === 0) w.array([0], (w, o) => w.i64(o));
              else w.i64(-1).i64(0);
              if (ver >= 4) w.i32(0);
              w.tags();
            });
            w.tags();
          });
          w.tags();
        }),
      );
      return true;
    }
    case 1: {
      r.i32();
      const maxWait = r.i32();
      r.i32();
      if (ver >= 3) r.i32();
      if (ver >= 4) r.i8();
      if (ver >= 7) r.skip(8);
      const topics = topicsOf(r, flex, (r) => {
        if (ver >= 9) r.i32();
        r.skip(8);
        if (ver >= 5) r.skip(8);
        r.i32();
      });
      // Nothing to fetch: held for max_wait_ms, then answered empty (a long poll).
      send(
        response(1, ver, corr, (w) => {
          if (ver >= 1) w.i32(0);
          if (ver >= 7) w.i16(0).i32(0);
          w.array(topics, (w, t) => {
            w.str(t.name);
            w.array(t.partitions, (w, p) => {
              w.i32(p).i16(0).i64(0);
              if (ver >= 4) w.i64(0);
              if (ver >= 5) w.i64(0);
              if (ver >= 4) w.array([] as number[], () => {});
              if (ver >= 11) w.i32(-1);
              w.bytes(Buffer.alloc(0));
            });
          });
        }),
        maxWait,
      );
      return true;
    }
  }
  return false;
}

const server = net.createServer((sock) => {
  let buf = Buffer.alloc(0);
  // Responses go out in request order, as a broker's do, even when one is held.
  let chain = Promise.resolve();
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
      const msg = buf.subarray(4, 4 + buf.readUInt32BE(0));
      buf = buf.subarray(4 + msg.length);
      const answered = answer(msg, (b, delayMs = 0) => {
        chain = chain.then(
          () =>
            new Promise((resolve) =>
              setTimeout(() => {
                if (!sock.destroyed && sock.writable) {
                  sock.write(b);
                  process.stdout.write(`${JSON.stringify({ port: sock.remotePort, sent: b.readInt32BE(4) })}\n`);
                }
                resolve();
              }, delayMs),
            ),
        );
      });
      const line = { port: sock.remotePort, api_key: msg.readInt16BE(0), api_version: msg.readInt16BE(2), correlation_id: msg.readInt32BE(4), expects: answered };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
  });
  sock.on('error', () => sock.destroy());
});
server.listen(port, host, () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => process.exit(0));

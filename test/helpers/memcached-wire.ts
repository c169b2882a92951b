// memcached's UDP frame, for tests: the 8-byte header (request id, sequence
// number, datagram count, reserved), then the payload.

/** A memcached UDP datagram: the 8-byte frame, then the payload. */
export function datagram(id: number, seq: number, count: number, payload: string | Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(seq, 2);
  h.writeUInt16BE(count, 4);
  return Buffer.concat([h, typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload]);
}

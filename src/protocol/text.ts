// Helpers the line-based protocols (RESP, HTTP) share.

/** The offset just past the next LF in buf[from, end), or -1 when the line runs on past end. */
export function afterLf(buf: Buffer, from: number, end: number): number {
  for (let p = from; p < end; ) if (buf[p++] === 0x0a) return p;
  return -1;
}

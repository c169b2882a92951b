// Byte helpers the parsers share: lines (RESP, HTTP), C strings (MySQL, PostgreSQL).

/** The offset just past the next LF in buf[from, end), or -1 when the line runs on past end. */
export function afterLf(buf: Buffer, from: number, end: number): number {
  for (let p = from; p < end; ) if (buf[p++] === 0x0a) return p;
  return -1;
}

/** The offset of the NUL that ends a C string at `from` in buf[from, end), or -1. */
export function cstringEnd(buf: Buffer, from: number, end: number): number {
  for (let i = from; i < end; i++) if (buf[i] === 0) return i;
  return -1;
}

// Buffered, synchronous writes to a file descriptor: lines are gathered and
// written once per batch. A reader that goes away (`tcpkit ... | head`)
// ends output quietly instead of raising EPIPE.
import fs from 'node:fs';

const FLUSH_AT = 64 * 1024;

export class FdWriter {
  private parts: string[] = [];
  private size = 0;
  /** The reader went away; further writes are dropped. */
  closedByReader = false;

  constructor(private fd: number, private readonly ownsFd = false) {}

  static toFile(file: string): FdWriter {
    return new FdWriter(fs.openSync(file, 'a'), true);
  }

  write(text: string): void {
    if (this.closedByReader) return;
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= FLUSH_AT) this.flush();
  }

  flush(): void {
    if (this.size === 0 || this.closedByReader) {
      this.parts.length = 0;
      this.size = 0;
      return;
    }
    const data = Buffer.from(this.parts.join(''), 'utf8');
    this.parts.length = 0;
    this.size = 0;
    let off = 0;
    while (off < data.length) {
      try {
        off += fs.writeSync(this.fd, data, off, data.length - off);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          // A non-blocking pipe that is full: wait for the reader a moment.
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
          continue;
        }
        if (code === 'EPIPE') {
          this.closedByReader = true;
          return;
        }
        throw err;
      }
    }
  }

  close(): void {
    this.flush();
    if (this.ownsFd) fs.closeSync(this.fd);
  }
}

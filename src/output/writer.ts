// output/: what writes results: lines, JSON lines, raw lines, the capture file
// (-w), the exit summary, the progress bar, and this writer under them all.
//
// Buffered, synchronous writes to a file descriptor: lines are gathered and
// written once per batch. A reader that goes away (`tcpkit ... | head`)
// ends output quietly instead of raising EPIPE.
import fs from 'node:fs';
import path from 'node:path';

/** Bytes gathered before a write; a line longer than the rest of it goes out on its own. */
const ARENA_BYTES = 256 * 1024;
/** Most bytes one UTF-16 code unit can take in UTF-8. */
const MAX_UTF8_PER_UNIT = 3;

/**
 * Opens (creates, then truncates or appends to) a file tcpkit writes, named by the flag that
 * asked for it; a file that cannot be opened is one line for the user
 * (`-o /x/y: no such file or directory`), code EOUTPUT.
 */
export function openForWriting(flag: string, file: string, append = false): number {
  try {
    return fs.openSync(file, append ? 'a' : 'w');
  } catch (e) {
    throw outputError(`${flag} ${file}`, e as NodeJS.ErrnoException);
  }
}

/**
 * A file or stream tcpkit writes failed (a full disk, a file it may not
 * write): one line for the user, `-o /x/y: no space left on device`, code
 * EOUTPUT.
 */
export function outputError(what: string, err: NodeJS.ErrnoException): NodeJS.ErrnoException {
  // Node's message is `ENOSPC: no space left on device, write`: keep the middle.
  const why = err.code === 'EISDIR' ? 'is a directory' : /^[A-Z0-9]+: (.*?), \w+(?: '.*')?$/.exec(err.message)?.[1] ?? err.message;
  const out = new Error(`${what}: ${why}`) as NodeJS.ErrnoException;
  out.code = 'EOUTPUT';
  return out;
}

/** Bytes as little-endian 32-bit words, the last one zero-padded: for FdWriter.putWords(). */
export function toWords(bytes: Buffer): Int32Array {
  const words = new Int32Array((bytes.length + 3) >> 2);
  for (let i = 0; i < bytes.length; i++) words[i >> 2] |= bytes[i] << ((i & 3) << 3);
  return words;
}

export class FdWriter {
  /**
   * Lines are encoded straight into this arena: no array of strings, no join.
   * Writers that format bytes themselves call reserve(), fill arena from `used`
   * on, then advance `used`.
   */
  readonly arena = Buffer.allocUnsafeSlow(ARENA_BYTES);
  /** The arena, for writing 32-bit words at any offset. */
  readonly view = new DataView(this.arena.buffer, this.arena.byteOffset, this.arena.byteLength);
  used = 0;
  /** The reader went away; further writes are dropped. */
  closedByReader = false;
  /** Called before bytes go out (a progress bar on the same terminal clears itself). */
  beforeWrite: (() => void) | null = null;
  /** Called once when the reader goes away: the run has no one left to report to. */
  onReaderGone: (() => void) | null = null;
  /** The file written, for reopen(); null for a descriptor given (stdout). */
  readonly path: string | null;

  constructor(
    private fd: number,
    private readonly ownsFd = false,
    file: string | null = null,
    /** What the user calls it, for errors: `-o FILE`, or standard output. */
    private readonly what = fd === 1 ? 'standard output' : `file descriptor ${fd}`,
  ) {
    this.path = file === null ? null : path.resolve(file);
  }

  /** A writer to `file` (-o): `append` false replaces the file, as `>` would; true adds to it, as `>>`. */
  static toFile(file: string, append = false, flag = '-o'): FdWriter {
    return new FdWriter(openForWriting(flag, file, append), true, file, `${flag} ${file}`);
  }

  /**
   * Writes to a fresh open of the same path from now on (appending): after
   * logrotate renamed the file, new lines go to a new file. If the path
   * cannot be opened, writing goes on to the old file and the error is thrown.
   */
  /** Gives the file to the user tcpkit will run as (-Z), so that a rotated log can be opened again. */
  chown(uid: number, gid: number): void {
    if (this.ownsFd && this.fd >= 0) fs.fchownSync(this.fd, uid, gid);
  }

  reopen(): void {
    if (this.path === null) return;
    this.flush();
    const fd = openForWriting('-o', this.path, true);
    const old = this.fd;
    this.fd = fd;
    fs.closeSync(old);
  }

  write(text: string): void {
    if (this.closedByReader) return;
    const worst = text.length * MAX_UTF8_PER_UNIT;
    if (this.used + worst > ARENA_BYTES) {
      this.flush();
      if (worst > ARENA_BYTES) {
        this.writeAll(Buffer.from(text, 'utf8'));
        return;
      }
    }
    this.used += this.arena.write(text, this.used, 'utf8');
  }

  /** Raw bytes, as they are (a Lua script's output is bytes, not text). */
  writeBytes(bytes: Uint8Array): void {
    if (this.closedByReader) return;
    const n = bytes.length;
    if (this.used + n > ARENA_BYTES) {
      this.flush();
      if (n > ARENA_BYTES) {
        this.writeAll(Buffer.from(bytes.buffer, bytes.byteOffset, n));
        return;
      }
    }
    this.arena.set(bytes, this.used);
    this.used += n;
  }

  /** One byte (a separator, a newline). */
  writeByte(b: number): void {
    if (this.closedByReader) return;
    if (this.used === ARENA_BYTES) this.flush();
    this.arena[this.used++] = b;
  }

  /**
   * Makes room for `n` more bytes in the arena (n <= ARENA_BYTES / 4), flushing
   * first if needed. False when the reader went away: write nothing.
   */
  reserve(n: number): boolean {
    if (this.used + n > ARENA_BYTES) this.flush();
    return !this.closedByReader;
  }

  /**
   * Copies `len` bytes held as little-endian words (see toWords) to the arena
   * at `off`; returns off + len. Writes up to 3 bytes past that, which the
   * caller's next bytes overwrite: reserve() 4 more than the line needs.
   */
  putWords(off: number, words: Int32Array, len: number): number {
    const view = this.view;
    const n = (len + 3) >> 2;
    for (let i = 0; i < n; i++) view.setInt32(off + (i << 2), words[i], true);
    return off + len;
  }

  flush(): void {
    if (this.used === 0) return;
    const n = this.used;
    this.used = 0;
    if (!this.closedByReader) this.writeAll(this.arena.subarray(0, n));
  }

  private writeAll(data: Buffer): void {
    if (this.beforeWrite !== null) this.beforeWrite();
    let off = 0;
    while (off < data.length && !this.closedByReader) {
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
          this.onReaderGone?.();
          return;
        }
        throw outputError(this.what, err as NodeJS.ErrnoException);
      }
    }
  }

  /** close() was called. */
  closed = false;

  /** Flushes, and closes a file it opened; closing twice is harmless. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    if (this.ownsFd && this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

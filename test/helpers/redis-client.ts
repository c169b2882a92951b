// A tiny Redis client, run as a script inside a test namespace:
//
//   node redis-client.js HOST PORT sequential|pipeline   < commands.json
//
// commands.json is [["SET","k","v"], ["GET","k"], ...]. One connection;
// sequential waits for each reply before the next command, pipeline writes
// them all at once. Prints the number of replies read, exits 1 on a short read.
import net from 'node:net';

/** Length of the first complete RESP reply in buf[off..], or -1 if incomplete. */
function replyEnd(buf: Buffer, off: number): number {
  const eol = buf.indexOf('\r\n', off);
  if (eol < 0) return -1;
  const type = String.fromCharCode(buf[off]);
  const n = Number(buf.toString('latin1', off + 1, eol));
  if (type === '$') {
    if (n < 0) return eol + 2;
    return buf.length >= eol + 2 + n + 2 ? eol + 2 + n + 2 : -1;
  }
  if (type === '*') {
    let p = eol + 2;
    for (let i = 0; i < n; i++) {
      p = replyEnd(buf, p);
      if (p < 0) return -1;
    }
    return p;
  }
  return eol + 2;
}

function encode(cmd: string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${cmd.length}\r\n`)];
  for (const a of cmd) {
    const b = Buffer.from(a);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

async function main(): Promise<void> {
  const [host, port, mode] = process.argv.slice(2);
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const commands = JSON.parse(input) as string[][];
  const sock = net.connect({ host, port: Number(port) });
  sock.setNoDelay(true);
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));

  let buf: Buffer = Buffer.alloc(0);
  let replies = 0;
  let waiting: (() => void) | null = null;
  sock.on('data', (d: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    for (;;) {
      const end = buf.length ? replyEnd(buf, 0) : -1;
      if (end < 0) break;
      buf = buf.subarray(end);
      replies++;
    }
    waiting?.();
  });
  const until = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out with ${replies}/${n} replies`)), 20_000);
      const check = () => {
        if (replies >= n) {
          clearTimeout(t);
          waiting = null;
          resolve();
        }
      };
      waiting = check;
      check();
    });

  if (mode === 'pipeline') {
    sock.write(Buffer.concat(commands.map(encode)));
    await until(commands.length);
  } else {
    for (let i = 0; i < commands.length; i++) {
      sock.write(encode(commands[i]));
      await until(i + 1);
    }
  }
  sock.end();
  await new Promise<void>((resolve) => sock.once('close', () => resolve()));
  process.stdout.write(`${replies}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`redis-client: ${e.message}\n`);
  process.exit(1);
});

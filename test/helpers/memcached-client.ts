// A small memcached client, run as a script inside a test namespace:
//
//   node memcached-client.js HOST PORT   < steps.json
//
// One connection; the steps run in order, each written in one write:
//   { "text": "set k 0 0 1\r\nv\r\n", "reply": true }
//       a text command; reply false (noreply) writes it and goes on at once;
//       a number: that many answers are read (several commands in one write).
//       `{cas}` in the text becomes the cas unique of the last `gets` answer.
//   { "binary": [{ "op": 0, "opaque": 1, "key": "k", "extras": "hex", "value": "v" }, ...] }
//       binary requests in one write (a batch of quiet ones ends with a loud
//       one); answers are read up to the answer to the last request (for STAT,
//       up to the one with an empty key).
// Prints one line per answer: a text answer as a JSON string, a binary answer
// as `op=N status=N opaque=N`. Exits 1 on a short read or a timeout.
import net from 'node:net';

export interface BinaryRequest {
  op: number;
  opaque: number;
  key: string;
  /** Extras, as hex. */
  extras?: string;
  value?: string;
}
export type MemcachedStep = { text: string; reply: boolean | number } | { binary: BinaryRequest[] };

const HEADER = 24;
const OP_STAT = 0x10;

/** Length of the first whole text answer in buf, or 0 while incomplete. */
function textAnswer(buf: Buffer): number {
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return 0;
    const line = buf.toString('latin1', at, eol);
    at = eol + 2;
    if (line.startsWith('VALUE ')) {
      // VALUE <key> <flags> <bytes> [<cas>], then the data block: more VALUEs or END follow.
      const size = Number(line.split(' ')[3]);
      if (buf.length < at + size + 2) return 0;
      at += size + 2;
      continue;
    }
    // STAT lines go on to END; END, and any other line, end the answer.
    if (line.startsWith('STAT ')) continue;
    return at;
  }
}

function binaryAnswer(buf: Buffer): number {
  if (buf.length < HEADER) return 0;
  const n = HEADER + buf.readUInt32BE(8);
  return buf.length < n ? 0 : n;
}

function encode(r: BinaryRequest): Buffer {
  const key = Buffer.from(r.key, 'latin1');
  const extras = Buffer.from(r.extras ?? '', 'hex');
  const value = Buffer.from(r.value ?? '', 'latin1');
  const h = Buffer.alloc(HEADER);
  h[0] = 0x80;
  h[1] = r.op;
  h.writeUInt16BE(key.length, 2);
  h[4] = extras.length;
  h.writeUInt32BE(extras.length + key.length + value.length, 8);
  h.writeUInt32BE(r.opaque, 12);
  return Buffer.concat([h, extras, key, value]);
}

async function main(): Promise<void> {
  const [host, port] = process.argv.slice(2);
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const steps = JSON.parse(input) as MemcachedStep[];
  const sock = net.connect({ host, port: Number(port) });
  sock.setNoDelay(true);
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));

  let buf: Buffer = Buffer.alloc(0);
  let want: (() => void) | null = null;
  sock.on('data', (d: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    want?.();
  });
  /** The next answer, as `size` measures it. */
  const next = (size: (b: Buffer) => number) =>
    new Promise<Buffer>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out; ${buf.length} bytes unread`)), 20_000);
      want = () => {
        const n = size(buf);
        if (n === 0) return;
        clearTimeout(t);
        want = null;
        const got = buf.subarray(0, n);
        buf = buf.subarray(n);
        resolve(got);
      };
      want();
    });

  const out: string[] = [];
  let cas = '';
  for (const step of steps) {
    if ('text' in step) {
      sock.write(step.text.replace('{cas}', cas), 'latin1');
      const answers = step.reply === true ? 1 : step.reply === false ? 0 : step.reply;
      for (let i = 0; i < answers; i++) {
        const answer = (await next(textAnswer)).toString('latin1');
        const m = /^VALUE \S+ \d+ \d+ (\d+)\r\n/.exec(answer);
        if (m) cas = m[1];
        out.push(JSON.stringify(answer));
      }
      continue;
    }
    const last = step.binary[step.binary.length - 1];
    sock.write(Buffer.concat(step.binary.map(encode)));
    for (;;) {
      const r = await next(binaryAnswer);
      out.push(`op=${r[1]} status=${r.readUInt16BE(6)} opaque=${r.readUInt32BE(12)}`);
      if (r.readUInt32BE(12) === last.opaque && (last.op !== OP_STAT || r.readUInt16BE(2) === 0)) break;
    }
  }
  sock.end();
  await new Promise<void>((resolve) => sock.once('close', () => resolve()));
  process.stdout.write(out.map((l) => `${l}\n`).join(''));
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`memcached-client: ${e.message}\n`);
    process.exit(1);
  });
}

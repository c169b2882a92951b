// A small HTTP/1.x client, run as a script inside a test namespace:
//
//   node http-client.js HOST PORT   < connections.json
//
// connections.json is a list of connections, opened one after another:
//   { "pipeline": false, "requests": [{ "method": "GET", "target": "/", ... }] }
// A request may also give "version" ("1.0" or "1.1", the default), extra
// "headers" ([[name, value]]), a "body" (sent with its Content-Length), and
// "expect": true, which sends `Expect: 100-continue` and holds the body back
// until the server's interim answer. A connection either writes each request
// and reads its whole response before the next (keep-alive), or writes all
// its requests at once and then reads the responses (pipeline). A response
// without Content-Length or chunked framing runs until the server closes.
// Prints `status bodyBytes` per final response, followed by ` chunked` (the
// bytes are the chunks' data) or ` close` for those framings, and
// `status interim` per 1xx answer. Exits 1 on a short read or a timeout.
import net from 'node:net';

export interface HttpRequest {
  method: string;
  target: string;
  version?: '1.0' | '1.1';
  headers?: [string, string][];
  body?: string;
  expect?: boolean;
}

export interface HttpConnection {
  pipeline?: boolean;
  requests: HttpRequest[];
}

interface Response {
  status: number;
  size: number;
  /** How the body was framed, when not by Content-Length (or by having none). */
  framing: '' | 'chunked' | 'close';
  /** Bytes of buf the response took. */
  end: number;
}

function head(r: HttpRequest): string {
  const lines = [`${r.method} ${r.target} HTTP/${r.version ?? '1.1'}`, 'Host: tcpkit.test', 'User-Agent: tcpkit-test'];
  for (const [name, value] of r.headers ?? []) lines.push(`${name}: ${value}`);
  if (r.body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(r.body)}`);
  if (r.expect) lines.push('Expect: 100-continue');
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** The first whole response in buf to a request with this method; null while incomplete. `closed`: the server has closed. */
function parse(buf: Buffer, method: string, closed: boolean): Response | null {
  const h = buf.indexOf('\r\n\r\n');
  if (h < 0) return null;
  const lines = buf.toString('latin1', 0, h).split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const hdr: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    hdr[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  let at = h + 4;
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) return { status, size: 0, end: at, framing: '' };
  if (/chunked/i.test(hdr['transfer-encoding'] ?? '')) {
    let size = 0;
    for (;;) {
      const e = buf.indexOf('\r\n', at);
      if (e < 0) return null;
      const n = parseInt(buf.toString('latin1', at, e), 16);
      if (n === 0) {
        // No trailers from the servers tested: the last chunk's CRLF ends it.
        return buf.length >= e + 4 ? { status, size, end: e + 4, framing: 'chunked' } : null;
      }
      if (buf.length < e + 2 + n + 2) return null;
      size += n;
      at = e + 2 + n + 2;
    }
  }
  if (hdr['content-length'] !== undefined) {
    const n = Number(hdr['content-length']);
    return buf.length >= at + n ? { status, size: n, end: at + n, framing: '' } : null;
  }
  // Delimited by the close.
  return closed ? { status, size: buf.length - at, end: buf.length, framing: 'close' } : null;
}

function connection(host: string, port: number, c: HttpConnection, out: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    sock.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    let closed = false;
    let want: (() => void) | null = null;
    const timer = setTimeout(() => reject(new Error(`timed out; ${buf.length} bytes unread`)), 20_000);
    sock.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      want?.();
    });
    sock.on('end', () => {
      closed = true;
      want?.();
      if (want) reject(new Error(`closed mid-response: ${JSON.stringify(buf.toString('latin1', 0, 200))}`));
    });
    sock.on('error', reject);
    const read = (method: string) =>
      new Promise<Response>((res) => {
        want = () => {
          const r = parse(buf, method, closed);
          if (r === null) return;
          buf = buf.subarray(r.end);
          want = null;
          res(r);
        };
        want();
      });
    sock.on('connect', async () => {
      try {
        if (c.pipeline) sock.write(c.requests.map((r) => head(r) + (r.body ?? '')).join(''));
        for (const r of c.requests) {
          if (!c.pipeline) sock.write(r.expect ? head(r) : head(r) + (r.body ?? ''));
          let got = await read(r.method);
          if (r.expect) {
            if (got.status >= 200) throw new Error(`no 100 Continue before ${got.status}`);
            out.push(`${got.status} interim`);
            sock.write(r.body ?? '');
            got = await read(r.method);
          }
          out.push(got.framing ? `${got.status} ${got.size} ${got.framing}` : `${got.status} ${got.size}`);
        }
        sock.end();
        if (!closed) await new Promise((res) => sock.once('close', res));
        clearTimeout(timer);
        resolve();
      } catch (e) {
        reject(e);
      }
    });
  });
}

async function main(): Promise<void> {
  const [host, port] = process.argv.slice(2);
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const out: string[] = [];
  for (const c of JSON.parse(input) as HttpConnection[]) await connection(host, Number(port), c, out);
  process.stdout.write(out.map((l) => `${l}\n`).join(''));
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`http-client: ${e.message}\n`);
    process.exit(1);
  });
}

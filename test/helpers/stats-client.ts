// Reads tcpkit's stats port the two ways users do, as a script that runs
// inside a test namespace (or as functions, from the test itself):
//
//   node stats-client.js HOST PORT raw          what a bare TCP connection gets
//   node stats-client.js HOST PORT GET /stats   an HTTP request's status line, headers and body
//
// Prints what was read to stdout; exits 1 on a connection error or a timeout.
import net from 'node:net';
import http from 'node:http';

/** Connects, sends nothing, reads until the server closes. */
export function readRaw(host: string, port: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    let data = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no end of data from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (data += d));
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('end', () => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function request(host: string, port: number, method: string, path: string, timeoutMs = 5000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path, timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const [host, port, how, path] = process.argv.slice(2);
  if (how === 'raw') {
    process.stdout.write(await readRaw(host, Number(port)));
  } else {
    const a = await request(host, Number(port), how, path);
    process.stdout.write(JSON.stringify(a));
  }
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`stats-client: ${e.message}\n`);
    process.exit(1);
  });
}

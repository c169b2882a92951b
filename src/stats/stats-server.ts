// The stats port (-P). One TCP listener answers two kinds of client:
//
//   a bare TCP connection that sends nothing (`nc host 33333`, the original
//   tool's collectors): the seed JSON, then the connection is closed;
//   HTTP: GET /stats (the full JSON), GET /metrics (Prometheus text), GET /
//   (the seed JSON again), one request per connection.
//
// Which one it is shows in the first bytes: a client that has sent nothing
// after SNIFF_MS is a bare one; one whose first bytes are not an HTTP method
// gets the seed JSON too (the original ignored what clients sent).
//
// A client cannot hold on to memory or the server: request heads are capped,
// every connection is closed after one answer, a connection idle for IDLE_MS
// (one that never reads its answer, or never finishes its request) is
// destroyed, and at most MAX_CLIENTS are open at once.
import net from 'node:net';

export interface StatsSource {
  /** The original tool's JSON. */
  seed(): string;
  /** The full report. */
  json(): string;
  /** Prometheus text. */
  metrics(): Promise<string>;
  readonly metricsContentType: string;
}

export interface StatsServerOptions {
  host: string;
  port: number;
  /** How long a silent client is given before it is taken for a bare one. */
  sniffMs?: number;
  /** How long a connection may go without progress before it is destroyed. */
  idleMs?: number;
  maxClients?: number;
}

const SNIFF_MS = 150;
const IDLE_MS = 10_000;
const MAX_CLIENTS = 64;
/** Longest HTTP request head accepted. */
const MAX_HEAD = 8 * 1024;

export class StatsServerError extends Error {
  readonly code = 'ESTATS';
}

const enum Kind {
  Undecided,
  Http,
  Bare,
}

/** Whether `head` starts like an HTTP request line ("GET "), cannot, or cannot tell yet. */
function kindOf(head: Buffer): Kind {
  for (let i = 0; i < head.length && i <= 16; i++) {
    const b = head[i];
    if (b === 0x20) return i > 0 ? Kind.Http : Kind.Bare;
    if (b < 0x41 || b > 0x5a) return Kind.Bare;
  }
  return head.length > 16 ? Kind.Bare : Kind.Undecided;
}

const REASONS: Record<number, string> = { 200: 'OK', 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error' };

export class StatsServer {
  private readonly sockets = new Set<net.Socket>();
  private readonly sniffMs: number;
  private readonly idleMs: number;

  private constructor(
    private readonly server: net.Server,
    private readonly source: StatsSource,
    opts: StatsServerOptions,
  ) {
    this.sniffMs = opts.sniffMs ?? SNIFF_MS;
    this.idleMs = opts.idleMs ?? IDLE_MS;
    server.maxConnections = opts.maxClients ?? MAX_CLIENTS;
    server.on('connection', (sock) => this.accept(sock));
  }

  /** Listens on host:port; a port in use (or not ours to take) is one clear StatsServerError. */
  static listen(source: StatsSource, opts: StatsServerOptions): Promise<StatsServer> {
    const server = net.createServer({ allowHalfOpen: true });
    const stats = new StatsServer(server, source, opts);
    const where = opts.host.includes(':') ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`;
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const why =
          err.code === 'EADDRINUSE' ? `${where} is already in use`
          : err.code === 'EACCES' ? `no permission to listen on ${where}`
          : err.code === 'EADDRNOTAVAIL' ? `${opts.host} is not an address of this host`
          : `cannot listen on ${where}: ${err.message}`;
        reject(new StatsServerError(`stats port: ${why}`));
      });
      server.listen({ host: opts.host, port: opts.port, exclusive: true }, () => {
        server.removeAllListeners('error');
        // Errors on the listener after it is up (EMFILE on accept) must not end the capture.
        server.on('error', () => {});
        resolve(stats);
      });
    });
  }

  /** The address it listens on (the port, when 0 was asked for). */
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Stops listening and closes every connection. */
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(sock: net.Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    sock.setNoDelay(true);
    sock.setTimeout(this.idleMs, () => sock.destroy());
    let head: Buffer | null = null;
    let answered = false;
    const answer = (send: () => void | Promise<void>): void => {
      if (answered) return;
      answered = true;
      clearTimeout(sniff);
      head = null;
      void (async () => {
        try {
          await send();
        } catch {
          if (!sock.destroyed) sock.destroy();
        }
      })();
    };
    const sniff = setTimeout(() => answer(() => this.bare(sock)), this.sniffMs);
    sock.on('data', (chunk: Buffer) => {
      if (answered) return; // what follows an answered request is read and dropped
      clearTimeout(sniff); // it spoke: the idle timeout governs from here
      head = head === null ? chunk : Buffer.concat([head, chunk]);
      const kind = kindOf(head);
      if (kind === Kind.Bare) return answer(() => this.bare(sock));
      if (kind === Kind.Undecided) return;
      const end = head.indexOf('\r\n\r\n');
      const endLf = end < 0 ? head.indexOf('\n\n') : -1;
      if (end < 0 && endLf < 0) {
        if (head.length > MAX_HEAD) answer(() => this.http(sock, 'GET', 431, 'text/plain', 'request head too large\n'));
        return;
      }
      const line = head.toString('latin1', 0, head.indexOf('\n')).replace(/\r$/, '');
      answer(() => this.route(sock, line));
    });
    // A client that closes its side without sending anything still gets the seed JSON.
    sock.on('end', () => {
      if (head === null) answer(() => this.bare(sock));
      else if (!answered) sock.destroy();
    });
  }

  private bare(sock: net.Socket): void {
    sock.end(this.source.seed());
  }

  private async route(sock: net.Socket, requestLine: string): Promise<void> {
    const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(requestLine);
    if (m === null) return this.http(sock, 'GET', 400, 'text/plain', 'bad request line\n');
    const [, method, target] = m;
    const path = target.split('?')[0];
    if (method !== 'GET' && method !== 'HEAD') return this.http(sock, method, 405, 'text/plain', 'only GET and HEAD\n', 'Allow: GET, HEAD\r\n');
    switch (path) {
      case '/':
        return this.http(sock, method, 200, 'application/json', this.source.seed());
      case '/stats':
        return this.http(sock, method, 200, 'application/json', this.source.json());
      case '/metrics':
        return this.http(sock, method, 200, this.source.metricsContentType, await this.source.metrics());
      default:
        return this.http(sock, method, 404, 'text/plain', 'not found: try /stats or /metrics\n');
    }
  }

  private http(sock: net.Socket, method: string, status: number, type: string, body: string, extra = ''): void {
    if (sock.destroyed) return;
    const bytes = Buffer.from(body, 'utf8');
    const head =
      `HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: ${type}\r\nContent-Length: ${bytes.length}\r\n` +
      `Cache-Control: no-store\r\nConnection: close\r\n${extra}\r\n`;
    if (method === 'HEAD') {
      sock.end(head, 'latin1');
    } else {
      sock.write(head, 'latin1');
      sock.end(bytes);
    }
  }
}

// One TCP connection or UDP flow between a client and a monitored server.
// The later stages keep their state on it (a parser per direction, the
// requests waiting for an answer) through the two small interfaces below, so
// this folder never imports from them; pairing/connection.ts names the
// connection the pipeline actually uses.
import { TcpStream } from './stream';
import { formatEndpoint } from './address';

/** A direction's parser, as the connection sees it (protocol/message.ts's StreamParser is one). */
export interface DirectionParser {
  /** Forget any partial message. */
  reset(): void;
}

/** The requests waiting for an answer, as the connection sees them (pairing/queue.ts's RequestQueue is one). */
export interface WaitingRequests {
  readonly count: number;
  /** Drop everything, buffers included: the connection is reused. */
  release(): void;
}

export class Connection<Parser extends DirectionParser = DirectionParser, Waiting extends WaitingRequests = WaitingRequests> {
  family = 0;
  proto = 0;
  c0 = 0;
  c1 = 0;
  c2 = 0;
  c3 = 0;
  cport = 0;
  s0 = 0;
  s1 = 0;
  s2 = 0;
  s3 = 0;
  sport = 0;
  /** The table's hash of the 5-tuple, and the next entry in its bucket. */
  hash = 0;
  nextInBucket: this | null = null;
  /** Capture time of the last packet, seconds. */
  lastSeen = 0;
  /**
   * The eBPF program's id for this flow (0: none, or no longer in the table),
   * and whether the client is the lower (address, port) end, the end the
   * program calls "low" (see ConnectionTable.flow()).
   */
  flowId = 0;
  lowIsClient = false;
  /**
   * On the table's list of connections that have carried no payload yet (a
   * SYN, a handshake), oldest first: the ones evicted first when it is full.
   */
  withoutData = false;
  olderWithoutData: this | null = null;
  newerWithoutData: this | null = null;
  /** FIN or RST seen from this side. */
  clientClosed = false;
  serverClosed = false;

  readonly toServer = new TcpStream();
  readonly toClient = new TcpStream();
  requestParser: Parser | null = null;
  responseParser: Parser | null = null;
  /** Redis CLIENT REPLY state (ReplyMode in pairing/redis-replies.ts); 0 = on. */
  replyMode = 0;
  /** Redis: the client subscribed to a channel (pub/sub messages may come). */
  subscribed = false;

  private clientText: string | null = null;
  private serverText: string | null = null;
  private pairText: string | null = null;
  private pairBytes: Buffer | null = null;
  private pairWords: Int32Array | null = null;

  constructor(readonly pending: Waiting) {}

  /**
   * As new, for the table to use this object for another connection. Only a
   * connection that never carried payload is reused (no parser, nothing
   * waiting, nothing formatted): that is what a SYN flood leaves, and reusing
   * its entries keeps a flood from making garbage. Every field is listed;
   * test/unit/connection-table.test.ts checks that none is missed.
   */
  reset(): void {
    this.family = this.proto = 0;
    this.c0 = this.c1 = this.c2 = this.c3 = this.cport = 0;
    this.s0 = this.s1 = this.s2 = this.s3 = this.sport = 0;
    this.hash = 0;
    this.nextInBucket = null;
    this.lastSeen = 0;
    this.flowId = 0;
    this.lowIsClient = false;
    this.withoutData = false;
    this.olderWithoutData = this.newerWithoutData = null;
    this.clientClosed = this.serverClosed = false;
    this.toServer.reset();
    this.toClient.reset();
    this.requestParser = this.responseParser = null;
    this.pending.release();
    this.replyMode = 0;
    this.subscribed = false;
    this.clientText = this.serverText = this.pairText = null;
    this.pairBytes = null;
    this.pairWords = null;
  }

  /** Whether nothing but the 5-tuple and the handshake was ever kept: reset() makes it new. */
  get reusable(): boolean {
    return this.requestParser === null && this.responseParser === null && this.pending.count === 0 && this.pairText === null && this.clientText === null && this.serverText === null;
  }

  /** "10.0.0.2:54484", formatted once. */
  client(): string {
    if (this.clientText === null) this.clientText = formatEndpoint(this.family, this.c0, this.c1, this.c2, this.c3, this.cport);
    return this.clientText;
  }

  /** "10.0.0.2:54484 => 10.0.0.1:6379", the middle of every line, formatted once. */
  endpoints(): string {
    if (this.pairText === null) this.pairText = `${this.client()} => ${this.server()}`;
    return this.pairText;
  }

  /** endpoints() as UTF-8 bytes, encoded once. */
  endpointsBytes(): Buffer {
    if (this.pairBytes === null) this.pairBytes = Buffer.from(this.endpoints(), 'utf8');
    return this.pairBytes;
  }

  /**
   * endpointsBytes() as little-endian 32-bit words, the last one zero-padded:
   * for writers that copy a word at a time.
   */
  endpointsWords(): Int32Array {
    if (this.pairWords === null) {
      const bytes = this.endpointsBytes();
      const words = new Int32Array((bytes.length + 3) >> 2);
      for (let i = 0; i < bytes.length; i++) words[i >> 2] |= bytes[i] << ((i & 3) << 3);
      this.pairWords = words;
    }
    return this.pairWords;
  }

  server(): string {
    if (this.serverText === null) this.serverText = formatEndpoint(this.family, this.s0, this.s1, this.s2, this.s3, this.sport);
    return this.serverText;
  }
}

// Writes a synthetic capture with N concurrent Redis connections, for the
// memory benchmark (test/bench/memory.sh): every connection's handshake and
// one GET, then every reply, and no connection ever closes. Halfway through,
// tcpkit holds N connections each with a request waiting; at the end, N open
// connections. (Each GET follows its handshake at once: connections that
// have not carried data yet are capped at 65,536 as a SYN-flood defence, so
// all handshakes first would measure that cap instead.)
//
//   node dist/test/bench/connections-capture.js N FILE
import { Conversation, writePcap, type Frame } from '../helpers/pcap-writer';

const SERVER = '10.0.0.1';
const PORT = 6379;
/** Microseconds between one connection's packets and the next one's. */
const STEP_US = 50;

function main(argv: string[]): void {
  const n = Number(argv[2]);
  const file = argv[3];
  if (!Number.isInteger(n) || n < 1 || n > 16_000_000 || !file) {
    process.stderr.write('usage: node dist/test/bench/connections-capture.js N FILE\n');
    process.exitCode = 2;
    return;
  }
  const t0 = Date.UTC(2026, 0, 1) * 1000;
  const phase = n * STEP_US + 1_000_000;
  const frames: Frame[] = [];
  for (let i = 0; i < n; i++) {
    // One client address per connection: 10.1.0.0 onwards.
    const client = `10.${1 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}`;
    const c = new Conversation('ethernet', client, 40000 + (i % 20000), SERVER, PORT);
    const key = `key:${i}`;
    c.handshake(t0 + i * STEP_US);
    c.request(t0 + i * STEP_US + 30, `*2\r\n$3\r\nGET\r\n$${key.length}\r\n${key}\r\n`);
    c.response(t0 + phase + i * STEP_US, '$5\r\nhello\r\n');
    for (const f of c.frames) frames.push(f);
  }
  writePcap(file, 'ethernet', frames);
  process.stdout.write(`${frames.length} packets, ${n} connections\n`);
}

main(process.argv);

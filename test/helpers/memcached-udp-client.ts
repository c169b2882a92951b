// A small memcached UDP client, run as a script inside a test namespace:
//
//   node memcached-udp-client.js HOST PORT   < steps.json
//
// Steps: [{ "payload": "get k\r\n" | hex, "hex": false, "reply": true }, ...].
// Each request is one datagram behind memcached's 8-byte frame (request id =
// its index + 1, datagram 0 of 1). A reply is read until it is whole: its
// text (or binary body) is complete. memcached 1.6 sends the parts of one
// reply (VALUE ..., END) as datagrams each framed 0 of 1, so the frame alone
// cannot say. Prints one line per reply: the text as a JSON string (over 200
// bytes: "N bytes"), a binary reply as "bin:STATUS". Exits 2 on a timeout.
import dgram from 'node:dgram';
import fs from 'node:fs';

export interface UdpStep {
  payload: string;
  /** The payload is hex (a binary request). */
  hex?: boolean;
  /** A reply is expected (false: noreply or a quiet request). */
  reply: boolean;
}

function whole(b: Buffer): boolean {
  if (b.length === 0) return false;
  if (b[0] === 0x81) return b.length >= 24 && b.length >= 24 + b.readUInt32BE(8);
  const s = b.toString('latin1');
  return s.startsWith('VALUE') ? s.endsWith('END\r\n') : s.endsWith('\r\n');
}

async function main(): Promise<void> {
  const [host, port] = process.argv.slice(2);
  const steps = JSON.parse(fs.readFileSync(0, 'utf8')) as UdpStep[];
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  let got: Buffer[] = [];
  let done: (() => void) | null = null;
  sock.on('message', (m) => {
    got.push(m.subarray(8));
    if (done !== null && whole(Buffer.concat(got))) done();
  });
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    const frame = Buffer.alloc(8);
    frame.writeUInt16BE(i + 1, 0);
    frame.writeUInt16BE(1, 4);
    got = [];
    sock.send(Buffer.concat([frame, Buffer.from(s.payload, s.hex ? 'hex' : 'latin1')]), Number(port), host);
    if (!s.reply) {
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        process.stderr.write(`no whole reply to step ${i}, got ${JSON.stringify(got.map(String))}\n`);
        process.exit(2);
      }, 3000);
      done = () => {
        clearTimeout(t);
        done = null;
        resolve();
      };
    });
    const reply = Buffer.concat(got);
    console.log(JSON.stringify(reply[0] === 0x81 ? `bin:${reply.readUInt16BE(6)}` : reply.length > 200 ? `${reply.length} bytes` : reply.toString('latin1')));
  }
  sock.close();
}

void main();

// Writes a large Kafka capture for the offline benchmark, built from the
// protocol specification (test/helpers/kafka-wire.ts): CONNECTIONS clients
// on port 9092, each with its handshake, then rounds of request, response
// and the client's ACK. The mix, per 20 requests: 8 Produce v9 (acks=1, two
// partitions, 1 KiB of records each), 1 Produce v9 acks=0, 6 Fetch v12 (half
// answered with 4 KiB of records, half long polls), 2 Metadata v12, 2
// Heartbeat v4, 1 OffsetCommit v8; one Produce in 50 answered
// NOT_LEADER_OR_FOLLOWER.
//
//   node dist/test/bench/kafka-capture.js OUT.pcap MIN_PACKETS
//
// Prints `packets=N requests=M` (M: requests that expect a response).
import fs from 'node:fs';
import { tcpPacket, ACK, PSH, SYN } from '../helpers/pcap-writer';
import { fetchRequest, fetchResponse, metadataRequest, metadataResponse, produceRequest, produceResponse, request, response } from '../helpers/kafka-wire';

const [out, minText] = process.argv.slice(2);
const MIN = Number(minText ?? 600000);
const CONNECTIONS = 200;
const SERVER = '10.0.0.1';

const orders = [{ name: 'orders', partitions: [0, 1] }];
const events = [{ name: 'events', partitions: [3] }];
const records = (n: number) => Buffer.alloc(n, 0x2a);
// [request, response | null, latency µs]: templates whose correlation ids are patched.
const produce = (() => {
  const rq = produceRequest(9, 0, 1, orders, 'bench-producer');
  return rq;
})();
const mix: [Buffer, Buffer | null, number][] = [];
const big = Buffer.from(produce);
for (let i = 0; i < 8; i++) mix.push([big, produceResponse(9, 0, orders), 1500]);
mix.push([produceRequest(9, 0, 0, orders, 'bench-producer'), null, 0]);
for (let i = 0; i < 3; i++) mix.push([fetchRequest(12, 0, 500, events, 'bench-consumer'), fetchResponse(12, 0, events, records(4096)), 800]);
for (let i = 0; i < 3; i++) mix.push([fetchRequest(12, 0, 500, events, 'bench-consumer'), fetchResponse(12, 0, events, null), 500_200]);
for (let i = 0; i < 2; i++) mix.push([metadataRequest(12, 0, ['orders', 'events']), metadataResponse(12, 0, [{ id: 1, host: SERVER, port: 9092 }], [...orders, ...events]), 300]);
const hb = request(12, 4, 0, 'bench-consumer', (w) => w.str('group-1').i32(7).str('member-1').str(null).tags());
const hbRsp = response(12, 4, 0, (w) => w.i32(0).i16(0).tags());
for (let i = 0; i < 2; i++) mix.push([hb, hbRsp, 200]);
const oc = request(8, 8, 0, 'bench-consumer', (w) => w.str('group-1').i32(7).str('member-1').str(null)
  .array(events, (w, t) => w.str(t.name).array(t.partitions, (w, p) => w.i32(p).i64(1000).i32(-1).str(null).tags()).tags()).tags());
const ocRsp = response(8, 8, 0, (w) => w.i32(0).array(events, (w, t) => w.str(t.name).array(t.partitions, (w, p) => w.i32(p).i16(0).tags()).tags()).tags());
mix.push([oc, ocRsp, 400]);
const notLeader = produceResponse(9, 0, orders, [[6]]);

const fd = fs.openSync(out, 'w');
const gh = Buffer.alloc(24);
gh.writeUInt32LE(0xa1b2c3d4, 0);
gh.writeUInt16LE(2, 4);
gh.writeUInt16LE(4, 6);
gh.writeUInt32LE(262144, 16);
gh.writeUInt32LE(1, 20);
fs.writeSync(fd, gh);
let pending: Buffer[] = [];
let pendingBytes = 0;
let packets = 0;
let requests = 0;
function emit(tsUs: number, frame: Buffer): void {
  const rh = Buffer.alloc(16);
  rh.writeUInt32LE(Math.floor(tsUs / 1e6), 0);
  rh.writeUInt32LE(tsUs % 1e6, 4);
  rh.writeUInt32LE(frame.length, 8);
  rh.writeUInt32LE(frame.length, 12);
  pending.push(rh, frame);
  pendingBytes += 16 + frame.length;
  packets++;
  if (pendingBytes > 4 << 20) flush();
}
function flush(): void {
  fs.writeSync(fd, Buffer.concat(pending));
  pending = [];
  pendingBytes = 0;
}

interface Conn {
  ip: string;
  port: number;
  cseq: number;
  sseq: number;
  corr: number;
}
const conns: Conn[] = [];
let t = 1_700_000_000_000_000;
for (let i = 0; i < CONNECTIONS; i++) {
  const c = { ip: `10.0.${1 + (i >> 8)}.${i & 255}`, port: 30000 + i, cseq: 1000 + i * 7919, sseq: 5000 + i * 104729, corr: 1 };
  emit(t, tcpPacket('ethernet', c.ip, c.port, SERVER, 9092, c.cseq, 0, SYN, Buffer.alloc(0)));
  c.cseq++;
  emit(t + 20, tcpPacket('ethernet', SERVER, 9092, c.ip, c.port, c.sseq, c.cseq, SYN | ACK, Buffer.alloc(0)));
  c.sseq++;
  emit(t + 40, tcpPacket('ethernet', c.ip, c.port, SERVER, 9092, c.cseq, c.sseq, ACK, Buffer.alloc(0)));
  conns.push(c);
  t += 100;
}
let n = 0;
while (packets < MIN) {
  for (const c of conns) {
    const [rqT, rsT, latency] = mix[n % mix.length];
    const rq = Buffer.from(rqT);
    rq.writeInt32BE(c.corr, 8);
    emit(t, tcpPacket('ethernet', c.ip, c.port, SERVER, 9092, c.cseq, c.sseq, PSH | ACK, rq));
    c.cseq += rq.length;
    if (rsT !== null) {
      const rs = Buffer.from(rqT === big && n % 50 === 0 ? notLeader : rsT);
      rs.writeInt32BE(c.corr, 4);
      emit(t + latency, tcpPacket('ethernet', SERVER, 9092, c.ip, c.port, c.sseq, c.cseq, PSH | ACK, rs));
      c.sseq += rs.length;
      emit(t + latency + 30, tcpPacket('ethernet', c.ip, c.port, SERVER, 9092, c.cseq, c.sseq, ACK, Buffer.alloc(0)));
      requests++;
    }
    c.corr++;
    n++;
    t += 7;
  }
  // Rounds are far enough apart that every answer (a long poll: 0.5 s) comes before the next request.
  t += 600_000;
}
flush();
fs.closeSync(fd);
process.stdout.write(`packets=${packets} requests=${requests}\n`);

// The connection table's lookups in process: direction, -s servers, both ends
// watched, IPv6 5-tuples, what does not open a connection, closing, idle
// expiry to the second, and eBPF flow ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionTable, FLOW_SLOTS, type TableOptions } from '../../../src/connections/table';
import { newPairedConnection, type PairedConnection as Connection } from '../../../src/pairing/connection';
import { Packet, TcpFlag } from '../../../src/decode/packet';
import { parseIp } from '../../../src/connections/address';

interface Ends {
  src: string;
  sport: number;
  dst: string;
  dport: number;
}

function packet({ src, sport, dst, dport }: Ends, flags: number = TcpFlag.Ack, payloadLen = 10, tsSec = 100, proto = 6): Packet {
  const p = new Packet();
  const s = parseIp(src)!;
  const d = parseIp(dst)!;
  p.family = s.family;
  p.proto = proto;
  [p.s0, p.s1, p.s2, p.s3] = s.words;
  [p.d0, p.d1, p.d2, p.d3] = d.words;
  p.sport = sport;
  p.dport = dport;
  p.flags = flags;
  p.payloadLen = payloadLen;
  p.payloadCap = payloadLen;
  p.tsSec = tsSec;
  return p;
}

const C2S: Ends = { src: '10.0.0.2', sport: 40000, dst: '10.0.0.1', dport: 6379 };
const S2C: Ends = { src: '10.0.0.1', sport: 6379, dst: '10.0.0.2', dport: 40000 };

function table(opts: Partial<TableOptions> = {}, gone: [string, string][] = []): ConnectionTable<Connection> {
  return new ConnectionTable<Connection>(
    { ports: [6379], servers: [], maxConnections: 1000, idleSeconds: 60, ...opts },
    (c, reason) => gone.push([c.endpoints(), reason]),
    newPairedConnection,
  );
}

function counters(t: ConnectionTable<Connection>): number[] {
  const c = t.counters;
  return [c.opened, c.closed, c.expired, c.evicted, c.refused, c.strayPackets, c.flowsRenamed];
}

test('a packet to a watched port opens the connection; the reply finds it from the other side', () => {
  const t = table();
  const c = t.lookup(packet(C2S))!;
  assert.equal(t.fromClient, true);
  assert.equal(c.endpoints(), '10.0.0.2:40000 => 10.0.0.1:6379');
  assert.deepEqual([c.family, c.proto, c.lastSeen, c.withoutData], [4, 6, 100, false]);
  assert.equal(t.lookup(packet(S2C, TcpFlag.Ack, 5, 103)), c);
  assert.equal(t.fromClient, false);
  assert.equal(c.lastSeen, 103);
  assert.equal(t.lookup(packet(C2S)), c);
  assert.equal(t.fromClient, true);
  assert.deepEqual([t.connections, t.connectionsWithoutData], [1, 0]);
  assert.deepEqual(counters(t), [1, 0, 0, 0, 0, 0, 0]);
  // Neither port watched.
  assert.equal(t.lookup(packet({ src: '10.0.0.2', sport: 40000, dst: '10.0.0.1', dport: 6380 })), null);
  assert.equal(t.connections, 1);
  assert.deepEqual(counters(t), [1, 0, 0, 0, 0, 0, 0]);
});

test('every field of the 5-tuple tells connections apart: ports, each address word, protocol, family', () => {
  const t = table({ ports: [53, 6379] });
  const base = { src: 'fd77:1:2:3::2', sport: 40000, dst: 'fd77:4:5:6::1', dport: 6379 };
  const first = t.lookup(packet(base))!;
  const variants: Ends[] = [
    { ...base, sport: 40001 },
    { ...base, dport: 53 },
    { ...base, src: 'fd78:1:2:3::2' },
    { ...base, src: 'fd77:1:2:4::2' },
    { ...base, src: 'fd77:1:3:3::2' },
    { ...base, src: 'fd77:1:2:3::3' },
    { ...base, dst: 'fd78:4:5:6::1' },
    { ...base, dst: 'fd77:4:5:7::1' },
    { ...base, dst: 'fd77:4:6:6::1' },
    { ...base, dst: 'fd77:4:5:6::2' },
  ];
  const seen = new Set([first]);
  for (const v of variants) {
    const c = t.lookup(packet(v))!;
    assert.ok(!seen.has(c), JSON.stringify(v));
    seen.add(c);
  }
  const udp = t.lookup(packet(base, 0, 10, 100, 17))!;
  assert.ok(!seen.has(udp));
  seen.add(udp);
  assert.equal(t.connections, 12);
  // IPv4 and IPv6 with the same last words are different connections.
  const v4 = table();
  const a = v4.lookup(packet({ src: '0.0.0.2', sport: 1, dst: '0.0.0.1', dport: 6379 }))!;
  const b = v4.lookup(packet({ src: '::2', sport: 1, dst: '::1', dport: 6379 }))!;
  assert.notEqual(a, b);
  assert.equal(b.endpoints(), '[::2]:1 => [::1]:6379');
  // Each again finds its own.
  for (const v of [base, ...variants]) assert.ok(seen.has(t.lookup(packet(v))!));
  assert.equal(t.lookup(packet(base)), first);
  assert.equal(t.connections, 12);
  assert.equal([...t.all()].length, 12);
  assert.equal(new Set(t.all()).size, 12);
});

test('-s: only the listed server addresses are servers, matched on family and every word', () => {
  const servers = ['10.0.0.1', 'fd77::1'].map((s) => parseIp(s)!);
  const t = table({ servers });
  assert.ok(t.lookup(packet(C2S)));
  assert.ok(t.lookup(packet({ src: 'fd77::2', sport: 40000, dst: 'fd77::1', dport: 6379 })));
  for (const dst of ['10.0.0.3', 'fd77::3', 'fd78::1', 'fd77:0:0:1::1', 'fd77:0:1::1', 'fd77::1:0:0:1', '::a00:1']) {
    const src = dst.includes(':') ? 'fd77::2' : '10.0.0.2';
    assert.equal(t.lookup(packet({ src, sport: 40000, dst, dport: 6379 })), null, dst);
  }
  assert.equal(t.connections, 2);
  // A server sending from its watched port to a client that is not one.
  assert.equal(t.lookup(packet({ src: '10.0.0.1', sport: 6379, dst: '10.0.0.9', dport: 6379 }))!.client(), '10.0.0.9:6379');
  assert.equal(t.fromClient, false);
});

test('both ends watched: the SYN names the client, the SYN-ACK the server, else the lower port is the server; then the orientation sticks', () => {
  const ends = { src: '10.0.0.2', sport: 6380, dst: '10.0.0.1', dport: 6379 };
  const back = { src: '10.0.0.1', sport: 6379, dst: '10.0.0.2', dport: 6380 };
  let t = table({ ports: [6379, 6380] });
  let c = t.lookup(packet(back, TcpFlag.Syn, 0))!; // from 6379: so 6379 is the client
  assert.equal(c.endpoints(), '10.0.0.1:6379 => 10.0.0.2:6380');
  assert.equal(t.fromClient, true);
  assert.equal(t.lookup(packet(ends, TcpFlag.Syn | TcpFlag.Ack, 0)), c);
  assert.equal(t.fromClient, false);
  assert.equal(t.lookup(packet(ends, TcpFlag.Ack, 5)), c); // the lower port rule would say otherwise
  assert.equal(t.fromClient, false);
  t = table({ ports: [6379, 6380] });
  c = t.lookup(packet(back, TcpFlag.Syn | TcpFlag.Ack, 0))!; // SYN-ACK from 6379: 6379 is the server
  assert.equal(c.endpoints(), '10.0.0.2:6380 => 10.0.0.1:6379');
  assert.equal(t.fromClient, false);
  t = table({ ports: [6379, 6380] });
  c = t.lookup(packet(back, TcpFlag.Ack | TcpFlag.Psh, 5))!; // data, no handshake: the lower port serves
  assert.equal(c.endpoints(), '10.0.0.2:6380 => 10.0.0.1:6379');
  assert.equal(t.fromClient, false);
  assert.equal(t.lookup(packet(ends, TcpFlag.Ack, 5)), c);
  assert.equal(t.fromClient, true);
  t = table({ ports: [6379, 6380] });
  c = t.lookup(packet(ends, TcpFlag.Ack | TcpFlag.Psh, 5))!;
  assert.equal(c.endpoints(), '10.0.0.2:6380 => 10.0.0.1:6379');
  assert.equal(t.fromClient, true);
  // The same port at both ends: the packet goes to the server.
  t = table({ ports: [6379] });
  c = t.lookup(packet({ src: '10.0.0.2', sport: 6379, dst: '10.0.0.1', dport: 6379 }, TcpFlag.Ack, 5))!;
  assert.equal(c.endpoints(), '10.0.0.2:6379 => 10.0.0.1:6379');
  assert.equal(t.fromClient, true);
  // SYN with other flags (ECN) is still a SYN.
  t = table({ ports: [6379, 6380] });
  c = t.lookup(packet(back, TcpFlag.Syn | 0x40 | 0x80, 0))!;
  assert.equal(c.endpoints(), '10.0.0.1:6379 => 10.0.0.2:6380');
});

test('a lone ACK, FIN or RST opens nothing and is counted stray; a SYN, data, or UDP without payload open one', () => {
  const t = table();
  for (const flags of [TcpFlag.Ack, TcpFlag.Fin | TcpFlag.Ack, TcpFlag.Rst, TcpFlag.Rst | TcpFlag.Ack]) {
    assert.equal(t.lookup(packet(C2S, flags, 0)), null, `flags ${flags}`);
  }
  assert.equal(t.lookup(packet(C2S, TcpFlag.Rst, 10)), null); // a RST with data
  assert.deepEqual(counters(t), [0, 0, 0, 0, 0, 5, 0]);
  const syn = t.lookup(packet(C2S, TcpFlag.Syn, 0))!;
  assert.deepEqual([syn.withoutData, t.connectionsWithoutData], [true, 1]);
  assert.equal(t.lookup(packet(C2S, TcpFlag.Ack, 0)), syn); // a known connection is found whatever the flags
  assert.equal(syn.withoutData, true);
  assert.equal(t.lookup(packet(C2S, TcpFlag.Ack, 1)), syn);
  assert.deepEqual([syn.withoutData, t.connectionsWithoutData], [false, 0]);
  assert.ok(t.lookup(packet({ ...C2S, sport: 2 }, TcpFlag.Fin | TcpFlag.Psh, 3)));
  assert.ok(t.lookup(packet({ ...C2S, sport: 3 }, 0, 0, 100, 17)));
  assert.deepEqual(counters(t), [3, 0, 0, 0, 0, 5, 0]);
  assert.equal(t.connectionsWithoutData, 1); // the UDP flow
});

test('remove(): counted once, reported as closed; the next packet opens the connection again', () => {
  const gone: [string, string][] = [];
  const t = table({}, gone);
  const c = t.lookup(packet(C2S, TcpFlag.Syn, 0))!;
  t.remove(c);
  assert.deepEqual(gone, [['10.0.0.2:40000 => 10.0.0.1:6379', 'closed']]);
  assert.equal(t.counters.closed, 1);
  t.remove(c);
  assert.deepEqual(gone, [['10.0.0.2:40000 => 10.0.0.1:6379', 'closed']]);
  assert.deepEqual([t.connections, t.connectionsWithoutData, c.flowId], [0, 0, 0]);
  assert.deepEqual(counters(t), [1, 1, 0, 0, 0, 0, 0]);
  const again = t.lookup(packet(C2S))!;
  assert.notEqual(again, c);
  assert.equal(t.connections, 1);
  assert.equal([...t.all()][0], again);
});

test('idle expiry: after idleSeconds, not one second sooner; sweeps at most once a second of capture time', () => {
  const gone: [string, string][] = [];
  const t = table({ idleSeconds: 10 }, gone);
  const a = t.lookup(packet(C2S, TcpFlag.Ack, 5, 100))!;
  t.lookup(packet({ ...C2S, sport: 2 }, TcpFlag.Syn, 0, 105));
  t.sweep(110); // a is 10 s idle: kept
  assert.equal(t.connections, 2);
  t.sweep(110.5); // too soon after the last sweep, even though a is now past the limit
  assert.equal(t.connections, 2);
  t.sweep(111);
  assert.deepEqual(gone, [['10.0.0.2:40000 => 10.0.0.1:6379', 'expired']]);
  assert.deepEqual([t.connections, t.connectionsWithoutData, a.flowId], [1, 1, 0]);
  t.sweep(115);
  assert.equal(t.connections, 1);
  t.sweep(116);
  assert.deepEqual([t.connections, t.connectionsWithoutData], [0, 0]);
  assert.deepEqual(counters(t), [2, 0, 2, 0, 0, 0, 0]);
  assert.equal(gone.length, 2);
  assert.deepEqual([...t.all()], []);
  // Connections kept by a sweep are still found.
  const u = table({ idleSeconds: 10 });
  const keep = u.lookup(packet(C2S, TcpFlag.Ack, 5, 200))!;
  for (let i = 1; i <= 50; i++) u.lookup(packet({ ...C2S, sport: i }, TcpFlag.Ack, 5, 100));
  u.sweep(200);
  assert.equal(u.connections, 1);
  assert.equal(u.lookup(packet(C2S, TcpFlag.Ack, 5, 201)), keep);
  assert.equal(u.connections, 1);
});

test('eBPF flow ids: bound once, found by id with the direction from which end sent; a renamed flow is counted', () => {
  const t = table();
  assert.equal(t.flow(7, true, 100, 0), null); // nothing bound yet
  const c = t.lookup(packet(C2S, TcpFlag.Syn, 0))!;
  t.bindFlow(c, 7, true); // the client sent this packet and is the low end
  assert.deepEqual([c.flowId, c.lowIsClient, t.counters.flowsRenamed], [7, true, 0]);
  const other = t.lookup(packet({ ...C2S, sport: 2 }, TcpFlag.Syn, 0))!;
  t.bindFlow(other, 8 + FLOW_SLOTS, false); // a second flow: the first stays bound
  assert.equal(t.flow(8 + FLOW_SLOTS, false, 100, 0), other);
  assert.equal(t.fromClient, true);
  assert.equal(t.counters.flowsRenamed, 0);
  assert.equal(t.flow(7, true, 101, 0), c);
  assert.deepEqual([t.fromClient, c.lastSeen, c.withoutData], [true, 101, true]);
  assert.equal(t.flow(7, false, 102, 5), c);
  assert.deepEqual([t.fromClient, c.lastSeen, c.withoutData, t.connectionsWithoutData], [false, 102, false, 1]); // `other` has no data
  assert.equal(t.flow(7 + FLOW_SLOTS, true, 103, 0), null); // the same slot, another id
  assert.equal(t.flow(8, true, 103, 0), null); // the slot of 8 + FLOW_SLOTS, another id
  assert.equal(c.lastSeen, 102);
  t.lookup(packet(S2C));
  t.bindFlow(c, 9, true); // the server sent it and is the low end
  assert.deepEqual([c.flowId, c.lowIsClient, t.counters.flowsRenamed], [9, false, 1]);
  assert.equal(t.flow(9, true, 104, 0), c);
  assert.equal(t.fromClient, false);
  t.bindFlow(c, 9, true); // the same id again is no rename
  assert.equal(t.counters.flowsRenamed, 1);
  t.remove(c);
  assert.equal(t.flow(9, true, 105, 0), null); // a slot still pointing at it no longer matches
});

/** A client whose connection to 10.0.0.1:6379 lands in the same hash bucket as client(59660)'s: found by search (the hash of one field alone never collides). */
function client(i: number): Ends {
  return { src: `10.1.${(i >> 8) & 255}.${i & 255}`, sport: 1024 + (i % 60000), dst: '10.0.0.1', dport: 6379 };
}
const SAME_BUCKET = [59660, 60012];

test('two connections in one hash bucket: each found, each removed or expired alone, in either order', () => {
  for (const first of [0, 1]) {
    const [a, b] = first === 0 ? SAME_BUCKET : [...SAME_BUCKET].reverse();
    const gone: [string, string][] = [];
    const t = table({ idleSeconds: 10 }, gone);
    const ca = t.lookup(packet(client(a), TcpFlag.Ack, 5, 100))!;
    const cb = t.lookup(packet(client(b), TcpFlag.Ack, 5, 105))!;
    assert.notEqual(ca, cb);
    assert.equal(ca.hash, cb.hash);
    assert.equal(t.lookup(packet(client(a), TcpFlag.Ack, 5, 100)), ca);
    assert.equal(t.lookup(packet(client(b), TcpFlag.Ack, 5, 105)), cb);
    // The older one (not the bucket's head) expires; the newer stays findable.
    t.sweep(111);
    assert.deepEqual(gone.map((g) => g[1]), ['expired']);
    assert.equal(t.connections, 1);
    assert.equal(t.lookup(packet(client(b), TcpFlag.Ack, 5, 112)), cb);
    const ca2 = t.lookup(packet(client(a), TcpFlag.Ack, 5, 112))!;
    assert.notEqual(ca2, ca);
    // Now a is the head: removing b (behind it) and then a again.
    t.remove(cb);
    assert.equal(t.connections, 1);
    assert.equal(t.lookup(packet(client(a), TcpFlag.Ack, 5, 113)), ca2);
    t.remove(cb); // not in the table any more, though its bucket is
    assert.equal(t.counters.closed, 1);
    const cb2 = t.lookup(packet(client(b), TcpFlag.Ack, 5, 114))!;
    t.remove(ca2); // the head, with b behind it
    assert.equal(t.lookup(packet(client(b), TcpFlag.Ack, 5, 115)), cb2);
    assert.deepEqual([t.connections, t.counters.closed], [1, 2]);
    // A sweep that keeps both keeps both findable.
    const ca3 = t.lookup(packet(client(a), TcpFlag.Ack, 5, 120))!; // the bucket's head
    t.sweep(121);
    assert.equal(t.connections, 2);
    assert.equal(t.lookup(packet(client(b), TcpFlag.Ack, 5, 125)), cb2);
    assert.equal(t.lookup(packet(client(a), TcpFlag.Ack, 5, 124)), ca3);
    assert.equal(t.connections, 2);
    // The head expires, the one behind it stays.
    t.sweep(134.5); // the limit is 124.5: the head (last seen at 124) goes, b (125) stays
    assert.deepEqual([t.connections, t.counters.expired], [1, 2]);
    assert.equal(t.lookup(packet(client(b), TcpFlag.Ack, 5, 135)), cb2);
    assert.equal(t.connections, 1);
    t.sweep(146);
    assert.deepEqual([t.connections, t.counters.expired], [0, 3]);
    assert.deepEqual([...t.all()], []);
  }
});

test('an evicted connection that kept nothing is reset and reused for the next one, reported as evicted', () => {
  const reasons: string[] = [];
  const t = new ConnectionTable<Connection>({ ports: [6379], servers: [], maxConnections: 1000, idleSeconds: 60, maxWithoutData: 1 }, (_c, r) => reasons.push(r), newPairedConnection);
  const a = t.lookup(packet(C2S, TcpFlag.Syn, 0))!;
  a.toServer.syn(5);
  const b = t.lookup(packet({ ...C2S, sport: 2 }, TcpFlag.Syn, 0))!;
  assert.equal(b, a); // the same object, as new
  assert.deepEqual([b.cport, b.toServer.synced, b.withoutData], [2, false, true]);
  assert.deepEqual(reasons, ['evicted']);
  b.client(); // formatted: not reusable any more
  const c = t.lookup(packet({ ...C2S, sport: 3 }, TcpFlag.Syn, 0))!;
  assert.notEqual(c, b);
  const d = t.lookup(packet({ ...C2S, sport: 4 }, TcpFlag.Syn, 0))!;
  assert.equal(d, c);
  assert.equal(b.cport, 2);
  assert.deepEqual(reasons, ['evicted', 'evicted', 'evicted']);
  // A connection with data opened while one without is listed evicts nothing.
  const e = t.lookup(packet({ ...C2S, sport: 5 }, TcpFlag.Ack, 7))!;
  assert.deepEqual([t.connections, t.connectionsWithoutData, t.counters.evicted], [2, 1, 3]);
  assert.equal(t.lookup(packet({ ...C2S, sport: 4 }, TcpFlag.Ack, 0)), d);
  assert.notEqual(e, d);
});

test('a full table refuses a new connection once, counting each of its packets as stray', () => {
  const t = table({ maxConnections: 1 });
  t.lookup(packet(C2S));
  const other = { ...C2S, sport: 2 };
  assert.equal(t.lookup(packet(other)), null);
  assert.equal(t.lookup(packet(other)), null);
  assert.equal(t.lookup(packet({ ...C2S, sport: 3 })), null);
  assert.equal(t.lookup(packet(other)), null);
  assert.deepEqual([t.counters.refused, t.counters.strayPackets], [2, 4]);
});

test('refused connections are remembered 65,536 at a time: past that the memory starts afresh', () => {
  const t = table({ maxConnections: 1 });
  t.lookup(packet(C2S));
  const refused = (i: number) => packet({ src: `10.${2 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, sport: 1000, dst: '10.0.0.1', dport: 6379 });
  for (let i = 0; i < 65_536; i++) t.lookup(refused(i));
  assert.equal(t.counters.refused, 65_536);
  t.lookup(refused(0)); // still remembered
  assert.equal(t.counters.refused, 65_536);
  t.lookup(refused(65_536)); // the memory is full: emptied, then this one kept
  assert.equal(t.counters.refused, 65_537);
  t.lookup(refused(65_536));
  t.lookup(refused(0)); // forgotten: counted again
  assert.equal(t.counters.refused, 65_538);
});

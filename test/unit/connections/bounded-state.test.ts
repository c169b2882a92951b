// Bounded state: the connection table gives up connections that carried no
// data first, never those with traffic, refuses (counted) only when it must,
// and never walks the whole table more than once a second; the pending
// request queues share one budget of slots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionTable, DEFAULT_MAX_WITHOUT_DATA, type TableOptions } from '../../../src/connections/table';
import { newPairedConnection, type PairedConnection as Connection } from '../../../src/pairing/connection';
import { Packet, TcpFlag } from '../../../src/decode/packet';
import { MAX_PENDING, RequestQueue, SlotBudget } from '../../../src/pairing/queue';

const SERVER = 0x0a000001; // 10.0.0.1

/** A TCP packet from client number `i` (10.1.x.y) to the server's port 6379. */
function fromClient(i: number, flags: number, payloadLen: number, tsSec = 100): Packet {
  const p = new Packet();
  p.family = 4;
  p.proto = 6;
  p.s3 = (0x0a010000 + i) >>> 0;
  p.sport = 1024 + (i % 60000);
  p.d3 = SERVER;
  p.dport = 6379;
  p.flags = flags;
  p.payloadLen = payloadLen;
  p.payloadCap = payloadLen;
  p.tsSec = tsSec;
  return p;
}

function table(opts: Partial<TableOptions>, evicted: Connection[] = []): ConnectionTable<Connection> {
  return new ConnectionTable<Connection>(
    { ports: [6379], servers: [], maxConnections: 1000, idleSeconds: 60, ...opts },
    (conn, reason) => {
      if (reason === 'evicted') evicted.push(conn);
    },
    newPairedConnection,
  );
}

test('past maxWithoutData, the oldest connection without data is evicted, and counted', () => {
  const t = table({ maxWithoutData: 3 });
  for (let i = 0; i < 10; i++) assert.notEqual(t.lookup(fromClient(i, TcpFlag.Syn, 0)), null);
  assert.equal(t.connections, 3);
  assert.equal(t.connectionsWithoutData, 3);
  assert.equal(t.counters.evicted, 7);
  assert.equal(t.counters.opened, 10);
  // The three newest are the ones kept; a bare ACK finds them, and opens nothing for the others.
  for (let i = 7; i < 10; i++) assert.notEqual(t.lookup(fromClient(i, TcpFlag.Ack, 0)), null);
  for (let i = 0; i < 7; i++) assert.equal(t.lookup(fromClient(i, TcpFlag.Ack, 0)), null);
});

test('a full table evicts connections without data, never ones that carried data', () => {
  const evicted: Connection[] = [];
  const t = table({ maxConnections: 10, maxWithoutData: 10 }, evicted);
  // Five connections with data: a SYN, then a request.
  const busy: Connection[] = [];
  for (let i = 0; i < 5; i++) {
    const c = t.lookup(fromClient(i, TcpFlag.Syn, 0))!;
    assert.equal(t.lookup(fromClient(i, TcpFlag.Ack | TcpFlag.Psh, 30)), c);
    busy.push(c);
  }
  assert.equal(t.connectionsWithoutData, 0, 'data took them off the list');
  // A flood of SYNs: it only ever takes the other five places.
  for (let i = 100; i < 10_100; i++) assert.notEqual(t.lookup(fromClient(i, TcpFlag.Syn, 0)), null);
  assert.equal(t.connections, 10);
  assert.equal(t.counters.evicted, 10_000 - 5);
  assert.equal(t.counters.refused, 0);
  for (const c of busy) assert.ok(!evicted.includes(c));
  for (let i = 0; i < 5; i++) assert.equal(t.lookup(fromClient(i, TcpFlag.Ack | TcpFlag.Psh, 10)), busy[i], 'still there');
});

test('a connection evicted before its data opens again with its first data', () => {
  const t = table({ maxWithoutData: 1 });
  t.lookup(fromClient(1, TcpFlag.Syn, 0));
  t.lookup(fromClient(2, TcpFlag.Syn, 0)); // evicts 1
  assert.equal(t.counters.evicted, 1);
  const again = t.lookup(fromClient(1, TcpFlag.Ack | TcpFlag.Psh, 20));
  assert.notEqual(again, null);
  assert.equal(t.fromClient, true);
  assert.equal(again!.cport, 1025);
});

test('a table full of connections with data refuses new ones, counted, and walks it at most once a second', () => {
  const t = table({ maxConnections: 20_000 });
  for (let i = 0; i < 20_000; i++) t.lookup(fromClient(i, TcpFlag.Psh | TcpFlag.Ack, 10, 100));
  assert.equal(t.connections, 20_000);
  const started = process.hrtime.bigint();
  for (let i = 20_000; i < 70_000; i++) assert.equal(t.lookup(fromClient(i, TcpFlag.Psh | TcpFlag.Ack, 10, 100)), null);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.equal(t.counters.refused, 50_000);
  // One walk over 20,000 entries in that second, not 50,000 of them (10^9 steps).
  // (Not timed under `make mutate`: instrumented code is many times slower.)
  if (process.env.STRYKER_DRY_RUN === undefined && process.env.__STRYKER_ACTIVE_MUTANT__ === undefined) assert.ok(ms < 1000, `${ms} ms`);
  // Two seconds later of capture time, nobody has been idle for the
  // documented 60 s: still no room (issue 16, item 11: a connection idle
  // 1.3 s was expired when a full table halved the limit).
  assert.equal(t.lookup(fromClient(99_999, TcpFlag.Psh | TcpFlag.Ack, 10, 102)), null);
  assert.equal(t.counters.expired, 0);
  // Its packets again: the same connection, refused once.
  for (let k = 0; k < 10; k++) assert.equal(t.lookup(fromClient(99_999, TcpFlag.Psh | TcpFlag.Ack, 10, 102)), null);
  assert.equal(t.counters.refused, 50_001);
  // Once they have been idle that long, room again.
  assert.notEqual(t.lookup(fromClient(99_999, TcpFlag.Psh | TcpFlag.Ack, 10, 161)), null);
  assert.equal(t.counters.expired, 20_000);
});

test('expiry and closing take connections off the list of those without data', () => {
  const t = table({ maxWithoutData: 100, idleSeconds: 5 });
  for (let i = 0; i < 50; i++) t.lookup(fromClient(i, TcpFlag.Syn, 0, 100));
  const c = t.lookup(fromClient(50, TcpFlag.Syn, 0, 100))!;
  t.remove(c);
  assert.equal(t.connectionsWithoutData, 50);
  t.sweep(200);
  assert.equal(t.connections, 0);
  assert.equal(t.connectionsWithoutData, 0);
  assert.equal(t.counters.expired, 50);
  // The list is whole again: new entries come and go.
  for (let i = 0; i < 300; i++) t.lookup(fromClient(i, TcpFlag.Syn, 0, 300));
  assert.equal(t.connectionsWithoutData, 100);
  assert.equal(t.counters.evicted, 200);
});

/** Sets every field, deep, to a value a new object does not have. */
function dirty(o: Record<string, unknown>, depth = 0): void {
  for (const key of Object.keys(o)) {
    const v = o[key];
    if (typeof v === 'number') o[key] = v + 7;
    else if (typeof v === 'boolean') o[key] = !v;
    else if (v === null) o[key] = key.startsWith('pair') ? Buffer.from('x') : key.endsWith('Text') ? 'x' : newPairedConnection();
    else if (typeof v === 'object' && depth < 2 && !Array.isArray(v)) dirty(v as Record<string, unknown>, depth + 1);
  }
}

test('Connection.reset() leaves no field as it was: a reused entry is a new connection', () => {
  const fresh = newPairedConnection();
  const used = newPairedConnection();
  used.pending.push(new SlotBudget());
  used.pending.shift();
  dirty(used as unknown as Record<string, unknown>);
  for (const key of Object.keys(fresh)) {
    if (typeof (fresh as unknown as Record<string, unknown>)[key] !== 'object' || key === 'pending') {
      assert.notDeepEqual((used as unknown as Record<string, unknown>)[key], (fresh as unknown as Record<string, unknown>)[key], `${key} was dirtied`);
    }
  }
  used.reset();
  // Compare as plain data: every own field, and the stream objects' fields.
  const plain = (c: Connection) => JSON.parse(JSON.stringify(c, (k, v) => (k === 'pending' ? { count: v.count } : v)));
  assert.deepEqual(plain(used), plain(fresh));
});

test('queues: at most MAX_PENDING per connection, the oldest dropped first', () => {
  const q = new RequestQueue();
  const budget = new SlotBudget();
  for (let i = 0; i < MAX_PENDING + 10; i++) {
    const slot = q.push(budget)!;
    slot.startSec = i;
    assert.equal(q.droppedOnPush, i >= MAX_PENDING);
  }
  assert.equal(q.count, MAX_PENDING);
  assert.equal(q.peek()!.startSec, 10);
  assert.equal(budget.held, MAX_PENDING);
});

test('queues share one budget: past it a queue drops its own oldest, and one without slots refuses', () => {
  const budget = new SlotBudget(40);
  const a = new RequestQueue();
  const b = new RequestQueue();
  for (let i = 0; i < 40; i++) a.push(budget)!.startSec = i;
  assert.equal(budget.held, 40, 'grown 1, 2, 4, ... 32, then the 8 the budget had left');
  assert.equal(b.push(budget), null, 'b has no slot and the budget is spent');
  a.push(budget)!.startSec = 40;
  assert.equal(a.droppedOnPush, true);
  assert.equal(a.count, 40);
  assert.equal(a.peek()!.startSec, 1);
  // The burst drains: its slots go back, and b can queue.
  while (a.count > 0) a.shift();
  assert.equal(budget.held, 0);
  assert.notEqual(b.push(budget), null);
  assert.equal(budget.held, 1);
  // A connection that goes away gives back what it held.
  b.shift();
  b.release();
  assert.equal(budget.held, 0);
});

test('by default 65,536 connections without data are held (the README\'s number), never more than maxConnections', () => {
  assert.equal(DEFAULT_MAX_WITHOUT_DATA, 65_536);
  const t = table({ maxConnections: 100_000 });
  for (let i = 0; i < 65_536; i++) t.lookup(fromClient(i, TcpFlag.Syn, 0));
  assert.deepEqual([t.connectionsWithoutData, t.counters.evicted], [65_536, 0]);
  t.lookup(fromClient(70_000, TcpFlag.Syn, 0));
  assert.deepEqual([t.connectionsWithoutData, t.counters.evicted, t.connections], [65_536, 1, 65_536]);
  const small = table({ maxConnections: 5 });
  for (let i = 0; i < 8; i++) small.lookup(fromClient(i, TcpFlag.Syn, 0));
  assert.deepEqual([small.connectionsWithoutData, small.counters.evicted, small.counters.refused], [5, 3, 0]);
});

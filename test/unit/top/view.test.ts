// The --top view on a fake terminal: it takes the screen and the keyboard,
// the keys do what the help says, stderr is held while it is up, and the
// terminal is given back on q, Ctrl-C, an error and the end of a file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Stats } from '../../../src/stats/stats';
import { TopModel } from '../../../src/top/model';
import { TopView, utf8Locale, type TopErrors } from '../../../src/top/view';
import { ENTER, LEAVE } from '../../../src/top/screen';
import type { RunLabel } from '../../../src/top/layout';
import type { RunCounters } from '../../../src/stats/counters';

process.env.TZ = 'UTC';

class FakeOut extends EventEmitter {
  written = '';
  columns = 100;
  rows = 24;
  write(text: string): boolean {
    this.written += text;
    return true;
  }
  /** What the terminal shows: the last text written at each row. */
  screen(): string[] {
    const rows: string[] = new Array(this.rows).fill('');
    const re = /\x1b\[(\d+);1H((?:[^\x1b]|\x1b\[[0-9;]*m)*)/g;
    let last = this.written.lastIndexOf('\x1b[2J');
    if (last < 0) last = 0;
    for (const m of this.written.slice(last).matchAll(re)) rows[Number(m[1]) - 1] = m[2].replace(/\x1b\[[0-9;]*m/g, '').trimEnd();
    return rows;
  }
}

class FakeIn extends EventEmitter {
  raw: boolean[] = [];
  paused = true;
  setRawMode(r: boolean): void {
    this.raw.push(r);
  }
  resume(): void {
    this.paused = false;
  }
  pause(): void {
    this.paused = true;
  }
  type(keys: string): void {
    this.emit('data', Buffer.from(keys, 'latin1'));
  }
}

const COUNTERS = { packetsSeen: 0, packetsLost: 0, connectionsOpen: 0 } as RunCounters;
const LABEL: RunLabel = { engine: 'libpcap', source: 'any', mode: 'redis', ports: [6379], thresholdMs: 0, replay: null, startMs: 0 };

function setup(opts: { input?: boolean; errors?: TopErrors | null; model?: TopModel } = {}) {
  const out = new FakeOut();
  const input = new FakeIn();
  const stats = new Stats('redis', [6379], 0);
  const model = opts.model ?? new TopModel(stats, () => COUNTERS, 1000);
  let quits = 0;
  let now = 1000;
  const view = new TopView(model, LABEL, {
    out,
    input: opts.input === false ? null : input,
    errors: opts.errors ?? null,
    clock: () => now,
    wall: () => now,
    onQuit: () => quits++,
    utf8: true,
    everyMs: 60_000,
  });
  return { out, input, view, model, quits: () => quits, advance: (ms: number) => (now += ms) };
}

test('start takes the screen and the keyboard; q quits and gives both back', () => {
  const { out, input, view, quits } = setup();
  view.start();
  assert.ok(out.written.startsWith(ENTER));
  assert.deepEqual(input.raw, [true]);
  assert.equal(input.paused, false);
  assert.match(out.screen()[0], /^tcpkit --top \| libpcap on any \| redis on port 6379/);
  input.type('q');
  assert.equal(quits(), 1);
  assert.equal(view.running, false);
  assert.ok(out.written.endsWith(LEAVE));
  assert.deepEqual(input.raw, [true, false]);
  assert.equal(input.paused, true);
  assert.equal(input.listenerCount('data'), 0);
  assert.equal(out.listenerCount('resize'), 0);
  view.stop();
  assert.equal(out.written.split(LEAVE).length, 2, 'stopping twice leaves once');
});

test('keys: sorts, help (any key closes it), pause, clear', () => {
  const { out, input, view, model, advance } = setup();
  view.start();
  const status = () => out.screen()[out.rows - 1];
  assert.match(status(), /sort: p99/);
  input.type('r');
  assert.match(status(), /sort: rate/);
  input.type('e');
  assert.match(status(), /sort: errors/);
  input.type('m');
  assert.match(status(), /sort: max/);
  input.type('p');
  assert.match(status(), /sort: p99/);
  input.type('?');
  assert.equal(out.screen()[3], 'tcpkit --top: what is slow right now');
  input.type('x');
  assert.notEqual(out.screen()[3], 'tcpkit --top: what is slow right now');
  input.type(' ');
  assert.match(status(), /PAUSED/);
  advance(1000);
  const before = out.written;
  view.tick();
  assert.equal(out.written, before, 'paused: the screen stays');
  input.type(' ');
  assert.doesNotMatch(status(), /PAUSED/);
  advance(500);
  input.type('c');
  assert.equal(model.snapshot.sinceMs, 2500);
  assert.match(out.screen()[1], /since 00:00:02/);
  view.stop();
});

test('a resize repaints the whole screen at the new size; a terminal too small says so', () => {
  const { out, view } = setup();
  view.start();
  out.columns = 60;
  out.rows = 10;
  out.written = '';
  out.emit('resize');
  assert.ok(out.written.startsWith('\x1b[0m\x1b[H\x1b[2J'));
  assert.equal(out.screen()[0], 'terminal too small (60x10): tcpkit --top needs at least 72x1');
  out.columns = 120;
  out.rows = 30;
  out.emit('resize');
  assert.match(out.screen()[0], /^tcpkit --top/);
  assert.match(out.screen()[29], /^q quit/);
  view.stop();
});

test('stderr while the view is up: held, its last line on the status line, all written after', () => {
  const written: string[] = [];
  const errors: TopErrors = { write: ((chunk: string) => written.push(chunk) > 0) as TopErrors['write'] };
  const { out, view } = setup({ errors });
  view.start();
  errors.write('tcpkit: ebpf: 3 packets lost (ring buffer full)\ntcpkit: scr');
  errors.write('ipt error: x\n');
  assert.deepEqual(written, []);
  assert.match(out.screen()[out.rows - 1], /tcpkit: script error: x$/);
  view.stop();
  assert.deepEqual(written, ['tcpkit: ebpf: 3 packets lost (ring buffer full)\n', 'tcpkit: script error: x\n']);
  errors.write('after\n');
  assert.deepEqual(written.slice(-1), ['after\n'], 'stderr is itself again');
});

test('the end of a file: the last interval is taken, the screen stays until q', async () => {
  const { out, input, view, quits } = setup();
  view.start();
  let done = false;
  const ended = view.ended('end of x.pcap: q quits').then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false);
  assert.match(out.screen()[out.rows - 1], /end of x\.pcap: q quits$/);
  input.type('q');
  await ended;
  assert.equal(quits(), 1);
  assert.ok(out.written.endsWith(LEAVE));
});

test('the end of a file with no keyboard: nothing to wait for', async () => {
  const { view } = setup({ input: false });
  view.start();
  await view.ended('end');
  view.stop();
});

test('Ctrl-C is the signal: the view gives the terminal back at once', async () => {
  const { out, input, view } = setup();
  view.start();
  input.type('\x03');
  for (let i = 0; i < 100 && view.running; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(view.running, false);
  assert.ok(out.written.endsWith(LEAVE));
  assert.equal(process.listenerCount('SIGINT'), 0);
});

test('an error while drawing stops the run and gives the terminal back; the error is kept for the CLI', () => {
  const broken = { snapshot: null, tick: () => undefined, clear: () => undefined } as unknown as TopModel;
  const { out, view, quits } = setup({ model: broken });
  view.start();
  assert.ok(view.failure instanceof TypeError);
  assert.equal(quits(), 1);
  assert.ok(out.written.endsWith(LEAVE));
});

test('UTF-8 locale: LC_ALL, then LC_CTYPE, then LANG', () => {
  assert.equal(utf8Locale({ LANG: 'C.UTF-8' }), true);
  assert.equal(utf8Locale({ LANG: 'en_US.utf8' }), true);
  assert.equal(utf8Locale({ LC_ALL: 'C', LANG: 'C.UTF-8' }), false);
  assert.equal(utf8Locale({}), false);
});

// The --top screen as text: the exact rows for a known snapshot, the columns
// that fit a width, the sorts, the sparkline, and what a too small terminal,
// the help, a pause and the end of a file show.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { columnsFor, layout, msText, rateText, sections, sortRows, sparkline, MIN_COLS, MIN_ROWS, type RunLabel, type ViewState } from '../../../src/top/layout';
import { Attr } from '../../../src/top/screen';
import type { Figures, RowSnapshot, TopSnapshot } from '../../../src/top/model';

process.env.TZ = 'UTC';

function f(o: Partial<Figures>): Figures {
  return { requests: 0, answered: 0, errors: 0, unanswered: 0, p50: -1, p99: -1, p999: -1, max: -1, ...o };
}

const quiet = new Array<number>(60).fill(-1);
const getSpark = quiet.slice(0, 57).concat([100, 400, 800]);

function snapshot(): TopSnapshot {
  return {
    nowMs: Date.UTC(2026, 11, 6, 1, 2, 3),
    intervalSec: 1,
    sinceMs: 1000,
    requestsInterval: 12,
    requestsSince: 340,
    packetsSeenInterval: 40,
    packetsLostInterval: 0,
    packetsSeen: 1200,
    packetsLost: 0,
    connectionsOpen: 3,
    rows: [
      { name: 'GET', kind: 'command', interval: f({ requests: 10, answered: 10, p50: 120, p99: 450, p999: 450, max: 450 }), since: f({ requests: 300, answered: 300, p50: 110, p99: 400, p999: 900, max: 1200 }), spark: getSpark },
      { name: 'DEBUG', kind: 'command', interval: f({ requests: 1, answered: 1, p50: 250123, p99: 250123, p999: 250123, max: 250123 }), since: f({ requests: 1, answered: 1, p50: 250123, p99: 250123, p999: 250123, max: 250123 }), spark: quiet },
      { name: 'SET', kind: 'command', interval: f({ requests: 1, answered: 0, unanswered: 1 }), since: f({ requests: 39, answered: 38, errors: 2, unanswered: 1, p50: 130, p99: 600, p999: 600, max: 610 }), spark: quiet },
    ],
    slow: [
      { timeMs: Date.UTC(2026, 11, 6, 1, 2, 2, 706), client: '10.77.3.2:54484', server: '10.77.3.1:6379', latencyUs: 250123, noResponse: false, error: false, statusText: '', request: 'DEBUG SLEEP 0.25' },
      { timeMs: Date.UTC(2026, 11, 6, 1, 2, 1, 5), client: '10.77.3.2:54490', server: '10.77.3.1:6379', latencyUs: 10_000_000, noResponse: true, error: false, statusText: '', request: 'BLPOP q 0' },
    ],
    windowSec: 10,
    clients: [
      { client: '10.77.3.2', requests: 120, waitUs: 300_000 },
      { client: 'fd77:3::2', requests: 20, waitUs: 900_000 },
    ],
  };
}

const LABEL: RunLabel = { engine: 'ebpf', source: 'eth0', mode: 'redis', ports: [6379], thresholdMs: 0, replay: null, startMs: 1000 };
function state(o: Partial<ViewState> = {}): ViewState {
  return { sort: 'p99', paused: false, help: false, ended: null, notice: '', progress: null, utf8: true, wallMs: 1000 + 3_723_000, ...o };
}

const text = (rows: { text: string }[]): string[] => rows.map((r) => r.text.trimEnd());

test('the screen at 100x20, row by row', () => {
  const rows = layout(snapshot(), LABEL, state(), 100, 20);
  assert.equal(rows.length, 20);
  assert.deepEqual(text(rows), [
    'tcpkit --top | ebpf on eth0 | redis on port 6379 | up 1:02:03                               01:02:04',
    'packets 40/s (1200 in all), lost 0/s (0) | requests 12/s (340 in all) | connections 3 open',
    '',
    '              -- last 1.0 s (ms) --------------------------------------------- -- since -   p99',
    'COMMAND           REQ/S   ERR/S NORSP/S       P50       P99     P99.9       MAX   REQUESTS',
    'DEBUG               1.0       0       0   250.123   250.123   250.123   250.123          1',
    'GET                  10       0       0     0.120     0.450     0.450     0.450        300       ▂▅█',
    'SET                 1.0       0     1.0         -         -         -         -         39',
    '',
    '',
    'SLOWEST IN THE LAST 10 s',
    'TIME         CLIENT          SERVER          LATENCY ms  REQUEST',
    '01:02:02.706 10.77.3.2:54484 10.77.3.1:6379     250.123  DEBUG SLEEP 0.25',
    '01:02:01.005 10.77.3.2:54490 10.77.3.1:6379 no response  BLPOP q 0',
    '',
    'CLIENTS BY REQUESTS            REQ/S   WAIT ms/s | CLIENTS BY TIME WAITING        REQ/S   WAIT ms/s',
    '10.77.3.2                         12        30.0 | fd77:3::2                        2.0        90.0',
    'fd77:3::2                        2.0        90.0 | 10.77.3.2                         12        30.0',
    '                                                 |',
    'q quit  space pause  c clear  ? help  sort: p99 (p r e m)',
  ]);
  assert.equal(rows[0].attr, Attr.Reverse);
  assert.equal(rows[19].attr, Attr.Reverse);
  assert.deepEqual(rows[4].spans, [{ from: 56, to: 59, attr: Attr.Reverse }], 'the sorted column, P99, in reverse');
});

test('a wide terminal has every column; the since-start ones are the summary\'s figures', () => {
  const rows = text(layout(snapshot(), LABEL, state(), 170, 20));
  assert.equal(rows[3], '              -- last 1.0 s (ms) --------------------------------------------- -- since start (ms) ----------------------------------------------   p99, last 22 ticks');
  assert.equal(rows[4], 'COMMAND           REQ/S   ERR/S NORSP/S       P50       P99     P99.9       MAX   REQUESTS  ERRORS NO RESP       P50       P99     P99.9       MAX');
  assert.equal(rows[6], 'GET                  10       0       0     0.120     0.450     0.450     0.450        300       0       0     0.110     0.400     0.900     1.200                     ▂▅█');
  assert.equal(rows[7], 'SET                 1.0       0     1.0         -         -         -         -         39       2       1     0.130     0.600     0.600     0.610');
});

test('columns: the most wanted first as the terminal narrows', () => {
  const heads = (w: number) => columnsFor(w).map((c) => `${c.group[0]}:${c.head}`).join(' ');
  assert.equal(heads(MIN_COLS), 'i:REQ/S i:P99 i:MAX s:REQUESTS');
  assert.equal(heads(100), 'i:REQ/S i:ERR/S i:NORSP/S i:P50 i:P99 i:P99.9 i:MAX s:REQUESTS');
  assert.equal(heads(160), 'i:REQ/S i:ERR/S i:NORSP/S i:P50 i:P99 i:P99.9 i:MAX s:REQUESTS s:ERRORS s:NO RESP s:P50 s:P99 s:P99.9 s:MAX');
});

test('sorts: p99, rate, errors, max; the interval first, then since start', () => {
  const rows = snapshot().rows;
  const names = (s: Parameters<typeof sortRows>[1]) => sortRows(rows, s).map((r) => r.name);
  assert.deepEqual(names('p99'), ['DEBUG', 'GET', 'SET']);
  assert.deepEqual(names('rate'), ['GET', 'SET', 'DEBUG'], 'SET and DEBUG had one each: SET had more since start');
  assert.deepEqual(names('errors'), ['SET', 'GET', 'DEBUG']);
  assert.deepEqual(names('max'), ['DEBUG', 'GET', 'SET']);
  const ports: RowSnapshot[] = [
    { name: 'port 6380', kind: 'port', interval: f({ requests: 1 }), since: f({ requests: 1 }), spark: quiet },
    { name: 'port 6379', kind: 'port', interval: f({ requests: 9 }), since: f({ requests: 9 }), spark: quiet },
  ];
  assert.deepEqual(sortRows([...rows, ...ports], 'rate').map((r) => r.name), ['port 6379', 'port 6380', 'GET', 'SET', 'DEBUG'], 'ports above commands');
  const screen = layout(snapshot(), LABEL, state({ sort: 'rate' }), 100, 20);
  assert.deepEqual(text(screen).slice(5, 8).map((l) => l.split(' ')[0]), ['GET', 'SET', 'DEBUG']);
  assert.deepEqual(screen[4].spans, [{ from: 18, to: 23, attr: Attr.Reverse }], 'REQ/S in reverse');
  assert.match(screen[19].text, /sort: rate/);
});

test('numbers: latencies in ms with three decimals as the summary; rates', () => {
  assert.equal(msText(-1), '-');
  assert.equal(msText(0), '0.000');
  assert.equal(msText(250_123), '250.123');
  assert.equal(msText(123.4567), '0.123');
  assert.equal(msText(99_999_999), '99999.999');
  assert.equal(msText(100_000_000), '100000');
  assert.equal(rateText(5, 0), '-');
  assert.equal(rateText(0, 1), '0');
  assert.equal(rateText(3, 2), '1.5');
  assert.equal(rateText(30, 2), '15');
  assert.equal(rateText(1, 0.3), '3.3');
});

test('sparkline: scaled to the largest shown, blank where nothing was answered, ASCII without UTF-8', () => {
  assert.equal(sparkline([-1, 0, 100, 200, 400, 800], 6, true), ' ▁▂▃▅█');
  assert.equal(sparkline([-1, 0, 100, 200, 400, 800], 6, false), ' .:-+@');
  assert.equal(sparkline([100, 800, 5], 2, true), '█▁', 'the last points, scaled to those');
  assert.equal(sparkline([7], 4, true), '   █', 'right-aligned: the newest at the edge');
  assert.equal(sparkline([-1, -1], 2, true), '  ');
});

test('sections share the rows: the table, the slow list, the clients', () => {
  assert.deepEqual(sections(MIN_ROWS), { table: 2, slow: 1, clients: 2 });
  assert.deepEqual(sections(50), { table: 17, slow: 12, clients: 10 });
  for (const h of [MIN_ROWS, 24, 40, 50, 100]) {
    const rows = layout(snapshot(), LABEL, state(), 120, h);
    assert.equal(rows.length, h, `height ${h}`);
  }
});

test('a terminal too small says so, and nothing else', () => {
  assert.deepEqual(text(layout(snapshot(), LABEL, state(), MIN_COLS - 1, 30)), [`terminal too small (${MIN_COLS - 1}x30): tcpkit --top needs at least ${MIN_COLS}x${MIN_ROWS}`, 'q quits']);
  assert.deepEqual(text(layout(snapshot(), LABEL, state(), 120, MIN_ROWS - 1))[0], `terminal too small (120x${MIN_ROWS - 1}): tcpkit --top needs at least ${MIN_COLS}x${MIN_ROWS}`);
});

test('help, pause, a notice and the end of a file', () => {
  const help = text(layout(snapshot(), LABEL, state({ help: true }), 100, 20));
  assert.equal(help[3], 'tcpkit --top: what is slow right now');
  assert.ok(help.includes('  p r e m  sort the table by p99, requests per second, errors, or max'));
  assert.equal(help.length, 20);
  const status = (o: Partial<ViewState>) => layout(snapshot(), LABEL, state(o), 100, 20)[19].text;
  assert.equal(status({ notice: 'tcpkit: ebpf: 3 packets lost' }), 'q quit  space pause  c clear  ? help  sort: p99 (p r e m)               tcpkit: ebpf: 3 packets lost');
  assert.match(status({ paused: true }), /PAUSED: space resumes \(capture goes on\)$/);
  assert.match(status({ ended: 'end of x.pcap: q quits' }), /  end of x\.pcap: q quits$/);
});

test('-r: the file, its pace, how far it is read, and the capture\'s time', () => {
  const label: RunLabel = { ...LABEL, engine: 'pcap-file', source: 'x.pcap', replay: 'file speed', startMs: 0, thresholdMs: 10 };
  const rows = text(layout({ ...snapshot(), sinceMs: 0 }, label, state({ progress: 0.456 }), 100, 20));
  assert.equal(rows[0], 'tcpkit --top | x.pcap at file speed, 45% read | redis on port 6379  capture time 2026-12-06 01:02:03');
  assert.equal(rows[10], 'LAST REQUESTS AT OR ABOVE 10 ms');
});

test('c: the figures say since when', () => {
  const rows = text(layout({ ...snapshot(), sinceMs: Date.UTC(2026, 11, 6, 0, 59, 0) }, LABEL, state(), 170, 20));
  assert.match(rows[1], /requests 12\/s \(340 since 00:59:00\)/);
  assert.match(rows[3], /-- since 00:59:00 \(ms\) -/);
});

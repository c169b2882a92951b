// The benchmark's table (test/bench/table.ts) decides "met" and "NOT MET"
// from the figures of one run, and says why a row has no figure; the
// profile summary (test/bench/profile-top.ts) charges each sample to the
// function on top of the stack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResults, renderTable } from '../bench/table';
import { hotLines, selfTimes } from '../bench/profile-top';

/** The table's row whose first cell starts with `measure`, as its cells. */
function row(table: string, measure: string): string[] {
  const line = table.split('\n').find((l) => l.startsWith(`| ${measure}`));
  assert.ok(line, `no row '${measure}' in:\n${table}`);
  return line.slice(2, -2).split(' | ');
}

const FULL = `
machine.nproc=2
machine.cpu=AMD EPYC
offline.redis.packets=1000000
offline.redis.requests=500000
offline.redis.lines=500000
offline.redis.load=redis-benchmark -n 1
offline.redis.tcpkit_s=0.5
offline.redis.loop_s=0.4
offline.redis.tcpdump_s=4
offline.redis.tshark_s=15
offline.lua.script=test/bench/lua-raw.lua
offline.lua.packets=1000000
offline.lua.tcpkit_s=4
live.sent=1000002
live.load=redis-benchmark -P 16
live.rounds=3
live.nobody.rps=600000
live.ebpf.rps=590000
live.ebpf.cpu_per_m=0.02
live.ebpf.reported=1000002
live.ebpf.drops=0
live.libpcap.rps=500000
live.libpcap.cpu_per_m=0.9
live.libpcap.reported=1000001
live.libpcap.drops=0
live.tcpdump.rps=580000
live.tcpdump.cpu_per_m=0.06
unrelated.seconds=10
unrelated.ebpf.cpu_pct=0.30
unrelated.libpcap.cpu_pct=0.20
memory.connections=100000
memory.peak_kib=512000
memory.base_kib=57344
memory.per_connection_bytes=4655
soak.seconds=600
soak.mean_kib=120000
soak.rise_kib=1000
part.offline-memcached=failed (exit 1), see its log
`;

test('each target is judged from the figures of the run', () => {
  const t = renderTable(parseResults(FULL));
  assert.deepEqual(row(t, 'offline redis: `tcpkit').slice(1), [
    '2,000,000 packets/s',
    "`tcpdump -nn -r` 250,000/s; `tshark -r -Y resp` 66,667/s; tcpkit's packet loop alone 2,500,000/s (0.40 of 0.50 s; the rest is start-up)",
    '>= 1,500,000 packets/s',
    'met',
  ]);
  assert.deepEqual(row(t, 'offline redis: tcpkit against tshark').slice(1, 2), ['30.0x']);
  assert.equal(row(t, 'offline redis: tcpkit against tshark')[4], 'met');
  assert.deepEqual(row(t, 'Lua:').slice(1, 2), ['250,000 packets/s']);
  assert.equal(row(t, 'Lua:')[4], '**NOT MET**');
  // libpcap reported one request short: "none missed" fails for the row.
  assert.equal(row(t, 'live on lo')[4], '**NOT MET**');
  assert.equal(row(t, 'live: watcher CPU')[4], 'met');
  assert.match(row(t, 'live: redis-benchmark throughput')[1], /590,000 req\/s \(1\.7% lost\)/);
  assert.equal(row(t, 'live: redis-benchmark throughput')[4], 'met');
  assert.equal(row(t, 'unrelated traffic')[4], 'met');
  assert.equal(row(t, 'memory: peak RSS')[1], '500.0 MiB');
  assert.equal(row(t, 'memory: VmRSS over a 600 s soak')[4], 'met');
});

test('a part that failed, or a tcpkit without -S, says so in place of a figure', () => {
  const t = renderTable(parseResults(FULL + 'offline.lua.packets=\noffline.lua.note=not built\n'));
  assert.deepEqual(row(t, 'offline memcached').slice(1, 2), ['failed (exit 1), see its log']);
  assert.deepEqual(row(t, 'offline http').slice(1, 2), ['not run']);
  assert.equal(row(t, 'Lua:')[1], 'not built');
  assert.equal(row(t, 'Lua:')[4], '**NOT MET** (not built)');
});

test('a tshark given up on still bounds the ratio from below', () => {
  const r = parseResults(FULL.replace('offline.redis.tshark_s=15', 'offline.redis.tshark_note=gave up after 120 s\noffline.redis.tshark_limit=120'));
  const cells = row(renderTable(r), 'offline redis: tcpkit against tshark');
  assert.equal(cells[1], 'more than 240.0x');
  assert.equal(cells[4], 'met');
});

test('a soak whose RSS climbs, and throughput lost past 3%, are NOT MET', () => {
  const r = parseResults(FULL.replace('soak.rise_kib=1000', 'soak.rise_kib=9000').replace('live.ebpf.rps=590000', 'live.ebpf.rps=570000'));
  const t = renderTable(r);
  assert.equal(row(t, 'memory: VmRSS')[4], '**NOT MET**');
  assert.match(row(t, 'live: redis-benchmark throughput')[1], /\(5\.0% lost\)/);
  assert.equal(row(t, 'live: redis-benchmark throughput')[4], '**NOT MET**');
});

test('self time goes to the function on top of the stack when each sample was taken', () => {
  const frame = (functionName: string, line: number) => ({ functionName, url: 'file:///repo/src/x.js', lineNumber: line - 1 });
  const { total, rows } = selfTimes(
    {
      nodes: [
        { id: 1, callFrame: frame('(root)', 1) },
        { id: 2, callFrame: frame('onBatch', 10), positionTicks: [{ line: 11, ticks: 2 }] },
        { id: 3, callFrame: frame('parse', 20), positionTicks: [{ line: 21, ticks: 1 }, { line: 22, ticks: 1 }] },
        // The same function reached by another path.
        { id: 4, callFrame: frame('parse', 20), positionTicks: [{ line: 22, ticks: 1 }] },
      ],
      samples: [2, 3, 4, 3, 2],
      timeDeltas: [100, 200, 300, 400, 50],
    },
    '/repo',
  );
  assert.equal(total, 1050);
  assert.deepEqual(rows.map((r) => [r.name, r.where, r.us]), [
    ['parse', 'src/x.js:20', 900],
    ['onBatch', 'src/x.js:10', 150],
  ]);
  // No source map beside src/x.js: the lines are the JavaScript's.
  assert.equal(hotLines(rows[0], 3, '/repo'), 'src/x.js:22 67%, src/x.js:21 33%');
});

test('a part left out with BENCH_PARTS is skipped, not missed; one never run is missed', () => {
  const t = renderTable(parseResults('part.soak=skipped (BENCH_PARTS)\n'));
  assert.deepEqual(row(t, 'memory: RSS over a soak').slice(1, 5), ['skipped (BENCH_PARTS)', '', 'does not climb', 'skipped']);
  assert.deepEqual(row(t, 'live: requests reported').slice(1, 2), ['not run']);
  assert.equal(row(t, 'live: requests reported')[4], '**NOT MET** (not measured)');
});

test('Lua beside the original: the wall ratio decides, CPU time is shown beside it when measured', () => {
  const lua = [
    'lua_original.size-payload.tcpkit_s=0.90',
    'lua_original.size-payload.original_s=1.20',
    'lua_original.size-payload.tcpkit_cpu_s=0.85',
    'lua_original.size-payload.original_cpu_s=1.10',
    'lua_original.example.tcpkit_s=6.0',
    'lua_original.example.original_s=7.0',
    'lua_original.example.tcpkit_cpu_s=-',
    'lua_original.example.original_cpu_s=-',
  ].join('\n');
  const t = renderTable(parseResults(`${FULL}\n${lua}\n`));
  assert.deepEqual(row(t, 'Lua beside the original C tcpkit: reads').slice(1), [
    '0.90 s',
    'original 1.20 s; ours/original 0.75x; CPU 0.85 s against 1.10 s, 0.77x',
    '<= 0.8x the original',
    'met',
  ]);
  assert.deepEqual(row(t, 'Lua beside the original C tcpkit: the original').slice(1), [
    '6.00 s',
    'original 7.00 s; ours/original 0.86x',
    '<= 0.8x the original',
    '**NOT MET**',
  ]);
});

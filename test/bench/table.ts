// Turns the KEY=VALUE results that the scripts in test/bench/ collected in one
// run (BENCH_RESULTS) into the one markdown table `make bench` prints: every
// figure beside what it is compared with, its target from issue 7, and
// whether this run met it. A part that failed or was skipped says so in its
// rows instead of a number.
//
//   node dist/test/bench/table.js RESULTS_FILE
import fs from 'node:fs';

type Results = Map<string, string>;

export function parseResults(text: string): Results {
  const r: Results = new Map();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) r.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return r;
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const fixed = (n: number, d: number): string => n.toFixed(d);

/** A number from the results, or undefined when it was not measured. */
function num(r: Results, key: string): number | undefined {
  const v = r.get(key);
  if (v === undefined || v === '' || v === '-' || v === '?') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

interface Row {
  measure: string;
  tcpkit: string;
  beside: string;
  target: string;
  result: string;
}

const verdict = (ok: boolean): string => (ok ? 'met' : '**NOT MET**');
const NO_TARGET = '-';

/** Why a part has no numbers: all.sh records `part.NAME=...` for each part it ran. */
function missing(r: Results, part: string): string {
  const status = r.get(`part.${part}`);
  if (status === undefined) return 'not run';
  if (status === 'ok') return 'not measured';
  return status;
}

/** The result cell of a target with no figure: a part left out on purpose is not a miss. */
function unmeasured(r: Results, part: string): string {
  return r.get(`part.${part}`)?.startsWith('skipped') ? 'skipped' : '**NOT MET** (not measured)';
}

function offlineRows(r: Results): Row[] {
  const rows: Row[] = [];
  const names: [string, string, string][] = [
    ['redis', 'redis', 'resp'],
    ['memcached', 'memcached', 'memcache'],
    ['http', 'http', 'http'],
    ['kafka', 'kafka', 'kafka'],
    ['mysql', 'mysql', 'mysql'],
    ['pgsql', 'pgsql', 'pgsql'],
  ];
  let redisPps: number | undefined;
  for (const [w, mode, filter] of names) {
    const packets = num(r, `offline.${w}.packets`);
    const tk = num(r, `offline.${w}.tcpkit_s`);
    const measure = `offline ${w}: \`tcpkit -r -m ${mode} -o FILE\``;
    if (packets === undefined || tk === undefined) {
      rows.push({ measure, tcpkit: missing(r, `offline-${w}`), beside: '', target: w === 'redis' ? '>= 1,500,000 packets/s' : NO_TARGET, result: w === 'redis' ? unmeasured(r, 'offline-redis') : NO_TARGET });
      continue;
    }
    const pps = packets / tk;
    const beside: string[] = [];
    const td = num(r, `offline.${w}.tcpdump_s`);
    if (td !== undefined) beside.push(`\`tcpdump -nn -r\` ${int(packets / td)}/s`);
    const ts = num(r, `offline.${w}.tshark_s`);
    if (ts !== undefined) beside.push(`\`tshark -r -Y ${filter}\` ${int(packets / ts)}/s${w === 'mysql' || w === 'pgsql' ? ` (tcpkit ${fixed(ts / tk, 1)}x tshark)` : ''}`);
    else beside.push(`\`tshark\` ${r.get(`offline.${w}.tshark_note`) ?? 'not run'}`);
    const loop = num(r, `offline.${w}.loop_s`);
    if (loop !== undefined) beside.push(`tcpkit's packet loop alone ${int(packets / loop)}/s (${fixed(loop, 2)} of ${fixed(tk, 2)} s; the rest is start-up)`);
    const lines = num(r, `offline.${w}.lines`);
    const requests = num(r, `offline.${w}.requests`);
    const check = lines !== undefined && requests !== undefined ? `; ${int(lines)} lines for ${int(requests)} requests` : '';
    const m = `${measure}, ${int(packets)} packets (${r.get(`offline.${w}.load`) ?? '?'})${check}`;
    if (w === 'redis') {
      redisPps = pps;
      rows.push({ measure: m, tcpkit: `${int(pps)} packets/s`, beside: beside.join('; '), target: '>= 1,500,000 packets/s', result: verdict(pps >= 1_500_000) });
      rows.push(ratioRow(r, packets, pps));
    } else {
      rows.push({ measure: m, tcpkit: `${int(pps)} packets/s`, beside: beside.join('; '), target: NO_TARGET, result: NO_TARGET });
    }
  }
  rows.push(luaRow(r, redisPps));
  return rows;
}

/** tcpkit against tshark on the redis capture; a tshark given up on still bounds the ratio. */
function ratioRow(r: Results, packets: number, pps: number): Row {
  const measure = 'offline redis: tcpkit against tshark, same capture';
  const target = '>= 10x tshark';
  const ts = num(r, 'offline.redis.tshark_s');
  if (ts !== undefined) {
    const ratio = pps / (packets / ts);
    return { measure, tcpkit: `${fixed(ratio, 1)}x`, beside: '', target, result: verdict(ratio >= 10) };
  }
  const limit = num(r, 'offline.redis.tshark_limit');
  const note = r.get('offline.redis.tshark_note') ?? 'not run';
  if (limit !== undefined && note.startsWith('gave up')) {
    // tshark took longer than the limit: its rate was below packets/limit.
    const atLeast = pps / (packets / limit);
    return { measure, tcpkit: `more than ${fixed(atLeast, 1)}x`, beside: `tshark ${note}`, target, result: atLeast >= 10 ? 'met' : '**NOT MET** (unknown: raise BENCH_TSHARK_LIMIT)' };
  }
  return { measure, tcpkit: 'not measured', beside: `tshark ${note}`, target, result: note.startsWith('skipped') ? 'skipped' : '**NOT MET** (not measured)' };
}

function luaRow(r: Results, redisPps: number | undefined): Row {
  const script = r.get('offline.lua.script') ?? 'test/bench/lua-raw.lua';
  const measure = `Lua: \`tcpkit -r -m raw -S ${script}\` (reads size and payload of every packet), redis capture`;
  const target = '>= 300,000 packets/s';
  const packets = num(r, 'offline.lua.packets');
  const t = num(r, 'offline.lua.tcpkit_s');
  if (packets === undefined || t === undefined) {
    const why = r.get('offline.lua.note') ?? missing(r, 'offline-redis');
    return { measure, tcpkit: why, beside: '', target, result: why.startsWith('skipped') ? 'skipped' : `**NOT MET** (${why})` };
  }
  const pps = packets / t;
  const seen = num(r, 'offline.lua.seen');
  const beside = [redisPps !== undefined ? `redis mode ${int(redisPps)}/s` : '', seen !== undefined ? `the script counted ${int(seen)} packets` : '']
    .filter(Boolean)
    .join('; ');
  return { measure, tcpkit: `${int(pps)} packets/s`, beside, target, result: verdict(pps >= 300_000) };
}

/** live-watch.sh: unpipelined redis-benchmark over a veth, watchers beside the original. */
function watchRows(r: Results): Row[] {
  const sent = num(r, 'watch.sent');
  const measure = `live, unpipelined (${r.get('watch.load') ?? 'redis-benchmark -P 1'}), -t 10: CPU per request, \`--ebpf\` / the original (median of ${r.get('watch.rounds') ?? '?'} rounds)`;
  if (sent === undefined) {
    const why = missing(r, 'live-watch');
    return [{ measure, tcpkit: why, beside: '', target: '<= 0.5x the original', result: unmeasured(r, 'live-watch') }];
  }
  const cpu = (c: string): string => r.get(`watch.${c}.cpu_per_m`) ?? '?';
  const ratio = num(r, 'watch.ratio.ebpf/original');
  const ratioAll = num(r, 'watch.ratio.ebpf-all/original-all');
  const answered = num(r, 'watch.ebpf.answered');
  const rows: Row[] = [];
  rows.push({
    measure,
    tcpkit: ratio === undefined ? `\`--ebpf\` ${cpu('ebpf')} s/M` : `${fixed(ratio, 2)}x (${cpu('ebpf')} s/M)`,
    beside: `original ${cpu('original')}, libpcap ${cpu('libpcap')}, tcpdump ${cpu('tcpdump')} s/M`,
    target: '<= 0.5x the original',
    result: ratio === undefined ? '**NOT MET** (the original not built)' : verdict(ratio <= 0.5),
  });
  const ratioWarm = num(r, 'watch.ratio.ebpf-warm/original-warm');
  rows.push({
    measure: 'live, unpipelined, -t 10, each watcher warmed up by a first load that is not measured: `--ebpf` / the original',
    tcpkit: ratioWarm === undefined ? '?' : `${fixed(ratioWarm, 2)}x (${cpu('ebpf-warm')} s/M)`,
    beside: `original ${cpu('original-warm')} s/M`,
    target: '<= 0.5x the original',
    result: ratioWarm === undefined ? '**NOT MET** (not measured)' : verdict(ratioWarm <= 0.5),
  });
  rows.push({
    measure: 'live, unpipelined, every line written (-t 0 -o /dev/null): `--ebpf` / the original',
    tcpkit: ratioAll === undefined ? '?' : `${fixed(ratioAll, 2)}x`,
    beside: `original ${cpu('original-all')} s/M`,
    target: 'below the original',
    result: ratioAll === undefined ? '**NOT MET** (not measured)' : verdict(ratioAll < 1),
  });
  rows.push({
    measure: 'live, unpipelined: requests answered in the summary (fewest in any round)',
    tcpkit: answered === undefined ? '?' : int(answered),
    beside: `sent ${int(sent)}`,
    target: 'all of them',
    result: verdict(answered !== undefined && answered >= sent),
  });
  return rows;
}

function liveRows(r: Results): Row[] {
  const sent = num(r, 'live.sent');
  const load = r.get('live.load') ?? '?';
  const rounds = r.get('live.rounds') ?? '?';
  const head = `live on lo, ${load}, median of ${rounds} rounds`;
  if (sent === undefined) {
    const why = missing(r, 'live-redis');
    const result = unmeasured(r, 'live-redis');
    return [
      { measure: 'live: requests reported at the top rate', tcpkit: why, beside: '', target: 'none missed', result },
      { measure: 'live: CPU per million requests', tcpkit: why, beside: '', target: '`--ebpf` < half of tcpdump\'s', result },
      { measure: 'live: redis-benchmark throughput lost', tcpkit: why, beside: '', target: '<= 3% under `--ebpf`', result },
    ];
  }
  const rows: Row[] = [];
  const eRep = num(r, 'live.ebpf.reported');
  const pRep = num(r, 'live.libpcap.reported');
  const eDrop = r.get('live.ebpf.drops') ?? '?';
  const pDrop = r.get('live.libpcap.drops') ?? '?';
  const show = (n: number | undefined): string => (n === undefined ? 'not measured' : int(n));
  rows.push({
    measure: `${head}: requests reported of ${int(sent)} sent (fewest in any round)`,
    tcpkit: `\`--ebpf\` ${show(eRep)}`,
    beside: `libpcap ${show(pRep)}; lost in the kernel: ring ${eDrop}, libpcap ${pDrop}`,
    target: 'none missed',
    result: verdict(eRep !== undefined && eRep >= sent && pRep !== undefined && pRep >= sent),
  });
  const eCpu = num(r, 'live.ebpf.cpu_per_m');
  const pCpu = num(r, 'live.libpcap.cpu_per_m');
  const dCpu = num(r, 'live.tcpdump.cpu_per_m');
  rows.push({
    measure: 'live: watcher CPU seconds per million requests (user + system)',
    tcpkit: `\`--ebpf\` ${eCpu === undefined ? '?' : fixed(eCpu, 2)}`,
    beside: `libpcap ${pCpu === undefined ? '?' : fixed(pCpu, 2)}; \`tcpdump -w /dev/null\` ${dCpu === undefined ? '?' : fixed(dCpu, 2)}`,
    target: '`--ebpf` < half of tcpdump\'s',
    result: eCpu !== undefined && dCpu !== undefined ? verdict(eCpu < dCpu / 2) : '**NOT MET** (not measured)',
  });
  const base = num(r, 'live.nobody.rps');
  const loss = (c: string): number | undefined => {
    const v = num(r, `live.${c}.rps`);
    return base === undefined || v === undefined ? undefined : (1 - v / base) * 100;
  };
  const rps = (c: string): string => {
    const v = num(r, `live.${c}.rps`);
    const l = loss(c);
    if (v === undefined) return `${c} ?`;
    // Faster than with nobody watching happens: the machine's noise.
    const change = l === undefined ? '?' : l >= 0 ? `${fixed(l, 1)}% lost` : `none lost, ${fixed(-l, 1)}% faster`;
    return `${int(v)} req/s (${change})`;
  };
  const eLoss = loss('ebpf');
  rows.push({
    measure: 'live: redis-benchmark throughput while watched',
    tcpkit: `\`--ebpf\` ${rps('ebpf')}`,
    beside: `nobody ${base === undefined ? '?' : int(base)} req/s; libpcap ${rps('libpcap')}; tcpdump ${rps('tcpdump')}`,
    target: '<= 3% lost under `--ebpf`',
    result: eLoss === undefined ? '**NOT MET** (not measured)' : verdict(eLoss <= 3),
  });
  return rows;
}

function unrelatedRows(r: Results): Row[] {
  const e = num(r, 'unrelated.ebpf.cpu_pct');
  const measure = `unrelated traffic: tcpkit's CPU while iperf3 runs ${r.get('unrelated.seconds') ?? '?'} s on another port (% of one core)`;
  if (e === undefined) return [{ measure, tcpkit: missing(r, 'unrelated'), beside: '', target: '`--ebpf` < 1%', result: unmeasured(r, 'unrelated') }];
  const g = (k: string): string => r.get(`unrelated.${k}`) ?? '?';
  return [{
    measure,
    tcpkit: `\`--ebpf\` ${fixed(e, 2)}%`,
    beside: `libpcap ${g('libpcap.cpu_pct')}%; idle (no traffic): \`--ebpf\` ${g('ebpf.idle_pct')}%, libpcap ${g('libpcap.idle_pct')}%; iperf3 ${g('nobody.gbps')} Gbit/s alone, ${g('ebpf.gbps')} under \`--ebpf\` (${g('ebpf.seen').split(':')[0]}), ${g('ebpf-socket.gbps')} under its socket filter, ${g('libpcap.gbps')} under libpcap, ${g('tcpdump.gbps')} under tcpdump`,
    target: '`--ebpf` < 1%',
    result: verdict(e < 1),
  }];
}

function memoryRows(r: Results): Row[] {
  const rows: Row[] = [];
  const n = num(r, 'memory.connections');
  const peak = num(r, 'memory.peak_kib');
  const mib = (k: number | undefined): string => (k === undefined ? '?' : `${fixed(k / 1024, 1)} MiB`);
  if (n === undefined || peak === undefined) {
    rows.push({ measure: 'memory: peak RSS with 100,000 concurrent connections (offline)', tcpkit: missing(r, 'memory'), beside: '', target: NO_TARGET, result: NO_TARGET });
  } else {
    rows.push({
      measure: `memory: peak RSS (VmHWM) with ${int(n)} concurrent connections, each with a request waiting (offline, synthetic capture)`,
      tcpkit: mib(peak),
      beside: `${mib(num(r, 'memory.base_kib'))} on a small capture; ${int(num(r, 'memory.per_connection_bytes') ?? NaN)} bytes per connection`,
      target: NO_TARGET,
      result: NO_TARGET,
    });
  }
  const secs = num(r, 'soak.seconds');
  const mean = num(r, 'soak.mean_kib');
  const rise = num(r, 'soak.rise_kib');
  if (secs === undefined || mean === undefined || rise === undefined) {
    rows.push({ measure: 'memory: RSS over a soak under load, `--ebpf`', tcpkit: missing(r, 'soak'), beside: '', target: 'does not climb', result: unmeasured(r, 'soak') });
  } else {
    rows.push({
      measure: `memory: VmRSS over a ${int(secs)} s soak, \`--ebpf\` under redis-benchmark in a loop (${int(num(r, 'soak.requests') ?? NaN)} requests reported, ring lost ${r.get('soak.ring_lost') ?? '?'})`,
      tcpkit: `first ${mib(num(r, 'soak.first_kib'))}, last ${mib(num(r, 'soak.last_kib'))}, max ${mib(num(r, 'soak.max_kib'))}`,
      beside: `after the warm-up (first fifth): ${r.get('soak.slope_kib_per_min') ?? '?'} KiB/min, ${mib(rise)} in all`,
      target: 'does not climb: rise after warm-up < 5% of mean RSS',
      result: verdict(rise < mean * 0.05),
    });
  }
  return rows;
}

/** Lua beside the original C tcpkit (lua-original.sh): wall time, ours/original, target <= 0.8x, above 1.0x not done. */
function luaOriginalRows(r: Results): Row[] {
  const names: [string, string][] = [
    ['size-payload', 'reads `packet.size` and `#packet.payload`'],
    ['example', "the original's `example.lua`"],
    ['nothing', 'a `process()` that does nothing'],
  ];
  return names.map(([key, what]) => {
    const measure = `Lua beside the original C tcpkit: ${what}`;
    const t = num(r, `lua_original.${key}.tcpkit_s`);
    const o = num(r, `lua_original.${key}.original_s`);
    if (t === undefined || o === undefined) return { measure, tcpkit: missing(r, 'lua-original'), beside: '', target: '<= 0.8x the original', result: unmeasured(r, 'lua-original') };
    const ratio = t / o;
    const tc = num(r, `lua_original.${key}.tcpkit_cpu_s`);
    const oc = num(r, `lua_original.${key}.original_cpu_s`);
    const cpu = tc === undefined || oc === undefined || oc === 0 ? '' : `; CPU ${fixed(tc, 2)} s against ${fixed(oc, 2)} s, ${fixed(tc / oc, 2)}x`;
    return { measure, tcpkit: `${fixed(t, 2)} s`, beside: `original ${fixed(o, 2)} s; ours/original ${fixed(ratio, 2)}x${cpu}`, target: '<= 0.8x the original', result: verdict(ratio <= 0.8) };
  });
}

export function renderTable(r: Results): string {
  const rows = [...offlineRows(r), ...luaOriginalRows(r), ...watchRows(r), ...liveRows(r), ...unrelatedRows(r), ...memoryRows(r)];
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const out = [
    `Machine: ${r.get('machine.nproc') ?? '?'} CPUs (${r.get('machine.cpu') ?? '?'}), ${r.get('machine.memory') ?? '?'}, kernel ${r.get('machine.kernel') ?? '?'}, node ${r.get('machine.node') ?? '?'}; ${r.get('machine.date') ?? '?'}.`,
    '',
    '| measure | tcpkit | beside it | target | result |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((x) => `| ${cell(x.measure)} | ${cell(x.tcpkit)} | ${cell(x.beside)} | ${cell(x.target)} | ${x.result} |`),
  ];
  return out.join('\n') + '\n';
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node dist/test/bench/table.js RESULTS_FILE\n');
    process.exitCode = 2;
  } else {
    process.stdout.write(renderTable(parseResults(fs.readFileSync(file, 'utf8'))));
  }
}

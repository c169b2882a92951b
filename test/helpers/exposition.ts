// A strict reader of the Prometheus text exposition format (version 0.0.4),
// for checking /metrics: it throws on anything a Prometheus server would
// refuse or misread.
//
//   # HELP name text          (\\ and \n escaped)
//   # TYPE name counter|gauge|histogram|summary|untyped   (once, before the samples)
//   name{label="value",...} value [timestamp]             (\\, \" and \n escaped)
//
// A family's samples come together; a histogram's are name_bucket (with le,
// ascending, cumulative, ending in le="+Inf" equal to name_count), name_sum
// and name_count for every label set.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(s: string, line: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`not a value: ${JSON.stringify(s)} in ${line}`);
  return Number(s);
}

/** The sample line's name, labels and value. */
function parseSample(line: string): Sample {
  let i = 0;
  while (i < line.length && line[i] !== '{' && line[i] !== ' ') i++;
  const name = line.slice(0, i);
  if (!NAME.test(name)) throw new Error(`bad metric name in ${line}`);
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const eq = line.indexOf('=', i);
      if (eq < 0) throw new Error(`bad labels in ${line}`);
      const lname = line.slice(i, eq);
      if (!LABEL_NAME.test(lname)) throw new Error(`bad label name ${JSON.stringify(lname)} in ${line}`);
      if (lname in labels) throw new Error(`label ${lname} twice in ${line}`);
      if (line[eq + 1] !== '"') throw new Error(`label value not quoted in ${line}`);
      let v = '';
      let j = eq + 2;
      for (;;) {
        if (j >= line.length) throw new Error(`unterminated label value in ${line}`);
        const c = line[j];
        if (c === '"') break;
        if (c === '\\') {
          const e = line[j + 1];
          if (e === '\\') v += '\\';
          else if (e === '"') v += '"';
          else if (e === 'n') v += '\n';
          else throw new Error(`bad escape \\${e} in ${line}`);
          j += 2;
        } else {
          v += c;
          j++;
        }
      }
      labels[lname] = v;
      i = j + 1;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new Error(`expected , or } in ${line}`);
    }
    i++;
  }
  if (line[i] !== ' ') throw new Error(`expected a space before the value in ${line}`);
  const rest = line.slice(i + 1).split(' ');
  if (rest.length > 2) throw new Error(`too many fields in ${line}`);
  if (rest.length === 2 && !/^-?\d+$/.test(rest[1])) throw new Error(`bad timestamp in ${line}`);
  return { name, labels, value: parseValue(rest[0], line) };
}

/** The family a sample name belongs to, given the declared families. */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  const f = families.get(name);
  if (f !== undefined) return f;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const h = families.get(name.slice(0, -suffix.length));
      if (h !== undefined && (h.type === 'histogram' || (h.type === 'summary' && suffix !== '_bucket'))) return h;
    }
  }
  return undefined;
}

function key(labels: Record<string, string>, without: string): string {
  return JSON.stringify(Object.entries(labels).filter(([k]) => k !== without).sort());
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const k = key(s.labels, 'le');
    let g = groups.get(k);
    if (g === undefined) groups.set(k, (g = { buckets: [] }));
    if (s.name === `${f.name}_bucket`) {
      if (s.labels.le === undefined) throw new Error(`${f.name}: a bucket without le`);
      g.buckets.push([parseValue(s.labels.le, s.name), s.value]);
    } else if (s.name === `${f.name}_sum`) {
      g.sum = s.value;
    } else if (s.name === `${f.name}_count`) {
      g.count = s.value;
    } else {
      throw new Error(`${f.name}: sample ${s.name} is not a histogram's`);
    }
  }
  for (const [k, g] of groups) {
    if (g.sum === undefined || g.count === undefined) throw new Error(`${f.name}${k}: no _sum or _count`);
    if (g.buckets.length === 0 || g.buckets[g.buckets.length - 1][0] !== Infinity) throw new Error(`${f.name}${k}: buckets do not end in le="+Inf"`);
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i][0] > g.buckets[i - 1][0])) throw new Error(`${f.name}${k}: le not ascending`);
      if (g.buckets[i][1] < g.buckets[i - 1][1]) throw new Error(`${f.name}${k}: buckets not cumulative`);
    }
    if (g.buckets[g.buckets.length - 1][1] !== g.count) throw new Error(`${f.name}${k}: +Inf bucket ${g.buckets[g.buckets.length - 1][1]} != _count ${g.count}`);
  }
}

export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the text does not end in a newline');
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  let current: Family | null = null;
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (m === null) continue; // a comment
      const [, what, name, rest] = m;
      if (!NAME.test(name)) throw new Error(`bad metric name in ${line}`);
      if (closed.has(name)) throw new Error(`${name}: declared again after its samples`);
      let f = families.get(name);
      if (f === undefined) families.set(name, (f = { name, help: '', type: 'untyped', samples: [] }));
      if (f.samples.length > 0) throw new Error(`${name}: ${what} after its samples`);
      if (what === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`${name}: unknown type ${rest}`);
        f.type = rest;
      } else {
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) throw new Error(`${name}: bad escape in HELP`);
        f.help = rest;
      }
      if (current !== null && current !== f) closed.add(current.name);
      current = f;
      continue;
    }
    const s = parseSample(line);
    const f = familyOf(s.name, families);
    if (f === undefined) throw new Error(`${s.name}: a sample with no TYPE before it`);
    if (closed.has(f.name)) throw new Error(`${f.name}: samples not together`);
    if (current !== null && current !== f) closed.add(current.name);
    current = f;
    if (f.type !== 'histogram' && f.type !== 'summary' && s.name !== f.name) throw new Error(`${s.name} in family ${f.name}`);
    f.samples.push(s);
  }
  for (const f of families.values()) {
    if (f.help === '') throw new Error(`${f.name}: no HELP`);
    if (f.type === 'counter' && !f.name.endsWith('_total')) throw new Error(`${f.name}: a counter's name ends in _total`);
    if (f.type === 'histogram') checkHistogram(f);
    const seen = new Set<string>();
    for (const s of f.samples) {
      const k = `${s.name}${key(s.labels, '')}`;
      if (seen.has(k)) throw new Error(`${k}: twice`);
      seen.add(k);
    }
  }
  return families;
}

/** The value of the sample with exactly these labels (and no others), or undefined. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && key(s.labels, '') === key(labels, '')) return s.value;
    }
  }
  return undefined;
}

// tcpkit's MySQL and PostgreSQL results beside tshark's dissectors, for the
// corpus test and for the captures the live test records of real servers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tcpkit } from './run';

export interface Tx {
  client: string;
  command: string;
  request: string;
  status: string | null;
  rows: number | null;
  affected_rows: number | null;
  error_code: number | null;
  sqlstate: string | null;
  error: boolean;
  answered: boolean;
}

export function run(file: string, mode: 'mysql' | 'pgsql', port: number, extra: string[] = []): Tx[] {
  const r = tcpkit(['-r', file, '-m', mode, '-p', String(port), '--json', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Tx);
}

/** One line of SQL as tcpkit shows it: white space runs as one space, ends trimmed. */
export function oneLine(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim();
}

/** tcpkit's preview keeps 256 bytes and says "..." past them. */
export function sameText(shown: string, full: string, what: string): void {
  const want = oneLine(full);
  if (shown.endsWith('...') && want.length > 256) assert.equal(shown, `${want.slice(0, 256)}...`, what);
  else assert.equal(shown, want, what);
}

/**
 * tshark's view of a capture: per request (a query, or for MySQL any
 * command), its text and what answered it, in order per TCP stream.
 */
interface Dissected {
  stream: number;
  query: string;
  /** pgsql: the last CommandComplete tag, or the SQLSTATE; mysql: 'OK n' or the error code. */
  answer: string;
}

export function dissect(file: string, mode: 'mysql' | 'pgsql', port: number): Dissected[] {
  const fields =
    mode === 'pgsql'
      ? ['tcp.stream', 'tcp.dstport', 'pgsql.type', 'pgsql.query', 'pgsql.tag', 'pgsql.code']
      : ['tcp.stream', 'tcp.dstport', 'mysql.command', 'mysql.query', 'mysql.affected_rows', 'mysql.error_code', 'mysql.response_code'];
  const r = spawnSync('tshark', ['-r', file, '-d', `tcp.port==${port},${mode}`, '-Y', mode, '-T', 'fields', '-E', 'separator=\x01', '-E', 'aggregator=\x02', ...fields.flatMap((f) => ['-e', f])], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(r.status, 0, r.stderr);
  const out: Dissected[] = [];
  const open = new Map<number, Dissected[]>();
  for (const line of r.stdout.split('\n')) {
    if (line === '') continue;
    const v = line.split('\x01');
    const stream = Number(v[0]);
    const toServer = Number(v[1]) === port;
    const waiting = open.get(stream) ?? [];
    open.set(stream, waiting);
    if (mode === 'pgsql') {
      const types = v[2].split('\x02');
      if (toServer) {
        if (types.includes('Simple query')) {
          const d = { stream, query: v[3].replace(/\\n/g, '\n'), answer: '' };
          out.push(d);
          waiting.push(d);
        }
        continue;
      }
      const d = waiting[0];
      if (d === undefined) continue;
      const tags = v[4] === '' ? [] : v[4].split('\x02');
      const codes = v[5] === '' ? [] : v[5].split('\x02');
      // Notices carry code 00000 too: only an ErrorResponse's code is the answer.
      if (types.includes('Error')) d.answer = codes[codes.length - 1];
      else if (tags.length > 0 && !d.answer.match(/^[0-9A-Z]{5}$/)) d.answer = tags[tags.length - 1];
      if (types.includes('Ready for query')) waiting.shift();
    } else {
      if (toServer) {
        if (v[2] === '3') {
          const d = { stream, query: v[3].replace(/\\n/g, '\n'), answer: '' };
          out.push(d);
          waiting.push(d);
        }
        continue;
      }
      const d = waiting.shift();
      if (d === undefined) continue;
      const code = v[6].split('\x02')[0];
      if (code === '0xff') d.answer = v[5].split('\x02')[0];
      else if (code === '0x00') d.answer = `OK ${v[4].split('\x02')[0]}`;
      else d.answer = 'rows';
    }
  }
  return out;
}

/**
 * Every query tshark sees in `file` is one of tcpkit's transactions, in
 * order, with the same text and answer (logins, pings, INIT_DB and
 * FIELD_LIST aside: tshark shows them as no query). Prepared statements and
 * extended-protocol batches are not compared: the dissect reads simple queries. `gapsAllowed`: a request whose answer was
 * lost to a gap may be unanswered. Returns how many were compared.
 */
export function sameAsTshark(file: string, mode: 'mysql' | 'pgsql', port: number, gapsAllowed = false): number {
  const want = dissect(file, mode, port);
  const got = run(file, mode, port).filter((t) => t.command !== 'LOGIN' && t.command !== 'STARTUP' && !/^(PING|INIT_DB|FIELD_LIST)$/.test(t.command));
  assert.equal(got.length, want.length, `${got.map((t) => t.request).join('\n')}`);
  got.forEach((tx, i) => {
    sameText(tx.request, want[i].query, `#${i}`);
    if (!tx.answered) {
      // The response's start was lost to a gap in the capture: tshark pairs by order alone.
      assert.ok(gapsAllowed, `#${i} unanswered`);
      return;
    }
    if (mode === 'pgsql') assert.equal(tx.status, want[i].answer, `#${i} answer`);
    else if (want[i].answer === 'rows') assert.equal(tx.status, `rows ${tx.rows}`, `#${i}`);
    else if (want[i].answer.startsWith('OK')) assert.equal(`OK ${tx.affected_rows}`, want[i].answer, `#${i}`);
    else assert.equal(String(tx.error_code), want[i].answer, `#${i}`);
  });
  return want.length;
}

// Conformance: tcpkit's Redis pairing against other tools' expectations for
// captures that nobody on this project recorded (../shared/corpus, see its
// README.md and MANIFEST.tsv):
//
//   - zeek/redis__*.pcap[ng] with Zeek's btest baselines (zeek/baseline/
//     scripts.base.protocols.redis.<test>__redis.log or __output);
//   - packetbeat/redis_*.pcap with what Packetbeat's system test asserts;
//   - tcpdump/resp_*.pcap with tcpdump's own decoding of them (resp_*.out).
//
// The corpus is read at test time and never copied into this repository. The
// expectations are parsed from the baselines where they can be; the few facts
// hard-coded here say which baseline line or which packet they come from.
//
// Where Zeek's semantics differ from tcpkit's on purpose, the test asserts what
// tcpkit should do and says why next to the expectation. Those places:
//   - Zeek logs a request that got no reply with success/reply `-`; tcpkit
//     may print it as `no response` or (for a request that expects no reply,
//     such as one sent after CLIENT REPLY OFF) not print it at all.
//   - Zeek treats RESP2 SUBSCRIBE/PSUBSCRIBE confirmations as server pushes;
//     tcpkit may pair them with their command (they do answer it).
//   - Zeek stops naming commands past its pipelining limit, gives up on a
//     stream that is not RESP or that starts with server data, and caps
//     aggregate sizes; tcpkit keeps pairing, and counts what it could not
//     parse in the stderr summary instead.
//   - Zeek truncates values at 250 bytes; tcpkit shows 64 bytes and "...".
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CORPUS, parseLines, tcpkit, type TxLine, parseSummary, type Summary } from '../helpers/run';

const ZEEK = path.join(CORPUS, 'zeek');
const BASELINE = path.join(ZEEK, 'baseline');
const PACKETBEAT = path.join(CORPUS, 'packetbeat');
const TCPDUMP = path.join(CORPUS, 'tcpdump');

const why = fs.existsSync(CORPUS)
  ? null
  : `no ../shared/corpus: ${CORPUS} does not exist (the conformance captures live beside the checkout, not in it)`;
if (why) process.stdout.write(`# zeek-redis: skipped, ${why}\n`);

/** Bytes of an argument tcpkit shows before cutting it with "...". */
const ARG_PREVIEW = 64;

/**
 * Which Zeek btest runs which trace: the `@TEST-EXEC: zeek ... -r $TRACES/redis/X`
 * line of zeek/zeek testing/btest/scripts/base/protocols/redis/<test>.zeek.
 * Port 10625 for django-cloud is that test's `redef Redis::ports += { 10625/tcp }`;
 * the oss-fuzz trace is on port 80 (Zeek finds it by content).
 */
const ZEEK_TRACES: ReadonlyArray<{ test: string; pcap: string; port: number }> = [
  { test: 'almost-redis', pcap: 'redis__almost-resp.pcap', port: 6379 },
  { test: 'attributes', pcap: 'redis__attr.pcap', port: 6379 },
  { test: 'auth', pcap: 'redis__auth.pcap', port: 6379 },
  { test: 'bulk', pcap: 'redis__bulk-loading.pcap', port: 6379 },
  { test: 'client-reply-off', pcap: 'redis__reply-off-on.pcap', port: 6379 },
  { test: 'client-reply-off-2conn', pcap: 'redis__reply-off-on-2conn.pcap', port: 6379 },
  { test: 'client-skip-while-off', pcap: 'redis__client-skip-while-off.pcap', port: 6379 },
  { test: 'django-cloud', pcap: 'redis__django-cloud.pcapng', port: 10625 },
  { test: 'element-object-exhaustion', pcap: 'redis__array-element-object-exhaustion.pcap', port: 6379 },
  { test: 'excessive-pipelining', pcap: 'redis__excessive-pipelining.pcap', port: 6379 },
  { test: 'finalize-redis-state-check', pcap: 'redis__oss-fuzz-473580107.pcap', port: 80 },
  { test: 'large-requests-responses', pcap: 'redis__large-requests-responses.pcap', port: 6379 },
  { test: 'pipeline-with-quotes', pcap: 'redis__pipeline-quotes.pcap', port: 6379 },
  { test: 'pipelined-with-commands', pcap: 'redis__pipeline-with-commands.pcap', port: 6379 },
  { test: 'pipelined', pcap: 'redis__pipelining-example.pcap', port: 6379 },
  { test: 'pubsub-resp3', pcap: 'redis__pubsub-resp3.pcap', port: 6379 },
  { test: 'pubsub', pcap: 'redis__pubsub.pcap', port: 6379 },
  { test: 'set', pcap: 'redis__set.pcap', port: 6379 },
  { test: 'start-with-server', pcap: 'redis__start-with-server.pcapng', port: 6379 },
  { test: 'stream', pcap: 'redis__stream.pcap', port: 6379 },
];

function trace(test: string): { pcap: string; port: number } {
  const t = ZEEK_TRACES.find((x) => x.test === test);
  if (!t) throw new Error(`no trace for Zeek test ${test}`);
  return { pcap: path.join(ZEEK, t.pcap), port: t.port };
}

// ---------------------------------------------------------------------------
// Running tcpkit

interface Run {
  lines: TxLine[];
  stderr: string;
  summary: Summary;
}

/** Runs tcpkit on a capture; checks what must hold for every capture, however odd. */
function run(pcap: string, port: number): Run {
  const r = tcpkit(['-r', pcap, '-p', String(port), '-m', 'redis']);
  assert.equal(r.code, 0, `tcpkit exited ${r.code} on ${path.basename(pcap)}:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at .*\(.*:\d+:\d+\)|TypeError|RangeError|ReferenceError/, 'no stack trace');
  const lines = parseLines(r.stdout);
  const summary = parseSummary(r.stderr);
  // Every transaction counted in the summary is a line (threshold 0), and the other way round.
  // (A pairing with negative latency would be counted but never printed, even at -t 0.)
  assert.equal(
    lines.filter((l) => l.latencyMs !== null).length,
    summary.answered,
    `answered lines printed = "answered" in the summary (${path.basename(pcap)})`,
  );
  assert.equal(lines.filter((l) => l.latencyMs === null).length, summary.noResponse, 'no-response lines = summary');
  assert.equal(lines.filter((l) => l.error).length, summary.errors, 'error lines = summary');
  for (const l of lines) assert.match(l.server, new RegExp(`:${port}$`), `server side named: ${l.server}`);
  return { lines, stderr: r.stderr, summary };
}

const answered = (lines: TxLine[]) => lines.filter((l) => l.latencyMs !== null);
const requests = (lines: TxLine[]) => lines.map((l) => l.request);

// ---------------------------------------------------------------------------
// Zeek's logs

interface ZeekRow {
  /** The client, written the way tcpkit writes it: `1.2.3.4:5` or `[::1]:5`. */
  client: string;
  name: string | null;
  key: string | null;
  value: string | null;
  /** null: Zeek saw no reply. */
  success: boolean | null;
  reply: string | null;
}

/** Undoes Zeek's ASCII-log escaping (`\\`, `\xNN`); bytes tcpkit shows as '.' become '.'. */
function unescapeZeek(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
      bytes.push(parseInt(s.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (s[i] === '\\' && s[i + 1] === '\\') {
      bytes.push(0x5c);
      i += 1;
    } else {
      for (const b of Buffer.from(s[i], 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes.map((b) => (b < 0x20 || b === 0x7f ? 0x2e : b))).toString('utf8');
}

function baselineFile(test: string, suffix: string): string {
  return path.join(BASELINE, `scripts.base.protocols.redis.${test}__${suffix}`);
}

/** Rows of a Zeek redis.log baseline. */
function zeekLog(test: string, suffix = 'redis.log'): ZeekRow[] {
  const text = fs.readFileSync(baselineFile(test, suffix), 'utf8');
  let fields: string[] = [];
  const rows: ZeekRow[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#fields\t')) fields = line.split('\t').slice(1);
    if (line === '' || line.startsWith('#')) continue;
    assert.ok(fields.length > 0, `${test}: data before #fields`);
    const cols = line.split('\t');
    const f = (name: string): string | null => {
      const i = fields.indexOf(name);
      assert.ok(i >= 0, `${test}: no ${name} column`);
      const v = cols[i];
      if (v === '-') return null;
      if (v === '(empty)') return '';
      return unescapeZeek(v);
    };
    const host = f('id.orig_h') ?? '?';
    const success = f('success');
    rows.push({
      client: `${host.includes(':') ? `[${host}]` : host}:${f('id.orig_p')}`,
      name: f('cmd.name'),
      key: f('cmd.key'),
      value: f('cmd.value'),
      success: success === null ? null : success === 'T',
      reply: f('reply.value'),
    });
  }
  return rows;
}

/** A Zeek test's printed output, without btest's header line. */
function zeekOutput(test: string): string[] {
  return fs
    .readFileSync(baselineFile(test, 'output'), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('### BTest'));
}

/** How tcpkit shows one argument: at most 64 bytes, then "...". */
function shown(arg: string): string {
  const b = Buffer.from(arg, 'utf8');
  return b.length > ARG_PREVIEW ? `${b.subarray(0, ARG_PREVIEW).toString('utf8')}...` : arg;
}

/** Whether a tcpkit line shows the command Zeek logged (name, key and value where Zeek has them). */
function sameCommand(row: ZeekRow, line: TxLine): boolean {
  const words = line.request.split(' ');
  if (row.name !== null && words[0].toUpperCase() !== row.name.toUpperCase()) return false;
  if (row.key !== null && words[1] !== shown(row.key)) return false;
  if (row.value !== null) {
    // The value is the rest of the line: inline commands keep their quotes and spaces.
    const rest = words.slice(2).join(' ');
    const v = shown(row.value);
    if (!(rest === v || rest.startsWith(`${v} `))) return false;
  }
  return true;
}

function describeRow(r: ZeekRow): string {
  const reply = r.success === null ? 'no reply' : `${r.success ? 'T' : 'F'} ${r.reply}`;
  return `${r.client} ${r.name ?? '-'} ${r.key ?? '-'} ${(r.value ?? '-').slice(0, 40)} -> ${reply.slice(0, 40)}`;
}

function describeLine(l: TxLine): string {
  return `${l.client} ${l.request.slice(0, 80)} | ${l.latencyMs === null ? 'no response' : `${l.latencyMs} ms`}${l.error ? ' | error' : ''}`;
}

interface CompareOptions {
  /** Rows Zeek logged without a reply that tcpkit may pair (documented at the call). */
  mayBeAnswered?: (row: ZeekRow) => boolean;
}

/**
 * Compares tcpkit's lines with Zeek's rows, connection by connection, and returns
 * every disagreement (empty when they agree):
 *   - each row with a reply is, in order, an answered line with the same command,
 *     marked `| error` exactly when Zeek's success is F;
 *   - each row without a reply is either no line or one `no response` line;
 *   - tcpkit prints nothing Zeek has no row for.
 */
function compareWithZeek(rows: ZeekRow[], lines: TxLine[], opts: CompareOptions = {}): string[] {
  const problems: string[] = [];
  const clients = new Set([...rows.map((r) => r.client), ...lines.map((l) => l.client)]);
  for (const client of clients) {
    const zr = rows.filter((r) => r.client === client);
    const ans = lines.filter((l) => l.client === client && l.latencyMs !== null);
    const none = lines.filter((l) => l.client === client && l.latencyMs === null);
    if (zr.length === 0) {
      problems.push(`${client}: tcpkit has ${lines.filter((l) => l.client === client).length} lines, Zeek no connection`);
      continue;
    }
    let i = 0;
    for (const row of zr) {
      if (row.success !== null) {
        const l = ans[i++];
        if (!l) problems.push(`missing answered line for Zeek row [${describeRow(row)}]`);
        else if (!sameCommand(row, l)) problems.push(`Zeek row [${describeRow(row)}] vs tcpkit [${describeLine(l)}]`);
        else if (l.error !== !row.success) problems.push(`error flag: Zeek row [${describeRow(row)}] vs tcpkit [${describeLine(l)}]`);
        continue;
      }
      if (opts.mayBeAnswered?.(row) && ans[i] && sameCommand(row, ans[i])) {
        i++;
        continue;
      }
      const j = none.findIndex((l) => sameCommand(row, l));
      if (j >= 0) none.splice(j, 1);
    }
    for (const l of ans.slice(i)) problems.push(`tcpkit answered [${describeLine(l)}], Zeek logs no such reply`);
    for (const l of none) problems.push(`tcpkit [${describeLine(l)}], Zeek logs no such request`);
  }
  return problems;
}

/** Zeek's redis.log and tcpkit's run agree (see compareWithZeek). */
function assertAgrees(test: string, r: Run, opts: CompareOptions & { log?: string } = {}): void {
  const rows = zeekLog(test, opts.log);
  assert.ok(rows.length > 0, `${test}: empty baseline`);
  assert.deepEqual(compareWithZeek(rows, r.lines, opts), [], `${test}: tcpkit vs Zeek`);
}

/** Runs tcpkit on the trace of a Zeek test and compares with its redis.log. */
function agreesWithZeek(test: string, opts: CompareOptions & { log?: string } = {}): Run {
  const t = trace(test);
  const r = run(t.pcap, t.port);
  assertAgrees(test, r, opts);
  return r;
}

// ---------------------------------------------------------------------------

describe('Zeek redis traces, against Zeek baselines', { skip: why ?? false }, () => {
  test('every redis trace in the corpus is covered, and its baseline exists', () => {
    const inCorpus = fs.readdirSync(ZEEK).filter((f) => /^redis__.*\.pcap(ng)?$/.test(f)).sort();
    assert.deepEqual(inCorpus, ZEEK_TRACES.map((t) => t.pcap).sort());
    for (const t of ZEEK_TRACES) {
      const found = fs.readdirSync(BASELINE).some((f) => f.startsWith(`scripts.base.protocols.redis.${t.test}__`));
      assert.ok(found, `a baseline for ${t.test}`);
    }
  });

  // Plain request/response traffic: tcpkit must match redis.log row for row.
  test('pipelined: three pipelined PINGs (pipelined__redis.log)', () => {
    const r = agreesWithZeek('pipelined');
    assert.deepEqual(requests(r.lines), ['PING', 'PING', 'PING']);
  });

  test('pipelined-with-commands: PING PING SET GET (redis.log and output)', () => {
    const r = agreesWithZeek('pipelined-with-commands');
    // __output: "SET: HI 3" and "GET: HI" from the set/get events.
    assert.deepEqual(zeekOutput('pipelined-with-commands'), ['SET: HI 3', 'GET: HI']);
    assert.deepEqual(requests(r.lines), ['PING', 'PING', 'SET HI 3', 'GET HI']);
  });

  test('pipeline-with-quotes: inline commands with quotes; an error reply, then no reply', () => {
    const r = agreesWithZeek('pipeline-with-quotes');
    // Zeek's last two rows: bad1 F (ERR unbalanced quotes), bad2 with no reply.
    assert.equal(r.summary.errors, 1);
    assert.equal(answered(r.lines).length, zeekLog('pipeline-with-quotes').filter((x) => x.success !== null).length);
  });

  test('stream: XADD x3, XRANGE (stream__redis.log)', () => {
    const r = agreesWithZeek('stream');
    assert.equal(r.lines.length, 4);
    assert.match(r.lines[3].request, /^XRANGE race:france /);
  });

  test('set: three SETs (set__output)', () => {
    const t = trace('set');
    const r = run(t.pcap, t.port);
    // __output: "Key: test Value: hi" ... from the set_command event.
    const sets = zeekOutput('set').map((l) => {
      const m = /^Key: (\S+) Value: (.*)$/.exec(l);
      assert.ok(m, l);
      return `SET ${m[1]} ${m[2]}`;
    });
    assert.equal(sets.length, 3);
    assert.deepEqual(requests(r.lines), sets);
    // Each SET is answered +OK in the capture.
    assert.equal(r.summary.answered, 3);
    assert.equal(r.summary.errors, 0);
  });

  test('auth: three AUTHs, two refused (auth__output)', () => {
    const t = trace('auth');
    const r = run(t.pcap, t.port);
    // __output: per AUTH, "username: U" ("default" when absent), "password: P", then "Auth failed"/"Auth succeeded".
    const out = zeekOutput('auth');
    const expected: { user: string; pass: string; ok: boolean }[] = [];
    for (let i = 0; i < out.length; i++) {
      if (out[i] !== 'AUTH') continue;
      expected.push({
        user: out[i + 1].replace(/^username: /, ''),
        pass: out[i + 2].replace(/^password: /, ''),
        ok: out[i + 3].startsWith('Auth succeeded'),
      });
    }
    assert.equal(expected.length, 3);
    assert.equal(r.lines.length, expected.length);
    expected.forEach((e, i) => {
      const l = r.lines[i];
      const forms = [`AUTH ${e.user} ${e.pass}`];
      if (e.user === 'default') forms.push(`AUTH ${e.pass}`);
      assert.ok(forms.includes(l.request), `AUTH ${i}: ${l.request}`);
      assert.ok(l.latencyMs !== null);
      assert.equal(l.error, !e.ok, `AUTH ${i} refused = error reply`);
    });
  });

  test('bulk: 1000 SETs from redis-cli --pipe, then its ECHO marker (bulk__output)', () => {
    const t = trace('bulk');
    const r = run(t.pcap, t.port);
    // __output: "SET: KeyN ValueN" per set_command event. Zeek's script prints only
    // SETs; redis-cli --pipe ends with an ECHO of 20 random bytes, which tcpkit shows too.
    const sets = zeekOutput('bulk').map((l) => l.replace(/^SET: /, 'SET '));
    assert.equal(sets.length, 1000);
    assert.deepEqual(requests(r.lines).slice(0, sets.length), sets);
    assert.equal(r.lines.length, sets.length + 1);
    assert.match(r.lines[sets.length].request, /^ECHO /);
    assert.equal(r.summary.answered, sets.length + 1);
    assert.equal(r.summary.errors + r.summary.noResponse + r.summary.malformed + r.summary.orphans, 0);
  });

  test('django-cloud: 158 cache commands over a ~25 ms link, 152 of them SET', () => {
    const r = agreesWithZeek('django-cloud');
    // __output: "Found 152 SET commands" and "Factorial of 100 is N" (the largest SET value).
    const out = zeekOutput('django-cloud');
    const sets = Number(/^Found (\d+) SET commands$/.exec(out[1])?.[1]);
    const fact = /^Factorial of (\d+) is (\d+)$/.exec(out[0]);
    assert.ok(fact);
    assert.equal(r.lines.filter((l) => l.request.startsWith('SET ')).length, sets);
    const big = r.lines.find((l) => l.request.startsWith(`SET :1:factorial_${fact[1]} `));
    assert.ok(big, `SET of factorial_${fact[1]}`);
    assert.equal(big.request.split(' ')[2], shown(fact[2]));
    // conn.log: the capture starts mid-connection ("DdA", no handshake); every request answered.
    assert.equal(r.summary.noResponse + r.summary.orphans + r.summary.malformed, 0);
    for (const l of r.lines) assert.ok(l.latencyMs! > 15 && l.latencyMs! < 100, `cloud round trip: ${describeLine(l)}`);
  });

  test('large-requests-responses: 500- and 1000-byte values are cut at 64 bytes', () => {
    // redis-default.log (Zeek caps at 250 bytes; either way longer than 64).
    const r = agreesWithZeek('large-requests-responses', { log: 'redis-default.log' });
    assert.equal(r.lines.length, 5);
    for (const l of r.lines.filter((x) => x.request.startsWith('SET '))) {
      assert.equal(l.request.split(' ')[2], `${'X'.repeat(ARG_PREVIEW)}...`);
    }
    assert.equal(r.summary.malformed + r.summary.gaps + r.summary.orphans, 0);
  });

  // Zeek and tcpkit differ on purpose below; see each comment.
  test('almost-redis: two real commands, then a server that stops speaking RESP', () => {
    // Zeek logs AUTH and PING, then recognises the rest is not RESP. tcpkit pairs the
    // same two and counts the non-RESP reply lines as a parser reset, without failing.
    const r = agreesWithZeek('almost-redis');
    assert.equal(r.lines.length, 2);
    assert.equal(r.summary.malformed, 1, 'non-RESP reply counted as malformed');
  });

  test('attributes: RESP3 replies carrying attributes pair like any reply', () => {
    // Each synthetic reply in attr.pcap ends with a stray "\n" after its CRLF;
    // tcpkit may count it as malformed. What matters: the attribute is not a
    // reply of its own, so nothing is left without a request.
    const r = agreesWithZeek('attributes');
    assert.deepEqual(requests(r.lines), ['FAKE COMMAND', 'FAKE2 COMMAND2']);
    assert.equal(r.summary.orphans, 0, 'an attribute is not a separate reply');
    assert.ok(r.summary.malformed <= 2);
  });

  test('excessive-pipelining: 12 pipelined PINGs, all answered', () => {
    // Zeek names only the first 5 (its pipelining limit, weird "6 > 5") and logs the
    // other 7 with cmd.name "-", reply PONG; a PONG answers a PING. tcpkit names all 12.
    const rows = zeekLog('excessive-pipelining');
    assert.equal(rows.length, 12);
    for (const row of rows) if (row.name === null && row.reply === 'PONG') row.name = 'PING';
    const t = trace('excessive-pipelining');
    const r = run(t.pcap, t.port);
    assert.deepEqual(compareWithZeek(rows, r.lines), []);
    assert.deepEqual(requests(r.lines), Array(12).fill('PING'));
  });

  test('pubsub (RESP2): PUBLISH/SET/RESET/GET pair; published messages answer nothing', () => {
    // Zeek logs SUBSCRIBE and PSUBSCRIBE without a reply: it treats their
    // confirmations as server pushes. In RESP2 the confirmation is the reply
    // to that command, so tcpkit may pair them.
    const r = agreesWithZeek('pubsub', { mayBeAnswered: (row) => /^P?SUBSCRIBE$/.test(row.name ?? '') });
    // __output: 5 server_push events; 2 are the (p)subscribe confirmations, 3 are
    // published messages, which must not be taken as anyone's reply.
    const pushes = zeekOutput('pubsub').filter((l) => l.startsWith('Got published data!'));
    assert.equal(pushes.length, 5);
    const messages = pushes.filter((l) => /\[p?message,/.test(l)).length;
    assert.equal(messages, 3);
    const subscribesAnswered = answered(r.lines).filter((l) => /^P?SUBSCRIBE /.test(l.request)).length;
    assert.equal(r.summary.pushes + r.summary.orphans, messages + (2 - subscribesAnswered));
    for (const l of answered(r.lines)) assert.ok(l.latencyMs! < 5, `loopback round trip: ${describeLine(l)}`);
  });

  test('pubsub-resp3: subscribe confirmations and messages are pushes; SET and PING still pair', () => {
    // No redis.log for this test; __output lists the 5 server_push events Zeek saw:
    // [subscribe, Foo, 1], [psubscribe, F*, 2], then 3 (p)messages. In RESP3 the
    // (P)SUBSCRIBE confirmations arrive as `>` pushes, so tcpkit may leave those two
    // commands unpaired or pair them with their confirmation; either way every
    // other reply on the connection (+OK to SET, +PONG to PING) must pair with its
    // own request. Payload: SET at 18:47:15.212985, +OK 0.385 ms later; PING at
    // 18:47:17.614622, +PONG 0.244 ms later; all of this is loopback.
    const pushes = zeekOutput('pubsub-resp3').filter((l) => l.startsWith('Got published data!'));
    assert.equal(pushes.length, 5);
    const t = trace('pubsub-resp3');
    const r = run(t.pcap, t.port);
    const subscriber = '127.0.0.1:53232';
    const publisher = '127.0.0.1:53234';
    const pairs = answered(r.lines);
    assert.deepEqual(pairs.filter((l) => l.latencyMs! >= 5).map(describeLine), [], 'loopback round trips are under 5 ms');
    const subscribesAnswered = pairs.filter((l) => /^P?SUBSCRIBE /.test(l.request));
    assert.deepEqual(
      requests(pairs.filter((l) => l.client === subscriber && !subscribesAnswered.includes(l))),
      ['HELLO 3', 'COMMAND DOCS', 'SET random_key random_val', 'PING'],
    );
    assert.deepEqual(requests(pairs.filter((l) => l.client === publisher)), [
      'HELLO 3',
      'COMMAND DOCS',
      'PUBLISH Foo Hi:)',
      'PUBLISH Foobar Hello!',
    ]);
    const unanswered = r.lines.filter((l) => l.latencyMs === null);
    for (const l of unanswered) assert.match(l.request, /^P?SUBSCRIBE /, `only (p)subscribe may go unanswered: ${describeLine(l)}`);
    assert.equal(r.summary.pushes, pushes.length - subscribesAnswered.length);
    assert.equal(r.summary.orphans, 0);
  });

  test('client-reply-off: requests after CLIENT REPLY OFF / SKIP get no reply', () => {
    // Client payload, one segment: PING, CLIENT REPLY OFF, PING, CLIENT REPLY ON,
    // PING, CLIENT REPLY SKIP, PING, PING; server: +PONG +OK +PONG +PONG.
    // client-reply-off__redis.log: rows 1, 4, 5 and 8 got a reply (PONG, OK, PONG,
    // PONG), the others none. So the answered requests are:
    const t = trace('client-reply-off');
    const r = run(t.pcap, t.port);
    assert.deepEqual(requests(answered(r.lines)), ['PING', 'CLIENT REPLY ON', 'PING', 'PING']);
    assertAgrees('client-reply-off', r);
  });

  test('client-skip-while-off: CLIENT REPLY SKIP while OFF changes nothing', () => {
    // Client: PING, CLIENT REPLY OFF, PING, CLIENT REPLY SKIP, CLIENT REPLY ON,
    // PING, PING; server: +PONG +OK +PONG +PONG. client-skip-while-off__redis.log:
    // rows 1, 5, 6, 7 got a reply (PONG, OK, PONG, PONG).
    const t = trace('client-skip-while-off');
    const r = run(t.pcap, t.port);
    assert.deepEqual(requests(answered(r.lines)), ['PING', 'CLIENT REPLY ON', 'PING', 'PING']);
    assertAgrees('client-skip-while-off', r);
  });

  test('client-reply-off-2conn: two connections, each PING then CLIENT REPLY OFF, PING', () => {
    const r = agreesWithZeek('client-reply-off-2conn');
    assert.deepEqual(requests(answered(r.lines)), ['PING', 'PING']);
    assert.equal(new Set(r.lines.map((l) => l.client)).size, 2);
  });

  test('start-with-server: a stream that starts with server data', () => {
    // Zeek prints nothing (__output is empty): it refuses a stream whose first
    // data comes from the server. tcpkit counts that +OK as a response without a
    // request and still pairs the SET that follows.
    assert.deepEqual(zeekOutput('start-with-server'), []);
    const t = trace('start-with-server');
    const r = run(t.pcap, t.port);
    assert.deepEqual(requests(r.lines), ['SET hello there']);
    assert.ok(r.lines[0].latencyMs !== null && !r.lines[0].error);
    assert.equal(r.summary.orphans, 1);
  });

  test('element-object-exhaustion: PING answered by a 1000-element array', () => {
    // With Zeek's defaults the 1000 nulls parse (no analyzer_debug.log); only with
    // max_aggregate_elements=500 does Zeek flag a violation (__analyzer_debug.log).
    // tcpkit has no such limit: one reply, over three segments.
    const debug = fs.readFileSync(baselineFile('element-object-exhaustion', 'analyzer_debug.log'), 'utf8');
    assert.match(debug, /too many elements 1000 > 500/);
    const t = trace('element-object-exhaustion');
    const r = run(t.pcap, t.port);
    assert.deepEqual(requests(r.lines), ['PING']);
    assert.ok(r.lines[0].latencyMs !== null);
    assert.equal(r.summary.malformed + r.summary.orphans + r.summary.gaps, 0);
  });

  test('finalize-redis-state-check: fuzzed non-RESP traffic on port 80 does not break tcpkit', () => {
    // Zeek's expectation is an empty .stderr: no crash. tcpkit's: exit 0, a summary,
    // well-formed lines (run() checks these), and bounded memory per connection.
    assert.deepEqual(
      fs.readFileSync(baselineFile('finalize-redis-state-check', '.stderr'), 'utf8').split('\n').filter((l) => l && !l.startsWith('###')),
      [],
    );
    const t = trace('finalize-redis-state-check');
    const r = run(t.pcap, t.port);
    assert.equal(r.lines.length, 4118);
    assert.equal(new Set(r.lines.map((l) => l.client)).size, 1);
  });
});

// ---------------------------------------------------------------------------

describe('Packetbeat redis captures (port 6380)', { skip: why ?? false }, () => {
  // Packetbeat's tests/system/test_0007_redis... renders redis_ports=[6380].
  test('redis_one_transaction: one LINDEX, answered', () => {
    const r = run(path.join(PACKETBEAT, 'redis_one_transaction.pcap'), 6380);
    assert.deepEqual(requests(r.lines), ['lindex test 1']);
    assert.ok(r.lines[0].latencyMs !== null && !r.lines[0].error);
  });

  test('redis_session: 11 commands, the third an error (as Packetbeat asserts)', () => {
    // Packetbeat: objs[0] SET key3 "set key3 me" OK, objs[1] GET "get key3" OK,
    // objs[2] LLEN Error (WRONGTYPE), all the rest OK. The capture holds 11
    // client segments, one command each, each answered (tcpdump -nn -r).
    const r = run(path.join(PACKETBEAT, 'redis_session.pcap'), 6380);
    assert.equal(r.lines.length, 11);
    assert.equal(r.lines[0].request, 'set key3 me');
    assert.equal(r.lines[1].request, 'get key3');
    assert.match(r.lines[2].request, /^llen /i);
    assert.deepEqual(
      r.lines.map((l) => l.error),
      r.lines.map((_, i) => i === 2),
    );
    assert.equal(r.summary.answered, 11);
    assert.equal(r.summary.noResponse + r.summary.orphans + r.summary.malformed, 0);
  });
});

// ---------------------------------------------------------------------------

interface DumpPacket {
  fromServer: boolean;
  client: string;
  /** The quoted strings of tcpdump's `RESP "a" "b"` decoding. */
  tokens: string[];
}

/** tcpdump's decoding (X.out) of the packets that carry RESP data. */
function tcpdumpOut(name: string, serverPort: number): DumpPacket[] {
  const out: DumpPacket[] = [];
  for (const line of fs.readFileSync(path.join(TCPDUMP, name), 'utf8').split('\n')) {
    const m = /IP6? (\S+)\.(\d+) > (\S+)\.(\d+): .*length \d+: RESP (.*)$/.exec(line);
    if (!m) continue;
    const fromServer = Number(m[2]) === serverPort;
    const tokens = [...m[5].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((t) => t[1]);
    out.push({ fromServer, client: fromServer ? `${m[3]}:${m[4]}` : `${m[1]}:${m[2]}`, tokens });
  }
  return out;
}

describe('tcpdump RESP captures, against tcpdump\'s decoding (resp_*.out)', { skip: why ?? false }, () => {
  test('resp_1_benchmark: one command per redis-benchmark connection', () => {
    // Each client packet in resp_1.out is one command (array tokens); each is answered.
    const cmds = tcpdumpOut('resp_1.out', 6379).filter((p) => !p.fromServer);
    assert.equal(cmds.length, 15);
    const r = run(path.join(TCPDUMP, 'resp_1_benchmark.pcap'), 6379);
    assert.equal(r.lines.length, cmds.length);
    cmds.forEach((c, i) => {
      const l = r.lines[i];
      assert.equal(l.client, c.client);
      const expected = c.tokens.map(shown).join(' ');
      // tcpkit keeps at most 256 bytes of a request's text (the long MSET).
      assert.ok(l.request === expected || (expected.startsWith(l.request) && l.request.length >= 200), `${l.request} vs ${expected}`);
      assert.ok(l.latencyMs !== null && !l.error);
    });
    assert.equal(r.summary.noResponse + r.summary.orphans + r.summary.malformed, 0);
  });

  test('resp_2_inline: 12 pipelined inline commands', () => {
    // Client tokens in resp_2.out are whole inline command lines: 1 + 10 + 1.
    const cmds = tcpdumpOut('resp_2.out', 6379)
      .filter((p) => !p.fromServer)
      .flatMap((p) => p.tokens);
    assert.equal(cmds.length, 12);
    const r = run(path.join(TCPDUMP, 'resp_2_inline.pcap'), 6379);
    assert.deepEqual(requests(r.lines), cmds);
    assert.equal(r.summary.answered, 12);
    assert.equal(r.summary.errors + r.summary.noResponse + r.summary.orphans + r.summary.malformed, 0);
  });

  test('resp_3_malicious: what Redis answered is what tcpkit pairs', () => {
    // Redis' replies in resp_3.out are the ground truth:
    //  - "ERR unknown command 'X'": Redis ran the inline command X; tcpkit must
    //    show X, answered, as an error.
    //  - "ERR Protocol error: invalid multibulk length" answers `*1000...0`, a
    //    request that never completes: tcpkit can only count a response without
    //    a request (a documented difference, not a pairing).
    //  - the other replies (:69 :70 :71, 9 x +PONG) answer INCR x3 and PING x9.
    //  - Redis answers nothing else: `*-20`, `*-1` (a null multibulk, which Redis
    //    skips like `*0`) and `+hello`/`-hello`/`:hello` without CRLF. So no
    //    request may be left `no response`, and none may have empty text.
    const replies = tcpdumpOut('resp_3.out', 6379)
      .filter((p) => p.fromServer)
      .flatMap((p) => p.tokens);
    const unknown = replies.map((t) => /^ERR unknown command '(.*)'$/.exec(t)?.[1]).filter((x): x is string => x !== undefined);
    const protocolErrors = replies.filter((t) => t.startsWith('ERR Protocol error')).length;
    const ok = replies.filter((t) => !t.startsWith('ERR'));
    assert.equal(unknown.length, 8);
    assert.equal(protocolErrors, 1);
    assert.equal(ok.length, 12);
    const r = run(path.join(TCPDUMP, 'resp_3_malicious.pcap'), 6379);
    assert.deepEqual(requests(r.lines.filter((l) => l.error)), unknown.map(shown));
    assert.ok(r.lines.filter((l) => l.error).every((l) => l.latencyMs !== null));
    assert.deepEqual(requests(r.lines.filter((l) => !l.error && l.latencyMs !== null)), [...Array(3).fill('INCR z'), ...Array(9).fill('PING')]);
    assert.equal(r.summary.orphans, protocolErrors);
    assert.deepEqual(r.lines.filter((l) => l.request === '').map(describeLine), [], 'no request without text');
    assert.deepEqual(r.lines.filter((l) => l.latencyMs === null).map(describeLine), [], 'Redis answered every request it ran');
  });
});

// Conformance: tcpkit's MySQL and PostgreSQL pairing against other tools on
// captures nobody on this project recorded (../shared/corpus):
//   - zeek/mysql__*.pcap and zeek/postgresql__*.pcap with Zeek's baselines
//     (mysql.log: cmd, arg, success, rows; postgresql.log: frontend,
//     frontend_arg, success, rows), statement by statement;
//   - packetbeat/mysql_*.pcap and pgsql_*.pcap, and every capture above, with
//     tshark's MySQL and PGSQL dissectors: each query's text, and its answer
//     (a CommandComplete tag or SQLSTATE; an OK's affected rows or an error code).
// Where the tools differ on purpose:
//   - Zeek logs quit/terminate and the SSL request (refused: 'N'); tcpkit
//     prints no line for a request that expects no response, and the
//     answered SSL request goes on in the clear as part of the startup.
//   - Zeek's PostgreSQL rows are DataRows; tcpkit's rows are the same, and
//     its affected_rows are what Zeek's MySQL rows are (an OK's count).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CORPUS } from '../helpers/run';
import { run, sameAsTshark, sameText } from '../helpers/sql-dissect';

const ZEEK = path.join(CORPUS, 'zeek');
const BASELINE = path.join(ZEEK, 'baseline');
const PACKETBEAT = path.join(CORPUS, 'packetbeat');

const why = fs.existsSync(CORPUS) ? null : `no ../shared/corpus: ${CORPUS} does not exist`;
if (why) process.stdout.write(`# sql corpus: skipped, ${why}\n`);
const tshark = spawnSync('tshark', ['-v']).status === 0;

/** Zeek's log rows (`#fields` header, or the first line of a .cut), with \xNN unescaped. */
function zeekLog(file: string): Record<string, string>[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('### '));
  let fields: string[] = [];
  const out: Record<string, string>[] = [];
  for (const l of lines) {
    if (l.startsWith('#fields\t')) fields = l.split('\t').slice(1);
    else if (l.startsWith('#')) continue;
    else if (fields.length === 0) fields = l.split('\t');
    else {
      const v = l.split('\t').map((x) => x.replace(/\\x([0-9a-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))));
      out.push(Object.fromEntries(fields.map((f, i) => [f, v[i]])));
    }
  }
  return out;
}

describe('zeek baselines', { skip: why ?? false }, () => {
  const mysqlCases = [
    { pcap: 'mysql__mysql.pcap', log: 'scripts.base.protocols.mysql.wireshark__mysql.log' },
    { pcap: 'mysql__plain-amazon-rds.pcap', log: 'scripts.base.protocols.mysql.plain-aws-rds__mysql.log' },
  ];
  for (const c of mysqlCases) {
    test(`mysql ${c.pcap}: every command Zeek logs, with its text and rows`, () => {
      const want = zeekLog(path.join(BASELINE, c.log)).filter((r) => r.cmd !== 'quit');
      const got = run(path.join(ZEEK, c.pcap), 'mysql', 3306);
      assert.equal(got.length, want.length);
      got.forEach((tx, i) => {
        const z = want[i];
        const text = z.cmd === 'login' ? `LOGIN ${z.arg}` : z.cmd === 'query' ? z.arg : `${z.cmd.toUpperCase()} ${z.arg}`;
        sameText(tx.request, text, `#${i}`);
        assert.equal(tx.error, z.success !== 'T', `#${i} success`);
        if (z.cmd === 'query') assert.equal(tx.affected_rows ?? 0, Number(z.rows), `#${i} rows`);
        assert.equal(tx.answered, true);
      });
    });
  }
  test('mysql__auth.pcap: every failed login is an error with 1045 and 28000; the one that works is ok', () => {
    const got = run(path.join(ZEEK, 'mysql__auth.pcap'), 'mysql', 3306);
    const logins = got.filter((t) => t.command === 'LOGIN');
    assert.equal(logins.length, 10);
    for (const t of logins.slice(0, 9)) {
      assert.equal(t.error_code, 1045);
      assert.equal(t.sqlstate, '28000');
      assert.match(t.request, /^LOGIN root(_nope)?$/);
    }
    assert.equal(logins[9].request, 'LOGIN root');
    assert.equal(logins[9].status, 'OK');
    assert.equal(logins[9].error, false);
  });

  const pgCases = [
    { pcap: 'postgresql__psql-select-now.pcap', log: 'scripts.base.protocols.postgresql.psql-select-now__postgresql.cut' },
    { pcap: 'postgresql__psql-create-insert-select-delete-drop.pcap', log: 'scripts.base.protocols.postgresql.psql-create-insert-select__postgresql.cut' },
    { pcap: 'postgresql__greenhouse-app.pcap', log: 'scripts.base.protocols.postgresql.greenhouse-app__postgresql.log' },
  ];
  for (const c of pgCases) {
    test(`pgsql ${c.pcap}: every startup and query Zeek logs, with its text and rows`, () => {
      const want = zeekLog(path.join(BASELINE, c.log)).filter((r) => r.frontend === 'startup' || r.frontend === 'simple_query');
      const got = run(path.join(ZEEK, c.pcap), 'pgsql', 5432);
      // Zeek's log is in order per connection: compare connection by connection.
      const byPort = (port: string) => got.filter((t) => t.client.endsWith(`:${port}`));
      const ports = [...new Set(want.map((r) => r['id.orig_p']))];
      assert.equal(got.length, want.length);
      for (const port of ports) {
        const w = want.filter((r) => r['id.orig_p'] === port);
        const g = byPort(port);
        assert.equal(g.length, w.length, `connection :${port}`);
        g.forEach((tx, i) => {
          const z = w[i];
          if (z.frontend === 'startup') {
            assert.equal(tx.request, `STARTUP ${z.user} ${z.database}`);
            assert.equal(tx.status, 'OK');
          } else {
            sameText(tx.request, z.frontend_arg, `:${port} #${i}`);
            assert.equal(tx.rows ?? 0, Number(z.rows), `:${port} #${i} rows`);
          }
          assert.equal(tx.error, z.success !== 'T');
        });
      }
    });
  }
});

describe("tshark's dissectors", { skip: why ?? (tshark ? false : 'no tshark') }, () => {
  const cases: [string, 'mysql' | 'pgsql', number][] = [
    ...fs.readdirSync(PACKETBEAT).filter((f) => /^mysql_.*\.pcap$/.test(f) && f !== 'mysql_int_string_operations.pcap').map((f) => [path.join(PACKETBEAT, f), 'mysql', 3306] as [string, 'mysql', number]),
    [path.join(PACKETBEAT, 'mysql_int_string_operations.pcap'), 'mysql', 13001],
    ...fs.readdirSync(PACKETBEAT).filter((f) => /^pgsql_.*\.pcap$/.test(f)).map((f) => [path.join(PACKETBEAT, f), 'pgsql', 5432] as [string, 'pgsql', number]),
    ...fs.readdirSync(ZEEK).filter((f) => /^mysql__.*\.pcap$/.test(f)).map((f) => [path.join(ZEEK, f), 'mysql', 3306] as [string, 'mysql', number]),
    ...fs.readdirSync(ZEEK).filter((f) => /^postgresql__.*\.pcap$/.test(f)).map((f) => [path.join(ZEEK, f), 'pgsql', 5432] as [string, 'pgsql', number]),
  ];
  for (const [file, mode, port] of cases) {
    test(`${path.basename(file)}: every query tshark sees, with the same text and answer`, () => {
      const n = sameAsTshark(file, mode, port, path.basename(file) === 'mysql_with_gap.pcap');
      assert.ok(n > 0, 'tshark sees queries');
    });
  }
});

describe('packetbeat captures: exact results', { skip: why ?? false }, () => {
  test('rows, affected rows and errors as Packetbeat reports them', () => {
    const one = (file: string, mode: 'mysql' | 'pgsql') => {
      const t = run(path.join(PACKETBEAT, file), mode, mode === 'mysql' ? 3306 : 5432);
      assert.equal(t.length, 1, file);
      return t[0];
    };
    const aff = one('mysql_affected_rows.pcap', 'mysql');
    assert.deepEqual([aff.request, aff.status, aff.affected_rows, aff.rows], ['update test set c=""', 'OK 316', 316, null]);
    const err = one('mysql_err_database_not_selected.pcap', 'mysql');
    assert.deepEqual([err.error, err.error_code, err.sqlstate, err.status], [true, 1046, '3D000', '1046']);
    assert.equal(one('mysql_long_result.pcap', 'mysql').rows, 15);
    assert.equal(one('mysql_long.pcap', 'mysql').rows, 400);
    const pgErr = one('pgsql_insert_error.pcap', 'pgsql');
    assert.deepEqual([pgErr.error, pgErr.sqlstate, pgErr.status], [true, '23505', '23505']);
    assert.equal(one('pgsql_long_result.pcap', 'pgsql').rows, 15);
    assert.equal(one('pgsql_request_response.pcap', 'pgsql').rows, 4);
    const ins = one('pgsql_insert.pcap', 'pgsql');
    assert.deepEqual([ins.status, ins.affected_rows, ins.rows], ['INSERT 0 1', 1, null]);
  });
});

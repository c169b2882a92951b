// Runs SQL through the node drivers (mysql2, pg) from the client namespace:
//   node sql-client.js mysql|pgsql HOST PORT < steps.json
// Steps (JSON array), on one connection, in order:
//   {"sql": "...", "params": [...]}      a query (params: a prepared statement:
//                                        mysql2's execute(), pg's named query)
//   {"sql": "...", "compress": true}     (mysql) first step only: the compressed protocol
// Prints one line per step: `rows N`, `affected N` or `error CODE`.
import mysql from 'mysql2/promise';
import pg from 'pg';

interface SqlStep {
  sql: string;
  params?: (string | number)[];
  name?: string;
  compress?: boolean;
}

async function runMysql(host: string, port: number, steps: SqlStep[]): Promise<string[]> {
  const conn = await mysql.createConnection({ host, port, user: 'tk', password: 'tkpw', database: 'shop', compress: steps[0]?.compress === true });
  const out: string[] = [];
  try {
    for (const s of steps) {
      try {
        const [res] = s.params !== undefined ? await conn.execute(s.sql, s.params) : await conn.query(s.sql);
        out.push(Array.isArray(res) ? `rows ${res.length}` : `affected ${(res as { affectedRows: number }).affectedRows}`);
      } catch (e) {
        out.push(`error ${(e as { errno?: number }).errno}`);
      }
    }
  } finally {
    await conn.end();
  }
  return out;
}

async function runPgsql(host: string, port: number, steps: SqlStep[]): Promise<string[]> {
  const client = new pg.Client({ host, port, user: 'tk', database: 'shop' });
  await client.connect();
  const out: string[] = [];
  try {
    for (const s of steps) {
      try {
        const res = s.params !== undefined ? await client.query({ text: s.sql, values: s.params, name: s.name }) : await client.query(s.sql);
        out.push(res.command === 'SELECT' ? `rows ${res.rowCount}` : `affected ${res.rowCount}`);
      } catch (e) {
        out.push(`error ${(e as { code?: string }).code}`);
      }
    }
  } finally {
    await client.end();
  }
  return out;
}

async function main(): Promise<void> {
  const [kind, host, port] = process.argv.slice(2);
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const steps = JSON.parse(input) as SqlStep[];
  const out = kind === 'mysql' ? await runMysql(host, Number(port), steps) : await runPgsql(host, Number(port), steps);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});

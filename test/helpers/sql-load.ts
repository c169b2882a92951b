// A steady SQL load for the benchmark's recordings, from the client namespace:
//   node sql-load.js mysql|pgsql HOST PORT CONNECTIONS QUERIES_EACH
// Each connection, one statement at a time: point SELECTs, a prepared SELECT
// (mysql2's execute: COM_STMT_EXECUTE; pg's named query: Bind/Execute/Sync),
// UPDATEs and INSERTs on a 1000-row table, and an error every 50th.
// Prints `requests=N`: the lines tcpkit prints for it (the logins, each
// statement, and MySQL's one PREPARE per connection).
import mysql from 'mysql2/promise';
import pg from 'pg';

/** One client's statements, whichever the server: plain text, and a prepared one by id. */
interface SqlClient {
  query(sql: string): Promise<unknown>;
  prepared(id: number): Promise<unknown>;
  end(): Promise<unknown>;
}

/** The load's mix on one connection: statement i of n. */
async function statements(c: SqlClient, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const id = (i * 7919) % 1000;
    try {
      switch (i % 5) {
        case 0:
          await c.query(`SELECT id, name, score FROM bench WHERE id = ${id}`);
          break;
        case 1:
          await c.prepared(id);
          break;
        case 2:
          await c.query(`UPDATE bench SET score = score + 1 WHERE id = ${id}`);
          break;
        case 3:
          await c.query(i % 50 === 3 ? 'SELECT nope FROM bench' : `INSERT INTO bench_log (bench_id, note) VALUES (${id}, 'load ${i}')`);
          break;
        default:
          await c.query(`SELECT id, name FROM bench WHERE id BETWEEN ${id} AND ${id + 9}`);
      }
    } catch {
      // the error on purpose
    }
  }
  await c.end();
}

async function mysqlConn(host: string, port: number, n: number): Promise<number> {
  const c = await mysql.createConnection({ host, port, user: 'tk', password: 'tkpw', database: 'shop' });
  await statements({ query: (sql) => c.query(sql), prepared: (id) => c.execute('SELECT id, name FROM bench WHERE id = ?', [id]), end: () => c.end() }, n);
  // The login, each statement, and the one PREPARE.
  return 1 + n + 1;
}

async function pgsqlConn(host: string, port: number, n: number): Promise<number> {
  const c = new pg.Client({ host, port, user: 'tk', database: 'shop' });
  await c.connect();
  await statements({ query: (sql) => c.query(sql), prepared: (id) => c.query({ name: 'byid', text: 'SELECT id, name FROM bench WHERE id = $1', values: [id] }), end: () => c.end() }, n);
  return 1 + n;
}

/** The tables, once, before the recording. */
async function setup(kind: string, host: string, port: number): Promise<void> {
  const rows = Array.from({ length: 1000 }, (_, i) => `(${i}, 'name ${i}', 0)`).join(',');
  if (kind === 'mysql') {
    const c = await mysql.createConnection({ host, port, user: 'tk', password: 'tkpw', database: 'shop', multipleStatements: true });
    await c.query(`DROP TABLE IF EXISTS bench, bench_log; CREATE TABLE bench (id INT PRIMARY KEY, name VARCHAR(40), score INT);
      CREATE TABLE bench_log (n INT AUTO_INCREMENT PRIMARY KEY, bench_id INT, note VARCHAR(40)); INSERT INTO bench VALUES ${rows}`);
    await c.end();
  } else {
    const c = new pg.Client({ host, port, user: 'tk', database: 'shop' });
    await c.connect();
    await c.query(`DROP TABLE IF EXISTS bench, bench_log; CREATE TABLE bench (id int PRIMARY KEY, name text, score int);
      CREATE TABLE bench_log (n serial PRIMARY KEY, bench_id int, note text); INSERT INTO bench VALUES ${rows}`);
    await c.end();
  }
}

async function main(): Promise<void> {
  const [kind, host, port, conns, each] = process.argv.slice(2);
  if (conns === 'setup') {
    await setup(kind, host, Number(port));
    return;
  }
  const one = kind === 'mysql' ? mysqlConn : pgsqlConn;
  const counts = await Promise.all(Array.from({ length: Number(conns) }, () => one(host, Number(port), Number(each))));
  process.stdout.write(`requests=${counts.reduce((a, b) => a + b, 0)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});

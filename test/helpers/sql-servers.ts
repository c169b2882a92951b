// MariaDB and PostgreSQL for the live and recorded tests: each started in a
// Lab's server namespace as the test's own process, with its own data
// directory under the test's temporary directory, listening on the
// namespace's addresses only. The Lab's destroy() stops them (it kills every
// process of its namespaces); the data goes with the temporary directory.
// User `tk` (MariaDB password `tkpw`; PostgreSQL trusts it) owns database `shop`.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync, type ChildProcess } from 'node:child_process';
import type { Lab } from './netns';
import { toolsUnavailable } from './servers';

export const MYSQL_PORT = 3306;
export const PGSQL_PORT = 5432;
const PG_BIN = '/usr/lib/postgresql/15/bin';

/** Why the SQL servers cannot run here, or null. */
export function sqlUnavailable(): string | null {
  return toolsUnavailable(['mariadbd', 'mariadb-install-db', 'mariadb', 'psql', 'runuser', `${PG_BIN}/postgres`]);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function collect(p: ChildProcess): () => string {
  let log = '';
  p.stdout!.on('data', (d) => (log += d));
  p.stderr!.on('data', (d) => (log += d));
  return () => log;
}

function run(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 120_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** A self-signed certificate and its key in `dir` (for the servers' TLS, which tcpkit counts and does not decode). */
function certificate(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'tls.crt');
  const key = path.join(dir, 'tls.key');
  if (!fs.existsSync(cert)) run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=tcpkit-test', '-days', '1', '-keyout', key, '-out', cert]);
  return { cert, key };
}

/** mariadbd on the server host's addresses, TLS offered; `dir` holds its data, socket and log. */
export async function startMariadb(lab: Lab, dir: string): Promise<void> {
  const tls = certificate(dir);
  const data = path.join(dir, 'mariadb');
  const sock = path.join(dir, 'mariadb.sock');
  fs.mkdirSync(data, { recursive: true });
  run('mariadb-install-db', ['--no-defaults', `--datadir=${data}`, '--user=root', '--auth-root-authentication-method=socket', '--skip-test-db']);
  const p = lab.spawn('server', [
    'mariadbd', '--no-defaults', `--datadir=${data}`, `--socket=${sock}`, `--pid-file=${path.join(dir, 'mariadb.pid')}`,
    '--user=root', `--port=${MYSQL_PORT}`, '--bind-address=*', '--skip-name-resolve', '--skip-log-bin',
    `--ssl-cert=${tls.cert}`, `--ssl-key=${tls.key}`, '--innodb-buffer-pool-size=16M', '--innodb-log-file-size=8M', '--performance-schema=OFF', `--log-error=${path.join(dir, 'mariadb.err')}`,
  ]);
  const log = collect(p);
  for (let i = 0; ; i++) {
    if (p.exitCode !== null) throw new Error(`mariadbd exited ${p.exitCode}: ${log()} ${readLog(path.join(dir, 'mariadb.err'))}`);
    const r = spawnSync('ip', ['netns', 'exec', lab.ns.server, 'mariadb', `--socket=${sock}`, '-uroot', '-e', 'SELECT 1'], { encoding: 'utf8' });
    if (r.status === 0) break;
    if (i > 300) throw new Error(`mariadbd did not answer: ${readLog(path.join(dir, 'mariadb.err'))}`);
    await sleep(100);
  }
  lab.exec('server', ['mariadb', `--socket=${sock}`, '-uroot'], "CREATE DATABASE shop; CREATE USER tk@'%' IDENTIFIED BY 'tkpw'; GRANT ALL ON shop.* TO tk@'%';");
}

/** postgres on the server host's addresses, run as the postgres user, TLS offered; `dir` holds its cluster. */
export async function startPostgres(lab: Lab, dir: string): Promise<void> {
  const data = path.join(dir, 'pg');
  // The cluster belongs to postgres, which must reach it through the temporary directory.
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(data, { mode: 0o700 });
  run('chown', ['postgres:postgres', data]);
  const tls = certificate(dir);
  const key = path.join(dir, 'pg-tls.key');
  fs.copyFileSync(tls.key, key);
  fs.chmodSync(key, 0o600);
  run('chown', ['postgres:postgres', key]);
  run('runuser', ['-u', 'postgres', '--', `${PG_BIN}/initdb`, '-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  fs.appendFileSync(path.join(data, 'pg_hba.conf'), 'host all all 0.0.0.0/0 trust\nhost all all ::/0 trust\n');
  const p = lab.spawn('server', [
    'runuser', '-u', 'postgres', '--', `${PG_BIN}/postgres`, '-D', data, '-p', String(PGSQL_PORT), '-k', data,
    '-c', `listen_addresses=${lab.ip4.server},${lab.ip6.server}`, '-c', 'fsync=off', '-c', 'shared_buffers=16MB',
    '-c', 'ssl=on', '-c', `ssl_cert_file=${tls.cert}`, '-c', `ssl_key_file=${key}`,
    // Only FATAL and worse on stderr: a load of statement errors would fill the pipe and stall every backend.
    '-c', 'log_min_messages=fatal', '-c', 'log_min_error_statement=panic',
  ]);
  const log = collect(p);
  for (let i = 0; ; i++) {
    if (p.exitCode !== null) throw new Error(`postgres exited ${p.exitCode}: ${log()}`);
    const r = spawnSync('ip', ['netns', 'exec', lab.ns.server, 'runuser', '-u', 'postgres', '--', 'psql', '-h', data, '-p', String(PGSQL_PORT), '-U', 'postgres', '-Atc', 'SELECT 1'], { encoding: 'utf8' });
    if (r.status === 0) break;
    if (i > 300) throw new Error(`postgres did not answer: ${log()}`);
    await sleep(100);
  }
  lab.exec('server', ['runuser', '-u', 'postgres', '--', 'psql', '-h', data, '-p', String(PGSQL_PORT), '-U', 'postgres', '-q', '-c', 'CREATE ROLE tk LOGIN', '-c', 'CREATE DATABASE shop OWNER tk']);
}

function readLog(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-2000);
  } catch {
    return '';
  }
}

/** Runs steps through a node driver from the client host (see sql-client.ts); one result a line. */
export function sqlClient(lab: Lab, kind: 'mysql' | 'pgsql', host: string, steps: { sql: string; params?: (string | number)[]; name?: string; compress?: boolean }[]): string[] {
  const script = path.join(__dirname, 'sql-client.js');
  const port = kind === 'mysql' ? MYSQL_PORT : PGSQL_PORT;
  return lab.exec('client', [process.execPath, script, kind, host, String(port)], JSON.stringify(steps)).trim().split('\n');
}

/** The mariadb command-line client from the client host: its exit status and output. */
export function mariadbCli(lab: Lab, args: string[], sql: string): { status: number | null; out: string } {
  // In the clear unless the test asks for --ssl (the server offers TLS).
  const ssl = args.includes('--ssl') ? [] : ['--skip-ssl'];
  const r = spawnSync('ip', ['netns', 'exec', lab.ns.client, 'mariadb', '-h', lab.ip4.server, '-P', String(MYSQL_PORT), ...ssl, ...args], { encoding: 'utf8', input: sql, timeout: 60_000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** psql from the client host, in the clear unless a conninfo's sslmode says otherwise: its exit status and output. */
export function psqlCli(lab: Lab, args: string[]): { status: number | null; out: string } {
  const r = spawnSync('ip', ['netns', 'exec', lab.ns.client, 'psql', '-h', lab.ip4.server, '-p', String(PGSQL_PORT), '-X', '-q', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, PGSSLMODE: 'disable' },
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

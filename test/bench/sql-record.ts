// Records the benchmark's MySQL and PostgreSQL captures from real servers:
// MariaDB and PostgreSQL started in a lab's server namespace (as the live
// tests start them), test/helpers/sql-load.ts driving them from the client
// namespace over 8 connections, tcpdump on the server's veth.
//
//   node dist/test/bench/sql-record.js mysql|pgsql FILE MIN_PACKETS
//
// Prints `packets=N requests=N` (requests: the lines tcpkit prints for it).
// Fails when the capture holds fewer than MIN_PACKETS or tcpdump dropped any.
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Lab, tempDir } from '../helpers/netns';
import { MYSQL_PORT, PGSQL_PORT, startMariadb, startPostgres } from '../helpers/sql-servers';

const CONNECTIONS = 8;
/** Packets a statement costs on the wire (its request and its answer, ACKs riding on them), measured: a little over 2. */
const PACKETS_PER_STATEMENT = 2;

/** Records in a pcap file (microsecond or nanosecond, either byte order). */
function countPackets(file: string): number {
  const b = fs.readFileSync(file);
  const le = b.readUInt32LE(0) === 0xa1b2c3d4 || b.readUInt32LE(0) === 0xa1b23c4d;
  let n = 0;
  for (let off = 24; off + 16 <= b.length; n++) off += 16 + (le ? b.readUInt32LE(off + 8) : b.readUInt32BE(off + 8));
  return n;
}

/** Runs a command to its end, its stdout; the event loop goes on meanwhile. */
function runAsync(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

async function main(): Promise<void> {
  const [mode, file, minArg] = process.argv.slice(2);
  if ((mode !== 'mysql' && mode !== 'pgsql') || !file || !minArg) throw new Error('usage: sql-record.js mysql|pgsql FILE MIN_PACKETS');
  const min = Number(minArg);
  const port = mode === 'mysql' ? MYSQL_PORT : PGSQL_PORT;
  const tmp = tempDir('tk-bench-sql-');
  const lab = Lab.create();
  try {
    if (mode === 'mysql') await startMariadb(lab, tmp.dir);
    else await startPostgres(lab, tmp.dir);
    const load = path.join(__dirname, '..', 'helpers', 'sql-load.js');
    lab.exec('client', [process.execPath, load, mode, lab.ip4.server, String(port), 'setup']);
    const each = Math.ceil((min * 1.1) / PACKETS_PER_STATEMENT / CONNECTIONS);
    const dump = await lab.startTcpdump('server', file, `tcp port ${port}`);
    let out: string;
    const t0 = Date.now();
    try {
      // Asynchronously: the servers' output pipes are read meanwhile.
      out = await runAsync('ip', ['netns', 'exec', lab.ns.client, process.execPath, load, mode, lab.ip4.server, String(port), String(CONNECTIONS), String(each)]);
    } finally {
      const err = await dump.stop();
      if (!/^0 packets dropped by kernel$/m.test(err)) throw new Error(`tcpdump dropped packets: ${err}`);
    }
    const packets = countPackets(file);
    if (packets < min) throw new Error(`${file}: ${packets} packets, fewer than ${min}`);
    process.stderr.write(`sql-record: ${each * CONNECTIONS} statements in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    process.stdout.write(`packets=${packets} ${out.trim()}\n`);
  } finally {
    await lab.destroy();
    tmp.remove();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`sql-record: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

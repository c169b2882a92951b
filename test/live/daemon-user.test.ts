// -d with -Z USER (issue 16, item 15): the files tcpkit writes belong to USER,
// so that logrotate's move-then-SIGHUP works, and the pid file is removed at
// exit even though USER may not write its directory. Captures on lo, where
// nothing is sent: it is the files that are tested.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tcpkit } from '../helpers/run';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-daemon-user-'));
// Root's directory, readable by all, writable by root only (as /run and /var/log/tcpkit would be).
fs.chmodSync(dir, 0o755);
after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('item 15: -d -Z nobody: -o and -w belong to nobody, a rotated log is reopened, the pid file goes at exit', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async () => {
  const log = path.join(dir, 'tcpkit.log');
  const pcap = path.join(dir, 'tcpkit.pcap');
  const pidFile = path.join(dir, 'tcpkit.pid');
  const start = tcpkit(['-d', '-o', log, '-w', pcap, '--pid-file', pidFile, '-i', 'lo', '-p', '6398', '-m', 'redis', '-Z', 'nobody']);
  assert.equal(start.code, 0, start.stderr);
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  try {
    assert.equal(fs.statSync(log).uid, 65534, '-o belongs to nobody');
    assert.equal(fs.statSync(pcap).uid, 65534, '-w belongs to nobody');
    // logrotate: move the log, create a new one like it (its `create` directive), then SIGHUP.
    const old = fs.statSync(log);
    fs.renameSync(log, `${log}.1`);
    fs.writeFileSync(log, '', { mode: old.mode & 0o777 });
    fs.chownSync(log, old.uid, old.gid);
    process.kill(pid, 'SIGHUP');
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    process.kill(pid, 'SIGTERM');
  }
  await until('the pid file to go', () => !fs.existsSync(pidFile));
  // The summary went to the new file: it was opened again as nobody.
  await until('the summary', () => /^tcpkit: libpcap lo: /m.test(fs.readFileSync(log, 'utf8')));
  assert.doesNotMatch(fs.readFileSync(`${log}.1`, 'utf8'), /cannot reopen/);
});

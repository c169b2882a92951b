// tcpkit as contrib/tcpkit@.service runs it: the installed release, not as
// root, with exactly the capabilities the unit grants and no_new_privs. With
// them --ebpf captures a namespace's Redis traffic and -P serves /metrics
// with every metric the alert rules use; libpcap captures with CAP_NET_RAW
// alone. The unit file itself is started under systemd where systemd runs,
// and checked by systemd-analyze verify where it does not (a container).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { buildRelease, installRelease, type Installed } from '../helpers/release';
import { ROOT, parseLines } from '../helpers/run';
import { Lab, labUnavailable, RunningTcpkit, type Commands } from '../helpers/netns';

const UNIT = path.join(ROOT, 'contrib', 'tcpkit@.service');
const ALERTS = path.join(ROOT, 'contrib', 'tcpkit-alerts.yml');
const NOBODY = 65534;
const STATS_PORT = 9379;

/** Capability bit numbers (linux/capability.h) of the names a unit may list. */
const CAP_BITS: Record<string, number> = { CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_SYS_ADMIN: 21, CAP_PERFMON: 38, CAP_BPF: 39 };

/** The value of `key=` in the unit (the last one, as systemd reads it). */
function unitSetting(unit: string, key: string): string | undefined {
  const all = [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))];
  return all.length === 0 ? undefined : all[all.length - 1][1].trim();
}

function capMask(names: string[]): bigint {
  return names.reduce((m, n) => m | (1n << BigInt(CAP_BITS[n])), 0n);
}

/** setpriv: this user, these capabilities (inheritable, ambient, bounding), no_new_privs. */
function asUnit(caps: string[]): string[] {
  const list = caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`).join(',');
  return [
    'setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--no-new-privs',
    `--inh-caps=-all,${list}`, `--ambient-caps=-all,${list}`, `--bounding-set=-all,${list}`, '--',
  ];
}

function statusField(pid: number, field: string): string {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(status)![1].trim();
}

const unit = fs.readFileSync(UNIT, 'utf8');
const UNIT_CAPS = (unitSetting(unit, 'AmbientCapabilities') ?? '').split(/\s+/).filter(Boolean);

test('the unit: a dynamic unprivileged user, three capabilities, no_new_privs, read-only system, restarts on failure', () => {
  assert.deepEqual(UNIT_CAPS, ['CAP_BPF', 'CAP_PERFMON', 'CAP_NET_RAW']);
  assert.equal(unitSetting(unit, 'CapabilityBoundingSet'), UNIT_CAPS.join(' '));
  assert.equal(unitSetting(unit, 'DynamicUser'), 'yes');
  assert.equal(unitSetting(unit, 'User'), 'tcpkit');
  assert.equal(unitSetting(unit, 'NoNewPrivileges'), 'yes');
  assert.equal(unitSetting(unit, 'ProtectSystem'), 'strict');
  assert.equal(unitSetting(unit, 'Restart'), 'on-failure');
  assert.equal(unitSetting(unit, 'EnvironmentFile'), '/etc/default/tcpkit-%i');
  assert.equal(unitSetting(unit, 'ExecStart'), 'tcpkit $TCPKIT_ARGS');
  const defaults = fs.readFileSync(path.join(ROOT, 'contrib', 'tcpkit.default'), 'utf8');
  assert.match(unitSetting(defaults, 'TCPKIT_ARGS')!, / -P \d+/);
});

const why = labUnavailable() ?? (spawnSync('sh', ['-c', 'command -v setpriv && command -v curl']).status === 0 ? null : 'setpriv or curl is missing');
if (why) process.stdout.write(`# service: skipped, ${why}\n`);

describe('the installed tcpkit with the unit\'s capabilities, as an unprivileged user', { skip: why ?? false }, () => {
  let installed: Installed;
  let lab: Lab;
  const session: Commands = [['SET', 'k', 'v'], ['GET', 'k'], ['GET', 'k'], ['INCR', 'n'], ['DEL', 'k']];
  const expected = session.map((c) => c.join(' '));

  before(async () => {
    buildRelease();
    installed = installRelease();
    lab = Lab.create();
    await lab.startRedis();
  });

  after(async () => {
    await lab?.destroy();
    installed?.remove();
  });

  async function capture(caps: string[], args: string[], during: (tk: RunningTcpkit) => void = () => {}) {
    const argv = ['ip', 'netns', 'exec', lab.ns.server, ...asUnit(caps), 'env', `PATH=${installed.path}`, 'TZ=UTC', installed.bin, ...args];
    const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const tk = new RunningTcpkit(proc);
    let code: number | null;
    try {
      await tk.ready();
      // What the process holds once capturing: the user, the capabilities, no more.
      const mask = capMask(caps).toString(16).padStart(16, '0');
      assert.deepEqual(statusField(proc.pid!, 'Uid').split(/\s+/).map(Number), [NOBODY, NOBODY, NOBODY, NOBODY]);
      for (const set of ['CapEff', 'CapPrm', 'CapAmb', 'CapBnd']) assert.equal(statusField(proc.pid!, set), mask, set);
      assert.equal(statusField(proc.pid!, 'NoNewPrivs'), '1');
      assert.equal(lab.redis(session), session.length);
      during(tk);
    } finally {
      code = await tk.stop('SIGTERM');
    }
    assert.equal(code, 0, tk.stderr);
    return tk;
  }

  test('--ebpf captures every request, and -P serves /metrics with every metric the alert rules use', async () => {
    let metrics = '';
    const tk = await capture(UNIT_CAPS, ['--ebpf', '-i', lab.dev.server, '-p', '6379', '-m', 'redis', '-P', String(STATS_PORT)], () => {
      // The last reply is in once the client returns; give the batch its 20 ms to arrive.
      spawnSync('sleep', ['0.3']);
      metrics = lab.exec('server', ['curl', '-sS', '--max-time', '5', `http://127.0.0.1:${STATS_PORT}/metrics`]);
    });
    assert.match(tk.stderr, new RegExp(`^tcpkit: capturing with eBPF on ${lab.dev.server}`, 'm'));
    assert.deepEqual(parseLines(tk.stdout).map((l) => l.request), expected);
    assert.match(metrics, /^tcpkit_info\{version="[^"]+",mode="redis",engine="ebpf"\} 1$/m);
    const requests = (command: string) => Number(new RegExp(`^tcpkit_requests_total\\{port="6379",command="${command}"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
    assert.deepEqual(['SET', 'GET', 'INCR', 'DEL'].map(requests), [1, 2, 1, 1]);
    assert.match(metrics, /^tcpkit_packets_lost_total 0$/m);
    const used = new Set(fs.readFileSync(ALERTS, 'utf8').match(/\btcpkit_\w+/g));
    assert.ok(used.size >= 2, [...used].join(' '));
    for (const name of used) assert.match(metrics, new RegExp(`^${name}(\\{| )`, 'm'), `${name} is served`);
  });

  test('libpcap captures every request with CAP_NET_RAW alone', async () => {
    const tk = await capture(['CAP_NET_RAW'], ['-i', lab.dev.server, '-p', '6379', '-m', 'redis']);
    assert.match(tk.stderr, new RegExp(`^tcpkit: capturing with libpcap on ${lab.dev.server}`, 'm'));
    assert.deepEqual(parseLines(tk.stdout).map((l) => l.request), expected);
  });

  const systemd = fs.existsSync('/run/systemd/system');
  test(systemd ? 'the unit, started by systemd, serves /metrics' : 'the unit passes systemd-analyze verify (systemd does not run here)', () => {
    const name = `tcpkit-test-${process.pid}`;
    const text = unit.replace(/^ExecStart=tcpkit /m, `ExecStart=${installed.bin} `);
    if (!systemd) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-unit-'));
      try {
        // An instance, with ExecStart where this test installed tcpkit: verify checks that it is executable.
        const file = path.join(dir, `${name}@redis.service`);
        fs.writeFileSync(file, text);
        const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stderr, '', 'no warning');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      return;
    }
    // systemd runs: the unit itself, from /run (gone at reboot), on loopback.
    const unitFile = `/run/systemd/system/${name}@.service`;
    const env = `/etc/default/tcpkit-${name}`;
    const port = 20000 + (process.pid % 10000);
    fs.writeFileSync(unitFile, text.replace('/etc/default/tcpkit-%i', env));
    fs.writeFileSync(env, `TCPKIT_ARGS=--ebpf -i lo -p 6379 -m redis -P ${port}\n`);
    try {
      spawnSync('systemctl', ['daemon-reload']);
      const start = spawnSync('systemctl', ['start', `${name}@x.service`], { encoding: 'utf8' });
      assert.equal(start.status, 0, start.stderr);
      let metrics = '';
      for (let i = 0; i < 50 && !metrics.includes('tcpkit_info'); i++) {
        spawnSync('sleep', ['0.1']);
        metrics = spawnSync('curl', ['-s', '--max-time', '2', `http://127.0.0.1:${port}/metrics`], { encoding: 'utf8' }).stdout;
      }
      assert.match(metrics, /^tcpkit_info\{version="[^"]+",mode="redis",engine="ebpf"\} 1$/m);
      const mainPid = spawnSync('systemctl', ['show', '-p', 'MainPID', '--value', `${name}@x.service`], { encoding: 'utf8' }).stdout.trim();
      assert.notEqual(statusField(Number(mainPid), 'Uid').split(/\s+/)[0], '0');
    } finally {
      spawnSync('systemctl', ['stop', `${name}@x.service`]);
      fs.rmSync(unitFile, { force: true });
      fs.rmSync(env, { force: true });
      spawnSync('systemctl', ['daemon-reload']);
    }
  });
});

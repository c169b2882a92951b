// tcpkit --top -r on a recorded capture, in a real terminal (tmux): the final
// screen's figures since the start are the exit summary's, at file speed and
// as fast as possible; resizing redraws, a terminal too small says so; q and
// Ctrl-C give the terminal back as it was.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, FIXTURES, ROOT } from '../helpers/run';
import { Tmux, tmuxUnavailable } from '../helpers/tmux';
import { headerRates, slowRows, summaryTable, tableRows } from '../helpers/top-screen';

const why = tmuxUnavailable();
if (why) process.stdout.write(`# top-replay: skipped, ${why}\n`);

const DEMO = path.join(FIXTURES, 'redis-demo.pcap');
const ENV = { LANG: 'C.UTF-8', TZ: 'UTC', TERM: 'xterm-256color' };

describe('tcpkit --top -r in a terminal', { skip: why ?? false }, () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-top-r-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Runs tcpkit in a tmux pane, its stderr and exit code to files, the terminal's settings before and after. */
  function start(name: string, args: string[], width = 160, height = 50) {
    const f = (x: string) => path.join(dir, `${name}.${x}`);
    const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    // The shell stays (sleep) so that the pane's state after tcpkit is what a user's shell would have.
    const cmd = `cd ${q(ROOT)}; stty -g > ${f('before')}; ${q(process.execPath)} ${q(CLI)} ${args.map(q).join(' ')} 2> ${f('err')}; echo $? > ${f('rc.tmp')}; stty -g > ${f('after')}; mv ${f('rc.tmp')} ${f('rc')}; sleep 120`;
    const tmux = new Tmux(cmd, width, height, ENV);
    return {
      tmux,
      ended: async () => {
        for (let i = 0; i < 100 && !fs.existsSync(f('rc')); i++) await new Promise((r) => setTimeout(r, 100));
        if (!fs.existsSync(f('rc'))) throw new Error(`tcpkit did not exit; the screen:\n${tmux.screen().join('\n')}`);
      },
      result: () => ({
        code: Number(fs.readFileSync(f('rc'), 'utf8')),
        stderr: fs.readFileSync(f('err'), 'utf8'),
        sttyBefore: fs.readFileSync(f('before'), 'utf8'),
        sttyAfter: fs.readFileSync(f('after'), 'utf8'),
      }),
    };
  }

  function restored(tmux: Tmux, r: { sttyBefore: string; sttyAfter: string }): void {
    assert.equal(tmux.display('#{alternate_on}'), '0', 'no alternate screen left');
    assert.equal(tmux.display('#{cursor_flag}'), '1', 'the cursor is visible');
    assert.equal(tmux.display('#{wrap_flag}'), '1', 'autowrap is back on');
    assert.equal(r.sttyAfter, r.sttyBefore, 'the terminal settings (raw mode off, echo on) are as before');
  }

  for (const speed of ['as fast as possible', 'at file speed']) {
    test(`${speed}: the final screen's figures are the summary's; q gives the terminal back`, async () => {
      const args = ['--top', '-r', DEMO, '-p', '6379', '-m', 'redis', ...(speed === 'at file speed' ? [] : ['--top-speed'])];
      const { tmux, result, ended } = start(speed === 'at file speed' ? 'paced' : 'fast', args);
      try {
        const screen = await tmux.waitFor('the end of the file', (s) => /end of .*redis-demo\.pcap: q quits$/.test(s[s.length - 1]));
        assert.match(screen[0], new RegExp(`^tcpkit --top \\| .*redis-demo\\.pcap at ${speed === 'at file speed' ? 'file speed' : 'fast'}, 100% read \\| redis on port 6379 .*capture time \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d$`));
        assert.equal(tmux.display('#{alternate_on}'), '1', 'the view is on the alternate screen');
        assert.equal(tmux.display('#{cursor_flag}'), '0', 'with the cursor hidden');
        const rows = tableRows(screen);
        const slow = slowRows(screen);
        const header = headerRates(screen);
        tmux.keys('q');
        await ended();
        const r = result();
        assert.equal(r.code, 0, r.stderr);
        restored(tmux, r);
        // The summary, printed once the view is gone.
        assert.match(r.stderr, /^requests: 22 answered \(1 errors?\), 0 without response/m);
        assert.equal(header.requests, 22);
        assert.equal(header.packets, 57);
        const summary = summaryTable(r.stderr);
        assert.deepEqual(rows.map((x) => x.name).sort(), [...summary.keys()].sort());
        for (const row of rows) {
          const [requests, errors, noResp, , p50, , p99, p999, max] = summary.get(row.name)!;
          assert.deepEqual(row.since, [requests, errors, noResp, p50, p99, p999, max], row.name);
        }
        assert.equal(rows[0].name, 'DEBUG', 'sorted by p99: DEBUG SLEEP first');
        assert.deepEqual([slow[0].request, slow[0].latency], ['DEBUG SLEEP 0.03', summary.get('DEBUG')![8]]);
      } finally {
        tmux.kill();
      }
    });
  }

  test('resizing redraws; a terminal too small says so; Ctrl-C at the end gives the terminal back', async () => {
    const { tmux, result, ended } = start('resize', ['--top', '--top-speed', '-r', DEMO, '-p', '6379', '-m', 'redis']);
    try {
      await tmux.waitFor('the end of the file', (s) => /q quits$/.test(s[s.length - 1]));
      tmux.resize(60, 12);
      let screen = await tmux.waitFor('the size message', (s) => s[0].startsWith('terminal too small'));
      assert.equal(screen[0], 'terminal too small (60x12): tcpkit --top needs at least 72x1');
      assert.equal(screen[1], 'q quits');
      tmux.resize(100, 30);
      screen = await tmux.waitFor('the view again', (s) => s[0].startsWith('tcpkit --top'));
      assert.equal(screen.length, 30);
      assert.match(screen[29], /^q quit  space pause/);
      assert.equal(screen[0].length, 100, 'the title spans the new width');
      tmux.keys('C-c');
      await ended();
      const r = result();
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^requests: 22 answered/m);
      restored(tmux, r);
    } finally {
      tmux.kill();
    }
  });
});

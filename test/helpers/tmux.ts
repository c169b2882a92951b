// A terminal for tests that read what a person would see: a tmux server of
// the test's own (its own socket, so nothing else's sessions are touched),
// one session running a shell command, send-keys to type, capture-pane to
// read the screen, and the pane's flags (alternate screen, cursor) to check
// what a program left behind.
import { spawnSync } from 'node:child_process';

export function tmuxUnavailable(): string | null {
  return spawnSync('sh', ['-c', 'command -v tmux']).status === 0 ? null : 'tmux is not installed (make setup)';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class Tmux {
  private readonly socket = `tk-test-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  private readonly session = 'tk';

  /** Starts `command` (run by sh) in a detached session of `width` x `height`. */
  constructor(command: string, width: number, height: number, env: Record<string, string> = {}) {
    const sets = Object.entries(env).map(([k, v]) => `export ${k}='${v.replace(/'/g, `'\\''`)}'; `).join('');
    this.tmux(['-u', 'new-session', '-d', '-s', this.session, '-x', String(width), '-y', String(height), `${sets}${command}`]);
    // Keep the pane (and its last screen) once the command ends.
    this.tmux(['set-option', '-t', this.session, 'remain-on-exit', 'on']);
  }

  private tmux(args: string[]): string {
    const r = spawnSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** The screen as text, one string per row, trailing spaces dropped. */
  screen(): string[] {
    const rows = this.tmux(['capture-pane', '-p', '-t', this.session]).split('\n').map((l) => l.trimEnd());
    // Every row ends in a newline: the last split is empty.
    if (rows[rows.length - 1] === '') rows.pop();
    return rows;
  }

  /** Polls the screen until `test` accepts it; the last screen in the error when it never does. */
  async waitFor(what: string, test: (rows: string[]) => boolean, timeoutMs = 10_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    let rows = this.screen();
    while (!test(rows)) {
      if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}; the screen:\n${rows.join('\n')}`);
      await sleep(100);
      rows = this.screen();
    }
    return rows;
  }

  /** Types keys (tmux key names: 'q', 'Space', 'C-c'). */
  keys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', this.session, ...keys]);
  }

  resize(width: number, height: number): void {
    this.tmux(['resize-window', '-t', this.session, '-x', String(width), '-y', String(height)]);
  }

  /** A tmux format for the pane: '#{alternate_on}', '#{cursor_flag}', '#{pane_dead}'. */
  display(format: string): string {
    return this.tmux(['display-message', '-p', '-t', this.session, format]).trim();
  }

  kill(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server'], { stdio: 'ignore' });
  }
}

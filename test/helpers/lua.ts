// Runs Lua through tcpkit's script host, in-process: the script's output and
// its error lines as strings.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LuaHost, type LuaHostOptions } from '../../src/lua/host';
import type { Mode } from '../../src/cli/config';

/** What a script printed, gathered as the writer would write it. */
export class Collected {
  private readonly parts: Buffer[] = [];
  closed = false;
  writeBytes(bytes: Uint8Array): void {
    this.parts.push(Buffer.from(bytes));
  }
  writeByte(b: number): void {
    this.parts.push(Buffer.from([b]));
  }
  flush(): void {}
  close(): void {
    this.closed = true;
  }
  text(): string {
    return Buffer.concat(this.parts).toString('latin1');
  }
}

export interface LoadedScript {
  host: LuaHost;
  out: Collected;
  errors: string[];
}

/** Loads `source` as a script file (in a temp dir, removed again) into a host. */
export function loadLua(source: string, mode: Mode = 'raw', options: LuaHostOptions = {}): LoadedScript {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-lua-'));
  const file = path.join(dir, 'script.lua');
  fs.writeFileSync(file, source);
  const out = new Collected();
  const errors: string[] = [];
  try {
    const host = LuaHost.open(file, out, mode, { stderr: (line) => errors.push(line), ...options });
    return { host, out, errors };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a script's top level; returns what it printed. */
export function runLua(source: string): string {
  const { out, errors } = loadLua(`${source}\nfunction process() end\n`);
  if (errors.length > 0) throw new Error(errors.join(''));
  return out.text();
}

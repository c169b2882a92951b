// The release as a production host gets it: `make release` builds the
// tarball, and npm installs it into a fresh prefix with a PATH on which no
// compiler, make or python can be found, a fresh npm cache, and a registry
// that does not answer. Whatever the package needed to build or fetch would
// fail there, so an install that succeeds proves it needs neither.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './run';

export const VERSION: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
export const TARBALL = path.join(ROOT, 'release', `tcpkit-${VERSION}-linux-${process.arch}.tgz`);

/** What a build-free host lacks: compilers, make, python, node-gyp, the linker and assembler. */
const BUILD_TOOL = /^(?:[\w.-]+-)?(?:cc|c\+\+|cpp|gcc|g\+\+|clang|clang\+\+|make|gmake|cmake|ld|ld\.\w+|as|python|python\d[\d.]*|node-gyp)(?:-[\d.]+)?$/;

export function isBuildTool(name: string): boolean {
  return BUILD_TOOL.test(name);
}

export interface Installed {
  /** The prefix npm installed into (world-readable, so an unprivileged user can run it). */
  prefix: string;
  /** prefix/bin/tcpkit, the command npm made. */
  bin: string;
  /** Where the package landed. */
  packageDir: string;
  /** The PATH without build tools: the PATH tcpkit is run with. */
  path: string;
  installMs: number;
  npmOutput: string;
  remove(): void;
}

/**
 * make release, from what is built now: the tarball is made afresh, and make
 * is told not to rebuild the addon or dist/ (the tests run from dist/, and a
 * rebuild wipes it first).
 */
export function buildRelease(): void {
  fs.rmSync(TARBALL, { force: true });
  const r = spawnSync('make', ['-C', ROOT, '-o', 'dist/.built', '-o', 'build/Release/tcpkit.node', 'release'], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`make release exited ${r.status}: ${r.stdout}${r.stderr}`);
  if (!fs.existsSync(TARBALL)) throw new Error(`make release made no ${TARBALL}`);
}

/** A directory of links to every command on PATH (and in the sbin directories) but the build tools. */
function pathWithoutBuildTools(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const linked = new Set<string>();
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    let names: string[];
    try {
      names = fs.readdirSync(d);
    } catch {
      continue;
    }
    for (const name of names) {
      const link = path.join(dir, name);
      if (isBuildTool(name) || linked.has(name)) continue;
      linked.add(name);
      fs.symlinkSync(path.join(d, name), link);
    }
  }
  return dir;
}

/** Installs the tarball into a fresh prefix under a temporary directory. */
export function installRelease(): Installed {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-release-'));
  fs.chmodSync(root, 0o755);
  const prefix = path.join(root, 'prefix');
  const pathDir = pathWithoutBuildTools(path.join(root, 'path'));
  const started = process.hrtime.bigint();
  const r = spawnSync('npm', ['install', '--global', '--prefix', prefix, TARBALL], {
    encoding: 'utf8',
    timeout: 300_000,
    env: {
      HOME: path.join(root, 'home'),
      PATH: pathDir,
      npm_config_cache: path.join(root, 'npm-cache'),
      npm_config_registry: 'http://127.0.0.1:9/',
      npm_config_fetch_retries: '0',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
      npm_config_loglevel: 'warn',
    },
  });
  const installMs = Number(process.hrtime.bigint() - started) / 1e6;
  const remove = (): void => fs.rmSync(root, { recursive: true, force: true });
  if (r.status !== 0) {
    remove();
    throw new Error(`npm install -g exited ${r.status}: ${r.stdout}${r.stderr}`);
  }
  fs.chmodSync(prefix, 0o755);
  return {
    prefix,
    bin: path.join(prefix, 'bin', 'tcpkit'),
    packageDir: path.join(prefix, 'lib', 'node_modules', 'tcpkit'),
    path: pathDir,
    installMs,
    npmOutput: r.stdout + r.stderr,
    remove,
  };
}

/** Runs the installed tcpkit with the build-free PATH. */
export function runInstalled(installed: Installed, args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(installed.bin, args, {
    encoding: 'utf8',
    timeout: 120_000,
    env: { PATH: installed.path, TZ: 'UTC', ...env },
  });
}

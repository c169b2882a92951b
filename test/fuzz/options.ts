// What the long fuzz runs share: their command-line options, and the real
// captures they damage besides the synthetic ones.
import fs from 'node:fs';
import path from 'node:path';
import { CORPUS, FIXTURES } from '../helpers/run';

/** `--name value` from the command line, or the default. */
export function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

/** test/fixtures' captures and, when it exists, ../shared/corpus's (at most 2 MB each). */
export function corpusCaptures(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(pcap|pcapng|cap)$/.test(e.name) && fs.statSync(p).size <= 2 << 20) found.push(p);
    }
  };
  walk(FIXTURES);
  walk(CORPUS);
  return found.sort();
}

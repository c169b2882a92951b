// Steady traffic at a known rate, run as a script inside a test namespace:
//
//   node paced-client.js HOST PORT PER_SECOND   < requests.json
//
// requests.json is [{ "send": "...", "expect": "..." }, ...]. One connection;
// request i is written at i / PER_SECOND seconds (at once when behind), and
// the next waits for exactly `expect` back. Prints the number of answers and
// the seconds it took; exits 1 on a wrong answer or a timeout.
import net from 'node:net';

async function main(): Promise<void> {
  const [host, port, perSecond] = process.argv.slice(2);
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const requests = JSON.parse(input) as { send: string; expect: string }[];
  const sock = net.connect({ host, port: Number(port) });
  sock.setNoDelay(true);
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  let buf = '';
  let waiting: (() => void) | null = null;
  sock.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    waiting?.();
  });
  const every = 1000 / Number(perSecond);
  const start = Date.now();
  for (let i = 0; i < requests.length; i++) {
    const due = start + i * every;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    const { send, expect } = requests[i];
    sock.write(send);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer to request ${i}`)), 10_000);
      const check = () => {
        if (buf.length < expect.length) return;
        clearTimeout(t);
        waiting = null;
        if (buf !== expect) reject(new Error(`request ${i}: expected ${JSON.stringify(expect)}, got ${JSON.stringify(buf)}`));
        buf = '';
        resolve();
      };
      waiting = check;
      check();
    });
  }
  const took = (Date.now() - start) / 1000;
  sock.end();
  await new Promise<void>((resolve) => sock.once('close', () => resolve()));
  process.stdout.write(`${requests.length} ${took.toFixed(3)}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`paced-client: ${e.message}\n`);
  process.exit(1);
});

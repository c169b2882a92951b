// -S on a live capture, with both engines: the script gets the handshake,
// the FINs and the pure ACKs too (the eBPF program keeps those in the kernel
// unless raw mode or a script asks for them), and the requests with their data.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Lab, labUnavailable, tempDir, type Commands } from '../helpers/netns';

const why = labUnavailable();
if (why) process.stdout.write(`# lua-live: skipped, ${why}\n`);

const session: Commands = [
  ['SET', 'k', 'v'],
  ['GET', 'k'],
  ['DEL', 'k'],
];

const COUNTER = `
local count = { syn = 0, synack = 0, fin = 0, pure_ack = 0, requests = 0, responses = 0 }
function process(p)
  if p.flags == 2 then count.syn = count.syn + 1
  elseif p.flags == 18 then count.synack = count.synack + 1
  elseif bit32.btest(p.flags, 1) then count.fin = count.fin + 1
  elseif p.size == 0 then count.pure_ack = count.pure_ack + 1
  elseif p.request then count.requests = count.requests + 1
  else count.responses = count.responses + 1 end
end
function process_end()
  print(string.format("syn=%d synack=%d fin=%d requests=%d responses=%d pure_ack>0=%s",
    count.syn, count.synack, count.fin, count.requests, count.responses, tostring(count.pure_ack > 0)))
end
`;

// Counts each byte of the stream once: under load TCP may retransmit a
// segment, and the script sees the copy too (a whole packet, as it should).
// Segments may also pass the tap out of order: veth queues a packet on the
// sending CPU's backlog, and a sender that moves between CPUs can have a later
// segment handled first. So each direction keeps the ranges it saw, relative
// to its first sequence number, and counts their union at the end.
const BYTES = `
local seen, base, cut = { [true] = {}, [false] = {} }, {}, 0
function process(p)
  local n = #p.payload
  if n ~= p.size then cut = cut + 1 end
  if n == 0 then return end
  local dir = p.request and true or false
  if base[dir] == nil then base[dir] = p.seq end
  local rel = (p.seq - base[dir]) % 4294967296
  if rel >= 2147483648 then rel = rel - 4294967296 end
  table.insert(seen[dir], { rel, rel + n })
end
local function union(ranges)
  table.sort(ranges, function(a, b) return a[1] < b[1] end)
  local total, high = 0, nil
  for _, r in ipairs(ranges) do
    if high == nil or r[1] >= high then
      total = total + (r[2] - r[1])
      high = r[2]
    elseif r[2] > high then
      total = total + (r[2] - high)
      high = r[2]
    end
  end
  return total
end
function process_end()
  print(string.format("request bytes=%d response bytes=%d packets cut=%d", union(seen[true]), union(seen[false]), cut))
end
`;

describe('a Lua script on a live capture', { skip: why ?? false }, () => {
  let lab: Lab;
  let tmp: ReturnType<typeof tempDir>;
  let script: string;

  before(async () => {
    tmp = tempDir('tk-lua-live-');
    script = path.join(tmp.dir, 'count.lua');
    fs.writeFileSync(script, COUNTER);
    fs.writeFileSync(path.join(tmp.dir, 'bytes.lua'), BYTES);
    lab = Lab.create();
    await lab.startRedis();
  });

  after(async () => {
    await lab?.destroy();
    tmp?.remove();
  });

  for (const engine of ['ebpf', 'libpcap'] as const) {
    for (const mode of [[], ['-m', 'redis']]) {
      test(`${engine === 'ebpf' ? 'eBPF' : 'libpcap'}, ${mode.length ? '-m redis' : 'raw'}: every packet of a connection reaches process(), handshake and FINs included`, async () => {
        const tk = await lab.tcpkit('server', [...(engine === 'ebpf' ? ['--ebpf'] : []), '-i', lab.dev.server, '-p', '6379', ...mode, '-S', script]);
        let code: number | null;
        try {
          assert.equal(lab.redis(session), session.length);
        } finally {
          code = await tk.stop('SIGINT');
        }
        assert.equal(code, 0, tk.stderr);
        if (engine === 'ebpf') assert.match(tk.stderr, /capturing with eBPF/);
        // One connection: its SYN, SYN+ACK, a FIN each way; one packet per request and per reply.
        assert.equal(tk.stdout, `syn=1 synack=1 fin=2 requests=${session.length} responses=${session.length} pure_ack>0=true\n`);
        if (mode.length) assert.match(tk.stderr, new RegExp(`requests: ${session.length} answered`));
      });
    }
  }

  for (const engine of ['ebpf', 'libpcap'] as const) {
    test(`${engine === 'ebpf' ? 'eBPF' : 'libpcap'}: -S gets whole packets, every byte of a 200 KB SET and its GET`, async () => {
      const value = 'x'.repeat(200_000);
      const big: Commands = [['SET', 'big', value], ['GET', 'big'], ['DEL', 'big']];
      const tk = await lab.tcpkit('server', [...(engine === 'ebpf' ? ['--ebpf'] : []), '-i', lab.dev.server, '-p', '6379', '-m', 'redis', '-S', path.join(tmp.dir, 'bytes.lua')]);
      let code: number | null;
      try {
        assert.equal(lab.redis(big), big.length);
      } finally {
        code = await tk.stop('SIGINT');
      }
      assert.equal(code, 0, tk.stderr);
      const resp = (args: string[]) => `*${args.length}\r\n` + args.map((a) => `$${a.length}\r\n${a}\r\n`).join('');
      const requestBytes = big.reduce((n, c) => n + resp(c).length, 0);
      const responseBytes = '+OK\r\n'.length + `$${value.length}\r\n${value}\r\n`.length + ':1\r\n'.length;
      assert.equal(tk.stdout, `request bytes=${requestBytes} response bytes=${responseBytes} packets cut=0\n`, tk.stderr);
    });
  }
});

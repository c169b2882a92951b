// make bench's table has offline MySQL and PostgreSQL rows: packets/s on the
// recorded captures beside tcpdump and tshark, with tcpkit's ratio to tshark.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResults, renderTable } from '../bench/table';

function row(table: string, measure: string): string[] {
  const line = table.split('\n').find((l) => l.startsWith(`| ${measure}`));
  assert.ok(line, `no row '${measure}' in:\n${table}`);
  return line.slice(2, -2).split(' | ');
}

test('the offline mysql and pgsql rows: packets/s, tcpdump and tshark beside, the ratio to tshark', () => {
  for (const w of ['mysql', 'pgsql']) {
    const r = parseResults(
      [
        `offline.${w}.packets=520000`, `offline.${w}.requests=260000`, `offline.${w}.lines=260000`, `offline.${w}.load=recorded`,
        `offline.${w}.tcpkit_s=2`, `offline.${w}.loop_s=1.6`, `offline.${w}.tcpdump_s=1.3`, `offline.${w}.tshark_s=26`, `part.offline-${w}=ok`,
      ].join('\n'),
    );
    const cells = row(renderTable(r), `offline ${w}: \`tcpkit -r -m ${w} -o FILE\`, 520,000 packets (recorded); 260,000 lines for 260,000 requests`);
    assert.equal(cells[1], '260,000 packets/s');
    assert.equal(cells[2], `\`tcpdump -nn -r\` 400,000/s; \`tshark -r -Y ${w}\` 20,000/s (tcpkit 13.0x tshark); tcpkit's packet loop alone 325,000/s (1.60 of 2.00 s; the rest is start-up)`);
  }
});

test('an offline sql row without figures says why', () => {
  const cells = row(renderTable(parseResults('part.offline-pgsql=failed (exit 1), see its log')), 'offline pgsql: `tcpkit -r -m pgsql -o FILE`');
  assert.equal(cells[1], 'failed (exit 1), see its log');
});

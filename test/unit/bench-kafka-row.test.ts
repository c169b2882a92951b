// make bench's table has an offline Kafka row: packets/s on the synthesized
// capture beside tcpdump and tshark -Y kafka, or why it has no figure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResults, renderTable } from '../bench/table';

function row(table: string, measure: string): string[] {
  const line = table.split('\n').find((l) => l.startsWith(`| ${measure}`));
  assert.ok(line, `no row '${measure}' in:\n${table}`);
  return line.slice(2, -2).split(' | ');
}

test('the offline kafka row: packets/s beside tcpdump and tshark', () => {
  const r = parseResults(
    [
      'offline.kafka.packets=600000', 'offline.kafka.requests=200000', 'offline.kafka.lines=200000', 'offline.kafka.load=synthesized',
      'offline.kafka.tcpkit_s=2', 'offline.kafka.loop_s=1.5', 'offline.kafka.tcpdump_s=3', 'offline.kafka.tshark_s=15', 'part.offline-kafka=ok',
    ].join('\n'),
  );
  const cells = row(renderTable(r), 'offline kafka: `tcpkit -r -m kafka -o FILE`, 600,000 packets (synthesized); 200,000 lines for 200,000 requests');
  assert.equal(cells[1], '300,000 packets/s');
  assert.match(cells[2], /^`tcpdump -nn -r` 200,000\/s; `tshark -r -Y kafka` 40,000\/s; tcpkit's packet loop alone 400,000\/s/);
});

test('the offline kafka row says why it has no figure', () => {
  const cells = row(renderTable(parseResults('part.offline-kafka=skipped (BENCH_PARTS)')), 'offline kafka: `tcpkit -r -m kafka -o FILE`');
  assert.equal(cells[1], 'skipped (BENCH_PARTS)');
});

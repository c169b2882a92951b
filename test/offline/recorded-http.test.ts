// Captures the suite records itself from a real nginx: two network namespaces
// joined by a veth pair, tcpdump on both ends of the veth (the server's side
// and the client's), then `tcpkit -r` on each file. Keep-alive, pipelining,
// HEAD, 204, 304 (If-None-Match, If-Modified-Since), 404, 503, a 200 KB body,
// chunked bodies (SSI, gzip), 100-continue (WebDAV PUT), HTTP/1.0 bodies
// delimited by the close, and IPv6.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Recording, assertClientNotFaster, assertEndpoints, assertLines, type Expected } from '../helpers/recorded';
import { HTTP_PORT as PORT, httpClient, startNginx, toolsUnavailable } from '../helpers/servers';
import type { HttpConnection, HttpRequest } from '../helpers/http-client';

const why = toolsUnavailable(['nginx']);
if (why) process.stdout.write(`# recorded-http: skipped, ${why}\n`);

const BIG = 200 * 1024;
const INDEX = '<html><body>tcpkit</body></html>\n';
/** The files' modification time: ETag and Last-Modified follow from it. */
const MTIME = 1_700_000_000;
const ETAG = `"${MTIME.toString(16)}-${INDEX.length.toString(16)}"`;
const LAST_MODIFIED = new Date(MTIME * 1000).toUTCString();
/** SSI output has no length known in advance: chunked under HTTP/1.1, delimited by the close under 1.0. */
const SSI_PAGE = '<html><body>\n<!--# include virtual="/index.html" -->\n<!--# include virtual="/big" -->\n</body></html>\n';
/** Text that gzip compresses, but not to nothing. */
const TEXT = Array.from({ length: 4000 }, (_, i) => `line ${i} ${(i * 2654435761) % 1000003}\n`).join('');
const UPLOAD = 'uploaded with 100-continue\n'.repeat(100);

const get = (target: string, more: Partial<HttpRequest> = {}): HttpRequest => ({ method: 'GET', target, ...more });
const head = (target: string): HttpRequest => ({ method: 'HEAD', target });
const gzip: [string, string][] = [['Accept-Encoding', 'gzip']];

/**
 * A request and what nginx answers it with, as http-client.ts prints it:
 * `status bodyBytes [chunked|close]`, `*` for a size this test does not fix
 * (nginx's error pages, gzip's output).
 */
type Exchange = [HttpRequest, string];
interface Conn {
  pipeline?: boolean;
  exchanges: Exchange[];
}

const SSI_SIZE = SSI_PAGE.replace(/<!--# include virtual="\/index.html" -->/, INDEX).replace(/<!--# include virtual="\/big" -->/, 'x'.repeat(BIG)).length;

const KEEPALIVE: Conn = {
  exchanges: [
    [get('/index.html'), `200 ${INDEX.length}`],
    [head('/big'), '200 0'],
    [get('/big'), `200 ${BIG}`],
    [get('/missing'), '404 *'],
    [get('/empty'), '204 0'],
    [get('/index.html', { headers: [['If-None-Match', ETAG]] }), '304 0'],
    [get('/index.html', { headers: [['If-Modified-Since', LAST_MODIFIED]] }), '304 0'],
    [get('/ssi/page.html'), `200 ${SSI_SIZE} chunked`],
    [get('/gz/text.txt', { headers: gzip }), '200 * chunked'],
    [head('/ssi/page.html'), '200 0'],
    [get('/fail'), '503 *'],
    [get('/?after=1'), `200 ${INDEX.length}`],
  ],
};
const PIPELINE: Conn = {
  pipeline: true,
  exchanges: [
    [get('/?p=1'), `200 ${INDEX.length}`],
    [head('/big?p=2'), '200 0'],
    [get('/big?p=3'), `200 ${BIG}`],
    [get('/empty?p=4'), '204 0'],
    [get('/index.html?p=5', { headers: [['If-None-Match', ETAG]] }), '304 0'],
    [get('/ssi/page.html?p=6'), `200 ${SSI_SIZE} chunked`],
    [get('/missing?p=7'), '404 *'],
    [get('/gz/text.txt?p=8', { headers: gzip }), '200 * chunked'],
  ],
};
// WebDAV PUT reads the body, so nginx answers `Expect: 100-continue` first.
const CONTINUE: Conn = {
  exchanges: [
    [{ method: 'PUT', target: '/dav/up.txt', body: UPLOAD, expect: true }, '201 0'],
    [{ method: 'PUT', target: '/dav/up.txt', body: UPLOAD, expect: true }, '204 0'],
    [get('/dav/up.txt'), `200 ${UPLOAD.length}`],
    [{ method: 'DELETE', target: '/dav/up.txt' }, '204 0'],
  ],
};
const HTTP10_CLOSE: Conn = { exchanges: [[get('/ssi/page.html', { version: '1.0' }), `200 ${SSI_SIZE} close`]] };
const HTTP10_LENGTH: Conn = { exchanges: [[get('/index.html', { version: '1.0' }), `200 ${INDEX.length}`]] };
const IPV6: Conn = {
  exchanges: [
    [get('/'), `200 ${INDEX.length}`],
    [get('/big?six'), `200 ${BIG}`],
    [get('/ssi/page.html?six'), `200 ${SSI_SIZE} chunked`],
  ],
};
const V4 = [KEEPALIVE, PIPELINE, CONTINUE, HTTP10_CLOSE, HTTP10_LENGTH];

const asClient = (conns: Conn[]): HttpConnection[] => conns.map((c) => ({ pipeline: c.pipeline, requests: c.exchanges.map((e) => e[0]) }));

/** The client's output: 1xx answers first, `*` for any number. */
function answersMatch(got: string[], conns: Conn[]): void {
  const want = conns.flatMap((c) => c.exchanges.flatMap(([r, a]) => (r.expect ? ['100 interim', a] : [a])));
  assert.equal(got.length, want.length, got.join('\n'));
  got.forEach((g, i) => assert.match(g, new RegExp(`^${want[i].replace('*', '\\d+')}$`), `answer ${i}`));
}

/** Every request's line, in order: 5xx answers are errors. */
const expected: Expected[] = [...V4, IPV6].flatMap((c) =>
  c.exchanges.map(([r, a]): Expected => [`${r.method} ${r.target}`, a.split(' ')[0], a.startsWith('5')]),
);
/** The two PUTs' 100 Continue: skipped by pairing, and not counted as pushes (issue 16, item 4). */
const INTERIM = 0;

describe('captures recorded from a real HTTP server (nginx)', { skip: why ?? false }, () => {
  let rec: Recording;

  before(async () => {
    rec = Recording.create('http', PORT);
    const lab = rec.lab;
    await startNginx(lab, rec.dir, {
      files: { 'index.html': INDEX, big: Buffer.alloc(BIG, 'x'), 'ssi/page.html': SSI_PAGE, 'gz/text.txt': TEXT },
      mtime: MTIME,
      locations: [
        'location = /fail { return 503; }',
        'location = /empty { return 204; }',
        'location /ssi/ { ssi on; ssi_types *; }',
        'location /gz/ { gzip on; gzip_types *; gzip_min_length 0; }',
        'location /dav/ { dav_methods PUT DELETE; create_full_put_path on; }',
      ],
    });
    await rec.record(`tcp port ${PORT}`, () => {
      // nginx answered as the test expects: otherwise tcpkit is not what is wrong.
      answersMatch(httpClient(lab, lab.ip4.server, asClient(V4)), V4);
      answersMatch(httpClient(lab, lab.ip6.server, asClient([IPV6])), [IPV6]);
    });
  });

  after(async () => {
    await rec?.destroy();
  });

  for (const side of ['server', 'client'] as const) {
    const flags = (): string[] => (side === 'client' ? rec.servers() : []);
    const name = side === 'client' ? 'client side (-s)' : 'server side';

    test(`${name}: every request once, in order, with its text and status; 100 Continue is no answer`, () => {
      const { lines, stderr } = rec.analyse(side, flags());
      assertLines(lines, stderr, expected, INTERIM);
    });

    test(`${name}: each connection's requests on one connection, IPv6 endpoints in brackets`, () => {
      const { lines } = rec.analyse(side, flags());
      let at = 0;
      for (const c of [...V4, IPV6]) {
        const group = lines.slice(at, at + c.exchanges.length);
        at += c.exchanges.length;
        assert.equal(new Set(group.map((l) => l.client)).size, 1, group.map((l) => l.client).join(' '));
        assertEndpoints(group, rec.lab, PORT, c === IPV6);
      }
      assert.equal(new Set(lines.map((l) => l.client)).size, V4.length + 1);
    });
  }

  test('client side: the round trip is never shorter than the server time', () => {
    assertClientNotFaster(rec.analyse('server').lines, rec.analyse('client', rec.servers()).lines);
  });
});

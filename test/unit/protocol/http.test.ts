// The HTTP/1.x parser: framing by Content-Length, chunked, HEAD, 1xx, 204/304
// and the close; every message split at every byte offset parses the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzRuns } from '../../helpers/fuzz-runs';
import { newPairedConnection, type PairedConnection as Connection } from '../../../src/pairing/connection';
import { HttpParser, httpParser } from '../../../src/protocol/http';
import { MessageKind, PREVIEW_MAX, ResetReason, type MessageInfo, type MessageSink, type ParserFactory } from '../../../src/protocol/message';

interface Seen {
  req: boolean;
  text: string;
  kind: MessageKind;
  status: number;
  statusText: string;
  error: boolean;
  bytes: number;
  start: number;
  end: number;
}

type Shape = Omit<Seen, 'start' | 'end'>;

class Recorder implements MessageSink {
  seen: Seen[] = [];
  resets: [boolean, ResetReason][] = [];
  message(_c: Connection, fromClient: boolean, m: MessageInfo): void {
    this.seen.push({
      req: fromClient,
      text: m.preview.toString('latin1', 0, m.previewLen),
      kind: m.kind,
      status: m.status,
      statusText: m.statusText,
      error: m.isError,
      bytes: m.bytes,
      start: m.startSec,
      end: m.endSec,
    });
  }
  reset(_c: Connection, fromClient: boolean, r: ResetReason): void {
    this.resets.push([fromClient, r]);
  }
  shapes(): Shape[] {
    return this.seen.map(({ start, end, ...s }) => s);
  }
}

/** Bytes around each chunk that would parse as a request if the parser read outside [start, end). */
const PAD = Buffer.from('\r\nGET /outside HTTP/1.1\r\n\r\n');

function feed(p: HttpParser, chunk: Buffer, ts: number): void {
  const b = Buffer.concat([PAD, chunk, PAD]);
  p.feed(b, PAD.length, PAD.length + chunk.length, ts, 0);
}

interface Conn {
  rec: Recorder;
  req: HttpParser;
  rsp: HttpParser;
}

function conn(): Conn {
  const rec = new Recorder();
  const c = newPairedConnection();
  return { rec, req: httpParser(c, true, rec), rsp: httpParser(c, false, rec) };
}

/**
 * Feeds the client's chunks (timestamps 0, 1, ...), then the server's
 * (timestamps 100, 101, ...), then closes the server's side if asked.
 */
function parse(reqChunks: Buffer[], rspChunks: Buffer[], close = false): Recorder {
  const c = conn();
  reqChunks.forEach((b, i) => feed(c.req, b, i));
  rspChunks.forEach((b, i) => feed(c.rsp, b, 100 + i));
  if (close) c.rsp.end(999, 0);
  return c.rec;
}

const bytesOf = (s: string): Buffer => Buffer.from(s, 'latin1');
const halves = (b: Buffer, i: number): Buffer[] => [b.subarray(0, i), b.subarray(i)];
const oneByOne = (b: Buffer): Buffer[] => [...b].map((x) => Buffer.from([x]));

/** The same events whether each side comes whole, split at any one offset, or a byte at a time. */
function splitEverywhere(requests: string, responses: string, expected: Shape[], close = false): void {
  const q = bytesOf(requests);
  const r = bytesOf(responses);
  const whole = parse([q], [r], close);
  assert.deepEqual(whole.resets, [], 'no resets in one piece');
  assert.deepEqual(whole.shapes(), expected);
  for (let i = 1; i < q.length; i++) {
    const got = parse(halves(q, i), [r], close);
    assert.deepEqual(got.shapes(), expected, `requests split at ${i}`);
    assert.deepEqual(got.resets, [], `requests split at ${i}`);
  }
  for (let i = 1; i < r.length; i++) {
    const got = parse([q], halves(r, i), close);
    assert.deepEqual(got.shapes(), expected, `responses split at ${i}`);
    assert.deepEqual(got.resets, [], `responses split at ${i}`);
  }
  const bytes = parse(oneByOne(q), oneByOne(r), close);
  assert.deepEqual(bytes.shapes(), expected, 'byte by byte');
  assert.deepEqual(bytes.resets, [], 'byte by byte');
}

const req = (text: string, wire: string): Shape => ({ req: true, text, kind: MessageKind.Normal, status: -1, statusText: '', error: false, bytes: wire.length });
const rsp = (status: number, wire: string, kind = MessageKind.Normal): Shape => ({
  req: false,
  text: '',
  kind,
  status,
  statusText: String(status),
  error: status >= 500,
  bytes: wire.length,
});

test('the factory has the ParserFactory shape', () => {
  const f: ParserFactory = httpParser;
  const p = f(newPairedConnection(), true, new Recorder());
  assert.equal(typeof p.feed, 'function');
});

test('GET and POST with Content-Length, and their responses, split at every byte', () => {
  const q = ['GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n', 'POST /api/items?x=1 HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"name":"ab"}'];
  const r = ['HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello', 'HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n'];
  splitEverywhere(q.join(''), r.join(''), [req('GET /index.html', q[0]), req('POST /api/items?x=1', q[1]), rsp(200, r[0]), rsp(201, r[1])]);
});

test('header names are case-insensitive, values too where they are tokens; CRLF or bare LF', () => {
  const q = ['PUT /a HTTP/1.1\r\ncontent-LENGTH:3\r\n\r\nabc', 'POST /b HTTP/1.0\nTRANSFER-ENCODING: CHUNKED\n\n1\nx\n0\n\n'];
  const r = ['HTTP/1.1 200 OK\r\nCONTENT-length: 2 \r\n\r\nok', 'HTTP/1.1 200\r\ntransfer-encoding:\tChunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'];
  splitEverywhere(q.join(''), r.join(''), [req('PUT /a', q[0]), req('POST /b', q[1]), rsp(200, r[0]), rsp(200, r[1])]);
});

test('chunked request and response, with chunk extensions and trailers, split at every byte', () => {
  const q = [
    'POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n' +
      '5;name=value\r\nhello\r\n6 ; ext="a b"\r\n world\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n',
    'GET /next HTTP/1.1\r\n\r\n',
  ];
  const r = [
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\nA\r\n0123456789\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0;final\r\nTrailer-A: b\r\n\r\n',
    'HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nx',
  ];
  splitEverywhere(q.join(''), r.join(''), [req('POST /upload', q[0]), req('GET /next', q[1]), rsp(200, r[0]), rsp(404, r[1])]);
});

test('a response to HEAD has no body, whatever its Content-Length or Transfer-Encoding', () => {
  const q = ['HEAD /big HTTP/1.1\r\nHost: h\r\n\r\n', 'GET /small HTTP/1.1\r\n\r\n', 'HEAD /c HTTP/1.1\r\n\r\n', 'GET /d HTTP/1.1\r\n\r\n'];
  const r = [
    'HTTP/1.1 200 OK\r\nContent-Length: 123456\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi',
  ];
  splitEverywhere(q.join(''), r.join(''), [req('HEAD /big', q[0]), req('GET /small', q[1]), req('HEAD /c', q[2]), req('GET /d', q[3]), ...r.map((w) => rsp(200, w))]);
  // A method that only starts like HEAD is not HEAD.
  const other = parse([bytesOf('HEADER / HTTP/1.1\r\n\r\n')], [bytesOf('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi')]);
  assert.deepEqual(other.seen.map((s) => s.bytes), [21, 40]);
});

test('100 Continue is interim (Interim, neither response nor push), the final response pairs with the request', () => {
  const q = ['POST /p HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody'];
  const r = ['HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'];
  splitEverywhere(q.join(''), r.join(''), [req('POST /p', q[0]), rsp(100, r[0], MessageKind.Interim), rsp(103, r[1], MessageKind.Interim), rsp(200, r[2])]);
});

test('204 and 304 have no body, even with a Content-Length', () => {
  const q = ['DELETE /x HTTP/1.1\r\n\r\n', 'GET /y HTTP/1.1\r\nIf-None-Match: "e"\r\n\r\n', 'GET /z HTTP/1.1\r\n\r\n'];
  const r = ['HTTP/1.1 204 No Content\r\n\r\n', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 5000\r\nETag: "e"\r\n\r\n', 'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy'];
  splitEverywhere(q.join(''), r.join(''), [req('DELETE /x', q[0]), req('GET /y', q[1]), req('GET /z', q[2]), rsp(204, r[0]), rsp(304, r[1]), rsp(503, r[2])]);
});

test('status: a number, a constant string, isError from 500', () => {
  const r = parse([], [bytesOf('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\nHTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\nHTTP/1.1 599 x\r\n\r\n')]);
  assert.deepEqual(r.seen.map((s) => [s.status, s.statusText, s.error]), [[404, '404', false], [500, '500', true]]);
  // The last one is close-delimited: it completes when the server closes.
  const out = parse([], [bytesOf('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')]);
  assert.equal(out.seen[0].statusText, '404');
  const bad = parse([], [bytesOf('HTTP/1.1 600 Nope\r\n\r\nHTTP/1.1 099 x\r\n\r\n')]);
  assert.deepEqual(bad.seen, [], 'status codes outside 100..599 are no status line');
});

test('a response without length completes when the server closes, at its last byte', () => {
  const q = ['GET /stream HTTP/1.0\r\n\r\n'];
  const r = ['HTTP/1.0 200 OK\r\nServer: old\r\n\r\nhello world, until the end'];
  splitEverywhere(q.join(''), r.join(''), [req('GET /stream', q[0]), rsp(200, r[0])], true);
  const c = conn();
  feed(c.req, bytesOf(q[0]), 0);
  // Transfer-Encoding overrides Content-Length; a coding other than chunked last leaves the close to end it.
  const gz = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc';
  feed(c.rsp, bytesOf(gz), 5);
  feed(c.rsp, bytesOf('def'), 6);
  assert.equal(c.rec.seen.length, 1, 'no end yet: the response is incomplete');
  assert.equal(c.rsp.skip(10, 7, 0), true, 'missing bytes of a close-delimited body are body');
  c.rsp.end(9, 0);
  assert.deepEqual(
    c.rec.seen.slice(1).map((s) => [s.bytes, s.start, s.end]),
    [[gz.length + 3 + 10, 5, 7]],
  );
  // A response cut by the close answers its request from what arrived (issue 16, item 1).
  const d = conn();
  feed(d.rsp, bytesOf('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'), 1);
  d.rsp.end(2, 0);
  assert.deepEqual([d.rec.seen.map((s) => [s.status, s.start, s.end]), d.rec.resets], [[[200, 1, 1]], []]);
  // A request the client stopped sending is not: no server answers it.
  feed(d.req, bytesOf('POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc'), 3);
  d.req.end(4, 0);
  assert.equal(d.rec.seen.length, 1);
});

test('pipelined requests in one chunk give one message each, in order', () => {
  const q = ['GET /1 HTTP/1.1\r\nHost: h\r\n\r\n', 'POST /2 HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde', 'HEAD /3 HTTP/1.1\r\n\r\n', 'GET /4 HTTP/1.1\r\n\r\n'];
  const r = ['HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n4'];
  const got = parse([bytesOf(q.join(''))], [bytesOf(r.join(''))]);
  assert.deepEqual(got.shapes(), [req('GET /1', q[0]), req('POST /2', q[1]), req('HEAD /3', q[2]), req('GET /4', q[3]), ...r.map((w) => rsp(200, w))]);
  assert.deepEqual(got.resets, []);
});

test('leading empty lines are skipped and not counted', () => {
  const got = parse([bytesOf('\r\n\r\nGET / HTTP/1.1\r\n\r\n\r\nGET /b HTTP/1.1\r\n\r\n')], []);
  assert.deepEqual(got.seen.map((s) => [s.text, s.bytes]), [['GET /', 18], ['GET /b', 19]]);
});

test('a 200 KB body in many chunks is one message, from its first chunk to its last', () => {
  const value = 'x'.repeat(200_000);
  const wire = bytesOf(`POST /big HTTP/1.1\r\nContent-Length: ${value.length}\r\n\r\n${value}GET /after HTTP/1.1\r\n\r\n`);
  const chunks: Buffer[] = [];
  for (let i = 0; i < wire.length; i += 1448) chunks.push(wire.subarray(i, i + 1448));
  let hex = '';
  for (let i = 0; i < value.length; i += 7000) hex += `${Math.min(7000, value.length - i).toString(16)}\r\n${value.slice(i, i + 7000)}\r\n`;
  const body = bytesOf(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${hex}0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n`);
  const rchunks: Buffer[] = [];
  for (let i = 0; i < body.length; i += 65483) rchunks.push(body.subarray(i, i + 65483));
  const got = parse(chunks, rchunks);
  assert.deepEqual(got.resets, []);
  assert.deepEqual(
    got.seen.map((s) => [s.text, s.bytes, s.start, s.end]),
    [
      ['POST /big', wire.length - 23, 0, chunks.length - 1],
      ['GET /after', 23, chunks.length - 1, chunks.length - 1],
      ['', body.length - 38, 100, 100 + rchunks.length - 1],
      ['', 38, 100 + rchunks.length - 1, 100 + rchunks.length - 1],
    ],
  );
});

test('skip(): bytes missing inside a body of known length are stepped over', () => {
  const c = conn();
  const head = (s: string) => bytesOf(s).length;
  feed(c.req, bytesOf('POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc'), 0);
  assert.equal(c.req.skip(5, 0, 0), true);
  feed(c.req, bytesOf('ijGET /b HTTP/1.1\r\n\r\n'), 1);
  assert.deepEqual(c.rec.seen.map((s) => [s.text, s.bytes, s.end]), [['POST /a', head('POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n') + 10, 1], ['GET /b', 19, 1]]);
  // The skip that ends the body exactly completes the message.
  feed(c.req, bytesOf('PUT /c HTTP/1.1\r\nContent-Length: 4\r\n\r\nab'), 2);
  assert.equal(c.req.skip(2, 3, 0), true);
  assert.deepEqual(c.rec.seen.slice(2).map((s) => [s.text, s.bytes, s.end]), [['PUT /c', head('PUT /c HTTP/1.1\r\nContent-Length: 4\r\n\r\n') + 4, 3]]);
  // Inside a chunk's data.
  feed(c.rsp, bytesOf('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8;x\r\nab'), 4);
  assert.equal(c.rsp.skip(4, 4, 0), true);
  feed(c.rsp, bytesOf('gh\r\n3\r\nx'), 5);
  assert.equal(c.rsp.skip(2, 5, 0), true, 'a skip that ends a chunk exactly');
  feed(c.rsp, bytesOf('\r\n0\r\n\r\n'), 5);
  assert.deepEqual(c.rec.seen.slice(3).map((s) => [s.bytes, s.status]), [[head('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8;x\r\n') + 8 + head('\r\n3\r\n') + 3 + head('\r\n0\r\n\r\n'), 200]]);
  assert.deepEqual(c.rec.resets, []);
  // Outside a body the parser cannot know what was lost: it resets, then finds the next request.
  feed(c.req, bytesOf('GET /d HTTP/1.1\r\nHo'), 6);
  assert.equal(c.req.skip(3, 6, 0), false);
  assert.deepEqual(c.rec.resets, [[true, ResetReason.Gap]]);
  feed(c.req, bytesOf('st: h\r\n\r\nGET /e HTTP/1.1\r\n\r\n'), 7);
  // The request the gap cut is reported from what arrived of it (issue 16, item 2).
  assert.deepEqual(c.rec.seen.slice(4).map((s) => s.text), ['GET /d', 'GET /e']);
  // Missing bytes that run past the end of the body: the message is complete, what follows is lost.
  feed(c.req, bytesOf('POST /f HTTP/1.1\r\nContent-Length: 3\r\n\r\na'), 8);
  assert.equal(c.req.skip(10, 8, 0), false);
  assert.deepEqual(c.rec.seen.slice(6).map((s) => [s.text, s.bytes]), [['POST /f', head('POST /f HTTP/1.1\r\nContent-Length: 3\r\n\r\n') + 3]]);
  assert.deepEqual(c.rec.resets.length, 2);
});

test('malformed data after a message resets, and the parser resumes at the next request line', () => {
  const c = conn();
  feed(c.req, bytesOf('GET /ok HTTP/1.1\r\n\r\n\x16\x03\x01 binary junk\r\nmore junk / HTTP/1.1\r\nGET /next HTTP/1.1\r\n\r\n'), 0);
  assert.deepEqual(c.rec.resets, [[true, ResetReason.Malformed]]);
  assert.deepEqual(c.rec.seen.map((s) => s.text), ['GET /ok', 'GET /next']);
  // Responses resume at the next status line.
  feed(c.rsp, bytesOf('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 2x0 OK\r\n\r\nbody of it\r\nHTTP/1.1 204 No Content\r\n\r\n'), 1);
  assert.deepEqual(c.rec.resets, [[true, ResetReason.Malformed], [false, ResetReason.Malformed]]);
  assert.deepEqual(c.rec.seen.slice(2).map((s) => s.status), [200, 204]);
});

test('malformed framing resets: bad chunk size, conflicting lengths, unknown request coding, missing version', () => {
  const cases = [
    'POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    'POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n',
    'POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n',
    'POST /a HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\n',
    'POST /a HTTP/1.1\r\nContent-Length: 3 4\r\n\r\n',
    'POST /a HTTP/1.1\r\nContent-Length: -1\r\n\r\n',
    'POST /a HTTP/1.1\r\nContent-Length:\r\n\r\n',
    'POST /a HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n',
    'GET /a\r\n',
    'GET /a HTTP/2.0\r\n\r\n',
    'GET  /a HTTP/1.1\r\n\r\n',
    ' /a HTTP/1.1\r\n\r\n',
    'GET /a HTTP/1.1\r\nBad Name: x\r\n\r\n',
    'GET /a HTTP/1.1\r\nno colon\r\n\r\n',
  ];
  for (const bad of cases) {
    const c = conn();
    feed(c.req, bytesOf(`GET /first HTTP/1.1\r\n\r\n${bad}GET /then HTTP/1.1\r\n\r\n`), 0);
    assert.deepEqual(c.rec.resets, [[true, ResetReason.Malformed]], bad);
    assert.deepEqual(c.rec.seen.map((s) => s.text), ['GET /first', 'GET /then'], bad);
  }
  // The same length repeated is one length.
  const same = parse([bytesOf('POST /a HTTP/1.1\r\nContent-Length: 3, 3\r\ncontent-length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n')], []);
  assert.deepEqual([same.resets, same.seen.map((s) => s.text)], [[], ['POST /a', 'GET /b']]);
});

test('after a reset, a segment that starts like a message is tried as one, though no line ended before it', () => {
  const c = conn();
  feed(c.req, bytesOf('GET /ok HTTP/1.1\r\n\r\n\x00junk without an end of line'), 0);
  feed(c.req, bytesOf('GET /next HTTP/1.1\r\n\r\n'), 1);
  assert.deepEqual(c.rec.resets, [[true, ResetReason.Malformed]]);
  assert.deepEqual(c.rec.seen.map((s) => s.text), ['GET /ok', 'GET /next']);
  // Within one segment, only a line start is a message start.
  const d = conn();
  feed(d.req, bytesOf('GET /ok HTTP/1.1\r\n\r\n\x00junk GET /no HTTP/1.1\r\n\r\n'), 0);
  assert.deepEqual(d.rec.seen.map((s) => s.text), ['GET /ok']);
});

test('before the first message, data that is not HTTP is skipped quietly (the capture began mid-stream)', () => {
  const c = conn();
  feed(c.req, bytesOf('the middle of some body\r\nGET / HTTP/1.1\r\n\r\n'), 0);
  feed(c.rsp, bytesOf('ody of an earlier response\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), 1);
  assert.deepEqual(c.rec.resets, []);
  assert.deepEqual(c.rec.seen.map((s) => [s.text, s.status]), [['GET /', -1], ['', 200]]);
  // After reset() (a gap), likewise.
  c.req.reset();
  feed(c.req, bytesOf('xyz\r\nGET /again HTTP/1.1\r\n\r\n'), 2);
  assert.deepEqual(c.rec.resets, []);
  assert.equal(c.rec.seen[2].text, 'GET /again');
});

test('a long target is shortened with "..." to fit; control bytes show as dots', () => {
  const target = '/' + 'a'.repeat(1000);
  const got = parse([bytesOf(`GET ${target} HTTP/1.1\r\n\r\nGET /x\ty\x01z HTTP/1.1\r\n\r\n`)], []);
  // The preview is full: that tells the outputs to add "..." (one set of dots, not two).
  assert.equal(got.seen[0].text.length, PREVIEW_MAX);
  assert.equal(got.seen[0].text, `GET ${target}`.slice(0, PREVIEW_MAX));
  assert.equal(got.seen[0].bytes, target.length + 17);
  assert.equal(got.seen[1].text, 'GET /x.y.z');
  // A target that fits is kept whole (a full preview would read as cut).
  const exact = '/' + 'b'.repeat(PREVIEW_MAX - 6);
  assert.equal(parse([bytesOf(`GET ${exact} HTTP/1.1\r\n\r\n`)], []).seen[0].text, `GET ${exact}`);
});

test('after CONNECT 200 or 101 Switching Protocols, neither direction is parsed until reset()', () => {
  const c = conn();
  feed(c.req, bytesOf('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'), 0);
  feed(c.req, bytesOf('\x16\x03\x01\x02\x00 client hello'), 1);
  feed(c.rsp, bytesOf('HTTP/1.1 200 Connection Established\r\n\r\n\x16\x03\x03 server hello'), 2);
  feed(c.req, bytesOf('GET / HTTP/1.1\r\n\r\n'), 3);
  feed(c.rsp, bytesOf('HTTP/1.1 200 OK\r\n\r\n'), 4);
  assert.deepEqual(c.rec.resets, []);
  assert.deepEqual(c.rec.seen.map((s) => [s.text, s.status, s.kind]), [['CONNECT example.com:443', -1, MessageKind.Normal], ['', 200, MessageKind.Normal]]);
  // A new connection on the same 5-tuple: HTTP again.
  c.req.reset();
  c.rsp.reset();
  feed(c.req, bytesOf('GET /new HTTP/1.1\r\n\r\n'), 5);
  assert.equal(c.rec.seen[2].text, 'GET /new');

  const u = conn();
  feed(u.req, bytesOf('GET /chat HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n'), 0);
  feed(u.rsp, bytesOf('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n\x81\x05hello'), 1);
  feed(u.req, bytesOf('\x81\x85abcd\x01\x02\x03\x04\x05'), 2);
  assert.deepEqual(u.rec.resets, []);
  assert.deepEqual(u.rec.seen.map((s) => [s.status, s.kind]), [[-1, MessageKind.Normal], [101, MessageKind.Normal]]);
  assert.equal(u.rsp.skip(100, 3, 0), true, 'a tunnel takes missing bytes too');
  // A CONNECT that is refused leaves the connection in HTTP.
  const n = conn();
  feed(n.req, bytesOf('CONNECT h:443 HTTP/1.1\r\n\r\n'), 0);
  feed(n.rsp, bytesOf('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n'), 1);
  feed(n.req, bytesOf('GET /x HTTP/1.1\r\n\r\n'), 2);
  assert.deepEqual(n.rec.seen.map((s) => s.text || s.status), ['CONNECT h:443', 407, 'GET /x']);
});

test('a feed of zero bytes, and end() between messages, change nothing', () => {
  const c = conn();
  c.req.feed(Buffer.alloc(0), 0, 0, 0, 0);
  c.req.end(0, 0);
  feed(c.req, bytesOf('GET / HTTP/1.1\r\n\r\n'), 1);
  c.req.end(2, 0);
  assert.deepEqual([c.rec.seen.length, c.rec.resets], [1, []]);
});

// Property tests.

const SAMPLE_REQ = bytesOf(
  'GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;e=1\r\nxy\r\n0\r\nT: 1\r\n\r\nHEAD /d HTTP/1.0\r\n\r\n',
);
const SAMPLE_RSP = bytesOf(
  'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nHTTP/1.0 500 Oops\r\n\r\nrest',
);

const mutated = (sample: Buffer) =>
  fc.array(fc.tuple(fc.nat(sample.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }).map((muts) => {
    const b = Buffer.from(sample);
    for (const [i, v] of muts) b[i] = v;
    return new Uint8Array(b);
  });

/** Bytes from an alphabet that makes HTTP-looking streams likely. */
const httpish = fc
  .array(fc.constantFrom('GET ', 'HEAD ', 'HTTP/1.1 ', '200 ', '100 ', '/x ', '\r\n', '\n', 'Content-Length: 3', 'Transfer-Encoding: chunked', 'Connection: upgrade', '0', '5;x', 'abc', ':', ' '), { maxLength: 60 })
  .map((parts) => new Uint8Array(bytesOf(parts.join(''))));

test('random and mutated streams never throw, terminate, and never report more bytes than they had', () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.uint8Array({ maxLength: 400 }), mutated(SAMPLE_REQ), mutated(SAMPLE_RSP), httpish),
      fc.oneof(fc.uint8Array({ maxLength: 400 }), mutated(SAMPLE_RSP), httpish),
      fc.array(fc.nat(400), { maxLength: 4 }),
      fc.array(fc.nat(50), { maxLength: 2 }),
      fc.boolean(),
      (reqBytes, rspBytes, cuts, skips, close) => {
        const c = conn();
        let fed = 0;
        let skipped = 0;
        const run = (p: HttpParser, bytes: Uint8Array) => {
          const b = Buffer.from(bytes);
          const at = [0, ...cuts.map((x) => Math.min(x, b.length)).sort((x, y) => x - y), b.length];
          for (let i = 0; i + 1 < at.length; i++) {
            feed(p, b.subarray(at[i], at[i + 1]), i);
            fed += at[i + 1] - at[i];
            if (i < skips.length && skips[i] > 0) {
              p.skip(skips[i], i, 0);
              skipped += skips[i];
            }
          }
        };
        run(c.req, reqBytes);
        run(c.rsp, rspBytes);
        if (close) {
          c.rsp.end(9, 0);
          c.req.end(9, 0);
        }
        const reported = c.rec.seen.reduce((n, s) => n + s.bytes, 0);
        assert.ok(reported <= fed + skipped, `${reported} > ${fed} + ${skipped}`);
        for (const s of c.rec.seen) assert.ok(s.bytes > 0 && s.text.length <= PREVIEW_MAX);
      },
    ),
    { numRuns: fuzzRuns(3000) },
  );
});

test('a valid conversation cut anywhere, any number of times, parses the same', () => {
  const whole = parse([SAMPLE_REQ], [SAMPLE_RSP], true);
  assert.deepEqual(whole.resets, []);
  assert.equal(whole.seen.length, 4 + 6);
  fc.assert(
    fc.property(fc.array(fc.nat(SAMPLE_REQ.length), { maxLength: 6 }), fc.array(fc.nat(SAMPLE_RSP.length), { maxLength: 6 }), (qc, rc) => {
      const cut = (b: Buffer, at: number[]) => {
        const s = [0, ...at.sort((x, y) => x - y), b.length];
        return s.slice(1).map((e, i) => b.subarray(s[i], e));
      };
      const got = parse(cut(SAMPLE_REQ, qc), cut(SAMPLE_RSP, rc), true);
      assert.deepEqual(got.shapes(), whole.shapes());
      assert.deepEqual(got.resets, []);
    }),
    { numRuns: fuzzRuns(1000) },
  );
});

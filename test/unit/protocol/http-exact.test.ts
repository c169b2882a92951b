// The HTTP parsers, where http.test.ts does not look: the methods of more
// than eight pipelined requests (the shared queue grows, also after it
// wrapped), a response with no request waiting, what reset() on either side
// forgets, obs-fold lines, white space and empty elements in a
// Content-Length list, CONNECT answered 300. Written for the survivors of
// `make mutate` (test/TESTING.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newPairedConnection } from '../../../src/pairing/connection';
import { httpParser, type HttpParser } from '../../../src/protocol/http';
import { MessageKind, ResetReason } from '../../../src/protocol/message';
import { FullRecorder } from '../../helpers/full-recorder';

interface Pair {
  rec: FullRecorder;
  req: HttpParser;
  rsp: HttpParser;
  t: number;
  c(s: string): void;
  s(s: string): void;
}

function pair(): Pair {
  const rec = new FullRecorder();
  const conn = newPairedConnection();
  const p: Pair = {
    rec,
    req: httpParser(conn, true, rec),
    rsp: httpParser(conn, false, rec),
    t: 0,
    c(s) {
      p.t++;
      const b = Buffer.from(`xx${s}yy`, 'latin1');
      p.req.feed(b, 2, b.length - 2, p.t, 0);
    },
    s(s) {
      p.t++;
      const b = Buffer.from(`xx${s}yy`, 'latin1');
      p.rsp.feed(b, 2, b.length - 2, p.t, 0);
    },
  };
  return p;
}

const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`;
const head = (path: string): string => `HEAD ${path} HTTP/1.1\r\nHost: h\r\n\r\n`;
/** A 200 with a 5-byte Content-Length: its body follows unless it answers HEAD. */
const ok = (body: boolean): string => `HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n${body ? 'hello' : ''}`;

/** What the server side reported: [status, bytes]. */
const answers = (p: Pair): [number, number][] => p.rec.seen.filter((s) => !s.fromClient).map((s) => [s.status, s.bytes]);

test('more than eight pipelined requests: each response knows its request\'s method (HEAD has no body), also after the queue wrapped', () => {
  const methods = [true, false, true, true, false, false, true, false, true, true, false, true, false, false, true, true, true, false];
  const withBody = ok(true).length;
  const noBody = ok(false).length;
  for (const answeredFirst of [0, 3, 6]) {
    const p = pair();
    // Some requests answered first, so that the queue's head has moved when it grows.
    for (let i = 0; i < answeredFirst; i++) p.c(get(`/pre${i}`));
    p.s(Array.from({ length: answeredFirst }, () => ok(true)).join(''));
    p.c(methods.map((isHead, i) => (isHead ? head(`/h${i}`) : get(`/g${i}`))).join(''));
    p.s(methods.map((isHead) => ok(!isHead)).join(''));
    assert.deepEqual(p.rec.resets, [], `${answeredFirst} answered first`);
    assert.deepEqual(answers(p), [...Array.from({ length: answeredFirst }, (): [number, number] => [200, withBody]), ...methods.map((isHead): [number, number] => [200, isHead ? noBody : withBody])], `${answeredFirst} answered first`);
  }
});

test('a response with no request waiting is read as if to GET, not to a request answered before it', () => {
  const p = pair();
  p.c(head('/a'));
  p.s(ok(false));
  p.s(ok(true));
  p.s(ok(true));
  assert.deepEqual(p.rec.resets, []);
  assert.deepEqual(answers(p), [
    [200, ok(false).length],
    [200, ok(true).length],
    [200, ok(true).length],
  ]);
});

test('reset() on the server side forgets the requests waiting (their answers were lost); on the client side it does not', () => {
  const p = pair();
  p.c(head('/a') + get('/b'));
  p.rsp.reset();
  // Nothing waits: the answer is read as to GET, its body included.
  p.s(ok(true));
  assert.deepEqual(answers(p), [[200, ok(true).length]]);
  assert.deepEqual(p.rec.resets, []);
  const q = pair();
  q.c(head('/a'));
  q.req.reset();
  // The HEAD still waits: its answer has no body, and the next response is one of its own.
  q.s(ok(false));
  q.s(ok(true));
  assert.deepEqual(answers(q), [
    [200, ok(false).length],
    [200, ok(true).length],
  ]);
  // A gap on the client side forgets nothing either.
  const g = pair();
  g.c(head('/a'));
  assert.equal(g.req.skip(5, 2, 0), false);
  g.s(ok(false));
  g.s(ok(true));
  assert.deepEqual(answers(g), [
    [200, ok(false).length],
    [200, ok(true).length],
  ]);
  // A gap on the server side (skip outside a body) forgets them too.
  const r = pair();
  r.c(head('/a') + get('/b'));
  r.s('HTTP/1.1 200 OK\r\n');
  assert.equal(r.rsp.skip(10, 9, 0), false);
  r.s(ok(true));
  assert.deepEqual(answers(r).slice(-1), [[200, ok(true).length]]);
  assert.deepEqual(r.rec.resets.map((x) => [x.fromClient, x.reason]), [[false, ResetReason.Gap]]);
});

test('an obs-fold line (starting with a space or tab) continues the header before it and is not read as a header', () => {
  for (const fold of [' ', '\t']) {
    const p = pair();
    const post = `POST /x HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n${fold}Content-Length: 3\r\nContent-Length: 2\r\n\r\nhi`;
    p.c(post);
    p.c(get('/next'));
    assert.deepEqual(p.rec.resets, [], JSON.stringify(fold));
    assert.deepEqual(p.rec.seen.map((s) => [s.text, s.bytes]), [
      ['POST /x', post.length],
      ['GET /next', get('/next').length],
    ], JSON.stringify(fold));
  }
});

test('Content-Length: white space around the value and between list elements, empty elements, the same value repeated', () => {
  for (const value of [' 5', '5 ', '\t5\t', '5, 5', '5 ,5', '5,,5', ',5', '5,', ' , 5 , ', '5,\t5']) {
    const p = pair();
    p.c(`POST /x HTTP/1.1\r\nContent-Length:${value}\r\n\r\nhello`);
    p.c(get('/next'));
    assert.deepEqual(p.rec.resets, [], JSON.stringify(value));
    assert.deepEqual(p.rec.seen.map((s) => s.text), ['POST /x', 'GET /next'], JSON.stringify(value));
  }
  // (After a first request: before one, what is not HTTP is skipped quietly.)
  for (const value of ['5 5', '5,6', '5x', '']) {
    const p = pair();
    p.c(get('/first'));
    p.c(`POST /x HTTP/1.1\r\nContent-Length:${value}\r\n\r\nhello`);
    assert.deepEqual(p.rec.order.map((x) => ('text' in x ? x.text : x.reason)), ['GET /first', ResetReason.Malformed], JSON.stringify(value));
  }
});

test('CONNECT answered 2xx leaves HTTP; answered 300 or more it does not', () => {
  for (const [status, tunnel] of [
    [200, true],
    [299, true],
    [300, false],
    [407, false],
  ] as [number, boolean][]) {
    const p = pair();
    p.c('CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n');
    p.s(`HTTP/1.1 ${status} X\r\nContent-Length: 0\r\n\r\n`);
    p.c(get('/after'));
    assert.deepEqual(p.rec.seen.map((s) => [s.fromClient, s.kind, s.text]), [
      [true, MessageKind.Normal, 'CONNECT h:443'],
      [false, MessageKind.Normal, ''],
      ...(tunnel ? [] : [[true, MessageKind.Normal, 'GET /after']]),
    ], `CONNECT answered ${status}`);
  }
});

test('header names: the three the parser acts on, in any case, and nothing that merely starts or ends like them', () => {
  const post = (header: string): string => `POST /x HTTP/1.1\r\n${header}\r\n\r\nhello`;
  // Content-Length honoured: the body is 5 bytes and the next request parses.
  for (const header of ['Content-Length: 5', 'content-length: 5', 'CONTENT-LENGTH:5', 'cOnTeNt-LeNgTh: 5']) {
    const p = pair();
    p.c(post(header) + get('/next'));
    assert.deepEqual(p.rec.seen.map((s) => [s.text, s.bytes]), [
      ['POST /x', post(header).length],
      ['GET /next', get('/next').length],
    ], header);
  }
  // Names that are not Content-Length: no body, so "hello" is no request (dropped quietly, then the next line).
  for (const header of ['Content-Lengthx: 5', 'Content-Lengt: 5', 'Xontent-Length: 5', 'Content_Length: 5', 'Content-Length-X: 5', 'Connection: 5', 'Content-Encoding: 5']) {
    const p = pair();
    p.c(post(header));
    assert.deepEqual(p.rec.seen.map((s) => [s.text, s.bytes]), [['POST /x', post(header).length - 5]], header);
  }
  // Transfer-Encoding: chunked only when the last coding is exactly "chunked".
  const te = (value: string): string => `POST /c HTTP/1.1\r\nTransfer-Encoding: ${value}\r\n\r\n5\r\nhello\r\n0\r\n\r\n`;
  for (const [value, chunked] of [
    ['chunked', true],
    ['CHUNKED', true],
    ['gzip, chunked', true],
    ['chunked;x=1', true],
    ['chunkedx', false],
    ['chunke', false],
    ['xchunked', false],
    ['chunked x', false],
    // Seven letters, like chunked.
    ['deflate', false],
  ] as [string, boolean][]) {
    const p = pair();
    p.c(get('/first'));
    p.c(te(value) + get('/next'));
    const texts = p.rec.seen.map((s) => s.text);
    if (chunked) assert.deepEqual(texts, ['GET /first', 'POST /c', 'GET /next'], value);
    else assert.deepEqual(p.rec.resets.map((r) => r.reason), [ResetReason.Malformed], value);
  }
  const bad = pair();
  bad.c(get('/first'));
  bad.c('POST /x HTTP/1.1\r\nBad Name: 1\r\n\r\n');
  assert.deepEqual(bad.rec.resets.map((r) => r.reason), [ResetReason.Malformed]);
});

test('101 Switching Protocols leaves HTTP only after an Upgrade in Connection; chunk sizes in hex, any case', () => {
  for (const [connection, tunnel] of [
    ['Upgrade', true],
    ['keep-alive, upgrade', true],
    ['upgradex', false],
    ['close', false],
  ] as [string, boolean][]) {
    const p = pair();
    p.c(`GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: ${connection}\r\n\r\n`);
    p.s(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: ${connection}\r\n\r\n`);
    p.s(ok(true));
    assert.deepEqual(p.rec.seen.filter((s) => !s.fromClient).map((s) => [s.status, s.kind]), tunnel ? [[101, MessageKind.Normal]] : [[101, MessageKind.Interim], [200, MessageKind.Normal]], connection);
  }
  // "upgrade" in a header the parser does not read is no Upgrade.
  const note = pair();
  note.c('GET /ws HTTP/1.1\r\nX-Note: upgrade\r\n\r\n');
  note.s('HTTP/1.1 101 Switching Protocols\r\nX-Note: upgrade\r\n\r\n');
  note.s(ok(true));
  assert.deepEqual(note.rec.seen.filter((s) => !s.fromClient).map((s) => [s.status, s.kind]), [[101, MessageKind.Interim], [200, MessageKind.Normal]]);
  const nine = pair();
  nine.c(get('/a'));
  nine.s(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n${'x'.repeat(9)}\r\n0\r\n\r\n`);
  nine.s(ok(true));
  assert.deepEqual(nine.rec.seen.filter((s) => !s.fromClient).map((s) => s.status), [200, 200]);
  const body = 'x'.repeat(0x1a);
  for (const size of ['1a', '1A', '01a', '1a;ext=9']) {
    const p = pair();
    p.c(get('/a'));
    p.s(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\n${body}\r\n0\r\n\r\n`);
    p.s(ok(true));
    assert.deepEqual(p.rec.resets, [], size);
    assert.deepEqual(p.rec.seen.filter((s) => !s.fromClient).map((s) => s.status), [200, 200], size);
  }
  for (const size of ['1g', '9:', '/']) {
    const p = pair();
    // (After a first answer: before one, what is not HTTP is skipped quietly.)
    p.c(get('/0'));
    p.s(ok(true));
    p.c(get('/a'));
    p.s(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\nxx\r\n0\r\n\r\n`);
    assert.deepEqual(p.rec.resets.map((r) => r.reason), [ResetReason.Malformed], size);
  }
});

test('flushPartial(): a message begun is reported once, incomplete; its end then reports nothing', () => {
  const p = pair();
  p.c('POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n01234');
  assert.equal(p.req.flushPartial(), true);
  assert.equal(p.req.flushPartial(), false);
  p.c('56789');
  p.c(get('/next'));
  assert.deepEqual(p.rec.seen.map((s) => [s.text, s.incomplete]), [
    ['POST /x', true],
    ['GET /next', false],
  ]);
  // Nothing begun: nothing to report.
  const q = pair();
  q.c(get('/a'));
  assert.equal(q.req.flushPartial(), false);
});

test('only the method CONNECT (case-sensitive, exactly) tunnels; HEAD likewise is exactly HEAD', () => {
  for (const [method, tunnel] of [
    ['CONNECT', true],
    ['CONNECTX', false],
    ['CONNEC', false],
    ['connect', false],
    ['XCONNECT', false],
  ] as [string, boolean][]) {
    const p = pair();
    p.c(`${method} h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n`);
    p.s('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    p.c(get('/after'));
    assert.deepEqual(p.rec.seen.filter((s) => s.fromClient).map((s) => s.text), tunnel ? [`${method} h:443`] : [`${method} h:443`, 'GET /after'], method);
  }
  for (const [method, noBody] of [
    ['HEAD', true],
    ['HEADX', false],
    ['HEA', false],
    ['head', false],
  ] as [string, boolean][]) {
    const p = pair();
    p.c(`${method} /x HTTP/1.1\r\nHost: h\r\n\r\n`);
    p.s(ok(!noBody));
    p.s(ok(true));
    assert.deepEqual(answers(p).map(([, bytes]) => bytes), [ok(!noBody).length, ok(true).length], method);
  }
});

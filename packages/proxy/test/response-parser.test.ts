// The upstream response parser alone: every framing read the same however the bytes are split
// across reads, and every response a lenient parser would let through to smuggle or mislead refused.
import assert from 'node:assert/strict';
import { maxHeaderSize } from 'node:http';
import { describe, test } from 'node:test';
import { ResponseParser } from '../src/response-parser';

interface Parsed {
  heads: { status: number; statusText: string; headers: string[] }[];
  body: string;
  ended: number;
  error: string | undefined;
  reusable: boolean;
  keepAliveMs: number | undefined;
}

/** Parses `pieces` as one response (optionally closing the connection after them). */
function parse(pieces: readonly Buffer[], { noBody = false, close = false } = {}): Parsed {
  const parsed: Parsed = { heads: [], body: '', ended: 0, error: undefined, reusable: false, keepAliveMs: undefined };
  const parser = new ResponseParser({
    onHead: (status, statusText, headers) => parsed.heads.push({ status, statusText, headers }),
    onBody: (chunk) => {
      parsed.body += chunk.toString('latin1');
    },
    onEnd: () => {
      parsed.ended += 1;
    },
  });
  parser.reset(noBody);
  for (const piece of pieces) {
    const error = parser.execute(piece);
    if (error) {
      parsed.error = error.code;
      return parsed;
    }
  }
  if (close) parsed.error = parser.finish()?.code;
  parsed.reusable = parser.reusable;
  parsed.keepAliveMs = parser.keepAliveMs;
  return parsed;
}

/** The same bytes whole, split in two at every position, and one byte at a time. */
function splits(text: string): Buffer[][] {
  const bytes = Buffer.from(text, 'latin1');
  const ways: Buffer[][] = [[bytes]];
  for (let at = 1; at < bytes.length; at++) ways.push([bytes.subarray(0, at), bytes.subarray(at)]);
  ways.push([...bytes].map((byte) => Buffer.from([byte])));
  return ways;
}

const cases: {
  name: string;
  text: string;
  noBody?: boolean;
  close?: boolean;
  expect: Partial<Parsed> & { status: number; statusText?: string; headers?: string[] };
}[] = [
  {
    name: 'Content-Length',
    text: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nhello',
    expect: { status: 200, body: 'hello', reusable: true },
  },
  {
    name: 'chunked, with extensions and trailers',
    text: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1 \r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: t\r\n\r\n',
    expect: { status: 200, body: 'hello world!', reusable: true },
  },
  {
    name: 'no length: the body runs until the connection closes',
    text: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end',
    close: true,
    expect: { status: 200, body: 'until the end', reusable: false },
  },
  {
    name: '1xx heads skipped',
    text: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok',
    expect: { status: 201, body: 'ok', reusable: true },
  },
  {
    name: 'HEAD: no body whatever the length says',
    text: 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n',
    noBody: true,
    expect: { status: 200, body: '', reusable: true },
  },
  { name: '204', text: 'HTTP/1.1 204 No Content\r\n\r\n', expect: { status: 204, body: '', reusable: true } },
  {
    name: '304 with a length',
    text: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n',
    expect: { status: 304, body: '', reusable: true },
  },
  {
    name: 'Connection: close',
    text: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok',
    expect: { status: 200, body: 'ok', reusable: false },
  },
  { name: 'HTTP/1.0', text: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok', expect: { status: 200, body: 'ok', reusable: false } },
  {
    name: 'HTTP/1.0 keep-alive, with a timeout hint',
    text: 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 2\r\n\r\nok',
    expect: { status: 200, body: 'ok', reusable: true, keepAliveMs: 5000 },
  },
  {
    name: 'optional whitespace around values, no reason phrase',
    text: 'HTTP/1.1 404\r\nX-A:\t  spaced \t\r\nX-Empty:\r\nContent-Length: 0\r\n\r\n',
    expect: { status: 404, statusText: '', headers: ['X-A', 'spaced', 'X-Empty', '', 'Content-Length', '0'], body: '' },
  },
  {
    name: 'bytes after the announced length: not reusable',
    text: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsmuggl',
    expect: { status: 200, body: 'ok', reusable: false },
  },
];

describe('upstream response parser', () => {
  for (const { name, text, noBody, close, expect } of cases) {
    test(`${name}: the same however the bytes are split`, () => {
      for (const pieces of splits(text)) {
        const parsed = parse(pieces, { noBody, close });
        const how = `split as ${pieces.map((piece) => piece.length).join('+')}`;
        assert.equal(parsed.error, undefined, how);
        assert.equal(parsed.heads.length, 1, how);
        assert.equal(parsed.heads[0]!.status, expect.status, how);
        if (expect.statusText !== undefined) assert.equal(parsed.heads[0]!.statusText, expect.statusText, how);
        if (expect.headers) assert.deepEqual(parsed.heads[0]!.headers, expect.headers, how);
        assert.equal(parsed.body, expect.body, how);
        assert.equal(parsed.ended, 1, how);
        if (expect.reusable !== undefined) assert.equal(parsed.reusable, expect.reusable, how);
        if (expect.keepAliveMs !== undefined) assert.equal(parsed.keepAliveMs, expect.keepAliveMs, how);
      }
    });
  }

  const refused: { name: string; text: string; close?: boolean; code?: string }[] = [
    { name: 'Content-Length beside Transfer-Encoding', text: 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n' },
    { name: 'differing Content-Lengths', text: 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n' },
    { name: 'a Content-Length that is not a number', text: 'HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\n' },
    { name: 'a folded header (obs-fold)', text: 'HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 0\r\n\r\n' },
    { name: 'whitespace before the colon', text: 'HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n' },
    { name: 'a control character in a value', text: 'HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n' },
    { name: 'a bare LF inside a value', text: 'HTTP/1.1 200 OK\r\nX-A: a\nX-B: b\r\nContent-Length: 0\r\n\r\n' },
    { name: 'a line without a colon', text: 'HTTP/1.1 200 OK\r\nnonsense\r\n\r\n' },
    { name: 'a bad status line', text: 'HTTP/2 200 OK\r\n\r\n' },
    { name: '101 to a plain request', text: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n' },
    { name: 'a bad chunk size', text: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n' },
    { name: 'chunk data longer than its size', text: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n' },
    { name: 'a head larger than Node allows', text: `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(maxHeaderSize)}\r\n\r\n` },
    {
      name: 'a body cut short by the close',
      text: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort',
      close: true,
      code: 'SWITCHYARD_ERR_UPSTREAM_CLOSED',
    },
    { name: 'a close before any answer', text: '', close: true, code: 'SWITCHYARD_ERR_UPSTREAM_CLOSED' },
  ];
  for (const { name, text, close, code = 'SWITCHYARD_ERR_UPSTREAM_PROTOCOL' } of refused) {
    test(`refused: ${name}`, () => {
      const ways = text.length > 2000 ? [[Buffer.from(text, 'latin1')]] : splits(text);
      for (const pieces of ways) {
        const parsed = parse(pieces, { close });
        assert.equal(parsed.error, code, `split as ${pieces.map((piece) => piece.length).join('+')}`);
      }
    });
  }

  test('one parser reads response after response, and stop() silences it', () => {
    const bodies: string[] = [];
    let ended = 0;
    const parser = new ResponseParser({
      onHead: () => undefined,
      onBody: (chunk) => bodies.push(chunk.toString()),
      onEnd: () => {
        ended += 1;
      },
    });
    for (const body of ['one', 'two']) {
      parser.reset(false);
      assert.equal(parser.execute(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n${body}`)), undefined);
      assert.ok(parser.reusable);
    }
    parser.reset(false);
    parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nthr'));
    parser.stop();
    assert.equal(parser.execute(Buffer.from('ee')), undefined);
    assert.equal(parser.finish(), undefined);
    assert.deepEqual(bodies, ['one', 'two', 'thr']);
    assert.equal(ended, 2);
  });
});

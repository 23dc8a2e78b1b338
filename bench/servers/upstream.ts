// A minimal app server, as fast as Node can answer: 100 bytes at any path, 64 KB at /64k; counts and
// discards uploads (POST /sink answers the byte count) and streams N bytes at /bytes/<N>.
import { createServer, type ServerResponse } from 'node:http';

const small = Buffer.alloc(100, 'a');
const large = Buffer.alloc(64 * 1024, 'b');
const chunk = Buffer.alloc(64 * 1024, 'c');

function stream(res: ServerResponse, total: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
  let sent = 0;
  const write = () => {
    while (sent < total) {
      const piece = total - sent >= chunk.length ? chunk : chunk.subarray(0, total - sent);
      sent += piece.length;
      if (!res.write(piece)) {
        res.once('drain', write);
        return;
      }
    }
    res.end();
  };
  write();
}

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/sink') {
    let counted = 0;
    req.on('data', (data: Buffer) => {
      counted += data.length;
    });
    req.on('end', () => res.end(String(counted)));
    return;
  }
  req.resume();
  req.on('end', () => {
    if (req.url?.startsWith('/bytes/')) {
      stream(res, Number(req.url.slice('/bytes/'.length)));
      return;
    }
    const body = req.url === '/64k' ? large : small;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});

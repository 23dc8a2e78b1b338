// A minimal app server: answers every request with a small body, as fast as Node can.
import { createServer } from 'node:http';

const body = Buffer.from(JSON.stringify({ ok: true, server: process.env.NAME ?? 'upstream' }));
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});

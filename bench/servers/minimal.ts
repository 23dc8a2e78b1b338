// Minimal forwarders, for choosing the upstream client of the forwarding engine (bench/README.md,
// "Engine choice"). Both do the same work per request as little as forwarding can: copy the request
// headers but Connection/Keep-Alive, add X-Forwarded-For, stream both bodies, stop the upstream
// exchange when the client leaves. Modes:
//   undici     undici Pool per upstream (bounded connections, pipelining 1) with `dispatch`
//   node-http  node:http `request` through a keep-alive Agent (bounded sockets, LIFO scheduling)
// Prints {"port"} when listening.
import { Agent, createServer, type IncomingMessage, type OutgoingHttpHeaders, request, type ServerResponse } from 'node:http';
import { Pool } from 'undici';

const [mode = 'undici', target = ''] = process.argv.slice(2);
const CONNECTIONS = 128;

function outgoingHeaders(req: IncomingMessage): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'connection' || name === 'keep-alive') continue;
    headers[name] = raw[i + 1];
  }
  headers['x-forwarded-for'] = req.socket.remoteAddress;
  return headers;
}

function viaUndici(): (req: IncomingMessage, res: ServerResponse) => void {
  const pool = new Pool(target, { connections: CONNECTIONS, pipelining: 1, keepAliveTimeout: 4000 });
  return (req, res) => {
    let resume: () => void = () => undefined;
    let abort: (error: Error) => void = () => undefined;
    let done = false;
    res.on('drain', () => resume());
    // A client that leaves mid-response would otherwise keep its pooled connection paused for ever.
    res.on('close', () => {
      if (!done) abort(new Error('client gone'));
    });
    pool.dispatch(
      {
        method: req.method as 'GET',
        path: req.url ?? '/',
        headers: outgoingHeaders(req) as Record<string, string>,
        body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
      },
      {
        onConnect(abortRequest) {
          abort = abortRequest;
        },
        onError() {
          done = true;
          if (!res.headersSent) res.writeHead(502).end();
          else res.destroy();
        },
        onHeaders(status, rawHeaders, resumeUpstream) {
          resume = resumeUpstream;
          const headers: [string, string][] = [];
          for (let i = 0; i < rawHeaders.length; i += 2) {
            const name = rawHeaders[i]!.toString('latin1');
            const lower = name.toLowerCase();
            if (lower === 'connection' || lower === 'keep-alive' || lower === 'transfer-encoding') continue;
            headers.push([name, rawHeaders[i + 1]!.toString('latin1')]);
          }
          res.writeHead(status, headers.flat());
          return true;
        },
        onData(chunk) {
          return res.write(chunk);
        },
        onComplete() {
          done = true;
          res.end();
        },
      },
    );
  };
}

function viaNodeHttp(): (req: IncomingMessage, res: ServerResponse) => void {
  const url = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS, maxFreeSockets: CONNECTIONS, scheduling: 'lifo' });
  return (req, res) => {
    const upstream = request(
      { host: url.hostname, port: url.port, method: req.method, path: req.url, headers: outgoingHeaders(req), agent },
      (upstreamRes) => {
        const headers = upstreamRes.headers;
        delete headers.connection;
        delete headers['keep-alive'];
        delete headers['transfer-encoding'];
        res.writeHead(upstreamRes.statusCode ?? 502, headers);
        upstreamRes.pipe(res);
      },
    );
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(upstream);
  };
}

const server = createServer(mode === 'undici' ? viaUndici() : viaNodeHttp());
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});

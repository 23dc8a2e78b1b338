// Minimal forwarders, for choosing the upstream client of the forwarding engine (bench/README.md,
// "Engine choice"). Both do the same work per request as little as forwarding can: copy the request
// headers but Connection/Keep-Alive, add X-Forwarded-For, stream both bodies, stop the upstream
// exchange when the client leaves. Modes:
//   undici     undici Pool per upstream (bounded connections, pipelining 1) with `dispatch`
//   node-http  node:http `request` through a keep-alive Agent (bounded sockets, LIFO scheduling)
//   raw        keep-alive net sockets, the request head written as one string, a parser knowing only
//              Content-Length responses, no deadlines: not a usable client, the bound of what one could reach
// Prints {"port"} when listening.
import { Agent, createServer, type IncomingMessage, type OutgoingHttpHeaders, request, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
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

function viaRaw(): (req: IncomingMessage, res: ServerResponse) => void {
  const url = new URL(target);
  const port = Number(url.port);
  const idle: Socket[] = [];
  interface Job {
    res: ServerResponse;
    head: Buffer | undefined;
    remaining: number;
    started: boolean;
  }
  const jobs = new WeakMap<Socket, Job>();
  const onData = function (this: Socket, data: Buffer): void {
    const job = jobs.get(this)!;
    if (!job.started) {
      const buffer = job.head ? Buffer.concat([job.head, data]) : data;
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) {
        job.head = buffer;
        return;
      }
      const text = buffer.toString('latin1', 0, end);
      const lines = text.split('\r\n');
      const status = Number(lines[0]!.slice(9, 12));
      const headers: string[] = [];
      let length = 0;
      for (let i = 1; i < lines.length; i++) {
        const line = lines[i]!;
        const colon = line.indexOf(':');
        const name = line.slice(0, colon);
        const value = line.slice(colon + 1).trim();
        const lower = name.toLowerCase();
        if (lower === 'content-length') length = Number(value);
        if (lower === 'connection' || lower === 'keep-alive' || lower === 'transfer-encoding') continue;
        headers.push(name, value);
      }
      job.started = true;
      job.remaining = length;
      job.res.writeHead(status, headers);
      data = buffer.subarray(end + 4);
    }
    if (data.length > 0) {
      job.remaining -= data.length;
      if (!job.res.write(data)) {
        this.pause();
        job.res.once('drain', () => this.resume());
      }
    }
    if (job.remaining <= 0) {
      job.res.end();
      jobs.delete(this);
      idle.push(this);
    }
  };
  const open = (): Socket => {
    const socket = connect(port, url.hostname);
    socket.setNoDelay(true);
    socket.on('data', onData);
    socket.on('error', () => {
      const job = jobs.get(socket);
      if (job && !job.res.headersSent) job.res.writeHead(502).end();
    });
    socket.on('close', () => {
      const index = idle.indexOf(socket);
      if (index !== -1) idle.splice(index, 1);
    });
    return socket;
  };
  return (req, res) => {
    const socket = idle.pop() ?? open();
    jobs.set(socket, { res, head: undefined, remaining: 0, started: false });
    // A client that leaves mid-response (wrk at the end of a round) would leave its socket paused for ever.
    res.on('close', () => {
      if (jobs.get(socket)?.res === res) socket.destroy();
    });
    const raw = req.rawHeaders;
    let head = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < raw.length; i += 2) {
      const lower = raw[i]!.toLowerCase();
      if (lower === 'connection' || lower === 'keep-alive') continue;
      head += `${raw[i]}: ${raw[i + 1]}\r\n`;
    }
    head += `x-forwarded-for: ${req.socket.remoteAddress}\r\n\r\n`;
    socket.write(head, 'latin1');
  };
}

const server = createServer(mode === 'undici' ? viaUndici() : mode === 'raw' ? viaRaw() : viaNodeHttp());
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});

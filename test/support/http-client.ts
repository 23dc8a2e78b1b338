import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

/** A response read to the end. */
export interface ClientResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** Options of request(). */
export interface ClientRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  /** Source address of the connection, e.g. 127.0.0.2 to look like another client. */
  localAddress?: string;
}

/**
 * One request on a fresh connection (no client keep-alive, so servers close cleanly; no redirects followed).
 * The path goes out as written, `..` and all: a URL object would resolve it before the server could see it.
 */
export function request(url: string, options: ClientRequestOptions = {}): Promise<ClientResponse> {
  const { origin, hostname, port, pathname, search } = new URL(url);
  const path = url.startsWith(origin) ? url.slice(origin.length) || '/' : `${pathname}${search}`;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: hostname.replace(/^\[|\]$/g, ''),
        port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
        localAddress: options.localAddress,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.setTimeout(options.timeoutMs ?? 15_000, () => req.destroy(new Error(`no answer from ${url} in time`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** request() and JSON.parse of the body. */
export async function requestJson<T>(url: string, options: ClientRequestOptions = {}): Promise<{ status: number; json: T }> {
  const response = await request(url, options);
  return { status: response.status, json: JSON.parse(response.body) as T };
}

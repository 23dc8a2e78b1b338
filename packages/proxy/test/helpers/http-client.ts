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
}

/** One request on a fresh connection (no client keep-alive, so servers close cleanly). */
export function request(url: string, options: ClientRequestOptions = {}): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
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

import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { ResolvedProxyOptions } from './options';

/**
 * Keep-alive agents to the upstreams, one for http and one for https targets. Without them
 * http-proxy sends `Connection: close` and opens a new connection (and TLS handshake) per request.
 */
export class UpstreamAgents {
  private readonly options: ConstructorParameters<typeof HttpAgent>[0];
  private http: HttpAgent | undefined;
  private https: HttpsAgent | undefined;

  constructor(options: Pick<ResolvedProxyOptions, 'maxSockets' | 'maxFreeSockets' | 'idleSocketTimeoutMs'>) {
    this.options = {
      keepAlive: true,
      maxSockets: options.maxSockets,
      maxFreeSockets: options.maxFreeSockets,
      // Node applies the agent timeout to sockets while they are idle in the pool and closes them then.
      timeout: options.idleSocketTimeoutMs,
    };
  }

  /** The agent for a target URL (`http://…` or `https://…`). */
  for(target: string): HttpAgent {
    if (target.startsWith('https:')) {
      this.https ??= new HttpsAgent(this.options);
      return this.https;
    }
    this.http ??= new HttpAgent(this.options);
    return this.http;
  }

  /** Closes every pooled socket, idle or busy. */
  destroy(): void {
    this.http?.destroy();
    this.https?.destroy();
  }
}

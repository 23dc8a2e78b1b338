import type { ResolvedProxyOptions } from './options';
import { UpstreamPool } from './upstream-client';

/** One target, parsed once: the connection pool to its origin and what each request needs from it. */
export interface Upstream {
  readonly pool: UpstreamPool;
  /** The target's path without its trailing slash (`''` for a bare origin): prefixed to every proxied path. */
  readonly pathPrefix: string;
  /** `host[:port]` of the target, the Host sent with `changeOrigin`. */
  readonly host: string;
}

/**
 * Keep-alive connection pools to the upstreams (the proxy's own client, one pool per origin;
 * bench/README.md says why). Targets come from the store, so the map stays small; a target no longer routed keeps
 * its idle pool only until its connections time out.
 */
export class UpstreamPools {
  private readonly byTarget = new Map<string, Upstream>();
  private readonly byOrigin = new Map<string, UpstreamPool>();

  constructor(
    private readonly options: Pick<
      ResolvedProxyOptions,
      'maxSockets' | 'maxFreeSockets' | 'idleSocketTimeoutMs' | 'timeoutMs' | 'streamIdleTimeoutMs'
    >,
  ) {}

  /** The upstream of a target URL (`http://…` or `https://…`, validated by the store). */
  for(target: string): Upstream {
    let upstream = this.byTarget.get(target);
    if (upstream) return upstream;
    const url = new URL(target);
    let pool = this.byOrigin.get(url.origin);
    if (!pool) {
      const { maxSockets, maxFreeSockets, idleSocketTimeoutMs, timeoutMs, streamIdleTimeoutMs } = this.options;
      pool = new UpstreamPool(url.origin, {
        maxConnections: maxSockets,
        maxIdle: maxFreeSockets,
        idleTimeoutMs: idleSocketTimeoutMs,
        // "Silent for timeoutMs" while connecting and before the response head; once the response has
        // started, only streamIdleTimeoutMs (0, off, by default), so SSE and long polls are not cut.
        timeoutMs,
        bodyTimeoutMs: streamIdleTimeoutMs,
      });
      this.byOrigin.set(url.origin, pool);
    }
    upstream = { pool, pathPrefix: url.pathname.replace(/\/$/, ''), host: url.host };
    this.byTarget.set(target, upstream);
    return upstream;
  }

  /** Closes every pooled connection, idle or busy (requests still running on them fail). */
  destroy(): void {
    for (const pool of this.byOrigin.values()) pool.destroy();
    this.byOrigin.clear();
    this.byTarget.clear();
  }
}

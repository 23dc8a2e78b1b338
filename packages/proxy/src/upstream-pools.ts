import type { Pool as UndiciPool } from 'undici';
import type { ResolvedProxyOptions } from './options';

/**
 * undici's `Pool` class, loaded from its own module: undici's index loads the whole library (fetch,
 * WebSocket, caches, mocks: 110 modules, about 19 MB of RSS on Node 20) where the proxy needs only the
 * Pool (22 modules, about 10 MB), and a front end's memory is a goal of its own (bench/README.md).
 * undici declares no `exports`, so the file is reachable; should a release move it, the index is
 * loaded instead (more memory, same behaviour), and `upstream-pools.test.ts` fails.
 */
function loadPool(): typeof UndiciPool {
  try {
    return require('undici/lib/dispatcher/pool') as typeof UndiciPool;
  } catch {
    return (require('undici') as typeof import('undici')).Pool;
  }
}

const Pool = loadPool();

/** One target, parsed once: the connection pool to its origin and what each request needs from it. */
export interface Upstream {
  readonly pool: UndiciPool;
  /** The target's path without its trailing slash (`''` for a bare origin): prefixed to every proxied path. */
  readonly pathPrefix: string;
  /** `host[:port]` of the target, the Host sent with `changeOrigin`. */
  readonly host: string;
}

/**
 * Keep-alive connection pools to the upstreams (undici `Pool`, one per origin; bench/README.md says
 * why undici). Targets come from the store, so the map stays small; a target no longer routed keeps
 * its idle pool only until its connections time out.
 */
export class UpstreamPools {
  private readonly byTarget = new Map<string, Upstream>();
  private readonly byOrigin = new Map<string, UndiciPool>();

  constructor(
    private readonly options: Pick<ResolvedProxyOptions, 'maxSockets' | 'idleSocketTimeoutMs' | 'timeoutMs' | 'streamIdleTimeoutMs'>,
  ) {}

  /** The upstream of a target URL (`http://…` or `https://…`, validated by the store). */
  for(target: string): Upstream {
    let upstream = this.byTarget.get(target);
    if (upstream) return upstream;
    const url = new URL(target);
    let pool = this.byOrigin.get(url.origin);
    if (!pool) {
      const { maxSockets, idleSocketTimeoutMs, timeoutMs, streamIdleTimeoutMs } = this.options;
      pool = new Pool(url.origin, {
        connections: Number.isFinite(maxSockets) ? maxSockets : null,
        // One request per connection at a time: arbitrary upstreams are not safe to pipeline to.
        pipelining: 1,
        keepAliveTimeout: idleSocketTimeoutMs,
        keepAliveMaxTimeout: idleSocketTimeoutMs,
        // "Silent for timeoutMs" while connecting and before the response head; once the response has
        // started, only streamIdleTimeoutMs (0, off, by default), so SSE and long polls are not cut.
        connect: { timeout: timeoutMs },
        headersTimeout: timeoutMs,
        bodyTimeout: streamIdleTimeoutMs,
      });
      this.byOrigin.set(url.origin, pool);
    }
    upstream = { pool, pathPrefix: url.pathname.replace(/\/$/, ''), host: url.host };
    this.byTarget.set(target, upstream);
    return upstream;
  }

  /** Closes every pooled connection, idle or busy (requests still running on them fail). */
  destroy(): void {
    for (const pool of this.byOrigin.values()) void pool.destroy().catch(() => undefined);
    this.byOrigin.clear();
    this.byTarget.clear();
  }
}

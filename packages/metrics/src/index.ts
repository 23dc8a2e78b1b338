import type { IncomingMessage, ServerResponse } from 'node:http';
import { type FrontEnd, requestInfo, SwitchyardError } from '@switchyard/core';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export { Registry } from 'prom-client';

/** Options of createMetrics. */
export interface MetricsOptions {
  /** The running front end whose requests, counters, state and Redis connection are measured. */
  frontEnd: FrontEnd;
  /** Where the metrics are registered. Default: a new registry of their own (not prom-client's global one). */
  registry?: Registry;
  /** Prefix of every metric name. Default `switchyard_`. */
  prefix?: string;
  /** Also collect prom-client's process and Node.js metrics (CPU, memory, event loop lag…) into the registry. Default false. */
  defaultMetrics?: boolean;
  /** Buckets of the request latency histogram, in seconds. */
  latencyBuckets?: readonly number[];
}

/** A request observer: called when a request arrives, it measures the request when its response ends. */
export type RequestObserver = (req: IncomingMessage, res: ServerResponse) => void;

/** The metrics of one front end, and the ways to expose them. */
export interface SwitchyardMetrics {
  /** The prom-client registry holding them. */
  readonly registry: Registry;
  /**
   * Call for every request when it arrives (`createFrontDoor({ observers: [metrics.observe] })`, or
   * first thing in Koa/Express middleware: `(req, res, next) => { metrics.observe(req, res); next(); }`).
   */
  readonly observe: RequestObserver;
  /**
   * Answers with the registry in Prometheus' text format (GET and HEAD; other methods get 405).
   * Mount it where you like: `http.createServer(metrics.handler)`, `app.get('/metrics', metrics.handler)`,
   * or in Koa `ctx.respond = false; metrics.handler(ctx.req, ctx.res)`.
   */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Stops listening to the front end's watcher. */
  close(): void;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const APPLY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/**
 * Prometheus metrics of a front end. Label values come from the store (site names and targets, as
 * noted on each request by maintenance and the proxy) or from a fixed set (status class, failure
 * kind, maintenance outcome), never from the request itself, so a client cannot grow the series.
 *
 * | metric | type | labels |
 * | --- | --- | --- |
 * | `requests_total` | counter | `site`, `target`, `status_class` (`2xx`…`5xx`, `aborted`) |
 * | `request_duration_seconds` | histogram | `site`, `target` |
 * | `upstream_failures_total` | counter | `site`, `target`, `kind` (`refused`, `timeout`, `reset`) |
 * | `maintenance_requests_total` | counter | `site`, `outcome` (`refused`, `held` then let through, `bypassed`) |
 * | `held_requests` | gauge | — requests waiting for maintenance to end now |
 * | `in_flight_requests`, `in_flight_writes` | gauge | — |
 * | `state_version` | gauge | — version of the state applied |
 * | `state_apply_seconds` | histogram | — from a pushed change's notification to the new state in force |
 * | `redis_connected` | gauge | — 1 or 0 |
 * | `invalid_keys` | gauge | — keys whose stored value is invalid (the last good value is kept) |
 * | `lost_state` | gauge | — 1 while keeping state Redis lost |
 * | `front_end_info` | gauge | `front_end` (the id in `switchyard fronts`), always 1 |
 */
export function createMetrics(options: MetricsOptions): SwitchyardMetrics {
  const { frontEnd } = options;
  if (!frontEnd?.watcher) {
    throw new SwitchyardError(
      'SWITCHYARD_ERR_INVALID_OPTION',
      'metrics need a running front end: { frontEnd: await createFrontEnd({ store }) }',
    );
  }
  const prefix = options.prefix ?? 'switchyard_';
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(`${prefix}x`)) {
    throw new SwitchyardError(
      'SWITCHYARD_ERR_INVALID_OPTION',
      `metrics prefix ${JSON.stringify(prefix)} is not a valid Prometheus name prefix`,
    );
  }
  const registry = options.registry ?? new Registry();
  const registers = [registry];
  const { stats, watcher } = frontEnd;
  // A gauge read from the front end when scraped, so it is never stale and costs nothing per request.
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name: `${prefix}${name}`,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });

  const requests = new Counter({
    name: `${prefix}requests_total`,
    help: 'Requests answered, by site, target (empty when not proxied) and status class.',
    labelNames: ['site', 'target', 'status_class'] as const,
    registers,
  });
  const latency = new Histogram({
    name: `${prefix}request_duration_seconds`,
    help: 'Time from a request arriving to its response ending, by site and target.',
    labelNames: ['site', 'target'] as const,
    buckets: [...(options.latencyBuckets ?? LATENCY_BUCKETS)],
    registers,
  });
  const failures = new Counter({
    name: `${prefix}upstream_failures_total`,
    help: 'Proxied requests whose upstream exchange failed, by kind: refused (502), timeout (504), reset (502 or a cut response).',
    labelNames: ['site', 'target', 'kind'] as const,
    registers,
  });
  const maintenance = new Counter({
    name: `${prefix}maintenance_requests_total`,
    help: 'Requests maintenance acted on, by how they ended: refused, held (then let through) or bypassed (allow-list, cookie, secret).',
    labelNames: ['site', 'outcome'] as const,
    registers,
  });
  gauge('held_requests', 'Requests waiting for maintenance to end, now.', () => stats.held);
  gauge('in_flight_requests', 'Requests being proxied, now.', () => stats.inFlight);
  gauge(
    'in_flight_writes',
    'Requests with an unsafe method (POST, PUT, PATCH, DELETE…) being proxied, now: what a cutover waits to drain.',
    () => stats.inFlightWrites,
  );
  gauge('state_version', 'Version of the routing and maintenance state this front end applies.', () => watcher.version);
  const applyTime = new Histogram({
    name: `${prefix}state_apply_seconds`,
    help: 'Time from a change pushed by Redis reaching this front end to the new state being in force.',
    buckets: APPLY_BUCKETS,
    registers,
  });
  gauge('redis_connected', '1 while Redis is reachable; 0 while the front end serves its last good state without it.', () =>
    watcher.connected ? 1 : 0,
  );
  gauge(
    'invalid_keys',
    'State keys whose value in Redis is invalid; this front end keeps its last good value for each (`switchyard status` names them).',
    () => watcher.invalidKeys.length,
  );
  gauge('lost_state', '1 while this front end keeps state that Redis lost (restarted empty); `switchyard restore` writes it back.', () =>
    watcher.lostState ? 1 : 0,
  );
  new Gauge({
    name: `${prefix}front_end_info`,
    help: 'Always 1; the front end id is the one `switchyard fronts` shows.',
    labelNames: ['front_end'] as const,
    registers,
  }).set({ front_end: frontEnd.id }, 1);
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });

  const onApplied = (_version: number, elapsedMs: number) => applyTime.observe(elapsedMs / 1000);
  watcher.on('applied', onApplied);

  const observe: RequestObserver = (req, res) => {
    const started = performance.now();
    // `on`, not `once`: a response closes once, and `once` would wrap the listener on every request.
    res.on('close', () => {
      const info = requestInfo(req);
      const site = info?.site ?? '';
      const target = info?.target ?? '';
      const statusClass = res.headersSent ? `${Math.floor(res.statusCode / 100)}xx` : 'aborted';
      requests.inc({ site, target, status_class: statusClass });
      latency.observe({ site, target }, (performance.now() - started) / 1000);
      if (info?.upstreamFailure) failures.inc({ site, target, kind: info.upstreamFailure });
      if (info?.maintenance) maintenance.inc({ site, outcome: info.maintenance });
    });
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, {
          'Content-Type': registry.contentType,
          'Cache-Control': 'no-store',
          'Content-Length': Buffer.byteLength(text),
        });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (error: Error) => {
        frontEnd.logger.error({ err: error.message }, 'could not collect the metrics');
        if (!res.headersSent) res.writeHead(500, { 'Cache-Control': 'no-store' }).end();
      },
    );
  };

  return {
    registry,
    observe,
    handler,
    close: () => {
      watcher.off('applied', onApplied);
    },
  };
}

import { cliError } from './errors';

/** Options of checkHealth. */
export interface HealthCheckOptions {
  /** Path appended to the target, `/` by default. */
  path?: string;
  /** How long the target may take to answer. Default 5000 ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A passed health check. */
export interface HealthCheckResult {
  readonly url: string;
  readonly status: number;
  readonly elapsedMs: number;
}

/**
 * `GET <target><path>` expecting 2xx or 3xx within the timeout. Redirects are not followed: a
 * redirect proves the server is up, and following it could test some other server.
 * Throws SWITCHYARD_ERR_HEALTH_CHECK_FAILED (one line saying what happened) otherwise.
 */
export async function checkHealth(target: string, options: HealthCheckOptions = {}): Promise<HealthCheckResult> {
  const path = options.path ?? '/';
  const url = target.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
  const timeoutMs = options.timeoutMs ?? 5000;
  const started = performance.now();
  const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])];
  let status: number;
  try {
    const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.any(signals), headers: { 'user-agent': 'switchyard' } });
    status = response.status;
    await response.body?.cancel();
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    const failure = error as Error & { cause?: { code?: string; message?: string } };
    const why =
      failure.name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : (failure.cause?.code ?? failure.cause?.message ?? failure.message);
    throw cliError('SWITCHYARD_ERR_HEALTH_CHECK_FAILED', `health check GET ${url} failed: ${why}`, { cause: error });
  }
  if (status < 200 || status >= 400) {
    throw cliError('SWITCHYARD_ERR_HEALTH_CHECK_FAILED', `health check GET ${url} answered ${status}; expected 2xx or 3xx`);
  }
  return { url, status, elapsedMs: Math.round(performance.now() - started) };
}

import { execFile, execFileSync } from 'node:child_process';
import { Agent, get } from 'node:http';
import autocannon from 'autocannon';

/** One measurement of one front end. */
export interface Measurement {
  readonly rps: number;
  /** 99th percentile latency in ms. */
  readonly p99: number;
  /** Socket errors, timeouts and non-2xx/3xx responses. */
  readonly errors: number;
  /** Requests completed. */
  readonly requests: number;
}

/** The load generator: wrk when installed (1 thread, as the issue measures), autocannon otherwise. */
export interface LoadGenerator {
  readonly name: string;
  measure(url: string, options: { connections: number; durationS: number; script?: string }): Promise<Measurement>;
}

/** wrk's version line, or undefined when wrk is not installed. */
export function wrkVersion(): string | undefined {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'pipe', timeout: 5000 });
  } catch (error) {
    // wrk prints its version and exits 1.
    const out = String((error as { stdout?: Buffer }).stdout ?? '');
    if (/^wrk \S+/.test(out)) return out.split('\n', 1)[0]!.split(' [', 1)[0];
    return undefined;
  }
  return 'wrk';
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  if (unit === 'us') return n / 1000;
  if (unit === 's') return n * 1000;
  if (unit === 'm') return n * 60_000;
  return n;
}

/** Parses wrk's output (run with --latency). */
export function parseWrk(out: string): Measurement {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = non2xx + (socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0);
  const requests = Number(/(\d+) requests in /.exec(out)?.[1] ?? 0);
  return { rps, p99: p99 ? toMs(p99[1]!, p99[2]!) : Number.NaN, errors, requests };
}

export const wrk: LoadGenerator = {
  name: 'wrk',
  measure(url, { connections, durationS, script }) {
    const args = ['-t1', `-c${connections}`, `-d${durationS}s`, '--latency', ...(script ? ['-s', script] : []), url];
    return new Promise((resolve, reject) => {
      execFile('wrk', args, { timeout: (durationS + 30) * 1000 }, (error, stdout) => {
        if (error) reject(new Error(`wrk ${args.join(' ')}: ${error.message}`));
        else resolve(parseWrk(stdout));
      });
    });
  },
};

export const autocannonLoad: LoadGenerator = {
  name: 'autocannon (wrk not installed)',
  async measure(url, { connections, durationS }) {
    const result = await autocannon({ url, connections, duration: durationS, pipelining: 1 });
    return {
      rps: result.requests.average,
      p99: result.latency.p99,
      errors: result.errors + result.timeouts + result.non2xx,
      requests: result.requests.total,
    };
  },
};

/** The median of a list of numbers. */
export function median(list: readonly number[]): number {
  const sorted = [...list].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The p-th percentile (0–100) of a list, nearest rank. */
export function percentile(list: readonly number[], p: number): number {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Sends exactly `total` GETs to `url` over `connections` keep-alive connections and resolves when all
 * have answered 2xx (for counts, not timings: wrk runs for a time, not a number of requests). Fails on
 * any other status, a socket error, or a request unanswered after `requestTimeoutMs` (generous: the
 * server may run under valgrind).
 */
export async function sendRequests(url: string, total: number, { connections = 20, requestTimeoutMs = 120_000 } = {}): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  let sent = 0;
  const worker = async () => {
    while (sent < total) {
      sent += 1;
      const status = await new Promise<number>((resolve, reject) => {
        get(url, { agent, signal: AbortSignal.timeout(requestTimeoutMs) }, (res) => {
          res.resume();
          res.once('end', () => resolve(res.statusCode ?? 0));
          res.once('error', reject);
        }).once('error', reject);
      });
      if (status < 200 || status > 299) throw new Error(`${url} answered ${status}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: connections }, worker));
  } finally {
    agent.destroy();
  }
}

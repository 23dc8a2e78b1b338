import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';

/** Options of a LoadGenerator. */
export interface LoadOptions {
  /** The front end's base URL, e.g. `http://127.0.0.1:4321`. */
  target: string;
  /** Requests started per second, whether or not earlier ones have answered (open loop, like real users); every other one is a write. */
  rate: number;
}

/** What the load generator saw. */
export interface LoadResult {
  /** Requests started. */
  readonly sent: number;
  readonly reads: number;
  readonly writes: number;
  /** Answers by HTTP status, and transport failures by error code (`ECONNRESET`, `timeout`…). */
  readonly outcomes: Readonly<Record<string, number>>;
  /** Requests answered with a status of 400 or more, or not answered at all. */
  readonly failed: number;
  /** Every acknowledged write: note id → name of the app server that committed it. */
  readonly acknowledged: ReadonlyMap<string, string>;
  /** Slowest answered request, in ms (a held write waits out the maintenance window). */
  readonly slowestMs: number;
}

/** A request still unanswered after this long counts as failed (`timeout`); far longer than any hold. */
const REQUEST_TIMEOUT_MS = 130_000;

interface Answer {
  status: number;
  body: string;
}

/**
 * Sends a steady mix of guestbook reads and writes through a front end and records every write the
 * app servers acknowledged, with a unique id each, so the new database can be checked for all of them.
 * Reads alternate between the latest notes and a note acknowledged earlier, so a note missing after
 * the switch also shows up as a failed (404) read.
 */
export class LoadGenerator {
  private readonly target: URL;
  private readonly rate: number;
  private readonly agent = new Agent({ keepAlive: true });
  private readonly runTag = randomBytes(4).toString('hex');
  private readonly pending = new Set<Promise<void>>();
  private readonly outcomes: Record<string, number> = {};
  private readonly acknowledged = new Map<string, string>();
  private readonly acknowledgedIds: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private sent = 0;
  private reads = 0;
  private writes = 0;
  private failed = 0;
  private slowestMs = 0;

  constructor(options: LoadOptions) {
    this.target = new URL(options.target);
    this.rate = options.rate;
  }

  /** Starts sending. */
  start(): void {
    this.startedAt = performance.now();
    // Catch up on what is due rather than trusting each tick, so a busy event loop does not lower the rate.
    this.timer = setInterval(() => {
      const due = Math.floor(((performance.now() - this.startedAt) / 1000) * this.rate);
      while (this.sent < due) this.send();
    }, 5);
  }

  /** Acknowledged writes so far, by app server name. */
  acknowledgedBy(): Record<string, number> {
    return countByServer(this.acknowledged);
  }

  /** Stops sending, waits for every request in flight to finish, and returns what happened (again on later calls). */
  async stop(): Promise<LoadResult> {
    clearInterval(this.timer);
    await Promise.all(this.pending);
    this.agent.destroy();
    return {
      sent: this.sent,
      reads: this.reads,
      writes: this.writes,
      outcomes: { ...this.outcomes },
      failed: this.failed,
      acknowledged: new Map(this.acknowledged),
      slowestMs: Math.round(this.slowestMs),
    };
  }

  private send(): void {
    const index = this.sent;
    this.sent += 1;
    const work = index % 2 === 0 ? this.write(index) : this.read(index);
    const tracked = work.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  private async write(index: number): Promise<void> {
    this.writes += 1;
    const id = `${this.runTag}-${index}`;
    const answer = await this.call('POST', '/notes', JSON.stringify({ id, text: `note ${index} from the load generator` }));
    if (answer?.status !== 201 && answer?.status !== 200) return;
    const body = parseJson(answer.body) as { id?: unknown; server?: unknown } | undefined;
    // Only an answer naming this write's id is an acknowledgement (not, say, some page with a 200).
    if (body?.id !== id) return;
    this.acknowledged.set(id, typeof body.server === 'string' ? body.server : 'unknown');
    this.acknowledgedIds.push(id);
  }

  private async read(index: number): Promise<void> {
    this.reads += 1;
    const known = this.acknowledgedIds;
    const path = index % 4 === 1 || known.length === 0 ? '/notes' : `/notes/${known[Math.floor(Math.random() * known.length)]}`;
    await this.call('GET', path);
  }

  /** One request; records its outcome and returns the answer, or undefined when there was none. */
  private async call(method: string, path: string, body?: string): Promise<Answer | undefined> {
    const started = performance.now();
    try {
      const answer = await this.exchange(method, path, body);
      this.slowestMs = Math.max(this.slowestMs, performance.now() - started);
      this.count(String(answer.status), answer.status >= 400);
      return answer;
    } catch (error) {
      this.count((error as NodeJS.ErrnoException).code ?? 'error', true);
      return undefined;
    }
  }

  private count(outcome: string, failed: boolean): void {
    this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
    if (failed) this.failed += 1;
  }

  private exchange(method: string, path: string, body?: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.target),
        {
          method,
          agent: this.agent,
          timeout: REQUEST_TIMEOUT_MS,
          headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { code: 'timeout' })));
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** Counts acknowledged writes per app server. */
export function countByServer(acknowledged: ReadonlyMap<string, string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const server of acknowledged.values()) counts[server] = (counts[server] ?? 0) + 1;
  return counts;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

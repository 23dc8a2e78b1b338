import { lookup } from 'node:dns/promises';
import type { ReplicationKind } from '../types';

/**
 * What differs between streaming and logical replication; `PostgresMove` (index.ts) does the rest
 * (fence, positions, lag, old transactions) the same way for both.
 */
export interface ReplicationLink {
  readonly kind: ReplicationKind;
  /** Proves the target replicates this source and the replication is healthy; adds one line per check; throws `SWITCHYARD_ERR_DB_PREFLIGHT`. */
  verify(checks: string[]): Promise<void>;
  /** One look at the target: has it applied everything up to the source position `position`? */
  progress(position: string): Promise<LinkProgress>;
  /** Makes the target writable and detached from the source, within `timeoutMs`. */
  promote(options: { timeoutMs: number; signal?: AbortSignal }): Promise<void>;
}

/** Where the target stands. */
export interface LinkProgress {
  /** Everything up to the position is applied on the target. */
  readonly reached: boolean;
  /** The position the target has applied (the least of its subscriptions'), when known. */
  readonly lsn: string | null;
  /** Where it stands, for messages. */
  readonly applied: string;
}

/**
 * Whether a replication connection to `host:port` (as the target sees it) reaches the source, which
 * we reach at `sourceUrl` and which says it listens on `serverAddress:serverPort`. Host names are
 * resolved (bounded by `timeoutMs`); NAT or proxies can hide a match, so callers treat "no" on the
 * host alone as unproven rather than wrong, but a different port as a different server.
 */
export async function sameEndpoint(
  host: string | null,
  port: number | null,
  source: { url: string; serverAddress: string | null; serverPort: number },
  timeoutMs: number,
): Promise<'yes' | 'unproven' | 'no'> {
  if (port !== null && port !== source.serverPort && port !== Number(new URL(source.url).port || 5432)) return 'no';
  if (host === null) return 'unproven';
  const sourceHost = new URL(source.url).hostname.replace(/^\[|\]$/g, '');
  const known = new Set([sourceHost, source.serverAddress].filter((value): value is string => Boolean(value)));
  if (known.has(host)) return 'yes';
  const resolve = async (name: string) =>
    Promise.race([
      lookup(name, { all: true }).then((all) => all.map((entry) => entry.address)),
      new Promise<string[]>((resolve) => setTimeout(() => resolve([]), timeoutMs).unref()),
    ]).catch(() => [] as string[]);
  const [theirs, ours] = await Promise.all([resolve(host), resolve(sourceHost)]);
  const ourAddresses = new Set([...ours, ...known]);
  return theirs.some((address) => ourAddresses.has(address)) ? 'yes' : 'unproven';
}

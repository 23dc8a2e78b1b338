import pg from 'pg';
import { dbError } from '../errors';
import { type LinkProgress, type ReplicationLink, sameEndpoint } from './link';
import { lsnReached, parseLsn } from './lsn';
import type { PgSession } from './session';
import { waitUntilWritable } from './writable';

const refuse = (message: string) => dbError('SWITCHYARD_ERR_DB_PREFLIGHT', message);

/** A subscription in the target's database. */
export interface Subscription {
  readonly oid: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly slot: string | null;
  readonly publications: string[];
}

/** The subscriptions of the target URL's database (empty when there are none). */
export function listSubscriptions(target: PgSession): Promise<Subscription[]> {
  return target.query<Subscription & Record<string, unknown>>(
    `SELECT oid::text AS oid, subname::text AS name, subenabled AS enabled, subslotname::text AS slot, subpublications::text[] AS publications
       FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY subname`,
  );
}

/**
 * Logical replication: the target subscribes to publications on the source. Which subscriptions
 * replicate this source is proved by their replication slots, which live on the publisher.
 */
export class LogicalLink implements ReplicationLink {
  readonly kind = 'postgres-logical' as const;
  private readonly source: PgSession;
  private readonly target: PgSession;
  private readonly subscriptions: readonly Subscription[];
  private readonly sourceUrl: string;
  private readonly lookupTimeoutMs: number;
  private ours: Promise<Subscription[]> | undefined;

  constructor(source: PgSession, target: PgSession, subscriptions: readonly Subscription[], sourceUrl: string, lookupTimeoutMs: number) {
    this.source = source;
    this.target = target;
    this.subscriptions = subscriptions;
    this.sourceUrl = sourceUrl;
    this.lookupTimeoutMs = lookupTimeoutMs;
  }

  async verify(checks: string[]): Promise<void> {
    const ours = await this.fromSource();
    const names = ours.map((sub) => sub.name).join(', ');
    checks.push(`target subscribes to the source (subscription ${names}; its replication slot is on the source)`);
    const oids = ours.map((sub) => sub.oid);
    const [workers, syncing, slots, publications, conninfo] = await Promise.all([
      this.target.query<{ oid: string }>(
        'SELECT subid::text AS oid FROM pg_stat_subscription WHERE relid IS NULL AND pid IS NOT NULL AND subid::text = ANY($1)',
        [oids],
      ),
      this.target.query<{ oid: string; tables: number }>(
        "SELECT srsubid::text AS oid, count(*)::int AS tables FROM pg_subscription_rel WHERE srsubstate <> 'r' AND srsubid::text = ANY($1) GROUP BY srsubid",
        [oids],
      ),
      this.slots(ours),
      this.source.query<{ name: string }>('SELECT pubname::text AS name FROM pg_publication WHERE pubname = ANY($1)', [
        ours.flatMap((sub) => sub.publications),
      ]),
      // Only superusers may read the connection string; without it the slot is the proof.
      this.target
        .query<{ oid: string; conninfo: string }>(
          'SELECT oid::text AS oid, subconninfo AS conninfo FROM pg_subscription WHERE oid::text = ANY($1)',
          [oids],
        )
        .catch(() => []),
    ]);
    const addr = await this.source.one<{ addr: string | null; port: string }>(
      "SELECT host(inet_server_addr()) AS addr, current_setting('port') AS port",
    );
    for (const sub of ours) {
      if (!sub.enabled)
        throw refuse(
          `replication is not running: subscription ${sub.name} on the target is disabled (ALTER SUBSCRIPTION ${sub.name} ENABLE)`,
        );
      if (!workers.some((worker) => worker.oid === sub.oid)) {
        throw refuse(`replication is not running: subscription ${sub.name} has no apply worker on the target (see the target's log)`);
      }
      const pending = syncing.find((row) => row.oid === sub.oid);
      if (pending)
        throw refuse(`subscription ${sub.name} is still copying ${pending.tables} table(s): wait until its initial copy is done`);
      if (!slots.find((slot) => slot.name === sub.slot)?.active) {
        throw refuse(`replication is not running: the source's slot ${sub.slot} for subscription ${sub.name} has no connected walsender`);
      }
      const missing = sub.publications.filter((name) => !publications.some((publication) => publication.name === name));
      if (missing.length > 0)
        throw refuse(`subscription ${sub.name} wants publication(s) ${missing.join(', ')}, which the source does not have`);
      const info = conninfo.find((row) => row.oid === sub.oid)?.conninfo;
      if (info) {
        const parsed = parseConninfo(info);
        const endpoint = await sameEndpoint(
          parsed.host ?? null,
          parsed.port ? Number(parsed.port) : null,
          { url: this.sourceUrl, serverAddress: addr.addr, serverPort: Number(addr.port) },
          this.lookupTimeoutMs,
        );
        if (endpoint === 'no')
          throw refuse(`subscription ${sub.name} connects to ${parsed.host}:${parsed.port}, not to the source: check --db-source`);
      }
    }
    checks.push(
      `replication is running (apply worker${ours.length > 1 ? 's' : ''} up, slot${ours.length > 1 ? 's' : ''} active, tables synchronized)`,
    );
  }

  async progress(position: string): Promise<LinkProgress> {
    const ours = await this.fromSource();
    const [applied, slots] = await Promise.all([
      // latest_end_lsn: the last keepalive position the apply worker processed (it applies in order, so everything before it is in);
      // the origin's remote_lsn: the end of the last transaction it committed.
      this.target.query<{ oid: string; keepalive: string | null; committed: string | null }>(
        `SELECT s.oid::text AS oid, st.latest_end_lsn::text AS keepalive, os.remote_lsn::text AS committed
           FROM pg_subscription AS s
           LEFT JOIN pg_stat_subscription AS st ON st.subid = s.oid AND st.relid IS NULL
           LEFT JOIN pg_replication_origin_status AS os ON os.external_id = 'pg_' || s.oid
          WHERE s.oid::text = ANY($1)`,
        [ours.map((sub) => sub.oid)],
      ),
      this.slots(ours),
    ]);
    const states = ours.map((sub) => {
      const row = applied.find((entry) => entry.oid === sub.oid);
      const confirmed = slots.find((slot) => slot.name === sub.slot)?.confirmed ?? null;
      const known = [row?.keepalive, row?.committed, confirmed].filter((lsn): lsn is string => typeof lsn === 'string');
      const lsn = known.reduce<string | null>((best, next) => (best === null || parseLsn(next) > parseLsn(best) ? next : best), null);
      return { reached: lsnReached(lsn, position), lsn, text: `${sub.name} at ${lsn ?? 'nothing'}` };
    });
    const least = states.reduce<string | null>(
      (worst, state) => (state.lsn === null || worst === null ? null : parseLsn(state.lsn) < parseLsn(worst) ? state.lsn : worst),
      states[0]?.lsn ?? null,
    );
    return { reached: states.every((state) => state.reached), lsn: least, applied: states.map((state) => state.text).join(', ') };
  }

  /** Copies the sequences, disables the subscriptions, and waits until their apply workers are gone. */
  async promote({ timeoutMs, signal }: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    const started = Date.now();
    const ours = await this.fromSource();
    await this.copySequences();
    for (const sub of ours) await this.target.query(`ALTER SUBSCRIPTION ${pg.escapeIdentifier(sub.name)} DISABLE`);
    const oids = ours.map((sub) => sub.oid);
    await waitUntilWritable(this.target, {
      started,
      timeoutMs,
      signal,
      what: `detaching the target ${this.target.safeUrl}`,
      blocker: async () => {
        const workers = await this.target.query('SELECT 1 FROM pg_stat_subscription WHERE pid IS NOT NULL AND subid::text = ANY($1)', [
          oids,
        ]);
        return workers.length > 0 ? `${workers.length} apply worker(s) still running` : undefined;
      },
    });
    this.target.logger.info(
      { slots: ours.map((sub) => sub.slot) },
      'subscriptions disabled; their slots on the old server keep its WAL until you DROP SUBSCRIPTION on the new one',
    );
  }

  /**
   * Logical replication does not carry sequences: without this the first insert on the target
   * collides with a key the source already used. Each sequence the target also has is moved up to
   * the source's value (never backwards, in the sequence's own direction).
   */
  private async copySequences(): Promise<void> {
    const sequences = await this.source.query<{ schema: string; name: string; value: string }>(
      'SELECT schemaname::text AS schema, sequencename::text AS name, last_value::text AS value FROM pg_sequences WHERE last_value IS NOT NULL',
    );
    if (sequences.length === 0) return;
    const rows = await this.target.query<{ schema: string; name: string; set_to: string | null }>(
      `WITH wanted AS (
         SELECT s.schema, s.name, s.value, to_regclass(format('%I.%I', s.schema, s.name)) AS seq
           FROM unnest($1::text[], $2::text[], $3::bigint[]) AS s(schema, name, value))
       SELECT w.schema, w.name,
              CASE WHEN w.seq IS NULL THEN NULL
                   ELSE setval(w.seq, CASE WHEN t.increment_by > 0 THEN greatest(w.value, coalesce(t.last_value, w.value))
                                           ELSE least(w.value, coalesce(t.last_value, w.value)) END, true)::text END AS set_to
         FROM wanted AS w LEFT JOIN pg_sequences AS t ON t.schemaname = w.schema AND t.sequencename = w.name`,
      [sequences.map((row) => row.schema), sequences.map((row) => row.name), sequences.map((row) => row.value)],
    );
    const missing = rows.filter((row) => row.set_to === null).map((row) => `${row.schema}.${row.name}`);
    if (missing.length > 0)
      this.target.logger.warn({ sequences: missing }, 'sequences of the source that the target does not have were not copied');
    this.target.logger.info({ copied: rows.length - missing.length }, 'sequence values copied from the source');
  }

  /** Our subscriptions: those whose slot is on the source, in the source URL's database. */
  private fromSource(): Promise<Subscription[]> {
    this.ours ??= this.slots(this.subscriptions).then((slots) => {
      const ours = this.subscriptions.filter((sub) => slots.some((slot) => slot.name === sub.slot));
      if (ours.length === 0) {
        const names = this.subscriptions.map((sub) => sub.name).join(', ');
        throw refuse(
          `the target's subscription${this.subscriptions.length > 1 ? 's' : ''} (${names}) do${this.subscriptions.length > 1 ? '' : 'es'} not replicate from the source: it has no matching replication slot in this database (check --db-source)`,
        );
      }
      return ours;
    });
    this.ours.catch(() => {
      this.ours = undefined;
    });
    return this.ours;
  }

  private slots(subscriptions: readonly Subscription[]): Promise<Array<{ name: string; active: boolean; confirmed: string | null }>> {
    return this.source.query(
      `SELECT slot_name::text AS name, active, confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots
        WHERE slot_type = 'logical' AND database = current_database() AND slot_name = ANY($1)`,
      [subscriptions.map((sub) => sub.slot).filter((slot) => slot !== null)],
    );
  }
}

/** `host=… port=…` pairs of a libpq connection string (values may be quoted); the password is never kept. */
function parseConninfo(conninfo: string): { host?: string; port?: string } {
  const found: { host?: string; port?: string } = {};
  if (/^postgres(ql)?:\/\//i.test(conninfo)) {
    try {
      const url = new URL(conninfo);
      return { host: url.hostname, port: url.port || '5432' };
    } catch {
      return found;
    }
  }
  for (const match of conninfo.matchAll(/(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/g)) {
    const key = match[1];
    const value = (match[2] ?? '').replace(/^'|'$/g, '').replace(/\\(.)/g, '$1');
    if (key === 'host' || key === 'hostaddr') found.host ??= value;
    if (key === 'port') found.port = value;
  }
  return found;
}

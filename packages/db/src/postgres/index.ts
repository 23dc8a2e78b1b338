/**
 * The PostgreSQL engine: streaming (the target is a standby) or logical (the target subscribes to
 * the source) replication, detected when the move is opened. What both kinds share lives here —
 * detection, the guardrails on the source (old transactions, lag measured by positions), fencing,
 * positions — and what differs in `streaming.ts` / `logical.ts`.
 */
import { pollUntil } from '../deadline';
import { dbError, isDatabaseError } from '../errors';
import type { DatabaseMove, EngineContext, PreflightLimits, PreflightReport, ReplicationPosition } from '../types';
import { type FenceState, fenceSource, liftFence, readOnlySource, unfenceSource } from './fence';
import type { ReplicationLink } from './link';
import { LogicalLink, listSubscriptions } from './logical';
import { lsnBytesBehind } from './lsn';
import { PgSession } from './session';
import { StreamingLink } from './streaming';

const refuse = (message: string) => dbError('SWITCHYARD_ERR_DB_PREFLIGHT', message);

/** Opens a PostgreSQL move: connects to both ends and detects the replication between them. Changes nothing. */
export async function openPostgresMove(context: EngineContext): Promise<DatabaseMove> {
  const source = new PgSession('source', context.sourceUrl, context);
  const target = new PgSession('target', context.targetUrl, context);
  try {
    const identity = `SELECT pg_is_in_recovery() AS recovery, system_identifier::text AS sysid, pg_postmaster_start_time()::text AS started,
                             current_setting('server_version_num')::int AS version FROM pg_control_system()`;
    type Identity = { recovery: boolean; sysid: string; started: string; version: number };
    const options = { failCode: 'SWITCHYARD_ERR_DB_PREFLIGHT' } as const;
    const [sourceInfo, targetInfo] = await Promise.all([
      source.one<Identity>(identity, [], options),
      target.one<Identity>(identity, [], options),
    ]);
    if (sourceInfo.sysid === targetInfo.sysid && sourceInfo.started === targetInfo.started && sourceInfo.recovery === targetInfo.recovery) {
      throw refuse(`the source ${source.safeUrl} and the target ${target.safeUrl} are the same server`);
    }
    for (const [side, info] of [
      ['source', sourceInfo],
      ['target', targetInfo],
    ] as const) {
      if (info.version < 120000)
        throw refuse(`the ${side} runs PostgreSQL ${Math.floor(info.version / 10000)}; 12 or newer is needed (pg_promote)`);
    }
    if (sourceInfo.recovery)
      throw refuse(`the source ${source.safeUrl} is itself a standby (in recovery): give the primary as --db-source`);
    let link: ReplicationLink;
    if (targetInfo.recovery) {
      link = new StreamingLink(source, target, context.sourceUrl, context.connectTimeoutMs);
    } else {
      const subscriptions = await listSubscriptions(target);
      if (subscriptions.length === 0) {
        throw refuse(
          `nothing replicates the source to the target ${target.safeUrl}: it is not a standby (not in recovery) and has no subscription`,
        );
      }
      link = new LogicalLink(source, target, subscriptions, context.sourceUrl, context.connectTimeoutMs);
    }
    context.logger.info({ kind: link.kind, source: source.safeUrl, target: target.safeUrl }, 'database replication detected');
    return new PostgresMove(source, target, link, context);
  } catch (error) {
    await Promise.all([source.close(), target.close()]);
    throw error;
  }
}

/** One PostgreSQL source/target pair (see `DatabaseMove`). */
class PostgresMove implements DatabaseMove {
  readonly kind: DatabaseMove['kind'];
  readonly source: string;
  readonly target: string;
  private readonly sourceSession: PgSession;
  private readonly targetSession: PgSession;
  private readonly link: ReplicationLink;
  private readonly context: EngineContext;
  private fenced: FenceState | undefined;

  constructor(source: PgSession, target: PgSession, link: ReplicationLink, context: EngineContext) {
    this.sourceSession = source;
    this.targetSession = target;
    this.link = link;
    this.context = context;
    this.kind = link.kind;
    this.source = source.safeUrl;
    this.target = target.safeUrl;
  }

  async preflight(limits: PreflightLimits): Promise<PreflightReport> {
    try {
      return await this.checkAll(limits);
    } catch (error) {
      if (isDatabaseError(error, 'SWITCHYARD_ERR_DB_PREFLIGHT')) throw error;
      // Whatever went wrong while checking (a server gone, a query timed out) refuses the move too.
      throw refuse(error instanceof Error ? error.message : String(error));
    }
  }

  private async checkAll(limits: PreflightLimits): Promise<PreflightReport> {
    const checks: string[] = [];
    await this.link.verify(checks);
    const readOnly = await readOnlySource(this.targetSession);
    if (readOnly === 'fence') {
      checks.push('the target is read-only by ALTER SYSTEM, as a fence leaves an old server: promotion resets it');
    } else if (readOnly !== undefined) {
      throw refuse(
        `the target is configured read-only (default_transaction_read_only = on, from ${readOnly}): it would refuse writes after the switch`,
      );
    }
    const old = await this.sourceSession.query<{ pid: number; usename: string | null; application_name: string; age_ms: number }>(
      `SELECT pid, usename::text, application_name, (extract(epoch FROM clock_timestamp() - xact_start) * 1000)::float8 AS age_ms
         FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL
          AND xact_start < clock_timestamp() - $1 * interval '1 millisecond'
       UNION ALL
       SELECT NULL, owner::text, 'prepared transaction ' || gid, (extract(epoch FROM clock_timestamp() - prepared) * 1000)::float8
         FROM pg_prepared_xacts WHERE prepared < clock_timestamp() - $1 * interval '1 millisecond'
       ORDER BY 4 DESC`,
      [limits.maxTransactionAgeMs],
    );
    if (old.length > 0) {
      const list = old
        .slice(0, 3)
        .map(
          (row) =>
            `${row.pid === null ? row.application_name : `pid ${row.pid}`} (${row.usename ?? '?'}${row.pid !== null && row.application_name ? `, ${row.application_name}` : ''}) open ${Math.round(row.age_ms)} ms`,
        )
        .join('; ');
      throw refuse(
        `${old.length} write transaction(s) on the source open longer than ${limits.maxTransactionAgeMs} ms would hold the drain: ${list}`,
      );
    }
    checks.push(`no write transaction on the source open longer than ${limits.maxTransactionAgeMs} ms`);
    // Lag by positions: how long the target takes to apply what the source has written up to now.
    const position = await this.catchUpPosition();
    const first = await this.link.progress(position.text);
    const lagBytes = lsnBytesBehind(first.lsn, position.text);
    const started = Date.now();
    try {
      if (!first.reached) await this.waitFor(position, { timeoutMs: limits.maxLagMs, signal: limits.signal });
    } catch (error) {
      if (!isDatabaseError(error, 'SWITCHYARD_ERR_DB_TIMEOUT')) throw error;
      throw refuse(
        `replication lag is over the limit: the target had not applied the source's position ${position.text} after ${limits.maxLagMs} ms (${first.applied}${lagBytes === null ? '' : `, ${lagBytes} bytes behind`}); wait for it to catch up or raise --max-lag`,
      );
    }
    const lagMs = first.reached ? 0 : Date.now() - started;
    checks.push(`lag ${lagMs} ms${lagBytes === null ? '' : ` (${lagBytes} bytes)`}, under ${limits.maxLagMs} ms`);
    return { kind: this.kind, lagMs, lagBytes, checks };
  }

  async fence(): Promise<void> {
    this.fenced = await fenceSource(this.sourceSession, this.context.queryTimeoutMs);
  }

  async unfence(): Promise<void> {
    // Undo only what this move did; without a fence of ours, make sure none of ours is left behind either.
    await unfenceSource(this.sourceSession, this.fenced ?? { wasReadOnly: false }, this.context.queryTimeoutMs);
    this.fenced = undefined;
  }

  async catchUpPosition(): Promise<ReplicationPosition> {
    const { lsn } = await this.sourceSession.one<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    return { kind: this.kind, text: lsn };
  }

  async waitFor(position: ReplicationPosition, options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    if (position.kind !== this.kind)
      throw dbError('SWITCHYARD_ERR_DB_FAILED', `a ${position.kind} position cannot be awaited on ${this.kind} replication`);
    let applied = '';
    await pollUntil(
      async () => {
        const progress = await this.link.progress(position.text);
        applied = progress.applied;
        return progress.reached ? true : undefined;
      },
      { ...options, what: `waiting for the target to apply the source's position ${position.text}`, describe: () => applied },
    );
  }

  async promote(options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    // The fence an earlier cutover left on the target (the way back), which preflight accepted. Read
    // here, not remembered from preflight: the cutover preflights on a move of its own. First,
    // because a logical promotion moves the sequences up, which a read-only target refuses.
    if ((await readOnlySource(this.targetSession)) === 'fence') await liftFence(this.targetSession, this.context.queryTimeoutMs);
    await this.link.promote(options);
  }

  async close(): Promise<void> {
    await Promise.all([this.sourceSession.close(), this.targetSession.close()]);
  }
}

import { setTimeout as delay } from 'node:timers/promises';
import { dbError } from '../errors';
import type { PgSession } from './session';

/**
 * Fencing a PostgreSQL source: every transaction that starts from now on is read-only, for every
 * client (workers and cron jobs that do not go through the front ends too), and every transaction
 * that began before is finished or ended, so nothing can commit on the source once the catch-up
 * position has been read.
 *
 * `ALTER SYSTEM SET default_transaction_read_only` is used rather than `ALTER DATABASE … SET`
 * because catalog changes travel over streaming replication: the promoted target would inherit
 * the fence. Sessions apply a reload before their next statement, so once the postmaster has
 * signalled them no new transaction can write; the ones already open are then awaited (writers
 * are terminated at once, read-only-so-far ones after a grace), because a transaction keeps the
 * read-write mode it started with.
 */

/** How long a transaction that began before the fence and has not written yet may take to finish before it is ended. */
const READER_GRACE_MS = 1000;
/** Transactions that began this close after the fence took effect in our session are treated as older (signal delivery to every backend is not instantaneous). */
const SIGNAL_MARGIN_MS = 20;

/** What `fence` changed, so `unfence` undoes exactly that. */
export interface FenceState {
  /** True when the source was already read-only by configuration (then unfence leaves it so). */
  readonly wasReadOnly: boolean;
}

/** Makes the source refuse writes; resolves once no transaction from before the fence is left. */
export async function fenceSource(source: PgSession, deadlineMs: number): Promise<FenceState> {
  const before = await source.one<{ setting: string }>("SELECT setting FROM pg_settings WHERE name = 'default_transaction_read_only'");
  const wasReadOnly = before.setting === 'on';
  if (!wasReadOnly) {
    await source.query('ALTER SYSTEM SET default_transaction_read_only = on').catch((error: Error) => {
      throw dbError(
        'SWITCHYARD_ERR_DB_FAILED',
        `${error.message} (fencing the source runs ALTER SYSTEM: connect as a superuser, or GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only)`,
        { cause: error },
      );
    });
    await reload(source, 'on', deadlineMs);
  }
  const { fenced_at: fencedAt } = await source.one<{ fenced_at: string }>(
    `SELECT (clock_timestamp() + interval '${SIGNAL_MARGIN_MS} milliseconds')::text AS fenced_at`,
  );
  const started = Date.now();
  for (;;) {
    const state = await source.one<{ in_margin: boolean; pids: number[]; writers: number[] }>(
      `SELECT clock_timestamp() < $1::timestamptz AS in_margin,
              coalesce(array_agg(a.pid) FILTER (WHERE a.pid IS NOT NULL), '{}') AS pids,
              coalesce(array_agg(a.pid) FILTER (WHERE a.backend_xid IS NOT NULL), '{}') AS writers
         FROM (SELECT 1) AS one
         LEFT JOIN pg_stat_activity AS a
           ON a.backend_type = 'client backend' AND a.pid <> pg_backend_pid() AND a.xact_start < $1::timestamptz`,
      [fencedAt],
    );
    if (state.pids.length === 0 && !state.in_margin) break;
    const elapsed = Date.now() - started;
    const ending = elapsed >= READER_GRACE_MS ? state.pids : state.writers;
    if (ending.length > 0) {
      source.logger.info({ pids: ending }, 'fence: ending transactions that began before the source was fenced');
      await source.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [ending]);
    }
    if (elapsed > deadlineMs) {
      throw dbError(
        'SWITCHYARD_ERR_DB_TIMEOUT',
        `fencing the source ${source.safeUrl}: ${state.pids.length} transaction(s) from before the fence still open after ${deadlineMs} ms`,
      );
    }
    await delay(5);
  }
  return { wasReadOnly };
}

/** Undoes `fenceSource`: the source accepts writes again (unless it was read-only before). */
export async function unfenceSource(source: PgSession, state: FenceState, deadlineMs: number): Promise<void> {
  if (state.wasReadOnly) return;
  await liftFence(source, deadlineMs);
}

/**
 * Resets the fence's `ALTER SYSTEM` setting on `server` and waits until it applies. Also used at
 * promotion on a target that an earlier cutover fenced (the old server on the way back). ALTER
 * SYSTEM runs in a read-only session and during recovery alike.
 */
export async function liftFence(server: PgSession, deadlineMs: number): Promise<void> {
  await server.query('ALTER SYSTEM RESET default_transaction_read_only');
  await reload(server, 'off', deadlineMs);
}

/**
 * Where a server's `default_transaction_read_only = on` comes from: `fence` when from ALTER SYSTEM
 * (postgresql.auto.conf, as a fence leaves it), else a description of the setting's source
 * (postgresql.conf, a role, a database), or undefined when it is off.
 */
export async function readOnlySource(server: PgSession): Promise<'fence' | string | undefined> {
  const row = await server.one<{ setting: string; source: string; sourcefile: string | null }>(
    "SELECT setting, source, sourcefile FROM pg_settings WHERE name = 'default_transaction_read_only'",
  );
  if (row.setting !== 'on') return undefined;
  // sourcefile is NULL unless the role may read every setting; then the origin is unknown.
  if (row.source === 'configuration file' && row.sourcefile?.endsWith('/postgresql.auto.conf')) return 'fence';
  return row.sourcefile ? `${row.source} ${row.sourcefile}` : row.source;
}

/** Reloads the configuration and waits until this session (hence the postmaster, which signals every backend) has applied it. */
async function reload(server: PgSession, expected: 'on' | 'off', deadlineMs: number): Promise<void> {
  await server.query('SELECT pg_reload_conf()');
  const started = Date.now();
  for (;;) {
    const { setting } = await server.one<{ setting: string }>("SELECT current_setting('default_transaction_read_only') AS setting");
    if (setting === expected) return;
    if (Date.now() - started > deadlineMs) {
      throw dbError(
        'SWITCHYARD_ERR_DB_TIMEOUT',
        `the server ${server.safeUrl} did not apply default_transaction_read_only = ${expected} within ${deadlineMs} ms`,
      );
    }
    await delay(2);
  }
}

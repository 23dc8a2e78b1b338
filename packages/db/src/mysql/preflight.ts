// The guardrails, checked before maintenance starts; they only read. In order: the target is this
// source's replica (both directions), replication runs without error, the target could be made
// writable, the lag is below the limit — measured by positions: the time the target takes to reach
// the source's position read now, and the binlog bytes still to execute — and no write transaction
// or DDL on the source is older than the limit.
import { throwIfAborted } from '../deadline';
import { dbError } from '../errors';
import type { PreflightLimits, PreflightReport, ReplicationKind } from '../types';
import { errno, type MysqlSession } from './connection';
import type { Dialect } from './dialect';
import { fenceCheck } from './fence';
import { lagBytes, reachPosition, sourcePosition } from './positions';
import { connectedIdentityProblem, kindOf, replicaStatusOf, type ServerFacts, serverFacts } from './replication';

/** What preflight reads from the move. */
export interface PreflightContext {
  readonly kind: ReplicationKind;
  readonly source: MysqlSession;
  readonly target: MysqlSession;
  /** A session of its own on the target for the waits. */
  readonly waiter: MysqlSession;
  readonly sourceDialect: Dialect;
  readonly targetDialect: Dialect;
  readonly sourceFacts: ServerFacts;
}

function refuse(message: string): never {
  throw dbError('SWITCHYARD_ERR_DB_PREFLIGHT', message);
}

/** Runs every guardrail; throws `SWITCHYARD_ERR_DB_PREFLIGHT` naming the first that failed. */
export async function mysqlPreflight(move: PreflightContext, limits: PreflightLimits): Promise<PreflightReport> {
  const { source, target, sourceDialect, targetDialect } = move;
  const { signal } = limits;
  const checks: string[] = [];
  const step = (what: string) => throwIfAborted(signal, `preflight (${what})`);

  step('replication');
  const [sourceNow, targetNow, status] = await Promise.all([
    serverFacts(source, sourceDialect),
    serverFacts(target, targetDialect),
    replicaStatusOf(target, targetDialect),
  ]);
  if (sourceNow.serverId !== move.sourceFacts.serverId) refuse(`the source ${source.url} is another server than when the move was opened`);
  if (kindOf(status) !== move.kind)
    refuse(`replication on the target changed from ${move.kind} to ${kindOf(status)} since the move was opened`);
  const threads = `I/O thread ${status.ioRunning}, SQL thread ${status.sqlRunning}`;
  if (status.ioErrno !== 0) refuse(`replication on the target ${target.url} is broken: I/O error ${status.ioErrno}: ${status.ioError}`);
  if (status.sqlErrno !== 0) refuse(`replication on the target ${target.url} is broken: SQL error ${status.sqlErrno}: ${status.sqlError}`);
  if (status.ioRunning !== 'Yes' || status.sqlRunning !== 'Yes') {
    refuse(
      `replication on the target ${target.url} is not running (${threads}): start it (START SLAVE / START REPLICA) and let it catch up`,
    );
  }
  const identity = await connectedIdentityProblem(source, sourceDialect, sourceNow, targetNow, status);
  if (identity) refuse(`the target ${target.url} is not connected to the source ${source.url}: ${identity}`);
  checks.push(
    `target ${target.url} replicates source ${source.url} (server_id ${sourceNow.serverId} → ${targetNow.serverId}, ${status.gtidMode ? `GTID ${status.gtidMode}` : 'binlog file and offset'}); the source lists it as its replica`,
  );
  checks.push(`replication running without error (${threads})`);

  if (targetNow.innodbReadOnly)
    refuse(`the target ${target.url} runs with innodb_read_only=ON: it cannot be made writable without a restart`);
  checks.push(`target can be made writable (read_only ${targetNow.readOnly ? 'ON' : 'OFF'} now, innodb_read_only OFF)`);

  step('lag');
  if (status.secondsBehind === null)
    refuse(`the target ${target.url} reports no lag (Seconds_Behind_Master is NULL): replication is not applying`);
  if (status.secondsBehind * 1000 > limits.maxLagMs) {
    refuse(
      `the target ${target.url} is ${status.secondsBehind} s behind the source (limit ${limits.maxLagMs} ms): wait until it catches up`,
    );
  }
  const bytes = await lagBytes(source, sourceDialect, status);
  const position = await sourcePosition(source, sourceDialect, move.kind);
  const started = performance.now();
  const reached = await reachPosition(move.waiter, targetDialect, position, limits.maxLagMs, signal);
  const lagMs = Math.round(performance.now() - started);
  if (!reached) {
    refuse(
      `the target ${target.url} did not reach the source's position ${position.text} within the lag limit (limit ${limits.maxLagMs} ms; ${bytes ?? 'unknown'} bytes of binlog behind): wait until it catches up, or raise the limit`,
    );
  }
  checks.push(
    `lag: the target reached the source's position ${position.text} in ${lagMs} ms (limit ${limits.maxLagMs} ms; ${bytes ?? 'unknown'} bytes of binlog were still to execute; Seconds_Behind_Master ${status.secondsBehind})`,
  );

  step('transactions');
  checks.push(await oldWritesCheck(source, limits.maxTransactionAgeMs));
  const fence = await fenceCheck(source, sourceDialect);
  if (fence) checks.push(fence);
  return { kind: move.kind, lagMs, lagBytes: bytes, checks };
}

/** Refuses when a transaction that wrote or locked rows, or a DDL statement, runs on the source longer than the limit. */
async function oldWritesCheck(source: MysqlSession, maxAgeMs: number): Promise<string> {
  let transactions: Awaited<ReturnType<MysqlSession['query']>>;
  let statements: Awaited<ReturnType<MysqlSession['query']>>;
  try {
    // trx_started has a resolution of one second. Transactions that only read do not hold a
    // write back (and idle ones are common with autocommit off), so they are not counted. INNODB_TRX
    // is a cache refreshed every 0.1 s: the join drops transactions of sessions already gone.
    transactions = await source.query(
      `SELECT t.trx_mysql_thread_id AS id, TIMESTAMPDIFF(SECOND, t.trx_started, NOW()) AS age, t.trx_rows_modified AS modified,
              p.USER AS user, p.HOST AS host
         FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
        WHERE t.trx_mysql_thread_id <> CONNECTION_ID() AND (t.trx_rows_modified > 0 OR t.trx_lock_structs > 0)
          AND TIMESTAMPDIFF(SECOND, t.trx_started, NOW()) * 1000 > ?
        ORDER BY t.trx_started LIMIT 5`,
      [maxAgeMs],
      { what: 'looking for old write transactions on the source' },
    );
    // Only the first two words of a statement are read: the rest may hold a password.
    statements = await source.query(
      `SELECT ID AS id, TIME AS age, USER AS user, HOST AS host, SUBSTRING_INDEX(TRIM(INFO), ' ', 2) AS statement
         FROM information_schema.PROCESSLIST
        WHERE COMMAND = 'Query' AND ID <> CONNECTION_ID() AND TIME * 1000 > ?`,
      [maxAgeMs],
      { what: 'looking for long DDL on the source' },
    );
  } catch (error) {
    if (errno(error) === 1227) refuse(`the source account needs the PROCESS privilege to see other sessions' transactions (${source.url})`);
    throw error;
  }
  const ddl = statements.filter((row) => /^(ALTER|CREATE|DROP|RENAME|TRUNCATE|OPTIMIZE|REPAIR)\b/i.test(String(row.statement ?? '')));
  const old = [
    ...transactions.map(
      (row) => `transaction of session ${row.id} (${row.user}@${row.host}) open ${row.age} s, ${row.modified} rows changed`,
    ),
    ...ddl.map((row) => `${String(row.statement).toUpperCase()} in session ${row.id} (${row.user}@${row.host}) running ${row.age} s`),
  ];
  if (old.length > 0) {
    refuse(
      `on the source ${source.url}: ${old.join('; ')} (limit ${maxAgeMs} ms): it would hold the drain; let it finish or end it (KILL <session>), or raise the limit`,
    );
  }
  return `no write transaction or DDL on the source open longer than ${maxAgeMs} ms (checked to the second)`;
}

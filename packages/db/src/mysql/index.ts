// The MySQL/MariaDB engine of the database mover: the target is a binlog replica of the source (by
// GTID, or by file and offset). `open` proves the target replicates this source; the cutover then
// calls preflight, fence (source read_only / super_read_only), catchUpPosition, waitFor and promote
// (stop and forget replication, read_only OFF). Every statement has a deadline; URLs are printed
// redacted.
import type { Logger } from '@switchyard/core';
import { throwIfAborted } from '../deadline';
import { dbError } from '../errors';
import type { DatabaseMove, EngineContext, PreflightLimits, PreflightReport, ReplicationKind, ReplicationPosition } from '../types';
import { MysqlSession } from './connection';
import { detectDialect } from './dialect';
import { type FenceState, fenceSource, sessionsThroughFence, unfenceSource } from './fence';
import { reachPosition, sourcePosition } from './positions';
import { mysqlPreflight, type PreflightContext } from './preflight';
import { configuredIdentityProblem, kindOf, replicaStatusOf, sameServerProblem, serverFacts } from './replication';

/**
 * Opens a MySQL/MariaDB move: connects to both servers and checks that the target is a replica of this
 * very source. Throws `SWITCHYARD_ERR_DB_PREFLIGHT` (nothing changed) when it is not.
 */
export async function openMysqlMove(context: EngineContext): Promise<DatabaseMove> {
  const timeouts = { connectTimeoutMs: context.connectTimeoutMs, queryTimeoutMs: context.queryTimeoutMs };
  const source = new MysqlSession(context.sourceUrl, 'source', timeouts);
  const target = new MysqlSession(context.targetUrl, 'target', timeouts);
  const waiter = target.fork();
  try {
    const [sourceDialect, targetDialect] = await Promise.all([detectDialect(source), detectDialect(target)]);
    const [sourceFacts, targetFacts] = await Promise.all([serverFacts(source, sourceDialect), serverFacts(target, targetDialect)]);
    const same = sameServerProblem(source.url, target.url, sourceFacts, targetFacts);
    if (same) throw dbError('SWITCHYARD_ERR_DB_PREFLIGHT', same);
    if (!sourceFacts.logBin)
      throw dbError('SWITCHYARD_ERR_DB_PREFLIGHT', `the source ${source.url} writes no binlog (log_bin is OFF): it has no replica`);
    const status = await replicaStatusOf(target, targetDialect);
    const problem = await configuredIdentityProblem(
      source.url,
      target.url,
      { host: source.host, port: source.port },
      sourceFacts,
      status,
      context.connectTimeoutMs,
    );
    if (problem) throw dbError('SWITCHYARD_ERR_DB_PREFLIGHT', problem);
    // Connected now, so the first wait does not pay for the handshake.
    await waiter.value('SELECT 1', [], { what: 'connecting' });
    const move = new MysqlMove({ kind: kindOf(status), source, target, waiter, sourceDialect, targetDialect, sourceFacts }, context.logger);
    context.logger.debug(
      { source: source.url, target: target.url, kind: move.kind, versions: [sourceDialect.version, targetDialect.version] },
      'database move opened',
    );
    return move;
  } catch (error) {
    await Promise.all([source.close(), target.close(), waiter.close()]);
    throw error;
  }
}

class MysqlMove implements DatabaseMove {
  readonly kind: ReplicationKind;
  readonly source: string;
  readonly target: string;
  private readonly context: PreflightContext;
  private readonly logger: Logger;
  private fenced: FenceState | undefined;

  constructor(context: PreflightContext, logger: Logger) {
    this.context = context;
    this.kind = context.kind;
    this.source = context.source.url;
    this.target = context.target.url;
    this.logger = logger;
  }

  preflight(limits: PreflightLimits): Promise<PreflightReport> {
    return mysqlPreflight(this.context, limits);
  }

  async fence(): Promise<void> {
    if (this.fenced) return;
    const { source, sourceDialect } = this.context;
    const facts = await serverFacts(source, sourceDialect);
    await fenceSource(source, sourceDialect, facts, (previous) => {
      this.fenced = previous;
    });
    const through = await sessionsThroughFence(source, sourceDialect).catch(() => []);
    if (through.length > 0) {
      this.logger.warn(
        { source: this.source, accounts: through },
        'database source fenced, but these accounts (READ_ONLY ADMIN) can still write',
      );
    }
    this.logger.info({ source: this.source, variable: sourceDialect.fenceVariable }, 'database source fenced');
  }

  async unfence(): Promise<void> {
    const previous = this.fenced;
    if (!previous) return;
    await unfenceSource(this.context.source, previous);
    this.fenced = undefined;
    this.logger.info({ source: this.source }, 'database source unfenced');
  }

  catchUpPosition(): Promise<ReplicationPosition> {
    return sourcePosition(this.context.source, this.context.sourceDialect, this.kind);
  }

  async waitFor(position: ReplicationPosition, options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    if (position.kind !== this.kind) {
      throw dbError('SWITCHYARD_ERR_DB_FAILED', `a ${position.kind} position cannot be waited for on ${this.kind} replication`);
    }
    const started = performance.now();
    if (await reachPosition(this.context.waiter, this.context.targetDialect, position, options.timeoutMs, options.signal)) {
      this.logger.debug(
        { target: this.target, position: position.text, ms: Math.round(performance.now() - started) },
        'database target caught up',
      );
      return;
    }
    throw dbError(
      'SWITCHYARD_ERR_DB_TIMEOUT',
      `the target ${this.target} did not reach the source's position ${position.text} within ${options.timeoutMs} ms (${await this.whereTargetIs()})`,
    );
  }

  /** Where the target's replication stands, for a timeout message (best effort). */
  private async whereTargetIs(): Promise<string> {
    try {
      const status = await replicaStatusOf(this.context.target, this.context.targetDialect);
      const errors = [status.ioError, status.sqlError].filter(Boolean).join('; ');
      return `I/O thread ${status.ioRunning}, SQL thread ${status.sqlRunning}, executed up to ${status.executedFile}:${status.executedOffset}${errors ? `, ${errors}` : ''}`;
    } catch (error) {
      return `its replication status could not be read: ${(error as Error).message}`;
    }
  }

  async promote(options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    const { target, targetDialect } = this.context;
    const deadline = performance.now() + options.timeoutMs;
    const run = (sql: string, what: string) => {
      throwIfAborted(options.signal, `promoting the target (${what})`);
      const timeoutMs = Math.round(deadline - performance.now());
      if (timeoutMs <= 0)
        throw dbError(
          'SWITCHYARD_ERR_DB_TIMEOUT',
          `promoting the target ${this.target}: not done after ${options.timeoutMs} ms (at: ${what})`,
        );
      return target.query(sql, [], { timeoutMs, signal: options.signal, what });
    };
    const before = await replicaStatusOf(target, targetDialect);
    await run(targetDialect.stopReplica, 'stopping replication');
    await run(targetDialect.resetReplicaAll, 'forgetting the replication configuration');
    // Also turns super_read_only OFF on MySQL. Not persisted: remove read_only from the server's config file too.
    await run('SET GLOBAL read_only = OFF', 'making the target writable');
    const left = await run(targetDialect.allReplicaStatus, 'checking that replication is gone');
    const [flags] = await run(
      `SELECT @@GLOBAL.read_only AS read_only${targetDialect.mariadb ? '' : ', @@GLOBAL.super_read_only AS super_read_only'}`,
      'checking that the target is writable',
    );
    if (left.length > 0 || Number(flags?.read_only) !== 0 || Number(flags?.super_read_only ?? 0) !== 0) {
      throw dbError('SWITCHYARD_ERR_DB_FAILED', `promoting the target ${this.target}: it is still read-only or still replicating`);
    }
    this.logger.info({ target: this.target, detachedFrom: `${before.sourceHost}:${before.sourcePort}` }, 'database target promoted');
  }

  async close(): Promise<void> {
    const { source, target, waiter } = this.context;
    await Promise.all([source.close(), target.close(), waiter.close()]);
  }
}

import { dbError } from '../errors';
import { type LinkProgress, type ReplicationLink, sameEndpoint } from './link';
import { lsnReached } from './lsn';
import type { PgSession } from './session';
import { waitUntilWritable } from './writable';

const refuse = (message: string) => dbError('SWITCHYARD_ERR_DB_PREFLIGHT', message);

/** Streaming (physical) replication: the target is a hot standby replaying the source's WAL. */
export class StreamingLink implements ReplicationLink {
  readonly kind = 'postgres-streaming' as const;
  private readonly source: PgSession;
  private readonly target: PgSession;
  private readonly sourceUrl: string;
  private readonly lookupTimeoutMs: number;

  constructor(source: PgSession, target: PgSession, sourceUrl: string, lookupTimeoutMs: number) {
    this.source = source;
    this.target = target;
    this.sourceUrl = sourceUrl;
    this.lookupTimeoutMs = lookupTimeoutMs;
  }

  async verify(checks: string[]): Promise<void> {
    const [source, target, receivers] = await Promise.all([
      this.source.one<{ sysid: string; tli: number; addr: string | null; port: string }>(
        `SELECT system_identifier::text AS sysid, (SELECT timeline_id FROM pg_control_checkpoint()) AS tli,
                host(inet_server_addr()) AS addr, current_setting('port') AS port FROM pg_control_system()`,
      ),
      this.target.one<{ sysid: string; paused: boolean; delay: string }>(
        `SELECT system_identifier::text AS sysid, pg_is_wal_replay_paused() AS paused,
                current_setting('recovery_min_apply_delay') AS delay FROM pg_control_system()`,
      ),
      this.target.query<{ status: string; tli: number | null; host: string | null; port: number | null }>(
        'SELECT status, received_tli AS tli, sender_host AS host, sender_port AS port FROM pg_stat_wal_receiver',
      ),
    ]);
    if (source.sysid !== target.sysid) {
      throw refuse(
        `the target ${this.target.safeUrl} is a standby of another cluster (system identifier ${target.sysid}, the source's is ${source.sysid}): check --db-target`,
      );
    }
    checks.push(`target is a standby of the source's cluster (system identifier ${source.sysid})`);
    const receiver = receivers[0];
    if (receiver?.status !== 'streaming') {
      throw refuse(
        `replication is not running: the target's WAL receiver is ${receiver ? `"${receiver.status}"` : 'not running'} (check primary_conninfo on the target and that it can reach the source)`,
      );
    }
    if (receiver.tli !== null && receiver.tli !== source.tli) {
      throw refuse(
        `the target follows timeline ${receiver.tli} but the source is on timeline ${source.tli}: it replicates another primary`,
      );
    }
    const endpoint = await sameEndpoint(
      receiver.host,
      receiver.port,
      { url: this.sourceUrl, serverAddress: source.addr, serverPort: Number(source.port) },
      this.lookupTimeoutMs,
    );
    if (endpoint === 'no') {
      throw refuse(
        `the target streams from ${receiver.host}:${receiver.port}, not from the source (port ${source.port}): check --db-source and --db-target`,
      );
    }
    checks.push(
      endpoint === 'yes'
        ? `target streams from the source (${receiver.host}:${receiver.port}, timeline ${source.tli})`
        : `target streams from ${receiver.host}:${receiver.port} on the source's timeline ${source.tli}`,
    );
    if (target.paused) throw refuse('replay is paused on the target: run SELECT pg_wal_replay_resume() there first');
    checks.push(`replay is running${target.delay !== '0' ? ` (recovery_min_apply_delay = ${target.delay})` : ''}`);
  }

  async progress(position: string): Promise<LinkProgress> {
    const { lsn } = await this.target.one<{ lsn: string | null }>('SELECT pg_last_wal_replay_lsn()::text AS lsn');
    return { reached: lsnReached(lsn, position), lsn, applied: `replayed up to ${lsn ?? 'nothing'}` };
  }

  /** `pg_promote(wait => true)`, then waits until the target assigns a transaction id, i.e. accepts writes. */
  async promote({ timeoutMs, signal }: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    const started = Date.now();
    const { promoted } = await this.target.one<{ promoted: boolean }>(
      'SELECT pg_promote(true, $1) AS promoted',
      [Math.max(1, Math.ceil(timeoutMs / 1000))],
      {
        timeoutMs,
      },
    );
    if (!promoted)
      throw dbError('SWITCHYARD_ERR_DB_TIMEOUT', `the target ${this.target.safeUrl} did not finish promotion within ${timeoutMs} ms`);
    await waitUntilWritable(this.target, { started, timeoutMs, signal, what: `promoting the target ${this.target.safeUrl}` });
  }
}

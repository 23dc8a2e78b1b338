// Positions in the source's binlog: reading the source's (a GTID set, or `file:offset`), waiting
// until the replica has applied one (MASTER_GTID_WAIT / WAIT_FOR_EXECUTED_GTID_SET / MASTER_POS_WAIT /
// SOURCE_POS_WAIT, which only read), and how many bytes of binlog the replica still has to execute.
import { dbError } from '../errors';
import type { ReplicationKind, ReplicationPosition } from '../types';
import type { MysqlSession } from './connection';
import type { Dialect, ReplicaStatus } from './dialect';

/** The source's position now: its GTID position for `mysql-gtid`, its binlog `file:offset` otherwise. */
export async function sourcePosition(source: MysqlSession, dialect: Dialect, kind: ReplicationKind): Promise<ReplicationPosition> {
  if (kind === 'mysql-gtid') {
    const text = await source.value(dialect.gtidPosition, [], { what: 'reading the source GTID position' });
    // Newlines separate the UUID sets of MySQL's gtid_executed; the wait functions accept commas.
    return { kind, text: String(text ?? '').replace(/\s+/g, '') };
  }
  const { file, offset } = await binlogStatus(source, dialect);
  return { kind, text: `${file}:${offset}` };
}

/** The binlog file and offset the source is writing now. */
export async function binlogStatus(source: MysqlSession, dialect: Dialect): Promise<{ file: string; offset: number }> {
  const [row] = await source.query(dialect.binlogStatus, [], { what: 'reading the source binlog position' });
  if (!row?.File) throw dbError('SWITCHYARD_ERR_DB_FAILED', `the source ${source.url} writes no binlog (log_bin is OFF)`);
  return { file: String(row.File), offset: Number(row.Position) };
}

/** Splits `file:offset`; throws `SWITCHYARD_ERR_DB_FAILED` for anything else. */
export function parseFilePosition(text: string): { file: string; offset: number } {
  const colon = text.lastIndexOf(':');
  const offset = Number(text.slice(colon + 1));
  if (colon <= 0 || !Number.isSafeInteger(offset) || offset < 0) {
    throw dbError('SWITCHYARD_ERR_DB_FAILED', `${JSON.stringify(text)} is not a binlog position (file:offset)`);
  }
  return { file: text.slice(0, colon), offset };
}

/**
 * Waits on `waiter` (a session of its own on the target, since a wait cut off by its deadline or the
 * signal loses its connection) until the target has applied `position`. Returns false when
 * `timeoutMs` passed first. The server-side wait gets the same timeout, so it ends by itself too.
 */
export async function reachPosition(
  waiter: MysqlSession,
  dialect: Dialect,
  position: ReplicationPosition,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const seconds = Math.max(timeoutMs, 1) / 1000;
  const what = `waiting for the target to reach ${position.text || 'the source position'}`;
  try {
    if (position.kind === 'mysql-gtid') {
      const result = await waiter.value(dialect.gtidWait, [position.text, seconds], { what, timeoutMs, signal });
      return dialect.gtidReached(result);
    }
    const { file, offset } = parseFilePosition(position.text);
    // MASTER_POS_WAIT rounds its timeout to whole seconds; the client deadline keeps it exact.
    const result = await waiter.value(dialect.positionWait, [file, offset, Math.ceil(seconds)], { what, timeoutMs, signal });
    if (result === null || result === undefined) {
      throw dbError('SWITCHYARD_ERR_DB_FAILED', `${what} on ${waiter.url}: the target is not replicating (its SQL thread is stopped)`);
    }
    return Number(result) >= 0;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'SWITCHYARD_ERR_DB_TIMEOUT') return false;
    throw error;
  }
}

/**
 * Bytes of the source's binlog the replica has not executed yet, from the source's binlog sizes and
 * the replica's executed file and offset; null when the replica's file is no longer on the source.
 */
export async function lagBytes(source: MysqlSession, dialect: Dialect, status: ReplicaStatus): Promise<number | null> {
  const now = await binlogStatus(source, dialect);
  if (status.executedFile === now.file) return Math.max(0, now.offset - status.executedOffset);
  const logs = await source.query(dialect.binlogs, [], { what: 'listing the source binlogs' });
  const names = logs.map((row) => String(row.Log_name));
  const from = names.indexOf(status.executedFile);
  const to = names.indexOf(now.file);
  if (from < 0 || to < from) return null;
  let bytes = Number(logs[from]?.File_size ?? 0) - status.executedOffset;
  for (let index = from + 1; index < to; index++) bytes += Number(logs[index]?.File_size ?? 0);
  return Math.max(0, bytes + now.offset);
}

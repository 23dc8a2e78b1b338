// Who is who: the facts of each server and the proof that the target replicates this very source, so a
// mistyped URL cannot promote the wrong server. Both directions are checked: the target's replica
// status names a source with the source's server_id (and server_uuid on MySQL) at the source's port
// and host, and the source lists a connected replica with the target's server_id.
import { lookup } from 'node:dns/promises';
import { dbError } from '../errors';
import type { ReplicationKind } from '../types';
import type { MysqlSession } from './connection';
import { type Dialect, type ReplicaStatus, readReplicaStatus } from './dialect';

/** What the mover needs to know about one server. */
export interface ServerFacts {
  serverId: number;
  /** server_uuid (MySQL) or server_uid (MariaDB). */
  uuid: string | null;
  port: number;
  hostname: string;
  reportHost: string | null;
  readOnly: boolean;
  superReadOnly: boolean | null;
  innodbReadOnly: boolean;
  logBin: boolean;
}

/** Reads the server's identity and read-only state. */
export async function serverFacts(session: MysqlSession, dialect: Dialect): Promise<ServerFacts> {
  const [row] = await session.query(
    `SELECT @@GLOBAL.server_id AS server_id, @@GLOBAL.${dialect.uuidVariable} AS uuid, @@GLOBAL.port AS port,
            @@GLOBAL.hostname AS hostname, @@GLOBAL.report_host AS report_host, @@GLOBAL.read_only AS read_only,
            ${dialect.mariadb ? 'NULL' : '@@GLOBAL.super_read_only'} AS super_read_only,
            @@GLOBAL.innodb_read_only AS innodb_read_only, @@GLOBAL.log_bin AS log_bin`,
    [],
    { what: 'reading the server identity' },
  );
  if (!row) throw dbError('SWITCHYARD_ERR_DB_FAILED', `reading the server identity on ${session.url}: no answer`);
  return {
    serverId: Number(row.server_id),
    uuid: row.uuid === null ? null : String(row.uuid),
    port: Number(row.port),
    hostname: String(row.hostname ?? ''),
    reportHost: row.report_host === null ? null : String(row.report_host),
    readOnly: Number(row.read_only) === 1,
    superReadOnly: row.super_read_only === null ? null : Number(row.super_read_only) === 1,
    innodbReadOnly: Number(row.innodb_read_only) === 1,
    logBin: Number(row.log_bin) === 1,
  };
}

function refuse(message: string) {
  return dbError('SWITCHYARD_ERR_DB_PREFLIGHT', message);
}

/**
 * The target's one replication connection (refuses none, and several: promoting would detach only
 * one of them). Throws `SWITCHYARD_ERR_DB_PREFLIGHT` with a fix-it message.
 */
export async function replicaStatusOf(target: MysqlSession, dialect: Dialect): Promise<ReplicaStatus> {
  const rows = await target.query(dialect.allReplicaStatus, [], { what: 'reading the replica status' });
  if (rows.length === 0) {
    throw refuse(`target ${target.url} is not a replica (${dialect.replicaStatus} is empty): set up replication from the source first`);
  }
  if (rows.length > 1) {
    throw refuse(
      `target ${target.url} replicates from ${rows.length} sources (multi-source); the mover handles a target with one source only`,
    );
  }
  return readReplicaStatus(rows[0]!);
}

/** `mysql-gtid` when the replica follows the source by GTID, else `mysql-binlog` (file and offset). */
export function kindOf(status: ReplicaStatus): ReplicationKind {
  return status.gtidMode ? 'mysql-gtid' : 'mysql-binlog';
}

/** Refuses two URLs that reach one server (same server_id, or same server_uuid/server_uid). */
export function sameServerProblem(sourceUrl: string, targetUrl: string, source: ServerFacts, target: ServerFacts): string | undefined {
  if (source.serverId === target.serverId || (source.uuid !== null && source.uuid === target.uuid)) {
    return `source ${sourceUrl} and target ${targetUrl} are the same server (server_id ${source.serverId}): the target must be the source's replica`;
  }
  return undefined;
}

/** How the source was named in its URL. */
export interface SourceAddress {
  host: string;
  port: number;
}

/**
 * The configuration half of the identity proof (what `open` can check even while replication is
 * stopped): the replica's configured source is at the source's host and port,
 * and, when the replica has connected since it started, had the source's server_id/server_uuid.
 * Returns the problem, or undefined when the target is the source's replica.
 */
export async function configuredIdentityProblem(
  sourceUrl: string,
  targetUrl: string,
  address: SourceAddress,
  source: ServerFacts,
  status: ReplicaStatus,
  timeoutMs: number,
): Promise<string | undefined> {
  const where = `${status.sourceHost}:${status.sourcePort}`;
  if (status.sourcePort !== source.port && status.sourcePort !== address.port) {
    return `target ${targetUrl} replicates from ${where}, not from the source ${sourceUrl} (port ${source.port}): check --db-source`;
  }
  if (!(await namesSource(status.sourceHost, address.host, source, timeoutMs))) {
    return `target ${targetUrl} replicates from ${where}, which does not name the source ${sourceUrl} (host ${source.hostname}): check --db-source, or use the host name the replica uses`;
  }
  if (status.sourceServerId !== 0 && status.sourceServerId !== source.serverId) {
    return `target ${targetUrl} replicates from the server with server_id ${status.sourceServerId}, but the source ${sourceUrl} has server_id ${source.serverId}: check --db-source`;
  }
  if (status.sourceUuid && source.uuid && status.sourceUuid !== source.uuid) {
    return `target ${targetUrl} replicates from the server ${status.sourceUuid}, but the source ${sourceUrl} is ${source.uuid}: check --db-source`;
  }
  return undefined;
}

/**
 * The live half, for preflight: the replica's I/O thread is connected to a server with the source's
 * server_id, and the source lists a replica with the target's server_id.
 */
export async function connectedIdentityProblem(
  sourceSession: MysqlSession,
  sourceDialect: Dialect,
  source: ServerFacts,
  target: ServerFacts,
  status: ReplicaStatus,
): Promise<string | undefined> {
  if (status.sourceServerId !== source.serverId) {
    return `target ${status.sourceServerId === 0 ? 'has not connected to its source since it started' : `is connected to server_id ${status.sourceServerId}, not to the source (server_id ${source.serverId})`}`;
  }
  const replicas = await sourceSession.query(sourceDialect.replicaHosts, [], { what: 'listing the replicas of the source' });
  const ids = replicas.map((row) => Number(row.Server_id ?? row.Server_Id));
  if (!ids.includes(target.serverId)) {
    return `the source does not list the target (server_id ${target.serverId}) among its connected replicas (${ids.join(', ') || 'none'})`;
  }
  return undefined;
}

/** True when `configured` (the replica's source host) names the server the URL host names. */
async function namesSource(configured: string, urlHost: string, source: ServerFacts, timeoutMs: number): Promise<boolean> {
  const names = [urlHost, source.hostname, source.reportHost].filter((name): name is string => Boolean(name));
  if (names.some((name) => name.toLowerCase() === configured.toLowerCase())) return true;
  const [mine, theirs] = await Promise.all([addressesOf(urlHost, timeoutMs), addressesOf(configured, timeoutMs)]);
  return mine.some((address) => theirs.includes(address));
}

/** Every address a host name resolves to (empty when it does not, or not within the deadline). */
async function addressesOf(host: string, timeoutMs: number): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      lookup(host, { all: true }).then((found) => found.map((entry) => entry.address)),
      new Promise<string[]>((resolve) => {
        timer = setTimeout(() => resolve([]), timeoutMs);
      }),
    ]);
  } catch {
    return [];
  } finally {
    clearTimeout(timer);
  }
}

// What differs between MariaDB and MySQL (and between MySQL versions): statement names, the GTID
// functions, the fence variable, and the column names of the replica status. Everything else in the
// engine is written once against this. Tested against MariaDB; the MySQL 8 forms follow MySQL's manual.
import type { MysqlSession, Row } from './connection';

/** Which server family and version a connection talks to. */
export interface Dialect {
  readonly mariadb: boolean;
  /** `VERSION()` as the server reports it, e.g. `10.11.19-MariaDB-0+deb12u1-log`. */
  readonly version: string;
  /** `SHOW SLAVE STATUS` / `SHOW REPLICA STATUS`. */
  readonly replicaStatus: string;
  /** Every replication connection or channel (MariaDB multi-source: `SHOW ALL SLAVES STATUS`). */
  readonly allReplicaStatus: string;
  /** The replicas connected to this server as a source. */
  readonly replicaHosts: string;
  /** The binlog file and offset being written now. */
  readonly binlogStatus: string;
  /** Every binlog file with its size. */
  readonly binlogs: string;
  /** The GTID set or position this server has written (`?` free). */
  readonly gtidPosition: string;
  /** Waits for a GTID position: `?` position, `?` timeout in seconds; `reached(result)` tells the outcome. */
  readonly gtidWait: string;
  /** Waits for `file`, `offset`, timeout in seconds; returns -1 on timeout, NULL when not replicating. */
  readonly positionWait: string;
  /** True when a `gtidWait` result means "reached". */
  gtidReached(result: unknown): boolean;
  /** Stops the replication threads. */
  readonly stopReplica: string;
  /** Forgets the replication configuration. */
  readonly resetReplicaAll: string;
  /** The variable that fences writes from everyone the server lets fence (`super_read_only` on MySQL). */
  readonly fenceVariable: 'read_only' | 'super_read_only';
  /** The server's own identity beyond server_id (`server_uuid` on MySQL, `server_uid` on MariaDB). */
  readonly uuidVariable: string;
}

/** `[major, minor, patch]` of a version string. */
function versionOf(text: string): [number, number, number] {
  const [major = 0, minor = 0, patch = 0] = (/^(\d+)\.(\d+)\.(\d+)/.exec(text) ?? []).slice(1).map(Number);
  return [major, minor, patch];
}

function atLeast(version: [number, number, number], major: number, minor: number, patch: number): boolean {
  const [a, b, c] = version;
  return a !== major ? a > major : b !== minor ? b > minor : c >= patch;
}

/** Asks the server what it is and returns the statements to use with it. */
export async function detectDialect(session: MysqlSession): Promise<Dialect> {
  const text = String(await session.value('SELECT VERSION()', [], { what: 'reading the server version' }));
  if (/mariadb/i.test(text)) {
    // MariaDB keeps the SLAVE/MASTER statement names (aliases exist from 10.5, the old names still work).
    return {
      mariadb: true,
      version: text,
      replicaStatus: 'SHOW SLAVE STATUS',
      allReplicaStatus: 'SHOW ALL SLAVES STATUS',
      replicaHosts: 'SHOW SLAVE HOSTS',
      binlogStatus: 'SHOW MASTER STATUS',
      binlogs: 'SHOW BINARY LOGS',
      gtidPosition: 'SELECT @@GLOBAL.gtid_binlog_pos',
      gtidWait: 'SELECT MASTER_GTID_WAIT(?, ?)',
      positionWait: 'SELECT MASTER_POS_WAIT(?, ?, ?)',
      gtidReached: (result) => Number(result) === 0,
      stopReplica: 'STOP SLAVE',
      resetReplicaAll: 'RESET SLAVE ALL',
      // MariaDB has no super_read_only; read_only stops every account without READ_ONLY ADMIN.
      fenceVariable: 'read_only',
      uuidVariable: 'server_uid',
    };
  }
  const version = versionOf(text);
  // MySQL renamed SLAVE/MASTER to REPLICA/SOURCE in 8.0.22 (SOURCE_POS_WAIT in 8.0.26) and removed
  // the old names in 8.4; SHOW BINARY LOG STATUS replaced SHOW MASTER STATUS in 8.2.
  const replica = atLeast(version, 8, 0, 22);
  return {
    mariadb: false,
    version: text,
    replicaStatus: replica ? 'SHOW REPLICA STATUS' : 'SHOW SLAVE STATUS',
    allReplicaStatus: replica ? 'SHOW REPLICA STATUS' : 'SHOW SLAVE STATUS',
    replicaHosts: replica ? 'SHOW REPLICAS' : 'SHOW SLAVE HOSTS',
    binlogStatus: atLeast(version, 8, 2, 0) ? 'SHOW BINARY LOG STATUS' : 'SHOW MASTER STATUS',
    binlogs: 'SHOW BINARY LOGS',
    gtidPosition: 'SELECT @@GLOBAL.gtid_executed',
    gtidWait: 'SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?)',
    positionWait: atLeast(version, 8, 0, 26) ? 'SELECT SOURCE_POS_WAIT(?, ?, ?)' : 'SELECT MASTER_POS_WAIT(?, ?, ?)',
    gtidReached: (result) => Number(result) === 0,
    stopReplica: replica ? 'STOP REPLICA' : 'STOP SLAVE',
    resetReplicaAll: replica ? 'RESET REPLICA ALL' : 'RESET SLAVE ALL',
    fenceVariable: 'super_read_only',
    uuidVariable: 'server_uuid',
  };
}

/** The replica status, with MariaDB's, MySQL 5.7's and MySQL 8's column names made one. */
export interface ReplicaStatus {
  ioRunning: string;
  sqlRunning: string;
  sourceHost: string;
  sourcePort: number;
  /** server_id of the source the I/O thread last connected to (0 when it never did since start). */
  sourceServerId: number;
  /** MySQL only: server_uuid of that source. */
  sourceUuid: string | null;
  /** `Slave_Pos` / `Current_Pos` (MariaDB), `Auto_Position` (MySQL), or null when not by GTID. */
  gtidMode: string | null;
  ioErrno: number;
  ioError: string;
  sqlErrno: number;
  sqlError: string;
  secondsBehind: number | null;
  /** The source binlog file and offset the SQL thread has executed up to. */
  executedFile: string;
  executedOffset: number;
}

function field(row: Row, ...names: string[]): unknown {
  for (const name of names) if (name in row) return row[name];
  return undefined;
}

/** Normalizes one row of `SHOW SLAVE STATUS` / `SHOW REPLICA STATUS`. */
export function readReplicaStatus(row: Row): ReplicaStatus {
  const text = (...names: string[]) => String(field(row, ...names) ?? '');
  const number = (...names: string[]) => Number(field(row, ...names) ?? 0);
  const usingGtid = field(row, 'Using_Gtid');
  const autoPosition = field(row, 'Auto_Position');
  const behind = field(row, 'Seconds_Behind_Master', 'Seconds_Behind_Source');
  return {
    ioRunning: text('Slave_IO_Running', 'Replica_IO_Running'),
    sqlRunning: text('Slave_SQL_Running', 'Replica_SQL_Running'),
    sourceHost: text('Master_Host', 'Source_Host'),
    sourcePort: number('Master_Port', 'Source_Port'),
    sourceServerId: number('Master_Server_Id', 'Source_Server_Id'),
    sourceUuid: field(row, 'Master_UUID', 'Source_UUID') === undefined ? null : text('Master_UUID', 'Source_UUID'),
    gtidMode:
      usingGtid !== undefined
        ? String(usingGtid) === 'No'
          ? null
          : String(usingGtid)
        : Number(autoPosition) === 1
          ? 'Auto_Position'
          : null,
    ioErrno: number('Last_IO_Errno'),
    ioError: text('Last_IO_Error'),
    sqlErrno: number('Last_SQL_Errno'),
    sqlError: text('Last_SQL_Error'),
    secondsBehind: behind === null || behind === undefined ? null : Number(behind),
    executedFile: text('Relay_Master_Log_File', 'Relay_Source_Log_File'),
    executedOffset: number('Exec_Master_Log_Pos', 'Exec_Source_Log_Pos'),
  };
}

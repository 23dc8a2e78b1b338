// Fencing the source: `super_read_only` on MySQL (stops every client but replication), `read_only` on
// MariaDB, which has no super_read_only and lets accounts with READ_ONLY ADMIN (SUPER before 10.11)
// write through it. So on MariaDB the sessions of such accounts connected to the source are named,
// in preflight and when fencing: a fence they walk through must not look like a fence.
import { dbError } from '../errors';
import type { MysqlSession } from './connection';
import type { Dialect } from './dialect';
import type { ServerFacts } from './replication';

/** The source's read-only state before the fence, restored by {@link unfenceSource}. */
export interface FenceState {
  readOnly: boolean;
  superReadOnly: boolean | null;
}

/**
 * Turns the fence on. `remember` is called with the previous state before the change: a fence whose
 * statement times out may still land on the server, and the undo must know what to restore.
 */
export async function fenceSource(source: MysqlSession, dialect: Dialect, facts: ServerFacts, remember: (state: FenceState) => void) {
  // So that a LOCK TABLES or a long statement elsewhere cannot hold the fence past its deadline.
  await source.query('SET SESSION lock_wait_timeout = ?', [Math.max(1, Math.ceil(source.queryTimeoutMs / 1000))], {
    what: 'preparing the fence',
  });
  remember({ readOnly: facts.readOnly, superReadOnly: facts.superReadOnly });
  await source.query(`SET GLOBAL ${dialect.fenceVariable} = ON`, [], { what: 'fencing the source (refusing writes)' });
  const on = await source.value(`SELECT @@GLOBAL.${dialect.fenceVariable}`, [], { what: 'checking the fence' });
  if (Number(on) !== 1)
    throw dbError('SWITCHYARD_ERR_DB_FAILED', `fencing the source ${source.url}: ${dialect.fenceVariable} did not turn ON`);
}

/** Restores the read-only state from before the fence. */
export async function unfenceSource(source: MysqlSession, previous: FenceState): Promise<void> {
  const what = 'unfencing the source (restoring its read-only state)';
  // A fence statement given up on must be dead first, or it could still land after this undo.
  await source.settle();
  if (!previous.readOnly) {
    // read_only OFF also turns super_read_only OFF (MySQL).
    await source.query('SET GLOBAL read_only = OFF', [], { what });
  } else if (previous.superReadOnly !== null) {
    await source.query(`SET GLOBAL super_read_only = ${previous.superReadOnly ? 'ON' : 'OFF'}`, [], { what });
  }
  const now = await source.value('SELECT @@GLOBAL.read_only', [], { what });
  if ((Number(now) === 1) !== previous.readOnly) {
    throw dbError(
      'SWITCHYARD_ERR_DB_FAILED',
      `unfencing the source ${source.url}: read_only is ${Number(now) === 1 ? 'ON' : 'OFF'}, expected it back as it was`,
    );
  }
}

/**
 * MariaDB: the accounts (by user name, with their session count) connected to the source whose
 * privileges let them write through `read_only`. Empty on MySQL, whose super_read_only stops them all.
 */
export async function sessionsThroughFence(source: MysqlSession, dialect: Dialect): Promise<string[]> {
  if (!dialect.mariadb) return [];
  const [major = 0, minor = 0] = dialect.version.split('.').map(Number);
  const privileges = major > 10 || (major === 10 && minor >= 11) ? ['READ_ONLY ADMIN'] : ['READ_ONLY ADMIN', 'SUPER'];
  const rows = await source.query(
    `SELECT p.USER AS user, COUNT(*) AS sessions FROM information_schema.PROCESSLIST p
      WHERE p.ID <> CONNECTION_ID() AND p.COMMAND NOT IN ('Binlog Dump', 'Daemon') AND p.USER NOT IN ('system user', 'event_scheduler')
        AND EXISTS (SELECT 1 FROM information_schema.USER_PRIVILEGES u
                     WHERE u.GRANTEE LIKE CONCAT('''', p.USER, '''@%') AND u.PRIVILEGE_TYPE IN (?))
      GROUP BY p.USER ORDER BY p.USER`,
    [privileges],
    { what: 'looking for sessions the fence would not stop' },
  );
  return rows.map((row) => `${row.user} (${row.sessions} session${Number(row.sessions) === 1 ? '' : 's'})`);
}

/** The preflight line about the fence on MariaDB (undefined on MySQL). */
export async function fenceCheck(source: MysqlSession, dialect: Dialect): Promise<string | undefined> {
  if (!dialect.mariadb) return undefined;
  let through: string[];
  try {
    through = await sessionsThroughFence(source, dialect);
  } catch (error) {
    // Informational only: the fence is optional, so not knowing is no reason to refuse.
    return `fence (if asked): could not list the accounts read_only would not stop (${(error as Error).message})`;
  }
  return through.length === 0
    ? 'fence (if asked): read_only stops every session connected to the source now (none has READ_ONLY ADMIN)'
    : `fence (if asked): read_only would not stop these accounts connected to the source, which hold READ_ONLY ADMIN: ${through.join(', ')}; give workers and cron jobs accounts without it`;
}

import { dbError } from '../errors';
import type { DatabaseMove, EngineContext } from '../types';

/** Opens a MySQL/MariaDB move (GTID or binlog-position replication). Placeholder until the engine lands. */
export async function openMysqlMove(_context: EngineContext): Promise<DatabaseMove> {
  throw dbError('SWITCHYARD_ERR_DB_FAILED', 'the MySQL/MariaDB engine is not implemented yet');
}

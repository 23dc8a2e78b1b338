import { dbError } from '../errors';
import type { DatabaseMove, EngineContext } from '../types';

/** Opens a PostgreSQL move (streaming or logical replication). */
export async function openPostgresMove(_context: EngineContext): Promise<DatabaseMove> {
  throw dbError('SWITCHYARD_ERR_DB_FAILED', 'the PostgreSQL engine is not implemented yet');
}

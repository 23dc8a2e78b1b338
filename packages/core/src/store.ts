import type { RedisOptions } from 'ioredis';
import { SwitchyardError } from './errors';
import { createMemoryStore } from './memory-store';
import { createRedisStore } from './redis-store';
import { redactUrl } from './store-common';
import type { Store, StoreOptions } from './store-types';

export { redactUrl } from './store-common';
export type {
  BatchOptions,
  FrontEndReport,
  HistoryEntry,
  RawRead,
  RawState,
  StateWrite,
  Store,
  StoreOptions,
  StoreWatch,
  StoreWatchEventMap,
  WriteResult,
} from './store-types';

/**
 * Opens a store: `redis://` or `rediss://` URLs (TLS, password, ACL user), an ioredis options
 * object (e.g. `{ sentinels, name }` for Sentinel), or `memory://[name]` for an in-process store
 * shared by everything in this process that opens the same name.
 */
export function createStore(target: string | RedisOptions, options: StoreOptions = {}): Store {
  if (typeof target === 'string') {
    if (target.startsWith('memory:')) return createMemoryStore(target.replace(/^memory:(\/\/)?/, '') || 'default', options);
    if (!/^rediss?:\/\//.test(target)) {
      throw new SwitchyardError(
        'SWITCHYARD_ERR_INVALID_STORE_URL',
        `unsupported store URL ${JSON.stringify(redactUrl(target))}: use redis://host:6379, rediss://user:password@host:6380 or memory://`,
      );
    }
    try {
      new URL(target);
    } catch {
      throw new SwitchyardError('SWITCHYARD_ERR_INVALID_STORE_URL', `store URL ${JSON.stringify(redactUrl(target))} is not a valid URL`);
    }
  }
  return createRedisStore(target, options);
}

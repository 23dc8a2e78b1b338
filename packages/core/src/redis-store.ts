// Over 300 lines on purpose: the Redis store is one contract (store-types.ts) over two connections
// (ioredis's for commands, and the watch connection carrying tracking and the watcher's reads) plus
// the one Lua script; their lifecycle (connect, follow a failover, re-issue tracking, deadlines,
// close) only makes sense read together. Shared helpers are in store-common.ts, the wire protocol of
// the watch connection in resp.ts and resp-connection.ts.
import { connect as connectSocket, type Socket } from 'node:net';
import { type ConnectionOptions, connect as connectTls } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import { ConflictError, SwitchyardError } from './errors';
import { keyLayout, type StateKind } from './keys';
import { createLogger } from './logger';
import { RespError, type RespValue } from './resp';
import { RespConnection } from './resp-connection';
import { batchKeys, createStoreWatch, HISTORY_LIMIT, historyTime, normalizeReport, redactUrl, storeClosedError } from './store-common';
import type {
  BatchOptions,
  HistoryEntry,
  RawRead,
  RawState,
  StateWrite,
  Store,
  StoreOptions,
  StoreWatch,
  WriteResult,
} from './store-types';

/**
 * Compare-and-set of several keys, one version bump and one history entry per changed key, in one
 * atomic step. KEYS: version key, history key, then one state key per change.
 * ARGV[1]: JSON `{ maxlen, versionAtLeast, changes: [{ check, expected?, value?, actor, site, kind,
 * action, cutover? }] }` (an absent `expected` expects no key; an absent `value` deletes).
 * Replies {0, index, current} on conflict, else {1 (written) or 2 (nothing to do), version,
 * then changed (1/0) and previous value for each change}.
 */
const WRITE_SCRIPT = `
local args = cjson.decode(ARGV[1])
local changes = args.changes
local current = {}
for i, change in ipairs(changes) do
  local value = redis.call('GET', KEYS[i + 2])
  current[i] = value
  if change.check then
    if change.expected == nil then
      if value then return {0, i, value} end
    elseif value ~= change.expected then
      return {0, i, value}
    end
  end
end
local changed = {}
local any = false
for i, change in ipairs(changes) do
  local value = current[i]
  changed[i] = not ((change.value == nil and not value) or (change.value ~= nil and value == change.value))
  if changed[i] then any = true end
end
local version = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local atLeast = tonumber(args.versionAtLeast) or 0
local status = 2
if any or atLeast > version then
  status = 1
  version = math.max(version + 1, atLeast)
  redis.call('SET', KEYS[1], string.format('%d', version))
  for i, change in ipairs(changes) do
    if changed[i] then
      if change.value ~= nil then redis.call('SET', KEYS[i + 2], change.value) else redis.call('DEL', KEYS[i + 2]) end
      local fields = {'actor', change.actor, 'site', change.site, 'kind', change.kind, 'action', change.action, 'version', string.format('%d', version)}
      if current[i] then table.insert(fields, 'old'); table.insert(fields, current[i]) end
      if change.value ~= nil then table.insert(fields, 'new'); table.insert(fields, change.value) end
      if change.cutover then table.insert(fields, 'cutover'); table.insert(fields, change.cutover) end
      redis.call('XADD', KEYS[2], 'MAXLEN', '~', args.maxlen, '*', unpack(fields))
    end
  end
end
local reply = {status, version}
for i = 1, #changes do
  table.insert(reply, changed[i] and 1 or 0)
  table.insert(reply, current[i])
end
return reply
`;

type WriteReply = [0, number, string | null] | [1 | 2, number, ...(number | string | null)[]];

interface SwitchyardRedis extends Redis {
  switchyardWrite(numberOfKeys: number, ...keysAndArgs: string[]): Promise<WriteReply>;
}

/** A store on Redis (standalone, TLS, ACL, or Sentinel through ioredis options). */
export function createRedisStore(target: string | RedisOptions, options: StoreOptions): Store {
  const keys = keyLayout(options.prefix);
  const logger = options.logger ?? createLogger();
  const reconnect = options.reconnect ?? true;
  const connectTimeout = options.connectTimeoutMs ?? 5000;
  const commandTimeout = options.commandTimeoutMs ?? 5000;
  const description = typeof target === 'string' ? redactUrl(target) : describeOptions(target);
  const connectionOptions: RedisOptions = {
    // ioredis's connection carries no tracking (the watch connection does), so RESP2 is all it needs.
    protocol: 2,
    lazyConnect: true,
    // Fail fast while disconnected: a front end serves its last good state rather than queueing.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout,
    commandTimeout,
    retryStrategy: reconnect ? backoff : () => null,
  };
  const command = (
    typeof target === 'string' ? new Redis(target, connectionOptions) : new Redis({ ...target, ...connectionOptions })
  ) as SwitchyardRedis;
  // The number of keys varies with the batch, so it is passed first on each call.
  command.defineCommand('switchyardWrite', { lua: WRITE_SCRIPT });
  let lastError: Error | undefined;
  command.on('error', (error: Error) => {
    lastError = error;
  });

  let closed = false;
  let connecting: Promise<void> | undefined;
  const ready = async (): Promise<SwitchyardRedis> => {
    if (closed) throw storeClosedError();
    if (command.status === 'wait') {
      // The 'error' event carries the cause (ECONNREFUSED…); the rejection only says the connection closed.
      connecting = command.connect().catch((error: Error) => {
        lastError ??= error;
      });
    }
    if (command.status !== 'ready' && connecting) {
      // A Redis that accepts the connection but never answers fails the handshake with a command
      // timeout; ioredis then gives the socket 2 s more to close. The caller need not wait for that.
      let onError: () => void = () => undefined;
      const failed = new Promise<void>((resolve) => {
        onError = () => resolve();
        command.once('error', onError);
      });
      await Promise.race([connecting, failed]).finally(() => command.off('error', onError));
    }
    if (command.status === 'ready') return command;
    throw unavailable(lastError);
  };
  const unavailable = (cause?: Error) =>
    new SwitchyardError(
      'SWITCHYARD_ERR_STORE_UNAVAILABLE',
      `cannot reach Redis at ${description}${cause ? ` (${cause.message})` : ''}; check --redis or SWITCHYARD_REDIS_URL and that Redis is running`,
      { cause },
    );
  const run = async <T>(action: (redis: SwitchyardRedis) => Promise<T>): Promise<T> => {
    // Connected (nearly always): no call to the async ready(), whose promise and frame every command paid for.
    const redis = !closed && command.status === 'ready' ? command : await ready();
    try {
      return await action(redis);
    } catch (error) {
      if (error instanceof SwitchyardError) throw error;
      // ioredis's commandTimeout: Redis accepted the connection but did not answer in time (paused, dead peer).
      if (redis.status !== 'ready' || (error as Error).message === 'Command timed out') throw unavailable(error as Error);
      throw error;
    }
  };
  const scanAll = async (read: Reader, pattern: string): Promise<string[]> => {
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await read.scan(cursor, pattern);
      for (const key of batch) found.add(key);
      cursor = next;
    } while (cursor !== '0');
    return [...found];
  };
  // One MGET is atomic on its own, so the values and the version are read together without the
  // MULTI/EXEC round of four commands (and ioredis's pipeline machinery per read).
  const readAtomically = async (read: Reader, list: readonly string[]): Promise<RawRead> => {
    const values = await read.mget([...list, keys.version]);
    const version = Number(values[list.length] ?? 0) || 0;
    const result = new Map<string, string | null>();
    for (let index = 0; index < list.length; index++) result.set(list[index]!, values[index] ?? null);
    return { version, values: result };
  };

  // Watching: one watch connection (resp-connection.ts) beside ioredis's, in RESP3, with CLIENT
  // TRACKING in BCAST mode on itself: invalidations arrive on the connection that then reads the
  // values, and the watcher's reads go over it too. ioredis decides where Redis is (Sentinel, TLS,
  // a Unix socket): the watch connection opens once ioredis's is ready, to the same server, and is
  // opened again when ioredis lands on another one (a failover). It has no reconnection of its
  // own beyond retrying with the same back-off while ioredis's connection stands.
  const watchers = new Set<StoreWatch>();
  let watchConnection: RespConnection | undefined;
  /** Reads over the watch connection while it is open (made once per connection: it serves every flip). */
  let watchReader: Reader | undefined;
  let watchPlace = '';
  let opening = false;
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let pushes = true;
  let isDown = false;

  const markDown = (error: Error) => {
    if (isDown || closed) return;
    isDown = true;
    for (const watch of watchers) watch.emit('down', error);
  };
  /**
   * Where ioredis is connected now, as the watch connection should be (`key` tells two places apart,
   * `connect` opens a socket there as ioredis does); undefined unless ioredis's connection is ready.
   */
  const serverPlace = (): { key: string; connect: () => { socket: Socket; ready: 'connect' | 'secureConnect' } } | undefined => {
    if (command.status !== 'ready') return undefined;
    const { path, sentinels, enableTLSForSentinelMode } = command.options;
    if (path) return { key: `unix:${path}`, connect: () => ({ socket: connectSocket({ path }), ready: 'connect' }) };
    // Behind Sentinel, the master ioredis found; otherwise the name it was given (TLS checks it).
    const host = sentinels ? command.stream.remoteAddress : command.options.host;
    const port = sentinels ? command.stream.remotePort : command.options.port;
    // TLS options as given (a rediss:// URL gives `true`); behind Sentinel only when asked, as ioredis does.
    const tls = (command.options as { tls?: ConnectionOptions | boolean }).tls;
    const secure = tls && (!sentinels || enableTLSForSentinelMode);
    return {
      key: `${secure ? 'tls' : 'tcp'}:${host}:${port}`,
      connect: () =>
        secure
          ? { socket: connectTls({ ...(typeof tls === 'object' ? tls : {}), host, port }), ready: 'secureConnect' }
          : { socket: connectSocket({ host, port: port ?? 6379 }), ready: 'connect' },
    };
  };
  const openWatchConnection = () => {
    const place = serverPlace();
    if (closed || watchers.size === 0 || opening || place === undefined) return;
    if (watchConnection && watchPlace === place.key) return;
    // ioredis moved to another server: the watch connection follows (its close marks the watch down).
    watchConnection?.close();
    opening = true;
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = undefined;
    // ioredis leaves what was not given as null.
    const { username, password, db } = command.options;
    RespConnection.open({
      connect: place.connect,
      username: username ?? undefined,
      password: password ?? undefined,
      db: db ?? undefined,
      connectTimeoutMs: connectTimeout,
      commandTimeoutMs: commandTimeout,
    })
      .then(async (connection) => {
        if (closed) {
          connection.close();
          return;
        }
        // Redis may have hung up right after the log-in (before the handlers below could hear it).
        if (connection.closed) throw new Error('Redis closed the watch connection after the log-in');
        watchConnection = connection;
        watchPlace = place.key;
        watchReader = respReader(connection);
        connection.on('push', (items) => {
          if (items[0] !== 'invalidate') return;
          const changed = decodeKeys(items[1]);
          for (const watch of watchers) watch.emit('invalidate', changed);
        });
        connection.once('close', (error) => {
          if (watchConnection === connection) {
            watchConnection = undefined;
            watchReader = undefined;
          }
          markDown(error);
          retry();
        });
        await track(connection);
        attempt = 0;
        isDown = false;
        for (const watch of watchers) watch.emit('up');
        // ioredis moved while this one was opening: follow it (the close marks the watch down and retries).
        const now = serverPlace();
        if (now !== undefined && now.key !== place.key) connection.close();
      })
      .catch((error: Error) => {
        lastError = error;
        markDown(error);
        retry();
      })
      .finally(() => {
        opening = false;
      });
  };
  /** Opens the watch connection again after a back-off, as ioredis does (or at once, when ioredis's comes back first). */
  const retry = () => {
    if (closed || !reconnect || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      openWatchConnection();
    }, backoff(attempt));
    retryTimer.unref();
    attempt += 1;
  };
  /** Turns tracking on for the watched prefixes; where Redis refuses, the watchers poll. */
  const track = async (connection: RespConnection) => {
    let refused: string | undefined = 'Redis did not accept HELLO 3 (RESP3), which in-band invalidations need';
    if (connection.protocol === 3) {
      try {
        await connection.call(['CLIENT', 'TRACKING', 'on', 'BCAST', ...keys.watchedPrefixes.flatMap((prefix) => ['PREFIX', prefix])]);
        refused = undefined;
      } catch (error) {
        // Only Redis's refusal means no pushes; a connection that died is retried instead.
        if (!(error instanceof RespError)) throw error;
        refused = error.message;
      }
    }
    if (refused !== undefined && pushes) {
      logger.warn(
        { event: 'tracking-refused', store: description, err: refused },
        'Redis refused CLIENT TRACKING: changes will only be seen by the periodic resync',
      );
    }
    pushes = refused === undefined;
  };
  command.on('ready', openWatchConnection);
  // Until the watch connection is open, ioredis's failing to connect is what says Redis is unreachable.
  command.on('close', () => {
    if (!watchConnection && watchers.size > 0) markDown(lastError ?? new Error('connection closed'));
  });
  /** The watch connection while it is open (reads go over it then), else ioredis's. */
  const reader = <T>(action: (read: Reader) => Promise<T>): Promise<T> => {
    const read = !closed ? watchReader : undefined;
    if (!read) return run((redis) => action(ioredisReader(redis)));
    return action(read).catch((error: Error) => {
      throw error instanceof RespError ? error : unavailable(error);
    });
  };

  const writeBatch = (changes: readonly StateWrite[], batch: BatchOptions = {}): Promise<WriteResult[]> =>
    run(async (redis): Promise<WriteResult[]> => {
      const list = batchKeys(keys, changes);
      if (list.length === 0) return [];
      const argument = JSON.stringify({
        maxlen: String(HISTORY_LIMIT),
        versionAtLeast: batch.versionAtLeast ?? 0,
        changes: changes.map((change) => ({
          check: change.expect !== undefined,
          ...(change.expect && change.expect.value !== null ? { expected: change.expect.value } : {}),
          ...(change.value !== null ? { value: change.value } : {}),
          actor: change.actor,
          site: change.site,
          kind: change.kind,
          action: change.action,
          ...(change.cutoverId ? { cutover: change.cutoverId } : {}),
        })),
      });
      const reply = await redis.switchyardWrite(list.length + 2, keys.version, keys.history, ...list, argument);
      if (reply[0] === 0) throw new ConflictError(list[Number(reply[1]) - 1] as string, reply[2] ?? null);
      const version = Number(reply[1]);
      return list.map((_, index) => ({
        version,
        changed: Number(reply[2 + index * 2]) === 1,
        previous: (reply[3 + index * 2] as string | null | undefined) ?? null,
      }));
    });

  return {
    keys,
    description,
    get pushesChanges() {
      return pushes;
    },
    readAll: () =>
      reader(async (from): Promise<RawState> => {
        const found = [
          ...(await scanAll(from, `${escapeGlob(keys.route(''))}*`)),
          ...(await scanAll(from, `${escapeGlob(keys.maintenance(''))}*`)),
        ];
        const read = await readAtomically(from, found);
        const values = new Map<string, string>();
        for (const [key, value] of read.values) if (value !== null) values.set(key, value);
        return { version: read.version, values };
      }),
    readKeys: (list) => reader((from) => readAtomically(from, list)),
    write: async (change: StateWrite): Promise<WriteResult> => (await writeBatch([change]))[0] as WriteResult,
    writeBatch,
    history: (limit) =>
      run(async (redis) => {
        const entries = await redis.xrevrange(keys.history, '+', '-', 'COUNT', limit);
        return entries.map(([id, fields]) => parseHistory(id, fields));
      }),
    putFront: (report, ttlMs) =>
      run(async (redis) => {
        await redis.set(keys.front(report.id), JSON.stringify(report), 'PX', ttlMs);
      }),
    removeFront: (id) =>
      run(async (redis) => {
        await redis.del(keys.front(id));
      }),
    listFronts: () =>
      run(async (redis) => {
        const found = await scanAll(ioredisReader(redis), escapeGlob(keys.front('')) + '*');
        if (found.length === 0) return [];
        const raw = await redis.mget(...found);
        return raw.flatMap((value) => {
          if (value === null) return [];
          try {
            const report = normalizeReport(JSON.parse(value));
            return report ? [report] : [];
          } catch {
            return [];
          }
        });
      }),
    getCutover: (site) => run((redis) => redis.get(keys.cutover(site))),
    putCutover: (site, value) =>
      run(async (redis) => {
        if (value === null) await redis.del(keys.cutover(site));
        else await redis.set(keys.cutover(site), value);
      }),
    createCutover: (site, value) => run(async (redis) => (await redis.set(keys.cutover(site), value, 'NX')) === 'OK'),
    watch() {
      const watch = createStoreWatch((closed) => watchers.delete(closed));
      watchers.add(watch);
      // ioredis's connection says where Redis is; the watch connection opens when it is ready.
      if (command.status === 'wait') ready().catch(() => undefined);
      openWatchConnection();
      return watch;
    },
    async close() {
      if (closed) return;
      closed = true;
      watchers.clear();
      if (retryTimer) clearTimeout(retryTimer);
      watchConnection?.close();
      await quit(command);
    },
  };
}

/** Milliseconds before reconnection attempt `attempt` (both connections): 50, 100, 200… up to 1 s. */
function backoff(attempt: number): number {
  return Math.min(50 * 2 ** attempt, 1000);
}

async function quit(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    await redis.quit().catch(() => redis.disconnect());
  } else redis.disconnect();
}

/** The keys of an `invalidate` push: an array of keys, or null when the server flushed (invalidate everything). */
function decodeKeys(keys: RespValue | undefined): readonly string[] | null {
  if (!Array.isArray(keys) || keys.length === 0) return null;
  // The keys are bulk strings, which decode as strings: the array is passed on as it is.
  return keys as string[];
}

/** What the state reads need from a connection: ioredis's or the watch connection. */
interface Reader {
  mget(list: readonly string[]): Promise<(string | null)[]>;
  scan(cursor: string, pattern: string): Promise<[cursor: string, keys: string[]]>;
}

function ioredisReader(redis: Redis): Reader {
  return {
    mget: (list) => redis.mget(...list),
    scan: (cursor, pattern) => redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500),
  };
}

// Replies are as Redis documents them for these commands: MGET an array of strings or nulls, SCAN [cursor, keys].
function respReader(connection: RespConnection): Reader {
  return {
    mget: (list) => connection.call(['MGET', ...list]) as Promise<(string | null)[]>,
    scan: async (cursor, pattern) => (await connection.call(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '500'])) as [string, string[]],
  };
}

function parseHistory(id: string, fields: string[]): HistoryEntry {
  const map = new Map<string, string>();
  for (let index = 0; index + 1 < fields.length; index += 2) map.set(fields[index] as string, fields[index + 1] as string);
  const cutoverId = map.get('cutover');
  return {
    id,
    time: historyTime(id),
    actor: map.get('actor') ?? '',
    site: map.get('site') ?? '',
    kind: (map.get('kind') ?? 'route') as StateKind,
    action: map.get('action') ?? '',
    old: map.get('old') ?? null,
    new: map.get('new') ?? null,
    version: Number(map.get('version') ?? 0),
    ...(cutoverId ? { cutoverId } : {}),
  };
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

function describeOptions(options: RedisOptions): string {
  if (options.sentinels) return `sentinel:${options.name ?? 'mymaster'}`;
  return `redis://${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`;
}

import { createStore, type FrontEnd, type Store, silentLogger } from '@switchyard/core';
import { RedisServer } from '../../../../test/support/redis-server';
import { type AppServer, startAppServer } from './app-server';
import { type FrontEndProcess, startFrontEnd, startFrontEndProcess } from './front-ends';

/**
 * What the CLI commands act on, as in a real migration: a real redis-server, the old and the new app server
 * (the default site routed to the old one), and two front ends following Redis, one in this process and one in its own.
 */
export interface Testbed {
  readonly redis: RedisServer;
  /** A store client of the test's own, to read history, journals and heartbeats. */
  readonly store: Store;
  readonly oldApp: AppServer;
  readonly newApp: AppServer;
  /** The front end in this process: its watcher shows what a front end applies, synchronously. */
  readonly local: FrontEnd;
  /** The front end in a child process, as on another host. */
  readonly remote: FrontEndProcess;
  /** Stops all of it. */
  close(): Promise<void>;
}

/** Starts a Testbed; resolves once both front ends have synced the route to the old app server. */
export async function startTestbed(): Promise<Testbed> {
  const redis = await RedisServer.start();
  const store = createStore(redis.url, { logger: silentLogger });
  const [oldApp, newApp] = await Promise.all([startAppServer('old'), startAppServer('new')]);
  await redis.cli.set('switchyard:route:default', oldApp.url);
  const [local, remote] = await Promise.all([startFrontEnd(redis.url), startFrontEndProcess(redis.url)]);
  return {
    redis,
    store,
    oldApp,
    newApp,
    local,
    remote,
    async close() {
      await Promise.all([local.close(), remote.stop()]);
      await store.close();
      await Promise.all([oldApp.close(), newApp.close()]);
      await redis.stop();
    },
  };
}

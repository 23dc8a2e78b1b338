import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createFrontEnd, type FrontEnd, type Store, silentLogger } from '@switchyard/core';
import { startTypeScriptProcess } from '../../../../test/support/typescript-process';

/** A front end in this process, heart-beating quickly so convergence shows within milliseconds. */
export function startFrontEnd(store: string | Store): Promise<FrontEnd> {
  return createFrontEnd({ store, logger: silentLogger, heartbeatIntervalMs: 200, statsPublishIntervalMs: 10 });
}

/** A front end running in a child process (fixtures/front-end.ts). */
export interface FrontEndProcess {
  readonly id: string;
  readonly child: ChildProcess;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

/** Starts fixtures/front-end.ts against `redisUrl`; resolves once it has synced and heart-beaten. */
export async function startFrontEndProcess(redisUrl: string): Promise<FrontEndProcess> {
  const front = startTypeScriptProcess(join(__dirname, '..', 'fixtures', 'front-end.ts'), [], {
    env: { SWITCHYARD_REDIS_URL: redisUrl },
    name: 'the front-end process',
  });
  await front.waitForOutput(/ready \S+\n/);
  return {
    id: /ready (\S+)\n/.exec(front.stdout())?.[1] as string,
    child: front.child,
    async stop() {
      await front.stop();
    },
  };
}

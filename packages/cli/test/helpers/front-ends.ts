import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createFrontEnd, type FrontEnd, type Store, silentLogger } from '@switchyard/core';
import { waitFor } from '../../../../test/support/wait';

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
  const child = spawn(
    process.execPath,
    ['--conditions=switchyard-source', '--import', 'tsx', join(__dirname, '..', 'fixtures', 'front-end.ts')],
    {
      env: { ...process.env, SWITCHYARD_REDIS_URL: redisUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = once(child, 'exit');
  const id: string = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`front end exited: ${output}`);
      return /ready (\S+)/.exec(output)?.[1] ?? '';
    },
    { timeoutMs: 20_000, intervalMs: 20, what: 'the front-end process to be ready' },
  );
  return {
    id,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

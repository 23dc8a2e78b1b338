import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './ports';
import { repositoryRoot, startTypeScriptProcess } from './typescript-process';
import { waitFor } from './wait';

/** The example front ends, run as real processes the way an operator would run them. */
export type ExampleFront = 'koa-front' | 'express-front' | 'plain-front';

/** A front-end process on a free port, with everything it printed kept for assertions. */
export interface FrontProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** SIGTERM, then waits for the exit (graceful shutdown). */
  stop(): Promise<number | null>;
}

/** Starts `examples/<name>/src/server.ts` with `PORT` and the given environment; resolves once it accepts connections. */
export async function startExampleFront(name: ExampleFront, env: Record<string, string>): Promise<FrontProcess> {
  const port = await freePort();
  const front = startTypeScriptProcess(join(repositoryRoot, 'examples', name, 'src', 'server.ts'), [], {
    env: { SWITCHYARD_LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    name,
  });
  await waitFor(
    () => {
      if (front.child.exitCode !== null) throw new Error(`${name} exited with ${front.child.exitCode}: ${front.stderr()}`);
      return canConnect(port);
    },
    { timeoutMs: 20_000, intervalMs: 50, what: `${name} to listen on ${port}` },
  );
  return {
    url: `http://127.0.0.1:${port}`,
    child: front.child,
    stderr: front.stderr,
    stop: async () => (await front.stop()).code,
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './ports';
import { waitFor } from './wait';

/** The example front ends, run as real processes the way an operator would run them. */
export type ExampleFront = 'koa-front' | 'express-front';

/** A front-end process on a free port, with everything it printed kept for assertions. */
export interface FrontProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** SIGTERM, then waits for the exit (graceful shutdown). */
  stop(): Promise<number | null>;
}

const root = join(__dirname, '..', '..');

/** Starts `examples/<name>/src/server.ts` with `PORT` and the given environment; resolves once it accepts connections. */
export async function startExampleFront(name: ExampleFront, env: Record<string, string>): Promise<FrontProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--conditions=switchyard-source', '--import', 'tsx', join(root, 'examples', name, 'src', 'server.ts')],
    {
      cwd: root,
      env: { ...process.env, SWITCHYARD_LOG_LEVEL: 'warn', ...env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout?.resume();
  const exited = once(child, 'exit');
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${stderr}`);
      return canConnect(port);
    },
    { timeoutMs: 20_000, intervalMs: 50, what: `${name} to listen on ${port}` },
  );
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
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

import { main } from '../../src/index';

/** What an in-process `main()` call printed and returned. */
export interface MainRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as one JSON document. */
  json<T = Record<string, unknown>>(): T;
  /** stdout parsed as one JSON document per line. */
  jsonLines<T = Record<string, unknown>>(): T[];
}

/** Runs the CLI in this process with collected output: cheap, for cases that need no child process. */
export async function runMain(args: readonly string[], options: { redis?: string; signal?: AbortSignal } = {}): Promise<MainRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    env: { ...process.env, NO_COLOR: '1', ...(options.redis ? { SWITCHYARD_REDIS_URL: options.redis } : {}) },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return {
    code,
    stdout,
    stderr,
    json: <T>() => JSON.parse(stdout) as T,
    jsonLines: <T>() =>
      stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as T),
  };
}

import { join } from 'node:path';
import { type ProcessExit, repositoryRoot, startTypeScriptProcess, type TypeScriptProcess } from './typescript-process';

const bin = join(repositoryRoot, 'packages', 'cli', 'src', 'bin.ts');

/** Starts the real `switchyard` binary (on the TypeScript sources) with the given arguments and environment, without colour. */
export function startCli(args: readonly string[], env: Record<string, string> = {}, killAfterMs?: number): TypeScriptProcess {
  return startTypeScriptProcess(bin, args, {
    env: { NO_COLOR: '1', ...env },
    name: `switchyard ${args.join(' ')}`,
    killAfterMs,
  });
}

/** Runs `switchyard` to the end as a real process and resolves with its exit and output; killed (and rejected) after `timeoutMs`. */
export function runCli(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<ProcessExit> {
  return startCli(args, env, timeoutMs).exited;
}

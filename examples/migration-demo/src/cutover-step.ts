import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, extname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { type CutoverEvent, type CutoverStepReport, cutover } from '@switchyard/cli';
import { redactUrl, type Store } from '@switchyard/core';
import { copyDatabase } from './guestbook-db';

/** Options of runCutover. */
export interface CutoverRunOptions {
  /** `memory`: cutover() in this process; `redis`: the switchyard CLI as a child process. */
  mode: 'memory' | 'redis';
  /** The store the front end watches (memory mode runs the cutover against it). */
  store: Store;
  /** The Redis the CLI connects to (redis mode). */
  redisUrl: string | undefined;
  site: string;
  /** The new app server. */
  to: string;
  /** Hold for refused writes (ms); 0 refuses them at once. */
  holdMs: number;
  /** How the data moves: a copy of the SQLite file in the sync step, or the database step over replication. */
  data: { kind: 'copy'; oldDbPath: string; newDbPath: string } | { kind: 'replication'; source: string; target: string };
  /** Gets a few lines of progress. */
  say: (line: string) => void;
}

/** How the cutover went, whichever way it ran. */
export interface CutoverOutcome {
  readonly ok: boolean;
  /** Why it failed. */
  readonly error?: string;
  /** The finished steps with their durations. */
  readonly steps: readonly CutoverStepReport[];
  /** From maintenance on to maintenance off applied everywhere, as the cutover measured it. */
  readonly windowMs: number | undefined;
  /** With replication: how long the target took to reach the source's position in the window. */
  readonly catchUpMs?: number;
}

/** The repository root: the CLI runs from there, so the sync command can use short relative paths. */
const REPO_ROOT = join(__dirname, '..', '..', '..');
const COPY_DB_SCRIPT = join(__dirname, 'copy-db.ts');
const ACTOR = 'migration-demo';

/**
 * Runs the cutover from the old app server to the new one, whose sync step copies old.db over
 * new.db: in memory mode by calling cutover() with the copy as a function, in Redis mode by running
 * `switchyard cutover --sync "node … copy-db.ts old.db new.db"` as a child process.
 */
export function runCutover(options: CutoverRunOptions): Promise<CutoverOutcome> {
  return options.mode === 'redis' ? runCliCutover(options) : runInProcessCutover(options);
}

async function runInProcessCutover(options: CutoverRunOptions): Promise<CutoverOutcome> {
  const transcript = new CutoverTranscript(options.say);
  const { data } = options;
  options.say(
    data.kind === 'copy'
      ? 'cutover() in process; sync = copyDatabase(old.db, new.db)'
      : 'cutover() in process; db = { source: the old database, target: its replica, fenceSource: true }',
  );
  try {
    await cutover({
      store: options.store,
      site: options.site,
      to: options.to,
      actor: ACTOR,
      ...(options.holdMs > 0 ? { hold: options.holdMs } : {}),
      ...(data.kind === 'copy'
        ? {
            sync: async (context) => {
              const { pages } = await copyDatabase(data.oldDbPath, data.newDbPath);
              context.log(`copied ${pages} pages`);
            },
          }
        : { db: { source: data.source, target: data.target, fenceSource: true } }),
      onEvent: transcript.onEvent,
    });
  } catch (error) {
    transcript.fail((error as Error).message);
  }
  return transcript.outcome();
}

async function runCliCutover(options: CutoverRunOptions): Promise<CutoverOutcome> {
  const transcript = new CutoverTranscript(options.say);
  const { data } = options;
  const args = ['cutover', '--site', options.site, '--to', options.to];
  if (data.kind === 'copy') {
    const sync = [process.execPath, '--import', 'tsx', ...[COPY_DB_SCRIPT, data.oldDbPath, data.newDbPath].map(fromRepoRoot)]
      .map(shellQuote)
      .join(' ');
    args.push('--sync', sync);
  } else {
    args.push('--db-source', data.source, '--db-target', data.target, '--fence-source');
  }
  if (options.holdMs > 0) args.push('--hold', String(options.holdMs));
  // --json: one event per line, which the transcript prints the same way as in process.
  args.push('--json');
  // The database URLs may carry passwords: printed without them.
  options.say(`switchyard ${args.map((arg) => shellQuote(redactUrl(arg))).join(' ')}`);
  // The binary's entry point next to the CLI module this process loads: src/bin.ts under the
  // switchyard-source condition (`npm run demo`), else the build's dist/bin.js.
  const cliModule = require.resolve('@switchyard/cli');
  const cliEntry = join(dirname(cliModule), `bin${extname(cliModule)}`);
  const child = spawn(process.execPath, [...process.execArgv, cliEntry, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, SWITCHYARD_REDIS_URL: options.redisUrl, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  // Besides events, the CLI prints `{"error": …}` when it fails before the first step.
  createInterface({ input: child.stdout }).on('line', (line) => {
    const parsed = parseLine(line);
    if (parsed && 'type' in parsed) transcript.onEvent(parsed);
    else if (parsed && 'error' in parsed) transcript.fail(parsed.error.message);
  });
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) transcript.fail(stderr.trim().split('\n').pop() || `switchyard exited with ${code}`);
  return transcript.outcome();
}

/** Prints a cutover's events as a few short lines and remembers how it ended. */
class CutoverTranscript {
  private readonly steps: CutoverStepReport[] = [];
  private windowMs: number | undefined;
  private catchUpMs: number | undefined;
  private error: string | undefined;
  private done = false;

  constructor(private readonly say: (line: string) => void) {}

  readonly onEvent = (event: CutoverEvent): void => {
    switch (event.type) {
      case 'step-done':
        this.steps.push({ step: event.step, ms: event.ms, detail: event.detail, ...(event.substeps ? { substeps: event.substeps } : {}) });
        this.catchUpMs ??= event.substeps?.find((substep) => substep.name === 'catch-up')?.ms;
        this.say(`✔ ${event.step.padEnd(11)} ${`${event.ms} ms`.padStart(8)}  ${event.detail}`);
        break;
      case 'step-failed':
        this.say(`✖ ${event.step.padEnd(11)} ${`${event.ms} ms`.padStart(8)}  ${event.error.message}`);
        break;
      case 'output':
        this.say(`  ${event.step} │ ${event.line}`);
        break;
      case 'cleanup':
        this.say(`↩ ${event.detail}`);
        break;
      case 'done':
        this.done = true;
        this.windowMs = event.report.maintenanceWindowMs ?? undefined;
        this.say(
          `maintenance window ${this.windowMs} ms${this.catchUpMs === undefined ? '' : `, database catch-up ${this.catchUpMs} ms`} (cutover total ${event.report.totalMs} ms)`,
        );
        break;
      case 'failed':
        this.windowMs = event.maintenanceWindowMs ?? undefined;
        this.fail(event.error.message);
        break;
    }
  };

  /** Records a failure (the first reason wins: later ones are usually its echo). */
  fail(message: string): void {
    this.error ??= message;
  }

  outcome(): CutoverOutcome {
    const ok = this.done && this.error === undefined;
    return {
      ok,
      ...(ok ? {} : { error: this.error ?? 'the cutover did not report an outcome' }),
      steps: this.steps,
      windowMs: this.windowMs,
      ...(this.catchUpMs === undefined ? {} : { catchUpMs: this.catchUpMs }),
    };
  }
}

function parseLine(line: string): CutoverEvent | { error: { message: string } } | undefined {
  try {
    const value = JSON.parse(line) as unknown;
    return typeof value === 'object' && value !== null ? (value as CutoverEvent | { error: { message: string } }) : undefined;
  } catch {
    return undefined;
  }
}

/** A path relative to the repository root when it is inside it (shorter to read in the printed command). */
function fromRepoRoot(path: string): string {
  const inside = relative(REPO_ROOT, path);
  return inside.startsWith('..') ? path : inside;
}

/** Quotes a word for /bin/sh when it needs it. */
function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

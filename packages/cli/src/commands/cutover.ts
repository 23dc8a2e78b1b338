import { SwitchyardError } from '@switchyard/core';
import { checkDatabaseUrls } from '@switchyard/db';
import type { CommandSpec, ParsedArgs } from '../command';
import type { CommandContext } from '../context';
import { abortCutover, cutover, resumeCutover } from '../cutover/cutover';
import type { CutoverStepOptions } from '../cutover/options';
import { CutoverProgress } from '../cutover/progress';
import { MAINTENANCE_OPTIONS, maintenanceFieldsFromArgs } from '../maintenance-options';
import { parseDuration, usageError } from '../option-values';
import { CONVERGENCE_OPTIONS, convergenceTimeout } from './after-write';

/** `switchyard cutover` */
export const cutoverCommand: CommandSpec = {
  name: 'cutover',
  summary: 'move a site to a new server: maintenance, sync, switch, verify, maintenance off — verified and reversible',
  description: [
    'Runs the migration recipe as one operation:',
    '  1. pre-flight: the new target is healthy, every front end applies the state in Redis, Redis',
    '     is writable, no other cutover is recorded for the site; prints the plan (--dry-run stops here)',
    '  2. maintenance on (read-only unless --full; --hold makes users wait instead of failing),',
    '     applied by every front end; waits for in-flight writes to drain',
    '  3. sync: runs --sync (your database copy), and/or polls --until-ready until it exits 0;',
    '     database: with --db-source/--db-target (the target replicating the source), fences the',
    "     source if --fence-source, waits until the target has the source's position, promotes it",
    '  4. switches the route to --to (compare-and-set) and waits for every front end',
    '  5. verifies: --verify, else a health check of the new target',
    '  6. maintenance back to what it was (normally off)',
    'Every step is journaled in Redis and recorded in the history under one cutover id. A failure',
    'or Ctrl-C before step 4 restores maintenance and leaves the route alone; after it the route',
    'goes back to the old target first. If the process dies, `switchyard status` shows the',
    'unfinished cutover: continue it with --resume, or undo it with --abort.',
    'Commands run with /bin/sh and get SWITCHYARD_SITE, SWITCHYARD_FROM, SWITCHYARD_TO and',
    'SWITCHYARD_CUTOVER_ID in their environment.',
  ].join('\n'),
  options: {
    to: { type: 'string', value: '<url>', description: 'the new target, e.g. http://10.0.0.2:3000' },
    sync: { type: 'string', value: '<command>', description: 'shell command that copies the data; non-zero exit aborts' },
    'until-ready': { type: 'string', value: '<command>', description: 'shell command polled after the sync until it exits 0' },
    'ready-timeout': { type: 'string', value: '<duration>', description: 'how long --until-ready may take (default 5m)' },
    'ready-interval': { type: 'string', value: '<duration>', description: 'pause between --until-ready attempts (default 1s)' },
    verify: { type: 'string', value: '<command>', description: 'shell command that checks the new target after the switch' },
    'health-path': { type: 'string', value: '<path>', description: 'path of the health checks of the new target (default /)' },
    'health-timeout': { type: 'string', value: '<duration>', description: 'how long a health check may take (default 5s)' },
    force: { type: 'boolean', description: 'skip the health checks of the new target' },
    full: { type: 'boolean', description: 'full maintenance (refuse reads too) instead of read-only' },
    ...MAINTENANCE_OPTIONS,
    'drain-timeout': { type: 'string', value: '<duration>', description: 'how long in-flight writes may take to finish (default 30s)' },
    'db-source': { type: 'string', value: '<url>', description: 'the database now: postgres://user@old-db/app or mysql://root@old-db/app' },
    'db-target': {
      type: 'string',
      value: '<url>',
      description: 'the database replicating it, promoted in the window (passwords never printed)',
    },
    'max-lag': { type: 'string', value: '<duration>', description: 'refuse in pre-flight when the target is further behind (default 5s)' },
    'fence-source': { type: 'boolean', description: 'after the drain, make the source database refuse writes from every client' },
    'rollback-after-promote': {
      type: 'boolean',
      description: 'a failure after promotion goes back to the old server anyway (default: stay in maintenance)',
    },
    timeout: CONVERGENCE_OPTIONS.timeout,
    'dry-run': { type: 'boolean', description: 'run the pre-flight checks and print the plan, change nothing' },
    resume: { type: 'boolean', description: 'continue the unfinished cutover of the site' },
    abort: { type: 'boolean', description: 'undo the unfinished cutover of the site' },
  },
  examples: [
    'switchyard cutover --to http://10.0.0.2:3000 --sync "./copy-db.sh" --hold 5000',
    'switchyard cutover --site shop --to http://10.0.0.2:3000 --until-ready "./replica-caught-up.sh" --verify "./smoke-test.sh"',
    'switchyard cutover --to http://10.0.0.2:3000 --db-source postgres://app@old-db/app --db-target postgres://app@new-db/app --hold 5000',
    'switchyard cutover --to http://10.0.0.2:3000 --dry-run',
    'switchyard cutover --resume --sync "./copy-db.sh"',
    'switchyard cutover --abort --site shop',
  ],
  longRunning: true,
  handlesInterrupt: true,
  async run(context, args) {
    const modes = ['to', 'resume', 'abort'].filter((name) => args.has(name));
    if (modes.length !== 1) {
      throw usageError(
        modes.length === 0
          ? 'cutover needs --to <url> (or --resume / --abort for an unfinished one), e.g. switchyard cutover --to http://10.0.0.2:3000'
          : `use one of --to, --resume and --abort, not ${modes.map((mode) => `--${mode}`).join(' and ')}`,
      );
    }
    const mode = modes[0] as string;
    const onlyWithTo = ['full', 'dry-run', ...Object.keys(MAINTENANCE_OPTIONS)];
    const onlyToOrResume = [
      'sync',
      'until-ready',
      'ready-timeout',
      'ready-interval',
      'verify',
      'health-path',
      'health-timeout',
      'force',
      'drain-timeout',
      'max-lag',
      'fence-source',
      'rollback-after-promote',
    ];
    const misplaced = [...(mode === 'to' ? [] : onlyWithTo), ...(mode === 'abort' ? onlyToOrResume : [])].filter((name) => args.has(name));
    if (misplaced.length > 0) {
      throw usageError(
        `--${misplaced[0]} does not go with --${mode}${mode === 'resume' ? ' (the maintenance state is the journaled one)' : ''}; see switchyard cutover --help`,
      );
    }
    const progress = new CutoverProgress(context);
    const onInterrupt = () => {
      if (!context.json) context.note('interrupted: cleaning up… (interrupt again to exit at once, leaving the journal for --abort)');
    };
    context.signal.addEventListener('abort', onInterrupt, { once: true });
    try {
      if (args.flag('abort')) return await abort(context, progress, convergenceTimeout(args), databaseOptions(args).db);
      const steps = stepOptions(context, args, progress);
      if (args.flag('resume')) await resumeCutover(steps);
      else {
        await cutover({
          ...steps,
          to: args.string('to') as string,
          full: args.flag('full'),
          maintenance: maintenanceFieldsFromArgs(args, args.flag('full') ? 'on' : 'read-only'),
          dryRun: args.flag('dry-run'),
          confirm: async () => {
            progress.stop();
            return context.confirm('Start the cutover?');
          },
        });
      }
      return 0;
    } finally {
      context.signal.removeEventListener('abort', onInterrupt);
      progress.stop();
    }
  },
};

function stepOptions(context: CommandContext, args: ParsedArgs, progress: CutoverProgress): CutoverStepOptions {
  const duration = (name: string, fallback: string) => parseDuration(args.string(name) ?? fallback, name);
  return {
    store: context.store,
    site: context.site,
    convergenceTimeoutMs: convergenceTimeout(args),
    onEvent: progress.onEvent,
    signal: context.signal,
    sync: args.string('sync'),
    untilReady: args.string('until-ready'),
    readyTimeoutMs: duration('ready-timeout', '5m'),
    readyIntervalMs: duration('ready-interval', '1s'),
    verify: args.string('verify'),
    healthPath: args.string('health-path'),
    healthTimeoutMs: duration('health-timeout', '5s'),
    skipHealthCheck: args.flag('force'),
    drainTimeoutMs: duration('drain-timeout', '30s'),
    ...databaseOptions(args),
  };
}

const DATABASE_FLAGS = ['db-source', 'db-target', 'max-lag', 'fence-source', 'rollback-after-promote'];

/** `--db-source`/`--db-target` and their companions; both URLs or neither, checked before anything runs. */
function databaseOptions(args: ParsedArgs): Pick<CutoverStepOptions, 'db'> {
  const source = args.string('db-source');
  const target = args.string('db-target');
  if (source === undefined && target === undefined) {
    const stray = DATABASE_FLAGS.find((name) => args.has(name));
    if (stray) throw usageError(`--${stray} needs --db-source and --db-target`);
    return {};
  }
  if (source === undefined || target === undefined) {
    throw usageError(
      `--db-source and --db-target go together, e.g. --db-source postgres://app@old-db/app --db-target postgres://app@new-db/app`,
    );
  }
  try {
    checkDatabaseUrls(source, target);
  } catch (error) {
    throw usageError(`--db-source/--db-target: ${(error as Error).message}`);
  }
  return {
    db: {
      source,
      target,
      maxLagMs: parseDuration(args.string('max-lag') ?? '5s', 'max-lag'),
      fenceSource: args.flag('fence-source'),
      rollbackAfterPromote: args.flag('rollback-after-promote'),
    },
  };
}

async function abort(
  context: CommandContext,
  progress: CutoverProgress,
  convergenceTimeoutMs: number,
  db: CutoverStepOptions['db'],
): Promise<number> {
  if (!(await context.confirm(`Undo the unfinished cutover of ${context.site}?`))) {
    throw new SwitchyardError('SWITCHYARD_ERR_ABORTED', 'abort cancelled; nothing changed');
  }
  const report = await abortCutover({
    store: context.store,
    site: context.site,
    convergenceTimeoutMs,
    onEvent: progress.onEvent,
    ...(db ? { db } : {}),
  });
  if (context.json) context.printJson({ type: 'aborted', cutoverId: report.cutoverId, site: report.site, cleanup: report.cleanup });
  else context.print(context.style.green(`cutover ${report.cutoverId} undone: ${report.cleanup.summary}`));
  return 0;
}

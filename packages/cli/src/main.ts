import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_REDIS_URL, isSwitchyardError } from '@switchyard/core';
import { type CommandSpec, commandHelp, GLOBAL_OPTIONS, locateCommand, parseCommandArgs } from './command';
import { cutoverCommand } from './commands/cutover';
import { frontsCommand } from './commands/fronts';
import { historyCommand } from './commands/history';
import { maintenanceOffCommand, maintenanceOnCommand, maintenanceStatusCommand } from './commands/maintenance';
import { restoreCommand } from './commands/restore';
import { rollbackCommand } from './commands/rollback';
import { routeDeleteCommand, routeGetCommand, routeListCommand, routeSetCommand } from './commands/route';
import { serveCommand } from './commands/serve';
import { statusCommand } from './commands/status';
import { watchCommand } from './commands/watch';
import { type CliIO, CommandContext, DEFAULT_REDIS_TIMEOUT } from './context';
import type { CliErrorCode } from './errors';
import { parseDuration, usageError } from './option-values';
import { redactUrls } from './redact';
import { closest } from './suggest';

/** Every command, in the order --help lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  statusCommand,
  routeSetCommand,
  routeGetCommand,
  routeListCommand,
  routeDeleteCommand,
  maintenanceOnCommand,
  maintenanceOffCommand,
  maintenanceStatusCommand,
  cutoverCommand,
  historyCommand,
  rollbackCommand,
  restoreCommand,
  frontsCommand,
  watchCommand,
  serveCommand,
];

/** Exit codes of the `switchyard` command. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Codes that mean the command line itself is wrong: exit 2. */
const USAGE_CODES: ReadonlySet<CliErrorCode> = new Set([
  'SWITCHYARD_ERR_USAGE',
  'SWITCHYARD_ERR_INVALID_ROUTE',
  'SWITCHYARD_ERR_INVALID_SITE',
  'SWITCHYARD_ERR_INVALID_OPTION',
  'SWITCHYARD_ERR_INVALID_MAINTENANCE',
  'SWITCHYARD_ERR_INVALID_STORE_URL',
]);

/**
 * Runs the `switchyard` command line (`argv` without node and the script) and resolves to the
 * exit code: 0 ok, 1 failed, 2 bad usage. Errors are printed as one line on stderr (and as
 * `{"error":{code,message}}` on stdout with --json); nothing is thrown.
 */
export async function main(argv: readonly string[], io: CliIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const wantsJson = argv.includes('--json');
  let context: CommandContext | undefined;
  let abandoned = false;
  try {
    if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V' || argv[0] === 'version')) {
      stdout.write(`${cliVersion()}\n`);
      return EXIT.ok;
    }
    const groups = new Set(COMMANDS.filter((spec) => spec.name.includes(' ')).map((spec) => spec.name.split(' ')[0] as string));
    const located = locateCommand(argv, (word) => groups.has(word));
    // `switchyard help route set` is `switchyard route set --help`.
    const helpCommand = located.words[0] === 'help';
    const asksHelp = helpCommand || argv.includes('--help') || argv.includes('-h');
    const words = helpCommand ? located.rest.filter((arg) => !arg.startsWith('-')).slice(0, 2) : located.words;
    const name = words.join(' ');
    const spec = COMMANDS.find((command) => command.name === name);
    if (!spec) {
      if (asksHelp && (name === '' || groups.has(name))) {
        stdout.write(overview(name || undefined));
        return EXIT.ok;
      }
      if (groups.has(name)) {
        const sub = subcommands(name);
        throw usageError(`${name} needs a sub-command: ${sub.join(', ')}; e.g. switchyard ${name} ${sub[0]} --help`);
      }
      if (name === '') throw usageError('no command given; run switchyard --help for the list');
      const guess = closest(name, [...COMMANDS.map((command) => command.name), ...groups]);
      throw usageError(
        `unknown command ${JSON.stringify(name)}${guess ? ` (did you mean switchyard ${guess}?)` : ''}; run switchyard --help for the list`,
      );
    }
    if (helpCommand) {
      stdout.write(commandHelp(spec));
      return EXIT.ok;
    }
    const args = parseCommandArgs(spec, located.rest);
    if (args.flag('help')) {
      stdout.write(commandHelp(spec));
      return EXIT.ok;
    }
    const env = io.env ?? process.env;
    context = new CommandContext(
      io,
      {
        redis: args.string('redis') ?? (env.SWITCHYARD_REDIS_URL || DEFAULT_REDIS_URL),
        redisTimeoutMs: redisTimeout(args.string('redis-timeout')),
        prefix: args.string('prefix'),
        site: args.string('site') ?? '',
        siteGiven: args.has('site'),
        json: args.flag('json'),
        yes: args.flag('yes'),
      },
      spec.longRunning,
    );
    if (spec.handlesInterrupt) return (await spec.run(context, args)) ?? EXIT.ok;
    const outcome = await untilInterrupted(spec.run(context, args), io);
    if (outcome.kind === 'done') return outcome.code ?? EXIT.ok;
    // Nothing to clean up, and the command may be stuck on an unanswering Redis: stop waiting for it.
    abandoned = true;
    if (outcome.kind === 'output-closed') return EXIT.ok;
    throw outcome.reason;
  } catch (error) {
    const code = isSwitchyardError(error) ? error.code : undefined;
    // A Redis that stopped answering would make a polite QUIT wait for its deadline too.
    if (code === 'SWITCHYARD_ERR_STORE_UNAVAILABLE') abandoned = true;
    const message = redactUrls(((error as Error)?.message ?? String(error)).replace(/\s*\n\s*/g, ' '));
    stderr.write(`switchyard: ${message}\n`);
    if (wantsJson) stdout.write(`${JSON.stringify({ error: { code: code ?? 'ERR_UNEXPECTED', message } })}\n`);
    return code && USAGE_CODES.has(code) ? EXIT.usage : EXIT.failed;
  } finally {
    // An abandoned command's store, or an unanswering one, may be stuck: close it in the background.
    const closing = context?.close().catch(() => undefined);
    if (!abandoned) await closing;
  }
}

/** --redis-timeout: a positive duration. */
function redisTimeout(text: string | undefined): number {
  const ms = parseDuration(text ?? DEFAULT_REDIS_TIMEOUT, 'redis-timeout');
  if (ms <= 0) throw usageError(`invalid --redis-timeout ${JSON.stringify(text)}: it must be more than 0, e.g. 3s`);
  return ms;
}

type Outcome = { kind: 'done'; code: number | undefined } | { kind: 'interrupted'; reason: unknown } | { kind: 'output-closed' };

/** The command's result, or whichever of an interrupt (SIGINT/SIGTERM) or closed output comes first. */
function untilInterrupted(run: Promise<number | undefined>, io: CliIO): Promise<Outcome> {
  const listeners: (() => void)[] = [];
  const on = (signal: AbortSignal | undefined, outcome: () => Outcome) =>
    new Promise<Outcome>((resolve) => {
      if (!signal) return;
      if (signal.aborted) resolve(outcome());
      const listener = () => resolve(outcome());
      signal.addEventListener('abort', listener, { once: true });
      listeners.push(() => signal.removeEventListener('abort', listener));
    });
  return Promise.race([
    run.then((code): Outcome => ({ kind: 'done', code })),
    on(io.signal, () => ({ kind: 'interrupted', reason: io.signal?.reason })),
    on(io.outputClosed, () => ({ kind: 'output-closed' })),
  ]).finally(() => {
    for (const remove of listeners) remove();
  });
}

/** The version of this package, for `switchyard --version`; package.json sits next to src/ and dist/. */
function cliVersion(): string {
  return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
}

function subcommands(group: string): string[] {
  return COMMANDS.filter((spec) => spec.name.startsWith(`${group} `)).map((spec) => spec.name.slice(group.length + 1));
}

function overview(group?: string): string {
  const listed = COMMANDS.filter((spec) => group === undefined || spec.name.startsWith(`${group} `));
  const width = Math.max(...listed.map((spec) => spec.name.length));
  const globalRows = Object.entries(GLOBAL_OPTIONS).map(([name, option]) => [
    `${'short' in option ? `-${option.short}, ` : ''}--${name}${'value' in option ? ` ${option.value}` : ''}`,
    option.description,
  ]);
  const globalWidth = Math.max(...globalRows.map(([left]) => (left as string).length));
  const globals = globalRows.map(([left, right]) => `  ${(left as string).padEnd(globalWidth)}  ${right}`);
  return [
    `Usage: switchyard ${group ?? '<command>'} ${group ? '<sub-command> ' : ''}[options]`,
    '',
    group ? `Sub-commands of ${group}:` : 'Moves live traffic between servers through Redis-held routes and maintenance state.',
    ...(group ? [] : ['', 'Commands:']),
    ...listed.map((spec) => `  ${spec.name.padEnd(width)}  ${spec.summary}`),
    '',
    'Global options:',
    ...globals,
    '',
    'Exit codes: 0 ok, 1 failed (or interrupted), 2 bad usage. Run switchyard <command> --help for options and examples.',
    'switchyard --version prints the version.',
    '',
  ].join('\n');
}

import { parseArgs } from 'node:util';
import type { CommandContext } from './context';
import { usageError } from './option-values';
import { closest } from './suggest';

/** One option of a command, as parseArgs takes it plus what --help shows. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  /** Placeholder shown in --help, e.g. `<url>`. */
  readonly value?: string;
  readonly description: string;
}

/** A positional argument of a command. */
export interface PositionalSpec {
  readonly name: string;
  readonly required: boolean;
  readonly description: string;
}

/** A command (`status`) or sub-command (`route set`) of the CLI. */
export interface CommandSpec {
  /** Words that select the command, e.g. `route set`. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** What --help says after the usage line. */
  readonly description: string;
  readonly positionals?: readonly PositionalSpec[];
  readonly options?: Readonly<Record<string, OptionSpec>>;
  readonly examples: readonly string[];
  /**
   * The command runs for a while (cutover, watch): its Redis connection comes back after a blip
   * instead of failing for good, so a clean-up minutes later still reaches Redis.
   */
  readonly longRunning?: boolean;
  /**
   * The command watches `context.signal` and stops by itself (a cutover restores the site first,
   * `watch` and `serve` finish cleanly). Any other command is abandoned at once on the first
   * Ctrl-C or SIGTERM: it has nothing to clean up, and it may be stuck on an unanswering Redis.
   */
  readonly handlesInterrupt?: boolean;
  /** Runs the command; resolves to the exit code (0 when undefined). */
  run(context: CommandContext, args: ParsedArgs): Promise<number | undefined>;
}

/** Options every command takes. */
export const GLOBAL_OPTIONS = {
  redis: {
    type: 'string',
    value: '<url>',
    description: 'Redis holding the state (env SWITCHYARD_REDIS_URL; default redis://127.0.0.1:6379)',
  },
  'redis-timeout': {
    type: 'string',
    value: '<duration>',
    description: 'deadline of each Redis command (default 3s): an unanswering Redis fails the command',
  },
  prefix: { type: 'string', value: '<prefix>', description: 'key prefix (default switchyard:), to share one Redis between environments' },
  site: { type: 'string', short: 's', value: '<site>', description: 'site to act on (default "default")' },
  json: { type: 'boolean', description: 'machine-readable output (JSON)' },
  yes: { type: 'boolean', short: 'y', description: 'never ask for confirmation' },
  help: { type: 'boolean', short: 'h', description: 'show help for the command' },
} as const satisfies Record<string, OptionSpec>;

type RawValue = string | boolean | (string | boolean)[] | undefined;

/** Parsed command-line values with typed accessors. */
export class ParsedArgs {
  constructor(
    private readonly values: Readonly<Record<string, RawValue>>,
    /** Positional arguments after the command words. */
    readonly positionals: readonly string[],
  ) {}

  /** A string option, or undefined when not given (the last one wins when repeated). */
  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === 'string' ? value : undefined;
  }

  /** A boolean option. */
  flag(name: string): boolean {
    return this.values[name] === true;
  }

  /** Every value of a repeatable option. */
  list(name: string): string[] {
    const value = this.values[name];
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  }

  /** True when the option was given. */
  has(name: string): boolean {
    return this.values[name] !== undefined;
  }
}

/** Where the command words are in argv, and what is left once they are taken out. */
export interface LocatedCommand {
  /** The command words found (`['route', 'set']`), possibly only a group (`['route']`) or none. */
  readonly words: readonly string[];
  /** argv without the command words. */
  readonly rest: readonly string[];
}

/**
 * Finds the command words: the first token that is not a global option (or its value), and the
 * next one when the first names a group. Global options may come before or after them.
 */
export function locateCommand(argv: readonly string[], isGroup: (word: string) => boolean): LocatedCommand {
  const takesValue = new Set(
    Object.entries(GLOBAL_OPTIONS)
      .filter(([, spec]) => spec.type === 'string')
      .flatMap(([name, spec]) => [`--${name}`, ...('short' in spec ? [`-${spec.short}`] : [])]),
  );
  let index = 0;
  while (index < argv.length && argv[index]?.startsWith('-') && argv[index] !== '--') {
    index += takesValue.has(argv[index] as string) ? 2 : 1;
  }
  const first = argv[index];
  if (first === undefined || first.startsWith('-')) return { words: [], rest: argv };
  const second = argv[index + 1];
  if (isGroup(first) && second !== undefined && !second.startsWith('-')) {
    return { words: [first, second], rest: [...argv.slice(0, index), ...argv.slice(index + 2)] };
  }
  return { words: [first], rest: [...argv.slice(0, index), ...argv.slice(index + 1)] };
}

/** Parses argv (command words removed) strictly against the command's and the global options. */
export function parseCommandArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const options: Readonly<Record<string, OptionSpec>> = { ...GLOBAL_OPTIONS, ...spec.options };
  let parsed: { values: Record<string, RawValue>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: Object.fromEntries(
        Object.entries(options).map(([name, option]) => [
          name,
          { type: option.type, ...(option.multiple ? { multiple: true } : {}), ...(option.short ? { short: option.short } : {}) },
        ]),
      ),
    });
  } catch (error) {
    throw usageError(`${explainParseError(error as Error & { code?: string }, options)}; see switchyard ${spec.name} --help`);
  }
  const args = new ParsedArgs(parsed.values, parsed.positionals);
  if (args.flag('help')) return args;
  const allowed = spec.positionals ?? [];
  const required = allowed.filter((positional) => positional.required);
  if (parsed.positionals.length < required.length) {
    const missing = required[parsed.positionals.length] as PositionalSpec;
    throw usageError(
      `${spec.name} needs <${missing.name}> (${missing.description}), e.g. ${spec.examples[0] ?? `switchyard ${spec.name}`}`,
    );
  }
  if (parsed.positionals.length > allowed.length) {
    throw usageError(
      `unexpected argument ${JSON.stringify(parsed.positionals[allowed.length])} for ${spec.name}; see switchyard ${spec.name} --help`,
    );
  }
  return args;
}

function explainParseError(error: Error & { code?: string }, options: Readonly<Record<string, OptionSpec>>): string {
  const option = /'(-[^' ]+)/.exec(error.message)?.[1];
  const name = option?.replace(/^-+/, '');
  const spec = name === undefined ? undefined : (options[name] ?? Object.values(options).find((candidate) => candidate.short === name));
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const known = Object.entries(options).flatMap(([long, candidate]) => [
        `--${long}`,
        ...(candidate.short ? [`-${candidate.short}`] : []),
      ]);
      const guess = option === undefined ? undefined : closest(option, known);
      return `unknown option ${option ?? ''}`.trimEnd() + (guess ? ` (did you mean ${guess}?)` : '');
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return spec?.type === 'boolean'
        ? `option ${option} takes no value`
        : `option ${option} needs a value${spec?.value ? ` ${spec.value}` : ''}`;
    default:
      return error.message;
  }
}

/** The --help text of one command. */
export function commandHelp(spec: CommandSpec): string {
  const positionals = (spec.positionals ?? []).map((positional) => (positional.required ? `<${positional.name}>` : `[${positional.name}]`));
  const lines = [`Usage: switchyard ${[spec.name, ...positionals].join(' ')} [options]`, '', spec.description, ''];
  if (spec.positionals?.length) {
    lines.push('Arguments:', ...optionLines(spec.positionals.map((positional) => [`<${positional.name}>`, positional.description])), '');
  }
  if (spec.options && Object.keys(spec.options).length > 0) lines.push('Options:', ...optionLines(describeOptions(spec.options)), '');
  lines.push('Global options:', ...optionLines(describeOptions(GLOBAL_OPTIONS)), '');
  lines.push('Examples:', ...spec.examples.map((example) => `  ${example}`), '');
  return lines.join('\n');
}

function describeOptions(options: Readonly<Record<string, OptionSpec>>): [string, string][] {
  return Object.entries(options).map(([name, option]) => [
    `${option.short ? `-${option.short}, ` : ''}--${name}${option.value ? ` ${option.value}` : ''}`,
    option.description + (option.multiple ? ' (repeatable)' : ''),
  ]);
}

function optionLines(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

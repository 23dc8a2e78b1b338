import { createInterface } from 'node:readline/promises';
import { createStore, DEFAULT_SITE, type Store, silentLogger } from '@switchyard/core';
import { redactUrls } from './redact';
import { createStyle, type Style } from './style';

/** Where the CLI writes: process.stdout/stderr, or collectors in tests. */
export interface OutputStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

/** What main() runs against; everything defaults to the current process. */
export interface CliIO {
  stdout?: OutputStream;
  stderr?: OutputStream;
  stdin?: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  env?: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM by the binary: long-running commands stop (and clean up) when it fires. */
  signal?: AbortSignal;
  /**
   * Aborted by the binary when stdout is closed by its reader (`switchyard status | head -1`): a
   * command with nothing to clean up ends at once and quietly, `watch` stops.
   */
  outputClosed?: AbortSignal;
}

/** Values of the global options, after defaults. */
export interface GlobalOptions {
  readonly redis: string;
  /** Deadline of each Redis command (--redis-timeout). */
  readonly redisTimeoutMs: number;
  readonly prefix: string | undefined;
  readonly site: string;
  /** True when --site was given, for commands that otherwise cover every site. */
  readonly siteGiven: boolean;
  readonly json: boolean;
  readonly yes: boolean;
}

/** An operator must hear quickly that Redis is unreachable, not after a long retry loop. */
const CONNECT_TIMEOUT_MS = 3000;

/** Default deadline of each Redis command: a paused or dead Redis fails the command instead of hanging it. */
export const DEFAULT_REDIS_TIMEOUT = '3s';

/** Everything a command needs: options, output, the store (opened on first use) and the abort signal. */
export class CommandContext {
  readonly options: GlobalOptions;
  readonly style: Style;
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
  /** Aborted when nobody reads stdout any more; see CliIO.outputClosed. */
  readonly outputClosed: AbortSignal;
  private readonly stdin: (NodeJS.ReadableStream & { readonly isTTY?: boolean }) | undefined;
  private openedStore: Store | undefined;

  constructor(
    io: CliIO,
    options: GlobalOptions,
    /** Reconnect to Redis after a blip (long-running commands); fail for good otherwise. */
    private readonly reconnect = false,
  ) {
    this.options = options;
    this.stdout = io.stdout ?? process.stdout;
    this.stderr = io.stderr ?? process.stderr;
    this.stdin = io.stdin ?? process.stdin;
    this.env = io.env ?? process.env;
    this.signal = io.signal ?? new AbortController().signal;
    this.outputClosed = io.outputClosed ?? new AbortController().signal;
    this.style = createStyle(Boolean(this.stdout.isTTY) && !options.json && !this.env.NO_COLOR);
  }

  /** The site named by --site (or `default`). */
  get site(): string {
    return this.options.site || DEFAULT_SITE;
  }

  /** True for --json. */
  get json(): boolean {
    return this.options.json;
  }

  /** True when a person is at a terminal (stdin and stdout are TTYs). */
  get interactive(): boolean {
    return Boolean(this.stdin?.isTTY && this.stdout.isTTY);
  }

  /** The store, opened on first use; an unreachable Redis fails the first command at once either way. */
  get store(): Store {
    this.openedStore ??= createStore(this.options.redis, {
      prefix: this.options.prefix,
      reconnect: this.reconnect,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      commandTimeoutMs: this.options.redisTimeoutMs,
      logger: silentLogger,
    });
    return this.openedStore;
  }

  /** Writes one line of human output to stdout. */
  print(line = ''): void {
    this.stdout.write(`${redactUrls(line)}\n`);
  }

  /** Writes one JSON document (one line) to stdout. */
  printJson(value: unknown): void {
    this.stdout.write(`${redactUrls(JSON.stringify(value))}\n`);
  }

  /** Writes a note or warning to stderr, where it does not mix with output meant for programs. */
  note(line: string): void {
    this.stderr.write(`${redactUrls(line)}\n`);
  }

  /**
   * Asks a yes/no question when a person is at a terminal; true without asking under --yes,
   * --json or without a TTY, so scripts never hang on a prompt.
   */
  async confirm(question: string): Promise<boolean> {
    if (this.options.yes || this.options.json || !this.interactive || !this.stdin) return true;
    const prompt = createInterface({ input: this.stdin, output: this.stderr as NodeJS.WritableStream });
    try {
      const answer = await prompt.question(`${question} [y/N] `, { signal: this.signal });
      return /^y(es)?$/i.test(answer.trim());
    } finally {
      prompt.close();
    }
  }

  /** Closes the store if it was opened. */
  async close(): Promise<void> {
    await this.openedStore?.close();
  }
}

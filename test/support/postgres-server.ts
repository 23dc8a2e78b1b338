import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports';
import { waitFor } from './wait';

/**
 * Throw-away PostgreSQL servers for tests: `initdb` into a temp dir, `postgres` on a free loopback
 * port, standbys made with `pg_basebackup -R`. Never the system service on 5432. initdb and the
 * server refuse to run as root, so when the tests run as root every PostgreSQL program runs as the
 * `postgres` user (the uid/gid `runuser -u postgres` would give), in a directory that user owns.
 */

/** The folder of the server binaries (`pg_config --bindir`; Debian keeps them off PATH), or undefined when PostgreSQL is not installed. */
function findBinDir(): string | undefined {
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', timeout: 5000 }).trim();
    return existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')) ? dir : undefined;
  } catch {
    return undefined;
  }
}

const binDir = findBinDir();

/** Why PostgreSQL tests cannot run here (pass to `test(name, { skip })`), or false when they can. CI installs the binaries. */
export const postgresMissing: string | false = binDir
  ? false
  : 'PostgreSQL server binaries not found (pg_config --bindir); install the Debian package `postgresql` to run these tests';

/** The uid/gid to run PostgreSQL programs as: the `postgres` user when we are root, else ourselves. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', timeout: 5000 }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Every server still running, stopped when the test process exits (a failed test may have skipped its clean-up). */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  // SIGQUIT = immediate shutdown: the postmaster takes its backends down with it and frees its shared memory.
  for (const child of running) child.kill('SIGQUIT');
});

/** Runs a PostgreSQL program to completion (as the postgres user when root), failing with its output. */
function runProgram(program: string, args: readonly string[], timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(binDir!, program), args, {
      ...runAs(),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, LANG: 'C', LC_ALL: 'C' },
      timeout: timeoutMs,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${program} ${args.join(' ')} failed (${signal ?? code}): ${output}`)),
    );
  });
}

/** Options of `PostgresServer.primary()`. */
export interface PrimaryOptions {
  /** `wal_level=logical` (a publisher or a subscriber); `replica` otherwise. */
  logical?: boolean;
}

/** A real PostgreSQL server in a temp dir on a free loopback port, that tests may stop and query. */
export class PostgresServer {
  readonly port: number;
  private readonly dir: string;
  private readonly settings: readonly string[];
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(dir: string, port: number, settings: readonly string[]) {
    this.dir = dir;
    this.port = port;
    this.settings = settings;
  }

  /** `initdb` a new cluster (trust authentication on loopback) and start it. */
  static async primary(options: PrimaryOptions = {}): Promise<PostgresServer> {
    const dir = PostgresServer.makeDir();
    await runProgram('initdb', ['-D', join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    const server = new PostgresServer(dir, await freePort(), [`wal_level=${options.logical ? 'logical' : 'replica'}`]);
    await server.start();
    return server;
  }

  /** A streaming standby of this server: `pg_basebackup -R` (standby.signal, primary_conninfo), started. */
  async standby(): Promise<PostgresServer> {
    const dir = PostgresServer.makeDir();
    await runProgram('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(this.port),
      '-U',
      'postgres',
      '-D',
      join(dir, 'data'),
      '-R',
      '-X',
      'stream',
      '-c',
      'fast',
      '--no-sync',
    ]);
    const server = new PostgresServer(dir, await freePort(), this.settings);
    await server.start();
    return server;
  }

  private static makeDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-pg-'));
    const owner = runAs();
    if (owner) chownSync(dir, owner.uid, owner.gid);
    return dir;
  }

  /** `postgres://postgres@127.0.0.1:<port>/<database>`; a password, when given, is ignored by trust authentication. */
  url(database = 'postgres', password?: string): string {
    return `postgres://postgres${password ? `:${password}` : ''}@127.0.0.1:${this.port}/${database}`;
  }

  /** Runs one statement on a fresh connection (deadline 10 s) and returns the rows. */
  async query<Row extends Record<string, unknown> = Record<string, unknown>>(
    text: string,
    params: unknown[] = [],
    database = 'postgres',
  ): Promise<Row[]> {
    const client = new pg.Client({ connectionString: this.url(database), connectionTimeoutMillis: 10_000, query_timeout: 10_000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query<Row>(text, params)).rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** True while the server is a standby (in recovery); false once it is a primary. */
  async inRecovery(): Promise<boolean> {
    const [row] = await this.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery');
    return row?.recovery === true;
  }

  /** Starts the server (again) on its port and waits until it accepts connections. */
  async start(): Promise<void> {
    if (this.child) throw new Error('postgres is already running');
    const child = spawn(
      join(binDir!, 'postgres'),
      [
        '-D',
        join(this.dir, 'data'),
        ...[
          `port=${this.port}`,
          'listen_addresses=127.0.0.1',
          `unix_socket_directories=${this.dir}`,
          ...this.settings,
          // What pg_rewind needs on the server it rewinds (the way back after a promotion); initdb ran without checksums.
          'wal_log_hints=on',
          'max_wal_senders=10',
          'max_replication_slots=10',
          'max_connections=40',
          'shared_buffers=16MB',
          'fsync=off',
          'autovacuum=off',
          'log_min_messages=warning',
        ].flatMap((setting) => ['-c', setting]),
      ],
      { ...runAs(), stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, LANG: 'C', LC_ALL: 'C' } },
    );
    this.child = child;
    running.add(child);
    child.once('exit', () => {
      running.delete(child);
      if (this.child === child) this.child = undefined;
    });
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`postgres exited during start: ${this.output}`);
      try {
        await this.query('SELECT 1');
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`postgres did not start: ${(error as Error).message}\n${this.output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** What the server logged lately (warnings and errors), for failure messages. */
  log(): string {
    return this.output;
  }

  /** Fast shutdown (SIGINT; SIGKILL after 15 s), keeping the data directory: start() starts it again. */
  async shutDown(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = once(child, 'exit');
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  /**
   * Makes this stopped server a streaming standby of `source` as the way back after a promotion is
   * documented (packages/db/README.md): `pg_rewind -R` against the running `source` (it writes
   * standby.signal and a primary_conninfo to it), then starts it.
   */
  async rewindFrom(source: PostgresServer): Promise<void> {
    if (this.child) throw new Error('pg_rewind needs the server stopped');
    await runProgram('pg_rewind', [
      `--target-pgdata=${join(this.dir, 'data')}`,
      `--source-server=host=127.0.0.1 port=${source.port} user=postgres dbname=postgres`,
      '--write-recovery-conf',
      '--no-sync',
    ]);
    await this.start();
  }

  /** Fast shutdown, then the temp dir is removed. */
  async stop(): Promise<void> {
    await this.shutDown();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Two clusters with wal_level=logical, joined as the logical tests and the way back need them: in
 * database `app` of each, `items (id serial PRIMARY KEY, note text)`; `seed` runs on the source,
 * which publishes every table (`everything`); the target subscribes (`follow`). Resolves once the
 * initial copy is done (deadline 20 s).
 */
export async function logicalPair(seed: string): Promise<[source: PostgresServer, target: PostgresServer]> {
  const [source, target] = await Promise.all([PostgresServer.primary({ logical: true }), PostgresServer.primary({ logical: true })]);
  const table = 'CREATE TABLE items (id serial PRIMARY KEY, note text NOT NULL)';
  await Promise.all([source.query('CREATE DATABASE app'), target.query('CREATE DATABASE app')]);
  await Promise.all([source.query(table, [], 'app'), target.query(table, [], 'app')]);
  await source.query(seed, [], 'app');
  await source.query('CREATE PUBLICATION everything FOR ALL TABLES', [], 'app');
  await target.query(
    `CREATE SUBSCRIPTION follow CONNECTION 'host=127.0.0.1 port=${source.port} dbname=app user=postgres' PUBLICATION everything`,
    [],
    'app',
  );
  await waitFor(async () => (await target.query("SELECT 1 FROM pg_subscription_rel WHERE srsubstate <> 'r'", [], 'app')).length === 0, {
    timeoutMs: 20_000,
    what: 'the initial copy of the logical pair',
  });
  return [source, target];
}

/** Rows of the `items` table (as logicalPair creates it) with this note. */
export async function countItems(server: PostgresServer, note: string, database = 'postgres'): Promise<number> {
  return Number((await server.query<{ n: string }>('SELECT count(*) AS n FROM items WHERE note = $1', [note], database))[0]?.n);
}

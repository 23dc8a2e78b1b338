// Throw-away MariaDB servers for tests: `mariadb-install-db` into a temp directory, then `mariadbd` on a
// free loopback port with its own socket, pid file and tmpdir, binlog and GTID on, a distinct
// server_id. `--no-defaults` comes first so /etc/mysql/my.cnf (the system service on 3306, its socket
// and datadir) is never read. Every server is killed when the test process ends, however it ends.
// Slightly over 300 lines: starting, accounts, replication and clean-up of one server belong together.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { createConnection } from 'mysql2/promise';
import { freePort } from './ports';
import { waitFor } from './wait';

const execFileAsync = promisify(execFile);

/** Where Debian puts the server binary (it is not on a normal user's PATH). */
const SERVER_CANDIDATES = ['mariadbd', '/usr/sbin/mariadbd', '/usr/sbin/mysqld'];

/** The server binary, or undefined when MariaDB is not installed. */
function serverBinary(): string | undefined {
  for (const candidate of SERVER_CANDIDATES) {
    if (candidate.includes('/') ? existsSync(candidate) : which(candidate)) return candidate;
  }
  return undefined;
}

function which(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, name)));
}

/**
 * Why MariaDB tests cannot run here (binaries missing), or undefined when they can. Tests pass it as
 * `{ skip }`; CI installs the `mariadb-server` package so that there they always run.
 */
export function mariadbMissing(): string | undefined {
  if (!serverBinary() || !which('mariadb-install-db')) {
    return 'MariaDB is not installed (mariadbd and mariadb-install-db, Debian package mariadb-server); CI installs it';
  }
  return undefined;
}

/** Accounts every test server has (created locally, not written to the binlog). Loopback only. */
export const ACCOUNTS = {
  /** What the database mover connects as: an administrator, with a password so redaction is tested. */
  admin: { user: 'switchyard', password: 'adm1n-s3cret' },
  /** What the application connects as: no READ_ONLY ADMIN, so `read_only` applies to it. */
  app: { user: 'app', password: 'app-s3cret' },
  /** What a replica uses to read the source's binlog. */
  replication: { user: 'repl', password: 'repl-s3cret' },
} as const;

/** Every server still running, killed when the test process exits (a failed test may skip its clean-up). */
const running = new Set<MariaDbServer>();
process.once('exit', () => {
  for (const server of running) server.killNow();
});

/*
 * The server runs under a tiny shell guard: it starts mariadbd and, as soon as its stdin (a pipe from
 * this process) closes, SIGKILLs it and removes the server's directory. Node closes that pipe whenever
 * this process ends, even on SIGKILL or a test-runner timeout where no 'exit' handler runs, so no
 * mariadbd and no data directory is left behind. (An asynchronous list's stdin is /dev/null in sh,
 * hence the copy on fd 3.)
 */
const GUARD = [
  'dir=$1; shift; exec 3<&0',
  '"$@" </dev/null & server=$!',
  // The guard's own stderr must not be the pipe: writing to it after this process died would SIGPIPE it.
  'exec 2>/dev/null',
  '{ read -r _ <&3; kill -9 "$server"; } & guard=$!',
  'wait "$server"; kill "$guard" 2>/dev/null; rm -rf "$dir"',
].join('\n');

/** Options of {@link MariaDbServer.start}. */
export interface MariaDbServerOptions {
  /** server_id, distinct per server of a replication pair. */
  serverId: number;
  /** Start with `read_only=ON`, as a replica usually is. */
  readOnly?: boolean;
}

/** A real MariaDB server started for one test file, on a free loopback port, in a temp directory. */
export class MariaDbServer {
  readonly port: number;
  readonly dir: string;
  readonly serverId: number;
  private child: ChildProcess | undefined;
  private admin: Connection | undefined;

  private constructor(port: number, dir: string, serverId: number) {
    this.port = port;
    this.dir = dir;
    this.serverId = serverId;
  }

  /** Installs a fresh data directory, starts the server and creates the test accounts (deadline 60 s). */
  static async start(options: MariaDbServerOptions): Promise<MariaDbServer> {
    const binary = serverBinary();
    if (!binary) throw new Error(mariadbMissing());
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-mariadb-'));
    const server = new MariaDbServer(await freePort(), dir, options.serverId);
    running.add(server);
    try {
      await server.launch(binary, options);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** Starts several servers side by side; if one fails, stops the others and throws. */
  static async startAll(options: readonly MariaDbServerOptions[]): Promise<MariaDbServer[]> {
    const results = await Promise.allSettled(options.map((one) => MariaDbServer.start(one)));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) {
      await Promise.all(results.map((result) => (result.status === 'fulfilled' ? result.value.stop() : undefined)));
      throw failed.reason;
    }
    return results.map((result) => (result as PromiseFulfilledResult<MariaDbServer>).value);
  }

  /**
   * Runs as root with `--user=root` when the tests run as root (CI and this machine): mariadbd refuses
   * root without it, and switching to the `mysql` user would need the temp directory chowned and
   * would make clean-up depend on that user's permissions. The server only listens on 127.0.0.1 and
   * lives as long as the test file. As any other user, the server simply runs as that user.
   */
  private userArgs(): string[] {
    return process.getuid?.() === 0 ? ['--user=root'] : [];
  }

  private async launch(binary: string, options: MariaDbServerOptions): Promise<void> {
    const data = join(this.dir, 'data');
    const small = ['--innodb-log-file-size=8M', '--innodb-buffer-pool-size=16M'];
    await execFileAsync(
      'mariadb-install-db',
      [
        '--no-defaults',
        `--datadir=${data}`,
        ...this.userArgs(),
        // root@localhost without a password (loopback only), so the setup below can log in by TCP.
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        // Its own tmpdir: bootstraps running side by side in /tmp trip over each other's temp tables.
        `--tmpdir=${this.dir}`,
        ...small,
      ],
      { timeout: 60_000, killSignal: 'SIGKILL' },
    );
    const args = [
      '--no-defaults',
      ...this.userArgs(),
      `--datadir=${data}`,
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      `--socket=${join(this.dir, 'mariadbd.sock')}`,
      `--pid-file=${join(this.dir, 'mariadbd.pid')}`,
      `--tmpdir=${this.dir}`,
      `--log-bin=${join(this.dir, 'binlog')}`,
      `--relay-log=${join(this.dir, 'relay')}`,
      `--server-id=${this.serverId}`,
      '--log-slave-updates',
      '--gtid-strict-mode=ON',
      '--binlog-format=ROW',
      '--skip-name-resolve',
      // Fewer fsyncs on a shared 2-core machine; crash safety is not what these tests check.
      '--innodb-flush-log-at-trx-commit=2',
      '--sync-binlog=0',
      '--max-connections=60',
      ...(options.readOnly ? ['--read-only=ON'] : []),
      ...small,
    ];
    const child = spawn('/bin/sh', ['-c', GUARD, 'mariadbd-guard', this.dir, binary, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child = child;
    let output = '';
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('ready for connections')) {
          child.stderr?.off('data', onData);
          child.stderr?.resume();
          resolve();
        }
      };
      child.stderr?.on('data', onData);
      child.once('exit', (code) => reject(new Error(`mariadbd exited with ${code}: ${output}`)));
    });
    await Promise.race([
      ready,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`mariadbd did not start within 60 s: ${output}`)), 60_000).unref()),
    ]);
    this.admin = await this.connect('root', '');
    // Local accounts: not in the binlog, so a replica that replays the source's binlog from the start
    // does not trip over accounts it already has.
    await this.admin.query('SET SESSION sql_log_bin = 0');
    const { admin, app, replication } = ACCOUNTS;
    await this.admin.query(`CREATE USER '${admin.user}'@'127.0.0.1' IDENTIFIED BY '${admin.password}'`);
    await this.admin.query(`GRANT ALL PRIVILEGES ON *.* TO '${admin.user}'@'127.0.0.1'`);
    await this.admin.query(`CREATE USER '${app.user}'@'127.0.0.1' IDENTIFIED BY '${app.password}'`);
    await this.admin.query(`GRANT ALL PRIVILEGES ON \`app\`.* TO '${app.user}'@'127.0.0.1'`);
    await this.admin.query(`CREATE USER '${replication.user}'@'127.0.0.1' IDENTIFIED BY '${replication.password}'`);
    await this.admin.query(`GRANT REPLICATION SLAVE ON *.* TO '${replication.user}'@'127.0.0.1'`);
    await this.admin.query('SET SESSION sql_log_bin = 1');
  }

  /** `mysql://switchyard:<password>@127.0.0.1:<port>/` (the administrator account). */
  get url(): string {
    return this.urlFor('admin');
  }

  /** A connection URL for one of the {@link ACCOUNTS}. */
  urlFor(account: keyof typeof ACCOUNTS, database = ''): string {
    const { user, password } = ACCOUNTS[account];
    return `mysql://${user}:${encodeURIComponent(password)}@127.0.0.1:${this.port}/${database}`;
  }

  /** A new connection (the caller closes it), with a 10 s connect deadline. */
  async connect(user: string, password: string, database?: string): Promise<Connection> {
    return createConnection({ host: '127.0.0.1', port: this.port, user, password, database, connectTimeout: 10_000 });
  }

  /** Runs one statement as root and returns the rows (10 s deadline). */
  async query<Row extends RowDataPacket = RowDataPacket>(sql: string, values: unknown[] = []): Promise<Row[]> {
    if (!this.admin) throw new Error('server not started');
    const [rows] = await this.admin.query<Row[]>({ sql, timeout: 10_000 }, values);
    return rows;
  }

  /** One value of a single-row query, e.g. `await server.value('SELECT @@read_only')`. */
  async value(sql: string, values: unknown[] = []): Promise<unknown> {
    const [row] = await this.query(sql, values);
    return row ? Object.values(row)[0] : undefined;
  }

  /** The replica status row (MariaDB's `SHOW SLAVE STATUS`), or undefined when this is no replica. */
  async replicaStatus(): Promise<Record<string, unknown> | undefined> {
    const [row] = await this.query('SHOW SLAVE STATUS');
    return row;
  }

  /**
   * Makes this server a replica of `source` (`CHANGE MASTER TO`) and waits until both replication
   * threads run. From GTID `slave_pos` by default; `current_pos` is the documented way back (a former
   * source following the server it was moved to); `file` starts at the source's binlog file and
   * offset now, without GTID.
   */
  async replicate(
    source: MariaDbServer,
    { from: start = 'slave_pos' }: { from?: 'slave_pos' | 'current_pos' | 'file' } = {},
  ): Promise<void> {
    const { user, password } = ACCOUNTS.replication;
    let from = `MASTER_USE_GTID = ${start}`;
    if (start === 'file') {
      const [status] = await source.query('SHOW MASTER STATUS');
      from = `MASTER_USE_GTID = no, MASTER_LOG_FILE = '${status?.File}', MASTER_LOG_POS = ${status?.Position}`;
    }
    await this.query(
      `CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ${source.port}, MASTER_USER = '${user}', MASTER_PASSWORD = '${password}', MASTER_CONNECT_RETRY = 1, ${from}`,
    );
    await this.query('START SLAVE');
    await this.waitReplicating();
  }

  /** Waits until both replication threads run (deadline 20 s). */
  async waitReplicating(): Promise<void> {
    await waitFor(
      async () => {
        const status = await this.replicaStatus();
        return status?.Slave_IO_Running === 'Yes' && status?.Slave_SQL_Running === 'Yes';
      },
      { timeoutMs: 20_000, intervalMs: 50, what: `replication on port ${this.port}` },
    );
  }

  /** Waits until this replica has applied everything `source` has written so far (deadline 20 s). */
  async caughtUpWith(source: MariaDbServer): Promise<void> {
    const position = String(await source.value('SELECT @@gtid_binlog_pos'));
    const reached = await this.value('SELECT MASTER_GTID_WAIT(?, 20)', [position]);
    if (Number(reached) !== 0) throw new Error(`replica on port ${this.port} did not reach ${position}`);
  }

  /**
   * Like {@link caughtUpWith}, for every event in the source's binlog, not only transactions. After
   * `FLUSH BINARY LOGS` MariaDB writes a Binlog_checkpoint event (40 bytes, no GTID) into the new
   * file when InnoDB has flushed the old file's commits, up to a second later with
   * innodb_flush_log_at_trx_commit=2; a GTID wait does not cover it. This waits until the source has
   * written it, then until this replica has executed up to the source's file and offset (20 s each).
   */
  async executedAllOf(source: MariaDbServer): Promise<void> {
    await this.caughtUpWith(source);
    let status: Record<string, unknown> | undefined;
    await waitFor(
      async () => {
        [status] = await source.query('SHOW MASTER STATUS');
        const events = await source.query(`SHOW BINLOG EVENTS IN '${status?.File}'`);
        return events.some((event) => event.Event_type === 'Binlog_checkpoint' && String(event.Info).endsWith(String(status?.File)));
      },
      { timeoutMs: 20_000, intervalMs: 50, what: `the binlog checkpoint on port ${source.port}` },
    );
    const reached = await this.value('SELECT MASTER_POS_WAIT(?, ?, 20)', [status?.File, status?.Position]);
    if (reached === null || Number(reached) < 0)
      throw new Error(`replica on port ${this.port} did not reach ${status?.File}:${status?.Position}`);
  }

  /** SIGKILLs the server right away (synchronous: used by the exit handler too). */
  killNow(): void {
    const child = this.child;
    this.child = undefined;
    this.admin?.destroy();
    this.admin = undefined;
    // Closing the guard's stdin makes it SIGKILL mariadbd and remove the directory, even after this
    // process has exited.
    child?.stdin?.destroy();
    running.delete(this);
    if (!child) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Stops the server and removes its directory (deadline 10 s for the process to go). */
  async stop(): Promise<void> {
    const child = this.child;
    try {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit', { signal: AbortSignal.timeout(10_000) });
        this.child = undefined;
        this.admin?.destroy();
        this.admin = undefined;
        child.stdin?.end();
        await exited;
      }
    } finally {
      this.killNow();
    }
  }
}

import { parseArgs } from 'node:util';
import { SwitchyardError } from '@switchyard/core';

/** How one demo run is configured. */
export interface DemoOptions {
  /** Seconds of load in total; the cutover starts 40% of the way in. */
  durationS: number;
  /** Requests per second sent through the front end, half of them writes. */
  rate: number;
  /** How long a refused write may wait for maintenance to end (ms); 0 refuses writes with a 503 during the window. */
  holdMs: number;
  /** Application work before each write commits (ms), so writes are in flight when maintenance starts. */
  writeDelayMs: number;
  /** Redis to coordinate through (`SWITCHYARD_REDIS_URL`); undefined runs everything on an in-process memory store. */
  redisUrl: string | undefined;
  /** Print one JSON summary line last, for programs (the CI test parses it). */
  json: boolean;
  /** Keep the database files instead of removing them at the end. */
  keepData: boolean;
  /**
   * `sqlite` (default): two SQLite files, the cutover's sync copies one over the other.
   * `postgres` (`SWITCHYARD_DEMO_DB=postgres`): a PostgreSQL primary and its streaming standby,
   * started by the demo; the cutover's database step catches the standby up and promotes it.
   * `mysql` (`SWITCHYARD_DEMO_DB=mysql` or `mariadb`): the same with a MariaDB source and its GTID replica.
   */
  database: 'sqlite' | 'postgres' | 'mysql';
  help: boolean;
}

/** `npm run demo -- --help` */
export const USAGE = `Usage: npm run demo -- [options]

Moves a SQLite guestbook from an "old" to a "new" app server under read/write load, with
switchyard's cutover, and proves that no acknowledged write was lost.

  --short            a few seconds of load (CI)
  --duration <s>     seconds of load (default 8; --short: 3)
  --rate <n>         requests per second, half of them writes (default 80; --short: 60)
  --hold <ms>        hold writes during maintenance for up to <ms> (default 15000)
  --no-hold          refuse writes with 503 during maintenance instead of holding them
  --write-delay <ms> application work before each write commits (default 25)
  --json             end with one JSON summary line
  --keep-data        keep the database files (examples/migration-demo/.demo-data/)
  -h, --help         this text

With SWITCHYARD_REDIS_URL set, state lives in that Redis and the cutover is run by the
switchyard CLI as a child process; without it, everything runs in this process on memory://.
With SWITCHYARD_DEMO_DB=postgres the guestbook lives in PostgreSQL instead: a primary and its
streaming standby (initdb, pg_basebackup -R; needs the postgresql package), started by the demo,
moved by the cutover's database step (fence, catch-up, promote) instead of a copy.
SWITCHYARD_DEMO_DB=mysql does the same with a MariaDB source and its GTID replica
(mariadb-install-db, mariadbd; needs the mariadb-server package).`;

/** Parses the demo's command line; throws SWITCHYARD_ERR_USAGE with a readable message. */
export function parseDemoOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): DemoOptions {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (error) {
    throw new SwitchyardError('SWITCHYARD_ERR_USAGE', `${(error as Error).message}\n\n${USAGE}`);
  }
  if (values.hold !== undefined && values['no-hold'])
    throw new SwitchyardError('SWITCHYARD_ERR_USAGE', 'use --hold <ms> or --no-hold, not both');
  const short = values.short ?? false;
  return {
    durationS: number(values.duration, '--duration', short ? 3 : 8, 1, 600),
    rate: number(values.rate, '--rate', short ? 60 : 80, 1, 5000),
    holdMs: values['no-hold'] ? 0 : number(values.hold, '--hold', 15_000, 1, 120_000),
    writeDelayMs: number(values['write-delay'], '--write-delay', 25, 0, 5000),
    redisUrl: env.SWITCHYARD_REDIS_URL || undefined,
    json: values.json ?? false,
    keepData: values['keep-data'] ?? false,
    database: demoDatabase(env.SWITCHYARD_DEMO_DB),
    help: values.help ?? false,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    options: {
      short: { type: 'boolean' },
      duration: { type: 'string' },
      rate: { type: 'string' },
      hold: { type: 'string' },
      'no-hold': { type: 'boolean' },
      'write-delay': { type: 'string' },
      json: { type: 'boolean' },
      'keep-data': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function demoDatabase(raw: string | undefined): DemoOptions['database'] {
  if (raw === undefined || raw === '' || raw === 'sqlite') return 'sqlite';
  if (raw === 'postgres' || raw === 'postgresql') return 'postgres';
  if (raw === 'mysql' || raw === 'mariadb') return 'mysql';
  throw new SwitchyardError('SWITCHYARD_ERR_USAGE', `SWITCHYARD_DEMO_DB must be sqlite, postgres or mysql, not ${JSON.stringify(raw)}`);
}

function number(raw: string | undefined, flag: string, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new SwitchyardError('SWITCHYARD_ERR_USAGE', `${flag} must be a number from ${min} to ${max}, not ${JSON.stringify(raw)}`);
  }
  return value;
}

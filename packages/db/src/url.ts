import { redactUrl } from '@switchyard/core';
import { dbError } from './errors';

/** The engine family a URL scheme selects. */
export type DatabaseEngine = 'postgres' | 'mysql';

const ENGINES: Record<string, DatabaseEngine> = {
  'postgres:': 'postgres',
  'postgresql:': 'postgres',
  'mysql:': 'mysql',
  'mariadb:': 'mysql',
};

/** Query parameters that carry secrets in libpq / mysql2 style URLs. */
const SECRET_PARAMS = /([?&](?:password|sslpassword|passfile)=)[^&#]*/gi;

/**
 * The URL with its password replaced by `***` (in the user-info part and in `password=`-style query
 * parameters), safe to print, log or journal. Works on malformed URLs too (best effort).
 */
export function redactDatabaseUrl(url: string): string {
  let redacted: string;
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    redacted = parsed.toString();
  } catch {
    // Not a URL (perhaps a libpq `key=value` string): strip user:password@ and password=… all the same.
    redacted = redactUrl(url)
      .replace(/^([a-z]+:\/\/[^:@/]*:)[^@]*@/i, '$1***@')
      .replace(/(\b(?:password|sslpassword)\s*=\s*)\S*/gi, '$1***');
  }
  return redacted.replace(SECRET_PARAMS, '$1***');
}

/** Checks a database URL and names its engine; throws `SWITCHYARD_ERR_DB_URL` with a fix-it message. */
export function databaseEngineOf(url: string, role: 'source' | 'target'): DatabaseEngine {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw dbError(
      'SWITCHYARD_ERR_DB_URL',
      `database ${role} ${JSON.stringify(redactDatabaseUrl(url))} is not a URL: use e.g. postgres://user@host:5432/app or mysql://root@host:3306/app`,
    );
  }
  const engine = ENGINES[parsed.protocol];
  if (!engine) {
    throw dbError(
      'SWITCHYARD_ERR_DB_URL',
      `database ${role} ${JSON.stringify(redactDatabaseUrl(url))} has an unsupported scheme ${JSON.stringify(parsed.protocol)}: use postgres://, postgresql://, mysql:// or mariadb://`,
    );
  }
  if (!parsed.hostname) {
    throw dbError(
      'SWITCHYARD_ERR_DB_URL',
      `database ${role} ${JSON.stringify(redactDatabaseUrl(url))} names no host: use e.g. ${parsed.protocol}//user@host/app`,
    );
  }
  return engine;
}

import { type CliError, cliError } from './errors';

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A command-line mistake: exit code 2. */
export function usageError(message: string): CliError {
  return cliError('SWITCHYARD_ERR_USAGE', message);
}

/**
 * Parses a duration option (`500ms`, `10s`, `2m`, `1h`, or a bare number in `bareUnit`) into
 * milliseconds, so `--timeout 10s` and `--hold 3000` both read naturally.
 */
export function parseDuration(text: string, option: string, bareUnit: 'ms' | 's' = 'ms'): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) {
    throw usageError(
      `invalid --${option} ${JSON.stringify(text)}: expected a duration like ${bareUnit === 's' ? '30 (seconds), ' : '500 (ms), '}10s or 2m`,
    );
  }
  return Math.round(Number(match[1]) * (UNITS_MS[match[2] ?? bareUnit] ?? 1));
}

/** Parses a whole-number option within bounds. */
export function parseWholeNumber(text: string, option: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
    throw usageError(`invalid --${option} ${JSON.stringify(text)}: expected a whole number from ${min} to ${max}`);
  }
  return value;
}

/** Parses a point in time: ISO 8601 (`2025-06-01T22:00:00Z`) or `+<duration>` from now (`+30m`). */
export function parseTime(text: string, option: string, now = Date.now()): string {
  if (text.startsWith('+')) return new Date(now + parseDuration(text.slice(1), option, 's')).toISOString();
  const time = Date.parse(text);
  if (Number.isNaN(time) || !/^\d{4}-\d{2}-\d{2}/.test(text)) {
    throw usageError(
      `invalid --${option} ${JSON.stringify(text)}: expected an ISO 8601 time like 2025-06-01T22:00:00Z or a delay like +30m`,
    );
  }
  return new Date(time).toISOString();
}

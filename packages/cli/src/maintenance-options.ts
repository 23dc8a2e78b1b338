import { type MaintenanceMode, type MaintenanceState, parseMaintenance, validateMaintenance } from '@switchyard/core';
import { hashSecret } from '@switchyard/maintenance';
import type { OptionSpec, ParsedArgs } from './command';
import { parseDuration, parseTime, parseWholeNumber, usageError } from './option-values';

/** Maintenance options shared by `maintenance on` and `cutover`. */
export const MAINTENANCE_OPTIONS = {
  message: { type: 'string', value: '<text>', description: 'message shown to users' },
  'retry-after': {
    type: 'string',
    value: '<secs>',
    description: 'seconds clients should wait before retrying (Retry-After), e.g. 300 or 5m',
  },
  until: {
    type: 'string',
    value: '<time>',
    description: 'expected end: ISO 8601 time or +<duration> (e.g. +30m); instead of --retry-after',
  },
  hold: { type: 'string', value: '<ms>', description: 'hold refused requests up to this long for maintenance to end (max 120s)' },
  'allow-ip': { type: 'string', multiple: true, value: '<cidr>', description: 'IP or CIDR block that passes through' },
  'allow-path': { type: 'string', multiple: true, value: '<path>', description: 'path (or prefix ending in / or *) that passes through' },
  secret: { type: 'string', value: '<secret>', description: 'bypass secret (only its SHA-256 is stored)' },
  status: { type: 'string', value: '<code>', description: 'HTTP status of refusals, 4xx or 5xx (default 503)' },
} as const satisfies Record<string, OptionSpec>;

/** The maintenance fields an operator sets; mode and stamp come from the command. */
export type MaintenanceFields = Omit<MaintenanceState, 'mode' | 'startedAt' | 'by'>;

/** Reads the maintenance options into fields, validated as a maintenance state in `mode` would be. */
export function maintenanceFieldsFromArgs(args: ParsedArgs, mode: MaintenanceMode): MaintenanceFields {
  const retryAfter = args.string('retry-after');
  const until = args.string('until');
  if (retryAfter !== undefined && until !== undefined) throw usageError('use --retry-after or --until, not both');
  const hold = args.string('hold');
  const secret = args.string('secret');
  const status = args.string('status');
  if (secret !== undefined && secret.length < 8) throw usageError('--secret must be at least 8 characters, so it cannot be guessed');
  const { mode: _mode, ...fields } = validateMaintenance({
    mode,
    ...(args.has('message') ? { message: args.string('message') } : {}),
    ...(retryAfter !== undefined ? { retryAfter: Math.round(parseDuration(retryAfter, 'retry-after', 's') / 1000) } : {}),
    ...(until !== undefined ? { until: parseTime(until, 'until') } : {}),
    ...(hold !== undefined ? { hold: parseDuration(hold, 'hold') } : {}),
    ...(args.list('allow-ip').length > 0 ? { allowIps: args.list('allow-ip') } : {}),
    ...(args.list('allow-path').length > 0 ? { allowPaths: args.list('allow-path') } : {}),
    ...(secret !== undefined ? { secretHash: hashSecret(secret) } : {}),
    ...(status !== undefined ? { status: parseWholeNumber(status, 'status', 400, 599) } : {}),
  });
  return fields;
}

/**
 * The maintenance `maintenance on` writes when the site may already be in maintenance: the options
 * it had, with the ones given now laid over them (a list given replaces the list; --until replaces
 * --retry-after and the other way round). With `replace`, or when there was none, only what is
 * given counts. The mode is the one given, else the one it had, else full maintenance.
 */
export function mergeMaintenance(
  previous: MaintenanceState | undefined,
  given: MaintenanceFields,
  mode: MaintenanceMode | undefined,
  options: { replace: boolean },
): Omit<MaintenanceState, 'startedAt' | 'by'> {
  const { startedAt: _startedAt, by: _by, mode: previousMode, ...kept } = options.replace || !previous ? { mode: undefined } : previous;
  if (given.until !== undefined) delete (kept as { retryAfter?: number }).retryAfter;
  if (given.retryAfter !== undefined) delete (kept as { until?: string }).until;
  return { ...kept, ...given, mode: mode ?? previousMode ?? 'on' };
}

/**
 * True when two stored maintenance values ask front ends for the same behaviour; who set it and
 * when does not count, so running `maintenance on` again with the same options changes nothing.
 */
export function sameMaintenance(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  try {
    const { startedAt: _a, by: _aBy, ...left } = parseMaintenance(a);
    const { startedAt: _b, by: _bBy, ...right } = parseMaintenance(b);
    return JSON.stringify(left) === JSON.stringify(right);
  } catch {
    return a === b;
  }
}

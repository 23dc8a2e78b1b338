import { SwitchyardError } from './errors';
import { parseIpRange } from './ip-range';

/** `on` refuses every request; `read-only` lets GET, HEAD and OPTIONS through and refuses writes. */
export type MaintenanceMode = 'on' | 'read-only';

/** A site's maintenance state as stored (JSON) in `switchyard:maintenance:<site>`; absent means off. */
export interface MaintenanceState {
  readonly mode: MaintenanceMode;
  /** Shown to users; always escaped when rendered. */
  readonly message?: string;
  /** Seconds clients should wait before retrying. */
  readonly retryAfter?: number;
  /** Absolute expected end (ISO 8601), so a restart does not reset the countdown. */
  readonly until?: string;
  /** Milliseconds a refused request may wait for maintenance to end before it gets the 503. */
  readonly hold?: number;
  /** IPs and CIDR blocks (v4 and v6) that pass through. */
  readonly allowIps?: readonly string[];
  /** Exact paths, or prefixes ending in `/` or `*`, that pass through. */
  readonly allowPaths?: readonly string[];
  /** Status of the refusal, 503 unless set; 4xx or 5xx only. */
  readonly status?: number;
  /** SHA-256 (hex) of the bypass secret; the secret itself is never stored. */
  readonly secretHash?: string;
  readonly startedAt?: string;
  readonly by?: string;
}

const MAX_MESSAGE = 2000;
const MAX_HOLD_MS = 120_000;
const MAX_RETRY_AFTER = 7 * 24 * 3600;

/**
 * Parses and validates a maintenance value. Unknown fields are ignored so that an older front end
 * still enters maintenance when a newer CLI adds a field.
 */
export function parseMaintenance(raw: string): MaintenanceState {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    throw invalid('it is not JSON');
  }
  return validateMaintenance(data);
}

/** Validates a maintenance object (e.g. built by the CLI) and returns a clean copy. */
export function validateMaintenance(data: unknown): MaintenanceState {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw invalid('it is not a JSON object');
  const input = data as Record<string, unknown>;
  const state: { -readonly [K in keyof MaintenanceState]: MaintenanceState[K] } = { mode: 'on' };
  if (input.mode !== 'on' && input.mode !== 'read-only') throw invalid('"mode" must be "on" or "read-only"');
  state.mode = input.mode;
  if (input.message !== undefined) state.message = boundedString(input.message, 'message', MAX_MESSAGE);
  if (input.retryAfter !== undefined) state.retryAfter = integer(input.retryAfter, 'retryAfter', 0, MAX_RETRY_AFTER);
  if (input.until !== undefined) state.until = isoTime(input.until, 'until');
  if (state.retryAfter !== undefined && state.until !== undefined) throw invalid('set "retryAfter" or "until", not both');
  if (input.hold !== undefined) state.hold = integer(input.hold, 'hold', 0, MAX_HOLD_MS);
  if (input.allowIps !== undefined) {
    state.allowIps = stringList(input.allowIps, 'allowIps').map((ip) => {
      parseIpRange(ip);
      return ip.trim();
    });
  }
  if (input.allowPaths !== undefined) {
    state.allowPaths = stringList(input.allowPaths, 'allowPaths').map((path) => {
      if (!path.startsWith('/')) throw invalid(`allowPaths entry ${JSON.stringify(path)} must start with "/"`);
      return path;
    });
  }
  if (input.status !== undefined) state.status = integer(input.status, 'status', 400, 599);
  if (input.secretHash !== undefined) {
    if (typeof input.secretHash !== 'string' || !/^[0-9a-f]{64}$/.test(input.secretHash)) {
      throw invalid('"secretHash" must be 64 lower-case hex digits (hashSecret() of the secret)');
    }
    state.secretHash = input.secretHash;
  }
  if (input.startedAt !== undefined) state.startedAt = isoTime(input.startedAt, 'startedAt');
  if (input.by !== undefined) state.by = boundedString(input.by, 'by', 200);
  return state;
}

/** Serialises a maintenance state for storage (validated first). */
export function stringifyMaintenance(state: MaintenanceState): string {
  return JSON.stringify(validateMaintenance(state));
}

function invalid(why: string): SwitchyardError {
  return new SwitchyardError('SWITCHYARD_ERR_INVALID_MAINTENANCE', `invalid maintenance state: ${why}`);
}

function boundedString(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.length > max) throw invalid(`"${field}" must be a string of at most ${max} characters`);
  return value;
}

function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`"${field}" must be a whole number from ${min} to ${max}`);
  }
  return value;
}

function isoTime(value: unknown, field: string): string {
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw invalid(`"${field}" must be an ISO 8601 time`);
  return new Date(value).toISOString();
}

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length > 1000 || !value.every((item) => typeof item === 'string')) {
    throw invalid(`"${field}" must be a list of strings`);
  }
  return value as string[];
}

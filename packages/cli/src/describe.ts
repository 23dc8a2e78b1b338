import { type MaintenanceState, parseMaintenance } from '@switchyard/core';
import { formatDuration } from './style';

/** One phrase for a maintenance state: `read-only, hold 3.0 s, message "Back soon"`. */
export function describeMaintenance(state: MaintenanceState | undefined | null): string {
  if (!state) return 'off';
  const parts: string[] = [state.mode === 'read-only' ? 'read-only' : 'on (all requests)'];
  if (state.hold) parts.push(`hold ${formatDuration(state.hold)}`);
  if (state.retryAfter !== undefined) parts.push(`retry after ${state.retryAfter} s`);
  if (state.until) parts.push(`until ${state.until}`);
  if (state.status && state.status !== 503) parts.push(`status ${state.status}`);
  if (state.allowIps?.length) parts.push(`allow ${state.allowIps.join(' ')}`);
  if (state.allowPaths?.length) parts.push(`allow paths ${state.allowPaths.join(' ')}`);
  if (state.secretHash) parts.push('bypass secret set');
  if (state.message) parts.push(`message ${JSON.stringify(state.message.length > 60 ? `${state.message.slice(0, 60)}…` : state.message)}`);
  return parts.join(', ');
}

/** describeMaintenance for a raw stored value (`off` when absent, `malformed` when unreadable). */
export function describeMaintenanceValue(raw: string | null): string {
  if (raw === null) return 'off';
  try {
    return describeMaintenance(parseMaintenance(raw));
  } catch {
    return 'malformed';
  }
}

/** `3 min ago`, `just now`, for the age of a timestamp. */
export function describeAge(iso: string, now = Date.now()): string {
  const ms = now - Date.parse(iso);
  if (Number.isNaN(ms)) return 'unknown';
  return ms < 1000 ? 'just now' : `${formatDuration(ms)} ago`;
}

import { type FrontEndReport, readState, type StoredState } from '@switchyard/core';
import type { CommandSpec } from '../command';
import type { CommandContext } from '../context';
import { isConverged } from '../convergence';
import { formatDuration, formatTable } from '../style';

/** A front end's heartbeat plus what the CLI derives from it. */
export interface FrontSummary extends FrontEndReport {
  readonly uptimeMs: number;
  /** It applies exactly the state in Redis (same digest and version). */
  readonly converged: boolean;
}

/** Adds uptime and convergence to heartbeats, sorted by host then id. */
export function summariseFronts(fronts: readonly FrontEndReport[], state: StoredState, now = Date.now()): FrontSummary[] {
  return [...fronts]
    .sort((a, b) => a.host.localeCompare(b.host) || a.id.localeCompare(b.id))
    .map((front) => ({
      ...front,
      uptimeMs: Math.max(0, now - Date.parse(front.startedAt)),
      converged: isConverged(front, state),
    }));
}

/** Prints the front-end table (shared by `fronts` and `status`). */
export function printFronts(context: CommandContext, fronts: readonly FrontSummary[]): void {
  const { style } = context;
  const rows = fronts.map((front) => [
    front.id,
    front.host,
    String(front.pid),
    formatDuration(front.uptimeMs),
    `v${front.version}`,
    frontState(front, style),
    String(front.inFlight),
    String(front.inFlightWrites),
    String(front.held),
    String(front.refused),
  ]);
  const header = ['ID', 'HOST', 'PID', 'UPTIME', 'VERSION', 'STATE', 'IN-FLIGHT', 'WRITES', 'HELD', 'REFUSED'].map(style.bold);
  for (const line of formatTable([header, ...rows])) context.print(line);
}

/** One word for the STATE column. */
function frontState(front: FrontSummary, style: CommandContext['style']): string {
  if (!front.connected) return style.red('no Redis');
  if (front.lostState) return style.red('keeps lost state');
  if (front.converged) return style.green('converged');
  if (front.invalidKeys.length > 0) return style.red('ignores invalid value');
  return style.yellow('behind');
}

/** `switchyard fronts` */
export const frontsCommand: CommandSpec = {
  name: 'fronts',
  summary: 'list live front ends: version applied, converged or not, requests in flight and held',
  description: [
    'Lists every front end whose heartbeat is live (they publish one every second and right after',
    'applying a change): host, pid, uptime, state version applied, whether it applies exactly the',
    'state in Redis, requests in flight (writes separately), held and refused by maintenance.',
  ].join('\n'),
  examples: ['switchyard fronts', 'switchyard fronts --json'],
  async run(context) {
    const [state, reports] = await Promise.all([readState(context.store), context.store.listFronts()]);
    const fronts = summariseFronts(reports, state);
    if (context.json) {
      context.printJson({ version: state.version, digest: state.digest, fronts });
      return 0;
    }
    if (fronts.length === 0) {
      context.print('no live front ends (none has sent a heartbeat in the last few seconds)');
      return 0;
    }
    printFronts(context, fronts);
    return 0;
  },
};

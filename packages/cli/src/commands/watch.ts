import { type FrontEndReport, isSwitchyardError, readState, type StoredSite, type StoredState } from '@switchyard/core';
import type { CommandSpec } from '../command';
import type { CommandContext } from '../context';
import { describeMaintenanceValue } from '../describe';
import { parseDuration } from '../option-values';
import { sleep } from '../sleep';
import { formatDuration } from '../style';

interface Snapshot {
  readonly state: StoredState;
  readonly fronts: ReadonlyMap<string, FrontEndReport>;
}

/** What `watch` reports; `--json` prints one per line with a `time`. */
type WatchEvent =
  | { type: 'snapshot'; version: number; sites: { site: string; route: string | null; maintenance: string | null }[]; fronts: number }
  | { type: 'route'; site: string; from: string | null; to: string | null; version: number }
  | { type: 'maintenance'; site: string; from: string | null; to: string | null; version: number }
  | { type: 'front-joined' | 'front-left'; id: string; host: string; pid: number }
  | { type: 'front-connection'; id: string; connected: boolean }
  | { type: 'converged'; version: number; digest: string; fronts: number; ms: number }
  | { type: 'redis-down'; error: string }
  | { type: 'redis-up' };

/** `switchyard watch` */
export const watchCommand: CommandSpec = {
  name: 'watch',
  summary: 'live view: changes to routes and maintenance, front ends coming and going, convergence',
  description: [
    'Polls Redis and prints every change of a route or maintenance state (bare redis-cli SETs',
    'included), front ends joining, leaving or losing Redis, and how long the front ends took to',
    'apply each change. Runs until interrupted (Ctrl-C).',
  ].join('\n'),
  options: {
    interval: { type: 'string', value: '<duration>', description: 'how often to poll (default 250ms)' },
  },
  examples: ['switchyard watch', 'switchyard watch --json --interval 100ms'],
  longRunning: true,
  handlesInterrupt: true,
  async run(context, args) {
    const intervalMs = parseDuration(args.string('interval') ?? '250ms', 'interval');
    const { store, signal } = context;
    if (!context.json) context.note(context.style.dim(`watching ${store.description} (Ctrl-C to stop)`));
    let previous: Snapshot | undefined;
    let pending: { digest: string; version: number; since: number } | undefined;
    let down = false;
    while (!signal.aborted) {
      let state: StoredState;
      let reports: FrontEndReport[];
      try {
        [state, reports] = await Promise.all([readState(store), store.listFronts()]);
      } catch (error) {
        // Unreachable at start is an error; later, a live view should ride out the outage.
        if (!previous || !isSwitchyardError(error, 'SWITCHYARD_ERR_STORE_UNAVAILABLE')) throw error;
        if (!down) show(context, { type: 'redis-down', error: error.message });
        down = true;
        if (!(await pause(intervalMs, signal))) break;
        continue;
      }
      if (down) show(context, { type: 'redis-up' });
      down = false;
      const snapshot: Snapshot = { state, fronts: new Map(reports.map((front) => [front.id, front])) };
      for (const event of changes(previous, snapshot)) show(context, event);
      if (!previous || previous.state.digest !== state.digest)
        pending = { digest: state.digest, version: state.version, since: performance.now() };
      if (pending && reports.length > 0 && reports.every((front) => front.digest === pending?.digest)) {
        if (previous) {
          show(context, {
            type: 'converged',
            version: pending.version,
            digest: pending.digest,
            fronts: reports.length,
            ms: Math.round(performance.now() - pending.since),
          });
        }
        pending = undefined;
      }
      previous = snapshot;
      if (!(await pause(intervalMs, signal))) break;
    }
    return 0;
  },
};

/** Sleeps; false when interrupted. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, signal);
    return true;
  } catch {
    return false;
  }
}

function changes(before: Snapshot | undefined, after: Snapshot): WatchEvent[] {
  const { state } = after;
  if (!before) {
    return [
      {
        type: 'snapshot',
        version: state.version,
        sites: state.sites.map((site) => ({ site: site.site, route: site.raw.route, maintenance: site.raw.maintenance })),
        fronts: after.fronts.size,
      },
    ];
  }
  const events: WatchEvent[] = [];
  const old = new Map(before.state.sites.map((site) => [site.site, site]));
  const now = new Map(state.sites.map((site) => [site.site, site]));
  for (const site of new Set([...old.keys(), ...now.keys()])) {
    const a: StoredSite | undefined = old.get(site);
    const b: StoredSite | undefined = now.get(site);
    for (const kind of ['route', 'maintenance'] as const) {
      const from = a?.raw[kind] ?? null;
      const to = b?.raw[kind] ?? null;
      if (from !== to) events.push({ type: kind, site, from, to, version: state.version });
    }
  }
  for (const [id, front] of after.fronts) {
    const earlier = before.fronts.get(id);
    if (!earlier) events.push({ type: 'front-joined', id, host: front.host, pid: front.pid });
    else if (earlier.connected !== front.connected) events.push({ type: 'front-connection', id, connected: front.connected });
  }
  for (const [id, front] of before.fronts)
    if (!after.fronts.has(id)) events.push({ type: 'front-left', id, host: front.host, pid: front.pid });
  return events;
}

function show(context: CommandContext, event: WatchEvent): void {
  const time = new Date();
  if (context.json) {
    context.printJson({ time: time.toISOString(), ...event });
    return;
  }
  const { style } = context;
  const stamp = style.dim(time.toISOString().slice(11, 23));
  const maintenance = describeMaintenanceValue;
  switch (event.type) {
    case 'snapshot':
      context.print(`${stamp} state version ${event.version}, ${event.fronts} live front end(s)`);
      for (const site of event.sites)
        context.print(`${stamp} ${style.bold(site.site)} route ${site.route ?? '(none)'}, maintenance ${maintenance(site.maintenance)}`);
      break;
    case 'route':
      context.print(
        `${stamp} ${style.bold(event.site)} route ${event.from ?? '(none)'} → ${style.cyan(event.to ?? '(none)')} (v${event.version})`,
      );
      break;
    case 'maintenance':
      context.print(
        `${stamp} ${style.bold(event.site)} maintenance ${maintenance(event.from)} → ${style.yellow(maintenance(event.to))} (v${event.version})`,
      );
      break;
    case 'front-joined':
      context.print(`${stamp} front end ${event.id} joined (${event.host}, pid ${event.pid})`);
      break;
    case 'front-left':
      context.print(`${stamp} front end ${event.id} left`);
      break;
    case 'front-connection':
      context.print(`${stamp} front end ${event.id} ${event.connected ? style.green('reconnected to Redis') : style.red('lost Redis')}`);
      break;
    case 'redis-down':
      context.print(`${stamp} ${style.red(`lost Redis (${event.error}); retrying`)}`);
      break;
    case 'redis-up':
      context.print(`${stamp} ${style.green('Redis reachable again')}`);
      break;
    case 'converged':
      context.print(
        `${stamp} ${style.green(`converged: ${event.fronts} front end(s) apply v${event.version} after ${formatDuration(event.ms)}`)}`,
      );
      break;
  }
}

import { type FrontEndReport, silentLogger, Watcher } from '@switchyard/core';
import type { CommandSpec } from '../command';
import type { CommandContext } from '../context';
import { describeLostState, isConverged } from '../convergence';
import { describeMaintenanceValue } from '../describe';
import { parseDuration } from '../option-values';
import { sleep } from '../sleep';
import { formatDuration } from '../style';
import { formatRates, ratesChanged, TrafficRates } from '../traffic-rates';

/** What `watch` reports; `--json` prints one per line with a `time`. */
type WatchEvent =
  | { type: 'snapshot'; version: number; sites: { site: string; route: string | null; maintenance: string | null }[]; fronts: number }
  | { type: 'route'; site: string; from: string | null; to: string | null; version: number }
  | { type: 'maintenance'; site: string; from: string | null; to: string | null; version: number }
  | { type: 'invalid'; key: string; error: string }
  | { type: 'front-joined' | 'front-left'; id: string; host: string; pid: number }
  | { type: 'front-connection'; id: string; connected: boolean }
  | { type: 'converged'; version: number; digest: string; fronts: number; ms: number }
  | { type: 'split'; groups: { version: number; digest: string; fronts: string[] }[] }
  | { type: 'lost-state'; message: string; fronts: string[] }
  | { type: 'traffic'; rates: Record<string, number> }
  | { type: 'redis-down'; error: string }
  | { type: 'redis-up' };

/** Front ends that disagree for longer than this are reported as a split, not as catching up. */
const SPLIT_AFTER_MS = 1000;

/** Traffic rates are printed at most this often, and only when they changed noticeably (ratesChanged). */
const TRAFFIC_EVERY_MS = 1000;

/** While a change is being applied, heartbeats are read this often, so the convergence time is exact. */
const FAST_POLL_MS = 20;

/** `switchyard watch` */
export const watchCommand: CommandSpec = {
  name: 'watch',
  summary: 'live view: changes to routes and maintenance, front ends coming and going, convergence',
  description: [
    'Follows Redis as a front end does (pushed changes, bare redis-cli SETs included) and prints every',
    'change of a route or maintenance state, malformed values, front ends joining, leaving or losing',
    'Redis, how long the front ends took to apply each change, and — loudly — front ends that keep',
    'disagreeing or that keep state Redis lost. Runs until interrupted (Ctrl-C).',
  ].join('\n'),
  options: {
    interval: { type: 'string', value: '<duration>', description: 'how often to read the heartbeats (default 250ms)' },
  },
  examples: ['switchyard watch', 'switchyard watch --json --interval 100ms'],
  longRunning: true,
  handlesInterrupt: true,
  async run(context, args) {
    const intervalMs = parseDuration(args.string('interval') ?? '250ms', 'interval');
    const { store } = context;
    // Unreachable at start is an error (one line, exit 1); later, a live view rides out outages.
    const reports = await store.listFronts();
    const stop = AbortSignal.any([context.signal, context.outputClosed]);
    const watcher = new Watcher(store, { logger: silentLogger });
    try {
      await Promise.race([watcher.start(), new Promise((resolve) => stop.addEventListener('abort', resolve, { once: true }))]);
      if (stop.aborted) return 0;
      if (!context.json) context.note(context.style.dim(`watching ${store.description} (Ctrl-C to stop)`));
      let applied = new Map(watcher.snapshot().values);
      show(context, { type: 'snapshot', version: watcher.version, sites: sitesOf(store, applied), fronts: reports.length });
      const view = new FrontView(context, reports);
      view.expect(watcher.version, watcher.digest, { quiet: true });
      watcher.on('sync', () => {
        const now = watcher.snapshot();
        for (const event of valueChanges(store, applied, now.values, now.version)) show(context, event);
        applied = new Map(now.values);
        view.expect(watcher.version, watcher.digest);
      });
      watcher.on('invalid', (key, error) => show(context, { type: 'invalid', key, error: error.message }));
      watcher.on('down', (error) => show(context, { type: 'redis-down', error: error.message }));
      watcher.on('up', () => show(context, { type: 'redis-up' }));
      while (!stop.aborted) {
        try {
          view.update(await store.listFronts());
        } catch {
          // Redis is down: the watcher has said so and will say when it is back.
        }
        try {
          await sleep(view.pending ? FAST_POLL_MS : intervalMs, stop);
        } catch {
          break;
        }
      }
    } finally {
      await watcher.close();
    }
    return 0;
  },
};

/** Each site's raw route and maintenance, from the values in force. */
function sitesOf(
  store: CommandContext['store'],
  values: ReadonlyMap<string, string>,
): { site: string; route: string | null; maintenance: string | null }[] {
  const sites = new Map<string, { site: string; route: string | null; maintenance: string | null }>();
  for (const [key, value] of values) {
    const parsed = store.keys.parseState(key);
    if (!parsed) continue;
    const entry = sites.get(parsed.site) ?? { site: parsed.site, route: null, maintenance: null };
    entry[parsed.kind] = value;
    sites.set(parsed.site, entry);
  }
  return [...sites.values()].sort((a, b) => a.site.localeCompare(b.site));
}

/** Route and maintenance values that differ between two snapshots of the values in force. */
function valueChanges(
  store: CommandContext['store'],
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
  version: number,
): WatchEvent[] {
  const events: WatchEvent[] = [];
  for (const key of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const from = before.get(key) ?? null;
    const to = after.get(key) ?? null;
    const parsed = store.keys.parseState(key);
    if (from !== to && parsed) events.push({ type: parsed.kind, site: parsed.site, from, to, version });
  }
  return events;
}

/** The live front ends as the heartbeats show them: arrivals, departures, convergence, splits. */
class FrontView {
  private fronts: Map<string, FrontEndReport>;
  private target: { version: number; digest: string; since: number; announce: boolean } | undefined;
  /** The last state every front end was seen to apply. */
  private applied: { version: number; digest: string } | undefined;
  private disagreeSince: number | undefined;
  private reportedSplit = '';
  private reportedLoss = '';
  private readonly traffic = new TrafficRates();
  private shownTraffic: { rates: ReadonlyMap<string, number>; at: number } = { rates: new Map(), at: 0 };

  constructor(
    private readonly context: CommandContext,
    reports: readonly FrontEndReport[],
  ) {
    this.fronts = new Map(reports.map((front) => [front.id, front]));
  }

  /** True while a change is waiting for the front ends. */
  get pending(): boolean {
    return this.target !== undefined;
  }

  /** The watcher applied this state: report when every front end is converged on it. */
  expect(version: number, digest: string, options: { quiet?: boolean } = {}): void {
    const same = (state: { version: number; digest: string } | undefined) => state?.version === version && state.digest === digest;
    // A resync that changed nothing is not a change to wait for.
    if (same(this.target) || (!this.target && same(this.applied))) return;
    this.target = { version, digest, since: performance.now(), announce: !options.quiet };
  }

  update(reports: readonly FrontEndReport[]): void {
    const now = new Map(reports.map((front) => [front.id, front]));
    for (const [id, front] of now) {
      const earlier = this.fronts.get(id);
      if (!earlier) show(this.context, { type: 'front-joined', id, host: front.host, pid: front.pid });
      else if (earlier.connected !== front.connected) show(this.context, { type: 'front-connection', id, connected: front.connected });
    }
    for (const [id, front] of this.fronts)
      if (!now.has(id)) show(this.context, { type: 'front-left', id, host: front.host, pid: front.pid });
    this.fronts = now;
    const target = this.target;
    if (target && reports.every((front) => isConverged(front, target))) {
      if (target.announce && reports.length > 0) {
        const ms = Math.round(performance.now() - target.since);
        show(this.context, { type: 'converged', version: target.version, digest: target.digest, fronts: reports.length, ms });
      }
      this.applied = { version: target.version, digest: target.digest };
      this.target = undefined;
    }
    this.checkAgreement(reports);
    this.showTraffic(reports);
  }

  /** Requests per second per target, from the heartbeats' counters: old going to zero, new taking over. */
  private showTraffic(reports: readonly FrontEndReport[]): void {
    const rates = this.traffic.update(reports);
    const now = performance.now();
    if (rates.size === 0 || now - this.shownTraffic.at < TRAFFIC_EVERY_MS || !ratesChanged(this.shownTraffic.rates, rates)) return;
    this.shownTraffic = { rates, at: now };
    show(this.context, {
      type: 'traffic',
      rates: Object.fromEntries([...rates].map(([target, rate]) => [target, Math.round(rate * 10) / 10])),
    });
  }

  /** Front ends apart for more than SPLIT_AFTER_MS, or keeping lost state: said once per situation. */
  private checkAgreement(reports: readonly FrontEndReport[]): void {
    const lost = reports.filter((front) => front.lostState);
    const loss = lost.map((front) => front.id).join(',');
    if (loss !== this.reportedLoss && lost.length > 0) {
      show(this.context, { type: 'lost-state', message: describeLostState(lost), fronts: lost.map((front) => front.id) });
    }
    this.reportedLoss = loss;
    const groups = new Map<string, FrontEndReport[]>();
    for (const front of reports)
      groups.set(`${front.version} ${front.digest}`, [...(groups.get(`${front.version} ${front.digest}`) ?? []), front]);
    if (groups.size <= 1) {
      this.disagreeSince = undefined;
      this.reportedSplit = '';
      return;
    }
    this.disagreeSince ??= performance.now();
    const signature = [...groups.keys()].sort().join('|');
    if (performance.now() - this.disagreeSince < SPLIT_AFTER_MS || signature === this.reportedSplit) return;
    this.reportedSplit = signature;
    show(this.context, {
      type: 'split',
      groups: [...groups.values()].map((members) => ({
        version: members[0]?.version ?? 0,
        digest: members[0]?.digest ?? '',
        fronts: members.map((front) => front.id),
      })),
    });
  }
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
    case 'invalid':
      context.print(
        `${stamp} ${style.red(`⚠ ${event.key} holds an invalid value (${event.error}); front ends keep their last good value`)}`,
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
    case 'traffic':
      context.print(`${stamp} ${style.dim('traffic')} ${formatRates(new Map(Object.entries(event.rates)))}`);
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
    case 'split':
      context.print(
        `${stamp} ${style.red(
          `⚠ FRONT ENDS DISAGREE: ${event.groups.map((group) => `${group.fronts.join(', ')} apply v${group.version} (digest ${group.digest})`).join('; ')}`,
        )}`,
      );
      break;
    case 'lost-state':
      context.print(`${stamp} ${style.red(`⚠ ${event.message}`)}`);
      break;
  }
}

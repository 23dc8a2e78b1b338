import {
  defaultActor,
  type MaintenanceState,
  parseMaintenance,
  readState,
  readValue,
  type StateWrite,
  stringifyMaintenance,
  validateMaintenance,
} from '@switchyard/core';
import type { CommandSpec, OptionSpec, ParsedArgs } from '../command';
import type { CommandContext } from '../context';
import { isConverged } from '../convergence';
import { describeAge, describeMaintenance } from '../describe';
import { restoreBeforeWrite } from '../kept-state';
import { MAINTENANCE_OPTIONS, maintenanceFieldsFromArgs, mergeMaintenance, sameMaintenance } from '../maintenance-options';
import { usageError } from '../option-values';
import { readStateVersion } from '../state-version';
import { formatDuration, formatTime } from '../style';
import { awaitFronts, CONVERGENCE_OPTIONS, describeConvergence, type FrontWait, frontWait } from './after-write';

/** What `maintenance on` or `off` does to one site. */
interface SitePlan {
  readonly site: string;
  /** The raw value before (null: not in maintenance). */
  readonly previous: string | null;
  readonly previousState: MaintenanceState | undefined;
  /** The raw value after (null: off). */
  readonly next: string | null;
  readonly nextState: MaintenanceState | undefined;
  readonly outcome: 'on' | 'updated' | 'unchanged' | 'off';
}

const ACTIONS = { on: 'maintenance on', updated: 'maintenance update', off: 'maintenance off' } as const;

const ALL_SITES_OPTION = {
  'all-sites': { type: 'boolean', description: 'every site with a route or maintenance state, in one atomic write' },
} as const satisfies Record<string, OptionSpec>;

/** `switchyard maintenance on` */
export const maintenanceOnCommand: CommandSpec = {
  name: 'maintenance on',
  summary: 'put a site (or every site) in maintenance, full or read-only; again to change the options',
  description: [
    'Puts the site in maintenance and waits until every live front end applies it. Full maintenance',
    'refuses every request with a 503 page; --read-only lets GET, HEAD and OPTIONS through and refuses',
    'writes. Running it again on a site already in maintenance changes only what is given and keeps',
    'the rest (mode, message, secret, allow-lists…) and the start time ("maintenance updated");',
    '--replace starts over from the options given. With nothing new it writes nothing ("unchanged").',
    '--all-sites does this for every site at once: one atomic compare-and-set write, one version.',
  ].join('\n'),
  options: {
    'read-only': { type: 'boolean', description: 'refuse only writes (POST, PUT, PATCH, DELETE…); reads keep working' },
    full: { type: 'boolean', description: 'refuse every request (the default for a site not yet in maintenance)' },
    replace: { type: 'boolean', description: 'start over: drop the options the maintenance had, keep only those given' },
    ...ALL_SITES_OPTION,
    ...MAINTENANCE_OPTIONS,
    ...CONVERGENCE_OPTIONS,
  },
  examples: [
    'switchyard maintenance on --message "Back in 10 minutes" --retry-after 600',
    'switchyard maintenance on --site shop --read-only --hold 5000',
    'switchyard maintenance on --full   # an already read-only site: refuse reads too, keep the rest',
    'switchyard maintenance on --all-sites --read-only --message "Moving to a new data centre"',
    'switchyard maintenance on --allow-ip 203.0.113.0/24 --allow-path /healthz --secret "$BYPASS_SECRET" --until +30m',
  ],
  async run(context, args) {
    const wait = frontWait(args);
    if (args.flag('read-only') && args.flag('full')) throw usageError('use --read-only or --full, not both');
    const mode = args.flag('read-only') ? 'read-only' : args.flag('full') ? 'on' : undefined;
    const given = maintenanceFieldsFromArgs(args, mode ?? 'on');
    const sites = allSitesRequested(context, args);
    await restoreBeforeWrite(context);
    const actor = defaultActor();
    const startedAt = new Date().toISOString();
    const plans = (await currentMaintenance(context, sites)).map(({ site, previous }): SitePlan => {
      const previousState = previous === null ? undefined : safeParse(previous);
      if (previous !== null && !previousState && !args.flag('replace')) {
        context.note(context.style.yellow(`the stored maintenance of ${site} is invalid; starting over from the options given`));
      }
      const nextState = validateMaintenance({
        ...mergeMaintenance(previousState, given, mode, { replace: args.flag('replace') }),
        startedAt: previousState?.startedAt ?? startedAt,
        by: actor,
      });
      const next = stringifyMaintenance(nextState);
      const outcome = sameMaintenance(previous, next) ? 'unchanged' : previous === null ? 'on' : 'updated';
      return { site, previous, previousState, next, nextState, outcome };
    });
    return report(context, plans, await writePlans(context, plans, actor), wait, sites === undefined);
  },
};

/** `switchyard maintenance off` */
export const maintenanceOffCommand: CommandSpec = {
  name: 'maintenance off',
  summary: 'take a site (or every site) out of maintenance',
  description: [
    'Removes the maintenance state (compare-and-set) and waits until every live front end applies it.',
    '--all-sites does this for every site at once: one atomic compare-and-set write, one version.',
  ].join('\n'),
  options: { ...ALL_SITES_OPTION, ...CONVERGENCE_OPTIONS },
  examples: ['switchyard maintenance off', 'switchyard maintenance off --site shop --json', 'switchyard maintenance off --all-sites'],
  async run(context, args) {
    const wait = frontWait(args);
    const sites = allSitesRequested(context, args);
    await restoreBeforeWrite(context);
    const plans = (await currentMaintenance(context, sites)).map(
      ({ site, previous }): SitePlan => ({
        site,
        previous,
        previousState: previous === null ? undefined : safeParse(previous),
        next: null,
        nextState: undefined,
        outcome: previous === null ? 'unchanged' : 'off',
      }),
    );
    return report(context, plans, await writePlans(context, plans, defaultActor()), wait, sites === undefined);
  },
};

/** With --all-sites: true (every site is listed later); without: undefined (the --site one). */
function allSitesRequested(context: CommandContext, args: ParsedArgs): true | undefined {
  if (!args.flag('all-sites')) return undefined;
  if (context.options.siteGiven) throw usageError('use --site or --all-sites, not both');
  return true;
}

/** The raw maintenance value of the --site site, or of every site with state (--all-sites). */
async function currentMaintenance(
  context: CommandContext,
  allSites: true | undefined,
): Promise<{ site: string; previous: string | null }[]> {
  if (!allSites) return [{ site: context.site, previous: await readValue(context.store, 'maintenance', context.site) }];
  const state = await readState(context.store);
  return state.sites.map((site) => ({ site: site.site, previous: site.raw.maintenance }));
}

/** Writes every changed site, compare-and-set, in one atomic batch; resolves to the version after it. */
async function writePlans(context: CommandContext, plans: readonly SitePlan[], actor: string): Promise<number> {
  const changes: StateWrite[] = plans.flatMap((plan) =>
    plan.outcome === 'unchanged'
      ? []
      : [
          {
            kind: 'maintenance',
            site: plan.site,
            value: plan.next,
            expect: { value: plan.previous },
            actor,
            action: ACTIONS[plan.outcome],
          },
        ],
  );
  if (changes.length === 0) return readStateVersion(context.store);
  const results = await context.store.writeBatch(changes);
  return Math.max(...results.map((result) => result.version));
}

async function report(
  context: CommandContext,
  plans: readonly SitePlan[],
  version: number,
  wait: FrontWait,
  oneSite: boolean,
): Promise<number> {
  const convergence = await awaitFronts(context, wait, version);
  const { style } = context;
  const shown = (plan: SitePlan) => (plan.outcome === 'unchanged' ? plan.previousState : plan.nextState) ?? null;
  if (context.json) {
    if (oneSite) {
      const plan = plans[0] as SitePlan;
      context.printJson(
        plan.outcome === 'off' || (plan.outcome === 'unchanged' && plan.next === null)
          ? { site: plan.site, outcome: plan.outcome, previous: plan.previousState ?? null, version, convergence }
          : { site: plan.site, outcome: plan.outcome, maintenance: shown(plan), version, convergence },
      );
    } else {
      context.printJson({
        sites: plans.map((plan) => ({ site: plan.site, outcome: plan.outcome, maintenance: plan.nextState ?? null })),
        version,
        convergence,
      });
    }
    return 0;
  }
  if (plans.length === 0) context.print('no sites yet; nothing written');
  for (const plan of plans) {
    if (plan.next === null) {
      if (plan.outcome === 'unchanged')
        context.print(`maintenance of ${style.bold(plan.site)} is already off; nothing written (version ${version})`);
      else {
        const since = plan.previousState?.startedAt
          ? ` after ${formatDuration(Date.now() - Date.parse(plan.previousState.startedAt))}`
          : '';
        context.print(`${style.green('maintenance off')} for ${style.bold(plan.site)}${since} (version ${version})`);
      }
    } else {
      const headline = { on: 'maintenance on', updated: 'maintenance updated', unchanged: 'maintenance unchanged', off: '' }[plan.outcome];
      context.print(`${style.yellow(headline)} for ${style.bold(plan.site)}: ${describeMaintenance(plan.nextState)} (version ${version})`);
    }
  }
  context.print(describeConvergence(convergence, version, style));
  return 0;
}

/** `switchyard maintenance status` */
export const maintenanceStatusCommand: CommandSpec = {
  name: 'maintenance status',
  summary: "show a site's maintenance state and how the front ends apply it",
  description: "Shows the site's maintenance state in Redis, how many live front ends apply it, and their held and refused requests.",
  examples: ['switchyard maintenance status', 'switchyard maintenance status --site shop --json'],
  async run(context) {
    const { store, site, style } = context;
    const [state, fronts] = await Promise.all([readState(store), store.listFronts()]);
    const stored = state.sites.find((entry) => entry.site === site);
    const maintenance = stored?.maintenance;
    const applying = fronts.filter((front) => isConverged(front, state)).length;
    const held = fronts.reduce((sum, front) => sum + front.held, 0);
    const refused = fronts.reduce((sum, front) => sum + front.refused, 0);
    if (context.json) {
      context.printJson({
        site,
        maintenance: maintenance ?? null,
        version: state.version,
        fronts: fronts.length,
        converged: applying,
        held,
        refused,
      });
      return 0;
    }
    if (!maintenance) context.print(`maintenance of ${style.bold(site)}: ${style.green('off')}`);
    else {
      context.print(`maintenance of ${style.bold(site)}: ${style.yellow(describeMaintenance(maintenance))}`);
      if (maintenance.startedAt) {
        context.print(
          `since ${formatTime(maintenance.startedAt)} (${describeAge(maintenance.startedAt)})${maintenance.by ? ` by ${maintenance.by}` : ''}`,
        );
      }
    }
    context.print(
      `front ends: ${fronts.length} live, ${applying} apply the current state; ${held} request(s) held now, ${refused} refused since start`,
    );
    return 0;
  },
};

function safeParse(raw: string): MaintenanceState | undefined {
  try {
    return parseMaintenance(raw);
  } catch {
    return undefined;
  }
}

import {
  defaultActor,
  type MaintenanceState,
  parseMaintenance,
  readState,
  readValue,
  setMaintenance,
  stringifyMaintenance,
  validateMaintenance,
} from '@switchyard/core';
import type { CommandSpec } from '../command';
import { describeAge, describeMaintenance } from '../describe';
import { MAINTENANCE_OPTIONS, maintenanceFieldsFromArgs, mergeMaintenance, sameMaintenance } from '../maintenance-options';
import { usageError } from '../option-values';
import { readStateVersion } from '../state-version';
import { formatDuration, formatTime } from '../style';
import { awaitFronts, CONVERGENCE_OPTIONS, describeConvergence, frontWait } from './after-write';

/** `switchyard maintenance on` */
export const maintenanceOnCommand: CommandSpec = {
  name: 'maintenance on',
  summary: 'put a site in maintenance (full or read-only); again to change the options',
  description: [
    'Puts the site in maintenance and waits until every live front end applies it. Full maintenance',
    'refuses every request with a 503 page; --read-only lets GET, HEAD and OPTIONS through and refuses',
    'writes. Running it again on a site already in maintenance changes only what is given and keeps',
    'the rest (mode, message, secret, allow-lists…) and the start time ("maintenance updated");',
    '--replace starts over from the options given. With nothing new it writes nothing ("unchanged").',
  ].join('\n'),
  options: {
    'read-only': { type: 'boolean', description: 'refuse only writes (POST, PUT, PATCH, DELETE…); reads keep working' },
    full: { type: 'boolean', description: 'refuse every request (the default for a site not yet in maintenance)' },
    replace: { type: 'boolean', description: 'start over: drop the options the maintenance had, keep only those given' },
    ...MAINTENANCE_OPTIONS,
    ...CONVERGENCE_OPTIONS,
  },
  examples: [
    'switchyard maintenance on --message "Back in 10 minutes" --retry-after 600',
    'switchyard maintenance on --site shop --read-only --hold 5000',
    'switchyard maintenance on --full   # an already read-only site: refuse reads too, keep the rest',
    'switchyard maintenance on --allow-ip 203.0.113.0/24 --allow-path /healthz --secret "$BYPASS_SECRET" --until +30m',
  ],
  async run(context, args) {
    const wait = frontWait(args);
    if (args.flag('read-only') && args.flag('full')) throw usageError('use --read-only or --full, not both');
    const mode = args.flag('read-only') ? 'read-only' : args.flag('full') ? 'on' : undefined;
    const given = maintenanceFieldsFromArgs(args, mode ?? 'on');
    const { store, site, style } = context;
    const actor = defaultActor();
    const previous = await readValue(store, 'maintenance', site);
    const previousState = previous === null ? undefined : safeParse(previous);
    if (previous !== null && !previousState && !args.flag('replace')) {
      context.note(style.yellow(`the stored maintenance of ${site} is invalid; starting over from the options given`));
    }
    const state = validateMaintenance({
      ...mergeMaintenance(previousState, given, mode, { replace: args.flag('replace') }),
      startedAt: previousState?.startedAt ?? new Date().toISOString(),
      by: actor,
    });
    const value = stringifyMaintenance(state);
    const outcome = sameMaintenance(previous, value) ? 'unchanged' : previous === null ? 'on' : 'updated';
    const version =
      outcome === 'unchanged'
        ? await readStateVersion(store)
        : (
            await setMaintenance(store, site, state, {
              expect: previous,
              actor,
              action: outcome === 'on' ? 'maintenance on' : 'maintenance update',
            })
          ).version;
    const convergence = await awaitFronts(context, wait, version);
    if (context.json) {
      context.printJson({
        site,
        outcome,
        maintenance: outcome === 'unchanged' && previousState ? previousState : state,
        version,
        convergence,
      });
      return 0;
    }
    const headline = { on: 'maintenance on', updated: 'maintenance updated', unchanged: 'maintenance unchanged' }[outcome];
    context.print(`${style.yellow(headline)} for ${style.bold(site)}: ${describeMaintenance(state)} (version ${version})`);
    context.print(describeConvergence(convergence, version, style));
    return 0;
  },
};

/** `switchyard maintenance off` */
export const maintenanceOffCommand: CommandSpec = {
  name: 'maintenance off',
  summary: 'take a site out of maintenance',
  description: 'Removes the maintenance state (compare-and-set) and waits until every live front end applies it.',
  options: { ...CONVERGENCE_OPTIONS },
  examples: ['switchyard maintenance off', 'switchyard maintenance off --site shop --json'],
  async run(context, args) {
    const wait = frontWait(args);
    const { store, site, style } = context;
    const previous = await readValue(store, 'maintenance', site);
    const version =
      previous === null ? await readStateVersion(store) : (await setMaintenance(store, site, null, { expect: previous })).version;
    const convergence = await awaitFronts(context, wait, version);
    const previousState = previous === null ? undefined : safeParse(previous);
    if (context.json) {
      context.printJson({ site, outcome: previous === null ? 'unchanged' : 'off', previous: previousState ?? null, version, convergence });
      return 0;
    }
    if (previous === null) context.print(`maintenance of ${style.bold(site)} is already off; nothing written (version ${version})`);
    else {
      const since = previousState?.startedAt ? ` after ${formatDuration(Date.now() - Date.parse(previousState.startedAt))}` : '';
      context.print(`${style.green('maintenance off')} for ${style.bold(site)}${since} (version ${version})`);
    }
    context.print(describeConvergence(convergence, version, style));
    return 0;
  },
};

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
    const applying = fronts.filter((front) => front.digest === state.digest).length;
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

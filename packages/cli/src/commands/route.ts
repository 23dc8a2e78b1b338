import { deleteRoute, isSwitchyardError, parseRoute, readState, readValue, SwitchyardError, setRoute } from '@switchyard/core';
import type { CommandSpec } from '../command';
import { describeMaintenance } from '../describe';
import { cliError } from '../errors';
import { checkHealth, type HealthCheckResult } from '../health-check';
import { restoreBeforeWrite } from '../kept-state';
import { parseDuration } from '../option-values';
import { readStateVersion } from '../state-version';
import { formatDuration, formatTable } from '../style';
import { awaitFronts, CONVERGENCE_OPTIONS, describeConvergence, frontWait } from './after-write';

/** `switchyard route set <url>` */
export const routeSetCommand: CommandSpec = {
  name: 'route set',
  summary: 'point a site at a new upstream (health-checked, compare-and-set, waits for the front ends)',
  description: [
    'Checks that the new upstream answers GET <url><health-path> with 2xx or 3xx, writes the route',
    'only if nobody changed it since it was read (compare-and-set), then waits until every live',
    'front end applies it and says how long that took.',
  ].join('\n'),
  positionals: [{ name: 'url', required: true, description: 'the new upstream, an absolute http(s) URL like http://10.0.0.2:3000' }],
  options: {
    'health-path': { type: 'string', value: '<path>', description: 'path of the health check (default /)' },
    'health-timeout': { type: 'string', value: '<duration>', description: 'how long the health check may take (default 5s)' },
    force: { type: 'boolean', description: 'skip the health check' },
    ...CONVERGENCE_OPTIONS,
  },
  examples: [
    'switchyard route set http://10.0.0.2:3000',
    'switchyard route set https://new.internal:8443 --site shop --health-path /healthz',
    'switchyard route set http://10.0.0.3:3000 --force --no-wait --json',
  ],
  async run(context, args) {
    const target = parseRoute(args.positionals[0] as string).target;
    const healthTimeoutMs = parseDuration(args.string('health-timeout') ?? '5s', 'health-timeout');
    const wait = frontWait(args);
    const { store, site } = context;
    await restoreBeforeWrite(context);
    const previous = await readValue(store, 'route', site);
    let health: HealthCheckResult | undefined;
    if (!args.flag('force')) {
      try {
        health = await checkHealth(target, { path: args.string('health-path'), timeoutMs: healthTimeoutMs, signal: context.signal });
      } catch (error) {
        if (!isSwitchyardError(error, 'SWITCHYARD_ERR_HEALTH_CHECK_FAILED')) throw error;
        throw cliError(
          'SWITCHYARD_ERR_HEALTH_CHECK_FAILED',
          `${error.message}; route not changed (fix the new server, or pass --force to skip the check)`,
        );
      }
    }
    const result = await setRoute(store, site, target, { expect: previous });
    const convergence = await awaitFronts(context, wait, result.version);
    if (context.json) {
      context.printJson({
        site,
        route: target,
        previous,
        changed: result.changed,
        version: result.version,
        health: health ? { url: health.url, status: health.status, ms: health.elapsedMs } : null,
        convergence,
      });
      return 0;
    }
    const { style } = context;
    if (health)
      context.print(style.dim(`health check: GET ${health.url} answered ${health.status} in ${formatDuration(health.elapsedMs)}`));
    context.print(
      result.changed
        ? `route of ${style.bold(site)}: ${previous ?? '(none)'} → ${style.cyan(target)} (version ${result.version})`
        : `route of ${style.bold(site)} is already ${style.cyan(target)}; nothing written (version ${result.version})`,
    );
    context.print(describeConvergence(convergence, result.version, style));
    return 0;
  },
};

/** `switchyard route delete` */
export const routeDeleteCommand: CommandSpec = {
  name: 'route delete',
  summary: "remove a site's upstream (compare-and-set, waits for the front ends)",
  description: [
    "Removes the site's route, only if nobody changed it since it was read (compare-and-set), then",
    'waits until every live front end applies it. Requests for the site then get 502 (no upstream),',
    'unless the site is in maintenance. Asks first on a terminal (--yes to skip).',
  ].join('\n'),
  options: { ...CONVERGENCE_OPTIONS },
  examples: ['switchyard route delete --site old-shop', 'switchyard route delete --site old-shop --yes --json'],
  async run(context, args) {
    const wait = frontWait(args);
    const { store, site, style } = context;
    await restoreBeforeWrite(context);
    const previous = await readValue(store, 'route', site);
    if (previous === null) {
      const version = await readStateVersion(store);
      if (context.json) context.printJson({ site, route: null, previous, changed: false, version, convergence: null });
      else context.print(`${style.bold(site)} has no route; nothing written (version ${version})`);
      return 0;
    }
    if (!(await context.confirm(`Delete the route of ${site} (${previous})? Its requests will get 502.`))) {
      throw new SwitchyardError('SWITCHYARD_ERR_ABORTED', 'route delete cancelled; nothing changed');
    }
    const result = await deleteRoute(store, site, { expect: previous });
    const convergence = await awaitFronts(context, wait, result.version);
    if (context.json) {
      context.printJson({ site, route: null, previous, changed: result.changed, version: result.version, convergence });
      return 0;
    }
    context.print(`route of ${style.bold(site)}: ${previous} → ${style.yellow('(none)')} (version ${result.version})`);
    context.print(describeConvergence(convergence, result.version, style));
    return 0;
  },
};

/** `switchyard route get` */
export const routeGetCommand: CommandSpec = {
  name: 'route get',
  summary: "print a site's upstream",
  description: "Prints the site's route (the upstream URL) as stored in Redis; exits 1 when the site has none.",
  examples: ['switchyard route get', 'switchyard route get --site shop --json'],
  async run(context) {
    const route = await readValue(context.store, 'route', context.site);
    if (route === null) {
      throw cliError(
        'SWITCHYARD_ERR_NO_SITE',
        `site ${JSON.stringify(context.site)} has no route; set one with switchyard route set <url> --site ${context.site}`,
      );
    }
    if (context.json) context.printJson({ site: context.site, route });
    else context.print(route);
    return 0;
  },
};

/** `switchyard route list` */
export const routeListCommand: CommandSpec = {
  name: 'route list',
  summary: 'list every site with its upstream and maintenance state',
  description: 'Lists every site that has a route or a maintenance state in Redis.',
  examples: ['switchyard route list', 'switchyard route list --json'],
  async run(context) {
    const state = await readState(context.store);
    if (context.json) {
      context.printJson({
        version: state.version,
        sites: state.sites.map((site) => ({ site: site.site, route: site.raw.route, maintenance: site.maintenance?.mode ?? null })),
      });
      return 0;
    }
    if (state.sites.length === 0) {
      context.print('no sites yet; add one with switchyard route set <url> --site <site>');
      return 0;
    }
    const { style } = context;
    const rows = state.sites.map((site) => [
      site.site,
      site.raw.route ?? style.yellow('(none)'),
      site.maintenance ? style.yellow(describeMaintenance(site.maintenance)) : 'off',
    ]);
    for (const line of formatTable([['SITE', 'ROUTE', 'MAINTENANCE'].map(style.bold), ...rows])) context.print(line);
    return 0;
  },
};

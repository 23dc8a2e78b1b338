import { DEFAULT_SITE, type HistoryEntry } from '@switchyard/core';
import type { CommandSpec } from '../command';
import type { CommandContext } from '../context';
import { describeGroups, describeInvalid, describeLostState, type FrontAgreement, readAgreement } from '../convergence';
import { type CutoverJournal, readJournal } from '../cutover/journal';
import { describeAge, describeMaintenance } from '../describe';
import { sleep } from '../sleep';
import { formatTable, formatTime } from '../style';
import { printFronts, summariseFronts } from './fronts';

/** How far back `status` looks for each site's last change. */
const HISTORY_DEPTH = 1000;

/** Front ends a few milliseconds behind a write are not a problem: status looks again for this long. */
const SETTLE_MS = 1000;

/** Something an operator must act on; any of them makes `status` exit 1. */
export interface StatusProblem {
  readonly kind: 'split' | 'not-converged' | 'invalid-value' | 'lost-state';
  readonly message: string;
}

/** `switchyard status` */
export const statusCommand: CommandSpec = {
  name: 'status',
  summary: 'every site (route, maintenance, last change), every live front end, unfinished cutovers',
  description: [
    'Shows every site with its route, maintenance state and last recorded change; every live front',
    'end with the state version it applies and whether it has converged; and, first and loudly,',
    'any unfinished cutover (running now, or interrupted and waiting for --resume or --abort).',
    'Exits 1, saying which front end applies what, when the front ends do not all apply what Redis',
    'holds (a split, or some behind for more than a second), when Redis holds a malformed value, or',
    'when Redis lost its state while the front ends keep it (switchyard restore writes it back).',
  ].join('\n'),
  examples: ['switchyard status', 'switchyard status --json', 'switchyard status --redis rediss://:secret@redis.internal:6380'],
  async run(context) {
    const { store } = context;
    const [agreement, history] = await Promise.all([settledAgreement(context), store.history(HISTORY_DEPTH)]);
    const { state } = agreement;
    const reports = agreement.fronts;
    const problems = statusProblems(agreement);
    const siteNames = new Set([...state.sites.map((site) => site.site), DEFAULT_SITE, context.site]);
    // One unreadable journal must not hide the rest of the status: it is reported instead.
    const journals = await Promise.all(
      [...siteNames].map((site) => readJournal(store, site).catch((error: Error) => ({ site, error: error.message }))),
    );
    const cutovers = journals.filter((journal): journal is CutoverJournal => journal !== null && !('error' in journal));
    const unreadable = journals.filter((journal): journal is { site: string; error: string } => journal !== null && 'error' in journal);
    const lastChange = new Map<string, HistoryEntry>();
    for (const entry of history) if (!lastChange.has(entry.site)) lastChange.set(entry.site, entry);
    const fronts = summariseFronts(reports, state);
    if (context.json) {
      context.printJson({
        store: store.description,
        version: state.version,
        digest: state.digest,
        cutovers,
        unreadableCutovers: unreadable,
        sites: state.sites.map((site) => ({
          site: site.site,
          route: site.raw.route,
          maintenance: site.maintenance ?? null,
          errors: site.errors.map((error) => ({ code: error.code, message: error.message })),
          lastChange: lastChange.get(site.site) ?? null,
        })),
        fronts,
        problems,
      });
      return problems.length > 0 ? 1 : 0;
    }
    const { style } = context;
    context.print(style.dim(`${store.description} · state version ${state.version} · digest ${state.digest}`));
    for (const problem of problems) context.print(style.red(style.bold(`⚠ ${problem.message}`)));
    const kept = agreement.lostState[0]?.kept;
    if (kept) {
      for (const [key, value] of Object.entries(kept.values).sort())
        context.print(style.red(`  kept by the front ends: ${key} = ${value}`));
    }
    for (const journal of cutovers) printCutover(context, journal);
    for (const journal of unreadable) context.print(style.red(style.bold(`⚠ CUTOVER JOURNAL OF ${journal.site}: ${journal.error}`)));
    context.print();
    if (state.sites.length === 0) context.print('no sites yet; add one with switchyard route set <url> --site <site>');
    else {
      const rows = state.sites.map((site) => {
        const change = lastChange.get(site.site);
        return [
          site.site,
          site.raw.route ?? style.yellow('(none)'),
          site.maintenance ? style.yellow(describeMaintenance(site.maintenance)) : style.green('off'),
          change
            ? `${change.action} by ${change.actor} ${describeAge(change.time)}${change.cutoverId ? ` (${change.cutoverId})` : ''}`
            : style.dim('—'),
        ];
      });
      for (const line of formatTable([['SITE', 'ROUTE', 'MAINTENANCE', 'LAST CHANGE'].map(style.bold), ...rows])) context.print(line);
    }
    context.print();
    const converged = fronts.filter((front) => front.converged).length;
    if (fronts.length === 0) context.print(style.yellow('no live front ends'));
    else {
      const all = converged === fronts.length;
      context.print(
        style.bold(
          `FRONT ENDS: ${fronts.length} live, ${all ? style.green('all converged') : style.yellow(`${fronts.length - converged} not converged`)}`,
        ),
      );
      printFronts(context, fronts);
    }
    return problems.length > 0 ? 1 : 0;
  },
};

/** The agreement, read again for up to SETTLE_MS while front ends are only catching up with a write. */
async function settledAgreement(context: CommandContext): Promise<FrontAgreement> {
  const started = performance.now();
  for (;;) {
    const agreement = await readAgreement(context.store);
    const catchingUp = !agreement.converged && agreement.invalid.length === 0 && agreement.lostState.length === 0;
    if (!catchingUp || performance.now() - started >= SETTLE_MS) return agreement;
    await sleep(50, context.signal);
  }
}

/** What status shouts about, most fundamental first. */
export function statusProblems(agreement: FrontAgreement): StatusProblem[] {
  const problems: StatusProblem[] = [];
  if (agreement.lostState.length > 0) problems.push({ kind: 'lost-state', message: describeLostState(agreement.lostState) });
  for (const value of agreement.invalid) problems.push({ kind: 'invalid-value', message: describeInvalid(value) });
  if (agreement.split) problems.push({ kind: 'split', message: `FRONT ENDS DISAGREE: ${describeGroups(agreement)}` });
  // An invalid stored value or a state loss already explains why front ends differ from Redis.
  else if (!agreement.converged && agreement.lostState.length === 0 && agreement.invalid.length === 0) {
    problems.push({ kind: 'not-converged', message: `FRONT ENDS DO NOT APPLY WHAT REDIS HOLDS: ${describeGroups(agreement)}` });
  }
  return problems;
}

function printCutover(context: CommandContext, journal: CutoverJournal): void {
  const { style } = context;
  const siteOption = journal.site === DEFAULT_SITE ? '' : ` --site ${journal.site}`;
  context.print(
    style.red(
      style.bold(
        `⚠ UNFINISHED CUTOVER ${journal.id} of ${journal.site}: at step ${journal.step}, ${journal.from ?? '(none)'} → ${journal.to}`,
      ),
    ),
  );
  context.print(
    style.red(
      `  started ${formatTime(journal.startedAt)} by ${journal.by} (pid ${journal.pid} on ${journal.host}); maintenance before it: ${journal.previousMaintenance === null ? 'off' : 'on'}`,
    ),
  );
  context.print(
    style.red(
      `  if that process is gone: switchyard cutover --resume${siteOption} (finish it) or switchyard cutover --abort${siteOption} (undo it)`,
    ),
  );
}

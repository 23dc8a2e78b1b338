import { readValue } from '@switchyard/core';
import type { CutoverJournal, CutoverJournalEntry } from '@switchyard/core/internal';
import { type DatabaseMove, openDatabaseMove, type PreflightReport, redactDatabaseUrl, UNFENCE_BY_HAND } from '@switchyard/db';
import { cliError } from '../../errors';
import { formatDuration } from '../../style';
import type { CutoverStepOptions } from '../options';
import type { CutoverStepDefinition } from './definition';
import { assertWindowHeld } from './maintenance';

/** Defaults of the database step, in one place. */
export const DATABASE_DEFAULTS = {
  maxLagMs: 5000,
  maxTransactionAgeMs: 10_000,
  catchUpTimeoutMs: 30_000,
  promoteTimeoutMs: 60_000,
} as const;

/** What pre-flight found, for the journal entry and the plan of the same cutover (keyed by its options object). */
const preflights = new WeakMap<CutoverStepOptions, PreflightReport>();
/**
 * The open move of a cutover running in this process, by cutover id: kept from the step's run to
 * the end of the cutover, so an undo can unfence the source (the URLs, which may carry passwords,
 * are never journaled). Closed by `finish` or the undo.
 */
const live = new Map<string, DatabaseMove>();

/**
 * The database moved by replication (`--db-source`, `--db-target`; engines in `@switchyard/db`):
 * guardrails in pre-flight; in the window, after the drain, the source fenced (`--fence-source`),
 * its position read, the target waited for until it has it, then promoted — before the switch, so
 * the new servers only ever see a database with every acknowledged write.
 *
 * Undo: before promotion, the source is unfenced and nothing else changed (maintenance comes back
 * through the maintenance step's undo). After promotion there is no automatic way back (the old
 * database no longer receives writes): the cutover stays in maintenance on the new route, unless
 * `--rollback-after-promote` (or `--abort`) asks to go back anyway.
 */
export const databaseStep: CutoverStepDefinition<'database'> = {
  name: 'database',
  applies: (options, journal) => Boolean(options.db) || Boolean(journal.steps.database),

  async preflight({ options, signal }) {
    const { db } = options;
    if (!db) return [];
    const move = await openDatabaseMove(db.source, db.target, { queryTimeoutMs: db.queryTimeoutMs });
    try {
      const report = await move.preflight({
        maxLagMs: db.maxLagMs ?? DATABASE_DEFAULTS.maxLagMs,
        maxTransactionAgeMs: db.maxTransactionAgeMs ?? DATABASE_DEFAULTS.maxTransactionAgeMs,
        signal,
      });
      preflights.set(options, report);
      return [`database ${report.kind}: ${report.checks.join(', ')}`];
    } finally {
      await move.close();
    }
  },

  journalEntry(options) {
    const { db } = options;
    if (!db) return undefined;
    return {
      source: redactDatabaseUrl(db.source),
      target: redactDatabaseUrl(db.target),
      kind: preflights.get(options)?.kind ?? null,
      fence: Boolean(db.fenceSource),
      rollbackAfterPromote: Boolean(db.rollbackAfterPromote),
    };
  },

  planLines(options, journal) {
    const entry = journal.steps.database;
    if (!entry && !options.db) return [];
    const source = entry?.source ?? redactDatabaseUrl(options.db?.source ?? '');
    const target = entry?.target ?? redactDatabaseUrl(options.db?.target ?? '');
    const fence = entry ? entry.fence === true : Boolean(options.db?.fenceSource);
    const back = entry ? entry.rollbackAfterPromote === true : Boolean(options.db?.rollbackAfterPromote);
    return [
      { label: 'database', value: `${entry?.kind ?? 'replication'} ${source} → ${target}` },
      { label: 'fence source', value: fence ? 'yes: the old database refuses writes from the drain on' : 'no' },
      {
        label: 'after promote',
        value: back
          ? 'a failure rolls back to the old server (writes made on the new database since are not on the old one)'
          : 'no way back to the old database: a failure keeps the new route and stays in maintenance',
      },
    ];
  },

  missingOnResume: (options, journal) =>
    journal.steps.database && !options.db && journal.steps.database.promoted !== true
      ? `cutover ${journal.id} has not finished its database step; pass the same --db-source and --db-target again`
      : undefined,

  async run(context) {
    const { journal, signal } = context;
    const db = context.options.db;
    const base: CutoverJournalEntry = context.entry ?? {};
    if (base.promoted === true) return `target already promoted (${base.target})`;
    if (!db) throw cliError('SWITCHYARD_ERR_USAGE', 'the database step needs --db-source and --db-target');
    let started = performance.now();
    const move = await openDatabaseMove(db.source, db.target, { queryTimeoutMs: db.queryTimeoutMs });
    live.get(journal.id)?.close();
    live.set(journal.id, move);
    context.substep('connect', since(started));
    const done: string[] = [move.kind];
    let entry: CutoverJournalEntry = { ...base, kind: move.kind };
    // On resume the journal says whether this cutover fences, whatever the flags say this time.
    const fence = db.fenceSource === true || base.fence === true;
    if (fence && base.fenced === true) {
      // Resumed: this cutover fenced the source before the interruption. Fencing again would find it
      // read-only and take that for the state to restore, so a later undo would leave it fenced.
      done.push('source still fenced from before the interruption');
    } else if (fence) {
      // Journaled before it happens: an undo after a crash here must try to unfence.
      entry = { ...entry, fenced: true };
      await context.record(entry);
      started = performance.now();
      await move.fence();
      context.substep('fence', since(started));
      done.push(`source fenced in ${formatDuration(since(started))}`);
    }
    const position = await move.catchUpPosition();
    entry = { ...entry, position: position.text };
    await context.record(entry);
    started = performance.now();
    await move.waitFor(position, { timeoutMs: db.catchUpTimeoutMs ?? DATABASE_DEFAULTS.catchUpTimeoutMs, signal });
    context.substep('catch-up', since(started));
    done.push(`target caught up to ${position.text} in ${formatDuration(since(started))}`);
    // Writes let through by a lifted maintenance would be after the position just waited for.
    await assertWindowHeld(context, `the promotion of ${base.target ?? 'the target database'}`);
    entry = { ...entry, promoting: true };
    await context.record(entry);
    started = performance.now();
    await move.promote({ timeoutMs: db.promoteTimeoutMs ?? DATABASE_DEFAULTS.promoteTimeoutMs, signal });
    context.substep('promote', since(started));
    done.push(`promoted in ${formatDuration(since(started))}`);
    await context.record({ ...entry, promoted: true });
    return done.join('; ');
  },

  async pinned({ store, journal, entry, wholeCutover }) {
    if (!entry || !(entry.promoting === true || entry.promoted === true)) return undefined;
    if (entry.rollbackAfterPromote === true || wholeCutover) return undefined;
    await release(journal);
    const next =
      `fix what failed, then switchyard cutover --resume --site ${journal.site},` +
      ` or go back with switchyard cutover --abort --site ${journal.site} (writes made on the new database are not on the old one)`;
    // Someone lifted maintenance (what stopped the switch, if it failed there): writes are reaching the
    // old database, which the promoted one no longer follows. That needs the operator now.
    if ((await readValue(store, 'maintenance', journal.site).catch(() => undefined)) === null) {
      return (
        `the target database ${entry.target} was promoted, but maintenance of ${journal.site} was lifted by someone else: writes now reach` +
        ` the old database, which the new one no longer follows. Put maintenance back at once (switchyard maintenance on --read-only` +
        ` --site ${journal.site}), then ${next}`
      );
    }
    return (
      `the target database ${entry.target} was promoted: the old one no longer receives writes, so ${journal.site} stays in maintenance` +
      ` (route and journal kept); ${next}`
    );
  },

  async undo({ journal, entry, report, db }) {
    let move = live.get(journal.id);
    try {
      // No database in this cutover: nothing to say.
      if (!entry) return { restored: true, summary: '' };
      // Going back past promotion loses what was written on the new database: the summary says so.
      const promoted = entry.promoting === true || entry.promoted === true;
      const lost = promoted ? ` (the new database ${entry.target} stays promoted: writes made on it are not on the old one)` : '';
      if (entry.fenced !== true) return { restored: true, summary: promoted ? `old database untouched${lost}` : 'databases untouched' };
      // Another process (`--abort` after a crash): reconnect with the URLs given again.
      if (!move && db) move = await openDatabaseMove(db.source, db.target, { queryTimeoutMs: db.queryTimeoutMs }).catch(() => undefined);
      if (!move) {
        const problem =
          `the source database ${entry.source} is still fenced (read-only) and this process cannot reach it: run --abort again with` +
          ` --db-source and --db-target, or undo it there (${UNFENCE_BY_HAND})`;
        report(false, problem);
        // Lifting maintenance onto a read-only database would fail the site's writes: stay, keep the journal.
        return { restored: false, summary: 'source database left fenced', problem, blocked: true };
      }
      await move.unfence();
      report(true, `source database ${move.source} accepts writes again`);
      return { restored: true, summary: `source database unfenced${lost}` };
    } catch (error) {
      const problem = `unfencing the source database: ${(error as Error).message}`;
      report(false, problem);
      return { restored: false, summary: 'source database left fenced', problem };
    } finally {
      if (move && !live.has(journal.id)) await move.close().catch(() => undefined);
      await release(journal);
    }
  },

  finish: (journal) => release(journal),
};

/** Closes the move a cutover kept open. */
async function release(journal: CutoverJournal): Promise<void> {
  const move = live.get(journal.id);
  live.delete(journal.id);
  await move?.close().catch(() => undefined);
}

function since(started: number): number {
  return Math.round(performance.now() - started);
}

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, createStore, deleteRoute, type Logger, type Store, setMaintenance, setRoute } from '@switchyard/core';
import { type AppServer, startAppServer } from './app-server';
import { runCutover } from './cutover-step';
import type { DemoOptions } from './demo-options';
import { type DemoSummary, judge } from './demo-summary';
import { startFrontEndServer } from './front-end-server';
import { copyDatabase, openGuestbookDb } from './guestbook-db';
import { countByServer, LoadGenerator, type LoadResult } from './load-generator';
import { type ReplicatedPair, startReplicatedPair } from './replicated-pair';
import { proveAcknowledgedWrites, proveAgainst, type WriteProof } from './write-proof';

/** Notes the old server already holds before the demo starts: the data being migrated. */
const SEED_NOTES = 200;
/** The cutover starts this far into the load, so the old server acknowledges plenty of writes first. */
const CUTOVER_AT = 0.4;
/** Load keeps running at least this long after the cutover, so the new server acknowledges writes too. */
const MIN_LOAD_AFTER_CUTOVER_MS = 1000;
const ACTOR = 'migration-demo';

/** Where the database files go: `examples/migration-demo/.demo-data/` (gitignored). */
const DATA_ROOT = join(__dirname, '..', '.demo-data');

/**
 * Runs the whole migration: two app servers with their own SQLite files, a front end in front of
 * them, load through the front end, a cutover from old to new whose sync copies the database, and
 * the check that every acknowledged write is in the new database file. `say` gets the human summary.
 */
export async function runMigrationDemo(options: DemoOptions, say: (line: string) => void): Promise<DemoSummary> {
  const runTag = randomBytes(3).toString('hex');
  const mode = options.redisUrl ? 'redis' : 'memory';
  // A site of its own per run: a shared Redis may hold other sites, or leftovers of an interrupted run.
  const site = `guestbook-${runTag}`;
  const logger = createLogger();
  mkdirSync(DATA_ROOT, { recursive: true });
  const dataDir = mkdtempSync(join(DATA_ROOT, 'run-'));
  const oldDbPath = join(dataDir, 'old.db');
  const newDbPath = join(dataDir, 'new.db');
  const store = createStore(options.redisUrl ?? `memory://migration-demo-${runTag}`, { logger });
  const servers: { close(): Promise<void> }[] = [];
  let siteCreated = false;
  let load: LoadGenerator | undefined;

  try {
    say(
      mode === 'redis'
        ? `Switchyard migration demo: state in Redis (${store.description}), cutover by the switchyard CLI`
        : 'Switchyard migration demo: state in process (memory://), cutover() called in process',
    );
    const pair = options.database === 'sqlite' ? undefined : await startReplicatedPair(options.database, SEED_NOTES);
    if (pair) servers.push(pair);
    const { oldApp, newApp } = pair
      ? await startReplicatedAppServers(pair, options.writeDelayMs, logger, servers)
      : await startAppServers({ oldDbPath, newDbPath, writeDelayMs: options.writeDelayMs, logger }, servers);
    await setRoute(store, site, oldApp.url, { actor: ACTOR, action: 'route set (demo start)' });
    siteCreated = true;
    const front = await startFrontEndServer({ store, site, logger });
    servers.unshift(front);
    if (pair) {
      say(`  old app server ${oldApp.url}  ${pair.sourceName} (${SEED_NOTES} notes)`);
      say(`  new app server ${newApp.url}  ${pair.targetName} (read-only until promoted)`);
    } else {
      say(`  old app server ${oldApp.url}  ${relative(process.cwd(), oldDbPath)} (${SEED_NOTES} notes)`);
      say(`  new app server ${newApp.url}  ${relative(process.cwd(), newDbPath)} (a copy taken before the load)`);
    }
    say(`  front end      ${front.url}  site "${site}" → old`);

    load = new LoadGenerator({ target: front.url, rate: options.rate });
    const loadStarted = performance.now();
    load.start();
    say('');
    say(`Load: ${options.rate} requests/s through the front end, half of them writes, for ${options.durationS} s`);
    await sleep(options.durationS * 1000 * CUTOVER_AT);
    say(`  before the cutover: ${describeServers(load.acknowledgedBy())} writes acknowledged so far`);

    say('');
    const move = pair ? pair.moveLine : 'sync copies old.db over new.db';
    say(
      options.holdMs > 0
        ? `Cutover old → new: read-only maintenance, writes held up to ${options.holdMs} ms, ${move}`
        : `Cutover old → new: read-only maintenance, writes refused (--no-hold), ${move}`,
    );
    const cutover = await runCutover({
      mode,
      store,
      redisUrl: options.redisUrl,
      site,
      to: newApp.url,
      holdMs: options.holdMs,
      data: pair ? { kind: 'replication', source: pair.sourceUrl, target: pair.targetUrl } : { kind: 'copy', oldDbPath, newDbPath },
      say: (line) => say(`  ${line}`),
    });
    const cutoverEnded = performance.now();

    const loadEnds = Math.max(loadStarted + options.durationS * 1000, cutoverEnded + MIN_LOAD_AFTER_CUTOVER_MS);
    await sleep(Math.max(0, loadEnds - performance.now()));
    const result = await load.stop();
    // Stop the app servers before the proof, so it reads what is stored once nobody writes any more.
    let proof: WriteProof;
    if (pair) {
      const apps = servers.filter((server) => server !== pair);
      servers.splice(0, servers.length, pair);
      await closeAll(apps);
      proof = proveAgainst(await pair.targetNoteIds(), pair.targetName, result.acknowledged.keys());
    } else {
      await closeAll(servers);
      proof = proveAcknowledgedWrites(newDbPath, result.acknowledged.keys());
    }
    const summary = judge({ mode, site, holdMs: options.holdMs, cutover, load: result, proof });
    printLoad(say, result);
    printProof(say, summary, pair ? pair.proofName : 'new.db');
    return summary;
  } finally {
    await load?.stop();
    await closeAll(servers);
    if (mode === 'redis' && siteCreated) await removeSite(store, site, logger);
    await store.close();
    if (!options.keepData) rmSync(dataDir, { recursive: true, force: true });
    else say(`Database files kept in ${relative(process.cwd(), dataDir)}`);
  }
}

async function startAppServers(
  options: { oldDbPath: string; newDbPath: string; writeDelayMs: number; logger: Logger },
  servers: { close(): Promise<void> }[],
): Promise<{ oldApp: AppServer; newApp: AppServer }> {
  const seed = openGuestbookDb(options.oldDbPath);
  for (let index = 0; index < SEED_NOTES; index += 1) seed.addNote(`seed-${index}`, `note ${index}, written before the migration`);
  seed.close();
  // Step 1 of the recipe: the new server starts with a recent copy; the cutover's sync brings it up to date.
  await copyDatabase(options.oldDbPath, options.newDbPath);
  const oldApp = await startAppServer({
    name: 'old',
    dbPath: options.oldDbPath,
    writeDelayMs: options.writeDelayMs,
    logger: options.logger,
  });
  servers.push(oldApp);
  const newApp = await startAppServer({
    name: 'new',
    dbPath: options.newDbPath,
    writeDelayMs: options.writeDelayMs,
    logger: options.logger,
  });
  servers.push(newApp);
  return { oldApp, newApp };
}

async function startReplicatedAppServers(
  pair: ReplicatedPair,
  writeDelayMs: number,
  logger: Logger,
  servers: { close(): Promise<void> }[],
): Promise<{ oldApp: AppServer; newApp: AppServer }> {
  const oldApp = await startAppServer({ name: 'old', notes: pair.notes('source'), writeDelayMs, logger });
  servers.unshift(oldApp);
  const newApp = await startAppServer({ name: 'new', notes: pair.notes('target'), writeDelayMs, logger });
  servers.unshift(newApp);
  return { oldApp, newApp };
}

/** Closes servers in order (app servers are put first, the databases they use last). */
async function closeAll(servers: { close(): Promise<void> }[]): Promise<void> {
  const closing = [...servers];
  servers.length = 0;
  for (const server of closing) await server.close();
}

/** Leaves the shared Redis as it was: the demo's site only pointed at servers that are gone now. */
async function removeSite(store: Store, site: string, logger: Logger): Promise<void> {
  try {
    await setMaintenance(store, site, null, { actor: ACTOR, action: 'maintenance off (demo end)' });
    await deleteRoute(store, site, { actor: ACTOR, action: 'route delete (demo end)' });
  } catch (error) {
    logger.warn({ site, err: (error as Error).message }, 'could not remove the demo site from the store');
  }
}

function describeServers(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  if (entries.length === 0) return '0';
  const total = entries.reduce((sum, [, count]) => sum + count, 0);
  return `${total} (${entries.map(([server, count]) => `${server} ${count}`).join(', ')})`;
}

function printLoad(say: (line: string) => void, result: LoadResult): void {
  const outcomes = Object.entries(result.outcomes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([outcome, count]) => `${outcome} ×${count}`)
    .join(', ');
  say('');
  say(`Load stopped: ${result.sent} requests (${result.reads} reads, ${result.writes} writes); answers: ${outcomes || 'none'}`);
  say(`  failed requests: ${result.failed}; slowest answer ${result.slowestMs} ms`);
  say(`  writes acknowledged: ${describeServers(countByServer(result.acknowledged))}`);
}

function printProof(say: (line: string) => void, summary: DemoSummary, where: string): void {
  const { writes } = summary;
  say('');
  say(`Proof: read ${where} directly: ${writes.present} of ${writes.acknowledged} acknowledged writes present, ${writes.lost} lost`);
  if (writes.lostIds.length > 0) say(`  lost, e.g.: ${writes.lostIds.join(', ')}`);
  say('');
  say(summary.ok ? `PASS: ${summary.verdict}` : `FAIL: ${summary.verdict}`);
}

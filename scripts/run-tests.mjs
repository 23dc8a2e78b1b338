#!/usr/bin/env node
// Runs every *.test.ts under packages/*/test and test/ with node's test runner on the TypeScript
// sources (the `switchyard-source` export condition), so tests never run against a stale build.
// Extra arguments are passed to node --test (e.g. --test-name-pattern=flip).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const roots = [join(root, 'test'), ...readdirSync(join(root, 'packages')).map((name) => join(root, 'packages', name, 'test'))];

function collect(dir, found) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return found;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (name === 'node_modules') continue;
    if (statSync(path).isDirectory()) collect(path, found);
    else if (name.endsWith('.test.ts')) found.push(relative(root, path));
  }
  return found;
}

const args = process.argv.slice(2);
const files = args.some((arg) => !arg.startsWith('-')) ? [] : roots.flatMap((dir) => collect(dir, [])).sort();
const result = spawnSync(
  process.execPath,
  ['--conditions=switchyard-source', '--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=120000', ...args, ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, SWITCHYARD_LOG_LEVEL: process.env.SWITCHYARD_LOG_LEVEL ?? 'silent' } },
);
process.exit(result.status ?? 1);

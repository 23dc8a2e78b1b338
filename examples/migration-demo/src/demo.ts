// `npm run demo`: a live migration of a SQLite guestbook under load, with its report. See ../README.md.
import { isSwitchyardError } from '@switchyard/core';
import { parseDemoOptions, USAGE } from './demo-options';
import { runMigrationDemo } from './migration-demo';

async function main(): Promise<number> {
  let options: ReturnType<typeof parseDemoOptions>;
  try {
    options = parseDemoOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const summary = await runMigrationDemo(options, (line) => process.stdout.write(`${line}\n`));
  if (options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  return summary.ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = isSwitchyardError(error) ? `${error.code}: ${error.message}` : ((error as Error).stack ?? String(error));
    process.stderr.write(`migration demo failed: ${message}\n`);
    process.exitCode = 1;
  },
);

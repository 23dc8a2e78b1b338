// The cutover's sync step as a shell command: copies the old server's database over the new one's.
// Usage: node --import tsx examples/migration-demo/src/copy-db.ts <old.db> <new.db>
import { copyDatabase } from './guestbook-db';

async function main(): Promise<void> {
  const [from, to] = process.argv.slice(2);
  if (!from || !to) {
    process.stderr.write('usage: copy-db.ts <from.db> <to.db>\n');
    process.exit(2);
  }
  const started = performance.now();
  const { pages } = await copyDatabase(from, to);
  process.stdout.write(`copied ${pages} pages in ${Math.round(performance.now() - started)} ms\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`copy-db: ${error.message}\n`);
  process.exit(1);
});

// The packages as a user gets them: every workspace package packed with `npm pack`, the tarballs
// installed into a fresh project outside the workspace, and the README's Koa and Express tours run
// there, each once as an ES module and once as CommonJS, against a real redis-server and upstream.
// Not part of `npm test` (it installs from the registry and takes about a minute): `npm run test:consumer`,
// which .ci/run runs after the suite.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { request } from '../support/http-client';
import { freePort } from '../support/ports';
import { RedisServer } from '../support/redis-server';
import { startEchoUpstream, type Upstream } from '../support/upstream';
import { waitFor } from '../support/wait';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');
/** Every published package: the workspaces under packages/. */
const PACKAGES = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces
  .filter((workspace) => workspace.startsWith('packages/'))
  .map((workspace) => workspace.slice('packages/'.length));

/** The code blocks of the README marked `<!-- consumer-test: NAME … -->`. */
function readmeTours(): Map<string, string> {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const tours = new Map<string, string>();
  for (const match of readme.matchAll(/<!-- consumer-test: (\w+)[^>]*-->\n```js\n([\s\S]*?)```/g)) {
    tours.set(match[1]!, match[2]!);
  }
  return tours;
}

/** `import { a } from 'p'` ⇄ `const { a } = require('p')`, the line-for-line conversion the README promises. */
function asCommonJs(code: string): string {
  return code
    .replace(/^import \{([^}]*)\} from '([^']+)';$/gm, "const {$1} = require('$2');")
    .replace(/^import (\w+) from '([^']+)';$/gm, "const $1 = require('$2');");
}
function asEsm(code: string): string {
  return code
    .replace(/^const \{([^}]*)\} = require\('([^']+)'\);$/gm, "import {$1} from '$2';")
    .replace(/^const (\w+) = require\('([^']+)'\);$/gm, "import $1 from '$2';");
}

describe('the packed packages, installed in a fresh project', () => {
  let project: string;
  let redis: RedisServer;
  let upstream: Upstream;
  const tours = readmeTours();

  before(async () => {
    project = mkdtempSync(join(tmpdir(), 'switchyard-consumer-'));
    const tarballs = join(project, 'tarballs');
    mkdirSync(tarballs);
    const packed = await run(
      'npm',
      ['pack', '--silent', '--pack-destination', tarballs, ...PACKAGES.flatMap((name) => ['-w', `packages/${name}`])],
      { cwd: root, timeout: 180_000 },
    );
    const files = packed.stdout
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.endsWith('.tgz'));
    assert.equal(files.length, PACKAGES.length, `npm pack made ${files.join(', ')}`);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--loglevel=error', ...files.map((file) => join(tarballs, file)), 'koa@^3', 'express@^5'],
      { cwd: project, timeout: 300_000 },
    );
    [redis, upstream] = await Promise.all([RedisServer.start(), startEchoUpstream('app')]);
  });

  after(async () => {
    await Promise.all([redis?.stop(), upstream?.close()]);
    if (project) rmSync(project, { recursive: true, force: true });
  });

  test('the README marks a Koa and an Express tour', () => {
    assert.deepEqual([...tours.keys()].sort(), ['express', 'koa']);
  });

  test('every package ships its README, LICENSE, and source maps that resolve', () => {
    for (const name of PACKAGES) {
      const dir = join(project, 'node_modules', '@switchyard', name);
      for (const file of ['README.md', 'LICENSE', 'package.json']) assert.ok(readFileSync(join(dir, file)).length > 0, `${name}/${file}`);
      const map = JSON.parse(readFileSync(join(dir, 'dist', 'index.js.map'), 'utf8')) as { sources: string[] };
      for (const source of map.sources) assert.ok(readFileSync(join(dir, 'dist', source)).length > 0, `${name}: ${source}`);
    }
  });

  for (const name of ['koa', 'express']) {
    for (const style of ['esm', 'cjs'] as const) {
      test(`the README's ${name} tour runs as ${style === 'esm' ? 'an ES module' : 'CommonJS'}`, async (t) => {
        const code = tours.get(name);
        assert.ok(code, `README tour ${name}`);
        const file = join(project, `${name}-tour.${style === 'esm' ? 'mjs' : 'cjs'}`);
        writeFileSync(file, style === 'esm' ? asEsm(code) : asCommonJs(code));
        const port = await freePort();
        const child = spawn(process.execPath, [file], {
          cwd: project,
          env: { PATH: process.env.PATH, PORT: String(port), SWITCHYARD_REDIS_URL: redis.url, SWITCHYARD_LOG_LEVEL: 'error' },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk;
        });
        t.after(() => {
          child.kill('SIGKILL');
        });
        const front = `http://127.0.0.1:${port}`;
        const switchyard = join(project, 'node_modules', '.bin', 'switchyard');
        const env = { ...process.env, SWITCHYARD_REDIS_URL: redis.url };

        await redis.cli.del('switchyard:maintenance:default');
        await redis.cli.set('switchyard:route:default', upstream.url); // the README's bare flip
        const answered = await waitFor(
          async () => {
            if (child.exitCode !== null) throw new Error(`the tour exited: ${stderr}`);
            const response = await request(`${front}/hello`);
            return response.status === 200 ? response : undefined;
          },
          { timeoutMs: 20_000, what: `the ${name} tour answering on ${front}` },
        );
        assert.equal(JSON.parse(answered?.body ?? '{}').url, '/hello');

        // The installed CLI puts the site in read-only maintenance: writes refused, reads served.
        await run(switchyard, ['maintenance', 'on', '--read-only', '--json'], { env, timeout: 30_000 });
        const write = await request(`${front}/items`, { method: 'POST', body: 'x', headers: { accept: 'application/json' } });
        assert.equal(write.status, 503, write.body);
        assert.equal(JSON.parse(write.body).error, 'maintenance');
        const read = await request(`${front}/items`);
        assert.equal(read.status, 200);
        await run(switchyard, ['maintenance', 'off', '--json'], { env, timeout: 30_000 });
        assert.equal(stderr, '');
      });
    }
  }
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../../../test/support/cli';
import { RedisServer } from '../../../test/support/redis-server';
import { COMMANDS } from '../src/index';
import { runMain } from './helpers/in-process';

describe('command line', () => {
  let redis: RedisServer;

  before(async () => {
    redis = await RedisServer.start();
  });

  after(async () => {
    await redis.stop();
  });

  test('--help works for every command, with usage and examples, exit 0', async () => {
    const overview = await runMain(['--help']);
    assert.equal(overview.code, 0);
    for (const spec of COMMANDS) {
      assert.match(overview.stdout, new RegExp(`\\n  ${spec.name} `));
      const help = await runMain([...spec.name.split(' '), '--help']);
      assert.equal(help.code, 0, spec.name);
      assert.match(help.stdout, new RegExp(`^Usage: switchyard ${spec.name}`));
      assert.match(help.stdout, /\nExamples:\n {2}switchyard /);
      assert.equal((await runMain(['help', ...spec.name.split(' ')])).stdout, help.stdout);
    }
    const group = await runMain(['maintenance', '--help']);
    assert.equal(group.code, 0);
    assert.match(group.stdout, /maintenance on/);
  });

  for (const [args, pattern] of [
    [[], /no command given/],
    [['frobnicate'], /unknown command "frobnicate"; run switchyard --help/],
    [['staus'], /unknown command "staus" \(did you mean switchyard status\?\)/],
    [['route', 'lsit'], /unknown command "route lsit" \(did you mean switchyard route list\?\)/],
    [['maintenace', 'on'], /unknown command "maintenace" \(did you mean switchyard maintenance\?\)/],
    [['maintenance', 'of'], /unknown command "maintenance of" \(did you mean switchyard maintenance off\?\)/],
    [['restroe'], /unknown command "restroe" \(did you mean switchyard restore\?\)/],
    [
      ['route', 'set', 'http://a', '--tiemout', '3s'],
      /unknown option --tiemout \(did you mean --timeout\?\); see switchyard route set --help/,
    ],
    [['maintenance', 'on', '--read-onyl'], /unknown option --read-onyl \(did you mean --read-only\?\)/],
    [['route'], /route needs a sub-command: set, get, list/],
    [['route', 'set'], /route set needs <url>/],
    [['route', 'set', 'foo'], /invalid route "foo": it has no scheme \(did you mean http:\/\/foo\?\); expected an absolute URL/],
    [['route', 'set', 'ftp://x'], /the scheme must be http or https/],
    [['route', 'set', 'http://a', 'http://b'], /unexpected argument "http:\/\/b"/],
    [['status', '--bogus'], /unknown option --bogus; see switchyard status --help/],
    [['route', 'set', 'http://a', '--timeout'], /option --timeout needs a value <duration>/],
    [['route', 'set', 'http://a', '--timeout', 'soon'], /invalid --timeout "soon": expected a duration/],
    [['maintenance', 'on', '--status', '200'], /invalid --status "200": expected a whole number from 400 to 599/],
    [['maintenance', 'on', '--allow-ip', '10.0.0.0/99'], /invalid IP or CIDR "10.0.0.0\/99"/],
    [['maintenance', 'on', '--retry-after', '5', '--until', '+5m'], /use --retry-after or --until, not both/],
    [['route', 'get', '--site', 'Bad Site'], /invalid site name "Bad Site"/],
    [['cutover'], /cutover needs --to <url>/],
    [['cutover', '--to', 'http://a', '--abort'], /use one of --to, --resume and --abort, not --to and --abort/],
    [['cutover', '--resume', '--full'], /--full does not go with --resume/],
    [['status', '--redis', 'mysql://x'], /unsupported store URL "mysql:\/\/x"/],
  ] as const) {
    test(`bad usage: switchyard ${args.join(' ')} → one line, exit 2`, async () => {
      const run = await runMain(args, { redis: redis.url });
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, /^switchyard: [^\n]+\n$/);
      assert.match(run.stderr, pattern);
    });
  }

  test('bad usage with --json also prints the error as JSON on stdout', async () => {
    const run = await runMain(['route', 'set', 'foo', '--json'], { redis: redis.url });
    assert.equal(run.code, 2);
    assert.deepEqual(Object.keys(run.json<{ error: object }>().error), ['code', 'message']);
    assert.equal(run.json<{ error: { code: string } }>().error.code, 'SWITCHYARD_ERR_INVALID_ROUTE');
  });

  test('--version prints the version of the package, exit 0', async () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const run = await runMain([flag]);
      assert.equal(run.code, 0);
      assert.equal(run.stdout, `${version}\n`);
    }
  });

  test('nothing is written when the arguments are bad', async () => {
    await runMain(['maintenance', 'on', '--status', '200'], { redis: redis.url });
    assert.equal(await redis.cli.get('switchyard:maintenance:default'), null);
    assert.equal(await redis.cli.exists('switchyard:history'), 0);
  });

  test('the binary: exit codes 0 and 2 from a real process, one line on stderr', async () => {
    const ok = await runCli(['route', 'list', '--json'], { SWITCHYARD_REDIS_URL: redis.url });
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { version: 0, sites: [] });
    const bad = await runCli(['route', 'set', 'not a url'], { SWITCHYARD_REDIS_URL: redis.url });
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
  });

  test('unreachable Redis: one line naming it, exit 1, quickly', async () => {
    const started = performance.now();
    const run = await runCli(['status'], { SWITCHYARD_REDIS_URL: 'redis://127.0.0.1:1' });
    const elapsed = performance.now() - started;
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(
      run.stderr,
      /^switchyard: cannot reach Redis at redis:\/\/127\.0\.0\.1:1 [^\n]*; check --redis or SWITCHYARD_REDIS_URL[^\n]*\n$/,
    );
    assert.ok(elapsed < 8000, `took ${Math.round(elapsed)} ms`);
  });

  test('--redis wins over SWITCHYARD_REDIS_URL, and a password is never printed', async () => {
    const run = await runMain(['status', '--redis', 'redis://:hunter2@127.0.0.1:1'], { redis: redis.url });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /redis:\/\/:\*\*\*@127\.0\.0\.1:1/);
    assert.doesNotMatch(run.stderr, /hunter2/);
  });

  test('a password with @ or / in it is never printed, wherever the URL comes from', async () => {
    const fromFlag = await runMain(['status', '--redis', 'redis://ops:p@ss/w0rd@127.0.0.1:1', '--json'], { redis: redis.url });
    assert.equal(fromFlag.code, 1);
    assert.match(fromFlag.stderr, /redis:\/\/ops:\*\*\*@127\.0\.0\.1:1/);
    const env = await runCli(['status'], { SWITCHYARD_REDIS_URL: 'redis://ops:p@ss/w0rd@127.0.0.1:1' });
    const routeWithCredentials = await runMain(['route', 'set', 'http://deploy:s3cr@t@10.0.0.1:3000'], { redis: redis.url });
    assert.equal(routeWithCredentials.code, 2);
    assert.match(routeWithCredentials.stderr, /credentials in the URL are not allowed/);
    await redis.cli.set('switchyard:route:leaky', 'http://deploy:s3cr@t@10.0.0.1:3000/ x');
    try {
      const status = await runMain(['status', '--json'], { redis: redis.url });
      assert.match(status.stdout, /switchyard:route:leaky holds an invalid value/);
      for (const output of [
        fromFlag.stdout,
        fromFlag.stderr,
        env.stdout,
        env.stderr,
        routeWithCredentials.stderr,
        status.stdout,
        status.stderr,
      ]) {
        assert.doesNotMatch(output, /p@ss|w0rd|s3cr/);
      }
    } finally {
      await redis.cli.del('switchyard:route:leaky');
    }
  });
});

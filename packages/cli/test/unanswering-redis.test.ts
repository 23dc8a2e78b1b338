import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCli } from '../../../test/support/cli';
import { RedisServer } from '../../../test/support/redis-server';
import { waitFor } from '../../../test/support/wait';
import { connectionsTo } from './helpers/connections';
import { runMain } from './helpers/in-process';

// A Redis that accepts connections but never answers (paused with SIGSTOP, like a hung host or a
// dead peer): every command has a deadline, and Ctrl-C works the first time.
describe('a Redis that accepts connections but never answers', () => {
  let redis: RedisServer;
  let env: Record<string, string>;

  before(async () => {
    redis = await RedisServer.start();
    env = { SWITCHYARD_REDIS_URL: redis.url };
    assert.equal((await runMain(['route', 'set', 'http://127.0.0.1:9', '--force'], { redis: redis.url })).code, 0);
  });

  after(async () => {
    redis.resume();
    await redis.stop();
  });

  test('status, route get, route set and maintenance on fail with exit 1 and one line within their deadline', async () => {
    redis.pause();
    try {
      const commands = [
        ['status', '--redis-timeout', '500ms'],
        ['route', 'get', '--redis-timeout', '500ms'],
        ['route', 'set', 'http://127.0.0.1:8', '--force', '--redis-timeout', '500ms'],
        ['maintenance', 'on', '--redis-timeout', '500ms'],
        ['status'], // the default deadline: a few seconds
      ];
      const started = performance.now();
      // Each ends after about twice its deadline (handshake, then the ready check) plus the 2 s ioredis
      // gives a socket to close; they run side by side on a loaded machine, so the bound is generous.
      const runs = await Promise.all(commands.map((args) => startCli(args, env, 45_000).exited));
      const elapsed = performance.now() - started;
      for (const [index, run] of runs.entries()) {
        const name = commands[index]?.join(' ');
        assert.equal(run.code, 1, `${name}: ${run.stderr}`);
        assert.equal(run.stdout, '', name);
        assert.match(run.stderr, /^switchyard: [^\n]*Redis[^\n]*\n$/, `${name}: one line naming Redis`);
      }
      assert.ok(elapsed < 45_000, `took ${Math.round(elapsed)} ms`);
    } finally {
      redis.resume();
    }
    const status = await runMain(['status', '--json'], { redis: redis.url });
    assert.equal(status.code, 0, status.stderr);
    assert.equal(await redis.cli.get('switchyard:route:default'), 'http://127.0.0.1:9', 'the timed-out route set wrote nothing');
    assert.equal(await redis.cli.get('switchyard:maintenance:default'), null, 'the timed-out maintenance on wrote nothing');
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`the first ${signal} ends a command stuck on Redis at once: exit 1, one line`, async () => {
      const connected = await connectionsTo(redis.port);
      redis.pause();
      try {
        const cli = startCli(['route', 'get', '--redis-timeout', '60s'], env, 30_000);
        // Its connection is accepted by the kernel, so it is now waiting for an answer.
        await waitFor(async () => (await connectionsTo(redis.port)) > connected, { what: 'the CLI to connect', timeoutMs: 20_000 });
        const sent = performance.now();
        cli.child.kill(signal);
        const exit = await cli.exited;
        const ms = performance.now() - sent;
        assert.equal(exit.code, 1, exit.stderr);
        assert.equal(exit.stderr, `switchyard: interrupted by ${signal}\n`);
        assert.ok(ms < 5000, `exited ${Math.round(ms)} ms after ${signal}`);
      } finally {
        redis.resume();
      }
    });
  }

  test('a bad --redis-timeout is a usage error', async () => {
    for (const value of ['soon', '0']) {
      const run = await runMain(['status', '--redis-timeout', value], { redis: redis.url });
      assert.equal(run.code, 2);
      assert.match(run.stderr, /^switchyard: invalid --redis-timeout "[^"]+": [^\n]+\n$/);
    }
  });
});

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { startCli } from '../../../test/support/cli';
import { request } from '../../../test/support/http-client';
import { RedisServer } from '../../../test/support/redis-server';
import type { TypeScriptProcess } from '../../../test/support/typescript-process';
import { waitFor } from '../../../test/support/wait';
import { type AppServer, startAppServer } from './helpers/app-server';
import { runMain } from './helpers/in-process';

function sample(text: string, name: string): number {
  const line = text.split('\n').find((entry) => entry.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}

describe('switchyard serve --metrics-port', () => {
  let redis: RedisServer;
  let oldApp: AppServer;
  let newApp: AppServer;
  let serve: TypeScriptProcess;
  let url: string;
  let metricsUrl: string;

  before(async () => {
    redis = await RedisServer.start();
    [oldApp, newApp] = await Promise.all([startAppServer('old'), startAppServer('new')]);
    await redis.cli.set('switchyard:route:shop', oldApp.url);
    serve = startCli(['serve', '--port', '0', '--host', '127.0.0.1', '--site', 'shop', '--metrics-port', '0', '--json'], {
      SWITCHYARD_REDIS_URL: redis.url,
    });
    await serve.waitForOutput(/"type":"listening"/, 30_000);
    const listening = JSON.parse(serve.stdout().split('\n')[0] as string) as { url: string; metrics: string };
    url = listening.url;
    metricsUrl = listening.metrics;
  });

  after(async () => {
    await serve?.stop('SIGKILL');
    await Promise.all([oldApp?.close(), newApp?.close()]);
    await redis?.stop();
  });

  test('a separate listener, /metrics only; the front end does not answer it', async () => {
    assert.match(metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    assert.notEqual(new URL(metricsUrl).port, new URL(url).port);
    const scrape = await request(metricsUrl);
    assert.equal(scrape.status, 200);
    assert.match(scrape.body, /^# HELP switchyard_requests_total/m);
    assert.match(scrape.body, /^process_cpu_seconds_total /m, 'process metrics too');
    assert.equal((await request(metricsUrl.replace('/metrics', '/other'))).status, 404);
    const proxied = await request(`${url}/metrics`);
    assert.equal(proxied.body, 'old GET /metrics', 'the front end forwards /metrics like any path');
  });

  test('scraped during a cutover under load: traffic leaves the old target for the new one', async () => {
    let running = true;
    const statuses: number[] = [];
    // Readers and writers apart, as on a real site: reads go on while maintenance holds the writes.
    const client = async (write: boolean) => {
      while (running) {
        const response = await request(`${url}/orders`, write ? { method: 'POST', body: 'x' } : {});
        statuses.push(response.status);
      }
    };
    const load = Promise.all([client(false), client(true)]);
    const scrapes: string[] = [];
    let cutoverDone = false;
    const scraping = (async () => {
      while (!cutoverDone) scrapes.push((await request(metricsUrl)).body);
    })();
    await waitFor(() => statuses.length >= 10, { what: 'traffic' });
    const cutover = await runMain(['cutover', '--site', 'shop', '--to', newApp.url, '--hold', '5000', '--sync', 'sleep 0.3', '--yes'], {
      redis: redis.url,
    });
    cutoverDone = true;
    await scraping;
    running = false;
    await load;
    // Scraped once the load has stopped: a write still in flight would be counted, rightly. The gauge
    // drops when the response closes on the server, which may come just after the client has read it.
    const final: string = await waitFor(
      async () => {
        const text = (await request(metricsUrl)).body;
        return sample(text, 'switchyard_in_flight_writes') === 0 ? text : '';
      },
      { what: 'no write in flight after the load stopped' },
    );
    assert.equal(cutover.code, 0, cutover.stderr);
    assert.ok(scrapes.length >= 3, `${scrapes.length} scrapes during the cutover`);
    assert.ok(!statuses.some((status) => status >= 500 && status !== 503), `no proxy failure: ${[...new Set(statuses)]}`);

    const old = `switchyard_requests_total{site="shop",target="${oldApp.url}",status_class="2xx"}`;
    const fresh = `switchyard_requests_total{site="shop",target="${newApp.url}",status_class="2xx"}`;
    // During the cutover the scrapes show maintenance holding writes, and the version moving.
    const versions = scrapes.map((text) => sample(text, 'switchyard_state_version'));
    assert.ok(Math.max(...versions) > Math.min(...versions), `versions seen: ${[...new Set(versions)]}`);
    const duringHold = scrapes.find((text) => sample(text, 'switchyard_held_requests') > 0);
    assert.ok(duringHold, 'a scrape saw a write held by maintenance');
    assert.ok(sample(final, old) > 0 && sample(final, fresh) > 0, 'both targets served');
    assert.ok(sample(final, 'switchyard_maintenance_requests_total{site="shop",outcome="held"}') >= 1);
    assert.ok(sample(final, 'switchyard_state_apply_seconds_count') >= 3, 'maintenance on, switch, maintenance off were timed');
    // For docs and reports: SWITCHYARD_METRICS_SAMPLE=/tmp/scrape.txt npm test -- packages/cli/test/serve-metrics.test.ts
    if (process.env.SWITCHYARD_METRICS_SAMPLE) {
      const afterSwitch = [...scrapes].reverse().find((text) => sample(text, fresh) > 0);
      writeFileSync(process.env.SWITCHYARD_METRICS_SAMPLE, `${duringHold}\n# ---- later in the same cutover ----\n${afterSwitch ?? ''}`);
    }
  });
});

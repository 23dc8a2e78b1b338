// Head-to-head: two fronts (or one front built from two checkouts) driven in alternating 1 s wrk
// rounds, reporting the median of the per-pair ratios of req/s and of CPU time per request. On a
// shared machine whose speed swings from minute to minute, a pair of adjacent rounds sees the same
// weather; this is how 3–5% differences were told apart from noise (bench/README.md).
//
//   npm run bench:ab -- serve cli                       # two modes of bench/servers/front.ts, or `cli`
//   npm run bench:ab -- cli /tmp/old:cli --pairs 21      # this checkout against another (built) one
//   npm run bench:ab -- express express-hpm --path /64k
//   npm run bench:ab -- door door+SWITCHYARD_LOG_LEVEL=debug
import { parseArgs } from 'node:util';
import { RedisServer } from '../test/support/redis-server';
import { median, percentile, wrk } from './lib/load';
import { cpuTimeMs, frontSpec, runMain, type Started, startServer, stopAll } from './lib/processes';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    pairs: { type: 'string', default: '15' },
    seconds: { type: 'string', default: '1' },
    connections: { type: 'string', default: '50' },
    path: { type: 'string', default: '/' },
  },
});

/** Starts a front named as frontSpec reads it, on the bench's Redis. */
async function start(spec: string, target: string, redisUrl: string): Promise<Started> {
  const { entry, args, env } = frontSpec(spec, target);
  return startServer(entry, args, { SWITCHYARD_REDIS_URL: redisUrl, ...env });
}

async function main(): Promise<void> {
  const [a, b] = positionals;
  if (!a || !b) throw new Error('usage: npm run bench:ab -- <a> <b> [--pairs 15] [--seconds 1] [--path /]');
  const redis = await RedisServer.start();
  try {
    const upstream = await startServer('bench/servers/upstream.ts', []);
    const target = `http://127.0.0.1:${upstream.port}`;
    await redis.cli.set('switchyard:route:default', target);
    const fronts = [await start(a, target, redis.url), await start(b, target, redis.url)];
    const options = { connections: Number(values.connections), durationS: Number(values.seconds) };
    const round = async (front: Started) => {
      const url = `http://127.0.0.1:${front.port}${values.path}`;
      const before = cpuTimeMs(front.child.pid!);
      const result = await wrk.measure(url, options);
      return { rps: result.rps, p99: result.p99, cpuUs: ((cpuTimeMs(front.child.pid!) - before) * 1000) / result.requests };
    };
    for (const front of fronts) await round(front); // warm-up
    const rps: number[] = [];
    const cpu: number[] = [];
    const p99 = [[], []] as [number[], number[]];
    for (let pair = 0; pair < Number(values.pairs); pair++) {
      // Alternate who goes first, so neither always runs right after the other.
      let first: Awaited<ReturnType<typeof round>>;
      let other: Awaited<ReturnType<typeof round>>;
      if (pair % 2 === 0) {
        first = await round(fronts[0]!);
        other = await round(fronts[1]!);
      } else {
        other = await round(fronts[1]!);
        first = await round(fronts[0]!);
      }
      p99[0].push(first.p99);
      p99[1].push(other.p99);
      rps.push(other.rps / first.rps);
      cpu.push(other.cpuUs / first.cpuUs);
      process.stdout.write(
        `pair ${pair + 1}: ${a} ${Math.round(first.rps)} req/s ${first.cpuUs.toFixed(0)} µs · ${b} ${Math.round(other.rps)} req/s ${other.cpuUs.toFixed(0)} µs\n`,
      );
    }
    process.stdout.write(
      `${b} / ${a}: req/s ${median(rps).toFixed(3)}x, CPU per request ${median(cpu).toFixed(3)}x (medians of ${rps.length} pairs); p99 ${median(p99[0]).toFixed(2)} ms (${a}), ${median(p99[1]).toFixed(2)} ms (${b})\n`,
    );
    // How far the verdict stands out from the weather: a median inside the middle half of the pairs'
    // ratios, or a split near even, says nothing (an A/A run of one build read 16% on a noisy host).
    const spread = (list: number[]) => `${percentile(list, 25).toFixed(3)}–${percentile(list, 75).toFixed(3)}`;
    process.stdout.write(
      `  spread: req/s ratios ${spread(rps)} (middle half), ${b} ahead in ${rps.filter((r) => r > 1).length} of ${rps.length} pairs; CPU ratios ${spread(cpu)}, ${b} cheaper in ${cpu.filter((r) => r < 1).length} of ${cpu.length}\n`,
    );
  } finally {
    await stopAll();
    await redis.stop();
  }
}

runMain(main);

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisServer } from '../../test/support/redis-server';
import type { LoadGenerator } from './load';
import { buildServers, residentMemory, serverPath, startServer, stop, track } from './processes';

/** The memory part of the report: goal rows and Markdown lines. */
export interface MemoryReport {
  readonly goals: { goal: string; measured: string; met: boolean | undefined }[];
  readonly lines: string[];
}

const MB = 2 ** 20;
const GB = 2 ** 30;
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

/** Streams `size` bytes to the front's /sink (the upstream counts them); resolves with the count the upstream saw. */
function upload(port: number, size: number): Promise<number> {
  const chunk = Buffer.alloc(256 * 1024, 'u');
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/sink', method: 'POST', headers: { 'content-length': String(size) } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (text: string) => {
        body += text;
      });
      res.on('end', () => resolve(Number(body)));
    });
    req.on('error', reject);
    let sent = 0;
    const write = () => {
      while (sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    write();
  });
}

/** Downloads `size` bytes through the front and discards them; resolves with the count received. */
function download(port: number, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: `/bytes/${size}` }, (res) => {
      let received = 0;
      res.on('data', (data: Buffer) => {
        received += data.length;
      });
      res.on('end', () => resolve(received));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function runSites(url: string): Promise<{ sites: number; startMs: number; resyncMs: number; heapUsed: number; rss: number }> {
  return new Promise((resolve, reject) => {
    buildServers();
    const child = spawn(process.execPath, ['--expose-gc', join(__dirname, '..', '..', serverPath('bench/servers/sites.ts')), url], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    track(child);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      out += text;
    });
    child.once('exit', (code) => {
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1) ?? ''));
      } catch {
        reject(new Error(`sites.ts exited with ${code} without a result`));
      }
    });
  });
}

/**
 * The memory goals of issue 9, in order: random Host headers under sites-by-host, a 1 GB upload and
 * download, 10 000 sites in Redis; the first two against the `switchyard serve` CLI.
 */
export async function measureMemory(
  redis: RedisServer,
  load: LoadGenerator,
  options: { quick: boolean; hostSeconds?: number; log: (line: string) => void },
): Promise<MemoryReport> {
  const goals: MemoryReport['goals'] = [];
  const lines: string[] = [];
  const upstream = await startServer('bench/servers/upstream.ts', []);
  const target = `http://127.0.0.1:${upstream.port}`;
  // The product as operators run it: the `switchyard serve` CLI, plain node on the built packages.
  await redis.cli.set('switchyard:route:default', target);
  const serve = (...args: string[]) =>
    startServer('packages/cli/bin/switchyard.js', ['serve', '--port', '0', '--host', '127.0.0.1', '--json', ...args], {
      SWITCHYARD_REDIS_URL: redis.url,
    });

  // 1. Random Host headers: the Host → site cache must stay bounded.
  if (load.name === 'wrk') {
    const front = await serve('--sites-by-host', '--fallback-site', 'default');
    const script = join(mkdtempSync(join(tmpdir(), 'switchyard-bench-')), 'random-host.lua');
    writeFileSync(
      script,
      [
        'local n = 0',
        'request = function()',
        '  n = n + 1',
        '  return wrk.format(nil, nil, { Host = "h" .. math.random(1, 2147483647) .. "-" .. n .. ".example" })',
        'end',
      ].join('\n'),
    );
    await load.measure(`http://127.0.0.1:${front.port}/`, { connections: 50, durationS: 2 });
    const before = residentMemory(front.child.pid!)!;
    // Rounds of wrk until the issue's million requests (or the time cap) are reached.
    const wanted = options.quick ? 20_000 : 1_000_000;
    const capS = options.hostSeconds ?? (options.quick ? 2 : 180);
    const started = Date.now();
    let requests = 0;
    while (requests < wanted && (Date.now() - started) / 1000 < capS) {
      const seconds = options.quick ? 2 : 15;
      const measured = await load.measure(`http://127.0.0.1:${front.port}/`, { connections: 50, durationS: seconds, script });
      requests += Math.round(measured.rps * seconds);
    }
    const seconds = Math.round((Date.now() - started) / 1000);
    const after = residentMemory(front.child.pid!)!;
    const growth = after.rss - before.rss;
    options.log(`random hosts: ${requests} requests, RSS ${mb(before.rss)} → ${mb(after.rss)}`);
    goals.push({
      goal: 'random Host headers under sites-by-host: RSS growth < 50 MB (issue: over 1 000 000 requests)',
      measured: `+${mb(growth)} over ${requests.toLocaleString('en-US')} requests with distinct Host headers`,
      met: requests >= 1_000_000 ? growth < 50 * MB : undefined,
    });
    lines.push(
      `- Random Host headers (\`switchyard serve --sites-by-host --fallback-site default\`): ${requests.toLocaleString('en-US')} requests, each with a new Host, in ${seconds} s; RSS ${mb(before.rss)} before, ${mb(after.rss)} after (+${mb(growth)}).`,
    );
    await stop(front.child);
  } else {
    lines.push('- Random Host headers: needs wrk (a Lua script makes the headers); skipped.');
  }

  // 2. A 1 GB upload and a 1 GB download: streaming keeps memory flat.
  {
    const size = options.quick ? 64 * MB : GB;
    const front = await serve();
    await download(front.port, MB);
    const base = residentMemory(front.child.pid!)!;
    const t0 = Date.now();
    const uploaded = await upload(front.port, size);
    const t1 = Date.now();
    const peakUp = residentMemory(front.child.pid!)!.peak;
    const downloaded = await download(front.port, size);
    const t2 = Date.now();
    const peak = residentMemory(front.child.pid!)!.peak;
    options.log(`1 GB: up ${uploaded}, down ${downloaded}, peak RSS ${mb(peak)}`);
    goals.push({
      goal: `a ${size / MB} MB upload and download: peak RSS < 150 MB`,
      measured: `peak RSS ${mb(peak)} (before ${mb(base.rss)}); ${uploaded === size && downloaded === size ? 'every byte arrived' : `**${uploaded} up / ${downloaded} down of ${size}**`}`,
      met: peak < 150 * MB && uploaded === size && downloaded === size,
    });
    lines.push(
      `- ${size / MB} MB up through \`switchyard serve\` in ${((t1 - t0) / 1000).toFixed(1)} s, ${size / MB} MB down in ${((t2 - t1) / 1000).toFixed(1)} s; the front's peak RSS (VmHWM) ${mb(peak)} (${mb(peakUp)} after the upload), RSS before ${mb(base.rss)}.`,
    );
    await stop(front.child);
  }
  await stop(upstream.child);

  // 3. 10 000 sites in Redis: memory per site and full-resync time.
  {
    const count = options.quick ? 1000 : 10_000;
    const empty = await runSites(redis.url);
    const pipeline = redis.cli.pipeline();
    for (let i = 0; i < count; i += 1)
      pipeline.set(`switchyard:route:bench-site-${i}`, `http://10.0.${Math.floor(i / 250)}.${i % 250}:8080`);
    await pipeline.exec();
    const full = await runSites(redis.url);
    const perSite = (full.heapUsed - empty.heapUsed) / count;
    options.log(`${count} sites: start ${full.startMs.toFixed(0)} ms, resync ${full.resyncMs.toFixed(0)} ms, ${perSite.toFixed(0)} B/site`);
    lines.push(
      `- ${count.toLocaleString('en-US')} sites in Redis: a front end starts (first full read) in ${full.startMs.toFixed(0)} ms (${empty.startMs.toFixed(0)} ms with ${empty.sites} sites), a full read of the store (what a full resync does) takes ${full.resyncMs.toFixed(0)} ms; it keeps about ${(perSite / 1024).toFixed(1)} KB of heap per site (heap after a collection ${mb(full.heapUsed)} vs ${mb(empty.heapUsed)}; RSS ${mb(full.rss)} vs ${mb(empty.rss)}).`,
    );
    goals.push({
      goal: `${count.toLocaleString('en-US')} sites in Redis: memory per site and full-resync time reported`,
      measured: `${(perSite / 1024).toFixed(1)} KB heap per site; full resync ${full.resyncMs.toFixed(0)} ms`,
      met: undefined,
    });
    const keys = await redis.cli.keys('switchyard:route:bench-site-*');
    for (let i = 0; i < keys.length; i += 1000) await redis.cli.del(...keys.slice(i, i + 1000));
  }
  return { goals, lines };
}

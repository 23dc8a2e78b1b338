import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports';
import { waitFor } from './wait';

/** A real Redis Sentinel (redis-server --sentinel) watching one master, for failover tests. */
export class RedisSentinel {
  readonly port: number;
  readonly masterName = 'mymaster';
  private readonly child: ChildProcess;
  private readonly dir: string;
  private readonly client: Redis;

  private constructor(port: number, child: ChildProcess, dir: string) {
    this.port = port;
    this.child = child;
    this.dir = dir;
    this.client = new Redis({ host: '127.0.0.1', port, protocol: 2 });
    this.client.on('error', () => undefined);
  }

  /** Starts a sentinel monitoring the master on `masterPort`, and waits until it knows `replicas` replicas. */
  static async start(masterPort: number, replicas: number): Promise<RedisSentinel> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-sentinel-'));
    const config = join(dir, 'sentinel.conf');
    writeFileSync(
      config,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor mymaster 127.0.0.1 ${masterPort} 1`,
        'sentinel down-after-milliseconds mymaster 1000',
        'sentinel failover-timeout mymaster 10000',
        '',
      ].join('\n'),
    );
    const child = spawn('redis-server', [config, '--sentinel'], { stdio: 'ignore' });
    const sentinel = new RedisSentinel(port, child, dir);
    // A replica can be promoted only once the sentinel sees it healthy and in sync with the master.
    await waitFor(
      async () => {
        const known = (await sentinel.client.call('SENTINEL', 'REPLICAS', 'mymaster')) as string[][];
        const healthy = known.filter((fields) => {
          const info = new Map<string, string>();
          for (let index = 0; index + 1 < fields.length; index += 2) info.set(fields[index]!, fields[index + 1]!);
          return info.get('flags') === 'slave' && info.get('master-link-status') === 'ok';
        });
        return healthy.length >= replicas;
      },
      { timeoutMs: 15_000, what: 'sentinel to discover the replicas' },
    );
    return sentinel;
  }

  /** The port of the master as the sentinel sees it now. */
  async masterPort(): Promise<number> {
    const [, port] = (await this.client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName)) as [string, string];
    return Number(port);
  }

  /** Forces a failover to a replica (no quorum needed) and waits until the sentinel names the new master. */
  async failover(): Promise<number> {
    const before = await this.masterPort();
    // NOGOODSLAVE: the sentinel has not re-checked the replica lately; it will within a second.
    await waitFor(async () => (await this.client.call('SENTINEL', 'FAILOVER', this.masterName)) === 'OK', {
      timeoutMs: 15_000,
      intervalMs: 200,
      what: 'the sentinel to accept the failover',
    });
    return waitFor(
      async () => {
        const port = await this.masterPort();
        return port !== before ? port : 0;
      },
      { timeoutMs: 20_000, what: 'failover' },
    );
  }

  async stop(): Promise<void> {
    this.client.disconnect();
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

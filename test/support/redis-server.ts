import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { freePort } from './ports';

/** Every redis-server still running, killed when the test process exits (a failed test may have skipped its clean-up). */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A real redis-server started for one test file, on a free loopback port, that tests may kill and restart. */
export class RedisServer {
  readonly port: number;
  private readonly extraArgs: readonly string[];
  private child: ChildProcess | undefined;
  private client: Redis | undefined;

  private constructor(port: number, extraArgs: readonly string[]) {
    this.port = port;
    this.extraArgs = extraArgs;
  }

  /**
   * Starts redis-server on a free port (with extra arguments, e.g. `--replicaof`) and waits until it
   * accepts commands. A port found free can be taken by another test file before redis-server binds
   * it, so a start that fails with "Address already in use" is retried on new ports; arguments that
   * name ports of their own (`--tls-port`) are passed as a function, called again for each attempt.
   */
  static async start(extraArgs: readonly string[] | (() => Promise<readonly string[]>) = []): Promise<RedisServer> {
    for (let attempt = 1; ; attempt += 1) {
      const server = new RedisServer(await freePort(), typeof extraArgs === 'function' ? await extraArgs() : extraArgs);
      try {
        await server.restart();
        return server;
      } catch (error) {
        if (attempt >= 5 || !/Address already in use/.test((error as Error).message)) throw error;
      }
    }
  }

  /** `redis://127.0.0.1:<port>` */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** A plain client, as an operator's `redis-cli` would be; closed by stop(). */
  get cli(): Redis {
    if (!this.client) {
      this.client = new Redis({ port: this.port, host: '127.0.0.1', protocol: 2, retryStrategy: () => 100 });
      // Tests kill and restart the server on purpose; the client reconnects by itself.
      this.client.on('error', () => undefined);
    }
    return this.client;
  }

  /** (Re)starts the server on the same port, with nothing persisted. */
  async restart(): Promise<void> {
    if (this.child) throw new Error('redis-server is already running');
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'no',
        '--dir',
        tmpdir(),
        ...this.extraArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    running.add(child);
    child.once('exit', () => running.delete(child));
    let output = '';
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          child.stdout?.off('data', onData);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
    });
    await Promise.race([
      ready,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), 10_000).unref()),
    ]);
    child.stdout?.resume();
    child.stderr?.resume();
  }

  /** Kills the server abruptly (SIGKILL), as a crash or a network cut would look to clients. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Freezes the server (SIGSTOP): connections stay open but nothing is answered, as with a hung host. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Lets a paused server run again (SIGCONT). */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Stops the server and the helper client. */
  async stop(): Promise<void> {
    this.client?.disconnect();
    this.client = undefined;
    await this.kill();
  }
}

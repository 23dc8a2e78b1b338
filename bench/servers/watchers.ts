// Flip propagation at scale: starts N front ends in this process, each with its own Redis connections
// exactly as a front end has (ioredis's command connection, the watch connection, heartbeat), then
// times bare `SET`s of the route from a separate plain client until every front end applied it.
//   node … bench/servers/watchers.ts <redis-url> <count> <flips> [switchyard|ioredis|bare]
// `bare` starts N bare watchers instead: one raw socket each, tracking in-band (RESP3) as on a front
// end's watch connection, but no client code, no validation, no heartbeat; on each invalidation one
// MGET written by hand. It is the floor of this layout (one event loop, one watching socket per
// front end) on this machine, measured in the same run as the front ends. `ioredis` is the same loop
// on two ioredis connections, as the store opened them before its watch connection: what the
// client library cost on this path.
// Prints one JSON line: { startupMs, flips: [[ms per front end], …], missed }.
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createFrontEnd, keyLayout, silentLogger } from '@switchyard/core';
import Redis from 'ioredis';

const [url = '', countArg = '1', flipsArg = '10', kind = 'switchyard'] = process.argv.slice(2);
const count = Number(countArg);
const flips = Number(flipsArg);
const DEADLINE_MS = 5000;
// Flips before the measured ones, not counted: the watchers' read path is compiled by V8 only after
// it has run a few thousand times, as with the throughput rounds' warm-up second.
const WARM_UP_FLIPS = 20;
const ROUTE_KEY = keyLayout().route('default');

/** Something that applies the route: calls `listener` with each route target it applied. */
interface Watched {
  listen(listener: (target: string) => void): () => void;
  close(): Promise<void>;
}

async function switchyardFront(): Promise<Watched> {
  const front = await createFrontEnd({ store: url, logger: silentLogger });
  return {
    listen(listener) {
      const onChange = (site: string, state: { route?: { target: string } } | undefined) => {
        if (site === 'default' && state?.route) listener(state.route.target);
      };
      front.watcher.on('change', onChange);
      return () => front.watcher.off('change', onChange);
    },
    close: () => front.close(),
  };
}

/** One RESP command, as Redis reads it. */
function resp(...words: string[]): string {
  return `*${words.length}\r\n${words.map((word) => `$${Buffer.byteLength(word)}\r\n${word}\r\n`).join('')}`;
}

/** A plain TCP connection to the Redis of `url`, without Nagle's delay (as ioredis sets it). */
function openSocket(): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.setNoDelay(true);
    socket.once('error', reject);
  });
}

/** Sends one command and resolves with the next data received: set-up only, where each reply is small and arrives whole. */
function ask(socket: Socket, command: string): Promise<string> {
  return new Promise((resolve) => {
    socket.once('data', (data: Buffer) => resolve(data.toString('latin1')));
    socket.write(command);
  });
}

/**
 * One whole RESP value of the few shapes the bare watcher receives (arrays, pushes, bulk and simple
 * strings, integers, nulls) at `at` in `text`: its first element if it is an array or push (the
 * route of an MGET reply; 'invalidate' of a push), and where it ends. Undefined while incomplete.
 */
function valueAt(text: string, at: number): { type: string; first: string; end: number } | undefined {
  const lineEnd = text.indexOf('\r\n', at);
  if (lineEnd < 0) return undefined;
  const type = text[at] ?? '';
  const head = text.slice(at + 1, lineEnd);
  if (type === '$') {
    const size = Number(head);
    if (size < 0) return { type, first: '', end: lineEnd + 2 };
    if (text.length < lineEnd + 2 + size + 2) return undefined;
    return { type, first: text.slice(lineEnd + 2, lineEnd + 2 + size), end: lineEnd + 2 + size + 2 };
  }
  if (type !== '*' && type !== '>') return { type, first: '', end: lineEnd + 2 };
  let end = lineEnd + 2;
  let first = '';
  for (let index = 0; index < Number(head); index++) {
    const item = valueAt(text, end);
    if (!item) return undefined;
    if (index === 0) first = item.first;
    end = item.end;
  }
  return { type, first, end };
}

/**
 * What both bare kinds share: invalidations arriving together make one `read` on the next turn, as
 * the watcher coalesces them, and each value read goes to the flip's listener.
 */
function bareLoop(read: () => void, close: () => void): { invalidated: () => void; deliver: (value: string) => void; watched: Watched } {
  let listener: ((target: string) => void) | undefined;
  let scheduled = false;
  return {
    invalidated() {
      if (scheduled) return;
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        read();
      });
    },
    deliver: (value) => listener?.(value),
    watched: {
      listen(next) {
        listener = next;
        return () => {
          listener = undefined;
        };
      },
      async close() {
        close();
      },
    },
  };
}

async function bareWatcher(): Promise<Watched> {
  const keys = keyLayout();
  const socket = await openSocket();
  await ask(socket, resp('HELLO', '3'));
  const prefixes = keys.watchedPrefixes.flatMap((prefix) => ['PREFIX', prefix]);
  await ask(socket, resp('CLIENT', 'TRACKING', 'on', 'BCAST', ...prefixes));
  const read = resp('MGET', ROUTE_KEY, keys.version);
  const loop = bareLoop(
    () => socket.write(read),
    () => socket.destroy(),
  );
  let pending = '';
  socket.on('data', (data: Buffer) => {
    pending += data.toString('latin1');
    for (let value = valueAt(pending, 0); value; value = valueAt(pending, 0)) {
      pending = pending.slice(value.end);
      if (value.type === '>') loop.invalidated();
      else loop.deliver(value.first);
    }
  });
  return loop.watched;
}

/** The bare watcher's loop on ioredis connections opened as the Redis store opens them (RESP2). */
async function ioredisWatcher(): Promise<Watched> {
  const keys = keyLayout();
  const command = new Redis(url, { protocol: 2 });
  const subscriber = new Redis(url, { protocol: 2 });
  const id = String(await subscriber.client('ID'));
  await subscriber.subscribe('__redis__:invalidate');
  const prefixes = keys.watchedPrefixes.flatMap((prefix) => ['PREFIX', prefix]);
  await command.call('CLIENT', 'TRACKING', 'on', 'REDIRECT', id, 'BCAST', ...prefixes);
  const loop = bareLoop(
    () => void command.mget(ROUTE_KEY, keys.version).then((values) => loop.deliver(values[0] ?? '')),
    () => {
      command.disconnect();
      subscriber.disconnect();
    },
  );
  subscriber.on('messageBuffer', loop.invalidated);
  return loop.watched;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const fronts: Watched[] = [];
  const start = kind === 'bare' ? bareWatcher : kind === 'ioredis' ? ioredisWatcher : switchyardFront;
  // In batches, so 500 front ends do not open 1000 connections in one burst.
  for (let i = 0; i < count; i += 50) {
    const batch = Math.min(50, count - i);
    fronts.push(...(await Promise.all(Array.from({ length: batch }, () => start()))));
  }
  const startupMs = performance.now() - t0;
  const cli = new Redis(url, { protocol: 2 });
  await cli.ping();
  // The parent counts Redis's connections now, while every front end is connected.
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  await new Promise((resolve) => process.stdin.once('data', resolve));
  const results: number[][] = [];
  let missed = 0;
  for (let flip = -WARM_UP_FLIPS; flip < flips; flip += 1) {
    const target = `http://127.0.0.1:${20_000 + (flip % 40_000)}/${Date.now()}`;
    const times: number[] = [];
    let sentAt = 0;
    const applied = fronts.map(
      (front) =>
        new Promise<void>((resolve) => {
          const stop = front.listen((seen) => {
            if (seen !== target) return;
            times.push(performance.now() - sentAt);
            stop();
            resolve();
          });
        }),
    );
    sentAt = performance.now();
    await cli.set(ROUTE_KEY, target);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(applied), new Promise((resolve) => (timer = setTimeout(resolve, DEADLINE_MS)))]);
    clearTimeout(timer);
    if (flip >= 0) {
      missed += count - times.length;
      results.push(times);
    }
    // A short gap, so flips do not coalesce into one read.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  cli.disconnect();
  await Promise.all(fronts.map((front) => front.close()));
  // Exits once the line is written: a pipe takes 64 KB at a time, and exit() would drop the rest.
  process.stdout.write(`${JSON.stringify({ startupMs, flips: results, missed })}\n`, () => process.exit(0));
}

void main();

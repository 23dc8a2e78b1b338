import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { RedisServer } from '../../../test/support/redis-server';
import { waitFor } from '../../../test/support/wait';
import { encodeCommand, INCOMPLETE, RespDecoder, RespError, RespPush, type RespValue } from '../src/resp';
import { RespConnection } from '../src/resp-connection';

/** Every value the decoder yields for `bytes`, fed in pieces of `size` bytes. */
function decodeInPieces(bytes: Buffer, size: number): (RespValue | RespPush)[] {
  const decoder = new RespDecoder();
  const values: (RespValue | RespPush)[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    decoder.push(bytes.subarray(at, at + size));
    for (let value = decoder.next(); value !== INCOMPLETE; value = decoder.next()) values.push(value);
  }
  return values;
}

describe('RESP decoder', () => {
  // One of each type Redis 7 can send, as RESP2 and RESP3 write them.
  const wire = Buffer.from(
    [
      '+OK',
      '-WRONGTYPE Operation against a key',
      ':42',
      '$5',
      'hello',
      '$-1',
      '*-1',
      '*3',
      '$1',
      'a',
      '$-1',
      '*1',
      ':7',
      '_',
      '#t',
      ',3.5',
      '(12345678901234567890',
      '=8',
      'txt:some',
      '%1',
      '+proto',
      ':3',
      '~2',
      '+x',
      '+y',
      '>2',
      '$10',
      'invalidate',
      '*1',
      '$20',
      'switchyard:route:a.b',
      '>2',
      '$10',
      'invalidate',
      '_',
      '|1',
      '+ttl',
      ':3',
      '$2',
      'ok',
      '!9',
      'ERR inner',
      '$4',
      'a\r\nb',
      '',
    ].join('\r\n'),
  );
  const expected = [
    'OK',
    new RespError('WRONGTYPE Operation against a key'),
    42,
    'hello',
    null,
    null,
    ['a', null, [7]],
    null,
    true,
    3.5,
    '12345678901234567890',
    'some',
    ['proto', 3],
    ['x', 'y'],
    new RespPush(['invalidate', ['switchyard:route:a.b']]),
    new RespPush(['invalidate', null]),
    'ok',
    new RespError('ERR inner'),
    'a\r\nb',
  ];

  test('decodes every type, whole and split at every byte', () => {
    for (const size of [wire.length, 1, 2, 3, 7]) {
      const values = decodeInPieces(wire, size);
      assert.deepEqual(values, expected, `in pieces of ${size}`);
      const error = values[1] as RespError;
      assert.equal(error.prefix, 'WRONGTYPE');
    }
  });

  test('UTF-8 bulk strings are sized in bytes', () => {
    const text = 'sité-ü';
    const bytes = Buffer.from(`$${Buffer.byteLength(text)}\r\n${text}\r\n`);
    assert.deepEqual(decodeInPieces(bytes, 1), [text]);
  });

  test('bytes that are not RESP are refused', () => {
    const decoder = new RespDecoder();
    decoder.push(Buffer.from('HTTP/1.1 400 Bad Request\r\n'));
    assert.throws(() => decoder.next(), /not a RESP reply/);
  });

  test('commands are arrays of bulk strings sized in bytes', () => {
    assert.equal(encodeCommand(['SET', 'k', 'é']), '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n');
  });
});

async function listen(onSocket: (socket: Socket) => void): Promise<Server> {
  const server = createServer(onSocket);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

function connectTo(server: Server) {
  return () => ({ socket: connect((server.address() as AddressInfo).port, '127.0.0.1'), ready: 'connect' as const });
}

describe('RESP connection', () => {
  test('against Redis: logs in with HELLO 3, reads, and receives tracking pushes in-band', async (t) => {
    const redis = await RedisServer.start();
    t.after(() => redis.stop());
    await redis.cli.call('ACL', 'SETUSER', 'watcher', 'on', '>pw', '~*', '+@read', '+client|tracking');
    await redis.cli.set('k', 'v1');
    const connection = await RespConnection.open({
      connect: () => ({ socket: connect(redis.port, '127.0.0.1'), ready: 'connect' }),
      username: 'watcher',
      password: 'pw',
      connectTimeoutMs: 2000,
      commandTimeoutMs: 2000,
    });
    t.after(() => connection.close());
    assert.equal(connection.protocol, 3);
    assert.deepEqual(await connection.call(['MGET', 'k', 'missing']), ['v1', null]);
    await assert.rejects(connection.call(['SET', 'k', 'v2']), (error: RespError) => error.prefix === 'NOPERM');
    assert.equal(await connection.call(['CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'k']), 'OK');
    const pushed = once(connection, 'push');
    await redis.cli.set('k', 'v2');
    assert.deepEqual((await pushed)[0], ['invalidate', ['k']]);
  });

  test('a server that accepts and never answers: open() fails at connectTimeoutMs', async (t) => {
    const silent = await listen(() => undefined);
    t.after(() => silent.close());
    const started = performance.now();
    await assert.rejects(
      RespConnection.open({ connect: connectTo(silent), connectTimeoutMs: 200, commandTimeoutMs: 5000 }),
      /connect timed out after 200 ms/,
    );
    assert.ok(performance.now() - started < 2000);
  });

  test('a server that stops answering: the waiting command fails at commandTimeoutMs and the connection closes', async (t) => {
    // Answers the log-in, then nothing.
    const sockets: Socket[] = [];
    const server = await listen((socket) => {
      sockets.push(socket);
      socket.once('data', () => socket.write('%1\r\n+proto\r\n:3\r\n'));
    });
    t.after(() => {
      for (const socket of sockets) socket.destroy();
      server.close();
    });
    const connection = await RespConnection.open({ connect: connectTo(server), connectTimeoutMs: 2000, commandTimeoutMs: 200 });
    const closed = once(connection, 'close');
    await assert.rejects(connection.call(['MGET', 'k']), /Command timed out/);
    assert.match(((await closed)[0] as Error).message, /Command timed out/);
    await assert.rejects(connection.call(['MGET', 'k']), /Command timed out/, 'later calls fail at once');
  });

  test('replies that are not RESP close the connection and fail the waiting command', async (t) => {
    const server = await listen((socket) => {
      socket.once('data', () => {
        socket.write('%1\r\n+proto\r\n:3\r\n');
        socket.once('data', () => socket.write('HTTP/1.1 400 Bad Request\r\n\r\n'));
      });
    });
    t.after(() => server.close());
    const connection = await RespConnection.open({ connect: connectTo(server), connectTimeoutMs: 2000, commandTimeoutMs: 2000 });
    await assert.rejects(connection.call(['MGET', 'k']), /not a RESP reply/);
  });

  test('any other refusal of HELLO 3 fails the log-in (max clients, a wrong password): not taken for RESP2', async (t) => {
    for (const refusal of ['-ERR max number of clients reached', '-WRONGPASS invalid username-password pair or user is disabled.']) {
      const seen: string[] = [];
      let hungUp = false;
      const server = await listen((socket) => {
        socket.on('data', (data: Buffer) => {
          seen.push(data.toString().split('\r\n')[2] ?? '');
          socket.write(`${refusal}\r\n`);
        });
        socket.on('close', () => (hungUp = true));
      });
      t.after(() => server.close());
      await assert.rejects(
        RespConnection.open({ connect: connectTo(server), password: 'pw', connectTimeoutMs: 2000, commandTimeoutMs: 2000 }),
        (error: RespError) => error instanceof RespError && error.message === refusal.slice(1),
      );
      assert.deepEqual(seen, ['HELLO'], 'no AUTH after the refusal');
      await waitFor(() => hungUp, { what: 'the refused connection closed by the client' });
    }
  });

  test('where HELLO 3 is refused, it logs in with AUTH and speaks RESP2', async (t) => {
    const seen: string[] = [];
    const server = await listen((socket) => {
      socket.on('data', (data: Buffer) => {
        const text = data.toString();
        seen.push(text.split('\r\n')[2] ?? '');
        socket.write(text.includes('HELLO') ? '-ERR unknown command HELLO\r\n' : '+OK\r\n');
      });
    });
    t.after(() => server.close());
    const connection = await RespConnection.open({
      connect: connectTo(server),
      password: 'pw',
      db: 2,
      connectTimeoutMs: 2000,
      commandTimeoutMs: 2000,
    });
    t.after(() => connection.close());
    assert.equal(connection.protocol, 2);
    assert.deepEqual(seen, ['HELLO', 'AUTH', 'SELECT']);
  });
});

// startServer(): keyfork inside the test's own process, driven by ioredis and node-redis,
// as a project would use it instead of a Docker Redis.
import Redis from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/index';

describe('startServer (embedded)', () => {
  let running: RunningServer;
  beforeAll(async () => {
    running = await startServer({ port: 0 });
  });
  afterAll(async () => {
    await running?.close();
  });

  it('binds a free port and serves ioredis', async () => {
    expect(running.port).toBeGreaterThan(0);
    const client = new Redis({ port: running.port, host: '127.0.0.1', lazyConnect: true });
    await client.connect();
    expect(await client.set('greeting', 'hello')).toBe('OK');
    expect(await client.get('greeting')).toBe('hello');
    client.disconnect();
  });

  it('serves node-redis (HELLO 3)', async () => {
    const client = createClient({ socket: { port: running.port, host: '127.0.0.1' }, RESP: 3 });
    await client.connect();
    expect(await client.get('greeting')).toBe('hello');
    await client.quit();
  });

  it('refuses a second server in the same process', async () => {
    await expect(startServer({ port: 0 })).rejects.toThrow(/already running/);
  });
});

// Real users' scripting code, unchanged, against keyfork: redlock (acquire, extend, release,
// contention between two clients, expiry) and rate-limiter-flexible (consume, penalty, reward,
// block, get, delete) over ioredis and node-redis. Every scenario also runs against
// redis-server, and both servers must tell the same story.
import Redis from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { createClient } from 'redis';
import Redlock from 'redlock';
import { expect, it } from 'vitest';
import { describeDifferential, type BothServers, useBothServers } from '../helpers/diff';

let servers: BothServers;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `scenario` against keyfork and redis-server; both must produce the same outcomes. */
async function bothTell<T>(scenario: (port: number) => Promise<T>): Promise<T> {
  const [k, r] = await Promise.all([scenario(servers.keyfork.port), scenario(servers.redis.port)]);
  expect(k).toEqual(r);
  return k;
}

/** What a promise came to: its value, or its error's class and message. */
async function outcome<T>(p: Promise<T>): Promise<string> {
  try {
    return `ok ${JSON.stringify(await p)}`;
  } catch (err) {
    return `error ${(err as Error).name}: ${(err as Error).message}`;
  }
}

describeDifferential('redlock and rate-limiter-flexible against keyfork (and redis-server)', () => {
  useBothServers((s) => (servers = s));

  it('redlock: acquire, contention between two clients, extend, release, expiry', async () => {
    const story = await bothTell(async (port) => {
      const a = new Redis(port, '127.0.0.1');
      const b = new Redis(port, '127.0.0.1');
      const steps: string[] = [];
      try {
        await a.flushall();
        await a.script('FLUSH');
        const lockerA = new Redlock([a], { retryCount: 0 });
        const lockerB = new Redlock([b], { retryCount: 3, retryDelay: 50, retryJitter: 0 });
        const lock = await lockerA.lock('locks:order', 2000);
        steps.push(`A holds ${lock.resource}`, `stored value matches: ${(await a.get('locks:order')) === lock.value}`);
        steps.push(`B while A holds: ${(await outcome(lockerB.lock('locks:order', 2000))).replace(/\d+ attempts/, 'N attempts')}`);
        const extended = await lock.extend(5000);
        const ttl = await a.pttl('locks:order');
        steps.push(`extended: ${extended.value === lock.value}, ttl above 2s: ${ttl > 2000}`);
        await extended.unlock();
        steps.push(`after unlock: ${await a.exists('locks:order')}`);
        const lockB = await lockerB.lock('locks:order', 300);
        steps.push(`B after release: ${lockB.value !== lock.value}`);
        steps.push(`A's stale unlock: ${await outcome(extended.unlock())}`);
        steps.push(`A while B holds: ${await outcome(lockerA.lock('locks:order', 1000))}`);
        await sleep(500);
        const again = await lockerA.lock('locks:order', 1000);
        steps.push(`A after B's lock expired: ${again.value !== lockB.value}`);
        const multi = await lockerA.lock(['locks:x', 'locks:y'], 1000);
        steps.push(`two resources: ${await a.exists('locks:x', 'locks:y')}`);
        await multi.unlock();
        steps.push(`released both: ${await a.exists('locks:x', 'locks:y')}`);
        return steps;
      } finally {
        a.disconnect();
        b.disconnect();
      }
    });
    expect(story).toContain('B after release: true');
  });

  it('rate-limiter-flexible over ioredis: consume, penalty, reward, block, get, delete', async () => {
    const story = await bothTell(async (port) => {
      const client = new Redis(port, '127.0.0.1', { enableOfflineQueue: false });
      await new Promise((r) => client.once('ready', r));
      const steps: string[] = [];
      const summary = (res: { remainingPoints: number; consumedPoints: number; isFirstInDuration: boolean; msBeforeNext: number }) =>
        `remaining=${res.remainingPoints} consumed=${res.consumedPoints} first=${res.isFirstInDuration} msBeforeNext>0=${res.msBeforeNext > 0}`;
      try {
        await client.flushall();
        await client.script('FLUSH');
        const limiter = new RateLimiterRedis({ storeClient: client, keyPrefix: 'rl', points: 3, duration: 10 });
        for (let i = 0; i < 4; i++) {
          try {
            steps.push(`consume ${i}: ${summary(await limiter.consume('user:1'))}`);
          } catch (rejected) {
            steps.push(`consume ${i} rejected: ${summary(rejected as never)}`);
          }
        }
        steps.push(`penalty: ${summary(await limiter.penalty('user:2', 2))}`);
        steps.push(`reward: ${summary(await limiter.reward('user:2', 1))}`);
        steps.push(`consume 2 points: ${summary(await limiter.consume('user:2', 2))}`);
        steps.push(`block: ${summary(await limiter.block('user:3', 5))}`);
        try {
          await limiter.consume('user:3');
          steps.push('blocked user consumed');
        } catch (rejected) {
          steps.push(`blocked user rejected: ${summary(rejected as never)}`);
        }
        const got = await limiter.get('user:1');
        steps.push(`get: ${got ? summary(got) : 'null'}`);
        steps.push(`delete: ${await limiter.delete('user:1')}, then get: ${await limiter.get('user:1')}`);
        const blocking = new RateLimiterRedis({ storeClient: client, keyPrefix: 'rlb', points: 1, duration: 10, blockDuration: 20 });
        await limiter.consume('warmup').catch(() => undefined);
        await blocking.consume('ip');
        try {
          await blocking.consume('ip');
        } catch (rejected) {
          steps.push(`blockDuration applied: ${(rejected as { msBeforeNext: number }).msBeforeNext > 10_000}`);
        }
        steps.push(`ttl set by the script: ${(await client.pttl('rlb:ip')) > 10_000}`);
        return steps;
      } finally {
        client.disconnect();
      }
    });
    expect(story.some((s) => s.startsWith('consume 3 rejected'))).toBe(true);
  });

  it('rate-limiter-flexible over node-redis', async () => {
    await bothTell(async (port) => {
      const client = createClient({ socket: { host: '127.0.0.1', port } });
      await client.connect();
      const steps: string[] = [];
      try {
        await client.flushAll();
        const limiter = new RateLimiterRedis({ storeClient: client, useRedisPackage: true, keyPrefix: 'nr', points: 2, duration: 5 });
        for (let i = 0; i < 3; i++) {
          try {
            const res = await limiter.consume('k');
            steps.push(`consume ${i}: remaining=${res.remainingPoints}`);
          } catch (rejected) {
            steps.push(`consume ${i} rejected: remaining=${(rejected as { remainingPoints: number }).remainingPoints}`);
          }
        }
        return steps;
      } finally {
        await client.quit();
      }
    });
  });
});

// AOF interop with a real redis-server 7.0, both ways and for both base formats: a dataset of
// every type and encoding (and TTLs, several databases, function libraries, scripts' effects)
// written through one server's AOF
// (a rewritten base, then an incremental file) is accepted by redis-check-aof and loads into
// the other server with the same DEBUG DIGEST.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { RawConnection, type Arg } from '../helpers/resp';
import { startKeyfork, startRedis, type RunningServer } from '../helpers/servers';
import { aofDir, copyDir, MANIFEST } from './aof-support';
import { infoSection, text, waitFor } from './persistence-support';

const running: RunningServer[] = [];
afterAll(async () => {
  await Promise.all(running.map((s) => s.stop('SIGKILL')));
});

const range = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

/** Every type in its encodings (streams with a group, HLL, geo), TTLs, three databases, a function library and script writes. */
function dataset(round: string): Arg[][] {
  const far = String(Date.now() + 3_600_000);
  return [
    ['SELECT', '0'],
    ['SET', `int:${round}`, '12345'], ['SET', `neg:${round}`, '-9007199254740993'], ['SET', `short:${round}`, 'hello'],
    ['SET', `long:${round}`, 'x'.repeat(300)], ['SET', `bin:${round}`, Buffer.from([0, 1, 2, 255, 13, 10])],
    ['SET', `float:${round}`, '1.5'], ['INCRBYFLOAT', `float:${round}`, '0.1'], ['APPEND', `short:${round}`, ' world'],
    ['RPUSH', `list:${round}`, 'a', 'b', '1', '2'], ['RPUSH', `biglist:${round}`, ...range(300, (i) => `item-${i}`)],
    ['SADD', `intset:${round}`, '1', '2', '3', '-7'], ['SADD', `set:${round}`, ...range(200, (i) => `m${i}`)],
    ['ZADD', `zset:${round}`, '1', 'a', '2.5', 'b', '-3', 'c'],
    ['ZADD', `bigzset:${round}`, ...range(200, (i) => [String(i / 7), `z${i}`]).flat(), 'inf', 'top', '-inf', 'bottom'],
    ['HSET', `hash:${round}`, 'f1', 'v1', 'f2', '2'], ['HSET', `bighash:${round}`, ...range(150, (i) => [`f${i}`, 'v'.repeat(i % 90)]).flat()],
    ['HINCRBYFLOAT', `hash:${round}`, 'f2', '0.25'],
    ...range(150, (i) => ['XADD', `stream:${round}`, `${i + 1}-${i % 2}`, 'f', `v${i}`, ...(i % 3 ? [] : ['n', String(i)])]),
    ['XDEL', `stream:${round}`, '2-1'], ['XGROUP', 'CREATE', `stream:${round}`, 'g', '0'],
    ['XREADGROUP', 'GROUP', 'g', 'alice', 'COUNT', '3', 'STREAMS', `stream:${round}`, '>'], ['XGROUP', 'CREATECONSUMER', `stream:${round}`, 'g', 'bob'],
    ['XADD', `emptystream:${round}`, '5-5', 'f', 'v'], ['XDEL', `emptystream:${round}`, '5-5'],
    ['PFADD', `hll:${round}`, ...range(50, (i) => `e${i}`)], ['GEOADD', `geo:${round}`, '13.361389', '38.115556', 'Palermo'],
    ['SET', `ttl:${round}`, 'v', 'PX', '3600000'], ['PEXPIREAT', `list:${round}`, far], ['EXPIRE', `hash:${round}`, '5000'],
    ['SELECT', '3'], ['SET', `db3:${round}`, 'three'], ['LPUSH', `db3list:${round}`, 'x'],
    ['SELECT', '15'], ['ZADD', `db15:${round}`, '1', 'one'], ['SELECT', '0'],
    ['FUNCTION', 'LOAD', `#!lua name=lib_${round}\nredis.register_function('f_${round}', function(keys, args) return redis.call('INCR', keys[1]) end)`],
    ['FCALL', `f_${round}`, '1', `fcount:${round}`],
    ['EVAL', "redis.call('SET', KEYS[1], 'e', 'EX', '1000') redis.call('RPUSH', KEYS[2], 'x')", '2', `ev:${round}`, `evl:${round}`],
  ];
}

async function run(conn: RawConnection, commands: Arg[][]): Promise<void> {
  for (const c of commands) await conn.send(...c);
}

/** FUNCTION LIST WITHCODE, in an order that does not depend on the server's dict. */
async function libraries(conn: RawConnection): Promise<string[]> {
  const list = (await conn.send('FUNCTION', 'LIST', 'WITHCODE')) as { v: unknown[] };
  return list.v.map((lib) => JSON.stringify(lib)).sort();
}

async function rewrite(conn: RawConnection): Promise<void> {
  await conn.send('BGREWRITEAOF');
  await waitFor(async () => (await infoSection(conn)).get('aof_rewrite_in_progress') === '0', 'the rewrite');
}

type Start = (opts: { args: string[]; dir?: string }) => Promise<RunningServer>;
const servers: Record<'keyfork' | 'redis', Start> = { keyfork: startKeyfork, redis: startRedis };

describeDifferential('AOF interop with redis-server 7.0', () => {
  for (const preamble of ['yes', 'no']) {
    for (const [from, to] of [['keyfork', 'redis'], ['redis', 'keyfork']] as const) {
      it(`${from} writes (aof-use-rdb-preamble ${preamble}), redis-check-aof accepts, ${to} loads the same dataset`, async () => {
        const args = ['--appendonly', 'yes', '--aof-use-rdb-preamble', preamble, '--enable-debug-command', 'yes'];
        const writer = await servers[from]({ args });
        running.push(writer);
        const c = await RawConnection.connect(writer.port);
        await run(c, dataset('base'));
        await rewrite(c);
        await run(c, dataset('incr'));
        await run(c, [['SPOP', 'intset:base'], ['LPOP', 'biglist:base', '3'], ['ZPOPMIN', 'bigzset:base'], ['DEL', 'long:base'], ['SET', 'k', 'v', 'EX', '1000']]);
        const expected = text(await c.send('DEBUG', 'DIGEST'));
        const expectedLibraries = await libraries(c);
        expect(expectedLibraries).toHaveLength(2);
        c.close();
        await writer.stop();
        const check = spawnSync('redis-check-aof', [path.join(aofDir(writer), MANIFEST)], { encoding: 'utf8' });
        expect(check.status, check.stdout + check.stderr).toBe(0);
        expect(check.stdout).toMatch(/All AOF files and manifest are valid/);
        const reader = await servers[to]({ args, dir: copyDir(writer.dir) });
        running.push(reader);
        const r = await RawConnection.connect(reader.port);
        expect(text(await r.send('DEBUG', 'DIGEST'))).toBe(expected);
        expect(await libraries(r)).toEqual(expectedLibraries);
        r.close();
      });
    }
  }
});

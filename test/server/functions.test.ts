// FUNCTION libraries and FCALL, differentially against the real redis-server 7.0 (replies byte
// for byte, dirty counters too), and their life in the RDB file both ways: a keyfork save
// holds its libraries for redis-server, a redis-server save loads its libraries into keyfork.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { compareSequences, describeDifferential, expectSameRepliesAndCounters, formatMismatches, replyKey, type BothServers, useBothServers } from '../helpers/diff';
import { formatReply, RawConnection, type Arg, type Reply } from '../helpers/resp';
import { startKeyfork, startRedis, type RunningServer } from '../helpers/servers';

let servers: BothServers;

/**
 * FUNCTION LIST with each library's functions in a fixed order: Redis lists them in the order of
 * a dict hashed with a per-process random seed, so only the set of functions is comparable.
 */
function sortFunctions(command: Arg[], reply: Reply): Reply {
  const isList = command.length > 1 && command[0].toString().toLowerCase() === 'function' && command[1].toString().toLowerCase() === 'list';
  if (!isList || reply.t !== 'array' || !reply.v) return reply;
  const byKey = (a: Reply, b: Reply) => (replyKey(a) < replyKey(b) ? -1 : replyKey(a) > replyKey(b) ? 1 : 0);
  return {
    t: 'array',
    v: reply.v.map((libraryMap) => {
      if (libraryMap.t !== 'array' || !libraryMap.v) return libraryMap;
      const fields = [...libraryMap.v];
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const value = fields[i + 1];
        if (replyKey(fields[i]) === replyKey({ t: 'bulk', v: Buffer.from('functions') }) && value.t === 'array' && value.v) {
          fields[i + 1] = { t: 'array', v: [...value.v].sort(byKey) };
        }
      }
      return { t: 'array', v: fields };
    }),
  };
}

const lib = (name: string, body: string) => `#!lua name=${name}\n${body}`;
const KV = lib('kv', [
  'redis.register_function("kv_get", function(keys, args) return redis.call("get", keys[1]) end)',
  'redis.register_function{function_name="kv_set", callback=function(keys, args) return redis.call("set", keys[1], args[1]) end, description="sets a key"}',
  'redis.register_function{function_name="kv_ro", callback=function(keys) return redis.call("get", keys[1]) end, flags={"no-writes"}}',
  'redis.register_function{function_name="kv_bad_ro", callback=function(keys) return redis.call("set", keys[1], "x") end, flags={"no-writes"}}',
  'redis.register_function("kv_info", function(keys, args) return {#keys, #args, type(redis.register_function), type(redis.breakpoint), type(redis.replicate_commands), type(string), redis.call("ping")} end)',
  'redis.register_function("kv_err", function() return nosuch_global end)',
  'redis.register_function("kv_call_err", function() return redis.call("nosuch") end)',
].join('\n'));

describeDifferential('FUNCTION and FCALL vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s));

  const check = async (commands: Arg[][], unordered?: Set<string>) => {
    const mismatches = await compareSequences([['FUNCTION', 'FLUSH'], ['FLUSHALL'], ...commands], { servers, unordered, normalize: sortFunctions });
    expect(formatMismatches(mismatches)).toBe('');
  };

  it('loads libraries and runs their functions', async () => {
    await check([
      ['FUNCTION', 'LOAD', KV], ['FUNCTION', 'LOAD', KV], ['FUNCTION', 'LOAD', 'REPLACE', KV], ['FUNCTION', 'LOAD', 'replace', 'x', KV],
      ['FCALL', 'kv_set', '1', 'k', 'v'], ['FCALL', 'kv_get', '1', 'k'], ['FCALL', 'KV_GET', '1', 'k'], ['FCALL_RO', 'kv_ro', '1', 'k'],
      ['FCALL_RO', 'kv_get', '1', 'k'], ['FCALL', 'kv_bad_ro', '1', 'k'], ['FCALL_RO', 'kv_set', '1', 'k', 'v'], ['FCALL', 'kv_info', '2', 'a', 'b', 'c'],
      ['FCALL', 'kv_err', '0'], ['FCALL', 'kv_call_err', '0'], ['FCALL', 'nosuch', '0'], ['FCALL', 'kv_get', 'x'], ['FCALL', 'kv_get', '5'],
      ['FCALL', 'kv_get', '-1'], ['FCALL', 'nosuch', 'x'], ['FCALL', 'kv_get'], ['FCALL'],
      ['FUNCTION', 'LIST'], ['FUNCTION', 'LIST', 'WITHCODE'], ['FUNCTION', 'LIST', 'LIBRARYNAME', 'k*'], ['FUNCTION', 'LIST', 'LIBRARYNAME', 'x*'],
      ['FUNCTION', 'LIST', 'LIBRARYNAME'], ['FUNCTION', 'LIST', 'bad'], ['FUNCTION', 'LIST', 'WITHCODE', 'WITHCODE'], ['FUNCTION', 'STATS'],
      ['FUNCTION', 'DELETE', 'kv'], ['FUNCTION', 'DELETE', 'kv'], ['FCALL', 'kv_get', '1', 'k'], ['FUNCTION', 'LIST'],
    ]);
  });

  it('refuses bad libraries with Redis errors', async () => {
    await check([
      ...[
        lib('t1', 'local x = string.len("a") redis.register_function("f", function() return 1 end)'),
        lib('t2', 'redis.call("ping")'), lib('t3', 'x = 5'), lib('t4', 'return tostring(1)'), lib('t5', ''),
        lib('t6', 'redis.register_function("a-b", function() return 1 end)'),
        lib('t7', 'redis.register_function("f", function() end) redis.register_function("f", function() end)'),
        lib('t8', 'redis.register_function{function_name="x", callback=function() end, flags={"bad"}}'),
        lib('t9', 'redis.register_function{function_name="x", callback=function() end, extra=1}'),
        lib('t10', 'redis.register_function()'), lib('t11', 'redis.register_function(1, 2)'),
        lib('t12', 'redis.register_function{callback=function() end}'), lib('t13', 'redis.register_function{function_name="x"}'),
        lib('t14', 'redis.register_function{function_name=function() end}'), lib('t15', 'redis.register_function("x")'),
        lib('t16', 'redis.register_function("x", function() end, 3)'), lib('t17', 'redis.register_function({1, 2})'),
        lib('t18', 'redis.register_function{function_name="x", callback=function() end, description=5}'),
        lib('t19', 'redis.register_function{function_name="x", callback=function() end, flags="no-writes"}'),
        lib('t20', 'redis.register_function{function_name="x", callback=function() end, flags={"NO-WRITES", "allow-oom"}}'),
        lib('t-21', 'redis.register_function("x", function() end)'), lib('', 'redis.register_function("x", function() end)'),
        lib('t22', 'redis.register_function("x", function() end'), lib('t23', 'error("at load")'), lib('t24', 'error({err="TABLE err"})'),
        lib('t25', 'redis.log(redis.LOG_NOTICE, "loading t25") redis.register_function("t25f", function() return redis.REDIS_VERSION end)'),
        lib('t26', 'local t = {} t.x = 1 redis.register_function("t26f", function() return _G.nothing end)'),
        '#!lua\nredis.register_function("x", function() end)', '#!lua name=a name=b\n', '#!lua foo=bar\n', '#!js name=t\n', 'no shebang',
        '#!lua name=nolf', '#!lua name="quoted lib"\nredis.register_function("q", function() end)', '#!LUA name=upper\nredis.register_function("up", function() end)',
      ].map((code): Arg[] => ['FUNCTION', 'LOAD', code]),
      ['FUNCTION', 'LOAD'], ['FUNCTION', 'LOAD', 'REPLACE'], ['FUNCTION', 'LOAD', 'foo', 'bar'], ['FCALL', 't25f', '0'], ['FCALL', 't26f', '0'],
      ['FUNCTION', 'LOAD', lib('clash', 'redis.register_function("up", function() end)')], ['FUNCTION', 'LIST', 'LIBRARYNAME', 't2*'],
    ], new Set(['function|list']));
  });

  it('dumps and restores libraries', async () => {
    const one = lib('one', 'redis.register_function("one_f", function() return 1 end)');
    const two = lib('two', 'redis.register_function("two_f", function() return 2 end)');
    const long = lib('long', `redis.register_function("long_f", function() return "${'x'.repeat(300)}" end)`);
    await check([
      ['FUNCTION', 'DUMP'], ['FUNCTION', 'LOAD', one], ['FUNCTION', 'DUMP'], ['FUNCTION', 'FLUSH'], ['FUNCTION', 'LOAD', long], ['FUNCTION', 'DUMP'],
      ['FUNCTION', 'FLUSH', 'ASYNC'], ['FUNCTION', 'FLUSH', 'SYNC'], ['FUNCTION', 'FLUSH', 'x'], ['FUNCTION', 'FLUSH', 'a', 'b'],
      ['FUNCTION', 'RESTORE', 'x'], ['FUNCTION', 'RESTORE', 'x', 'bad'], ['FUNCTION', 'RESTORE', 'x', 'y', 'z'], ['FUNCTION', 'RESTORE'],
    ]);
    // A payload from redis-server restores into keyfork and the other way round.
    const conn = await Promise.all([RawConnection.connect(servers.keyfork.port), RawConnection.connect(servers.redis.port)]);
    try {
      for (const c of conn) {
        await c.send('FUNCTION', 'FLUSH');
        await c.send('FUNCTION', 'LOAD', one);
      }
      const dumps = await Promise.all(conn.map((c) => c.send('FUNCTION', 'DUMP')));
      expect(dumps[0]).toEqual(dumps[1]);
      const payload = dumps[1].t === 'bulk' ? dumps[1].v! : Buffer.alloc(0);
      const corrupt = Buffer.from(payload);
      corrupt[corrupt.length - 1] ^= 0xff;
      const notFunction = Buffer.concat([Buffer.from([0x00]), payload]);
      const sequence: Arg[][] = [
        ['FUNCTION', 'RESTORE', payload], ['FUNCTION', 'RESTORE', payload, 'APPEND'], ['FUNCTION', 'RESTORE', payload, 'REPLACE'],
        ['FCALL', 'one_f', '0'], ['FUNCTION', 'LOAD', two], ['FUNCTION', 'RESTORE', payload, 'FLUSH'], ['FCALL', 'two_f', '0'],
        ['FUNCTION', 'RESTORE', corrupt], ['FUNCTION', 'RESTORE', notFunction], ['FUNCTION', 'RESTORE', payload.subarray(0, 5)],
        ['FUNCTION', 'LIST'],
      ];
      const mismatches = await compareSequences(sequence, { servers, normalize: sortFunctions });
      expect(formatMismatches(mismatches)).toBe('');
    } finally {
      conn.forEach((c) => c.close());
    }
  });

  it('counts FUNCTION changes as dirty as Redis does', async () => {
    const one = lib('one', 'redis.register_function("one_f", function(keys) return redis.call("set", keys[1], "1") end)');
    await expectSameRepliesAndCounters(servers, [
      ['FUNCTION', 'LOAD', one], ['FUNCTION', 'LOAD', one], ['FCALL', 'one_f', '1', 'k'], ['FUNCTION', 'DELETE', 'one'], ['FUNCTION', 'DELETE', 'one'],
      ['FUNCTION', 'LOAD', one], ['FUNCTION', 'FLUSH'], ['FUNCTION', 'FLUSH'],
      ['EVAL', 'redis.call("set", "a", "1") redis.call("set", "b", "2") return redis.call("get", "a")', '0'], ['EVAL', 'return 1', '0'],
    ]);
  });

  it('stops a library that loops at load time', async () => {
    await check([['FUNCTION', 'LOAD', lib('loop', 'while true do end')], ['FUNCTION', 'LIST']]);
  });
});

const running: RunningServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-functions-'));
  dirs.push(d);
  return d;
}

describeDifferential('function libraries in the RDB file', () => {
  const code = lib('rdblib', 'redis.register_function("rdb_f", function(keys) return redis.call("get", keys[1]) end)');

  it('a keyfork save holds its libraries for redis-server, and the reverse', async () => {
    for (const [writer, reader] of [[startKeyfork, startRedis], [startRedis, startKeyfork]] as const) {
      const dir = tempDir();
      const first = await writer({ dir, args: ['--save', ''] });
      running.push(first);
      const a = await RawConnection.connect(first.port);
      expect((await a.send('FUNCTION', 'LOAD', code)).t).toBe('bulk');
      await a.send('SET', 'k', 'v');
      expect(await a.send('SAVE')).toEqual({ t: 'simple', v: 'OK' });
      a.close();
      await first.stop();
      running.splice(running.indexOf(first), 1);
      const second = await reader({ dir, args: ['--save', ''] });
      running.push(second);
      const b = await RawConnection.connect(second.port);
      expect(await b.send('FCALL', 'rdb_f', '1', 'k')).toEqual({ t: 'bulk', v: Buffer.from('v') });
      const list = await b.send('FUNCTION', 'LIST', 'WITHCODE');
      expect(formatReply(list)).toContain('rdblib');
      b.close();
    }
  });

  it('DEBUG RELOAD keeps libraries (flushed and loaded back)', async () => {
    const dir = tempDir();
    const k = await startKeyfork({ dir, args: ['--save', '', '--enable-debug-command', 'yes'] });
    running.push(k);
    const c = await RawConnection.connect(k.port);
    await c.send('FUNCTION', 'LOAD', code);
    await c.send('SET', 'k', 'v');
    expect(await c.send('DEBUG', 'RELOAD')).toEqual({ t: 'simple', v: 'OK' });
    expect(await c.send('FCALL', 'rdb_f', '1', 'k')).toEqual({ t: 'bulk', v: Buffer.from('v') });
    c.close();
  });
});

// Scripts on a stale replica (allow-stale), XREAD BLOCK and SORT BY <constant> from scripts,
// blocked clients while a busy script lets other commands in, and a writable replica's own keys
// with a TTL expiring actively (Redis 7.0's expireSlaveKeys), against the real redis-server.
// Found by Redis 7.0.15's tests/unit/scripting.tcl, functions.tcl and expire.tcl.
import { expect, it } from 'vitest';
import { describeDifferential, sameOnBoth, useBothServers, withConns, type BothServers } from '../helpers/diff';
import { untilBlocked } from '../helpers/blocking';
import { replyText, until } from '../helpers/info';
import { formatReply, RawConnection } from '../helpers/resp';
import { startKeyfork, startRedis, type RunningServer } from '../helpers/servers';

let servers: BothServers;

const LIBRARY = `#!lua name=stale
redis.register_function{function_name='f1', callback=function() return 'hello' end, flags={'no-writes'}}
redis.register_function{function_name='f2', callback=function() return 'hello' end, flags={'allow-stale', 'no-writes'}}
redis.register_function{function_name='f3', callback=function() return redis.call('get', 'x') end, flags={'allow-stale', 'no-writes'}}
redis.register_function{function_name='f4', callback=function() return redis.call('echo', 'hi') end, flags={'allow-stale', 'no-writes'}}`;

describeDifferential('scripts on a stale replica, and in scripts XREAD BLOCK and SORT BY <constant>', () => {
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] } });

  it('refuses scripts without allow-stale and their calls of non-stale commands as Redis', async () => {
    const log = await sameOnBoth(servers, (port) => withConns(port, 1, async ([r]) => {
      const log: string[] = [];
      await r.send('FUNCTION', 'LOAD', 'REPLACE', LIBRARY);
      await r.send('CONFIG', 'RESETSTAT');
      await r.send('CONFIG', 'SET', 'replica-serve-stale-data', 'no');
      await r.send('REPLICAOF', '127.0.0.1', '1');
      try {
        for (const cmd of [
          ['EVAL', "return redis.call('get','x')", '1', 'x'],
          ['EVAL', '#!lua flags=no-writes\nreturn 1', '0'],
          ['EVAL', '#!lua flags=allow-stale,no-writes\nreturn 1', '0'],
          ['EVAL', "#!lua flags=allow-stale,no-writes\nreturn redis.call('get','x')", '1', 'x'],
          ['EVAL', "#!lua flags=allow-stale,no-writes\nreturn redis.call('echo','foobar')", '0'],
          ['FCALL', 'f1', '0'], ['FCALL', 'f2', '0'], ['FCALL', 'f3', '0'], ['FCALL', 'f4', '0'],
        ]) log.push(formatReply(await r.send(...cmd)));
      } finally {
        await r.send('REPLICAOF', 'NO', 'ONE');
        await r.send('CONFIG', 'SET', 'replica-serve-stale-data', 'yes');
      }
      const stats = replyText(await r.send('INFO', 'commandstats'));
      // Redis lists commandstats in its table's order: compared sorted.
      log.push(...stats.split('\r\n').filter((l) => /^cmdstat_(eval|fcall|get|echo):/.test(l)).map((l) => l.replace(/usec=\d+,usec_per_call=[\d.]+,/, '')).sort());
      await r.send('FUNCTION', 'DELETE', 'stale');
      return log;
    }));
    expect(log[0]).toContain('MASTERDOWN');
    expect(log[3]).toContain('Can not execute the command on a stale replica');
  });

  it('XREAD and XREADGROUP refuse BLOCK from scripts; SORT BY a constant sorts a set there', async () => {
    const log = await sameOnBoth(servers, (port) => withConns(port, 1, async ([r]) => {
      await r.send('FLUSHALL');
      await r.send('XGROUP', 'CREATE', 's', 'g', '$', 'MKSTREAM');
      await r.send('SADD', 'myset', ...'a b c d e f g h i l m n o p q r s t u v z aa aaa azz'.split(' '));
      const out: string[] = [];
      for (const script of [
        "return redis.pcall('xread','STREAMS','s','$')",
        "return redis.pcall('xread','BLOCK',0,'STREAMS','s','$')",
        "return redis.pcall('XREADGROUP','group','g','c','BLOCK',0,'STREAMS','s','>')",
        "return redis.call('sort',KEYS[1],'by','_')",
        "return redis.call('sort',KEYS[1],'by','_','get','#','get','_:*')",
      ]) out.push(formatReply(await r.send('EVAL', script, '1', script.includes('sort') ? 'myset' : 's')));
      return out;
    }));
    expect(log[1]).toContain('xread command is not allowed with BLOCK option from scripts');
    expect(log[3].split('\n')[0].trim()).toBe('1) "a"');
  });

  it('a command let in while a script is busy does not serve blocked clients before the script ends', async () => {
    const log = await sameOnBoth(servers, (port) => withConns(port, 4, async ([r, rd, rd2, r3]) => {
      const log: string[] = [];
      await r.send('FLUSHALL');
      const popped = rd2.send('BLPOP', 'x', '0');
      await untilBlocked(r, 1);
      await r.send('DEBUG', 'SET-DISABLE-DENY-SCRIPTS', '1');
      await r.send('CONFIG', 'SET', 'busy-reply-threshold', '10');
      try {
        const script = rd.send('EVAL', `redis.call('lpush',KEYS[1],'y')
          local clients
          while true do
            clients = redis.call('client','list')
            if string.find(clients, 'abortscript') ~= nil then break end
          end
          redis.call('lpush',KEYS[1],'z')
          return 'done'`, '1', 'x');
        expect(await until(async () => formatReply(await r.send('PING')).startsWith('(error) BUSY'), 5000, 20)).toBe(true);
        // HELLO runs while the script is busy (CMD_ALLOW_BUSY); its name ends the script's loop.
        const hello = await r3.send('HELLO', '2', 'SETNAME', 'abortscript');
        log.push(`HELLO ${hello.t}`);
        log.push(formatReply(await popped));
        log.push(formatReply(await script));
      } finally {
        await r.send('CONFIG', 'SET', 'busy-reply-threshold', '5000');
        await r.send('DEBUG', 'SET-DISABLE-DENY-SCRIPTS', '0');
      }
      return log;
    }));
    expect(log[1]).toBe('1) "x"\n2) "z"');
  });
});

describeDifferential('a writable replica expires the keys its clients gave a TTL', () => {
  /** A master and its replica of one kind; `body` gets the replica once in sync. */
  async function onPair(start: (args: string[]) => Promise<RunningServer>, body: (replica: RawConnection) => Promise<string[]>): Promise<string[]> {
    const master = await start([]);
    let replica: RunningServer | null = null;
    let conn: RawConnection | null = null;
    try {
      replica = await start(['--replicaof', '127.0.0.1', String(master.port), '--replica-read-only', 'no']);
      conn = await RawConnection.connect(replica.port);
      const c = conn;
      expect(await until(async () => replyText(await c.send('INFO', 'replication')).includes('master_link_status:up'), 10_000, 50)).toBe(true);
      return await body(conn);
    } finally {
      conn?.close();
      await replica?.stop();
      await master.stop();
    }
  }

  const expiredKeys = async (c: RawConnection) => Number(/expired_keys:(\d+)/.exec(replyText(await c.send('INFO', 'stats')))?.[1]);
  const tracked = async (c: RawConnection) => Number(/slave_expires_tracked_keys:(\d+)/.exec(replyText(await c.send('INFO', 'stats')))?.[1]);

  const scenario = async (replica: RawConnection) => {
    const log: string[] = [];
    for (const appendonly of ['yes', 'no']) {
      await replica.send('CONFIG', 'SET', 'appendonly', appendonly);
      const before = await expiredKeys(replica);
      await replica.send('SET', 'foo', 'bar', 'PX', '1');
      await replica.send('SET', 'later', 'v', 'EX', '100');
      const expired = await until(async () => (await expiredKeys(replica)) === before + 1, 3000, 10);
      log.push(`appendonly ${appendonly}: expired ${expired}, GET ${formatReply(await replica.send('GET', 'foo'))}, tracked ${await tracked(replica)}`);
    }
    await replica.send('FLUSHALL');
    log.push(`after FLUSHALL tracked ${await tracked(replica)}`);
    return log;
  };

  it('expires them actively, counts them in expired_keys and slave_expires_tracked_keys', async () => {
    const redis = await onPair((args) => startRedis({ args }), scenario);
    const keyfork = await onPair((args) => startKeyfork({ args }), scenario);
    expect(keyfork.join('\n')).toBe(redis.join('\n'));
    expect(redis[0]).toBe('appendonly yes: expired true, GET (nil), tracked 1');
  });
});

// CLIENT PAUSE / UNPAUSE against the real redis-server 7.0: which commands wait under WRITE
// and ALL (the pausing client's own included), postponed clients in CLIENT LIST (flag b) and
// not in blocked_clients, waiting commands answered in order once the pause ends (UNPAUSE or
// its timeout), expired keys hidden but kept while paused, and the argument errors.
import { expect, it } from 'vitest';
import { describeDifferential, expectSameRepliesAndCounters, type BothServers, useBothServers } from '../helpers/diff';
import { RawConnection, type Arg, type Reply } from '../helpers/resp';
import { infoNumber, replyText, until } from '../helpers/info';
import { startRedis } from '../helpers/servers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A command's reply, or 'waiting' when none came within `ms`. */
async function answerWithin(conn: RawConnection, command: Arg[], ms = 150): Promise<{ reply: Promise<Reply>; now: Reply | 'waiting' }> {
  const reply = conn.send(...command);
  const now = await Promise.race([reply, sleep(ms).then(() => 'waiting' as const)]);
  return { reply, now };
}

function field(r: Reply, name: string): string | undefined {
  const text = r.t === 'bulk' || r.t === 'verbatim' ? r.v?.toString() ?? '' : '';
  return new RegExp(`(?:^|[ \\r\\n])${name}[=:](\\S+)`).exec(text)?.[1];
}

async function session(port: number) {
  const pauser = await RawConnection.connect(port);
  const writer = await RawConnection.connect(port);
  const reader = await RawConnection.connect(port);
  const seen: unknown[] = [];
  const later: Promise<Reply>[] = [];
  try {
    await writer.send('FLUSHALL');
    await writer.send('SET', 'short', 'v', 'PX', '50');
    await writer.send('SET', 'k', 'before');
    seen.push(await pauser.send('CLIENT', 'PAUSE', '20000', 'WRITE'));
    await sleep(120); // 'short' has expired: paused, it is hidden but kept
    for (const command of [['GET', 'k'], ['GET', 'short'], ['EXISTS', 'short'], ['DBSIZE'], ['EVAL_RO', 'return 1', '0'], ['PING'],
      ['MULTI'], ['GET', 'k'], ['EXEC']]) {
      seen.push(await reader.send(...command));
    }
    const set = await answerWithin(writer, ['SET', 'k', 'during']);
    seen.push(set.now);
    later.push(set.reply);
    const list = await reader.send('CLIENT', 'LIST');
    const writerLine = (list.t === 'bulk' ? list.v?.toString() ?? '' : '').split('\n').find((l) => l.includes('cmd=set'));
    seen.push(writerLine ? field({ t: 'bulk', v: Buffer.from(writerLine) }, 'flags') : 'no postponed client');
    seen.push(field(await reader.send('INFO', 'clients'), 'blocked_clients'));
    seen.push(await reader.send('GET', 'k'));
    const publishing = await RawConnection.connect(port);
    const publish = await answerWithin(publishing, ['PUBLISH', 'ch', 'm']);
    seen.push(publish.now);
    later.push(publish.reply);
    seen.push(await pauser.send('CLIENT', 'UNPAUSE'));
    seen.push(await Promise.all(later));
    seen.push(await reader.send('GET', 'k'));
    seen.push(await reader.send('GET', 'short'));
    seen.push(await reader.send('DBSIZE'));
    publishing.close();
    // ALL: every command waits, the pausing client's own too; the timeout ends it.
    seen.push(await pauser.send('CLIENT', 'PAUSE', '400', 'ALL'));
    const ping = await answerWithin(reader, ['PING'], 150);
    const own = await answerWithin(pauser, ['CLIENT', 'UNPAUSE'], 50);
    seen.push(ping.now, own.now, await ping.reply, await own.reply);
    return seen;
  } finally {
    pauser.close();
    writer.close();
    reader.close();
  }
}

/**
 * Under a WRITE pause, what a script declares decides (getCommandFlags): a no-writes EVAL,
 * EVALSHA or FCALL runs, a script without flags or one that may write waits; EXEC waits when its
 * queue holds a may-replicate command (PUBLISH) and runs with a queued no-writes script.
 */
async function scriptsUnderWritePause(port: number): Promise<unknown[]> {
  const pauser = await RawConnection.connect(port);
  const client = await RawConnection.connect(port);
  const seen: unknown[] = [];
  const later: Promise<Reply>[] = [];
  const noWrites = "#!lua flags=no-writes\nreturn 'ro'";
  try {
    await client.send('FLUSHALL');
    await client.send('FUNCTION', 'FLUSH');
    await client.send('FUNCTION', 'LOAD', "#!lua name=lib\nredis.register_function{function_name='ro', callback=function() return 'f' end, flags={'no-writes'}}\n"
      + "redis.register_function('rw', function() return 'w' end)");
    const sha = await client.send('SCRIPT', 'LOAD', noWrites);
    // Queued before the pause (a PUBLISH sent during it would wait itself).
    const publisher = await RawConnection.connect(port);
    seen.push(await publisher.send('MULTI'), await publisher.send('PUBLISH', 'ch', 'm'));
    seen.push(await pauser.send('CLIENT', 'PAUSE', '20000', 'WRITE'));
    for (const command of [['EVAL', noWrites, '0'], ['EVALSHA', sha.t === 'bulk' ? sha.v! : '', '0'], ['FCALL', 'ro', '0'],
      ['MULTI'], ['EVAL', noWrites, '0'], ['EXEC']]) {
      seen.push((await answerWithin(client, command)).now);
    }
    // Each of these waits: one connection each, answered once the pause ends.
    for (const command of [['EVAL', 'return 1', '0'], ['EVAL', '#!lua\nreturn 2', '0'], ['FCALL', 'rw', '0']]) {
      const conn = await RawConnection.connect(port);
      const waiting = await answerWithin(conn, command);
      seen.push(waiting.now);
      later.push(waiting.reply.finally(() => conn.close()));
    }
    const exec = await answerWithin(publisher, ['EXEC']);
    seen.push(exec.now);
    later.push(exec.reply.finally(() => publisher.close()));
    seen.push(await pauser.send('CLIENT', 'UNPAUSE'));
    seen.push(await Promise.all(later));
    return seen;
  } finally {
    pauser.close();
    client.close();
  }
}

describeDifferential('CLIENT PAUSE', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s));

  it('holds back what Redis holds back and answers it when the pause ends', async () => {
    const [k, r] = await Promise.all([session(servers.keyfork.port), session(servers.redis.port)]);
    expect(k).toEqual(r);
  });

  it('lets scripts that declare no-writes run under a WRITE pause, as Redis', async () => {
    const [k, r] = await Promise.all([scriptsUnderWritePause(servers.keyfork.port), scriptsUnderWritePause(servers.redis.port)]);
    expect(k).toEqual(r);
    expect(r).toContain('waiting');
  });

  it('answers argument errors as Redis', async () => {
    await expectSameRepliesAndCounters(servers, [
      ['CLIENT', 'PAUSE'], ['CLIENT', 'PAUSE', 'abc'], ['CLIENT', 'PAUSE', '-1'], ['CLIENT', 'PAUSE', '-1', 'BAD'], ['CLIENT', 'PAUSE', '100', 'BAD'],
      ['CLIENT', 'PAUSE', '99999999999999999999'], ['CLIENT', 'PAUSE', '100', 'WRITE', 'x'], ['CLIENT', 'UNPAUSE', 'x'], ['CLIENT', 'UNPAUSE'],
      ['CLIENT', 'PAUSE', '10', 'write'], ['CLIENT', 'UNPAUSE'],
    ]);
  });

  it('a paused replica reads its master\'s writes but applies them only when the pause ends, as Redis', async () => {
    // One Redis master feeds both replicas; each replica is paused alone. No PINGs from the
    // master: the stream moves only with the writes below.
    const master = await startRedis({ args: ['--repl-ping-replica-period', '3600'] });
    const m = await RawConnection.connect(master.port);
    const replicas = await Promise.all([servers.keyfork.port, servers.redis.port].map((port) => RawConnection.connect(port)));
    const offset = (r: RawConnection, field: string) => infoNumber(r, 'replication', field);
    const reaches = (r: RawConnection, field: string, target: number) => until(async () => (await offset(r, field)) === target, 5000);
    try {
      for (const r of replicas) await r.send('REPLICAOF', '127.0.0.1', String(master.port));
      for (const r of replicas) expect(await until(async () => replyText(await r.send('INFO', 'replication')).includes('master_link_status:up'), 10_000, 50)).toBe(true);
      // The first write after the sync brings a SELECT, which a pause does not hold back.
      await m.send('SET', 'before', 'x');
      const applied = await offset(m, 'master_repl_offset');
      for (const r of replicas) expect(await reaches(r, 'slave_repl_offset', applied)).toBe(true);
      const seen = await Promise.all(replicas.map((r) => r.send('CLIENT', 'PAUSE', '100000', 'WRITE').then((reply) => [reply] as unknown[])));
      await m.send('SET', 'during', 'pause');
      const target = await offset(m, 'master_repl_offset');
      await Promise.all(replicas.map(async (r, i) => {
        seen[i].push(await reaches(r, 'slave_read_repl_offset', target), (await offset(r, 'slave_repl_offset')) === applied, await r.send('GET', 'during'));
        seen[i].push(await r.send('CLIENT', 'UNPAUSE'));
        seen[i].push(await reaches(r, 'slave_repl_offset', target), await r.send('GET', 'during'));
        await r.send('REPLICAOF', 'NO', 'ONE');
      }));
      expect(seen[0]).toEqual(seen[1]);
      expect(seen[1].slice(1, 4)).toEqual([true, true, { t: 'bulk', v: null }]);
    } finally {
      for (const r of replicas) r.close();
      m.close();
      await master.stop();
    }
  });
});

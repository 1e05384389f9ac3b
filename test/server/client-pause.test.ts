// CLIENT PAUSE / UNPAUSE against the real redis-server 7.0: which commands wait under WRITE
// and ALL (the pausing client's own included), postponed clients in CLIENT LIST (flag b) and
// not in blocked_clients, waiting commands answered in order once the pause ends (UNPAUSE or
// its timeout), expired keys hidden but kept while paused, and the argument errors.
import { expect, it } from 'vitest';
import { describeDifferential, expectSameRepliesAndCounters, type BothServers, useBothServers } from '../helpers/diff';
import { RawConnection, type Arg, type Reply } from '../helpers/resp';

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

describeDifferential('CLIENT PAUSE', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s));

  it('holds back what Redis holds back and answers it when the pause ends', async () => {
    const [k, r] = await Promise.all([session(servers.keyfork.port), session(servers.redis.port)]);
    expect(k).toEqual(r);
  });

  it('answers argument errors as Redis', async () => {
    await expectSameRepliesAndCounters(servers, [
      ['CLIENT', 'PAUSE'], ['CLIENT', 'PAUSE', 'abc'], ['CLIENT', 'PAUSE', '-1'], ['CLIENT', 'PAUSE', '-1', 'BAD'], ['CLIENT', 'PAUSE', '100', 'BAD'],
      ['CLIENT', 'PAUSE', '99999999999999999999'], ['CLIENT', 'PAUSE', '100', 'WRITE', 'x'], ['CLIENT', 'UNPAUSE', 'x'], ['CLIENT', 'UNPAUSE'],
      ['CLIENT', 'PAUSE', '10', 'write'], ['CLIENT', 'UNPAUSE'],
    ]);
  });
});

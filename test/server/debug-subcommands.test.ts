// DEBUG subcommands that tools and test suites use, against the real redis-server: PROTOCOL in
// RESP2 and RESP3 (raw bytes), PAUSE-CRON (active expiry stops), CHANGE-REPL-ID, LISTPACK (the
// text printed on stdout), STRINGMATCH-TEST, SET-DISABLE-DENY-SCRIPTS, argument errors and the
// unknown-subcommand error for what keyfork does not implement.
import net from 'node:net';
import { expect, it } from 'vitest';
import { describeDifferential, expectSameRepliesAndCounters, useBothServers, type BothServers } from '../helpers/diff';
import { RawConnection } from '../helpers/resp';
import { startKeyfork, startRedis, type RunningServer } from '../helpers/servers';

let servers: BothServers;

const PROTOCOL_TYPES = ['string', 'integer', 'double', 'bignum', 'null', 'array', 'set', 'map', 'attrib', 'push', 'verbatim', 'true', 'false', 'nope'];

/** The raw bytes a server answers to `request`, read until the PING sent after it is answered. */
async function rawExchange(port: number, request: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no complete answer from port ${port}`)), 10_000);
      socket.on('error', reject);
      socket.on('data', (chunk) => {
        chunks.push(chunk);
        const text = Buffer.concat(chunks).toString('latin1');
        if (text.endsWith('+PONG\r\n')) {
          clearTimeout(timer);
          resolve(text);
        }
      });
      socket.write(`${request}PING\r\n`);
    });
  } finally {
    socket.destroy();
  }
}

function resp(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

async function dbsize(server: RunningServer): Promise<number> {
  const conn = await RawConnection.connect(server.port);
  try {
    const r = await conn.send('DBSIZE');
    return r.t === 'int' ? Number(r.v) : NaN;
  } finally {
    conn.close();
  }
}

async function sendBoth(...args: string[]): Promise<void> {
  for (const server of [servers.keyfork, servers.redis]) {
    const conn = await RawConnection.connect(server.port);
    try {
      await conn.send(...args);
    } finally {
      conn.close();
    }
  }
}

describeDifferential('DEBUG subcommands', () => {
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] } });

  it('PROTOCOL answers every type byte for byte as Redis, in RESP2 and in RESP3', async () => {
    for (const hello of ['', resp('HELLO', '3')]) {
      for (const type of PROTOCOL_TYPES) {
        const request = `${hello}${resp('DEBUG', 'PROTOCOL', type)}`;
        const [k, r] = await Promise.all([rawExchange(servers.keyfork.port, request), rawExchange(servers.redis.port, request)]);
        // HELLO's map differs in server name, version and id: compare what follows it.
        const strip = (text: string) => (hello ? text.slice(text.indexOf('\r\n', text.indexOf('modules')) + 2) : text);
        expect(`${hello ? 'RESP3' : 'RESP2'} ${type}: ${JSON.stringify(strip(k))}`).toBe(`${hello ? 'RESP3' : 'RESP2'} ${type}: ${JSON.stringify(strip(r))}`);
      }
    }
  });

  it('answers argument errors and unknown subcommands as Redis', async () => {
    await expectSameRepliesAndCounters(servers, [
      ['DEBUG', 'PROTOCOL'], ['DEBUG', 'PROTOCOL', 'string', 'extra'], ['DEBUG', 'PAUSE-CRON'], ['DEBUG', 'PAUSE-CRON', '0', '1'],
      ['DEBUG', 'CHANGE-REPL-ID', 'x'], ['DEBUG', 'STRINGMATCH-TEST', 'x'], ['DEBUG', 'LISTPACK'],
      ['DEBUG', 'QUICKLIST-PACKED-THRESHOLD'], ['DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '5gb'], ['DEBUG', 'QUICKLIST-PACKED-THRESHOLD', 'abc'],
      ['DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '-1'], ['DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '4294967297'],
      ['DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '1k'], ['DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '0'],
      ['DEBUG', 'SET-DISABLE-DENY-SCRIPTS'], ['DEBUG', 'NO-SUCH-SUBCOMMAND'], ['DEBUG', 'no-such-subcommand', 'a', 'b'],
    ]);
  });

  it('CHANGE-REPL-ID gives the instance new replication ids', async () => {
    const conn = await RawConnection.connect(servers.keyfork.port);
    try {
      const ids = async () => {
        const r = await conn.send('INFO', 'replication');
        const text = r.t === 'bulk' && r.v ? r.v.toString() : '';
        return [/^master_replid:(\w+)/m.exec(text)?.[1], /^master_replid2:(\w+)/m.exec(text)?.[1]];
      };
      const [before] = await ids();
      expect(await conn.send('DEBUG', 'CHANGE-REPL-ID')).toEqual({ t: 'simple', v: 'OK' });
      const [after, second] = await ids();
      expect(after).toMatch(/^[0-9a-f]{40}$/);
      expect(after).not.toBe(before);
      expect(second).toBe('0'.repeat(40));
    } finally {
      conn.close();
    }
  });

  it('PAUSE-CRON stops active expiry until it is resumed, as in Redis', async () => {
    await sendBoth('FLUSHALL');
    await sendBoth('DEBUG', 'PAUSE-CRON', '1');
    await sendBoth('SET', 'short-lived', 'v', 'PX', '20');
    await new Promise((r) => setTimeout(r, 400));
    // DBSIZE does not expire keys itself: only the (paused) cron could have removed it.
    expect([await dbsize(servers.keyfork), await dbsize(servers.redis)]).toEqual([1, 1]);
    await sendBoth('DEBUG', 'PAUSE-CRON', '0');
    const deadline = Date.now() + 5_000;
    let sizes = [1, 1];
    while (Date.now() < deadline && sizes.some((n) => n !== 0)) {
      await new Promise((r) => setTimeout(r, 50));
      sizes = [await dbsize(servers.keyfork), await dbsize(servers.redis)];
    }
    expect(sizes).toEqual([0, 0]);
  });

  it('SET-DISABLE-DENY-SCRIPTS lets scripts call noscript commands', async () => {
    const script = "return redis.call('watch', 'x')";
    const normalize = (_: unknown, reply: { t: string; v?: unknown }) =>
      reply.t === 'error' ? { t: 'error' as const, v: String(reply.v).replace(/ script: \w+, on @user_script:\d+\./, '') } : reply;
    await expectSameRepliesAndCounters(servers, [
      ['EVAL', script, '0'],
      ['DEBUG', 'SET-DISABLE-DENY-SCRIPTS', '1'], ['EVAL', script, '0'], ['EVAL', "return redis.call('unwatch')", '0'],
      ['DEBUG', 'SET-DISABLE-DENY-SCRIPTS', '0'], ['EVAL', script, '0'],
    ], { normalize: normalize as never });
  });

  it('STRINGMATCH-TEST survives the fuzz test with Redis reply', async () => {
    const conn = await RawConnection.connect(servers.keyfork.port, { replyTimeoutMs: 60_000 });
    try {
      // Redis's own run takes half a minute; its reply is this line.
      expect(await conn.send('DEBUG', 'STRINGMATCH-TEST')).toEqual({ t: 'simple', v: 'Apparently Redis did not crash: test passed' });
    } finally {
      conn.close();
    }
  });
});

describeDifferential('DEBUG LISTPACK', () => {
  it('prints lpRepr of hashes and sorted sets on stdout as Redis does', async () => {
    const [keyfork, redis] = await Promise.all([startKeyfork({ args: ['--enable-debug-command', 'yes'] }), startRedis()]);
    try {
      await expectSameRepliesAndCounters({ keyfork, redis }, [
        ['HSET', 'h', 'a', '1', 'b', 'hello', 'neg', '-5000', 'n', '123456789012', 'long', 'L'.repeat(60)],
        ['ZADD', 'z', '1.5', 'x', '2', 'y', '-3', '70000'],
        ['RPUSH', 'l', 'a'], ['SET', 's', 'v'],
        ['DEBUG', 'LISTPACK', 'h'], ['DEBUG', 'LISTPACK', 'z'], ['DEBUG', 'LISTPACK', 'l'], ['DEBUG', 'LISTPACK', 's'],
        ['DEBUG', 'LISTPACK', 'nokey'],
      ]);
    } finally {
      // Redis's stdout is a buffered file: it is complete once the process exits.
      await Promise.all([keyfork.stop(), redis.stop()]);
    }
    const dumps = (output: string) => (output.match(/\{total bytes[\s\S]*?\{end\}\n\n/g) ?? [])
      .map((d) => d.replace(/addr: 0x[0-9a-f]+/g, 'addr: ?'));
    const expected = dumps(redis.output());
    expect(expected).toHaveLength(2);
    expect(dumps(keyfork.output())).toEqual(expected);
  });
});

// CLIENT subcommands, differentially against the real redis-server 7.0. Replies that carry
// per-connection values (ids, addresses, ages, buffer sizes) are compared field by field on
// the same scenario run against both servers; errors and fixed replies byte for byte.
import { expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches, type BothServers, useBothServers } from '../helpers/diff';
import { formatReply, RawConnection, type Arg, type Reply } from '../helpers/resp';

let servers: BothServers;

const text = (r: Reply): string => {
  if ((r.t === 'bulk' || r.t === 'verbatim') && r.v) return r.v.toString('latin1');
  throw new Error(`not a string reply: ${formatReply(r)}`);
};

/** One CLIENT LIST line as [field, value] pairs in wire order. */
function parseLine(line: string): Array<[string, string]> {
  return line.split(' ').map((kv) => {
    const i = kv.indexOf('=');
    return [kv.slice(0, i), kv.slice(i + 1)];
  });
}

const lines = (r: Reply): string[] => text(r).split('\n').filter(Boolean);

/** Fields whose values are the same on both servers for the same scenario. */
const COMPARABLE = ['name', 'flags', 'db', 'sub', 'psub', 'ssub', 'multi', 'argv-mem', 'multi-mem', 'events', 'cmd', 'user', 'redir', 'resp'];

function comparable(line: string): string {
  const fields = new Map(parseLine(line));
  return COMPARABLE.map((f) => `${f}=${fields.get(f)}`).join(' ');
}

async function connect(port: number, resp3 = false): Promise<RawConnection> {
  return RawConnection.connect(port, { resp3 });
}

async function clientId(conn: RawConnection): Promise<number> {
  const r = await conn.send('CLIENT', 'ID');
  if (r.t !== 'int') throw new Error(formatReply(r));
  return Number(r.v);
}

async function closed(conn: RawConnection): Promise<boolean> {
  try {
    await conn.send('PING');
    return false;
  } catch {
    return true;
  }
}

describeDifferential('CLIENT vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s));

  const check = async (commands: Arg[][], resp3 = false) => {
    const mismatches = await compareSequences(commands, { servers, resp3 });
    expect(formatMismatches(mismatches)).toBe('');
  };

  /** Runs `scenario` on each server and expects the same result. */
  const same = async <T>(scenario: (port: number) => Promise<T>) => {
    const [k, r] = await Promise.all([scenario(servers.keyfork.port), scenario(servers.redis.port)]);
    expect(k).toEqual(r);
    return k;
  };

  it('CLIENT LIST and CLIENT INFO print the 7.0 fields in order, as bulk (RESP2) / verbatim (RESP3)', async () => {
    for (const resp3 of [false, true]) {
      const shapes = await same(async (port) => {
        const c = await connect(port, resp3);
        try {
          const info = await c.send('CLIENT', 'INFO');
          const list = await c.send('CLIENT', 'LIST', 'ID', String(await clientId(c)));
          return {
            types: [info.t, list.t, info.t === 'verbatim' ? info.format : ''],
            keys: parseLine(lines(info)[0]).map(([k]) => k),
            endsWithNewline: text(info).endsWith('\n'),
            info: comparable(lines(info)[0]),
            list: comparable(lines(list)[0]),
          };
        } finally {
          c.close();
        }
      });
      expect(shapes.keys[0]).toBe('id');
      expect(shapes.info).toContain('cmd=client|info');
    }
  });

  it('CLIENT INFO / LIST values: id, addr, laddr, name, db, age, flags of MULTI, pub/sub, NO-EVICT', async () => {
    await same(async (port) => {
      const watcher = await connect(port);
      const c = await connect(port);
      try {
        const id = await clientId(c);
        const own = new Map(parseLine(lines(await c.send('CLIENT', 'INFO'))[0]));
        const observed: string[] = [];
        const look = async () => comparable(lines(await watcher.send('CLIENT', 'LIST', 'ID', String(id)))[0]);
        // Values only this server knows, checked for consistency rather than compared. Age is in
        // whole seconds of a cached clock, so a second boundary between connect and INFO makes it 1.
        const hello = await c.send('HELLO');
        const helloId = hello.t === 'array' && hello.v ? hello.v[7] : null;
        const consistent = own.get('id') === String(id) && own.get('laddr') === `127.0.0.1:${port}`
          && /^127\.0\.0\.1:\d+$/.test(own.get('addr') ?? '') && ['0', '1'].includes(own.get('age') ?? '') && JSON.stringify(helloId) === JSON.stringify({ t: 'int', v: id });
        observed.push(`consistent=${consistent}`);
        await c.send('CLIENT', 'SETNAME', 'worker-1');
        await c.send('SELECT', '3');
        observed.push(await look());
        await c.send('MULTI');
        await c.send('SET', 'a', 'b');
        await c.send('GET', 'a');
        await c.send('DISCARD');
        await c.send('CLIENT', 'NO-EVICT', 'on');
        observed.push(await look());
        await c.send('CLIENT', 'NO-EVICT', 'off');
        await c.send('SUBSCRIBE', 'ch1', 'ch2');
        await c.readReply();
        await c.send('PSUBSCRIBE', 'p*');
        observed.push(await look());
        await c.send('UNSUBSCRIBE');
        await c.readReply();
        await c.send('PUNSUBSCRIBE');
        observed.push(await look());
        return observed;
      } finally {
        watcher.close();
        c.close();
      }
    });
  });

  it('inside MULTI a client shows its queued commands: flags=x, multi=<count>, multi-mem, cmd=<last queued>', async () => {
    await same(async (port) => {
      const watcher = await connect(port);
      const c = await connect(port);
      try {
        const id = String(await clientId(c));
        await c.send('MULTI');
        await c.send('SET', 'a', 'b');
        await c.send('GET', 'a');
        return comparable(lines(await watcher.send('CLIENT', 'LIST', 'ID', id))[0]);
      } finally {
        watcher.close();
        c.close();
      }
    });
  });

  it('CLIENT LIST TYPE and ID select clients', async () => {
    await same(async (port) => {
      const sub = await connect(port);
      const plain = await connect(port);
      const me = await connect(port);
      try {
        await sub.send('SUBSCRIBE', 'x');
        const subId = await me.send('CLIENT', 'LIST', 'TYPE', 'pubsub');
        const count = async (...args: string[]) => lines(await me.send('CLIENT', 'LIST', ...args)).length;
        const ids = [String(await clientId(plain)), String(await clientId(me))];
        return {
          pubsub: lines(subId).map((l) => new Map(parseLine(l)).get('sub')),
          normalAtLeast: (await count('TYPE', 'NORMAL')) >= 2,
          master: await count('TYPE', 'master'),
          replica: await count('type', 'replica'),
          slave: await count('type', 'slave'),
          byId: await count('ID', ...ids),
          duplicate: await count('ID', ids[0], ids[0]),
          missing: await count('ID', '999999', '0', '-5'),
        };
      } finally {
        sub.close();
        plain.close();
        me.close();
      }
    });
  });

  it('CLIENT LIST / INFO / ID errors', async () => {
    await check([
      ['CLIENT', 'LIST', 'TYPE', 'foo'], ['CLIENT', 'LIST', 'TYPE'], ['CLIENT', 'LIST', 'ID'], ['CLIENT', 'LIST', 'ID', '1', 'x'],
      ['CLIENT', 'LIST', 'foo'], ['CLIENT', 'LIST', 'TYPE', 'normal', 'ID', '1'], ['CLIENT', 'INFO', 'x'], ['CLIENT', 'ID', 'x'],
      ['CLIENT'], ['CLIENT', 'NOSUCH'], ['CLIENT', 'GETREDIR'], ['CLIENT', 'TRACKINGINFO'],
    ]);
    await check([['CLIENT', 'TRACKINGINFO'], ['CLIENT', 'LIST', 'TYPE', 'master']], true);
  });

  it('CLIENT SETNAME / GETNAME', async () => {
    await check([
      ['CLIENT', 'GETNAME'], ['CLIENT', 'SETNAME', 'a b'], ['CLIENT', 'SETNAME', 'a\nb'], ['CLIENT', 'SETNAME', Buffer.from([0x61, 0xc3, 0xa9])],
      ['CLIENT', 'SETNAME', 'x\x7f'], ['CLIENT', 'SETNAME', 'name-1_~!'], ['CLIENT', 'GETNAME'], ['CLIENT', 'SETNAME', ''],
      ['CLIENT', 'GETNAME'], ['CLIENT', 'SETNAME'], ['CLIENT', 'SETNAME', 'a', 'b'], ['CLIENT', 'GETNAME', 'x'],
    ]);
    await check([['CLIENT', 'GETNAME'], ['CLIENT', 'SETNAME', 'n'], ['CLIENT', 'GETNAME']], true);
  });

  it('CLIENT NO-EVICT', async () => {
    await check([
      ['CLIENT', 'NO-EVICT', 'on'], ['CLIENT', 'NO-EVICT', 'OFF'], ['CLIENT', 'NO-EVICT', 'maybe'], ['CLIENT', 'NO-EVICT'],
      ['CLIENT', 'NO-EVICT', 'on', 'x'],
    ]);
  });

  it('CLIENT KILL: option parsing errors', async () => {
    await check([
      ['CLIENT', 'KILL'], ['CLIENT', 'KILL', '1.2.3.4:5'], ['CLIENT', 'KILL', '1.2.3.4:5', 'x'], ['CLIENT', 'KILL', 'ID', '0'],
      ['CLIENT', 'KILL', 'ID', '-1'], ['CLIENT', 'KILL', 'ID', 'abc'], ['CLIENT', 'KILL', 'ID', '999999'], ['CLIENT', 'KILL', 'ID', '1', 'ID'],
      ['CLIENT', 'KILL', 'foo', 'bar'], ['CLIENT', 'KILL', 'TYPE', 'foo'], ['CLIENT', 'KILL', 'TYPE', 'master'], ['CLIENT', 'KILL', 'SKIPME', 'maybe'],
      ['CLIENT', 'KILL', 'USER', 'nosuchuser'], ['CLIENT', 'KILL', 'USER', 'DEFAULT'], ['CLIENT', 'KILL', 'ADDR', '1.1.1.1:1'],
      ['CLIENT', 'KILL', 'LADDR', '1.1.1.1:1'], ['CLIENT', 'KILL', 'LADDR'], ['CLIENT', 'KILL', 'MAXAGE', '1'],
      ['CLIENT', 'KILL', 'USER', 'default', 'SKIPME', 'yes', 'TYPE', 'replica'],
    ]);
  });

  it('CLIENT KILL closes the matching connections', async () => {
    await same(async (port) => {
      const me = await connect(port);
      const victim = await connect(port);
      const sub = await connect(port);
      const other = await connect(port);
      const out: unknown[] = [];
      try {
        const victimId = await clientId(victim);
        out.push(await me.send('CLIENT', 'KILL', 'ID', String(victimId)));
        out.push(await closed(victim));
        await sub.send('SUBSCRIBE', 'c');
        out.push(await me.send('CLIENT', 'KILL', 'TYPE', 'pubsub'));
        out.push(await closed(sub));
        const otherAddr = new Map(parseLine(lines(await other.send('CLIENT', 'INFO'))[0])).get('addr') as string;
        out.push(await me.send('CLIENT', 'KILL', otherAddr));
        out.push(await closed(other));
        // SKIPME defaults to yes in the new form; the old form may kill the caller itself.
        const meId = String(await clientId(me));
        out.push(await me.send('CLIENT', 'KILL', 'ID', meId));
        out.push(await me.send('CLIENT', 'KILL', 'ID', meId, 'SKIPME', 'no'));
        out.push(await closed(me));
        const self = await connect(port);
        const selfAddr = new Map(parseLine(lines(await self.send('CLIENT', 'INFO'))[0])).get('addr') as string;
        out.push(await self.send('CLIENT', 'KILL', selfAddr));
        out.push(await closed(self));
        const laddrVictim = await connect(port);
        const keeper = await connect(port);
        out.push(await keeper.send('CLIENT', 'KILL', 'LADDR', `127.0.0.1:${port}`));
        out.push(await closed(laddrVictim));
        out.push(await keeper.send('CLIENT', 'KILL', 'USER', 'default', 'SKIPME', 'no'));
        return out;
      } finally {
        for (const c of [me, victim, sub, other]) c.close();
      }
    });
  });

  it('CLIENT KILL USER kills the connections authenticated as that user, with the other filters', async () => {
    await same(async (port) => {
      const admin = await connect(port);
      const alice1 = await connect(port);
      const alice2 = await connect(port);
      const plain = await connect(port);
      const out: unknown[] = [];
      try {
        out.push(await admin.send('ACL', 'SETUSER', 'killme', 'on', '>pw', '~*', '+@all'));
        out.push(await alice1.send('AUTH', 'killme', 'pw'), await alice2.send('AUTH', 'killme', 'pw'));
        const alice2Id = String(await clientId(alice2));
        // Filters combine: ID of another user's client and USER match nobody.
        out.push(await admin.send('CLIENT', 'KILL', 'USER', 'killme', 'ID', String(await clientId(plain))));
        out.push(await admin.send('CLIENT', 'KILL', 'USER', 'killme', 'ID', alice2Id));
        out.push(await closed(alice2));
        out.push(await admin.send('CLIENT', 'KILL', 'USER', 'killme', 'TYPE', 'pubsub'));
        out.push(await admin.send('CLIENT', 'KILL', 'USER', 'killme'));
        out.push(await closed(alice1));
        out.push(await plain.send('PING'));
        out.push(await admin.send('CLIENT', 'KILL', 'USER', 'killme'));
        out.push(await admin.send('ACL', 'DELUSER', 'killme'));
        out.push(await admin.send('CLIENT', 'KILL', 'USER', 'killme'));
        return out;
      } finally {
        for (const c of [admin, alice1, alice2, plain]) c.close();
      }
    });
  });

  it('CLIENT UNBLOCK with TIMEOUT and ERROR', async () => {
    await same(async (port) => {
      const blocked = await connect(port);
      const me = await connect(port);
      const out: unknown[] = [];
      try {
        const id = String(await clientId(blocked));
        out.push(await me.send('CLIENT', 'UNBLOCK', id));
        blocked.write('*3\r\n$5\r\nBLPOP\r\n$9\r\nunblock:k\r\n$1\r\n0\r\n');
        // Wait until the server has it blocked.
        for (let i = 0; i < 100; i++) {
          const info = await me.send('INFO', 'clients');
          if (text(info).includes('blocked_clients:1')) break;
          await new Promise((r) => setTimeout(r, 10));
        }
        out.push(comparable(lines(await me.send('CLIENT', 'LIST', 'ID', id))[0]));
        out.push(await me.send('CLIENT', 'UNBLOCK', id));
        out.push(await blocked.readReply());
        blocked.write('*3\r\n$5\r\nBLPOP\r\n$9\r\nunblock:k\r\n$1\r\n0\r\n');
        for (let i = 0; i < 100; i++) {
          const info = await me.send('INFO', 'clients');
          if (text(info).includes('blocked_clients:1')) break;
          await new Promise((r) => setTimeout(r, 10));
        }
        out.push(await me.send('CLIENT', 'UNBLOCK', id, 'ERROR'));
        out.push(await blocked.readReply());
        out.push(await blocked.send('PING'));
        out.push(await me.send('CLIENT', 'UNBLOCK', id, 'ERROR'));
        out.push(await me.send('CLIENT', 'UNBLOCK', '999999'));
        return out;
      } finally {
        blocked.close();
        me.close();
      }
    });
  });

  it('CLIENT UNBLOCK errors and non-blocked targets', async () => {
    await check([
      ['CLIENT', 'UNBLOCK'], ['CLIENT', 'UNBLOCK', 'x'], ['CLIENT', 'UNBLOCK', '1', 'foo'], ['CLIENT', 'UNBLOCK', 'x', 'foo'],
      ['CLIENT', 'UNBLOCK', '1', 'timeout', 'x'], ['CLIENT', 'UNBLOCK', '1', 'TIMEOUT'],
    ]);
  });

  it('CLIENT HELP lists the implemented subcommands in Redis\'s words and order', async () => {
    const [k, r] = await Promise.all([
      RawConnection.connect(servers.keyfork.port).then(async (c) => { const x = await c.send('CLIENT', 'HELP'); c.close(); return x; }),
      RawConnection.connect(servers.redis.port).then(async (c) => { const x = await c.send('CLIENT', 'HELP'); c.close(); return x; }),
    ]);
    const asLines = (x: Reply) => (x.t === 'array' && x.v ? x.v.map((l) => (l.t === 'simple' ? l.v : '?')) : []);
    const kLines = asLines(k);
    const rLines = asLines(r);
    expect(kLines[0]).toBe(rLines[0]);
    expect(kLines.slice(-2)).toEqual(['HELP', '    Prints this help.']);
    // Every keyfork line appears in Redis's help, in the same relative order.
    let at = 0;
    for (const l of kLines) {
      const found = rLines.indexOf(l, at);
      expect(found, l).toBeGreaterThanOrEqual(0);
      at = found + 1;
    }
    for (const sub of ['ID', 'INFO', 'GETNAME', 'SETNAME <name>', 'KILL <ip:port>', 'LIST [options ...]', 'UNBLOCK <clientid> [TIMEOUT|ERROR]', 'NO-EVICT (ON|OFF)',
      'PAUSE <timeout> [WRITE|ALL]', 'UNPAUSE', 'REPLY (ON|OFF|SKIP)', 'TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]', 'CACHING (YES|NO)']) {
      expect(kLines).toContain(sub);
    }
    // Every CLIENT subcommand of Redis 7.0 exists in keyfork: the help is the same.
    expect(kLines).toEqual(rLines);
  });
});

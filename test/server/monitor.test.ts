// MONITOR against the real redis-server 7.0: the same lines for the same commands (time and
// client addresses masked): what is shown and what not (rejected, admin, retried blocked
// commands), the database after the command, EVAL before its script's "[db lua]" calls,
// redacted passwords, sdscatrepr quoting, EXEC after its commands; MONITOR refused inside
// EXEC; a monitor's own commands; RESET ends monitoring; the O flag in CLIENT LIST.
import { expect, it } from 'vitest';
import { describeDifferential, type BothServers, useBothServers } from '../helpers/diff';
import { RawConnection, type Arg, type Reply } from '../helpers/resp';

const SCRIPT = "redis.call('select', '2'); redis.call('set', 'in-script', 'v'); return redis.call('get', 'in-script')";
const LIBRARY = "#!lua name=monlib\nredis.register_function('touchit', function(keys, args) return redis.call('incr', keys[1]) end)";

async function addressOf(conn: RawConnection): Promise<string> {
  const r = await conn.send('CLIENT', 'INFO');
  const text = r.t === 'bulk' || r.t === 'verbatim' ? r.v?.toString() ?? '' : '';
  return /addr=(\S+)/.exec(text)?.[1] ?? 'unknown';
}

function text(r: Reply): string {
  return r.t === 'simple' || r.t === 'error' ? `${r.t}:${r.v}` : JSON.stringify(r);
}

async function session(port: number): Promise<{ lines: string[]; tail: string[]; refused: string[] }> {
  const monitor = await RawConnection.connect(port);
  const client = await RawConnection.connect(port);
  const other = await RawConnection.connect(port);
  const names = new Map([[await addressOf(client), 'client'], [await addressOf(other), 'other'], [await addressOf(monitor), 'monitor']]);
  const stamps: number[] = [];
  const mask = (r: Reply) => {
    if (r.t !== 'simple') return text(r);
    const m = /^(\d+)\.(\d{6}) \[(\d+) ([^\]]+)\] (.*)$/.exec(r.v);
    if (!m) return text(r);
    stamps.push(Number(m[1]) + Number(m[2]) / 1e6);
    return `[${m[3]} ${names.get(m[4]) ?? m[4]}] ${m[5]}`;
  };
  try {
    expect(await monitor.send('MONITOR')).toEqual({ t: 'simple', v: 'OK' });
    const commands: Arg[][] = [
      ['SET', 'k', '123'], ['SELECT', '5'], ['GET', 'k'], ['SELECT', '0'], ['MULTI'], ['INCR', 'k'], ['GET', 'k'], ['EXEC'],
      ['NOSUCH', 'x'], ['GET'], ['CONFIG', 'GET', 'hz'], ['CLIENT', 'KILL', 'ID', '999999'], ['DEBUG', 'SLEEP', '0'],
      ['AUTH', 'secret'], ['AUTH', 'user', 'secret'], ['AUTH', 'a', 'b', 'c'], ['HELLO', '2', 'AUTH', 'user', 'secret'],
      ['HELLO', '2', 'SETNAME', 'named'], ['HELLO', '2', 'BOGUS', 'AUTH', 'user', 'pass'],
      ['EVAL', SCRIPT, '0'], ['EVALSHA', 'ffffffffffffffffffffffffffffffffffffffff', '0'], ['EVAL_RO', "return redis.call('get', KEYS[1])", '1', 'k'],
      ['FUNCTION', 'LOAD', 'REPLACE', LIBRARY], ['FCALL', 'touchit', '1', 'k'], ['FCALL', 'nosuch', '0'],
      ['SET', 'quoted', Buffer.from('a b"\\\n\r\t\x07\x08\x01\xff', 'latin1')], ['CLIENT', 'SETNAME', 'x'], ['PING'], ['OBJECT', 'ENCODING', 'k'],
      ['MULTI'], ['MONITOR'], ['EXEC'], ['SUBSCRIBE', 'ch'], ['PING'], ['GET', 'k'], ['RESET'],
    ];
    const refused: string[] = [];
    for (const command of commands) {
      const r = await client.send(...command);
      if (command[0] === 'EXEC' && r.t === 'array' && r.v?.[0]?.t === 'error') refused.push(r.v[0].v);
    }
    // A blocked command is shown when it blocks, not when it is served.
    const blocked = client.send('BLPOP', 'queue', '0');
    await new Promise((r) => setTimeout(r, 100));
    await other.send('RPUSH', 'queue', 'v');
    expect(await blocked).toEqual({ t: 'array', v: [{ t: 'bulk', v: Buffer.from('queue') }, { t: 'bulk', v: Buffer.from('v') }] });
    await client.send('ECHO', 'end-of-client');
    const lines: string[] = [];
    for (;;) {
      const line = mask(await monitor.readReply());
      lines.push(line);
      if (line.includes('end-of-client')) break;
    }
    // The monitor's own commands: their reply, then their line; RESET ends monitoring.
    const tail: string[] = [];
    tail.push(text(await monitor.send('PING', 'from-monitor')));
    tail.push(mask(await monitor.readReply()));
    const list = await other.send('CLIENT', 'LIST');
    const flags = new RegExp(`addr=${[...names].find(([, n]) => n === 'monitor')?.[0]} .*?flags=(\\w+)`).exec(list.t === 'bulk' ? list.v?.toString() ?? '' : '')?.[1];
    tail.push(`flags=${flags}`);
    tail.push(text(await monitor.send('RESET')));
    await client.send('SET', 'after-reset', '1');
    tail.push(text(await monitor.send('PING')));
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]).toBeGreaterThanOrEqual(stamps[i - 1]);
    expect(Math.abs(stamps[0] - Date.now() / 1000)).toBeLessThan(60);
    return { lines, tail, refused };
  } finally {
    monitor.close();
    client.close();
    other.close();
  }
}

describeDifferential('MONITOR', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] } });

  it('shows the same lines as Redis for the same commands', async () => {
    const k = await session(servers.keyfork.port);
    const r = await session(servers.redis.port);
    expect(k.lines.join('\n')).toBe(r.lines.join('\n'));
    expect(k.tail).toEqual(r.tail);
    expect(k.refused).toEqual(r.refused);
    expect(r.lines.some((l) => l.includes('[2 lua] "set" "in-script" "v"'))).toBe(true);
  });
});

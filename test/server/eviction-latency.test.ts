// Where eviction's time goes, against the real redis-server 7.0.15: Redis times a command from
// its handler's start to its end (call()), so the eviction processCommand runs before it (or
// its wait for the lazy free thread) is not the command's latency: no slow log entry, no
// "command"/"fast-command" LATENCY event for it.
import * as net from 'node:net';
import { expect, it } from 'vitest';
import { describeDifferential, useBothServers, type BothServers } from '../helpers/diff';
import { replyText } from '../helpers/info';
import { RawConnection, type Reply } from '../helpers/resp';

let servers: BothServers;

/** Writes both commands in one write (one read on the server) and waits for both replies. */
function pipelined(port: number, payload: string, replies: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(payload));
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.split('\r\n').length > replies) {
        s.end();
        resolve(got);
      }
    });
    s.on('error', reject);
  });
}

const rows = (r: Reply): Reply[][] => (r as { v: Reply[] }).v.map((row) => (row as { v: Reply[] }).v);
const str = (r: Reply): string => String((r as { v: unknown }).v);

describeDifferential('eviction time is not a command\'s latency', () => {
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] } });

  it('a PING whose processCommand evicts 300k keys: no slow log entry, no command latency event', async () => {
    const seen: Record<string, unknown> = {};
    for (const [label, server] of [['keyfork', servers.keyfork], ['redis', servers.redis]] as const) {
      const c = await RawConnection.connect(server.port, { replyTimeoutMs: 60_000 });
      try {
        await c.send('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-random');
        // No time limit: the whole eviction runs in the first performEvictions.
        await c.send('CONFIG', 'SET', 'maxmemory-eviction-tenacity', '100');
        await c.send('CONFIG', 'SET', 'latency-monitor-threshold', '10');
        await c.send('CONFIG', 'SET', 'slowlog-log-slower-than', '10000');
        const info = replyText(await c.send('INFO', 'memory'));
        const used = Number(/used_memory:(\d+)/.exec(info)?.[1]);
        await c.send('CONFIG', 'SET', 'maxmemory', String(used + 4_000_000));
        await c.send('LATENCY', 'RESET');
        await c.send('SLOWLOG', 'RESET');
        // DEBUG POPULATE may go over maxmemory (it is not denyoom); the PING read with it then
        // finds memory over the limit and evicts first.
        const replies = await pipelined(server.port, '*3\r\n$5\r\nDEBUG\r\n$8\r\nPOPULATE\r\n$6\r\n300000\r\n*1\r\n$4\r\nPING\r\n', 2);
        expect(replies).toBe('+OK\r\n+PONG\r\n');
        await c.send('CONFIG', 'SET', 'maxmemory', '0');
        // A slow log entry: [id, time, duration, arguments, ...]; a LATENCY LATEST row: [event, ...].
        const slow = rows(await c.send('SLOWLOG', 'GET')).map((e) => (e[3] as { v: Reply[] }).v.map(str).join(' '));
        const events = rows(await c.send('LATENCY', 'LATEST')).map((e) => str(e[0]));
        seen[label] = { slow, commandEvents: events.filter((e) => e === 'command' || e === 'fast-command') };
      } finally {
        await c.send('CONFIG', 'SET', 'maxmemory', '0');
        await c.send('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
        await c.send('CONFIG', 'SET', 'maxmemory-eviction-tenacity', '10');
        await c.send('CONFIG', 'SET', 'slowlog-log-slower-than', '10000');
        await c.send('FLUSHALL');
        c.close();
      }
    }
    expect(seen.redis).toEqual({ slow: ['DEBUG POPULATE 300000'], commandEvents: ['command'] });
    expect(seen.keyfork).toEqual(seen.redis);
  }, 120_000);
});

// What INFO, the slow log and the latency histograms say about a blocked command once it is
// served or unblocked (Redis 7.0's updateStatsOnUnblock), against the real redis-server: one
// call per command however often keyfork runs it again, its latency and slow log entry when it
// is served, and the error a blocked client gets (CLIENT UNBLOCK ERROR, NOGROUP) in errorstats,
// failed_calls and total_error_replies. With them, the other differences Redis 7.0.15's own
// test suite found in this area: ACL SETUSER redacted in the slow log, EXEC of a queue that a
// stale replica must refuse, and pub/sub clients killed when `allchannels` is revoked.
// Found by tests/unit/info.tcl, slowlog.tcl, multi.tcl, acl.tcl and type/stream-cgroups.tcl.
import { expect, it } from 'vitest';
import { describeDifferential, sameOnBoth, useBothServers, withConns, type BothServers } from '../helpers/diff';
import { untilBlocked } from '../helpers/blocking';
import { replyText } from '../helpers/info';
import { formatReply, RawConnection, type Reply } from '../helpers/resp';

let servers: BothServers;

/** The INFO `section` lines starting with `prefix`, with timing figures masked. */
async function infoLines(conn: RawConnection, section: string, prefix: string): Promise<string[]> {
  const text = replyText(await conn.send('INFO', section));
  return text
    .split('\r\n')
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.replace(/usec=\d+/, 'usec=*').replace(/usec_per_call=[\d.]+/, 'usec_per_call=*').replace(/=[\d.]+(,|$)/g, (m, end) => (l.startsWith('latency_') ? `=*${end}` : m)));
}

const clientId = async (c: RawConnection) => {
  const r = await c.send('CLIENT', 'ID');
  return r.t === 'int' ? String(r.v) : '';
};

describeDifferential('statistics of blocked commands once served or unblocked', () => {
  useBothServers((s) => (servers = s));

  it('a served BLPOP is one call, with its latency percentiles (latencystats: blocking commands)', async () => {
    const log = await sameOnBoth(servers, (port) => withConns(port, 2, async ([admin, waiter]) => {
      const log: string[] = [];
      await admin.send('FLUSHALL');
      await admin.send('CONFIG', 'RESETSTAT');
      await admin.send('CONFIG', 'SET', 'latency-tracking', 'yes');
      await admin.send('CONFIG', 'SET', 'latency-tracking-info-percentiles', '50.0 99.0 99.9');
      for (const value of ['a', 'b']) {
        waiter.write('*3\r\n$5\r\nBLPOP\r\n$5\r\nlist1\r\n$1\r\n0\r\n');
        await untilBlocked(admin, 1);
        await admin.send('LPUSH', 'list1', value);
        log.push(formatReply(await waiter.readReply()));
      }
      log.push(...(await infoLines(admin, 'commandstats', 'cmdstat_blpop')));
      log.push(...(await infoLines(admin, 'latencystats', 'latency_percentiles_usec_blpop')));
      return log;
    }));
    expect(log.join('\n')).toContain('cmdstat_blpop:calls=2,');
    expect(log.join('\n')).toMatch(/latency_percentiles_usec_blpop:p50=\*,p99=\*,p99\.9=\*/);
  });

  it('CLIENT UNBLOCK ERROR counts the UNBLOCKED error and a failed call (errorstats: blocking commands)', async () => {
    const log = await sameOnBoth(servers, (port) => withConns(port, 2, async ([admin, waiter]) => {
      const log: string[] = [];
      await admin.send('FLUSHALL');
      await admin.send('CONFIG', 'RESETSTAT');
      const id = await clientId(waiter);
      waiter.write('*3\r\n$5\r\nBLPOP\r\n$5\r\nlist1\r\n$1\r\n0\r\n');
      await untilBlocked(admin, 1);
      log.push(formatReply(await admin.send('CLIENT', 'UNBLOCK', id, 'ERROR')));
      log.push(formatReply(await waiter.readReply()));
      // UNBLOCK TIMEOUT: a null reply, yet Redis 7.0.15 counts a failed call all the same.
      waiter.write('*3\r\n$5\r\nBLPOP\r\n$5\r\nlist1\r\n$1\r\n0\r\n');
      await untilBlocked(admin, 1);
      log.push(formatReply(await admin.send('CLIENT', 'UNBLOCK', id, 'TIMEOUT')));
      log.push(formatReply(await waiter.readReply()));
      log.push(...(await infoLines(admin, 'errorstats', 'errorstat_')));
      log.push(...(await infoLines(admin, 'commandstats', 'cmdstat_blpop')));
      log.push(...(await infoLines(admin, 'stats', 'total_error_replies')));
      return log;
    }));
    expect(log).toContain('errorstat_UNBLOCKED:count=1');
    expect(log).toContain('total_error_replies:1');
    expect(log.join('\n')).toMatch(/cmdstat_blpop:calls=2,.*rejected_calls=0,failed_calls=2/);
  });

  it('XGROUP DESTROY answering a blocked XREADGROUP with NOGROUP counts the error and the failed call', async () => {
    const log = await sameOnBoth(servers, (port) => withConns(port, 2, async ([admin, waiter]) => {
      const log: string[] = [];
      await admin.send('FLUSHALL');
      await admin.send('CONFIG', 'RESETSTAT');
      await admin.send('XGROUP', 'CREATE', 'mystream', 'mygroup', '$', 'MKSTREAM');
      const pending = waiter.send('XREADGROUP', 'GROUP', 'mygroup', 'Alice', 'BLOCK', '0', 'STREAMS', 'mystream', '>');
      await untilBlocked(admin, 1);
      log.push(formatReply(await admin.send('XGROUP', 'DESTROY', 'mystream', 'mygroup')));
      log.push(formatReply(await pending));
      log.push(...(await infoLines(admin, 'errorstats', 'errorstat_')));
      log.push(...(await infoLines(admin, 'commandstats', 'cmdstat_xreadgroup')));
      log.push(...(await infoLines(admin, 'stats', 'total_error_replies')));
      return log;
    }));
    expect(log).toContain('errorstat_NOGROUP:count=1');
    expect(log.join('\n')).toMatch(/cmdstat_xreadgroup:calls=1,.*failed_calls=1/);
  });

  it('a BLPOP served after SLOWLOG RESET is logged as sent, once it is served', async () => {
    const log = await sameOnBoth(servers, (port) => withConns(port, 2, async ([admin, waiter]) => {
      await admin.send('FLUSHALL');
      await admin.send('CONFIG', 'SET', 'slowlog-log-slower-than', '0');
      waiter.write('*3\r\n$5\r\nBLPOP\r\n$1\r\nl\r\n$1\r\n0\r\n');
      await untilBlocked(admin, 1);
      const replies = await admin.pipeline([['MULTI'], ['LPUSH', 'l', 'foo'], ['SLOWLOG', 'RESET'], ['EXEC']]);
      const served = formatReply(await waiter.readReply());
      const entries = await admin.send('SLOWLOG', 'GET');
      await admin.send('CONFIG', 'SET', 'slowlog-log-slower-than', '10000');
      const first = entries.t === 'array' ? entries.v?.[0] : undefined;
      const newest = first?.t === 'array' && first.v ? formatReply(first.v[3]) : formatReply(entries);
      return [...replies.map(formatReply), served, newest];
    }));
    expect(log.at(-1)).toBe('1) "BLPOP"\n2) "l"\n3) "0"');
  });

  it('ACL SETUSER is in the slow log with its user name and rules redacted, failed or not', async () => {
    const log = await sameOnBoth(servers, (port) => withConns(port, 1, async ([admin]) => {
      await admin.send('CONFIG', 'SET', 'slowlog-log-slower-than', '0');
      await admin.send('SLOWLOG', 'RESET');
      const failed = formatReply(await admin.send('ACL', 'SETUSER', 'slowlog test user', '+get', '+set'));
      await admin.send('ACL', 'SETUSER', 'slowlog-test-user', '+get', '+set');
      await admin.send('CONFIG', 'SET', 'slowlog-log-slower-than', '-1');
      const entries = await admin.send('SLOWLOG', 'GET');
      await admin.send('ACL', 'DELUSER', 'slowlog-test-user');
      await admin.send('CONFIG', 'SET', 'slowlog-log-slower-than', '10000');
      const args = entries.t === 'array' && entries.v ? entries.v.map((e: Reply) => (e.t === 'array' && e.v ? formatReply(e.v[3]) : '?')) : [];
      return [failed, ...args];
    }));
    expect(log.join('\n')).toContain('(redacted)');
  });
});

describeDifferential('EXEC on a stale replica, subscribers losing allchannels', () => {
  useBothServers((s) => (servers = s));

  it('EXEC of a queue with a command a stale replica refuses aborts with MASTERDOWN', async () => {
    const log = await sameOnBoth(servers, (port) => withConns(port, 2, async ([r, r1]) => {
      const log: string[] = [];
      await r.send('CONFIG', 'SET', 'replica-serve-stale-data', 'no');
      await r.send('SET', 'xx', '1');
      try {
        for (const queued of [['GET', 'xx'], ['PING']]) {
          await r.send('MULTI');
          log.push(formatReply(await r.send(...queued)));
          // A master that cannot be reached: the link stays down.
          await r1.send('REPLICAOF', 'localhsot', '0');
          log.push(formatReply(await r.send('EXEC')));
          await r1.send('REPLICAOF', 'NO', 'ONE');
        }
        // Queued while a master, EXEC once the link is down: INFO is allowed on a stale replica.
        await r.send('MULTI');
        await r.send('INFO', 'server');
        await r1.send('REPLICAOF', 'localhsot', '0');
        const exec = await r.send('EXEC');
        log.push(exec.t === 'array' && exec.v ? `array of ${exec.v.length}` : formatReply(exec));
      } finally {
        await r1.send('REPLICAOF', 'NO', 'ONE');
        await r.send('CONFIG', 'SET', 'replica-serve-stale-data', 'yes');
      }
      return log;
    }));
    expect(log.join('\n')).toContain('EXECABORT Transaction discarded because of: MASTERDOWN');
  });

  it('a pattern subscriber is killed when its user loses allchannels', async () => {
    await sameOnBoth(servers, (port) => withConns(port, 2, async ([admin, sub]) => {
      const log: string[] = [];
      await admin.send('ACL', 'SETUSER', 'psuser', 'on', '>pspass', '+@all', '~*', 'allchannels');
      log.push(formatReply(await sub.send('AUTH', 'psuser', 'pspass')));
      await sub.send('CLIENT', 'SETNAME', 'deathrow');
      log.push(formatReply(await sub.send('PSUBSCRIBE', 'foo')));
      await admin.send('ACL', 'SETUSER', 'psuser', 'resetchannels');
      const list = replyText(await admin.send('CLIENT', 'LIST'));
      log.push(`deathrow listed: ${list.includes('name=deathrow')}`);
      await admin.send('ACL', 'DELUSER', 'psuser');
      expect(log.at(-1)).toBe('deathrow listed: false');
      return log;
    }));
  });
});

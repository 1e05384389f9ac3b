// The latency monitor's events other than "command", side by side with redis-server 7.0: with
// latency-monitor-threshold 1 each action below takes well over a millisecond on both servers,
// so both must record the same events (names), with LATENCY LATEST's and HISTORY's reply
// shapes. Durations differ between the two and are not compared; each is at least the
// threshold, and fork's is INFO's latest_fork_usec in whole milliseconds (Redis's rule).
//
// The file-system steps (aof-rename, aof-fstat, rdb-unlink-temp-file) take microseconds on
// any disk, and 1 ms is the lowest threshold Redis accepts (0 turns the monitor off): those
// tests run both servers under strace with the system call that Redis times held for
// DELAY_US before it runs, so the step is slow on both whatever the machine.
import { expect, it } from 'vitest';
import { describeDifferential, type BothServers, useBothServers } from '../helpers/diff';
import { formatReply, RawConnection, type Reply } from '../helpers/resp';
import { type RunningServer } from '../helpers/servers';
import { describeTraced, type Labelled, withDelayedSyscalls } from '../helpers/strace';
import { infoNumber as infoField, replyText as text, until } from '../helpers/info';

let servers: BothServers;
const both = (): Labelled[] => [['keyfork', servers.keyfork], ['redis', servers.redis]];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface LatestRow {
  event: string;
  time: number;
  latency: number;
  max: number;
}

/** LATENCY LATEST, each row checked to be [bulk event, int time, int latest, int all-time max]. */
async function latest(conn: RawConnection): Promise<Map<string, LatestRow>> {
  const reply = await conn.send('LATENCY', 'LATEST');
  if (reply.t !== 'array' || reply.v === null) throw new Error(`LATENCY LATEST: ${formatReply(reply)}`);
  const rows = new Map<string, LatestRow>();
  for (const row of reply.v) {
    const shape = row.t === 'array' && row.v !== null ? row.v.map((f) => f.t) : [];
    expect(shape, formatReply(row)).toEqual(['bulk', 'int', 'int', 'int']);
    const [event, time, latency, max] = (row as { v: Reply[] }).v;
    rows.set(text(event), { event: text(event), time: Number((time as { v: number }).v), latency: Number((latency as { v: number }).v), max: Number((max as { v: number }).v) });
  }
  return rows;
}

/** LATENCY HISTORY `event`: [time, latency] pairs, each checked to be two integers. */
async function history(conn: RawConnection, event: string): Promise<Array<[number, number]>> {
  const reply = await conn.send('LATENCY', 'HISTORY', event);
  if (reply.t !== 'array' || reply.v === null) throw new Error(`LATENCY HISTORY ${event}: ${formatReply(reply)}`);
  return reply.v.map((pair) => {
    const shape = pair.t === 'array' && pair.v !== null ? pair.v.map((f) => f.t) : [];
    expect(shape, formatReply(pair)).toEqual(['int', 'int']);
    const [time, latency] = (pair as { v: Array<{ v: number }> }).v;
    return [Number(time.v), Number(latency.v)];
  });
}

/**
 * Runs `action` on each server (one after the other: they share two cores) after LATENCY RESET,
 * and returns which of `events` each recorded, checking that every recorded sample of them is
 * at least the threshold and its time is the last HISTORY entry's.
 */
async function recorded(events: string[], action: (conn: RawConnection, server: RunningServer) => Promise<void>, pair: Labelled[] = both()): Promise<string[][]> {
  const seen: string[][] = [];
  for (const [label, server] of pair) {
    const conn = await RawConnection.connect(server.port, { replyTimeoutMs: 30_000 });
    try {
      expect(await conn.send('CONFIG', 'SET', 'latency-monitor-threshold', '1')).toEqual({ t: 'simple', v: 'OK' });
      await conn.send('LATENCY', 'RESET');
      await action(conn, server);
      seen.push(await recordedNow(conn, events, label));
    } finally {
      await conn.send('FLUSHALL').catch(() => undefined);
      conn.close();
    }
  }
  return seen;
}

/** Which of `events` LATENCY LATEST shows now, each checked against its HISTORY. */
async function recordedNow(conn: RawConnection, events: string[], label: string): Promise<string[]> {
  const rows = await latest(conn);
  const names: string[] = [];
  for (const event of events) {
    const row = rows.get(event);
    if (!row) continue;
    names.push(event);
    const samples = await history(conn, event);
    expect(samples.length, `${label} ${event}`).toBeGreaterThan(0);
    expect(samples.every(([, ms]) => ms >= 1)).toBe(true);
    expect(samples[samples.length - 1], `${label} ${event}`).toEqual([row.time, row.latency]);
    expect(row.max).toBe(Math.max(...samples.map(([, ms]) => ms)));
  }
  return names;
}


describeDifferential('LATENCY events other than "command" vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] } });

  it('BGSAVE of a million keys is a "fork" event, of latest_fork_usec whole milliseconds', async () => {
    const seen = await recorded(['fork'], async (conn) => {
      expect(await conn.send('DEBUG', 'POPULATE', '1000000')).toEqual({ t: 'simple', v: 'OK' });
      expect(text(await conn.send('BGSAVE'))).toBe('Background saving started');
      expect(await until(async () => (await infoField(conn, 'persistence', 'rdb_bgsave_in_progress')) === 0, 20_000)).toBe(true);
      const forkUsec = await infoField(conn, 'stats', 'latest_fork_usec');
      const samples = await history(conn, 'fork');
      expect(samples.map(([, ms]) => ms), `latest_fork_usec ${forkUsec}`).toEqual([Math.floor(forkUsec / 1000)]);
    });
    expect(seen).toEqual([['fork'], ['fork']]);
  }, 120_000);

  it('active expiry of 200k keys is an "expire-cycle" event', async () => {
    const seen = await recorded(['expire-cycle'], async (conn) => {
      await conn.send('EVAL', "for i = 1, 200000 do redis.call('SET', 'e' .. i, 'v', 'PX', 100) end", '0');
      expect(await until(async () => formatReply(await conn.send('DBSIZE')) === formatReply({ t: 'int', v: 0 }), 10_000)).toBe(true);
    });
    expect(seen).toEqual([['expire-cycle'], ['expire-cycle']]);
  }, 60_000);

  it('the deletion of an expired set of 300k members is an "expire-del" event (lazyfree-lazy-expire no)', async () => {
    const seen = await recorded(['expire-del'], async (conn) => {
      await conn.send('EVAL', "for i = 1, 300000 do redis.call('SADD', 'big', 'member:' .. i) end", '0');
      expect(await conn.send('PEXPIRE', 'big', '1')).toEqual({ t: 'int', v: 1 });
      await sleep(20);
      // The lookup deletes it (expireIfNeeded), if the active cycle did not already.
      expect(await conn.send('EXISTS', 'big')).toEqual({ t: 'int', v: 0 });
      // keyfork's cron takes the addon's measurement (hz 10).
      await sleep(300);
    });
    expect(seen).toEqual([['expire-del'], ['expire-del']]);
  }, 60_000);

  const aofEvents = ['aof-write', 'aof-write-alone', 'aof-write-active-child', 'aof-write-pending-fsync', 'aof-fsync-always'];
  /** No rewrite child and no background fsync left, then LATENCY RESET: the next write is "alone". */
  const quiet = async (conn: RawConnection) => {
    expect(await until(async () => {
      const info = text(await conn.send('INFO', 'persistence'));
      return /aof_rewrite_in_progress:0/.test(info) && /aof_rewrite_scheduled:0/.test(info) && /aof_pending_bio_fsync:0/.test(info);
    }, 20_000)).toBe(true);
    await conn.send('LATENCY', 'RESET');
  };
  const bigWrite = ['EVAL', "redis.call('SET', 'big', string.rep('x', 64 * 1024 * 1024))", '0'];
  /** The AOF off again on both servers (and the save delay a test set back to 0). */
  const aofOff = async () => {
    for (const [, server] of both()) {
      const conn = await RawConnection.connect(server.port);
      await conn.send('CONFIG', 'SET', 'appendonly', 'no');
      await conn.send('CONFIG', 'SET', 'appendfsync', 'everysec');
      await conn.send('CONFIG', 'SET', 'rdb-key-save-delay', '0');
      conn.close();
    }
  };

  it('a 64 MB AOF write is an "aof-write" and "aof-write-alone" event; appendfsync always adds "aof-fsync-always"', async () => {
    try {
      const everysec = await recorded(aofEvents, async (conn) => {
        await conn.send('CONFIG', 'SET', 'auto-aof-rewrite-percentage', '0');
        expect(await conn.send('CONFIG', 'SET', 'appendonly', 'yes')).toEqual({ t: 'simple', v: 'OK' });
        await quiet(conn);
        expect(await conn.send(...bigWrite)).toEqual({ t: 'bulk', v: null });
      });
      expect(everysec).toEqual([['aof-write', 'aof-write-alone'], ['aof-write', 'aof-write-alone']]);
      const always = await recorded(aofEvents, async (conn) => {
        expect(await conn.send('CONFIG', 'SET', 'appendfsync', 'always')).toEqual({ t: 'simple', v: 'OK' });
        await quiet(conn);
        expect(await conn.send(...bigWrite)).toEqual({ t: 'bulk', v: null });
      });
      expect(always).toEqual([['aof-write', 'aof-write-alone', 'aof-fsync-always'], ['aof-write', 'aof-write-alone', 'aof-fsync-always']]);
    } finally {
      await aofOff();
    }
  }, 120_000);

  it('a 64 MB AOF write while a BGSAVE child runs is an "aof-write-active-child" event', async () => {
    try {
      const seen = await recorded(aofEvents, async (conn) => {
        await conn.send('CONFIG', 'SET', 'auto-aof-rewrite-percentage', '0');
        expect(await conn.send('CONFIG', 'SET', 'appendonly', 'yes')).toEqual({ t: 'simple', v: 'OK' });
        await quiet(conn);
        // A child that outlives the write: 1000 keys at 1 s each (the FLUSHALL after the
        // action stops it). DEBUG POPULATE is not propagated: the AOF gets nothing before the write.
        expect(await conn.send('DEBUG', 'POPULATE', '1000')).toEqual({ t: 'simple', v: 'OK' });
        expect(await conn.send('CONFIG', 'SET', 'rdb-key-save-delay', '1000000')).toEqual({ t: 'simple', v: 'OK' });
        expect(text(await conn.send('BGSAVE'))).toBe('Background saving started');
        expect(await conn.send(...bigWrite)).toEqual({ t: 'bulk', v: null });
        expect(await infoField(conn, 'persistence', 'rdb_bgsave_in_progress')).toBe(1);
      });
      expect(seen).toEqual([['aof-write', 'aof-write-active-child'], ['aof-write', 'aof-write-active-child']]);
    } finally {
      await aofOff();
    }
  }, 120_000);

  it('evicting a set of 300k members is an "eviction-del" event inside an "eviction-cycle" one (lazyfree-lazy-eviction no)', async () => {
    const seen = await recorded(['eviction-cycle', 'eviction-del'], async (conn) => {
      // Freeing 300k members one by one takes milliseconds on any machine (Redis: dbSyncDelete).
      await conn.send('EVAL', "for i = 1, 300000 do redis.call('SADD', 'big', 'member:' .. i) end", '0');
      try {
        expect(await conn.send('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-random')).toEqual({ t: 'simple', v: 'OK' });
        // Far below what the server uses: CONFIG SET evicts at once (updateMaxmemory), and the
        // set is the only key.
        expect(await conn.send('CONFIG', 'SET', 'maxmemory', '1')).toEqual({ t: 'simple', v: 'OK' });
        expect(await conn.send('EXISTS', 'big')).toEqual({ t: 'int', v: 0 });
      } finally {
        await conn.send('CONFIG', 'SET', 'maxmemory', '0');
        await conn.send('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
      }
      // keyfork's cron takes the addon's measurements (hz 10).
      await sleep(300);
    });
    expect(seen).toEqual([['eviction-cycle', 'eviction-del'], ['eviction-cycle', 'eviction-del']]);
  }, 60_000);

  it('waiting for the lazy free thread when nothing is left to evict is an "eviction-lazyfree" event (FLUSHDB ASYNC of 500k keys, volatile-lru)', async () => {
    const seen = await recorded(['eviction-lazyfree'], async (conn) => {
      expect(await conn.send('DEBUG', 'POPULATE', '500000')).toEqual({ t: 'simple', v: 'OK' });
      try {
        // No key has a TTL: volatile-lru finds nothing to evict; tenacity 100 takes the time
        // limit off performEvictions' wait for the lazy free thread (cant_free).
        expect(await conn.send('CONFIG', 'SET', 'maxmemory-policy', 'volatile-lru')).toEqual({ t: 'simple', v: 'OK' });
        expect(await conn.send('CONFIG', 'SET', 'maxmemory-eviction-tenacity', '100')).toEqual({ t: 'simple', v: 'OK' });
        expect(await conn.send('CONFIG', 'SET', 'maxmemory', '1')).toEqual({ t: 'simple', v: 'OK' });
        // The lazy free thread takes a few hundred ms over 500k keys: the next command's
        // eviction waits for it (and memory stays over maxmemory 1 all the same). FLUSHDB, not
        // FLUSHALL: FLUSHALL saves the RDB under save points (keyfork's defaults here), and the
        // lazy free thread is done before its reply.
        expect(await conn.send('FLUSHDB', 'ASYNC')).toEqual({ t: 'simple', v: 'OK' });
        expect(await conn.send('PING')).toEqual({ t: 'simple', v: 'PONG' });
      } finally {
        await conn.send('CONFIG', 'SET', 'maxmemory', '0');
        await conn.send('CONFIG', 'SET', 'maxmemory-eviction-tenacity', '10');
        await conn.send('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
      }
      // keyfork's cron takes the addon's measurements (hz 10).
      await sleep(300);
    });
    expect(seen).toEqual([['eviction-lazyfree'], ['eviction-lazyfree']]);
  }, 60_000);
});


describeTraced('LATENCY file-system events vs redis-server 7.0, the system call held by strace', () => {
  /** Sets a key, runs BGREWRITEAOF and waits for it to have succeeded. */
  const rewrite = async (conn: RawConnection) => {
    await conn.send('SET', 'k', 'v');
    expect(text(await conn.send('BGREWRITEAOF'))).toBe('Background append only file rewriting started');
    expect(await until(async () => {
      const info = text(await conn.send('INFO', 'persistence'));
      return /aof_rewrite_in_progress:0/.test(info) && /aof_rewrite_scheduled:0/.test(info);
    }, 20_000)).toBe(true);
    expect(text(await conn.send('INFO', 'persistence'))).toMatch(/aof_last_bgrewrite_status:ok/);
  };

  it('opening the AOF at start-up is "aof-fstat", and so is a BGREWRITEAOF (the size of its new base file)', async () => {
    // Only the stats of the AOF's own files are held (strace -P), not every stat of a start-up.
    const aofFiles = ['appendonly.aof.1.base.rdb', 'appendonly.aof.1.incr.aof', 'appendonly.aof.2.base.rdb', 'appendonly.aof.2.incr.aof'];
    const paths = aofFiles.map((f) => `appendonlydir/${f}`);
    await withDelayedSyscalls(['stat', 'newfstatat', 'statx', 'lstat'], paths, ['--appendonly', 'yes', '--latency-monitor-threshold', '1'], async (pair) => {
      // getAppendOnlyFileSize of the incr file opened at start-up (aofOpenIfNeededOnServerStart).
      const atStart: string[][] = [];
      for (const [label, server] of pair) {
        const conn = await RawConnection.connect(server.port);
        try {
          atStart.push(await recordedNow(conn, ['aof-fstat'], label));
        } finally {
          conn.close();
        }
      }
      expect(atStart).toEqual([['aof-fstat'], ['aof-fstat']]);
      expect(await recorded(['aof-fstat'], rewrite, pair)).toEqual([['aof-fstat'], ['aof-fstat']]);
    });
  }, 90_000);

  it('a BGREWRITEAOF renaming its file into place is "aof-rename"', async () => {
    // strace -P would match a rename's source only (temp-rewriteaof-bg-<pid>.aof): every rename
    // is held; the servers rename little else (their AOF manifest).
    await withDelayedSyscalls(['rename', 'renameat', 'renameat2'], [], ['--appendonly', 'yes'], async (pair) => {
      expect(await recorded(['aof-rename'], rewrite, pair)).toEqual([['aof-rename'], ['aof-rename']]);
    });
  }, 90_000);

  it('a BGSAVE stopped by FLUSHALL is "rdb-unlink-temp-file" (its temp file removed)', async () => {
    await withDelayedSyscalls(['unlink', 'unlinkat'], [], [], async (pair) => {
      const seen = await recorded(['rdb-unlink-temp-file'], async (conn) => {
        expect(await conn.send('DEBUG', 'POPULATE', '20000')).toEqual({ t: 'simple', v: 'OK' });
        // 20k keys at 1 ms each: the child is still writing when FLUSHALL kills it.
        expect(await conn.send('CONFIG', 'SET', 'rdb-key-save-delay', '1000')).toEqual({ t: 'simple', v: 'OK' });
        expect(text(await conn.send('BGSAVE'))).toBe('Background saving started');
        expect(await infoField(conn, 'persistence', 'rdb_bgsave_in_progress')).toBe(1);
        expect(await conn.send('FLUSHALL')).toEqual({ t: 'simple', v: 'OK' });
        expect(await until(async () => (await infoField(conn, 'persistence', 'rdb_bgsave_in_progress')) === 0, 20_000)).toBe(true);
        // SIGUSR1 is how the server stops its own child: not a failed save.
        expect(text(await conn.send('INFO', 'persistence'))).toMatch(/rdb_last_bgsave_status:ok/);
      }, pair);
      expect(seen).toEqual([['rdb-unlink-temp-file'], ['rdb-unlink-temp-file']]);
    });
  }, 90_000);
});

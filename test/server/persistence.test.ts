// SAVE / BGSAVE / LASTSAVE / save rules / FLUSHALL / SHUTDOWN / DEBUG RELOAD / start-up load
// on a real keyfork process with a real fork, checked against redis-server 7.0 where the
// behaviour is observable the same way on both.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { RawConnection } from '../helpers/resp';
import { startKeyfork, startRedis, type RunningServer } from '../helpers/servers';
import {
  checkRdb,
  dumpPath,
  infoNames,
  infoSection,
  show,
  sleep,
  tempFiles,
  text,
  waitFor,
  waitForLog,
  waitSaveEnded,
} from './persistence-support';

const DEBUG = ['--enable-debug-command', 'yes'];
const MISCONF =
  "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/** Redis 7.0.15's INFO persistence of a server without AOF, field by field. */
const REDIS_PERSISTENCE_FIELDS = [
  'loading', 'async_loading', 'current_cow_peak', 'current_cow_size', 'current_cow_size_age', 'current_fork_perc',
  'current_save_keys_processed', 'current_save_keys_total', 'rdb_changes_since_last_save', 'rdb_bgsave_in_progress',
  'rdb_last_save_time', 'rdb_last_bgsave_status', 'rdb_last_bgsave_time_sec', 'rdb_current_bgsave_time_sec', 'rdb_saves',
  'rdb_last_cow_size', 'rdb_last_load_keys_expired', 'rdb_last_load_keys_loaded', 'aof_enabled', 'aof_rewrite_in_progress',
  'aof_rewrite_scheduled', 'aof_last_rewrite_time_sec', 'aof_current_rewrite_time_sec', 'aof_last_bgrewrite_status',
  'aof_rewrites', 'aof_rewrites_consecutive_failures', 'aof_last_write_status', 'aof_last_cow_size',
  'module_fork_in_progress', 'module_fork_last_cow_size',
];

/**
 * One scripted BGSAVE conversation: a save made slow by rdb-key-save-delay, every command
 * that meets it, then its end. Returns the replies and the INFO fields that must agree.
 */
async function bgsaveConversation(server: RunningServer): Promise<string[]> {
  const c = await RawConnection.connect(server.port);
  const seen: string[] = [];
  const say = async (...args: string[]) => seen.push(`${args.join(' ')} -> ${show(await c.send(...args))}`);
  try {
    await say('DEBUG', 'POPULATE', '2000');
    await say('CONFIG', 'SET', 'rdb-key-save-delay', '1000'); // about 2 s of saving
    await say('BGSAVE', 'bogus');
    await say('BGSAVE', 'SCHEDULE', 'extra');
    await say('BGSAVE');
    await say('BGSAVE');
    await say('BGSAVE', 'SCHEDULE');
    await say('SAVE');
    const running = await infoSection(c);
    for (const f of ['rdb_bgsave_in_progress', 'rdb_saves', 'current_save_keys_total', 'rdb_last_bgsave_status']) {
      seen.push(`during: ${f}:${running.get(f)}`);
    }
    const after = await waitSaveEnded(c);
    for (const f of ['rdb_bgsave_in_progress', 'rdb_saves', 'current_save_keys_total', 'rdb_last_bgsave_status', 'rdb_changes_since_last_save', 'rdb_current_bgsave_time_sec']) {
      seen.push(`after: ${f}:${after.get(f)}`);
    }
    seen.push(`after: rdb_last_bgsave_time_sec >= 1: ${Number(after.get('rdb_last_bgsave_time_sec')) >= 1}`);
    await say('CONFIG', 'SET', 'rdb-key-save-delay', '0');
    await say('SAVE');
    await say('DBSIZE');
    return seen;
  } finally {
    c.close();
  }
}

describeDifferential('persistence, side by side with redis-server', () => {
  it('BGSAVE, BGSAVE SCHEDULE and SAVE answer as Redis in every state of a save', async () => {
    const [keyfork, redis] = await Promise.all([startKeyfork({ args: ['--save', '', ...DEBUG] }), startRedis()]);
    try {
      const [k, r] = await Promise.all([bgsaveConversation(keyfork), bgsaveConversation(redis)]);
      expect(k).toEqual(r);
      expect(k).toContain('BGSAVE -> +Background saving started');
      expect(checkRdb(dumpPath(keyfork))).toMatchObject({ ok: true });
    } finally {
      await Promise.all([keyfork.stop(), redis.stop()]);
    }
  }, 60_000);

  it('INFO persistence has Redis 7.0 fields in Redis order, keyfork fields after them', async () => {
    const [keyfork, redis] = await Promise.all([startKeyfork({ args: ['--save', ''] }), startRedis()]);
    try {
      const [k, r] = await Promise.all([keyfork, redis].map(async (s) => {
        const c = await RawConnection.connect(s.port);
        try {
          return await infoNames(c);
        } finally {
          c.close();
        }
      }));
      expect(r).toEqual(REDIS_PERSISTENCE_FIELDS);
      expect(k.slice(0, r.length)).toEqual(r);
      expect(k.slice(r.length).every((n) => n.startsWith('keyfork_'))).toBe(true);
      expect(k).toEqual(expect.arrayContaining(['keyfork_save_progress_perc', 'keyfork_save_eta_sec', 'keyfork_save_bytes_written']));
    } finally {
      await Promise.all([keyfork.stop(), redis.stop()]);
    }
  });

  it('FLUSHALL saves when save rules exist and stops a running save, as Redis does', async () => {
    const script = async (server: RunningServer): Promise<string[]> => {
      const c = await RawConnection.connect(server.port);
      const seen: string[] = [];
      const say = async (...args: string[]) => seen.push(`${args.join(' ')} -> ${show(await c.send(...args))}`);
      try {
        await say('CONFIG', 'SET', 'save', '');
        await say('DEBUG', 'POPULATE', '3000');
        await say('CONFIG', 'SET', 'rdb-key-save-delay', '1000');
        await say('BGSAVE');
        await sleep(200);
        await say('FLUSHALL');
        const i = await waitSaveEnded(c, 5000);
        seen.push(`no save rules: status ${i.get('rdb_last_bgsave_status')} dirty ${i.get('rdb_changes_since_last_save')} saves ${i.get('rdb_saves')}`);
        await say('CONFIG', 'SET', 'rdb-key-save-delay', '0');
        await say('CONFIG', 'SET', 'save', '3600 1');
        await say('SET', 'a', '1');
        await say('SET', 'b', '2');
        await say('FLUSHALL');
        const j = await infoSection(c);
        seen.push(`save rules: dirty ${j.get('rdb_changes_since_last_save')} saves ${j.get('rdb_saves')} status ${j.get('rdb_last_bgsave_status')}`);
        await say('FLUSHALL', 'bogus');
        return seen;
      } finally {
        c.close();
      }
    };
    const [keyfork, redis] = await Promise.all([startKeyfork({ args: ['--save', '', ...DEBUG] }), startRedis()]);
    try {
      const [k, r] = await Promise.all([script(keyfork), script(redis)]);
      expect(k).toEqual(r);
      await waitForLog(keyfork, /# Background saving terminated by signal 10\n/);
      expect(tempFiles(keyfork.dir)).toEqual([]);
      const check = checkRdb(dumpPath(keyfork));
      expect(check.ok, check.output).toBe(true);
      expect(check.output).toContain('0 keys read');
    } finally {
      await Promise.all([keyfork.stop(), redis.stop()]);
    }
  }, 60_000);

  it('a dump written by keyfork loads into redis-server with the same contents', async () => {
    const keyfork = await startKeyfork({ args: ['--save', '', ...DEBUG] });
    const redisDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-test-interop-'));
    let redis: RunningServer | null = null;
    try {
      const c = await RawConnection.connect(keyfork.port);
      await c.send('DEBUG', 'POPULATE', '500', 'key', '20');
      await c.send('SET', 'bin', Buffer.from([0, 1, 2, 255]));
      await c.send('HSET', 'h', 'f1', 'v1', 'f2', '123');
      await c.send('SADD', 's', '1', '2', '3', 'x');
      await c.send('SET', 'ttl', 'v', 'EX', '1000');
      const digest = text(await c.send('DEBUG', 'DIGEST'));
      expect(show(await c.send('BGSAVE'))).toBe('+Background saving started');
      await waitSaveEnded(c);
      c.close();
      fs.copyFileSync(dumpPath(keyfork), path.join(redisDir, 'dump.rdb'));
      redis = await startRedis({ dir: redisDir });
      const rc = await RawConnection.connect(redis.port);
      expect(text(await rc.send('DEBUG', 'DIGEST'))).toBe(digest);
      expect(show(await rc.send('DBSIZE'))).toBe(':504');
      rc.close();
    } finally {
      await Promise.all([keyfork.stop(), redis?.stop()]);
      fs.rmSync(redisDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('persistence on keyfork', () => {
  let server: RunningServer;
  let conn: RawConnection;
  beforeAll(async () => {
    server = await startKeyfork({ args: ['--save', '', ...DEBUG] });
    conn = await RawConnection.connect(server.port);
  });
  afterAll(async () => {
    conn?.close();
    await server?.stop();
  });

  it('logs a BGSAVE as Redis: started by pid, the child lines as role C, success', async () => {
    await conn.send('SET', 'k', 'v');
    expect(show(await conn.send('BGSAVE'))).toBe('+Background saving started');
    const [, pid] = await waitForLog(server, /\d+:M [^\n]* \* Background saving started by pid (\d+)\n/);
    await waitForLog(server, /:M [^\n]* \* Background saving terminated with success\n/);
    const out = server.output();
    expect(out).toMatch(new RegExp(`\\n${pid}:C \\d\\d \\w{3} \\d{4} \\d\\d:\\d\\d:\\d\\d\\.\\d{3} \\* DB saved on disk\\n`));
    expect(out).toMatch(new RegExp(`\\n${pid}:C [^\\n]* \\* Fork CoW for RDB: current \\d+ MB, peak \\d+ MB, average \\d+ MB\\n`));
    const stats = await infoSection(conn, 'stats');
    expect(Number(stats.get('total_forks'))).toBeGreaterThanOrEqual(1);
    expect(Number(stats.get('latest_fork_usec'))).toBeGreaterThan(0);
    const info = await infoSection(conn);
    expect(info.get('rdb_changes_since_last_save')).toBe('0');
    expect(show(await conn.send('LASTSAVE'))).toBe(`:${info.get('rdb_last_save_time')}`);
  });

  it('shows the running save: keys processed and total, bytes, ETA, elapsed time', async () => {
    await conn.send('FLUSHALL');
    await conn.send('DEBUG', 'POPULATE', '3000');
    await conn.send('CONFIG', 'SET', 'rdb-key-save-delay', '1000');
    try {
      await conn.send('CLIENT', 'SETNAME', 'nightly-backup');
      expect(show(await conn.send('BGSAVE'))).toBe('+Background saving started');
      const mid = await waitFor(async () => {
        const i = await infoSection(conn);
        return Number(i.get('current_save_keys_processed')) > 300 ? i : null;
      }, 'progress');
      expect(mid.get('rdb_bgsave_in_progress')).toBe('1');
      expect(mid.get('current_save_keys_total')).toBe('3000');
      expect(Number(mid.get('current_fork_perc'))).toBeGreaterThan(0);
      expect(Number(mid.get('keyfork_save_progress_perc'))).toBeGreaterThan(0);
      expect(Number(mid.get('keyfork_save_bytes_written'))).toBeGreaterThan(0);
      expect(Number(mid.get('keyfork_save_eta_sec'))).toBeGreaterThanOrEqual(0);
      expect(Number(mid.get('keyfork_save_elapsed_ms'))).toBeGreaterThan(0);
      expect(Number(mid.get('keyfork_save_child_pid'))).toBeGreaterThan(0);
      expect(Number(mid.get('rdb_current_bgsave_time_sec'))).toBeGreaterThanOrEqual(0);
      // What triggered it: this client, by address and name.
      expect(mid.get('keyfork_child_type')).toBe('rdb');
      expect(mid.get('keyfork_child_trigger')).toMatch(/^BGSAVE from 127\.0\.0\.1:\d+ \(name nightly-backup\)$/);
      expect(mid.get('keyfork_child_pid')).toBe(mid.get('keyfork_save_child_pid'));
      expect(Number(mid.get('keyfork_dir_free_bytes'))).toBeGreaterThan(0);
      const done = await waitSaveEnded(conn);
      expect(done.get('keyfork_child_type')).toBe('none');
      expect(done.get('keyfork_last_bgsave_trigger')).toBe(mid.get('keyfork_child_trigger'));
      expect(done.get('keyfork_last_save_trigger')).toBe(mid.get('keyfork_child_trigger'));
      expect(Number(done.get('keyfork_rdb_file_bytes'))).toBe(fs.statSync(dumpPath(server)).size);
      expect(done.get('rdb_last_bgsave_status')).toBe('ok');
      expect(done.get('keyfork_save_eta_sec')).toBe('-1');
      expect(done.get('current_save_keys_total')).toBe('0');
    } finally {
      await conn.send('CONFIG', 'SET', 'rdb-key-save-delay', '0');
    }
  }, 30_000);

  it('DEBUG RELOAD saves and loads the same dataset back', async () => {
    await conn.send('FLUSHALL');
    await conn.send('DEBUG', 'POPULATE', '100');
    await conn.send('HSET', 'h', 'a', '1');
    const digest = text(await conn.send('DEBUG', 'DIGEST'));
    expect(show(await conn.send('DEBUG', 'RELOAD'))).toBe('+OK');
    expect(text(await conn.send('DEBUG', 'DIGEST'))).toBe(digest);
    const info = await infoSection(conn);
    expect(info.get('rdb_last_load_keys_loaded')).toBe('101');
    expect(info.get('rdb_changes_since_last_save')).toBe('0');
    expect(show(await conn.send('DEBUG', 'RELOAD', 'bogus'))).toBe('-ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.');
    // NOSAVE loads the file as it is: a change since the save is gone after it.
    await conn.send('SET', 'later', '1');
    expect(show(await conn.send('DEBUG', 'RELOAD', 'NOSAVE'))).toBe('+OK');
    expect(show(await conn.send('EXISTS', 'later'))).toBe(':0');
    await waitForLog(server, /# DB reloaded by DEBUG RELOAD\n/);
  });
});

describe('save rules, restarts and shutdown', () => {
  it('a save rule starts a BGSAVE from the cron with Redis log line', async () => {
    const server = await startKeyfork({ args: ['--save', '1 1'] });
    try {
      const c = await RawConnection.connect(server.port);
      await c.send('SET', 'a', '1');
      await waitForLog(server, /\* 1 changes in 1 seconds\. Saving\.\.\.\n[^\n]*\* Background saving started by pid \d+\n/);
      await waitForLog(server, /Background saving terminated with success/);
      const info = await waitSaveEnded(c);
      expect(info.get('rdb_changes_since_last_save')).toBe('0');
      expect(info.get('rdb_saves')).toBe('1');
      c.close();
    } finally {
      await server.stop();
    }
  });

  it('CONFIG SET save takes effect at once', async () => {
    const server = await startKeyfork({ args: ['--save', ''] });
    try {
      const c = await RawConnection.connect(server.port);
      await c.send('SET', 'a', '1');
      await sleep(1500);
      expect((await infoSection(c)).get('rdb_saves')).toBe('0');
      expect(show(await c.send('CONFIG', 'SET', 'save', '1 1'))).toBe('+OK');
      await waitForLog(server, /\* 1 changes in 1 seconds\. Saving\.\.\./);
      c.close();
    } finally {
      await server.stop();
    }
  });

  it('restarts with the data of the last save; SIGTERM saves when save rules exist', async () => {
    const first = await startKeyfork({ args: ['--save', '3600 1'] });
    const dir = first.dir;
    const c = await RawConnection.connect(first.port);
    await c.send('SET', 'saved', 'by-save');
    expect(show(await c.send('SAVE'))).toBe('+OK');
    await c.send('SET', 'saved-at-exit', 'by-sigterm');
    c.close();
    expect(await first.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(first.output()).toMatch(/\* Saving the final RDB snapshot before exiting\.\n[^\n]*\* DB saved on disk\n/);

    const second = await startKeyfork({ dir, args: ['--save', ''] });
    try {
      const d = await RawConnection.connect(second.port);
      expect(show(await d.send('GET', 'saved'))).toBe('by-save');
      expect(show(await d.send('GET', 'saved-at-exit'))).toBe('by-sigterm');
      const info = await infoSection(d);
      expect(info.get('rdb_last_load_keys_loaded')).toBe('2');
      expect(second.output()).toMatch(/\* Done loading RDB, keys loaded: 2, keys expired: 0\.\n[^\n]*\* DB loaded from disk: \d+\.\d{3} seconds\n/);
      expect(second.output()).toMatch(/\* Loading RDB produced by version 7\.0\.15\n/);
      // SHUTDOWN NOSAVE leaves the file as it was.
      await d.send('SET', 'not-saved', '1');
      d.write('*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n');
      expect(await d.waitClose(5000)).toBe(true);
      await second.stop();
    } finally {
      await second.stop();
    }
    const third = await startKeyfork({ dir, args: ['--save', ''] });
    try {
      const e = await RawConnection.connect(third.port);
      expect(show(await e.send('EXISTS', 'not-saved'))).toBe(':0');
      expect(show(await e.send('DBSIZE'))).toBe(':2');
      e.close();
    } finally {
      await third.stop();
    }
  }, 60_000);

  it('refuses to start on a corrupt dump.rdb, as Redis does: redis-check-rdb\'s report, exit 1', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-test-corrupt-'));
    try {
      fs.writeFileSync(path.join(dir, 'dump.rdb'), 'REDIS0010\xfa\x09redis-ver');
      // The string's \xfa is written as UTF-8 (c3 ba): type byte 195. Measured on redis-server 7.0.15.
      await expect(startKeyfork({ dir, args: ['--save', ''] })).rejects.toThrow(
        /Unknown length encoding 2 in rdbLoadLen\(\)[^\n]*\n\[offset 0\] Checking RDB file dump\.rdb\n--- RDB ERROR DETECTED ---\n\[offset 10\] Invalid object type: 195\n\[additional info\] While doing: read-type\n\[additional info\] Reading type 0 \(string\)\n\[info\] 0 keys read/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('logs the overcommit warning exactly when vm.overcommit_memory is not 1', async () => {
    const server = await startKeyfork({ args: ['--save', ''] });
    try {
      const overcommit = fs.readFileSync('/proc/sys/vm/overcommit_memory', 'utf8').trim();
      const warned = /# WARNING Memory overcommit must be enabled! Without it, a background save or replication may fail under low memory condition\. To fix this issue add 'vm\.overcommit_memory = 1' to \/etc\/sysctl\.conf and then reboot or run the command 'sysctl vm\.overcommit_memory=1' for this to take effect\.\n/.test(server.output());
      expect(warned).toBe(overcommit !== '1');
      const thp = fs.existsSync('/sys/kernel/mm/transparent_hugepage/enabled')
        ? fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8')
        : '';
      // disable-thp (the default) turns THP off for the process instead of warning.
      if (!thp.includes('[always]')) expect(server.output()).not.toContain('Transparent Huge Pages');
    } finally {
      await server.stop();
    }
  });
});

describe('a directory that cannot be written', () => {
  it('fails the save, refuses writes with MISCONF while reads go on, and logs why', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-test-gone-'));
    const server = await startKeyfork({ dir, args: ['--save', '3600 1'] });
    try {
      const c = await RawConnection.connect(server.port);
      await c.send('SET', 'k', 'v');
      fs.rmSync(dir, { recursive: true, force: true }); // the server's working directory is gone
      expect(show(await c.send('SAVE'))).toBe('-ERR');
      // The log reaches this process through a pipe: wait for it rather than race it.
      await waitForLog(server, /# Failed opening the temp RDB file temp-\d+\.rdb \(in server root dir [^)]*\) for saving: No such file or directory\n/);
      expect(show(await c.send('SET', 'k', 'v2'))).toBe('+OK'); // a failed SAVE is not a failed BGSAVE
      expect(show(await c.send('BGSAVE'))).toBe('+Background saving started');
      const info = await waitSaveEnded(c);
      expect(info.get('rdb_last_bgsave_status')).toBe('err');
      expect(info.get('keyfork_last_bgsave_error')).toMatch(/^Failed opening the temp RDB file temp-\d+\.rdb/);
      await waitForLog(server, /\d+:C [^\n]*# Failed opening the temp RDB file temp-\d+\.rdb[^\n]*\n[^\n]*:M [^\n]*# Background saving error\n/);
      expect(show(await c.send('SET', 'k', 'v3'))).toBe(`-${MISCONF}`);
      expect(show(await c.send('PING'))).toBe(`-${MISCONF}`);
      expect(show(await c.send('GET', 'k'))).toBe('v2');
      // Without save rules the failure no longer refuses writes.
      expect(show(await c.send('CONFIG', 'SET', 'save', ''))).toBe('+OK');
      expect(show(await c.send('SET', 'k', 'v4'))).toBe('+OK');
      c.close();
    } finally {
      await server.stop('SIGKILL');
    }
  });
});

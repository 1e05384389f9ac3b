// The status model and screen of `keyfork status`, from INFO texts as keyfork and Redis print them.
import { describe, expect, it } from 'vitest';
import { describeRunningChild, fit, formatBytes, formatSpan, renderStatus, visibleLength } from '../../src/cli/render';
import { buildStatus, parseInfo, saveRulesFrom } from '../../src/cli/status';

const NOW_US = 1_800_000_300_000_000; // the server's clock
const REDIS_INFO = `# Server\r
redis_version:7.0.15\r
uptime_in_seconds:7980\r
server_time_usec:${NOW_US}\r
# Memory\r
used_memory:1288490188\r
# Persistence\r
current_cow_peak:20971520\r
current_cow_size:12582912\r
current_fork_perc:64.00\r
current_save_keys_processed:640000\r
current_save_keys_total:1000000\r
rdb_changes_since_last_save:12\r
rdb_bgsave_in_progress:1\r
rdb_last_save_time:1800000000\r
rdb_last_bgsave_status:ok\r
rdb_last_bgsave_time_sec:41\r
rdb_current_bgsave_time_sec:72\r
aof_enabled:0\r
aof_rewrite_in_progress:0\r
aof_rewrite_scheduled:1\r
aof_last_bgrewrite_status:ok\r
aof_rewrites:0\r
aof_last_rewrite_time_sec:-1\r
# Stats\r
latest_fork_usec:12400\r
# Replication\r
role:master\r
connected_slaves:1\r
slave0:ip=10.0.0.2,port=6380,state=online,offset=1000,lag=1\r
master_repl_offset:1500\r
# Keyspace\r
db0:keys=999000,expires=0,avg_ttl=0\r
db3:keys=1000,expires=0,avg_ttl=0\r
`;

const KEYFORK_INFO = `${REDIS_INFO.replace('redis_version:7.0.15\r\n', 'redis_version:7.0.15\r\nkeyfork_version:0.1.0\r\n')}keyfork_last_bgsave_error:\r
keyfork_last_save_trigger:SAVE from 127.0.0.1:5000\r
keyfork_last_bgsave_trigger:\r
keyfork_last_bgsave_stopped_by:\r
keyfork_rdb_file_bytes:1073741824\r
keyfork_dir_free_bytes:536870912\r
keyfork_child_type:rdb\r
keyfork_child_trigger:save rule "300 10": 12 changes in 301 seconds\r
keyfork_child_pid:4242\r
keyfork_child_start_time:1800000228\r
keyfork_child_elapsed_ms:72000\r
keyfork_child_progress_perc:64.00\r
keyfork_child_eta_sec:40\r
keyfork_child_bytes_written:671088640\r
keyfork_scheduled_rdb:\r
keyfork_scheduled_aof_rewrite:BGREWRITEAOF from 127.0.0.1:6000\r
keyfork_scheduled_sync:\r
keyfork_unsupported_configs_set:lazyfree-lazy-eviction,io-threads\r
connected_clients:12\r
blocked_clients:2\r
`;

const CONFIG = { save: '3600 1 300 100 60 10000', dir: '/var/lib/redis', dbfilename: 'dump.rdb' };

describe('the status model', () => {
  it("takes keyfork's fields: trigger, pid, bytes, ETA, what waits, disk", () => {
    const m = buildStatus(parseInfo(KEYFORK_INFO), CONFIG, '127.0.0.1:6379');
    expect(m.server).toMatchObject({ software: 'keyfork', keyforkVersion: '0.1.0', keys: 1_000_000, role: 'master', uptimeSec: 7980 });
    expect(m.child).toEqual({
      type: 'rdb',
      trigger: 'save rule "300 10": 12 changes in 301 seconds',
      pid: 4242,
      startTime: 1_800_000_228,
      elapsedMs: 72_000,
      progressPerc: 64,
      keysDone: 640_000,
      keysTotal: 1_000_000,
      bytesWritten: 671_088_640,
      keysPerSec: 8889,
      etaSec: 40,
      cowBytes: 12_582_912,
      cowPeakBytes: 20_971_520,
      forkUsec: 12_400,
    });
    expect(m.waiting).toEqual({ rdb: null, aofRewrite: 'BGREWRITEAOF from 127.0.0.1:6000', sync: null });
    expect(m.lastSave).toMatchObject({ status: 'ok', time: 1_800_000_000, durationSec: 41, trigger: 'SAVE from 127.0.0.1:5000', error: null });
    expect(m.disk).toEqual({
      dir: '/var/lib/redis',
      dbfilename: 'dump.rdb',
      freeBytes: 536_870_912,
      rdbFileBytes: 1_073_741_824,
      expectedRdbBytes: 1_048_576_000, // the running save's bytes over its progress
    });
    expect(m.replicas).toEqual([{ addr: '10.0.0.2:6380', state: 'online', offset: 1000, lagSec: 1, lagBytes: 500 }]);
    expect(m.needsKeyfork).toEqual([]);
  });

  it('against Redis keeps what Redis says and lists what needs keyfork', () => {
    const m = buildStatus(parseInfo(REDIS_INFO), CONFIG, '127.0.0.1:6379');
    expect(m.server.software).toBe('redis');
    expect(m.child).toMatchObject({ type: 'rdb', trigger: null, pid: null, bytesWritten: null, elapsedMs: 72_000, startTime: 1_800_000_228 });
    // ETA extrapolated from the keys: 72 s for 64%, 36 left... rounded up.
    expect(m.child?.etaSec).toBe(41);
    expect(m.waiting).toEqual({ rdb: null, aofRewrite: true, sync: null });
    expect(m.disk.freeBytes).toBe(null);
    expect(m.needsKeyfork).toContain('what triggered the child');
  });

  it('says how soon each save rule fires: strictly more seconds than the rule, and enough changes', () => {
    expect(saveRulesFrom('3600 1 300 10 60 10000', 12, 300)).toEqual([
      { seconds: 3600, changes: 1, state: 'time', firesInSec: 3301, changesMissing: 0 },
      { seconds: 300, changes: 10, state: 'time', firesInSec: 1, changesMissing: 0 },
      { seconds: 60, changes: 10000, state: 'changes', firesInSec: null, changesMissing: 9988 },
    ]);
    expect(saveRulesFrom('300 10', 12, 301)[0]).toMatchObject({ state: 'due', firesInSec: 0 });
    expect(saveRulesFrom('', 5, 10)).toEqual([]);
  });
});

describe('the status screen', () => {
  const opts = { color: false, width: 200, unicode: false, nowMs: 1_800_000_300_000 };

  it('draws the running child, what waits, the rules and the disk', () => {
    const text = renderStatus(buildStatus(parseInfo(KEYFORK_INFO), CONFIG, '127.0.0.1:6379'), opts).join('\n');
    expect(text).toMatch(/^keyfork 0\.1\.0 \(Redis 7\.0\.15\) 127\.0\.0\.1:6379 · master · up 2 h 13 min · 1,000,000 keys · 1\.2 GB · /);
    expect(text).toContain('Running      RDB save, pid 4242, forked in 12.4 ms');
    expect(text).toContain('triggered by save rule "300 10": 12 changes in 301 seconds');
    expect(text).toContain('(1 min 12 s ago)');
    expect(text).toContain('###############.........  64.0%  640,000/1,000,000 keys  640.0 MB written');
    expect(text).toContain('8,889 keys/s · elapsed 1:12 · ETA 0:40 · copy-on-write 12.0 MB now, 20.0 MB peak');
    expect(text).toContain('Waiting      AOF rewrite (BGREWRITEAOF from 127.0.0.1:6000)');
    expect(text).toContain('save 3600 1       fires in 55 min 1 s');
    expect(text).toContain('save 300 100      needs 88 more changes');
    expect(text).toMatch(/Replicas     1 connected\n +10\.0\.0\.2:6380 +online · lag 1 s · 500 B behind/);
    expect(text).toContain('Disk         /var/lib/redis: 512.0 MB free · dump.rdb 1.0 GB · next save needs about 1000.0 MB: NOT ENOUGH ROOM');
    expect(text).not.toContain('needs keyfork');
    expect(text).toContain('Clients      12 connected (2 blocked)');
    expect(text).toContain('Directives   lazyfree-lazy-eviction, io-threads set, but keyfork does not act on them yet (see the server log)');
  });

  it('against Redis marks the fields that need keyfork', () => {
    const text = renderStatus(buildStatus(parseInfo(REDIS_INFO), CONFIG, '127.0.0.1:6379'), opts).join('\n');
    expect(text).toMatch(/^Redis 7\.0\.15 127\.0\.0\.1:6379/);
    expect(text).toContain('RDB save, (pid: needs keyfork)');
    expect(text).toContain('triggered by (trigger: needs keyfork)');
    expect(text).toContain('Waiting      AOF rewrite (scheduled BGSAVE and replicas: needs keyfork)');
    expect(text).toContain('Disk         /var/lib/redis (free space: needs keyfork)');
    expect(text).toMatch(/Redis does not expose what triggered the child, its pid, .*: those need keyfork\.$/);
  });

  it('fits lines to the terminal without breaking colours', () => {
    const coloured = renderStatus(buildStatus(parseInfo(KEYFORK_INFO), CONFIG, '127.0.0.1:6379'), { ...opts, color: true, width: 40 });
    for (const line of coloured) expect(visibleLength(line)).toBeLessThanOrEqual(40);
    expect(fit('\x1b[1mabcdef\x1b[22m', 3)).toBe('\x1b[1mabc\x1b[0m');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatSpan(3725)).toBe('1 h 2 min');
  });

  it('words the running child for a refused command', () => {
    const m = buildStatus(parseInfo(KEYFORK_INFO), CONFIG, '127.0.0.1:6379');
    expect(describeRunningChild(m.child!)).toMatch(/^A save started by save rule "300 10": 12 changes in 301 seconds at \d\d:\d\d:\d\d is 64% done, about 40 s left$/);
  });
});

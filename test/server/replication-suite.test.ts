// Replication behaviours that Redis 7.0.15's own test suite (tests/integration/replication-*.tcl)
// found diverging, each checked against a real redis-server pair doing the same: the
// min-replicas-* settings take effect on the write right after CONFIG SET, and a writable
// replica expires the keys its own clients gave a TTL.
import { expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { cmd, info, keyforkNode, redisNode, sleep, stopNodesAfterEach, waitFor, waitLinkUp, type Node } from './replication-support';

stopNodesAfterEach();

type Kind = 'keyfork' | 'redis';

/** A master and its replica, both of `kind`, the replica's link up and the master seeing it online. */
async function pair(kind: Kind): Promise<{ master: Node; replica: Node }> {
  const start = kind === 'keyfork' ? keyforkNode : redisNode;
  const master = await start(['--repl-diskless-sync-delay', '0']);
  const replica = await start([]);
  await cmd(replica, 'REPLICAOF', '127.0.0.1', String(master.server.port));
  await waitLinkUp(replica);
  await waitFor(async () => (await info(master)).get('slave0')?.includes('state=online') ?? false, `${kind}'s replica online`);
  return { master, replica };
}

describeDifferential('replication behaviours found by Redis 7.0.15 tests/integration', () => {
  it('min-replicas-to-write set by CONFIG SET counts the good replicas at once (replication-2.tcl)', async () => {
    const outcomes: Record<Kind, string[]> = { keyfork: [], redis: [] };
    for (const kind of ['redis', 'keyfork'] as Kind[]) {
      const { master, replica } = await pair(kind);
      const out = outcomes[kind];
      // The replica was good before the settings were on; no cron may have recounted since.
      out.push(await cmd(master, 'CONFIG', 'SET', 'min-replicas-to-write', '1'));
      out.push(await cmd(master, 'CONFIG', 'SET', 'min-replicas-max-lag', '10'));
      out.push(await cmd(master, 'SET', 'foo', '12345'));
      out.push((await info(master)).get('min_slaves_good_slaves') ?? 'absent');
      out.push(await cmd(master, 'CONFIG', 'SET', 'min-replicas-to-write', '2'));
      out.push(await cmd(master, 'SET', 'foo', '1'));
      out.push(await cmd(master, 'CONFIG', 'SET', 'min-replicas-to-write', '1'));
      out.push(await cmd(master, 'SET', 'foo', '2'));
      await waitFor(async () => (await cmd(replica, 'GET', 'foo')) === '2', `${kind}'s replica to get foo`);
    }
    expect(outcomes.keyfork).toEqual(outcomes.redis);
    expect(outcomes.keyfork[2]).toBe('+OK');
  }, 60_000);

  it('a writable replica expires the keys its clients gave a TTL, not those of its master (replication-3.tcl, expire.tcl)', async () => {
    const outcomes: Record<Kind, string[]> = { keyfork: [], redis: [] };
    for (const kind of ['redis', 'keyfork'] as Kind[]) {
      const { master, replica } = await pair(kind);
      const out = outcomes[kind];
      // The master's key with a TTL, its active expiry off: only the master may delete it.
      await cmd(master, 'DEBUG', 'SET-ACTIVE-EXPIRE', '0');
      await cmd(master, 'SELECT', '5');
      await cmd(master, 'SET', 'frommaster', 'x', 'PX', '200');
      await cmd(replica, 'SELECT', '5');
      await waitFor(async () => (await cmd(replica, 'DBSIZE')) === ':1', `${kind}'s replica to get the key`);
      out.push(await cmd(replica, 'CONFIG', 'SET', 'replica-read-only', 'no'));
      for (const k of ['key1', 'key2', 'key3']) out.push(await cmd(replica, 'SET', k, '1', 'PX', '300'));
      out.push(await cmd(replica, 'SET', 'kept', '1', 'EX', '100'));
      out.push(`tracked ${(await info(replica, 'stats')).get('slave_expires_tracked_keys')}`);
      out.push(await cmd(replica, 'DBSIZE'));
      // No command touches the keys meanwhile: only the replica's cron can remove them.
      await sleep(1500);
      out.push(await cmd(replica, 'DBSIZE'));
      out.push(await cmd(replica, 'EXISTS', 'frommaster'));
      out.push(`tracked ${(await info(replica, 'stats')).get('slave_expires_tracked_keys')}`);
      // FLUSHALL forgets what the replica tracked.
      out.push(await cmd(replica, 'FLUSHALL'));
      out.push(`tracked ${(await info(replica, 'stats')).get('slave_expires_tracked_keys')}`);
    }
    expect(outcomes.keyfork).toEqual(outcomes.redis);
    expect(outcomes.keyfork).toContain('tracked 4');
  }, 60_000);

  it('DEBUG REPLICATE feeds its command to the replicas only; DEBUG OBJECT shows a key past its TTL without expiring it (replication-4.tcl)', async () => {
    const outcomes: Record<Kind, string[]> = { keyfork: [], redis: [] };
    for (const kind of ['redis', 'keyfork'] as Kind[]) {
      const { master, replica } = await pair(kind);
      const out = outcomes[kind];
      out.push(await cmd(master, 'DEBUG', 'REPLICATE', 'SET', 'diverged', 'v'));
      out.push(await cmd(master, 'DEBUG', 'REPLICATE'));
      await waitFor(async () => (await cmd(replica, 'GET', 'diverged')) === 'v', `${kind}'s replica to run the replicated SET`);
      out.push(await cmd(master, 'GET', 'diverged'));
      out.push(await cmd(replica, 'DEBUG', 'REPLICATE', 'SET', 'x', 'y'));
      // A key past its TTL: DEBUG OBJECT finds it and leaves it (no DEL reaches the replica).
      await cmd(master, 'DEBUG', 'SET-ACTIVE-EXPIRE', '0');
      await cmd(master, 'SET', 'k', '1', 'PX', '50');
      await waitFor(async () => (await cmd(replica, 'DBSIZE')) === ':2', `${kind}'s replica to get k`);
      await sleep(100);
      for (const node of [replica, master]) {
        out.push((await cmd(node, 'DEBUG', 'OBJECT', 'k')).replace(/^(\+Value at:)\S+ (refcount:\d+ encoding:\S+).*/, '$1 $2'));
        out.push(await cmd(node, 'DBSIZE'));
      }
      out.push((await info(master, 'stats')).get('expired_keys') ?? 'absent');
      out.push(await cmd(master, 'EXISTS', 'k'));
      out.push(await cmd(master, 'DEBUG', 'OBJECT', 'k'));
    }
    expect(outcomes.keyfork).toEqual(outcomes.redis);
  }, 60_000);

  it('a master restarted on its saved RDB keeps its history as id 2 and its replica resyncs partially (psync2-master-restart.tcl)', async () => {
    const outcomes: Record<Kind, string[]> = { keyfork: [], redis: [] };
    for (const kind of ['redis', 'keyfork'] as Kind[]) {
      const start = kind === 'keyfork' ? keyforkNode : redisNode;
      const master = await start(['--repl-diskless-sync-delay', '0', '--repl-ping-replica-period', '3600']);
      const replica = await start(['--repl-ping-replica-period', '3600']);
      await cmd(replica, 'REPLICAOF', '127.0.0.1', String(master.server.port));
      await waitLinkUp(replica);
      for (let i = 0; i < 50; i++) await cmd(master, 'SET', `k${i}`, 'v'.repeat(i));
      await cmd(master, 'SELECT', '3');
      await cmd(master, 'RPUSH', 'list', 'a', 'b');
      const before = await info(master);
      await waitFor(async () => (await info(replica)).get('master_repl_offset') === before.get('master_repl_offset'), `${kind}'s replica caught up`);
      const { dir } = master.server;
      // SHUTDOWN SAVE NOW: the RDB holds the replication id and offset, no GETACK moves it.
      await master.conn.send('SHUTDOWN', 'SAVE', 'NOW').catch(() => null);
      await master.server.stop('SIGKILL');
      // Back on another port (the helpers pick free ports): the replica is pointed at it, and
      // offers the history it holds as it would to the same address.
      const again = await start(['--dir', dir, '--dbfilename', 'dump.rdb', '--repl-diskless-sync-delay', '0']);
      await cmd(replica, 'REPLICAOF', '127.0.0.1', String(again.server.port));
      await waitFor(async () => (await info(again, 'stats')).get('sync_partial_ok') !== '0' || (await info(again, 'stats')).get('sync_full') !== '0', `${kind}'s replica to resync`);
      await waitLinkUp(replica);
      const after = await info(again);
      const out = outcomes[kind];
      out.push(`replid2 kept ${after.get('master_replid2') === before.get('master_replid')}`);
      out.push(`replid new ${after.get('master_replid') !== before.get('master_replid')}`);
      out.push(`offset kept ${after.get('master_repl_offset') === before.get('master_repl_offset')}`);
      out.push(`second_repl_offset ${Number(after.get('second_repl_offset')) - Number(before.get('master_repl_offset'))}`);
      const stats = await info(again, 'stats');
      out.push(`partial ${stats.get('sync_partial_ok')} full ${stats.get('sync_full')}`);
      await cmd(again, 'SELECT', '3');
      await cmd(again, 'RPUSH', 'list', 'c');
      await waitFor(async () => (await cmd(replica, 'SELECT', '3')) === '+OK' && (await cmd(replica, 'LLEN', 'list')) === ':3', `${kind}'s replica to follow the restarted master`);
      out.push(await cmd(replica, 'DBSIZE'));
    }
    expect(outcomes.keyfork).toEqual(outcomes.redis);
    expect(outcomes.keyfork).toContain('partial 1 full 0');
  }, 90_000);
});

// A master restarted on its RDB drops the keys whose TTL passed meanwhile, and feeds their DELs
// into the backlog it continues from (Redis 7.0's loadDataFromDisk with RDBFLAGS_FEED_REPL):
// its replica resyncs partially and drops them too (tests/integration/psync2-master-restart.tcl
// "Partial resync after Master restart using RDB aux fields with expire"), as UNLINKs under
// lazyfree-lazy-expire. The same scenario on redis-server and on keyfork must end the same way.
import { expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { cmd, info, keyforkNode, redisNode, sleep, stopNodesAfterEach, waitFor, waitLinkUp, type Node } from './replication-support';

stopNodesAfterEach();

type Kind = 'keyfork' | 'redis';
const start = (kind: Kind, args: string[]): Promise<Node> =>
  kind === 'keyfork' ? keyforkNode(args) : redisNode(['--enable-debug-command', 'yes', '--save', '', ...args]);

const offsetOf = async (n: Node) => Number((await info(n)).get('master_repl_offset'));

async function restartWithExpiredKeys(kind: Kind, lazy: 'yes' | 'no') {
  const master = await start(kind, ['--repl-diskless-sync-delay', '0', '--lazyfree-lazy-expire', lazy]);
  const replica = await start(kind, ['--replicaof', '127.0.0.1', String(master.server.port)]);
  await waitLinkUp(replica);
  await cmd(master, 'DEBUG', 'SET-ACTIVE-EXPIRE', '0');
  const writes = [['SET', 'kept', 'v']];
  for (let j = 0; j < 100; j++) writes.push(['SELECT', String(j % 16)], ['SET', `k${j}`, 'somevalue', 'PX', '10']);
  await master.conn.pipeline(writes);
  await sleep(30);
  await waitFor(async () => (await offsetOf(replica)) === (await offsetOf(master)), 'the replica at the master\'s offset');
  const offset = await offsetOf(master);
  // The RDB records the replication id and offset of its data.
  expect(await cmd(master, 'SAVE')).toBe('+OK');
  await master.server.stop('SIGKILL');
  // The same data directory, another port: the replica follows it there with its cached master.
  const again = await start(kind, ['--dir', master.server.dir, '--dbfilename', 'dump.rdb', '--repl-diskless-sync-delay', '0', '--lazyfree-lazy-expire', lazy]);
  const fields = await info(again);
  const restarted = { offsetGrowth: Number(fields.get('master_repl_offset')) - offset, histlen: Number(fields.get('repl_backlog_histlen')) };
  const expired = (await info(again, 'persistence')).get('rdb_last_load_keys_expired');
  await cmd(replica, 'REPLICAOF', '127.0.0.1', String(again.server.port));
  await waitLinkUp(replica);
  await waitFor(async () => (await offsetOf(replica)) === (await offsetOf(again)), 'the replica at the new master\'s offset');
  const partial = (await info(again, 'stats')).get('sync_partial_ok');
  const keys = await Promise.all([again, replica].map(async (n) => {
    let total = 0;
    for (let db = 0; db < 16; db++) {
      await n.conn.send('SELECT', String(db));
      total += Number((await cmd(n, 'DBSIZE')).slice(1));
    }
    await n.conn.send('SELECT', '0');
    return total;
  }));
  const digests = await Promise.all([again, replica].map((n) => cmd(n, 'DEBUG', 'DIGEST')));
  return { expired, restarted, partial, keys, sameData: digests[0] === digests[1] };
}

describeDifferential('a master restarted on its RDB with expired keys vs redis-server 7.0', () => {
  for (const lazy of ['no', 'yes'] as const) {
    it(`feeds their ${lazy === 'yes' ? 'UNLINKs' : 'DELs'} to its backlog: the replica resyncs partially and drops them too`, async () => {
      const want = await restartWithExpiredKeys('redis', lazy);
      const got = await restartWithExpiredKeys('keyfork', lazy);
      expect(got.expired).toBe('100');
      // The DELs (and SELECTs) are the backlog, right after the offset the RDB was saved at.
      expect(got.restarted.offsetGrowth).toBeGreaterThan(100 * 20);
      expect(got.restarted.offsetGrowth).toBe(got.restarted.histlen);
      expect(got).toEqual({ ...want, partial: '1', keys: [1, 1], sameData: true });
    }, 120_000);
  }
});

/**
 * A replica restarted on its own RDB keeps the keys whose TTL passed (rdbLoad drops them only
 * when iAmMaster()): its master's DELs remove them, so its data stays the master's meanwhile.
 */
async function replicaRestartWithExpiredKeys(kind: Kind) {
  const master = await start(kind, ['--repl-diskless-sync-delay', '0']);
  const replica = await start(kind, ['--replicaof', '127.0.0.1', String(master.server.port)]);
  await waitLinkUp(replica);
  await cmd(master, 'DEBUG', 'SET-ACTIVE-EXPIRE', '0');
  const writes = [['SET', 'kept', 'v']];
  for (let j = 0; j < 10; j++) writes.push(['SET', `k${j}`, 'somevalue', 'PX', '300']);
  await master.conn.pipeline(writes);
  await waitFor(async () => (await offsetOf(replica)) === (await offsetOf(master)), 'the replica at the master\'s offset');
  expect(await cmd(replica, 'SAVE')).toBe('+OK');
  await replica.server.stop('SIGKILL');
  await sleep(400);
  const again = await start(kind, ['--dir', replica.server.dir, '--dbfilename', 'dump.rdb', '--replicaof', '127.0.0.1', String(master.server.port)]);
  const loaded = {
    expired: (await info(again, 'persistence')).get('rdb_last_load_keys_expired'),
    keys: await cmd(again, 'DBSIZE'),
  };
  await waitLinkUp(again);
  const whileKept = {
    keys: await cmd(again, 'DBSIZE'),
    read: await cmd(again, 'GET', 'k1'),
    sameData: (await cmd(master, 'DEBUG', 'DIGEST')) === (await cmd(again, 'DEBUG', 'DIGEST')),
    // DEBUG RELOAD's load is a replica's load too.
    reload: await cmd(again, 'DEBUG', 'RELOAD'),
    keysAfterReload: await cmd(again, 'DBSIZE'),
  };
  // A read on the master expires k0 there and sends its DEL.
  await cmd(master, 'GET', 'k0');
  await waitFor(async () => (await offsetOf(again)) === (await offsetOf(master)), 'the replica at the master\'s offset');
  const afterDel = { keys: await cmd(again, 'DBSIZE'), partial: (await info(master, 'stats')).get('sync_partial_ok') };
  return { loaded, whileKept, afterDel };
}

describeDifferential('a replica restarted on its RDB with expired keys vs redis-server 7.0', () => {
  it('keeps them (reads see none, DEBUG RELOAD keeps them) until its master\'s DELs arrive', async () => {
    const want = await replicaRestartWithExpiredKeys('redis');
    const got = await replicaRestartWithExpiredKeys('keyfork');
    expect(got.loaded).toEqual({ expired: '0', keys: ':11' });
    expect(got).toEqual(want);
  }, 120_000);
});

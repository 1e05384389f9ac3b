// repl-diskless-load swapdb, as Redis 7.0's readSyncBulkPayload runs it: a load from the
// socket shows from its first byte. From a master of another history the replica is loading
// (clients get LOADING); from the master whose history its data follows (same replid: the
// PSYNC failed only for want of backlog) it is an async load: the old data keeps being served,
// except the commands and configs that must wait for it. Either way a failed transfer leaves
// the old data. The same scenario on redis-server and on keyfork must read the same.
import { expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { cmd, info, keyforkNode, redisNode, stopNodesAfterEach, waitFor, waitLinkUp, type Node } from './replication-support';

stopNodesAfterEach();

type Kind = 'keyfork' | 'redis';
const start = (kind: Kind, args: string[] = []): Promise<Node> =>
  kind === 'keyfork' ? keyforkNode(args) : redisNode(['--enable-debug-command', 'yes', '--save', '', ...args]);

async function loadingFields(replica: Node) {
  const fields = await info(replica, 'persistence');
  return { loading: fields.get('loading'), async_loading: fields.get('async_loading') };
}

/** Master and swapdb replica, the replica holding 20 keys of its own plus mykey. */
async function pair(kind: Kind) {
  const master = await start(kind, ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0', '--rdbcompression', 'no']);
  // Redis answers clients during a load every loading-process-events-interval-bytes.
  const replica = await start(kind, ['--repl-diskless-load', 'swapdb', '--replica-read-only', 'no', '--loading-process-events-interval-bytes', '1024']);
  return { master, replica };
}

/** Makes the master's next RDB slow (10 ms a key), then waits until `until` holds on the replica. */
async function duringTransfer(master: Node, replica: Node, until: (f: { loading?: string; async_loading?: string }) => boolean) {
  await waitFor(async () => until(await loadingFields(replica)), 'the replica loading from the socket', 20_000);
  const seen = {
    fields: await loadingFields(replica),
    get: await cmd(replica, 'GET', 'mykey'),
    dbsize: await cmd(replica, 'DBSIZE'),
    appendonly: await cmd(replica, 'CONFIG', 'SET', 'appendonly', 'no'),
    replicaofNoOne: await cmd(replica, 'REPLICAOF', 'NO', 'ONE'),
  };
  // The master drops the link: the transfer fails, the old data stays.
  await cmd(master, 'CONFIG', 'SET', 'repl-diskless-sync-delay', '5');
  await cmd(master, 'CLIENT', 'KILL', 'TYPE', 'replica');
  await waitFor(async () => {
    const f = await loadingFields(replica);
    return f.loading === '0' && f.async_loading === '0';
  }, 'the load given up', 20_000);
  const after = { get: await cmd(replica, 'GET', 'mykey'), dbsize: await cmd(replica, 'DBSIZE') };
  await cmd(master, 'CONFIG', 'SET', 'rdb-key-save-delay', '0');
  return { seen, after };
}

async function otherHistory(kind: Kind) {
  const { master, replica } = await pair(kind);
  await cmd(replica, 'DEBUG', 'POPULATE', '20', 'replica', '10');
  await cmd(replica, 'SET', 'mykey', 'myvalue');
  await cmd(master, 'DEBUG', 'POPULATE', '300', 'master', '1000');
  await cmd(master, 'CONFIG', 'SET', 'rdb-key-save-delay', '10000');
  await cmd(replica, 'REPLICAOF', '127.0.0.1', String(master.server.port));
  return duringTransfer(master, replica, (f) => f.loading === '1');
}

async function sameHistory(kind: Kind) {
  const { master, replica } = await pair(kind);
  await cmd(replica, 'REPLICAOF', '127.0.0.1', String(master.server.port));
  await waitLinkUp(replica);
  await cmd(replica, 'DEBUG', 'POPULATE', '20', 'replica', '10');
  await cmd(replica, 'SET', 'mykey', 'myvalue');
  await cmd(master, 'DEBUG', 'POPULATE', '300', 'master', '1000');
  // The replica's PSYNC will fail: the backlog no longer holds its offset.
  await master.conn.pipeline([
    ['MULTI'],
    ['CLIENT', 'KILL', 'TYPE', 'replica'],
    ['CONFIG', 'SET', 'repl-backlog-size', '16384'],
    ...Array.from({ length: 10 }, (_, i) => ['SET', `big${i}`, 'A'.repeat(16384)]),
    ['CONFIG', 'SET', 'rdb-key-save-delay', '10000'],
    ['EXEC'],
  ]);
  return duringTransfer(master, replica, (f) => f.async_loading === '1');
}

describeDifferential('repl-diskless-load swapdb vs redis-server 7.0: loading and async loading', () => {
  it('from another history: loading from the first byte (LOADING), the old data back when it fails', async () => {
    const want = await otherHistory('redis');
    const got = await otherHistory('keyfork');
    expect(got.seen.fields).toEqual({ loading: '1', async_loading: '0' });
    expect(got.after).toEqual({ get: 'myvalue', dbsize: ':21' });
    expect(got).toEqual(want);
  }, 120_000);

  it('from the same history: an async load serves the old data, refuses what must wait, keeps it when it fails', async () => {
    const want = await sameHistory('redis');
    const got = await sameHistory('keyfork');
    expect(got.seen.fields).toEqual({ loading: '0', async_loading: '1' });
    expect(got.seen.get).toBe('myvalue');
    expect(got).toEqual(want);
  }, 120_000);
});

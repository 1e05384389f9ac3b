// What a master does with a replica link that misbehaves, as Redis 7.0 does: a link never
// carries replies (a command that answers costs the replica its link, with Redis's log line),
// a replica may not touch the keyspace, a PSYNC whose offset is not a number is refused
// without starting a sync, and a disk BGSAVE that the last waiting replica gave up on is
// stopped when no save rule wants its file. The same on redis-server and on keyfork.
import { expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { RawConnection } from '../helpers/resp';
import { cmd, info, keyforkNode, redisNode, show, sleep, stopNodesAfterEach, waitFor, type Node } from './replication-support';

stopNodesAfterEach();

type Kind = 'keyfork' | 'redis';
const start = (kind: Kind, args: string[] = []): Promise<Node> =>
  kind === 'keyfork' ? keyforkNode(args) : redisNode(['--enable-debug-command', 'yes', '--save', '', ...args]);

/** The lines logged since `from` that match `re`, with the client details cut off. */
const logged = (n: Node, from: number, re: RegExp) => (n.server.output().slice(from).match(re) ?? []).map((l) => l.replace(/disconnecting it: .*/, 'disconnecting it: ...'));

async function rogueReplicas(kind: Kind) {
  const master = await start(kind, ['--repl-diskless-sync', 'no']);
  const seen: Record<string, unknown> = {};
  const from = master.server.output().length;
  for (const [sync, command] of [[['SYNC'], ['PING']], [['PSYNC', 'replicationid', '-1'], ['GET', 'foo']], [['PSYNC', 'replicationid', '-1'], ['SLOWLOG', 'GET']]] as const) {
    const rogue = await RawConnection.connect(master.server.port);
    rogue.write(`${sync.join(' ')}\r\n${command.join(' ')}\r\n`);
    // The master drops the link (the RDB it may have begun to send aside).
    await waitFor(async () => !(await cmd(master, 'CLIENT', 'LIST', 'TYPE', 'replica')).includes('addr='), 'the rogue replica dropped', 10_000);
    rogue.close();
  }
  await sleep(100);
  seen.lines = logged(master, from, /(Replica generated a reply to command '[^']*', disconnecting it: .*|Replica can't interact with the keyspace|== CRITICAL == This master is sending an error to its replica: .*)/g);
  // A PSYNC offset that is not a number: refused, and the client stays a normal client.
  const plain = await RawConnection.connect(master.server.port);
  const before = master.server.output().length;
  seen.badOffset = show(await plain.send('PSYNC', 'replicationid', 'offset_str'));
  seen.thenPing = show(await plain.send('PING'));
  seen.badOffsetLogged = /Replica .* asks for synchronization but with a wrong offset/.test(master.server.output().slice(before));
  plain.close();
  seen.syncFull = (await info(master, 'stats')).get('sync_full');
  return seen;
}

async function uselessSave(kind: Kind) {
  const master = await start(kind, ['--repl-diskless-sync', 'no', '--rdb-key-save-delay', '1000000']);
  for (let i = 0; i < 10; i++) await cmd(master, 'SET', String(i), String(i));
  const replicas = [await start(kind), await start(kind)];
  for (const r of replicas) await cmd(r, 'REPLICAOF', '127.0.0.1', String(master.server.port));
  const bgsave = async () => (await info(master, 'persistence')).get('rdb_bgsave_in_progress');
  await waitFor(async () => (await bgsave()) === '1' && (await cmd(master, 'INFO', 'replication')).split('wait_bgsave').length === 3, 'both replicas waiting for the BGSAVE');
  await cmd(replicas[0], 'REPLICAOF', 'NO', 'ONE');
  await sleep(300);
  const afterFirst = await bgsave();
  await cmd(replicas[1], 'REPLICAOF', 'NO', 'ONE');
  await waitFor(async () => (await bgsave()) === '0', 'the BGSAVE stopped', 5000).catch(() => undefined);
  return { afterFirst, afterLast: await bgsave(), lastStatus: (await info(master, 'persistence')).get('rdb_last_bgsave_status') };
}

describeDifferential('a master and its rogue replica links vs redis-server 7.0', () => {
  it('replies, keyspace commands and bad PSYNC offsets are dealt with as Redis does', async () => {
    const want = await rogueReplicas('redis');
    const got = await rogueReplicas('keyfork');
    expect(got.lines).toContain("Replica generated a reply to command 'ping', disconnecting it: ...");
    expect(got.badOffset).toBe('-ERR value is not an integer or out of range');
    expect(got).toEqual(want);
  }, 120_000);

  it('a disk BGSAVE no replica waits for any more is stopped when no save rule wants it', async () => {
    const want = await uselessSave('redis');
    const got = await uselessSave('keyfork');
    expect(got).toEqual({ afterFirst: '1', afterLast: '0', lastStatus: 'ok' });
    expect(got).toEqual(want);
  }, 120_000);
});

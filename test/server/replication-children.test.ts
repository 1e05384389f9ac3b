// The one-child rule with replicas: a diskless sync child feeds several replicas at once; a
// replica arriving while a disk BGSAVE for replication runs attaches to it; a replica arriving
// while another child runs waits for it; BGSAVE while a sync child runs is refused; INFO
// persistence shows the sync child like any other.
import { expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { cmd, info, keyforkNode, redisNode, stopNodesAfterEach, waitFor, waitInSync, waitLinkUp, waitLog, type Node } from './replication-support';

stopNodesAfterEach();

async function replicaOf(master: Node): Promise<Node> {
  return redisNode(['--replicaof', '127.0.0.1', String(master.server.port)]);
}

describeDifferential('replication and the one-child rule', () => {
  it('one diskless child feeds the replicas that arrived within repl-diskless-sync-delay', async () => {
    const master = await keyforkNode(['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '3']);
    await cmd(master, 'DEBUG', 'POPULATE', '5000');
    const [a, b] = await Promise.all([replicaOf(master), replicaOf(master)]);
    await waitLinkUp(a);
    await waitLinkUp(b);
    const log = master.server.output();
    expect(log.match(/Starting BGSAVE for SYNC with target: replicas sockets/g)).toHaveLength(1);
    expect(log).toContain('Diskless rdb transfer, done reading from pipe, 2 replicas still up.');
    expect(log.match(/Delay next BGSAVE for diskless SYNC/g)).toHaveLength(2);
    await waitInSync(master, a);
    await waitInSync(master, b);
  });

  it('repl-diskless-sync-max-replicas starts the child as soon as that many wait', async () => {
    const master = await keyforkNode(['--repl-diskless-sync-delay', '60', '--repl-diskless-sync-max-replicas', '2']);
    await cmd(master, 'DEBUG', 'POPULATE', '1000');
    const [a, b] = await Promise.all([replicaOf(master), replicaOf(master)]);
    // Well before the 60 s delay.
    await waitLinkUp(a, 20_000);
    await waitLinkUp(b, 20_000);
  });

  it('a replica attaches to the disk BGSAVE started for another; BGSAVE is refused meanwhile', async () => {
    const master = await keyforkNode(['--repl-diskless-sync', 'no', '--rdb-key-save-delay', '1000']);
    await cmd(master, 'DEBUG', 'POPULATE', '3000');
    const first = await replicaOf(master);
    await waitLog(master, 'Starting BGSAVE for SYNC with target: disk');
    const persistence = await info(master, 'persistence');
    expect(persistence.get('rdb_bgsave_in_progress')).toBe('1');
    expect(persistence.get('keyfork_child_trigger')).toBe(`full sync for replica 127.0.0.1:${first.server.port}`);
    expect(await cmd(master, 'BGSAVE')).toBe('-ERR Background save already in progress');
    const second = await replicaOf(master);
    await waitLog(master, 'Waiting for end of BGSAVE for SYNC');
    await cmd(master, 'CONFIG', 'SET', 'rdb-key-save-delay', '0');
    await waitLinkUp(first, 60_000);
    await waitLinkUp(second, 60_000);
    expect(master.server.output().match(/Starting BGSAVE for SYNC/g)).toHaveLength(1);
    await waitInSync(master, second);
  });

  it('a replica waits for a running child (a user BGSAVE, a diskless sync), then gets its own', async () => {
    const master = await keyforkNode(['--repl-diskless-sync-delay', '0', '--rdb-key-save-delay', '1000']);
    await cmd(master, 'DEBUG', 'POPULATE', '2000');
    expect(await cmd(master, 'BGSAVE')).toBe('+Background saving started');
    const replica = await replicaOf(master);
    await waitLog(master, "Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC");
    await waitFor(async () => (await info(master, 'persistence')).get('keyfork_scheduled_sync') === `replicas waiting: 127.0.0.1:${replica.server.port}`, 'the waiting replica in INFO');
    await cmd(master, 'CONFIG', 'SET', 'rdb-key-save-delay', '0');
    await waitLog(master, 'Background saving terminated with success');
    await waitLog(master, 'Starting BGSAVE for SYNC with target: replicas sockets');
    await waitLinkUp(replica);
    await waitInSync(master, replica);
    // A diskless sync child runs: the next replica waits for the next one.
    await cmd(master, 'CONFIG', 'SET', 'rdb-key-save-delay', '1000');
    const late = await replicaOf(master);
    await waitFor(() => (master.server.output().match(/Starting BGSAVE for SYNC with target: replicas sockets/g) ?? []).length === 2, 'a second sync child');
    const third = await replicaOf(master);
    await waitLog(master, 'Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC');
    const during = await info(master, 'persistence');
    expect(during.get('keyfork_child_type')).toBe('sync');
    expect(await cmd(master, 'BGSAVE')).toBe('-ERR Background save already in progress');
    await cmd(master, 'CONFIG', 'SET', 'rdb-key-save-delay', '0');
    await waitLinkUp(late, 60_000);
    await waitLinkUp(third, 60_000);
  });
});

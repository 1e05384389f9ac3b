// bind-source-addr: a replica's connection to its master goes out from that local address
// (CLIENT LIST and INFO on the master show it), bound on a best-effort basis as Redis 7.0 does
// (an address that cannot be bound is dropped silently), keyfork and redis-server replicas of
// keyfork and redis-server masters side by side.
import { expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { cmd, info, keyforkNode, redisNode, stopNodesAfterEach, waitFor, waitLinkUp, waitLog, type Node } from './replication-support';

stopNodesAfterEach();

type Kind = 'keyfork' | 'redis';
const node = (kind: Kind, args: string[] = []) => (kind === 'keyfork' ? keyforkNode(args) : redisNode(args));
const slowIt = (name: string, fn: () => Promise<void>) => it(name, fn, 60_000);

/** The master's view of its replica: CLIENT LIST's addr (flags=S) and INFO's slave0 ip. */
async function replicaSeenFrom(master: Node): Promise<{ addr: string; ip: string }> {
  const line = (await cmd(master, 'CLIENT', 'LIST')).split('\n').find((l) => / flags=S /.test(l)) ?? '';
  const addr = (/ addr=([^ ]+):\d+ /.exec(line)?.[1]) ?? '';
  const ip = (/ip=([^,]+),/.exec((await info(master)).get('slave0') ?? '')?.[1]) ?? '';
  return { addr, ip };
}

async function scenario(masterKind: Kind, replicaKind: Kind) {
  const master = await node(masterKind, ['--protected-mode', 'no', '--repl-diskless-sync-delay', '0']);
  const replica = await node(replicaKind, ['--bind-source-addr', '127.0.0.2', '--replicaof', '127.0.0.1', String(master.server.port)]);
  await waitLinkUp(replica);
  const bound = await replicaSeenFrom(master);
  const config = [await cmd(replica, 'CONFIG', 'SET', 'bind-source-addr', '10.255.255.254')];
  // An address no interface has: the next connection goes out unbound.
  await cmd(master, 'CLIENT', 'KILL', 'TYPE', 'replica');
  await waitFor(async () => (await replicaSeenFrom(master)).addr === '127.0.0.1' && (await info(replica)).get('master_link_status') === 'up', 'the unbound reconnection');
  const unbindable = await replicaSeenFrom(master);
  config.push(await cmd(replica, 'CONFIG', 'SET', 'bind-source-addr', '127.0.0.3'));
  await cmd(master, 'CLIENT', 'KILL', 'TYPE', 'replica');
  await waitFor(async () => (await replicaSeenFrom(master)).addr === '127.0.0.3' && (await info(replica)).get('master_link_status') === 'up', 'the reconnection from 127.0.0.3');
  const rebound = await replicaSeenFrom(master);
  return { bound, unbindable, rebound, config };
}

describeDifferential('bind-source-addr vs redis-server 7.0', () => {
  for (const [m, r] of [['redis', 'keyfork'], ['keyfork', 'redis'], ['keyfork', 'keyfork']] as const) {
    slowIt(`a ${r} replica of a ${m} master connects from bind-source-addr (best effort, CONFIG SET applies to the next link)`, async () => {
      const want = await scenario('redis', 'redis');
      const got = await scenario(m, r);
      expect(got).toEqual(want);
      expect(got.bound).toEqual({ addr: '127.0.0.2', ip: '127.0.0.2' });
    });
  }

  async function denied(replicaKind: Kind) {
    // 127.0.0.2 is not 127.0.0.1: a protected-mode master refuses it.
    const master = await redisNode([]);
    const replica = await node(replicaKind, ['--bind-source-addr', '127.0.0.2', '--replicaof', '127.0.0.1', String(master.server.port)]);
    await waitLog(replica, 'Error reply to PING from master');
    const line = replica.server.output().split('\n').find((l) => l.includes('Error reply to PING from master')) ?? '';
    return { line: line.replace(/^\d+:[MS] [^#*]+/, ''), link: (await info(replica)).get('master_link_status') };
  }

  slowIt('a protected-mode master refuses a replica whose source address is not 127.0.0.1 (DENIED)', async () => {
    const want = await denied('redis');
    const got = await denied('keyfork');
    expect(got).toEqual(want);
    expect(got.line).toContain('-DENIED Redis is running in protected mode');
  });
});

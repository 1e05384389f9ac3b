// Replication with real Redis 7.0 peers: keyfork as the master of a real redis-server replica
// (disk and diskless full sync, redis-cli --rdb), keyfork as the replica of a real master under
// a write load (full sync, the stream, a partial resync after the link drops, WAIT), and the
// replies and INFO fields that Redis's own tools read.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { formatReply, RawConnection, type Arg } from '../helpers/resp';
import {
  checkRdb,
  cmd,
  fillMixed,
  info,
  keyforkNode,
  redisNode,
  show,
  sleep,
  stopNodesAfterEach,
  waitFor,
  waitInSync,
  waitLinkUp,
  waitLog,
  type Node,
} from './replication-support';

stopNodesAfterEach();

/** Writes `count` commands of every kind to `node`, a few at a time, while replication runs. */
async function writeLoad(node: Node, count: number, prefix = 'load'): Promise<void> {
  for (let i = 0; i < count; i += 50) {
    const batch: Arg[][] = [];
    for (let j = i; j < Math.min(count, i + 50); j++) {
      switch (j % 6) {
        case 0: batch.push(['SET', `${prefix}:${j % 300}`, `v${j}`]); break;
        case 1: batch.push(['INCR', `${prefix}:counter`]); break;
        case 2: batch.push(['LPUSH', `${prefix}:list`, `${j}`]); break;
        case 3: batch.push(['HSET', `${prefix}:hash:${j % 7}`, `f${j % 30}`, `${j}`]); break;
        case 4: batch.push(['ZADD', `${prefix}:zset`, `${j % 97}`, `m${j % 50}`]); break;
        default: batch.push(['DEL', `${prefix}:${(j * 7) % 300}`]); break;
      }
    }
    if (i % 500 === 0) batch.push(['SELECT', String(1 + (i % 3))], ['SET', `${prefix}:elsewhere`, `${i}`], ['SELECT', '0']);
    await node.conn.pipeline(batch);
  }
}

describeDifferential('replication with real Redis 7.0 peers', () => {
  for (const diskless of [false, true]) {
    it(`a real Redis replica gets keyfork's data by a ${diskless ? 'diskless' : 'disk'} full sync`, async () => {
      const master = await keyforkNode(['--repl-diskless-sync', diskless ? 'yes' : 'no', '--repl-diskless-sync-delay', '0']);
      await fillMixed(master);
      expect(await cmd(master, 'DEBUG', 'POPULATE', '20000', 'pop', '30')).toBe('+OK');
      const replica = await redisNode(['--replicaof', '127.0.0.1', String(master.server.port)]);
      await waitLinkUp(replica);
      await waitInSync(master, replica);
      const name = `127.0.0.1:${replica.server.port}`;
      await waitLog(master, `Synchronization with replica ${name} succeeded`);
      const log = master.server.output();
      expect(log).toContain(`Replica ${name} asks for synchronization`);
      expect(log).toContain(`Starting BGSAVE for SYNC with target: ${diskless ? 'replicas sockets' : 'disk'}`);
      if (diskless) {
        expect(log).toContain('Background RDB transfer started by pid');
        expect(log).toContain('Diskless rdb transfer, done reading from pipe, 1 replicas still up.');
        expect(log).toContain('Background RDB transfer terminated with success');
      } else {
        expect(log).toContain('Background saving started by pid');
        expect(log).toContain('Background saving terminated with success');
      }
      const m = await info(master);
      expect(m.get('connected_slaves')).toBe('1');
      expect(m.get('slave0')).toMatch(new RegExp(`^ip=127\\.0\\.0\\.1,port=${replica.server.port},state=online,offset=\\d+,lag=\\d+$`));
      const r = await info(replica);
      expect(r.get('master_replid')).toBe(m.get('master_replid'));
      expect((await info(master, 'stats')).get('sync_full')).toBe('1');
    });
  }

  for (const diskless of [false, true]) {
    it(`two real Redis replicas of keyfork under a write load end with its digest (${diskless ? 'diskless' : 'disk'} sync)`, async () => {
      const master = await keyforkNode(['--repl-diskless-sync', diskless ? 'yes' : 'no', '--repl-diskless-sync-delay', '0']);
      await fillMixed(master);
      const args = ['--replicaof', '127.0.0.1', String(master.server.port)];
      // The replicas connect while the writes run: the RDB and the stream after it must agree.
      const loading = writeLoad(master, 3000);
      const replicas = [await redisNode(args), await redisNode(args)];
      await loading;
      for (const r of replicas) await waitLinkUp(r);
      // What Redis 7.0 propagates beyond plain writes: a transaction, a script's effects, a lazy
      // expiry's DEL, PUBLISH (to replicas only).
      const tx = await master.conn.pipeline([['MULTI'], ['INCR', 'tx:a'], ['SET', 'tx:b', 'x'], ['EXEC']]);
      expect(formatReply(tx[3])).toBe('1) (integer) 1\n2) OK');
      expect(await cmd(master, 'EVAL', "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('INCR', KEYS[2])", '2', 'ev:a', 'ev:b', 'v')).toBe(':1');
      expect(await cmd(master, 'SET', 'short', 'v', 'PX', '50')).toBe('+OK');
      const subscriber = await RawConnection.connect(replicas[0].server.port);
      try {
        expect(formatReply(await subscriber.send('SUBSCRIBE', 'news'))).toBe('1) "subscribe"\n2) "news"\n3) (integer) 1');
        expect(await cmd(master, 'PUBLISH', 'news', 'hello')).toBe(':0');
        expect(formatReply(await subscriber.readReply(5000))).toBe('1) "message"\n2) "news"\n3) "hello"');
      } finally {
        subscriber.close();
      }
      await sleep(150);
      // The replica keeps the expired key until the master's DEL (a read on the master sends it).
      expect(await cmd(master, 'GET', 'short')).toBe('(nil)');
      await writeLoad(master, 1000, 'after');
      for (const r of replicas) await waitInSync(master, r);
      expect(await cmd(replicas[1], 'EXISTS', 'short')).toBe(':0');
      expect(await cmd(replicas[1], 'GET', 'ev:a')).toBe('v');
      // A write acknowledged by both replicas.
      await cmd(master, 'SET', 'acked', '1');
      expect(await cmd(master, 'WAIT', '2', '5000')).toBe(':2');
      expect((await info(master)).get('connected_slaves')).toBe('2');
    });
  }

  for (const diskless of [false, true]) {
    it(`redis-cli --rdb downloads a valid RDB from keyfork (${diskless ? 'diskless' : 'disk'} sync), with Redis's log lines`, async () => {
      const args = ['--repl-diskless-sync', diskless ? 'yes' : 'no', '--repl-diskless-sync-delay', '0'];
      const master = await keyforkNode(args);
      const reference = await redisNode(args);
      await fillMixed(master);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-repl-rdb-'));
      try {
        for (const node of [master, reference]) {
          const file = path.join(dir, node === master ? 'dump.rdb' : 'reference.rdb');
          const r = spawnSync('redis-cli', ['-p', String(node.server.port), '--rdb', file], { encoding: 'utf8', timeout: 20_000 });
          expect(`${r.stdout}${r.stderr}`).toContain('Transfer finished with success');
          // redis-cli --rdb announces no port: Redis 7.0.15 names it so, never puts it online,
          // and closes it once the RDB is out (replicaPutOnline's rdb-only branch).
          const name = '127.0.0.1:<unknown-replica-port>';
          const completed = `RDB transfer completed, rdb only replica (${name}) should be disconnected asap`;
          const lost = `Connection with replica ${name} lost.`;
          await waitLog(node, lost);
          const log = node.server.output();
          expect(log).toContain(`Replica ${name} asks for synchronization`);
          expect(log).not.toContain(`Synchronization with replica ${name} succeeded`);
          // A disk sync logs the line when its last bytes are written, before the close; a
          // diskless one only when the child's end is seen before redis-cli hangs up (it has its
          // EOF mark by then): Redis races so too.
          if (!diskless) expect(log).toContain(completed);
          if (log.includes(completed)) expect(log.indexOf(completed)).toBeLessThan(log.indexOf(lost));
          expect((await info(node)).get('connected_slaves')).toBe('0');
          expect(checkRdb(file).ok).toBe(true);
        }
        // keyfork's file holds its data: a redis-server started on it has the same digest.
        const copy = await redisNode(['--dbfilename', 'dump.rdb', '--dir', dir]);
        expect(await cmd(copy, 'DEBUG', 'DIGEST')).toBe(await cmd(master, 'DEBUG', 'DIGEST'));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  for (const load of ['disabled', 'swapdb']) {
    it(`keyfork replicates a real Redis master under a write load (repl-diskless-load ${load})`, async () => {
      const master = await redisNode(['--repl-diskless-sync-delay', '0']);
      await fillMixed(master);
      // Function libraries travel with the data.
      const library =
        "#!lua name=repllib\nredis.register_function('writer', function(keys, args) return args[1] end)\n" +
        "redis.register_function{function_name='echoit', callback=function(keys, args) return args[1] end, flags={'no-writes'}}";
      expect(await cmd(master, 'FUNCTION', 'LOAD', library)).toBe('repllib');
      const replica = await keyforkNode(['--repl-diskless-load', load]);
      // Data of its own that the full sync replaces.
      await cmd(replica, 'SET', 'mine', 'gone after the sync');
      const own = "#!lua name=minelib\nredis.register_function{function_name='minefn', callback=function() return 1 end, flags={'no-writes'}}";
      expect(await cmd(replica, 'FUNCTION', 'LOAD', own)).toBe('minelib');
      const loading = writeLoad(master, 3000);
      expect(await cmd(replica, 'REPLICAOF', '127.0.0.1', String(master.server.port))).toBe('+OK');
      await loading;
      await waitLinkUp(replica);
      await writeLoad(master, 1000, 'after');
      await waitInSync(master, replica);
      expect(await cmd(replica, 'EXISTS', 'mine')).toBe(':0');
      expect(await cmd(replica, 'FCALL_RO', 'echoit', '0', 'hello')).toBe('hello');
      // Its own libraries went with its own data (Redis empties both for a full sync).
      expect(await cmd(replica, 'FCALL_RO', 'minefn', '0')).toBe('-ERR Function not found');
      // A function without no-writes is a write: refused on a read-only replica, as Redis does.
      expect(await cmd(replica, 'FCALL_RO', 'writer', '0', 'hello')).toBe("-READONLY You can't write against a read only replica.");
      const log = replica.server.output();
      expect(log).toContain(`Connecting to MASTER 127.0.0.1:${master.server.port}`);
      expect(log).toContain('MASTER <-> REPLICA sync: Finished with success');
      expect(log).toMatch(/:S \d+ \w+ \d+ [\d:.]+ \* MASTER <-> REPLICA sync: Finished with success/);
      // A read-only replica refuses writes from its clients, with Redis's error.
      expect(await cmd(replica, 'SET', 'x', 'y')).toBe("-READONLY You can't write against a read only replica.");
      // WAIT on the master counts keyfork's acknowledgement.
      await cmd(master, 'SET', 'acked', '1');
      expect(await cmd(master, 'WAIT', '1', '5000')).toBe(':1');
    });
  }

  it('a replica loading its full sync answers LOADING, shows the load in INFO, and keeps the old data until it is done', async () => {
    const master = await redisNode(['--repl-diskless-sync-delay', '0']);
    await cmd(master, 'DEBUG', 'POPULATE', '10000', 'new');
    const replica = await keyforkNode(['--key-load-delay', '200', '--loading-process-events-interval-bytes', '1024']);
    await cmd(replica, 'SET', 'old', 'data');
    await cmd(replica, 'REPLICAOF', '127.0.0.1', String(master.server.port));
    await waitFor(async () => (await info(replica, 'persistence')).get('loading') === '1', 'the load to start');
    expect(await cmd(replica, 'GET', 'old')).toBe('-LOADING Redis is loading the dataset in memory');
    expect((await info(replica)).get('master_sync_in_progress')).toBe('1');
    await waitLinkUp(replica, 60_000);
    expect(await cmd(replica, 'EXISTS', 'old')).toBe(':0');
    await waitInSync(master, replica);
  });

  it('keyfork resumes with a partial resync after its link to a real master drops', async () => {
    const master = await redisNode(['--repl-diskless-sync-delay', '0']);
    await fillMixed(master);
    const replica = await keyforkNode();
    await cmd(replica, 'REPLICAOF', '127.0.0.1', String(master.server.port));
    await waitLinkUp(replica);
    await writeLoad(master, 500);
    await waitInSync(master, replica);
    expect(await cmd(master, 'CLIENT', 'KILL', 'TYPE', 'replica')).toBe(':1');
    await writeLoad(master, 500, 'missed');
    await waitLog(replica, 'Successful partial resynchronization with master.');
    await waitLinkUp(replica);
    await waitInSync(master, replica);
    expect((await info(master, 'stats')).get('sync_partial_ok')).toBe('1');
    expect(replica.server.output()).toContain('MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.');
  });

  it('chains: a real master, keyfork in the middle, a real replica at the end', async () => {
    const master = await redisNode(['--repl-diskless-sync-delay', '0']);
    await fillMixed(master);
    const middle = await keyforkNode(['--repl-diskless-sync-delay', '0', '--replicaof', '127.0.0.1', String(master.server.port)]);
    await waitLinkUp(middle);
    const end = await redisNode(['--replicaof', '127.0.0.1', String(middle.server.port)]);
    await waitLinkUp(end);
    await writeLoad(master, 2000);
    await waitInSync(master, middle);
    await waitInSync(middle, end);
    // The end of the chain follows the same history: same id, same offset.
    const [m, e] = [await info(master), await info(end)];
    expect(e.get('master_replid')).toBe(m.get('master_replid'));
    expect(e.get('master_repl_offset')).toBe(m.get('master_repl_offset'));
  });

  it('promotion keeps the history: the other replica continues with a partial resync', async () => {
    const master = await redisNode(['--repl-diskless-sync-delay', '0']);
    await fillMixed(master);
    const promoted = await keyforkNode(['--replicaof', '127.0.0.1', String(master.server.port)]);
    const other = await redisNode(['--replicaof', '127.0.0.1', String(master.server.port)]);
    await waitLinkUp(promoted);
    await waitLinkUp(other);
    await writeLoad(master, 500);
    await waitInSync(master, promoted);
    await waitInSync(master, other);
    const before = await info(master);
    await master.server.stop('SIGKILL');
    expect(await cmd(promoted, 'REPLICAOF', 'NO', 'ONE')).toBe('+OK');
    const p = await info(promoted);
    expect(p.get('role')).toBe('master');
    expect(p.get('master_replid2')).toBe(before.get('master_replid'));
    expect(p.get('second_repl_offset')).toBe(String(Number(before.get('master_repl_offset')) + 1));
    expect(await cmd(other, 'REPLICAOF', '127.0.0.1', String(promoted.server.port))).toBe('+OK');
    await waitLog(other, 'Successful partial resynchronization with master.');
    await waitLog(promoted, `Partial resynchronization request from 127.0.0.1:${other.server.port} accepted.`);
    await waitLinkUp(other);
    await waitInSync(promoted, other);
    expect((await info(promoted, 'stats')).get('sync_full')).toBe('0');
  });

  it('replication settings: masterauth/masteruser, announce ip/port, priority, min-replicas', async () => {
    const master = await redisNode(['--repl-diskless-sync-delay', '0', '--requirepass', 'sekret']);
    await cmd(master, 'AUTH', 'sekret');
    await cmd(master, 'ACL', 'SETUSER', 'repl', 'on', '>replpass', '+@all', '~*');
    await fillMixed(master);
    const replica = await keyforkNode([
      '--masteruser', 'repl', '--masterauth', 'replpass',
      '--replica-announce-ip', '10.1.2.3', '--replica-announce-port', '4567', '--replica-priority', '42',
    ]);
    await cmd(replica, 'REPLICAOF', '127.0.0.1', String(master.server.port));
    await waitLinkUp(replica);
    await waitInSync(master, replica);
    // Redis puts a diskless replica online when it sees the sync child exit (its cron, or the
    // replica's first ACK when the child is gone by then): a moment after the data is in.
    await waitFor(async () => (await info(master)).get('slave0')?.includes('state=online') ?? false, 'the replica online');
    expect((await info(master)).get('slave0')).toMatch(/^ip=10\.1\.2\.3,port=4567,state=online,/);
    expect((await info(replica)).get('slave_priority')).toBe('42');
    // A wrong password: the handshake stops at AUTH, with Redis's words.
    await cmd(replica, 'CONFIG', 'SET', 'masterauth', 'wrong');
    await cmd(master, 'CLIENT', 'KILL', 'TYPE', 'replica');
    await waitLog(replica, 'Unable to AUTH to MASTER: -WRONGPASS invalid username-password pair or user is disabled.');

    // min-replicas-to-write on a keyfork master: writes need enough replicas acknowledging.
    const kf = await keyforkNode(['--min-replicas-to-write', '1', '--min-replicas-max-lag', '10', '--repl-diskless-sync-delay', '0']);
    expect(await cmd(kf, 'SET', 'a', '1')).toBe('-NOREPLICAS Not enough good replicas to write.');
    expect(await cmd(kf, 'GET', 'a')).toBe('(nil)');
    expect((await info(kf)).get('min_slaves_good_slaves')).toBe('0');
    const r = await redisNode(['--replicaof', '127.0.0.1', String(kf.server.port)]);
    await waitLinkUp(r);
    await waitFor(async () => (await info(kf)).get('min_slaves_good_slaves') === '1', 'a good replica');
    expect(await cmd(kf, 'SET', 'a', '1')).toBe('+OK');
    const tx = await RawConnection.connect(kf.server.port);
    try {
      expect(show(await tx.send('MULTI'))).toBe('+OK');
      expect(show(await tx.send('SET', 'b', '1'))).toBe('+QUEUED');
      await r.server.stop('SIGKILL');
      await waitFor(async () => (await info(kf)).get('min_slaves_good_slaves') === '0', 'no good replica left');
      expect(show(await tx.send('EXEC'))).toBe('-EXECABORT Transaction discarded because of: NOREPLICAS Not enough good replicas to write.');
    } finally {
      tx.close();
    }
  });

  for (const replicaKind of ['redis', 'keyfork'] as Array<'redis' | 'keyfork'>) {
    it(`a ${replicaKind} replica killed and restarted on its saved RDB resumes with a partial resync`, async () => {
      const masterKind = replicaKind === 'redis' ? keyforkNode : redisNode;
      const master = await masterKind(['--repl-diskless-sync-delay', '0']);
      await fillMixed(master);
      const start = replicaKind === 'redis' ? redisNode : keyforkNode;
      const args = ['--replicaof', '127.0.0.1', String(master.server.port)];
      const replica = await start(args);
      await waitLinkUp(replica);
      await writeLoad(master, 300);
      await waitInSync(master, replica);
      // The RDB records the replication id and offset it holds the data of.
      expect(await cmd(replica, 'SAVE')).toBe('+OK');
      const dir = replica.server.dir;
      await replica.server.stop('SIGKILL');
      await writeLoad(master, 300, 'while-down');
      const again = await start([...args, '--dir', dir, '--dbfilename', 'dump.rdb']);
      await waitLinkUp(again);
      await waitInSync(master, again);
      expect((await info(master, 'stats')).get('sync_partial_ok')).toBe('1');
      expect(again.server.output()).toContain('Successful partial resynchronization with master.');
    });
  }

  it('repl-backlog-size, repl-backlog-ttl, repl-ping-replica-period and the replica settings as Redis applies them', async () => {
    const master = await keyforkNode([
      '--repl-diskless-sync-delay', '0', '--repl-backlog-ttl', '1', '--repl-ping-replica-period', '1',
      '--repl-disable-tcp-nodelay', 'yes', '--rdbcompression', 'no', '--rdbchecksum', 'no',
    ]);
    const redis = await redisNode();
    // CONFIG SET never takes the backlog below 16 KB (Redis's CONFIG_REPL_BACKLOG_MIN_SIZE).
    for (const n of [master, redis]) expect(await cmd(n, 'CONFIG', 'SET', 'repl-backlog-size', '1')).toBe('+OK');
    expect(formatReply(await master.conn.send('CONFIG', 'GET', 'repl-backlog-size'))).toBe(formatReply(await redis.conn.send('CONFIG', 'GET', 'repl-backlog-size')));
    await fillMixed(master);
    const replica = await keyforkNode(['--replicaof', '127.0.0.1', String(master.server.port), '--replica-announced', 'no']);
    await waitLinkUp(replica);
    await waitInSync(master, replica);
    expect((await info(replica)).get('replica_announced')).toBe('0');
    // A PING a second keeps the stream moving without writes.
    const start = Number((await info(master)).get('master_repl_offset'));
    await waitFor(async () => Number((await info(master)).get('master_repl_offset')) >= start + 3 * 14, 'three PINGs');
    await waitInSync(master, replica);
    // replica-read-only no: the replica takes writes of its own.
    expect(await cmd(replica, 'SET', 'local', '1')).toBe("-READONLY You can't write against a read only replica.");
    await cmd(replica, 'CONFIG', 'SET', 'replica-read-only', 'no');
    expect(await cmd(replica, 'SET', 'local', '1')).toBe('+OK');
    // Without replicas for repl-backlog-ttl seconds the backlog goes, and with it the history.
    const before = await info(master);
    await replica.server.stop('SIGKILL');
    await waitLog(master, 'Replication backlog freed after 1 seconds without connected replicas.');
    const after = await info(master);
    expect(after.get('repl_backlog_active')).toBe('0');
    expect(after.get('master_replid')).not.toBe(before.get('master_replid'));
  });

  it('INFO replication lists the fields Redis 7.0 lists, in its order, in both roles', async () => {
    const kfMaster = await keyforkNode(['--repl-diskless-sync-delay', '0']);
    const rdMaster = await redisNode(['--repl-diskless-sync-delay', '0']);
    const kfReplica = await keyforkNode(['--replicaof', '127.0.0.1', String(rdMaster.server.port)]);
    const rdReplica = await redisNode(['--replicaof', '127.0.0.1', String(kfMaster.server.port)]);
    await waitLinkUp(kfReplica);
    await waitLinkUp(rdReplica);
    await waitFor(async () => (await info(kfMaster)).get('slave0')?.includes('state=online') ?? false, 'keyfork to see its replica online');
    await waitFor(async () => (await info(rdMaster)).get('slave0')?.includes('state=online') ?? false, 'redis to see its replica online');
    const names = async (n: Node) => [...(await info(n)).keys()];
    expect(await names(kfMaster)).toEqual(await names(rdMaster));
    // A replica is not one of connected_clients (Redis: its clients less its slaves).
    const clients = async (n: Node) => (await info(n, 'clients')).get('connected_clients');
    expect(await clients(kfMaster)).toBe(await clients(rdMaster));
    expect(await clients(rdMaster)).toBe('1');
    expect(await names(kfReplica)).toEqual(await names(rdReplica));
    const role = async (n: Node) => formatReply(await n.conn.send('ROLE')).replace(/"\d+"|\d+/g, 'N');
    expect(await role(kfReplica)).toBe(await role(rdReplica));
    expect(await role(kfMaster)).toBe(await role(rdMaster));
  });

  it('a replica ignores maxmemory (replica-ignore-maxmemory yes) and evicts with no, as Redis does', async () => {
    const master = await keyforkNode(['--repl-diskless-sync-delay', '0']);
    expect(await cmd(master, 'DEBUG', 'POPULATE', '30000', 'mm', '100')).toBe('+OK');
    const replicas = [await keyforkNode(), await redisNode()];
    for (const r of replicas) {
      expect(await cmd(r, 'REPLICAOF', '127.0.0.1', String(master.server.port))).toBe('+OK');
      await waitLinkUp(r);
      await waitInSync(master, r);
      // Far below what the data takes: a master would evict nearly everything.
      expect(await cmd(r, 'CONFIG', 'SET', 'maxmemory-policy', 'allkeys-random', 'maxmemory', '1mb')).toBe('+OK');
    }
    // The cron runs a few times, reads are served, the stream goes on: nothing is evicted.
    await sleep(1200);
    await writeLoad(master, 600, 'mm-after');
    for (const r of replicas) {
      expect(await cmd(r, 'GET', 'mm:1'), r.kind).not.toBe('(nil)');
      await waitInSync(master, r);
    }
    // replica-ignore-maxmemory no: the replica evicts on its own, and its data departs from the master's.
    const total = Number((await cmd(master, 'DBSIZE')).slice(1));
    for (const r of replicas) {
      expect(await cmd(r, 'CONFIG', 'SET', 'replica-ignore-maxmemory', 'no')).toBe('+OK');
      await waitFor(async () => Number((await cmd(r, 'DBSIZE')).slice(1)) < total / 2, `${r.kind} to evict`);
      expect((await info(r, 'stats')).get('evicted_keys')).not.toBe('0');
    }
  });

  it("scripts get Redis's refusals on a read-only replica and without enough good replicas", async () => {
    const kfMaster = await keyforkNode(['--repl-diskless-sync-delay', '0']);
    const rdMaster = await redisNode(['--repl-diskless-sync-delay', '0']);
    const kfReplica = await keyforkNode(['--replicaof', '127.0.0.1', String(kfMaster.server.port)]);
    const rdReplica = await redisNode(['--replicaof', '127.0.0.1', String(rdMaster.server.port)]);
    await waitLinkUp(kfReplica);
    await waitLinkUp(rdReplica);
    const scripts: Arg[][] = [
      ['EVAL', "return redis.call('SET', 'a', 'b')", '0'],
      ['EVAL', "return redis.pcall('SET', 'a', 'b')", '0'],
      ['EVAL', "local ok = redis.pcall('SET', 'a', 'b'); return redis.call('GET', 'a')", '0'],
      ['EVAL', "#!lua\nreturn redis.call('SET', 'a', 'b')", '0'],
      ['EVAL', "#!lua flags=no-writes\nreturn redis.call('SET', 'a', 'b')", '0'],
      ['EVAL', "#!lua flags=no-writes\nreturn redis.call('GET', 'a')", '0'],
      ['EVAL_RO', "return redis.call('SET', 'a', 'b')", '0'],
    ];
    const replies = async (node: Node) => {
      const out: string[] = [];
      for (const c of scripts) out.push(formatReply(await node.conn.send(...c)).replace(/script: \w+/, 'script: SHA'));
      return out;
    };
    const onReplica = await replies(kfReplica);
    expect(onReplica).toEqual(await replies(rdReplica));
    expect(onReplica[0]).toContain("READONLY You can't write against a read only replica.");
    // Masters with min-replicas-to-write 2 and one replica: NOREPLICAS, inside scripts too.
    for (const m of [kfMaster, rdMaster]) {
      expect(await cmd(m, 'CONFIG', 'SET', 'min-replicas-to-write', '2', 'min-replicas-max-lag', '10')).toBe('+OK');
    }
    const onMaster = await replies(kfMaster);
    expect(onMaster).toEqual(await replies(rdMaster));
    expect(onMaster[0]).toContain('NOREPLICAS Not enough good replicas to write.');
  });

  it('REPLICAOF, WAIT and REPLCONF answer bad input as Redis does', async () => {
    const keyfork = await keyforkNode();
    const redis = await redisNode();
    const cases: Arg[][] = [
      ['REPLICAOF', '127.0.0.1', 'notaport'],
      ['REPLICAOF', '127.0.0.1', '70000'],
      ['REPLICAOF', '127.0.0.1'],
      ['SLAVEOF', 'no', 'one'],
      ['REPLICAOF', 'NO', 'ONE'],
      ['WAIT', 'x', '0'],
      ['WAIT', '0', 'x'],
      ['WAIT', '0', '-1'],
      ['WAIT', '0', '0'],
      ['WAIT', '1', '10'],
      ['REPLCONF', 'listening-port'],
      ['REPLCONF', 'bogus', '1'],
      ['REPLCONF', 'listening-port', 'x'],
      ['REPLCONF', 'rdb-only', '2'],
      ['REPLCONF', 'capa', 'whatever'],
      ['ROLE'],
    ];
    for (const c of cases) {
      const [k, r] = [await keyfork.conn.send(...c), await redis.conn.send(...c)];
      expect(formatReply(k), c.join(' ')).toBe(formatReply(r));
    }
    // A replica refuses WAIT; REPLICAOF to the same master is a no-op.
    await cmd(keyfork, 'REPLICAOF', '127.0.0.1', String(redis.server.port));
    await cmd(redis, 'SET', 'k', 'v');
    await waitLinkUp(keyfork);
    const again = await cmd(keyfork, 'REPLICAOF', '127.0.0.1', String(redis.server.port));
    expect(again).toBe('+OK Already connected to specified master');
    expect(await cmd(keyfork, 'WAIT', '0', '0')).toMatch(/^-ERR WAIT cannot be used with replica instances/);
    expect(await cmd(keyfork, 'REPLICAOF', 'NO', 'ONE')).toBe('+OK');
    await waitLog(keyfork, "MASTER MODE enabled (user request from 'id=");
    expect(keyfork.server.output()).toMatch(/Setting secondary replication ID to \w{40}, valid up to offset: \d+\. New replication ID is \w{40}/);
    // Promoted: writable again, the data kept.
    expect(await cmd(keyfork, 'GET', 'k')).toBe('v');
    expect(await cmd(keyfork, 'SET', 'k', 'mine')).toBe('+OK');
    await sleep(10);
  });
});

// Replication under bad input and faults: a master that answers garbage, a transfer cut short
// or corrupt, a master that vanishes, a replica that vanishes in the middle of its full sync.
// Whatever happens the replica keeps the data it had until a complete transfer has loaded, the
// master frees the child and the link, both log why, and the next attempt succeeds.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { RawConnection } from '../helpers/resp';
import {
  cmd,
  fillMixed,
  info,
  keyforkNode,
  redisNode,
  stopNodesAfterEach,
  waitFor,
  waitInSync,
  waitLinkUp,
  waitLog,
} from './replication-support';

stopNodesAfterEach();

/**
 * A fake master on a free port: answers the handshake like Redis, then behaves as `serve` says
 * for each PSYNC (the n-th connection gets `serve(socket, n)`).
 */
async function fakeMaster(serve: (socket: net.Socket, attempt: number) => void): Promise<{ port: number; close(): void }> {
  let attempt = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      // One reply per command received; PSYNC hands the socket over.
      for (;;) {
        const m = buffered.match(/^\*(\d+)\r\n/);
        if (!m) return;
        const parts: string[] = [];
        let at = m[0].length;
        for (let i = 0; i < Number(m[1]); i++) {
          const h = buffered.slice(at).match(/^\$(\d+)\r\n/);
          if (!h || buffered.length < at + h[0].length + Number(h[1]) + 2) return;
          parts.push(buffered.slice(at + h[0].length, at + h[0].length + Number(h[1])));
          at += h[0].length + Number(h[1]) + 2;
        }
        buffered = buffered.slice(at);
        const name = parts[0].toUpperCase();
        if (name === 'PING') socket.write('+PONG\r\n');
        else if (name === 'PSYNC') {
          socket.removeAllListeners('data');
          serve(socket, ++attempt);
          return;
        } else socket.write('+OK\r\n');
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      srv.close();
    },
  };
}

/** An RDB made by a real redis-server holding `keys` strings (and its digest). */
async function redisRdb(keys: number): Promise<{ rdb: Buffer; digest: string }> {
  const redis = await redisNode();
  await cmd(redis, 'DEBUG', 'POPULATE', String(keys), 'from-master', '50');
  expect(await cmd(redis, 'SAVE')).toBe('+OK');
  const rdb = fs.readFileSync(path.join(redis.server.dir, 'dump.rdb'));
  return { rdb, digest: await cmd(redis, 'DEBUG', 'DIGEST') };
}

const REPLID = 'a'.repeat(40);

describeDifferential('replication faults', () => {
  it('a master answering garbage: the replica keeps its data, logs why, and the next master works', async () => {
    const garbage = net.createServer((s) => {
      s.on('error', () => {});
      s.on('data', () => s.write('HTTP/1.1 400 Bad Request\r\n\r\n'));
    });
    await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', () => r()));
    try {
      const replica = await keyforkNode();
      await fillMixed(replica);
      const digest = await cmd(replica, 'DEBUG', 'DIGEST');
      await cmd(replica, 'REPLICAOF', '127.0.0.1', String((garbage.address() as net.AddressInfo).port));
      await waitLog(replica, "Error reply to PING from master: 'HTTP/1.1 400 Bad Request'");
      // It tries again every second, and serves its data meanwhile.
      await waitFor(() => replica.server.output().split('Error reply to PING from master').length > 2, 'a second attempt');
      expect((await info(replica)).get('master_link_status')).toBe('down');
      expect(await cmd(replica, 'DEBUG', 'DIGEST')).toBe(digest);
      const master = await redisNode();
      await fillMixed(master, 'm');
      await cmd(replica, 'REPLICAOF', '127.0.0.1', String(master.server.port));
      await waitLinkUp(replica);
      await waitInSync(master, replica);
    } finally {
      garbage.close();
    }
  });

  for (const mode of ['sized', 'EOF-marked'] as const) {
    it(`a ${mode} transfer cut short, then a corrupt one, leave the old data; the next one loads`, async () => {
      const { rdb, digest } = await redisRdb(2000);
      const replica = await keyforkNode(['--dbfilename', 'dump.rdb']);
      await fillMixed(replica, 'old');
      const oldDigest = await cmd(replica, 'DEBUG', 'DIGEST');
      const mark = 'b'.repeat(40);
      const frame = (payload: Buffer) =>
        mode === 'sized'
          ? Buffer.concat([Buffer.from(`$${payload.length}\r\n`), payload])
          : Buffer.concat([Buffer.from(`$EOF:${mark}\r\n`), payload, Buffer.from(mark)]);
      const corrupt = Buffer.from(rdb);
      corrupt.fill(0xee, 200, 260);
      // The good transfer waits until the test has seen the replica survive the bad ones.
      let release = () => {};
      const good = new Promise<void>((resolve) => (release = resolve));
      const master = await fakeMaster((socket, attempt) => {
        socket.write(`+FULLRESYNC ${REPLID} 0\r\n\n\n`);
        if (attempt === 1) {
          // Half the payload, then the link drops.
          const whole = frame(rdb);
          socket.end(whole.subarray(0, whole.length >> 1));
        } else if (attempt === 2) {
          socket.write(frame(corrupt));
        } else {
          void good.then(() => socket.write(frame(rdb)));
        }
      });
      try {
        await cmd(replica, 'REPLICAOF', '127.0.0.1', String(master.port));
        await waitLog(replica, 'I/O error trying to sync with MASTER: connection lost');
        expect(await cmd(replica, 'DEBUG', 'DIGEST')).toBe(oldDigest);
        await waitLog(replica, 'Failed trying to load the MASTER synchronization DB from');
        expect(await cmd(replica, 'DEBUG', 'DIGEST')).toBe(oldDigest);
        release();
        await waitLinkUp(replica);
        expect(await cmd(replica, 'DEBUG', 'DIGEST')).toBe(digest);
        // No temp file is left behind; the received RDB is the replica's dump.rdb.
        const files = fs.readdirSync(replica.server.dir);
        expect(files.filter((f) => f.startsWith('temp-'))).toEqual([]);
        expect(fs.readFileSync(path.join(replica.server.dir, 'dump.rdb')).equals(rdb)).toBe(true);
      } finally {
        master.close();
      }
    });
  }

  for (const masterKind of ['keyfork', 'redis'] as const) {
    it(`a replica that falls behind past client-output-buffer-limit replica is dropped with Redis's log line, then resyncs (${masterKind} master)`, async () => {
      const start = masterKind === 'keyfork' ? keyforkNode : redisNode;
      const master = await start(['--repl-diskless-sync-delay', '0', '--client-output-buffer-limit', 'replica 1mb 0 0']);
      const replica = await redisNode(['--replicaof', '127.0.0.1', String(master.server.port)]);
      await waitLinkUp(replica);
      replica.server.proc.kill('SIGSTOP');
      try {
        // 32 MB of writes: more than the kernel's socket buffers take, so the stream queues in
        // the master, past the replica class's 1 MB hard limit.
        const value = 'x'.repeat(1024 * 1024);
        for (let i = 0; i < 32; i++) await master.conn.send('SET', `big:${i}`, value);
        await waitLog(master, 'scheduled to be closed ASAP for overcoming of output buffer limits.');
      } finally {
        replica.server.proc.kill('SIGCONT');
      }
      expect(master.server.output()).toMatch(/Client id=\d+ addr=127\.0\.0\.1:\d+ laddr=\S+ fd=\d+ name=\S* age=\d+ idle=\d+ flags=S .* scheduled to be closed ASAP for overcoming of output buffer limits\./);
      // The replica comes back: the backlog (1 MB) no longer covers its offset, so a full sync.
      await waitFor(async () => (await info(master, 'stats')).get('sync_full') === '2', 'the dropped replica to resync', 60_000);
      await waitLinkUp(replica);
      await waitInSync(master, replica, 60_000);
    });
  }

  it('a master that goes silent: repl-timeout drops the link and the replica reconnects', async () => {
    const { rdb, digest } = await redisRdb(100);
    const master = await fakeMaster((socket) => {
      socket.write(`+FULLRESYNC ${REPLID} 0\r\n$${rdb.length}\r\n`);
      socket.write(rdb);
      // Then nothing: no PING, no stream.
    });
    try {
      const replica = await keyforkNode(['--repl-timeout', '2', '--rdb-del-sync-files', 'yes']);
      await cmd(replica, 'REPLICAOF', '127.0.0.1', String(master.port));
      await waitLinkUp(replica);
      expect(await cmd(replica, 'DEBUG', 'DIGEST')).toBe(digest);
      // No persistence here: the RDB the master sent is not kept (rdb-del-sync-files).
      expect(replica.server.output()).toContain('Removing the RDB file obtained from the master. This replica has persistence disabled');
      expect(fs.existsSync(path.join(replica.server.dir, 'dump.rdb'))).toBe(false);
      await waitLog(replica, 'MASTER timeout: no data nor PING received...');
      await waitLog(replica, 'Trying a partial resynchronization (request');
    } finally {
      master.close();
    }
  });

  it('a master that vanishes: the replica serves stale data (or MASTERDOWN), then resyncs', async () => {
    const master = await redisNode(['--repl-diskless-sync-delay', '0']);
    await fillMixed(master);
    const replica = await keyforkNode(['--replicaof', '127.0.0.1', String(master.server.port)]);
    await waitLinkUp(replica);
    await waitInSync(master, replica);
    const digest = await cmd(replica, 'DEBUG', 'DIGEST');
    const port = master.server.port;
    await master.server.stop('SIGKILL');
    await waitLog(replica, 'Connection with master lost.');
    await waitFor(async () => (await info(replica)).get('master_link_status') === 'down', 'the link to go down');
    const f = await info(replica);
    expect(Number(f.get('master_link_down_since_seconds'))).toBeGreaterThanOrEqual(0);
    expect(await cmd(replica, 'DEBUG', 'DIGEST')).toBe(digest);
    // replica-serve-stale-data no: only commands flagged stale run while the link is down.
    await cmd(replica, 'CONFIG', 'SET', 'replica-serve-stale-data', 'no');
    expect(await cmd(replica, 'GET', 'k:s:1')).toBe("-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.");
    expect(await cmd(replica, 'DBSIZE')).toBe("-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.");
    expect((await info(replica)).get('role')).toBe('slave');
    await cmd(replica, 'CONFIG', 'SET', 'replica-serve-stale-data', 'yes');
    expect(await cmd(replica, 'GET', 'k:s:1')).toBe('value-1value-1');
    // A new master on the same address: a new history, so a full resync.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-repl-newmaster-'));
    try {
      const again = await redisNode(['--port', String(port), '--dir', dir]);
      await fillMixed(again, 'new');
      await waitLinkUp(replica);
      await waitInSync(again, replica);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const diskless of [true, false]) {
    it(`a replica that vanishes during its ${diskless ? 'diskless' : 'disk'} sync is dropped; the next sync works`, async () => {
      const master = await keyforkNode([
        '--repl-diskless-sync', diskless ? 'yes' : 'no',
        '--repl-diskless-sync-delay', '0',
        '--rdb-key-save-delay', '2000',
      ]);
      await cmd(master, 'DEBUG', 'POPULATE', '1000');
      const fake = await RawConnection.connect(master.server.port);
      await fake.send('REPLCONF', 'listening-port', '9999');
      await fake.send('REPLCONF', 'capa', 'eof', 'capa', 'psync2');
      fake.write('*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n');
      await waitLog(master, diskless ? 'Background RDB transfer started by pid' : 'Background saving started by pid');
      fake.close();
      await waitLog(master, 'Connection with replica 127.0.0.1:9999 lost.');
      if (diskless) {
        await waitLog(master, 'Diskless rdb transfer, last replica dropped, killing fork child.');
        await waitLog(master, 'Background transfer terminated by signal 10');
      }
      await waitFor(async () => (await info(master, 'persistence')).get('rdb_bgsave_in_progress') === '0', 'the child to go', 60_000);
      await cmd(master, 'CONFIG', 'SET', 'rdb-key-save-delay', '0');
      expect((await info(master)).get('connected_slaves')).toBe('0');
      const replica = await redisNode(['--replicaof', '127.0.0.1', String(master.server.port)]);
      await waitLinkUp(replica);
      await waitInSync(master, replica);
    });
  }
});

// A replica whose master's stream fails on it (propagation-error-behavior) and a replica that
// cannot persist (replica-ignore-disk-write-errors), keyfork and redis-server replicas of the
// same redis-server master side by side: the "== CRITICAL ==" lines with the latest backlog,
// INFO's unexpected_error_replies, the panics (Redis's bug-report head, death by SIGABRT).
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { RawConnection } from '../helpers/resp';
import { cmd, info, keyforkNode, redisNode, stopNodesAfterEach, waitFor, waitLinkUp, type Node } from './replication-support';

stopNodesAfterEach();

type Kind = 'keyfork' | 'redis';
const node = (kind: Kind, args: string[] = []) => (kind === 'keyfork' ? keyforkNode(args) : redisNode(args));
const slowIt = (name: string, fn: () => Promise<void>) => it(name, fn, 60_000);

const LINE = /== CRITICAL ==|Latest backlog is|Software Failure|Guru Meditation|------------------------------------------------|applying a command even though/;

/** The replica's lines of interest since `from`, without pid and time; Guru Meditation without Redis's #file:line. */
function logLines(n: Node, from: number): string[] {
  return n.server.output().slice(from).split('\n').filter((l) => LINE.test(l))
    .map((l) => l.replace(/^\d+:[MS] \d+ \w+ \d+ [\d:.]+ [.*#-] /, '').replace(/ #\S+$/, ''));
}

/** Until the replica applied everything the master produced (offsets, not digests: they differ on purpose). */
async function caughtUp(master: Node, replica: Node): Promise<void> {
  await waitFor(async () => (await info(master)).get('master_repl_offset') === (await info(replica)).get('master_repl_offset'), 'the replica to catch up');
}

async function exitOf(n: Node): Promise<{ code: number | null; signal: string | null }> {
  const proc = n.server.proc;
  if (proc.exitCode !== null || proc.signalCode !== null) return { code: proc.exitCode, signal: proc.signalCode };
  return new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
}

/** A redis-server master and a writable replica of `kind` whose keys s and n are strings the master does not have. */
async function diverged(kind: Kind, replicaArgs: string[]) {
  const master = await redisNode(['--repl-diskless-sync-delay', '0']);
  const replica = await node(kind, ['--replica-read-only', 'no', ...replicaArgs, '--replicaof', '127.0.0.1', String(master.server.port)]);
  await waitLinkUp(replica);
  await cmd(replica, 'SET', 's', 'abc');
  await cmd(replica, 'SET', 'n', 'abc');
  await cmd(master, 'SET', 'other', '1');
  await caughtUp(master, replica);
  return { master, replica };
}

describeDifferential('errors in a master\'s stream vs redis-server 7.0', () => {
  async function ignored(kind: Kind) {
    // panic, but a writable replica does not panic: it logs and goes on.
    const { master, replica } = await diverged(kind, ['--propagation-error-behavior', 'panic']);
    const from = replica.server.output().length;
    await cmd(master, 'LPUSH', 's', 'x');
    await caughtUp(master, replica);
    await cmd(master, 'INCR', 'n');
    await caughtUp(master, replica);
    const stats = await info(replica, 'stats');
    const after = [await cmd(replica, 'GET', 's'), await cmd(replica, 'GET', 'n'), (await info(replica)).get('master_link_status')];
    await cmd(replica, 'CONFIG', 'RESETSTAT');
    const reset = (await info(replica, 'stats')).get('unexpected_error_replies');
    return { log: logLines(replica, from), count: stats.get('unexpected_error_replies'), after, reset };
  }

  slowIt('a writable replica logs each failing command with the latest backlog, counts it, and goes on', async () => {
    const want = await ignored('redis');
    const got = await ignored('keyfork');
    expect(got).toEqual(want);
    expect(got.log[0]).toBe("== CRITICAL == This replica is sending an error to its master: '-WRONGTYPE Operation against a key holding the wrong kind of value' after processing the command 'lpush'");
    expect(got.log[1]).toMatch(/^Latest backlog is: '".*\$5\\r\\nother\\r\\n\$1\\r\\n1\\r\\n"'$/);
    expect(got.log[2]).toBe("== CRITICAL == This replica is sending an error to its master: 'value is not an integer or out of range' after processing the command 'incr'");
    expect(got.count).toBe('2');
  });

  async function inTransaction(kind: Kind) {
    const { master, replica } = await diverged(kind, ['--propagation-error-behavior', 'panic']);
    const from = replica.server.output().length;
    // The master's EXEC reaches the replica as MULTI ... EXEC: each failing command is logged,
    // named after EXEC (afterErrorReply names the client's last command).
    const conn = await RawConnection.connect(master.server.port);
    try {
      for (const args of [['MULTI'], ['LPUSH', 's', 'x'], ['INCR', 'n'], ['SET', 'other', '2'], ['EXEC']]) await conn.send(...args);
    } finally {
      conn.close();
    }
    await caughtUp(master, replica);
    const stats = await info(replica, 'stats');
    return { log: logLines(replica, from).map((l) => l.replace(/^Latest backlog is: .*/, 'Latest backlog is: ...')), count: stats.get('unexpected_error_replies'), other: await cmd(replica, 'GET', 'other') };
  }

  slowIt('errors inside a transaction from the master: each one logged (as "exec") and counted', async () => {
    const want = await inTransaction('redis');
    const got = await inTransaction('keyfork');
    expect(got).toEqual(want);
    expect(got.log).toEqual([
      "== CRITICAL == This replica is sending an error to its master: '-WRONGTYPE Operation against a key holding the wrong kind of value' after processing the command 'exec'",
      'Latest backlog is: ...',
      "== CRITICAL == This replica is sending an error to its master: 'value is not an integer or out of range' after processing the command 'exec'",
      'Latest backlog is: ...',
    ]);
    expect(got.count).toBe('2');
  });

  async function panics(kind: Kind, behavior: string) {
    const { master, replica } = await diverged(kind, ['--propagation-error-behavior', behavior]);
    await cmd(replica, 'CONFIG', 'SET', 'replica-read-only', 'yes');
    const from = replica.server.output().length;
    await cmd(master, 'LPUSH', 's', 'x');
    const exit = await exitOf(replica);
    return { exit, log: logLines(replica, from).filter((l) => !l.startsWith('Latest backlog')) };
  }

  for (const behavior of ['panic-on-replicas', 'panic']) {
    slowIt(`propagation-error-behavior ${behavior}: a read-only replica panics (SIGABRT)`, async () => {
      const want = await panics('redis', behavior);
      const got = await panics('keyfork', behavior);
      expect(got).toEqual(want);
      expect(got.exit).toEqual({ code: null, signal: 'SIGABRT' });
      expect(got.log).toEqual([
        "== CRITICAL == This replica is sending an error to its master: '-WRONGTYPE Operation against a key holding the wrong kind of value' after processing the command 'lpush'",
        '------------------------------------------------',
        '!!! Software Failure. Press left mouse button to continue',
        "Guru Meditation: This replica panicked sending an error to its master after processing the command 'lpush'",
      ]);
    });
  }

  async function diskErrors(kind: Kind) {
    const master = await redisNode(['--repl-diskless-sync-delay', '0']);
    const replica = await node(kind, ['--replica-ignore-disk-write-errors', 'yes', '--replicaof', '127.0.0.1', String(master.server.port)]);
    await waitLinkUp(replica);
    // The replica's own save fails (dump.rdb is a directory): it cannot persist any more.
    fs.rmSync(path.join(replica.server.dir, 'dump.rdb'), { force: true });
    fs.mkdirSync(path.join(replica.server.dir, 'dump.rdb', 'x'), { recursive: true });
    await cmd(replica, 'CONFIG', 'SET', 'save', '3600 1');
    await cmd(replica, 'BGSAVE');
    await waitFor(async () => (await info(replica, 'persistence')).get('rdb_last_bgsave_status') === 'err', 'the failed save');
    const from = replica.server.output().length;
    await cmd(master, 'SET', 'a', '1');
    await caughtUp(master, replica);
    await cmd(master, 'SET', 'b', '2');
    await caughtUp(master, replica);
    const applied = [await cmd(replica, 'GET', 'a'), await cmd(replica, 'GET', 'b'), await cmd(replica, 'PING')];
    const ignoredLog = logLines(replica, from);
    await cmd(replica, 'CONFIG', 'SET', 'replica-ignore-disk-write-errors', 'no');
    const from2 = replica.server.output().length;
    await cmd(master, 'SET', 'c', '3');
    const exit = await exitOf(replica);
    return { applied, ignoredLog, exit, panicLog: logLines(replica, from2) };
  }

  slowIt('replica-ignore-disk-write-errors: yes applies the stream (one warning per 10 s), no panics', async () => {
    const want = await diskErrors('redis');
    const got = await diskErrors('keyfork');
    expect(got).toEqual(want);
    expect(got.ignoredLog).toEqual(['Replica is applying a command even though it is unable to write to disk.']);
    expect(got.exit).toEqual({ code: null, signal: 'SIGABRT' });
    expect(got.panicLog.slice(-1)).toEqual(['Guru Meditation: Replica was unable to write command to disk.']);
  });
});

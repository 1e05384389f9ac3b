// Redis 7.0's graceful shutdown with replicas, keyfork beside redis-server 7.0.15 in the same
// scenarios: SHUTDOWN and SIGTERM/SIGINT pause writes and wait (shutdown-timeout) until every
// replica acknowledged the master's offset; NOW skips the wait, FORCE exits despite a failed
// save, ABORT cancels; the blocked SHUTDOWN clients' replies, INFO's shutdown_in_milliseconds,
// shutdown-on-sigint / shutdown-on-sigterm, and the log lines of each path.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { freePort } from '../helpers/ports';
import { keyforkMainPath, redisServerPath } from '../helpers/servers';
import { formatReply, RawConnection } from '../helpers/resp';
import { cmd, info, keyforkNode, redisNode, sleep, stopNodesAfterEach, waitFor, waitLinkUp, waitLog, type Node } from './replication-support';

stopNodesAfterEach();

/** Each scenario runs on both servers, with waits of seconds. */
const slowIt = (name: string, fn: () => Promise<void>) => it(name, fn, 60_000);

type Kind = 'keyfork' | 'redis';
const node = (kind: Kind, args: string[] = []) => (kind === 'keyfork' ? keyforkNode(args) : redisNode(args));

/** A master of `kind` with one redis-server replica (the spec's ACKs), online and acknowledged. */
async function pair(kind: Kind, masterArgs: string[] = [], replicaKind: Kind = 'redis'): Promise<{ master: Node; replica: Node }> {
  const master = await node(kind, ['--repl-diskless-sync-delay', '0', ...masterArgs]);
  const replica = await node(replicaKind, ['--replicaof', '127.0.0.1', String(master.server.port)]);
  await waitLinkUp(replica);
  await cmd(master, 'SET', 'before', '1');
  await waitAcked(master);
  return { master, replica };
}

/** Until the master's replica reported its whole offset. */
async function waitAcked(master: Node): Promise<void> {
  await waitFor(
    async () => {
      const f = await info(master);
      const slave = f.get('slave0') ?? '';
      return f.get('master_repl_offset') !== undefined && slave.includes('state=online') && slave.includes(`offset=${f.get('master_repl_offset')},`);
    },
    `the replica of ${master.kind} to acknowledge everything`,
  );
}

const raw = async (n: Node, ...args: string[]) => formatReply(await n.conn.send(...args));

function freeze(n: Node, frozen: boolean): void {
  process.kill(n.server.pid, frozen ? 'SIGSTOP' : 'SIGCONT');
}

const SHUTDOWN_LINE = /User requested shutdown|Waiting for replicas|Lagging replica|replicas are in sync|Saving the final|Error trying to save|Errors trying to shut down|Shutdown manually aborted|ready to exit|scheduling shutdown|You insist|Removing the pid file|Calling fsync/;

/** The shutdown's log lines written after `from`, without pid, time, and this run's ports. */
function logLines(n: Node, from: number, replica?: Node): string[] {
  return n.server
    .output()
    .slice(from)
    .split('\n')
    .filter((l) => SHUTDOWN_LINE.test(l))
    .map((l) => {
      let s = l.replace(/^\d+:signal-handler \(\d+\) /, 'signal-handler: ').replace(/^\d+:[MSCX] \d+ \w+ \d+ [\d:.]+ /, '');
      if (replica) s = s.split(String(replica.server.port)).join('<replica-port>');
      return s.replace(/lag=\d+/, 'lag=N');
    });
}

/** Sends a command on a new connection without waiting: the reply (or 'closed') when it comes. */
async function pending(n: Node, ...args: string[]): Promise<{ reply: Promise<string>; conn: RawConnection }> {
  const conn = await RawConnection.connect(n.server.port);
  const reply = conn.send(...args).then(formatReply, () => 'closed');
  return { reply, conn };
}

/** Whether `p` settled within `ms`. */
async function settledWithin<T>(p: Promise<T>, ms: number): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await sleep(ms);
  return done;
}

async function exitOf(n: Node, timeoutMs = 20_000): Promise<{ code: number | null; signal: string | null }> {
  const proc = n.server.proc;
  if (proc.exitCode !== null || proc.signalCode !== null) return { code: proc.exitCode, signal: proc.signalCode };
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${n.kind} did not exit`)), timeoutMs);
    proc.once('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal });
    });
  });
}

describeDifferential('graceful shutdown with replicas vs redis-server 7.0', () => {
  async function inSync(kind: Kind, replicaKind: Kind) {
    const { master, replica } = await pair(kind, [], replicaKind);
    const from = master.server.output().length;
    const started = Date.now();
    const sd = await pending(master, 'SHUTDOWN');
    const reply = await sd.reply;
    const exit = await exitOf(master);
    sd.conn.close();
    return { reply, exit, log: logLines(master, from, replica), ms: Date.now() - started };
  }

  slowIt('a replica that acknowledged everything: no wait, "1 of 1 replicas are in sync"', async () => {
    const want = await inSync('redis', 'redis');
    const got = await inSync('keyfork', 'redis');
    expect(got.log).toEqual(want.log);
    expect(got.log).toEqual(['# User requested shutdown...', '* 1 of 1 replicas are in sync when shutting down.', '# Redis is now ready to exit, bye bye...']);
    expect([got.reply, got.exit]).toEqual([want.reply, want.exit]);
    expect(got.exit).toEqual({ code: 0, signal: null });
  });

  slowIt('keyfork replicas acknowledge a shutting-down master (keyfork and redis-server masters)', async () => {
    for (const kind of ['redis', 'keyfork'] as const) {
      const { master, replica } = await pair(kind, ['--shutdown-timeout', '10'], 'keyfork');
      // Writes the replica has not acknowledged yet: the master asks (GETACK) and waits.
      await master.conn.pipeline(Array.from({ length: 50 }, (_, i) => ['SET', `k${i}`, 'v']));
      const from = master.server.output().length;
      const started = Date.now();
      const sd = await pending(master, 'SHUTDOWN');
      expect(await sd.reply).toBe('closed');
      expect(await exitOf(master)).toEqual({ code: 0, signal: null });
      const log = logLines(master, from, replica);
      expect(log, kind).toContain('* 1 of 1 replicas are in sync when shutting down.');
      expect(log.some((l) => l.startsWith('# Lagging')), kind).toBe(false);
      expect(Date.now() - started, kind).toBeLessThan(5000);
      expect(await cmd(replica, 'DBSIZE')).toBe(':51');
      sd.conn.close();
    }
  });

  async function lagging(kind: Kind) {
    const { master, replica } = await pair(kind, ['--shutdown-timeout', '2']);
    freeze(replica, true);
    await cmd(master, 'SET', 'unacked', 'x');
    const from = master.server.output().length;
    const sd = await pending(master, 'SHUTDOWN');
    await waitLog(master, 'Waiting for replicas before shutting down.');
    const server = await master.conn.send('INFO', 'server');
    const ms = Number(/shutdown_in_milliseconds:(\d+)/.exec(formatReply(server))?.[1] ?? -1);
    const clients = await info(master, 'clients');
    const list = await cmd(master, 'CLIENT', 'LIST');
    const shutdownFlags = /flags=(\w+) .*cmd=shutdown/.exec(list)?.[1];
    // Writes wait; reads do not.
    const write = await pending(master, 'SET', 'during', 'x');
    const writeHeld = !(await settledWithin(write.reply, 300));
    const read = await cmd(master, 'GET', 'unacked');
    const reply = await sd.reply;
    const exit = await exitOf(master);
    freeze(replica, false);
    sd.conn.close();
    write.conn.close();
    return { ms, blocked: clients.get('blocked_clients'), shutdownFlags, writeHeld, read, reply, exit, log: logLines(master, from, replica) };
  }

  slowIt('a lagging replica: writes paused, the SHUTDOWN client blocked, INFO counts down, then exit after shutdown-timeout', async () => {
    const want = await lagging('redis');
    const got = await lagging('keyfork');
    for (const r of [want, got]) {
      expect(r.ms).toBeGreaterThan(0);
      expect(r.ms).toBeLessThanOrEqual(2000);
    }
    const { ms: _a, ...gotRest } = got;
    const { ms: _b, ...wantRest } = want;
    expect(gotRest).toEqual(wantRest);
    expect(got.log[0]).toBe('# User requested shutdown...');
    expect(got.log[1]).toBe('* Waiting for replicas before shutting down.');
    expect(got.log[2]).toMatch(/^# Lagging replica 127\.0\.0\.1:<replica-port> reported offset \d+ behind master, lag=N, state=online\.$/);
    expect(got.log.slice(3)).toEqual(['* 0 of 1 replicas are in sync when shutting down.', '# Redis is now ready to exit, bye bye...']);
  });

  async function aborted(kind: Kind) {
    const { master, replica } = await pair(kind, ['--shutdown-timeout', '30']);
    freeze(replica, true);
    await cmd(master, 'SET', 'unacked', 'x');
    const from = master.server.output().length;
    const first = await pending(master, 'SHUTDOWN');
    await waitLog(master, 'Waiting for replicas before shutting down.');
    // A second SHUTDOWN (even NOW) joins the one in progress.
    const second = await pending(master, 'SHUTDOWN', 'NOW');
    const write = await pending(master, 'SET', 'during', 'x');
    await sleep(200);
    const blocked = (await info(master, 'clients')).get('blocked_clients');
    const abort = await cmd(master, 'SHUTDOWN', 'ABORT');
    const replies = [await first.reply, await second.reply, await write.reply];
    const after = [await cmd(master, 'SHUTDOWN', 'ABORT'), await cmd(master, 'GET', 'during')];
    const infoAfter = formatReply(await master.conn.send('INFO', 'server')).includes('shutdown_in_milliseconds');
    freeze(replica, false);
    for (const p of [first, second, write]) p.conn.close();
    return { blocked, abort, replies, after, infoAfter, log: logLines(master, from, replica) };
  }

  slowIt('SHUTDOWN ABORT: every blocked SHUTDOWN gets the error, held writes run, nothing left to abort', async () => {
    const want = await aborted('redis');
    const got = await aborted('keyfork');
    expect(got).toEqual(want);
    expect(got.replies).toEqual(['(error) ERR Errors trying to SHUTDOWN. Check logs.', '(error) ERR Errors trying to SHUTDOWN. Check logs.', 'OK']);
    expect(got.log).toEqual(['# User requested shutdown...', '* Waiting for replicas before shutting down.', '* Shutdown manually aborted.']);
  });

  slowIt('CLIENT UNBLOCK leaves a waiting SHUTDOWN blocked (keyfork; redis-server 7.0.15 crashes on it)', async () => {
    const { master, replica } = await pair('keyfork', ['--shutdown-timeout', '30']);
    freeze(replica, true);
    await cmd(master, 'SET', 'unacked', 'x');
    const sd = await pending(master, 'SHUTDOWN');
    await waitLog(master, 'Waiting for replicas before shutting down.');
    const id = /id=(\d+) .*cmd=shutdown/.exec(await cmd(master, 'CLIENT', 'LIST'))?.[1];
    expect(id).toBeDefined();
    expect(await cmd(master, 'CLIENT', 'UNBLOCK', id!, 'ERROR')).toBe(':0');
    expect(await settledWithin(sd.reply, 200)).toBe(false);
    expect(await cmd(master, 'SHUTDOWN', 'ABORT')).toBe('+OK');
    expect(await sd.reply).toBe('(error) ERR Errors trying to SHUTDOWN. Check logs.');
    freeze(replica, false);
    sd.conn.close();
  });

  async function now(kind: Kind) {
    const { master, replica } = await pair(kind, ['--shutdown-timeout', '30']);
    freeze(replica, true);
    await cmd(master, 'SET', 'unacked', 'x');
    const from = master.server.output().length;
    const sd = await pending(master, 'SHUTDOWN', 'NOW');
    const reply = await sd.reply;
    const exit = await exitOf(master, 5000);
    freeze(replica, false);
    sd.conn.close();
    return { reply, exit, log: logLines(master, from, replica).map((l) => l.replace(/offset \d+/, 'offset N')) };
  }

  slowIt('SHUTDOWN NOW does not wait: the lagging replica is logged and the server exits', async () => {
    const want = await now('redis');
    const got = await now('keyfork');
    expect(got).toEqual(want);
    expect(got.log).toEqual([
      '# User requested shutdown...',
      '# Lagging replica 127.0.0.1:<replica-port> reported offset N behind master, lag=N, state=online.',
      '* 0 of 1 replicas are in sync when shutting down.',
      '# Redis is now ready to exit, bye bye...',
    ]);
  });

  async function failedSave(kind: Kind) {
    // The final save fails: dump.rdb is a directory the temp file cannot be renamed over.
    const { master, replica } = await pair(kind, ['--shutdown-timeout', '1', '--save', '3600 1']);
    fs.mkdirSync(path.join(master.server.dir, 'dump.rdb', 'x'), { recursive: true });
    freeze(replica, true);
    await cmd(master, 'SET', 'unacked', 'x');
    const from = master.server.output().length;
    const sd = await pending(master, 'SHUTDOWN');
    const reply = await sd.reply;
    const write = await cmd(master, 'SET', 'after', 'x');
    const infoAfter = formatReply(await master.conn.send('INFO', 'server')).includes('shutdown_in_milliseconds');
    const from2 = master.server.output().length;
    const forced = await pending(master, 'SHUTDOWN', 'NOW', 'FORCE');
    const forcedReply = await forced.reply;
    const exit = await exitOf(master, 5000);
    freeze(replica, false);
    sd.conn.close();
    forced.conn.close();
    const strip = (l: string) => l.replace(/offset \d+/, 'offset N');
    return {
      reply,
      write,
      infoAfter,
      log: logLines(master, from, replica).slice(0, 6).map(strip),
      forcedReply,
      exit,
      forcedLog: logLines(master, from2, replica).map(strip),
    };
  }

  slowIt('a failed final save after the wait: the SHUTDOWN client gets the error, writes resume; FORCE exits anyway', async () => {
    const want = await failedSave('redis');
    const got = await failedSave('keyfork');
    expect(got).toEqual(want);
    expect(got.log).toEqual([
      '# User requested shutdown...',
      '* Waiting for replicas before shutting down.',
      '# Lagging replica 127.0.0.1:<replica-port> reported offset N behind master, lag=N, state=online.',
      '* 0 of 1 replicas are in sync when shutting down.',
      '* Saving the final RDB snapshot before exiting.',
      "# Error trying to save the DB, can't exit.",
    ]);
    expect(got.forcedLog).toContain('# Error trying to save the DB. Exit anyway.');
  });

  async function signals(kind: Kind) {
    const { master, replica } = await pair(kind, ['--shutdown-timeout', '30']);
    freeze(replica, true);
    await cmd(master, 'SET', 'unacked', 'x');
    const from = master.server.output().length;
    process.kill(master.server.pid, 'SIGTERM');
    await waitLog(master, 'Waiting for replicas before shutting down.');
    // A second SIGTERM changes nothing; SHUTDOWN ABORT cancels a signal's shutdown too.
    process.kill(master.server.pid, 'SIGTERM');
    await sleep(300);
    const abort = await cmd(master, 'SHUTDOWN', 'ABORT');
    const write = await cmd(master, 'SET', 'after', 'x');
    // SIGINT, then SIGINT again while it waits: "You insist", status 1.
    process.kill(master.server.pid, 'SIGINT');
    await waitFor(() => master.server.output().split('Waiting for replicas').length === 3, 'the second wait');
    process.kill(master.server.pid, 'SIGINT');
    const exit = await exitOf(master, 5000);
    freeze(replica, false);
    return { abort, write, exit, log: logLines(master, from, replica) };
  }

  slowIt('SIGTERM / SIGINT wait for replicas too; ABORT cancels; a second SIGINT exits at once with status 1', async () => {
    const want = await signals('redis');
    const got = await signals('keyfork');
    expect(got).toEqual(want);
    expect(got.log).toEqual([
      'signal-handler: Received SIGTERM scheduling shutdown...',
      '# User requested shutdown...',
      '* Waiting for replicas before shutting down.',
      'signal-handler: Received SIGTERM scheduling shutdown...',
      '* Shutdown manually aborted.',
      'signal-handler: Received SIGINT scheduling shutdown...',
      '# User requested shutdown...',
      '* Waiting for replicas before shutting down.',
      'signal-handler: You insist... exiting now.',
    ]);
    expect(got.exit).toEqual({ code: 1, signal: null });
  });

  async function onSignal(kind: Kind) {
    // save rules whose final save fails: the signal's flags decide what happens.
    const { master, replica } = await pair(kind, ['--shutdown-timeout', '30', '--save', '3600 1', '--shutdown-on-sigterm', 'now']);
    fs.mkdirSync(path.join(master.server.dir, 'dump.rdb', 'x'), { recursive: true });
    freeze(replica, true);
    await cmd(master, 'SET', 'unacked', 'x');
    const config = [await raw(master, 'CONFIG', 'GET', 'shutdown-on-sigterm'), await raw(master, 'CONFIG', 'SET', 'shutdown-on-sigint', 'save nosave')];
    const from = master.server.output().length;
    // now: no wait, the save fails, the server stays.
    process.kill(master.server.pid, 'SIGTERM');
    await waitLog(master, 'Errors trying to shut down the server');
    const alive = await cmd(master, 'PING');
    // nosave now: exits without the save.
    config.push(await raw(master, 'CONFIG', 'SET', 'shutdown-on-sigint', 'nosave now'), await raw(master, 'CONFIG', 'GET', 'shutdown-on-sigint'));
    process.kill(master.server.pid, 'SIGINT');
    const exit = await exitOf(master, 5000);
    freeze(replica, false);
    return { config, alive, exit, log: logLines(master, from, replica).map((l) => l.replace(/offset \d+/, 'offset N')) };
  }

  slowIt('shutdown-on-sigterm / shutdown-on-sigint choose the flags a signal shuts down with', async () => {
    const want = await onSignal('redis');
    const got = await onSignal('keyfork');
    expect(got).toEqual(want);
    expect(got.log.filter((l) => !l.includes('Lagging') && !l.includes('in sync'))).toEqual([
      'signal-handler: Received SIGTERM scheduling shutdown...',
      '# User requested shutdown...',
      '* Saving the final RDB snapshot before exiting.',
      "# Error trying to save the DB, can't exit.",
      '# Errors trying to shut down the server. Check the logs for more information.',
      'signal-handler: Received SIGINT scheduling shutdown...',
      '# User requested shutdown...',
      '# Redis is now ready to exit, bye bye...',
    ]);
    expect(got.exit).toEqual({ code: 0, signal: null });
  });

  /** SIGTERM while the start-up load runs: no wait, no final save (Redis's whileBlockedCron). */
  async function duringLoad(kind: Kind, dir: string) {
    const port = await freePort();
    const args = ['--port', String(port), '--dir', dir, '--save', '3600 1', '--key-load-delay', '1500', '--loading-process-events-interval-bytes', '1024'];
    const proc = kind === 'keyfork'
      ? spawn(process.execPath, [keyforkMainPath(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(redisServerPath() as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      await waitFor(() => out.includes('Loading RDB produced by'), `${kind} to start loading`);
      const mtime = fs.statSync(path.join(dir, 'dump.rdb')).mtimeMs;
      const from = out.length;
      proc.kill('SIGTERM');
      const exit = await exited;
      const log = out.slice(from).split('\n').filter((l) => SHUTDOWN_LINE.test(l))
        .map((l) => l.replace(/^\d+:signal-handler \(\d+\) /, 'signal-handler: ').replace(/^\d+:[MSCX] \d+ \w+ \d+ [\d:.]+ /, ''));
      return { exit, log, saved: fs.statSync(path.join(dir, 'dump.rdb')).mtimeMs !== mtime };
    } finally {
      proc.kill('SIGKILL');
    }
  }

  slowIt('a signal during the start-up load: no final save, exit at once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-shutdown-load-'));
    try {
      const maker = await keyforkNode(['--dir', dir]);
      await cmd(maker, 'DEBUG', 'POPULATE', '2000');
      await cmd(maker, 'SAVE');
      await maker.server.stop('SIGKILL');
      const want = await duringLoad('redis', dir);
      const got = await duringLoad('keyfork', dir);
      expect(got).toEqual(want);
      expect(got.log).toEqual([
        'signal-handler: Received shutdown signal during loading, scheduling shutdown.',
        '# User requested shutdown...',
        '# Redis is now ready to exit, bye bye...',
      ]);
      expect(got.exit).toEqual({ code: 0, signal: null });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

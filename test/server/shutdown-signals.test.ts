// Shutdown signals while the server is busy, side by side with redis-server 7.0.15. Redis acts
// on a signal when it is delivered (sigShutdownHandler); Node only between turns of its event
// loop, so keyfork's addon handles what cannot wait (native/src/shutdown_signal.rs):
// - a second SIGINT during a long final save exits at once, with status 1, and removes the
//   save's temp-<pid>.rdb;
// - SHUTDOWN ABORT cancels a SIGTERM that arrived while a command held the server.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { formatReply, RawConnection } from '../helpers/resp';
import { startKeyfork, startRedis, type ExitStatus, type RunningServer } from '../helpers/servers';
import { waitFor } from './persistence-support';

type Kind = 'keyfork' | 'redis';
const start = (kind: Kind, args: string[]) => (kind === 'keyfork' ? startKeyfork({ args }) : startRedis({ args }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const running: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop('SIGKILL')));
});

function exitOf(server: RunningServer, timeoutMs: number): Promise<ExitStatus> {
  const proc = server.proc;
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve({ code: proc.exitCode, signal: proc.signalCode });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the server did not exit')), timeoutMs);
    proc.once('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal: signal as NodeJS.Signals | null });
    });
  });
}

/** The signal handler's and shutdown's lines, without pid and time. */
function shutdownLines(output: string): string[] {
  return output.split('\n')
    .filter((l) => /signal-handler|User requested shutdown|Saving the final|manually aborted/.test(l))
    .map((l) => l.replace(/^\d+:signal-handler \(\d+\) /, 'signal-handler: ').replace(/^\d+:[MSC] \d+ \w+ \d+ [\d:.]+ [#*.-] /, ''));
}

describeDifferential('shutdown signals while the server is busy vs redis-server 7.0', () => {
  async function insist(kind: Kind) {
    // 20 keys at 100 ms each: the final save takes 2 s.
    const server = await start(kind, ['--save', '3600 1', '--rdb-key-save-delay', '100000']);
    running.push(server);
    const c = await RawConnection.connect(server.port);
    for (let i = 0; i < 20; i++) await c.send('SET', `k${i}`, 'v');
    c.close();
    const temp = path.join(server.dir, `temp-${server.pid}.rdb`);
    process.kill(server.pid, 'SIGINT');
    await waitFor(() => fs.existsSync(temp), 'the final save\'s temp file', 5_000);
    const t0 = Date.now();
    process.kill(server.pid, 'SIGINT');
    const exit = await exitOf(server, 10_000);
    const exitMs = Date.now() - t0;
    return { exit, tempLeft: fs.existsSync(temp), fastExit: exitMs < 1_000, dumpWritten: fs.existsSync(path.join(server.dir, 'dump.rdb')), log: shutdownLines(server.output()) };
  }

  it('a second SIGINT during the final save exits at once, status 1, its temp file removed', async () => {
    const want = await insist('redis');
    const got = await insist('keyfork');
    expect(got).toEqual({
      exit: { code: 1, signal: null },
      tempLeft: false,
      fastExit: true,
      dumpWritten: false,
      log: [
        'signal-handler: Received SIGINT scheduling shutdown...',
        'User requested shutdown...',
        'Saving the final RDB snapshot before exiting.',
        'signal-handler: You insist... exiting now.',
      ],
    });
    expect(got).toEqual(want);
  }, 60_000);

  async function abortWhileBusy(kind: Kind) {
    const server = await start(kind, ['--enable-debug-command', 'yes']);
    running.push(server);
    const a = await RawConnection.connect(server.port);
    const b = await RawConnection.connect(server.port);
    const replies: string[] = [formatReply(await a.send('DEBUG', 'PAUSE-CRON', '1'))];
    // The signal arrives while DEBUG SLEEP holds the server; the abort is read after it.
    const sleeping = b.send('DEBUG', 'SLEEP', '0.5');
    await sleep(100);
    process.kill(server.pid, 'SIGTERM');
    await sleep(50);
    replies.push(formatReply(await a.send('SHUTDOWN', 'ABORT')));
    replies.push(formatReply(await sleeping));
    replies.push(formatReply(await a.send('DEBUG', 'PAUSE-CRON', '0')));
    await sleep(300);
    replies.push(formatReply(await a.send('PING')));
    a.close();
    b.close();
    return { replies, log: shutdownLines(server.output()) };
  }

  it('SHUTDOWN ABORT cancels a SIGTERM that arrived while a command held the server', async () => {
    const want = await abortWhileBusy('redis');
    const got = await abortWhileBusy('keyfork');
    expect(got.replies).toEqual(['OK', 'OK', 'OK', 'OK', 'PONG']);
    expect(got).toEqual(want);
  }, 60_000);
});

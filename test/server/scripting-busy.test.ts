// Scripts past busy-reply-threshold: the server keeps answering (BUSY for most commands, on
// existing and new connections), SCRIPT KILL / FUNCTION KILL stop a script that has not
// written, UNKILLABLE once it has, SHUTDOWN NOSAVE ends the server. The same scenario runs on
// keyfork and on redis-server and the replies must be identical.
import { expect, it } from 'vitest';
import { describeDifferential, formatMismatches, replyKey, type BothServers, useBothServers } from '../helpers/diff';
import { formatReply, RawConnection, type Arg, type Reply } from '../helpers/resp';
import { startKeyfork, startRedis, type RunningServer } from '../helpers/servers';

let servers: BothServers;
const THRESHOLD_MS = 200;
const args = ['--busy-reply-threshold', String(THRESHOLD_MS)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `probe` answers BUSY (the script passed the threshold), at most 10 s. */
async function untilBusy(probe: RawConnection): Promise<void> {
  for (let i = 0; i < 100; i++) {
    await sleep(THRESHOLD_MS);
    const r = await probe.send('PING');
    if (r.t === 'error' && r.v.startsWith('BUSY')) return;
  }
  throw new Error('the script never became busy');
}

interface Step {
  on: 'runner' | 'other' | 'late';
  command: Arg[];
}

/**
 * Starts `script` (an EVAL or FCALL) on one connection, waits until another sees BUSY, then
 * runs `steps` and finally collects the script's own reply. Returns every reply in order.
 */
async function scenario(port: number, setup: Arg[][], script: Arg[], steps: Step[]): Promise<Reply[]> {
  const runner = await RawConnection.connect(port, { replyTimeoutMs: 30_000 });
  const other = await RawConnection.connect(port, { replyTimeoutMs: 30_000 });
  try {
    for (const c of setup) await other.send(...c);
    const scriptReply = runner.send(...script);
    await untilBusy(other);
    const replies: Reply[] = [];
    let late: RawConnection | null = null;
    for (const step of steps) {
      if (step.on === 'late' && !late) late = await RawConnection.connect(port, { replyTimeoutMs: 30_000 });
      const conn = step.on === 'late' ? late! : other;
      replies.push(await conn.send(...step.command));
    }
    replies.push(await scriptReply);
    replies.push(await other.send('PING'));
    late?.close();
    return replies;
  } finally {
    runner.close();
    other.close();
  }
}

async function compareScenario(setup: Arg[][], script: Arg[], steps: Step[], normalize = (r: Reply) => r): Promise<void> {
  const [k, r] = await Promise.all([
    scenario(servers.keyfork.port, setup, script, steps),
    scenario(servers.redis.port, setup, script, steps),
  ]);
  const labels = [...steps.map((s) => `${s.on}: ${s.command.join(' ')}`), 'the script', 'PING after'];
  const mismatches = labels
    .map((label, i) => ({ index: i, command: [label] as Arg[], keyfork: normalize(k[i]), redis: normalize(r[i]) }))
    .filter((m) => replyKey(m.keyfork) !== replyKey(m.redis));
  expect(formatMismatches(mismatches)).toBe('');
}

describeDifferential('busy scripts vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s), { keyfork: { args }, redis: { args } });

  it('answers BUSY, lets allow-busy commands run, and SCRIPT KILL ends the script', async () => {
    await compareScenario([['FLUSHALL']], ['EVAL', 'local i = 0 while true do i = i + 1 end', '0'], [
      { on: 'other', command: ['GET', 'x'] },
      { on: 'other', command: ['NOSUCHCOMMAND'] },
      { on: 'other', command: ['GET'] },
      { on: 'other', command: ['FUNCTION', 'KILL'] },
      { on: 'other', command: ['FUNCTION', 'STATS'] },
      { on: 'other', command: ['SHUTDOWN'] },
      { on: 'other', command: ['MULTI'] },
      { on: 'other', command: ['SET', 'x', '1'] },
      { on: 'other', command: ['EXEC'] },
      { on: 'other', command: ['DISCARD'] },
      { on: 'late', command: ['PING'] },
      { on: 'late', command: ['ECHO', 'hi'] },
      { on: 'other', command: ['SCRIPT', 'KILL'] },
    ]);
    expect(servers.keyfork.output()).toMatch(/Slow script detected: still in execution after \d+ milliseconds\. You can try killing the script using the SCRIPT KILL command\. Script name is: [0-9a-f]{40}\./);
    expect(servers.keyfork.output()).toContain('Lua script killed by user with SCRIPT KILL.');
  });

  it('refuses in Redis\'s order: an ACL denial (NOPERM) comes before BUSY', async () => {
    await compareScenario([['FLUSHALL'], ['ACL', 'SETUSER', 'busy-limited', 'on', '>pw', '+ping', '+auth']], ['EVAL', 'local i = 0 while true do i = i + 1 end', '0'], [
      { on: 'late', command: ['AUTH', 'busy-limited', 'pw'] },
      { on: 'late', command: ['GET', 'x'] },
      { on: 'late', command: ['PING'] },
      { on: 'other', command: ['SCRIPT', 'KILL'] },
    ]);
  });

  it('a kill raised inside pcall still ends the script', async () => {
    await compareScenario([['FLUSHALL']], ['EVAL', 'while true do pcall(function() local i = 0 while true do i = i + 1 end end) end', '0'], [
      { on: 'other', command: ['SCRIPT', 'KILL'] },
    ]);
  });

  it('FUNCTION KILL ends a function; SCRIPT KILL refuses it; FUNCTION STATS shows it', async () => {
    const lib = '#!lua name=busylib\nredis.register_function("spin", function() local i = 0 while true do i = i + 1 end end)';
    const durationless = (r: Reply): Reply => {
      const text = formatReply(r).replace(/duration_ms"?\s*\n\s*\d+\)\s*\(integer\) \d+/g, 'duration_ms');
      return { t: 'simple', v: text };
    };
    await compareScenario([['FUNCTION', 'FLUSH'], ['FUNCTION', 'LOAD', lib]], ['FCALL', 'spin', '0'], [
      { on: 'other', command: ['SCRIPT', 'KILL'] },
      { on: 'other', command: ['FUNCTION', 'STATS'] },
      { on: 'other', command: ['GET', 'x'] },
      { on: 'other', command: ['FUNCTION', 'KILL'] },
    ], durationless);
  });
});

/** A busy script that wrote cannot be killed; SHUTDOWN NOSAVE still ends the server. */
async function shutdownWhileBusy(start: () => Promise<RunningServer>): Promise<{ replies: string[]; exit: number | null }> {
  const server = await start();
  const runner = await RawConnection.connect(server.port, { replyTimeoutMs: 30_000 });
  const other = await RawConnection.connect(server.port, { replyTimeoutMs: 30_000 });
  try {
    void runner.send('EVAL', 'redis.call("set", "w", "1") while true do end', '0').catch(() => undefined);
    await untilBusy(other);
    const replies = [formatReply(await other.send('SCRIPT', 'KILL')), formatReply(await other.send('SHUTDOWN'))];
    other.write('*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n');
    expect(await other.waitClose(15_000)).toBe(true);
    const exit = await server.stop();
    return { replies, exit: exit.code };
  } finally {
    runner.close();
    other.close();
  }
}

describeDifferential('SHUTDOWN NOSAVE during a busy script', () => {
  it('ends both servers the same way', async () => {
    const [k, r] = await Promise.all([shutdownWhileBusy(() => startKeyfork({ args })), shutdownWhileBusy(() => startRedis({ args }))]);
    expect(k.replies).toEqual(r.replies);
    expect(k.replies[0]).toContain('UNKILLABLE');
    expect(k.exit).toBe(0);
  }, 60_000);
});

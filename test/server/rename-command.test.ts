// rename-command against the real redis-server 7.0: clients reach a renamed command only by its
// new name (data commands on the batch fast path, containers with their subcommands, commands
// called by scripts), a command renamed to "" is gone, while COMMAND INFO/LIST, commandstats
// and ACL rules keep speaking of the original name, as Redis does (the order ACL describes
// commands in follows Redis's hash table and is not compared here). Bad lines stop start-up
// with Redis's errors; a command Redis has and keyfork lacks may be renamed or removed. HELP
// titles use the name the command was called by.
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches } from '../helpers/diff';
import type { Arg, Reply } from '../helpers/resp';
import { freePort } from '../helpers/ports';
import { keyforkMainPath, redisServerPath } from '../helpers/servers';

const RENAMES = ['--rename-command', 'flushall', 'wipe', '--rename-command', 'config', 'cfg', '--rename-command', 'set', 'put',
  '--rename-command', 'debug', '', '--rename-command', 'put', 'store'];

const STORY: Arg[][] = [
  ['FLUSHALL'], ['WIPE'], ['wipe'], ['SET', 'k', 'v'], ['PUT', 'k', 'v'], ['STORE', 'k', 'v'], ['GET', 'k'], ['DEBUG', 'SLEEP', '0'],
  ['CFG', 'GET', 'maxclients'], ['CONFIG', 'GET', 'maxclients'], ['cfg', 'set', 'maxclients', '100'],
  ['COMMAND', 'INFO', 'wipe', 'flushall', 'store', 'set', 'debug'], ['COMMAND', 'INFO', 'cfg|get', 'config|get'],
  ['COMMAND', 'LIST', 'FILTERBY', 'PATTERN', 'flush*'], ['COMMAND', 'LIST', 'FILTERBY', 'PATTERN', 'wipe'],
  ['COMMAND', 'LIST', 'FILTERBY', 'PATTERN', 'debug'], ['COMMAND', 'LIST', 'FILTERBY', 'PATTERN', 'set'],
  ['COMMAND', 'GETKEYS', 'store', 'a', 'b'], ['COMMAND', 'GETKEYS', 'set', 'a', 'b'],
  ['EVAL', "return redis.call('store', 'fromscript', '1')", '0'], ['EVAL', "return redis.call('set', 'x', '1')", '0'],
  ['EVAL', "return redis.call('cfg', 'get', 'hz')", '0'], ['EVAL', "return redis.call('get', 'fromscript')", '0'],
  ['MULTI'], ['STORE', 'm', '1'], ['SET', 'm', '2'], ['EXEC'], ['MULTI'], ['STORE', 'm', '1'], ['EXEC'], ['GET', 'm'],
  ['ACL', 'SETUSER', 'u', 'on', 'nopass', '~*', '+flushall', '+set', '+config|get'], ['ACL', 'SETUSER', 'u2', '+wipe'],
  ['ACL', 'SETUSER', 'u3', '+store'], ['ACL', 'DRYRUN', 'u', 'wipe'], ['ACL', 'DRYRUN', 'u', 'flushall'],
  ['ACL', 'DRYRUN', 'u', 'store', 'a', 'b'], ['ACL', 'DRYRUN', 'u', 'cfg', 'get', 'x'], ['ACL', 'DRYRUN', 'u', 'config', 'get', 'x'],
  ['ACL', 'DRYRUN', 'u', 'cfg', 'set', 'x', 'y'], ['INFO', 'commandstats'],
  // HELP is titled with the command as called (renamed, upper-cased).
  ['cfg', 'help'], ['CONFIG', 'HELP'], ['Client', 'help'],
];

/** commandstats without timings, and only for the commands the story renames. */
function statsOfRenamed(command: Arg[], reply: Reply): Reply {
  if (String(command[0]).toUpperCase() !== 'INFO' || reply.t !== 'bulk' || !reply.v) return reply;
  const lines = reply.v.toString().split('\r\n').filter((l) => /^cmdstat_(flushall|set|config\|[a-z]+|debug|wipe|put|store|cfg)/.test(l));
  return { t: 'bulk', v: Buffer.from(lines.map((l) => l.replace(/,usec=\d+,usec_per_call=[\d.]+/, '')).sort().join('\n')) };
}

/** Starts `binary`: its exit code and output, or code 0 once it is ready to accept connections (then it is stopped). */
function startUpOutput(binary: string, args: string[]): Promise<{ code: number; output: string }> {
  const argv = binary === process.execPath ? [keyforkMainPath(), ...args] : args;
  return new Promise((resolve) => {
    const child = spawn(binary, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let ready = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const read = (d: Buffer) => {
      output += d.toString();
      if (!ready && output.includes('Ready to accept connections')) {
        ready = true;
        child.kill('SIGKILL');
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: ready ? 0 : code ?? -1, output });
    });
  });
}

describeDifferential('rename-command', () => {
  it('renamed and removed commands answer as on Redis, everywhere a client can reach them', async () => {
    const mismatches = await compareSequences(STORY, {
      keyfork: { args: RENAMES }, redis: { args: RENAMES }, normalize: statsOfRenamed, unordered: new Set(['command|list']),
    });
    expect(formatMismatches(mismatches)).toBe('');
  });

  it('bad rename-command lines stop start-up with Redis\'s error; commands keyfork lacks may be renamed', async () => {
    const cases: [string[], string | null][] = [
      [['--rename-command', 'nosuch', 'x'], 'No such command in rename-command'],
      [['--rename-command', 'get', 'set'], 'Target command name already exists'],
      [['--rename-command', 'get', 'g', '--rename-command', 'get', 'h'], 'No such command in rename-command'],
      [['--rename-command', 'get', 'g', '--rename-command', 'g', 'h'], null],
      [['--rename-command', 'cluster', ''], null],
    ];
    for (const [args, error] of cases) {
      const [k, r] = await Promise.all([process.execPath, redisServerPath()!].map(async (b) => startUpOutput(b, ['--port', String(await freePort()), '--save', '', ...args])));
      expect(k.code, `${args.join(' ')}: ${k.output}`).toBe(r.code);
      if (error === null) {
        expect(r.code, r.output).toBe(0);
      } else {
        expect(r.output).toContain(error);
        expect(k.output).toContain('*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***');
        expect(k.output).toContain(error);
      }
    }
  }, 60_000);
});

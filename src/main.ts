#!/usr/bin/env node
// keyfork-server [/path/to/redis.conf] [--option value ...]: redis-server's command line.
// First: V8's young generation keeps its start-up size (see there).
import './young-generation';
import * as fs from 'node:fs';
import { FatalConfigError, loadConfig } from './config';
import { directiveHooks } from './directive-hooks';
import { log } from './log';
import { StartupAbort } from './errors';
import { REDIS_VERSION, KEYFORK_VERSION, type Server } from './server';
import { bringUp, STARTED_BY_ENV, TEMP_DIR_ENV } from './start';

function usage(): string {
  return [
    'Usage: keyfork-server [/path/to/redis.conf] [options] [-]',
    '       keyfork-server - (read config from stdin)',
    '       keyfork-server -v or --version',
    '       keyfork-server -h or --help',
    '',
    'Examples:',
    '       keyfork-server (run the server with default conf)',
    '       keyfork-server /etc/redis/6379.conf',
    '       keyfork-server --port 7777',
    '       keyfork-server /etc/myredis.conf --loglevel verbose -',
    '       keyfork-server /etc/myredis.conf --loglevel verbose',
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '-v' || argv[0] === '--version') {
    process.stdout.write(`Redis server v=${REDIS_VERSION} sha=00000000:0 malloc=libc bits=64 build=keyfork-${KEYFORK_VERSION}\n`);
    return;
  }
  if (argv[0] === '-h' || argv[0] === '--help') {
    process.stderr.write(usage());
    return;
  }
  let loaded;
  // A configuration read from stdin (`-`): a daemon started for `daemonize yes` gets it too.
  let stdinConfig: string | null = null;
  try {
    // Lines logged while the configuration is read (`Reading config from stdin`) come before
    // the server exists: Redis's role mark for them is C, its pid not yet being the server's.
    log.role = 'C';
    loaded = loadConfig(argv, {
      loudUnsupported: true,
      log: (level, message) => log.log(level, message),
      readStdin: () => (stdinConfig = fs.readFileSync(0, 'latin1')),
      ...directiveHooks(),
    });
  } catch (err) {
    if (err instanceof FatalConfigError) {
      process.stderr.write(err.report);
      process.exit(1);
    }
    throw err;
  }
  const { server, port } = await bringUp(loaded, argv.length > 0, {
    ownsProcess: true,
    stdinConfig,
    created: (created) => created.shutdown.listenForSignals(),
  });
  if (process.send && process.env[STARTED_BY_ENV] === 'startServer') reportToStartServer(server, port);
}

/**
 * Started by startServer() (index.ts): tell it the port over the IPC channel, and stop (without
 * a final save, as SHUTDOWN NOSAVE) when the channel closes: its close(), or the test process
 * ending however it ends. A temporary data directory goes with the server.
 */
function reportToStartServer(server: Server, port: number): void {
  const tempDir = process.env[TEMP_DIR_ENV];
  if (tempDir) process.once('exit', () => fs.rmSync(tempDir, { recursive: true, force: true }));
  process.once('disconnect', () => server.shutdown.command(null, { nosave: true, now: true }, 'startServer() closing'));
  process.send?.({ keyforkReady: port });
}

main(process.argv.slice(2)).catch((err) => {
  if (err instanceof StartupAbort) process.exit(1);
  process.stderr.write(`keyfork: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});

// Bringing a server up: banner, configuration, data loading, listeners, signals. Shared by
// the keyfork-server binary (main.ts) and the programmatic startServer() (index.ts).
import * as fs from 'node:fs';
import type { Config } from './config';
// config.ts consumes `dir` and `enable-protected-configs` itself: load it before the set is complete.
import './config/config';
import { allConsumersLoaded, consume } from './config/consumers';
import { ListenFailure, StartupAbort } from './errors';
import { ProcessControl } from './proc';
import { KEYFORK_VERSION, REDIS_VERSION, Server } from './server';
import { UnixSocketFailure } from './unix-socket';

const PIDFILE = consume('pidfile', 'test/server/directives.test.ts');
const ALWAYS_SHOW_LOGO = consume('always-show-logo', 'test/server/startup-log.test.ts');
const LOGFILE = consume('logfile', 'test/server/startup-log.test.ts');
const TCP_BACKLOG = consume('tcp-backlog', 'test/server/directives.test.ts');

/** Redis 7.0's asciilogo.h, filled as redisAsciiArt fills it. */
function asciiLogo(mode: string, port: number, pid: number): string {
  return [
    '                _._                                                  ',
    "           _.-``__ ''-._                                             ",
    `      _.-\`\`    \`.  \`_.  ''-._           Redis ${REDIS_VERSION} (00000000/0) 64 bit`,
    "  .-`` .-```.  ```\\/    _.,_ ''-._                                  ",
    ` (    '      ,       .-\`  | \`,    )     Running in ${mode} mode`,
    ` |\`-._\`-...-\` __...-.\`\`-._|'\` _.-'|     Port: ${port}`,
    ` |    \`-._   \`._    /     _.-'    |     PID: ${pid}`,
    "  `-._    `-._  `-./  _.-'    _.-'                                   ",
    " |`-._`-._    `-.__.-'    _.-'_.-'|                                  ",
    " |    `-._`-._        _.-'_.-'    |           https://redis.io       ",
    "  `-._    `-._`-.__.-'_.-'    _.-'                                   ",
    " |`-._`-._    `-.__.-'    _.-'_.-'|                                  ",
    " |    `-._`-._        _.-'_.-'    |                                  ",
    "  `-._    `-._`-.__.-'_.-'    _.-'                                   ",
    "      `-._    `-.__.-'    _.-'                                       ",
    "          `-._        _.-'                                           ",
    "              `-.__.-'                                               ",
    '',
    '',
  ].join('\n');
}

/**
 * redisAsciiArt: the logo when always-show-logo is set or the log goes to a terminal on
 * stdout, else the one "Running mode" line.
 */
function startupBanner(config: Config, log: Server['log'], port: number): void {
  const showLogo = config.bool(ALWAYS_SHOW_LOGO) || (config.str(LOGFILE) === '' && process.stdout.isTTY === true);
  if (showLogo) log.raw('notice', asciiLogo('standalone', port, process.pid));
  else log.notice(`Running mode=standalone, port=${port}.`);
}
// Everything that consumes a directive is loaded by now (server.ts imports it all): the
// applied set is complete (see config/consumers.ts).
allConsumersLoaded();

/** startServer() (index.ts) starts keyfork-server (main.ts) with these in its environment. */
export const STARTED_BY_ENV = 'KEYFORK_STARTED_BY';
/** A data directory the server removes when it exits (startServer() made it). */
export const TEMP_DIR_ENV = 'KEYFORK_TEMP_DIR';

export interface Started {
  server: Server;
  port: number;
}

export interface BringUpOptions {
  /**
   * The server is the process (keyfork-server): it sets the process's title and its
   * children's. A server started inside another program (startServer inProcess) leaves the
   * host process as it is.
   */
  ownsProcess?: boolean;
}

/** Redis only warns when the pidfile cannot be written. */
function writePidfile(config: Config, log: Server['log']): void {
  const pidfile = config.optionalStr(PIDFILE);
  if (pidfile === null) return;
  try {
    fs.writeFileSync(pidfile, `${process.pid}\n`);
  } catch (err) {
    log.warning(`Failed to write PID file: ${(err as Error).message}`);
  }
}

/** Starts a server on `config`; `configFile` is only for the start-up log line. */
export async function bringUp(config: Config, configFile: string | null, opts: BringUpOptions = {}): Promise<Started> {
  const server = new Server(config);
  const proc = opts.ownsProcess ? new ProcessControl(config) : null;
  if (proc) server.persistence.children.beforeFork = (kind) => proc.prepareChild(kind);
  const log = server.log;
  log.role = 'C';
  log.warning('oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo');
  log.warning(
    `Redis version=${REDIS_VERSION}, bits=64, commit=00000000, modified=0, pid=${process.pid}, just started (keyfork ${KEYFORK_VERSION}, Node ${process.version})`,
  );
  if (configFile === null) {
    log.warning(
      'Warning: no config file specified, using the default config. In order to specify a config file use keyfork-server /path/to/redis.conf',
    );
  } else {
    log.warning('Configuration loaded');
  }
  for (const line of config.unsupportedWarnings()) log.warning(line);
  server.replication.startFromConfig();
  log.role = server.replication.isReplica() ? 'S' : 'M';
  server.persistence.expectStartupLoad();
  if (!server.tls.configureAtStartup()) throw new StartupAbort('TLS configuration');
  const port = await server.listen().catch((err: unknown) => {
    if (!(err instanceof ListenFailure)) throw err;
    log.warning(err.message);
    throw new StartupAbort(err.message);
  });
  // initServer opens the unix socket after the TCP and TLS listeners; its failure exits 1.
  await server.unix.listen(config.int(TCP_BACKLOG)).catch((err: unknown) => {
    throw err instanceof UnixSocketFailure ? new StartupAbort(err.message) : err;
  });
  startupBanner(config, log, port === 0 ? server.tls.port : port);
  log.warning('Server initialized');
  if (!server.scripting.available) log.warning(`Lua scripting is disabled: ${server.scripting.status}`);
  writePidfile(config, server.log);
  proc?.start();
  const users = server.acl.loadAtStartup(config.extra.users);
  for (const line of users.notices) log.notice(line);
  for (const line of users.warnings) log.warning(line);
  if (users.fatal) throw new StartupAbort('ACL errors at start-up');
  const loaded = await server.persistence.loadAtStartup();
  if (loaded) server.replication.replica.restoreFromRdb(loaded);
  if (port !== 0 || server.tls.port !== 0) log.notice('Ready to accept connections');
  if (server.unix.open) log.notice(`The server is now ready to accept connections at ${server.unix.path}`);
  return { server, port };
}

// Bringing a server up: banner, configuration, data loading, listeners, signals. Shared by
// the keyfork-server binary (main.ts) and the programmatic startServer() (index.ts).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isatty } from 'node:tty';
import type { Config } from './config';
// config.ts consumes `dir` and `enable-protected-configs` itself: load it before the set is complete.
import './config/config';
import { allConsumersLoaded, consume } from './config/consumers';
import { ListenFailure, StartupAbort } from './errors';
import { ProcessControl } from './proc';
import { KEYFORK_VERSION, REDIS_VERSION, Server } from './server';
import { Supervision } from './supervision';
import { Cluster } from './cluster';
import { ClusterBus } from './cluster/bus';
import './cluster/bus/commands';
import { native } from './native';
import { Syslog } from './syslog';
import { UnixSocketFailure } from './unix-socket';

const PIDFILE = consume('pidfile', 'test/server/directives.test.ts');
const DAEMONIZE = consume('daemonize', 'test/server/daemonize.test.ts');

/** Redis's CONFIG_DEFAULT_PID_FILE: a daemon without a pidfile writes this one. */
export const DEFAULT_PIDFILE = '/var/run/redis.pid';
/** Set in the environment of the daemon a `daemonize yes` launch starts (it must not start another). */
export const DAEMON_ENV = 'KEYFORK_DAEMONIZED';
/** The working directory keyfork-server was started in (config loading may chdir to `dir`). */
const LAUNCH_CWD = process.cwd();

/**
 * Redis's daemonize(): it forks, the parent exits 0 at once and the child carries on in a new
 * session with stdin, stdout and stderr on /dev/null. Node cannot go on in a forked child, so
 * the server starts itself again the same way (same node, flags and arguments, started where
 * this one was) and this process exits 0, before loading anything, as Redis's parent does.
 */
function daemonize(stdinConfig: string | null): never {
  // node:child_process is loaded only here: loading it costs every start-up ~15 ms.
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    cwd: LAUNCH_CWD,
    detached: true, // setsid()
    // /dev/null; a configuration this process read from stdin is the daemon's stdin to read again.
    stdio: [stdinConfig === null ? 'ignore' : readableCopy(stdinConfig), 'ignore', 'ignore'],
    env: { ...process.env, [DAEMON_ENV]: '1' },
  });
  child.unref();
  process.exit(0);
}

/**
 * A descriptor reading `text` (Redis's forked daemon has the configuration in its memory; the
 * daemon keyfork starts reads it again): a private file, unlinked once open.
 */
function readableCopy(text: string): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-daemon-'));
  try {
    const file = path.join(dir, 'stdin');
    fs.writeFileSync(file, text, { encoding: 'latin1', mode: 0o600 });
    return fs.openSync(file, 'r');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The daemon's stdin back on /dev/null once its configuration is read (open takes the lowest free descriptor). */
function stdinToDevNull(): void {
  fs.closeSync(0);
  const fd = fs.openSync('/dev/null', 'r');
  if (fd !== 0) fs.closeSync(fd);
}
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
function startupBanner(config: Config, log: Server['log'], port: number, mode: string): void {
  const showLogo = config.bool(ALWAYS_SHOW_LOGO) || (config.str(LOGFILE) === '' && isatty(1));
  if (showLogo) log.raw('notice', asciiLogo(mode, port, process.pid));
  else log.notice(`Running mode=${mode}, port=${port}.`);
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
   * children's, and tells a supervisor (upstart, systemd) when it is ready. A server started
   * inside another program (startServer inProcess) leaves the host process as it is.
   */
  ownsProcess?: boolean;
  /** Runs as soon as the server exists, before it listens or loads (signal handlers). */
  created?: (server: Server) => void;
  /** The configuration keyfork-server read from stdin (`-`), for the daemon daemonize starts. */
  stdinConfig?: string | null;
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

/**
 * Starts a server on `config`; `withArguments` (keyfork-server had any argument) is only for
 * the start-up log line, as Redis's `argc == 1` test. `opts.created`
 * runs as soon as the server exists (keyfork-server's signal handlers: a signal during the
 * start-up load shuts down as Redis's does).
 */
export async function bringUp(config: Config, withArguments: boolean, opts: BringUpOptions = {}): Promise<Started> {
  const server = new Server(config);
  if (opts.ownsProcess) server.crash.ownProcess();
  opts.created?.(server);
  const log = server.log;
  const proc = opts.ownsProcess ? new ProcessControl(config, log, () => server.replication.isReplica()) : null;
  if (proc) {
    server.persistence.children.beforeFork = (kind) => proc.prepareChild(kind);
    server.replication.roleListeners.push((replica) => proc.roleChanged(replica));
  }
  log.role = 'C';
  const syslog = opts.ownsProcess ? new Syslog(config) : null;
  if (syslog) syslog.attach(log);
  proc?.warnAboutOomOrder();
  const supervision = opts.ownsProcess ? new Supervision(config, log, () => server.replication.isReplica()) : null;
  // main(): background = daemonize && !supervised.
  const supervised = supervision?.start() ?? false;
  if (opts.ownsProcess && config.bool(DAEMONIZE) && !supervised) {
    if (process.env[DAEMON_ENV] === undefined) daemonize(opts.stdinConfig ?? null);
    delete process.env[DAEMON_ENV];
    if (opts.stdinConfig != null) stdinToDevNull();
    // createPidFile: a daemon always writes one (CONFIG GET pidfile shows it too).
    if (config.optionalStr(PIDFILE) === null) config.setByServer(PIDFILE, DEFAULT_PIDFILE);
  }
  log.warning('oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo');
  log.warning(
    `Redis version=${REDIS_VERSION}, bits=64, commit=00000000, modified=0, pid=${process.pid}, just started (keyfork ${KEYFORK_VERSION}, Node ${process.version})`,
  );
  if (!withArguments) {
    log.warning(
      'Warning: no config file specified, using the default config. In order to specify a config file use keyfork-server /path/to/redis.conf',
    );
  } else {
    log.warning('Configuration loaded');
  }
  // Redis's initServer opens the log here, after its "Configuration loaded" line.
  syslog?.open();
  for (const line of config.unsupportedWarnings()) log.warning(line);
  server.replication.startFromConfig();
  log.role = server.replication.isReplica() ? 'S' : 'M';
  // Redis names its monotonic clock source; Node's timers and hrtime read CLOCK_MONOTONIC.
  log.notice('monotonic clock: POSIX clock_gettime');
  server.persistence.expectStartupLoad();
  if (!server.tls.configureAtStartup()) throw new StartupAbort('TLS configuration');
  await server.tls.relayReady();
  const port = await server.listen().catch((err: unknown) => {
    if (!(err instanceof ListenFailure)) throw err;
    log.warning(err.message);
    throw new StartupAbort(err.message);
  });
  // initServer opens the unix socket after the TCP and TLS listeners; its failure exits 1.
  await server.unix.listen(config.int(TCP_BACKLOG)).catch((err: unknown) => {
    throw err instanceof UnixSocketFailure ? new StartupAbort(err.message) : err;
  });
  // initServer's clusterInit, once the listeners are bound.
  server.cluster = Cluster.init(server);
  if (server.cluster) await ClusterBus.start(server.cluster);
  startupBanner(config, log, port === 0 ? server.tls.port : port, server.cluster ? 'cluster' : 'standalone');
  log.warning('Server initialized');
  if (!server.scripting.available) log.warning(`Lua scripting is disabled: ${server.scripting.status}`);
  writePidfile(config, server.log);
  proc?.start();
  const users = server.acl.loadAtStartup(config.extra.users);
  for (const line of users.notices) log.notice(line);
  for (const line of users.warnings) log.warning(line);
  if (users.fatal) throw new StartupAbort('ACL errors at start-up');
  const loaded = await server.persistence.loadAtStartup(server.replication.expiredAtStartup());
  if (loaded) server.replication.restoreFromRdb(loaded);
  if (server.cluster) server.cluster.verifyWithData(native.keyspaceInfo().some((n, i) => i >= 3 && i % 3 === 0 && n > 0));
  if (port !== 0 || server.tls.port !== 0) log.notice('Ready to accept connections');
  if (server.unix.open) log.notice(`The server is now ready to accept connections at ${server.unix.path}`);
  server.cronFromStart();
  supervision?.ready();
  proc?.ready();
  return { server, port };
}

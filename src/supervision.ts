// `supervised`: telling upstart or systemd that the server is ready, as Redis 7.0 does.
// systemd gets sd_notify's datagrams on NOTIFY_SOCKET (the addon sends them: Node has no Unix
// datagram sockets), at the points where Redis sends them: once ready, and otherwise where it
// logs a line (shutdown, the end of a replica's sync), followed through the log's taps. Upstart's readiness is the job
// stopping itself with SIGSTOP until upstart continues it.
import type { Config } from './config';
import { consume } from './config/consumers';
import type { Logger } from './log';
import { native, type NativeAddon } from './native';

const SUPERVISED = consume('supervised', 'test/server/supervised.test.ts');

const SIGSTOP = 19;
/** sd_notify's refusal of a NOTIFY_SOCKET that is no absolute path or abstract name. */
const EINVAL = 22;
/** sizeof(sockaddr_un.sun_path). */
const SUN_PATH = 108;

export type SupervisionSystem = Pick<NativeAddon, 'sendDatagram' | 'raiseSignal'>;

/** What systemd is told when the server logs one of these lines (Redis's redisCommunicateSystemd calls). */
const SYSTEMD_ON_LINE = new Map<string, string>([
  ['User requested shutdown...', 'STOPPING=1\n'],
  ['Saving the final RDB snapshot before exiting.', 'STATUS=Saving the final RDB snapshot\n'],
  ["Error trying to save the DB, can't exit.", "STATUS=Error trying to save the DB, can't exit.\n"],
  ['MASTER <-> REPLICA sync: Finished with success', 'STATUS=MASTER <-> REPLICA sync: Finished with success. Ready to accept connections in read-write mode.\n'],
]);

export class Supervision {
  /** Redis's server.supervised_mode: `auto` becomes what it detected only when that worked. */
  private mode: string;

  constructor(
    config: Config,
    private readonly log: Logger,
    private readonly isReplica: () => boolean,
    private readonly sys: SupervisionSystem = native,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.mode = config.str(SUPERVISED);
  }

  /**
   * redisIsSupervised, before "Redis is starting" is logged: true when the supervisor was
   * told (then `daemonize` is ignored, as Redis ignores it).
   */
  start(): boolean {
    let mode = this.mode;
    if (mode === 'auto') {
      if (this.env.UPSTART_JOB !== undefined) {
        this.log.verbose('Upstart supervision detected.');
        mode = 'upstart';
      } else if (this.env.NOTIFY_SOCKET !== undefined) {
        this.log.verbose('Systemd supervision detected.');
        mode = 'systemd';
      }
    }
    const supervised = mode === 'upstart' ? this.upstart() : mode === 'systemd' ? this.systemdLoading() : false;
    if (supervised) this.mode = mode;
    if (this.mode === 'systemd') this.log.taps.push((_level, message) => this.onLine(message));
    return supervised;
  }

  /** Once listening and loaded (after the ready lines, whichever the listeners give). */
  ready(): void {
    if (this.mode !== 'systemd') return;
    this.notify(
      this.isReplica()
        ? 'STATUS=Ready to accept connections in read-only mode. Waiting for MASTER <-> REPLICA sync\n'
        : 'STATUS=Ready to accept connections\n',
    );
    this.notify('READY=1\n');
  }

  private onLine(message: string): void {
    const msg = SYSTEMD_ON_LINE.get(message);
    if (msg !== undefined) this.notify(msg);
  }

  private upstart(): boolean {
    if (this.env.UPSTART_JOB === undefined) {
      this.log.warning('upstart supervision requested, but UPSTART_JOB not found!');
      return false;
    }
    this.log.notice('supervised by upstart, will stop to signal readiness.');
    this.sys.raiseSignal(SIGSTOP);
    delete this.env.UPSTART_JOB;
    return true;
  }

  private systemdLoading(): boolean {
    if (this.notify('STATUS=Redis is loading...\n') <= 0) return false;
    this.log.notice(
      'Supervised by systemd. Please make sure you set appropriate values for TimeoutStartSec and TimeoutStopSec in your service unit.',
    );
    return true;
  }

  /** redisCommunicateSystemd: sd_notify(0, msg), whose 0 (no NOTIFY_SOCKET) or -errno is logged. */
  private notify(msg: string): number {
    const rc = this.sdNotify(msg);
    if (rc === 0) this.log.warning('systemd supervision error: NOTIFY_SOCKET not found!');
    else if (rc < 0) this.log.warning(`systemd supervision error: sd_notify: ${rc}`);
    return rc;
  }

  private sdNotify(msg: string): number {
    const socket = this.env.NOTIFY_SOCKET;
    if (socket === undefined) return 0;
    // libsystemd takes an absolute path or an abstract name ('@'), nothing else.
    if ((socket[0] !== '/' && socket[0] !== '@') || socket.length < 2 || Buffer.byteLength(socket) >= SUN_PATH) return -EINVAL;
    const rc = this.sys.sendDatagram(socket, Buffer.from(msg));
    return rc < 0 ? rc : 1;
  }
}

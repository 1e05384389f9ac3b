// syslog-enabled, syslog-ident, syslog-facility: every line the server logs (past the
// loglevel) also goes to syslog, as Redis's serverLogRaw calls syslog(3): one datagram to
// /dev/log in glibc's format, `<PRI>Mmm dd hh:mm:ss ident[pid]: message`. Until Redis's
// initServer opens the log (openlog with LOG_PID and the configured ident and facility),
// glibc's defaults apply: the program's name, no pid, facility user.
import type { Config } from './config';
import { consume } from './config/consumers';
import type { Logger, LogLevel } from './log';
import { native, type NativeAddon } from './native';
import { PROGRAM_TITLE } from './proc';

const SYSLOG_ENABLED = consume('syslog-enabled', 'test/server/syslog.test.ts');
const SYSLOG_IDENT = consume('syslog-ident', 'test/server/syslog.test.ts');
const SYSLOG_FACILITY = consume('syslog-facility', 'test/server/syslog.test.ts');

/** glibc's _PATH_LOG. */
export const SYSLOG_SOCKET = '/dev/log';

/** Redis's syslogLevelMap: LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING. */
const SEVERITY: Record<Exclude<LogLevel, 'nothing'>, number> = { debug: 7, verbose: 6, notice: 5, warning: 4 };
/** LOG_USER, LOG_LOCAL0..7. */
const FACILITY: Record<string, number> = {
  user: 1 << 3,
  ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`local${i}`, (16 + i) << 3])),
};
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** strftime's "%h %e %T" in local time: syslog(3)'s timestamp. */
export function syslogTimestamp(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export class Syslog {
  /** openlog() was called (Redis's initServer). */
  private opened = false;

  constructor(
    private readonly config: Config,
    private readonly sys: Pick<NativeAddon, 'sendDatagram'> = native,
    private readonly socket = SYSLOG_SOCKET,
  ) {}

  /** Follows the log's lines from now on, when syslog-enabled (it cannot change at run time). */
  attach(log: Logger): void {
    if (!this.config.bool(SYSLOG_ENABLED)) return;
    log.taps.push((level, message, shown, pid) => {
      if (shown) this.send(level, message, pid);
    });
  }

  /** openlog(syslog-ident, LOG_PID | LOG_NDELAY | LOG_NOWAIT, syslog-facility). */
  open(): void {
    this.opened = true;
  }

  private send(level: Exclude<LogLevel, 'nothing'>, message: string, pid: number): void {
    const facility = this.opened ? FACILITY[this.config.str(SYSLOG_FACILITY)] ?? FACILITY.user : FACILITY.user;
    const tag = this.opened ? `${this.config.str(SYSLOG_IDENT)}[${pid}]` : PROGRAM_TITLE;
    const payload = `<${facility | SEVERITY[level]}>${syslogTimestamp(new Date())} ${tag}: ${message}`;
    // syslog(3) drops what it cannot deliver, silently (no LOG_CONS).
    this.sys.sendDatagram(this.socket, Buffer.from(payload));
  }
}

// Redis's log format: `pid:role dd Mon yyyy hh:mm:ss.mmm <level> message`, where the level
// mark is . (debug) - (verbose) * (notice) # (warning), and role is M (master), C (child),
// S (replica) or X (sentinel). Lines are written synchronously, as Redis does, so a crash
// never loses the line that explains it.
import * as fs from 'node:fs';

export type LogLevel = 'debug' | 'verbose' | 'notice' | 'warning' | 'nothing';
const LEVELS: Record<LogLevel, number> = { debug: 0, verbose: 1, notice: 2, warning: 3, nothing: 4 };
const MARKS = ['.', '-', '*', '#'];

/** Redis's level numbers (LL_DEBUG 0 .. LL_WARNING 3), as the addon and scripts give them. */
export function levelAt(index: number): Exclude<LogLevel, 'nothing'> {
  return (['debug', 'verbose', 'notice', 'warning'] as const)[Math.max(0, Math.min(3, Math.trunc(index)))];
}
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export function formatTimestamp(d: Date): string {
  return `${pad(d.getDate())} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export class Logger {
  private level = LEVELS.notice;
  private fd = 1;
  private file = '';
  role = 'M';
  /**
   * Told of every line the server logs, before the loglevel filter: what Redis does at the
   * points it logs (systemd notifications at shutdown, syslog) follows the lines (src/supervision.ts).
   */
  readonly taps: Array<(level: Exclude<LogLevel, 'nothing'>, message: string, shown: boolean, pid: number) => void> = [];

  setLevel(level: string): void {
    this.level = LEVELS[level as LogLevel] ?? LEVELS.notice;
  }

  /** Whether a line at `level` would be written (Redis's `server.verbosity <= level` tests). */
  enabled(level: Exclude<LogLevel, 'nothing'>): boolean {
    return LEVELS[level] >= this.level;
  }

  /** An empty path logs to standard output, as Redis's `logfile ""`. */
  setFile(path: string): void {
    if (path === this.file) return;
    const fd = path === '' ? 1 : fs.openSync(path, 'a');
    if (this.fd !== 1) fs.closeSync(this.fd);
    this.fd = fd;
    this.file = path;
  }

  /** The log's descriptor, for the crash handler's write(2)s (native/src/crash.rs). */
  descriptor(): number {
    return this.fd;
  }

  /** A line as another process (the snapshot child, role C) would have written it. */
  lineFor(pid: number, role: string, level: Exclude<LogLevel, 'nothing'>, message: string, at = new Date()): string {
    return `${pid}:${role} ${formatTimestamp(at)} ${MARKS[LEVELS[level]]} ${message}\n`;
  }

  log(level: Exclude<LogLevel, 'nothing'>, message: string): void {
    const shown = LEVELS[level] >= this.level;
    for (const tap of this.taps) tap(level, message, shown, process.pid);
    if (!shown) return;
    this.write(this.lineFor(process.pid, this.role, level, message));
  }

  /** Raw text at `level` (serverLogRaw with LL_RAW: no prefix, still filtered by loglevel). */
  raw(level: Exclude<LogLevel, 'nothing'>, text: string): void {
    const shown = LEVELS[level] >= this.level;
    for (const tap of this.taps) tap(level, text, shown, process.pid);
    if (shown) this.write(text);
  }

  /** A line the forked child logged (it is written as `lineFor` makes it): for the taps. */
  tapChild(pid: number, level: Exclude<LogLevel, 'nothing'>, message: string): void {
    for (const tap of this.taps) tap(level, message, true, pid);
  }

  /** Raw text (the start-up banner, a child's own lines). */
  write(text: string): void {
    try {
      fs.writeSync(this.fd, text);
    } catch {
      // A log that cannot be written (disk full, closed stdout) must not stop the server.
    }
  }

  debug(m: string): void { this.log('debug', m); }
  verbose(m: string): void { this.log('verbose', m); }
  notice(m: string): void { this.log('notice', m); }
  warning(m: string): void { this.log('warning', m); }
}

export const log = new Logger();

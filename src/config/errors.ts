// Error types of the config module. Their messages are Redis's exact texts.

export { REDIS_VERSION } from '../version';
import { REDIS_VERSION } from '../version';

/**
 * CONFIG SET / CONFIG REWRITE failure. `message` is the whole error reply without the
 * leading '-', e.g. "ERR CONFIG SET failed (possibly related to argument 'port') - ...".
 */
export class ConfigCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigCommandError';
  }
}

export class ConfigSetError extends ConfigCommandError {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigSetError';
  }
}

export class ConfigRewriteError extends ConfigCommandError {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigRewriteError';
  }
}

/** A directive from a config file / argv was refused; `message` is the reason line. */
export class ConfigDirectiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigDirectiveError';
  }
}

/**
 * Startup must stop (exit code 1).
 * - kind 'report': `report` is the block Redis prints to stderr, newlines included:
 *   "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'foo bar'\nBad directive or wrong number of arguments\n"
 * - kind 'log': Redis logs `report` as a warning through its logger instead
 *   ("Fatal error, can't open config file '/x.conf': No such file or directory").
 */
export class FatalConfigError extends Error {
  readonly exitCode = 1;
  constructor(
    readonly kind: 'report' | 'log',
    readonly report: string,
  ) {
    super(kind === 'report' ? report.trim().split('\n').slice(-1)[0] : report);
    this.name = 'FatalConfigError';
  }

  /** The block loadServerConfigFromString prints; `line` is omitted for whole-file checks. */
  static block(reason: string, line?: { number: number; text: string }): FatalConfigError {
    let report = `\n*** FATAL CONFIG FILE ERROR (Redis ${REDIS_VERSION}) ***\n`;
    if (line) {
      report += `Reading the configuration file, at line ${line.number}\n`;
      report += `>>> '${line.text}'\n`;
    }
    report += `${reason}\n`;
    return new FatalConfigError('report', report);
  }
}

const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EPERM: 'Operation not permitted',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  EROFS: 'Read-only file system',
  ENOSPC: 'No space left on device',
  EDQUOT: 'Disk quota exceeded',
  EEXIST: 'File exists',
  EMFILE: 'Too many open files',
  ENFILE: 'Too many open files in system',
  EIO: 'Input/output error',
  EBUSY: 'Device or resource busy',
  EINVAL: 'Invalid argument',
  EXDEV: 'Invalid cross-device link',
  ECONNRESET: 'Connection reset by peer',
  EPIPE: 'Broken pipe',
  ETIMEDOUT: 'Connection timed out',
  ECONNREFUSED: 'Connection refused',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ENOTCONN: 'Transport endpoint is not connected',
};

/** strerror(errno) text for a Node.js system error. */
export function strerror(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && STRERROR[code]) return STRERROR[code];
  if (err instanceof Error) return err.message;
  return String(err);
}

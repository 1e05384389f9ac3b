// serverPanic: how Redis 7.0 reports a state it refuses to go on from (the bug report's head)
// before dying by SIGABRT. keyfork prints no C stack trace nor the report's INFO dump; `where`
// names the keyfork module in place of Redis's #file.c:line.
import type { Logger } from './log';

export function serverPanic(log: Logger, message: string, where: string): never {
  log.raw('warning', '\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===\n');
  log.warning('------------------------------------------------');
  log.warning('!!! Software Failure. Press left mouse button to continue');
  log.warning(`Guru Meditation: ${message} #${where}`);
  log.raw('warning', '\n=== REDIS BUG REPORT END. Make sure to include from START to END. ===\n\n');
  process.abort();
}

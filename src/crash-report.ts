// Redis 7.0's crash report (debug.c) and software watchdog, as an operator finds them in the log.
//
// A fatal signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) is reported by the addon's handler
// (native/src/crash.rs), which may only write(2): what it cannot compute there is prepared here
// and handed over beforehand: the log's descriptor and role, the time zone, and the text of
// the report after the registers (INFO OUTPUT, CLIENT LIST OUTPUT, MODULES INFO OUTPUT, CONFIG
// DEBUG OUTPUT), refreshed every second by serverCron while crash-log-enabled is yes (DEBUG
// SEGFAULT refreshes it right before faulting, with its own client as CURRENT CLIENT INFO).
// serverPanic and serverAssert run here, in TypeScript, and print the same report; so does a
// panic of the addon's code in keyfork-server (nativePanic), as Redis's serverPanic would.
import { consume } from './config/consumers';
import { quoteRepr } from './config/splitargs';
import { findConfigRow } from './config/table';
import { arg, type Ctx } from './commands/types';
import { clientInfoLine } from './commands/client-cmd';
import { infoString } from './info';
import type { Logger } from './log';
import { native } from './native';
import { serverPanic, setPanicReporter } from './panic';
import type { Server } from './server';

const PROOF = 'test/server/crash-report.test.ts';
const CRASH_LOG = consume('crash-log-enabled', PROOF);
const MEMCHECK = consume('crash-memcheck-enabled', PROOF);
const EXIT_ON_PANIC = consume('use-exit-on-panic', PROOF);
const WATCHDOG_PERIOD = consume('watchdog-period', 'test/server/watchdog.test.ts');

/** getConfigDebugInfo: the configs 7.0 flags DEBUG_CONFIG, in its rewrite format. */
const DEBUG_CONFIGS = [
  'activedefrag', 'lazyfree-lazy-expire', 'io-threads', 'repl-diskless-load', 'proto-max-bulk-len',
  'lazyfree-lazy-user-del', 'repl-diskless-sync', 'io-threads-do-reads', 'lazyfree-lazy-user-flush',
  'sanitize-dump-payload', 'lazyfree-lazy-eviction', 'slave-read-only', 'replica-read-only',
  'lazyfree-lazy-server-del', 'list-compress-depth', 'client-query-buffer-limit',
];

/** What the native side needs to report a crash, prepared while nothing is wrong. */
export class CrashReport {
  private readonly log: Logger;
  /**
   * Signal handlers and the SIGALRM timer are the process's: only keyfork-server installs them
   * (bringUp's ownsProcess); a server embedded in another program leaves its host's alone.
   */
  private ownsProcess = false;

  constructor(private readonly server: Server) {
    this.log = server.log;
    const config = server.config;
    config.onChange(CRASH_LOG, () => this.applySettings());
    config.onChange(MEMCHECK, () => this.applySettings());
    config.onChange(WATCHDOG_PERIOD, () => this.applyWatchdogPeriod());
    setPanicReporter((ctx) => this.panicReport(ctx), () => this.exitOnPanic());
  }

  /** keyfork-server owns the process: the crash handlers and the watchdog are set up. */
  ownProcess(): void {
    this.ownsProcess = true;
    native.crashInit(() => this.nativePanic());
    this.applySettings();
    if (this.server.config.int(WATCHDOG_PERIOD) !== 0) this.applyWatchdogPeriod();
  }

  private applySettings(): void {
    if (!this.ownsProcess) return;
    const config = this.server.config;
    const pidfile = config.get('daemonize') === 'yes' && config.get('supervised') === 'no' ? config.get('pidfile') : '';
    native.crashSettings(
      this.log.descriptor(),
      this.log.role,
      -new Date().getTimezoneOffset() * 60,
      config.bool(MEMCHECK),
      pidfile,
      config.bool(CRASH_LOG),
    );
    if (config.bool(CRASH_LOG)) {
      try {
        this.refresh(null);
      } catch {
        // A server still being built has no INFO yet: the next cron run fills the text in.
      }
    }
  }

  /**
   * applyWatchdogPeriod: 0 stops the timer; a period under two cron ticks is raised to that
   * (the value CONFIG GET then shows), as Redis fixes it.
   */
  private applyWatchdogPeriod(): void {
    const config = this.server.config;
    let period = config.int(WATCHDOG_PERIOD);
    if (period !== 0) {
      const minPeriod = Math.floor(1000 / this.server.hz) * 2;
      if (period < minPeriod) {
        period = minPeriod;
        config.setByServer(WATCHDOG_PERIOD, BigInt(period));
      }
    }
    if (this.ownsProcess) native.watchdogPeriod(period);
  }

  private lastRefresh = 0;

  /**
   * serverCron's part: the watchdog re-armed first, then the report's text: every second, or
   * every 10 ms per connected client when there are more than 100 (CLIENT LIST costs some
   * microseconds per client, kept to about 0.1% of the main thread).
   */
  cron(now: number): void {
    if (!this.ownsProcess) return;
    const period = this.server.config.int(WATCHDOG_PERIOD);
    if (period !== 0) native.watchdogSchedule(period);
    if (now - this.lastRefresh >= Math.max(1000, this.server.clients.size * 10) && this.server.config.bool(CRASH_LOG)) {
      this.lastRefresh = now;
      this.applySettings();
    }
  }

  /** Rebuilds the report's text; `current` is the client whose command is running. */
  private refresh(current: Ctx | null): void {
    native.crashReportText(this.reportText(current));
  }

  private reportText(current: Ctx | null): string {
    const { server } = this;
    let text = '\n------ INFO OUTPUT ------\n';
    try {
      text += infoString(server, ['all']);
    } catch {
      // The report must not fail because one section cannot be produced.
    }
    text += '\n------ CLIENT LIST OUTPUT ------\n';
    for (const c of server.clients.values()) text += `${clientInfoLine(server, c, current)}\n`;
    if (current) {
      text += '\n------ CURRENT CLIENT INFO ------\n';
      text += `${clientInfoLine(server, current.client, current)}\n`;
      for (let i = 0; i < current.req.argc; i++) {
        text += `argv[${i}]: '${quoteRepr(arg(current.req, i).subarray(0, 128).toString('latin1'))}'\n`;
      }
    }
    text += '\n------ MODULES INFO OUTPUT ------\n';
    text += '\n------ CONFIG DEBUG OUTPUT ------\n';
    for (const name of DEBUG_CONFIGS) {
      const row = findConfigRow(name);
      if (!row) continue;
      const [first] = server.config.rewriteLinesFor(row);
      if (first) text += `${name}${first.line.slice(row.name.length)}\n`;
    }
    return text;
  }

  /**
   * The report after serverPanic's or serverAssert's head (when crash-log-enabled): the stack
   * trace, the same sections as a signal's report, the memory test.
   */
  private panicReport(ctx: Ctx | null): void {
    if (this.server.config.bool(CRASH_LOG)) {
      native.crashStackTrace();
      this.log.write(this.reportText(ctx));
      native.crashMemtest();
    }
  }

  /**
   * A panic of the addon's code on the JS thread (keyfork-server only, native/src/crash.rs's
   * hook): Redis's serverPanic with the panic's message and place, and the command that ran.
   */
  private nativePanic(): void {
    const [message, where] = native.crashPanicInfo() ?? ['unknown native panic', 'native'];
    serverPanic(this.log, message, where, this.server.dispatcher.current);
  }

  /** Whether serverPanic ends with exit(1) rather than abort(). */
  exitOnPanic(): boolean {
    return this.server.config.bool(EXIT_ON_PANIC);
  }

  /** DEBUG SEGFAULT: the report prepared with this client as the current one, then the fault. */
  segfault(ctx: Ctx): void {
    if (this.server.config.bool(CRASH_LOG)) this.refresh(ctx);
    native.debugSegfault();
  }
}


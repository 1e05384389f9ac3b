// serverPanic and serverAssert: how Redis 7.0 reports a state it refuses to go on from. The
// bug report's head here; with crash-log-enabled the rest of the report (stack trace, INFO,
// CLIENT LIST, config, memory test: src/crash-report.ts); then bugReportEnd: the END text and
// abort() (exit(1) under use-exit-on-panic), with the crash handlers removed first so that
// the abort is not reported a second time. `where` names the keyfork module in place of
// Redis's #file.c:line.
import type { Ctx } from './commands/types';
import { arg } from './commands/types';
import type { Logger } from './log';
import { native } from './native';

type Reporter = (ctx: Ctx | null) => void;
let reporter: Reporter | null = null;
let exitOnPanic: () => boolean = () => false;

/** src/crash-report.ts: the report after the head, and use-exit-on-panic. */
export function setPanicReporter(report: Reporter, exit: () => boolean): void {
  reporter = report;
  exitOnPanic = exit;
}

function bugReportStart(log: Logger): void {
  if (typeof native.bugReportStart === 'function') native.bugReportStart();
  else log.raw('warning', '\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===\n');
}

function bugReportEnd(log: Logger, ctx: Ctx | null): never {
  reporter?.(ctx);
  if (typeof native.crashPanicEnd === 'function') native.crashPanicEnd(exitOnPanic());
  log.raw('warning', '\n=== REDIS BUG REPORT END. Make sure to include from START to END. ===\n\n');
  process.abort();
}

export function serverPanic(log: Logger, message: string, where: string, ctx: Ctx | null = null): never {
  bugReportStart(log);
  log.warning('------------------------------------------------');
  log.warning('!!! Software Failure. Press left mouse button to continue');
  log.warning(`Guru Meditation: ${message} #${where}`);
  return bugReportEnd(log, ctx);
}

/**
 * serverAssertWithInfo(c, o, expr): the client's and the object's context, then the failed
 * expression. keyfork has no robj: `object` is the argument as Redis would have encoded it.
 */
export function serverAssertWithInfo(
  log: Logger,
  ctx: Ctx,
  object: { type: number; encoding: number },
  expr: string,
  where: string,
): never {
  bugReportStart(log);
  log.warning('=== ASSERTION FAILED CLIENT CONTEXT ===');
  // c->flags: an ordinary client running a command has none of Redis's CLIENT_* flags set.
  log.warning('client->flags = 0');
  log.warning(`client->conn = fd=${ctx.client.fd}`);
  log.warning(`client->argc = ${ctx.req.argc}`);
  for (let j = 0; j < ctx.req.argc; j++) {
    log.warning(`client->argv[${j}] = "${arg(ctx.req, j).toString('latin1')}" (refcount: 1)`);
  }
  log.warning('=== ASSERTION FAILED OBJECT CONTEXT ===');
  log.warning(`Object type: ${object.type}`);
  log.warning(`Object encoding: ${object.encoding}`);
  log.warning('Object refcount: 1');
  log.warning('=== ASSERTION FAILED ===');
  log.warning(`==> ${where} '${expr}' is not true`);
  return bugReportEnd(log, ctx);
}

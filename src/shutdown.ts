// Shutting down as Redis 7.0 does (server.c's prepareForShutdown, isReadyToShutdown,
// finishShutdown, abortShutdown and serverCron's check). SHUTDOWN and SIGTERM/SIGINT first give
// the replicas a chance to catch up: writes are paused and the replicas asked for an ACK; the
// server waits up to shutdown-timeout seconds until every replica acknowledged the master's
// offset (the cron checks at hz), then finishes: the final save, the pidfile, the listeners,
// exit. NOW skips the wait, FORCE exits even when the AOF or the final save failed, ABORT (or
// a failure) cancels the shutdown: the SHUTDOWN clients, blocked meanwhile, get an error and
// writes run again.
//
// finish() tells the whole sequence in Redis's order; other parts of the server hook into it
// there (the comments name the steps), never around it.
import * as fs from 'node:fs';
import type { Client } from './client';
import { native } from './native';
import { consume } from './config/consumers';
import { SHUTDOWN_FLAGS } from './config/table';
import type { Server } from './server';

const PROOF = 'test/server/shutdown-replicas.test.ts';
const SHUTDOWN_TIMEOUT = consume('shutdown-timeout', PROOF);
const SHUTDOWN_ON_SIGINT = consume('shutdown-on-sigint', PROOF);
const SHUTDOWN_ON_SIGTERM = consume('shutdown-on-sigterm', PROOF);
const PIDFILE = consume('pidfile', 'test/server/directives.test.ts');
const SAVE = consume('save', 'test/server/persistence.test.ts');

export const SHUTDOWN_ERROR = 'ERR Errors trying to SHUTDOWN. Check logs.';

/** SHUTDOWN's options (Redis's SHUTDOWN_* flags); shutdown-on-sig* say the same words. */
export interface ShutdownFlags {
  save?: boolean;
  nosave?: boolean;
  now?: boolean;
  force?: boolean;
}

/** A shutdown-on-sigint/sigterm value ("default", or any of save|nosave|now|force). */
function flagsOf(bits: number): ShutdownFlags {
  return {
    save: (bits & SHUTDOWN_FLAGS.save) !== 0,
    nosave: (bits & SHUTDOWN_FLAGS.nosave) !== 0,
    now: (bits & SHUTDOWN_FLAGS.now) !== 0,
    force: (bits & SHUTDOWN_FLAGS.force) !== 0,
  };
}

function bitsOf(words: string): number {
  let bits = 0;
  for (const w of words.split(' ')) if (w in SHUTDOWN_FLAGS) bits |= SHUTDOWN_FLAGS[w as keyof typeof SHUTDOWN_FLAGS];
  return bits;
}

export class Shutdown {
  /** A signal asked for a shutdown the cron has not begun yet (shutdown_asap, last_sig_received). */
  private signal: string | null = null;
  private flags: ShutdownFlags = {};
  /** When the wait for the replicas ends (ms since the epoch); 0: no shutdown in progress. */
  private deadline = 0;
  /** What asked for it, for the logs of a save child it kills. */
  private trigger = '';

  constructor(private readonly server: Server) {}

  /** isShutdownInitiated: the server is waiting for its replicas. */
  get initiated(): boolean {
    return this.deadline !== 0;
  }

  /** INFO server's field while a shutdown waits (Redis prints it only then). */
  infoFields(): Array<[string, number]> {
    return this.initiated ? [['shutdown_in_milliseconds', Math.max(0, this.deadline - Date.now())]] : [];
  }

  /**
   * SHUTDOWN (its arguments checked): exits, or blocks `client` until the wait ends, or returns
   * the error the client gets when the shutdown failed at once.
   */
  command(client: Client | null, flags: ShutdownFlags, trigger: string): string | null {
    if (this.prepare(flags, trigger) === 'failed') return SHUTDOWN_ERROR;
    // Waiting (this one, or one already in progress): the client learns how it ends.
    if (client) this.server.blocking.blockFor(client, 'shutdown', 0, undefined, (out) => out.error(SHUTDOWN_ERROR));
    return null;
  }

  /**
   * keyfork-server owns the process: SIGTERM and SIGINT shut it down. A second SIGINT while a
   * shutdown is pending exits at once ("You insist..."); the addon's handler does that when the
   * signal arrives (native/src/shutdown_signal.rs), even while a long save holds this thread.
   */
  listenForSignals(): void {
    process.on('SIGTERM', () => this.onSignal('SIGTERM'));
    process.on('SIGINT', () => this.onSignal('SIGINT'));
    native.installShutdownSignals();
  }

  /**
   * sigShutdownHandler's scheduling half: the signal (logged by the addon's handler when it
   * arrived) schedules a shutdown, which the cron begins.
   */
  private onSignal(signal: 'SIGTERM' | 'SIGINT'): void {
    // SHUTDOWN ABORT ran between the signal's arrival and this turn of the loop: it was cancelled.
    if (!native.shutdownSignalPending()) return;
    this.signal = signal;
    // While the start-up load runs the cron does not: Redis begins it from the load's own
    // event processing (whileBlockedCron), without a final save.
    if (this.server.loading) setImmediate(() => this.cron());
  }

  /** serverCron's part: begin a shutdown a signal asked for, finish one whose wait is over. */
  cron(): void {
    if (this.signal !== null && !this.initiated) {
      if (this.server.loading) {
        this.prepare({ nosave: true }, this.signal);
        return;
      }
      const config = this.server.config;
      const bits = this.signal === 'SIGINT' ? bitsOf(config.str(SHUTDOWN_ON_SIGINT)) : this.signal === 'SIGTERM' ? bitsOf(config.str(SHUTDOWN_ON_SIGTERM)) : 0;
      this.prepare(flagsOf(bits), this.signal);
    } else if (this.initiated && (Date.now() >= this.deadline || this.replicasInSync())) {
      this.finish();
    }
  }

  /** SHUTDOWN ABORT: false when there was nothing to abort. */
  abort(): boolean {
    if (this.initiated) this.cancel();
    else if (this.signal !== null || native.shutdownSignalPending()) this.forgetSignal();
    else return false;
    this.server.log.notice('Shutdown manually aborted.');
    return true;
  }

  /**
   * prepareForShutdown: exits at once when nothing needs waiting for; else starts the wait
   * ('waiting'); 'failed' when finishing failed (the shutdown is cancelled).
   */
  private prepare(flags: ShutdownFlags, trigger: string): 'waiting' | 'failed' {
    if (this.initiated) return 'waiting';
    // A half-loaded dataset is never saved over the file it comes from.
    if (this.server.loading) flags = { ...flags, save: false, nosave: true };
    this.flags = flags;
    this.trigger = trigger;
    const server = this.server;
    server.log.warning('User requested shutdown...');
    // (a supervisor is told STOPPING=1 here)
    const timeout = server.config.int(SHUTDOWN_TIMEOUT);
    if (!flags.now && timeout !== 0 && !this.replicasInSync()) {
      this.deadline = Date.now() + timeout * 1000;
      // A GETACK while clients are paused already went out with that pause (FAILOVER).
      if (server.clientPause.kind === null) server.replication.master.requestAcks();
      server.clientPause.pause('shutdown', Infinity, 'write');
      server.log.notice('Waiting for replicas before shutting down.');
      return 'waiting';
    }
    this.finish();
    return 'failed';
  }

  /** isReadyToShutdown: every replica acknowledged everything executed so far. */
  private replicasInSync(): boolean {
    const replication = this.server.replication;
    const replicas = replication.master.replicas;
    if (replicas.length === 0) return true;
    replication.settle();
    const offset = replication.state.masterReplOffset;
    return replicas.every((r) => r.ackOffset === offset);
  }

  /**
   * finishShutdown: the sequence, step by step. Exits the process, or logs why it cannot,
   * cancels the shutdown and returns.
   */
  private finish(): void {
    const server = this.server;
    const log = server.log;
    const { save, nosave, force } = this.flags;
    // 1. Which replicas did not catch up.
    const replication = server.replication;
    replication.settle();
    const offset = replication.state.masterReplOffset;
    const replicas = replication.master.replicas;
    let lagging = 0;
    const nowSec = Math.floor(Date.now() / 1000);
    for (const r of replicas) {
      if (r.ackOffset === offset) continue;
      lagging++;
      const lag = r.state === 'online' ? nowSec - r.ackTime : 0;
      log.warning(`Lagging replica ${r.name} reported offset ${offset - r.ackOffset} behind master, lag=${lag}, state=${r.infoState}.`);
    }
    if (replicas.length > 0) log.notice(`${replicas.length - lagging} of ${replicas.length} replicas are in sync when shutting down.`);
    // The forked Lua debugging sessions (SCRIPT DEBUG YES) end with the server.
    server.scripting.killDebugSessions();
    // 2. A save child must not rename its file over the final one, nor outlive the server.
    server.persistence.prepareForShutdown(this.trigger);
    // 3. The AOF: a rewrite child goes (the first rewrite only with FORCE), the file is fsynced.
    if (server.aof.prepareForShutdown(force ?? false) !== null) return this.failed();
    // 4. The final save (supervisor STATUS lines go beside it).
    if ((server.config.saveRules(SAVE).length > 0 && !nosave) || save) {
      log.notice('Saving the final RDB snapshot before exiting.');
      if (!server.persistence.saveBeforeExit(this.trigger)) {
        if (force) {
          log.warning('Error trying to save the DB. Exit anyway.');
        } else {
          log.warning("Error trying to save the DB, can't exit.");
          return this.failed();
        }
      }
    }
    // 5. The pidfile.
    const pidfile = server.config.optionalStr(PIDFILE);
    if (pidfile !== null) {
      log.notice('Removing the pid file.');
      try {
        fs.unlinkSync(pidfile);
      } catch {
        // already gone
      }
    }
    // 6. Listeners close (a unix socket file is removed here), then the process ends.
    server.closeForExit();
    log.warning('Redis is now ready to exit, bye bye...');
    process.exit(0);
  }

  private failed(): void {
    this.server.log.warning('Errors trying to shut down the server. Check the logs for more information.');
    this.cancel();
  }

  /** shutdown_asap = 0: a later SIGINT schedules a shutdown again rather than insisting. */
  private forgetSignal(): void {
    this.signal = null;
    native.clearShutdownSignal();
  }

  /** cancelShutdown: the blocked SHUTDOWN clients get the error, writes run again. */
  private cancel(): void {
    this.forgetSignal();
    this.flags = {};
    this.deadline = 0;
    const blocking = this.server.blocking;
    for (const c of [...this.server.clients.values()]) {
      if (c.blocked?.name === 'shutdown') blocking.release(c, (out) => out.error(SHUTDOWN_ERROR));
    }
    this.server.clientPause.unpause('shutdown');
  }
}

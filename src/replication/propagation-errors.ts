// What a replica does when a command its master propagated fails, and when its own disk writes
// fail, as Redis 7.0 (networking.c's afterErrorReply, processCommand's disk-error check):
// - an error replied to our master (or by a master to one of its replicas) is never read by
//   anyone: it is logged as "== CRITICAL ==" with the latest backlog, counted in INFO's
//   unexpected_error_replies, and with propagation-error-behavior panic / panic-on-replicas a
//   read-only replica panics;
// - a write (or PING) from our master while this server cannot persist (MISCONF) panics the
//   replica unless replica-ignore-disk-write-errors is yes, which logs (every 10 s) and applies it.
import type { Client } from '../client';
import { consume } from '../config/consumers';
import { quoteRepr } from '../config/splitargs';
import { serverPanic } from '../panic';
import type { Server } from '../server';

const PROOF = 'test/server/replication-propagation-errors.test.ts';
const PROPAGATION_ERROR_BEHAVIOR = consume('propagation-error-behavior', PROOF);
const REPLICA_IGNORE_DISK_WRITE_ERRORS = consume('replica-ignore-disk-write-errors', PROOF);
const REPLICA_READ_ONLY = consume('replica-read-only', 'test/server/replication.test.ts');

/** Redis's shared "-ERR ..." error objects: logged with their dash and code. */
const SHARED_ERR = new Set(['syntax error', 'no such key', 'source and destination objects are the same', 'index out of range']);

/**
 * The error as afterErrorReply receives it: Redis writes errors of its own codes (and its
 * shared objects) with the leading dash, plain ERR errors without "-ERR ".
 */
function asLogged(error: string): string {
  const space = error.indexOf(' ');
  const code = space < 0 ? error : error.slice(0, space);
  if (code !== 'ERR') return `-${error}`;
  const rest = space < 0 ? '' : error.slice(space + 1);
  return SHARED_ERR.has(rest) ? `-${error}` : rest;
}

/** How many bytes of the backlog showLatestBacklog prints. */
const BACKLOG_DUMP = 256;

export class PropagationErrors {
  /** INFO stats unexpected_error_replies. */
  count = 0;
  private lastDiskLog = 0;

  constructor(private readonly server: Server) {}

  /**
   * afterErrorReply for a client whose errors nobody reads: `error` without its dash, `command`
   * the command that produced it (null: an unknown one).
   */
  afterErrorReply(client: Client, error: string, command: string | null): void {
    let from: string;
    let to: string;
    if (client.isMaster) {
      from = 'replica';
      to = 'master';
    } else if (client.isReplica) {
      from = 'master';
      to = 'replica';
    } else {
      return;
    }
    const server = this.server;
    const cmd = command ?? '<unknown>';
    server.log.warning(`== CRITICAL == This ${from} is sending an error to its ${to}: '${asLogged(error).slice(0, 4096)}' after processing the command '${cmd}'`);
    if (client.isMaster) this.showLatestBacklog();
    this.count++;
    const behavior = server.config.str(PROPAGATION_ERROR_BEHAVIOR);
    if (client.isMaster && server.config.bool(REPLICA_READ_ONLY) && (behavior === 'panic' || behavior === 'panic-on-replicas')) {
      serverPanic(server.log, `This ${from} panicked sending an error to its ${to} after processing the command '${cmd}'`, 'replication/propagation-errors.ts');
    }
  }

  /**
   * afterErrorReply for Redis's AOF-loading client: a command replayed from the AOF replied
   * `error` (without its dash); `command` is the one Redis names (its fake client's last
   * command). propagation-error-behavior panic (not panic-on-replicas) panics.
   */
  afterAofError(error: string, command: string): void {
    const server = this.server;
    server.log.warning(`== CRITICAL == This server is sending an error to its AOF-loading-client: '${asLogged(error).slice(0, 4096)}' after processing the command '${command}'`);
    this.count++;
    if (server.config.str(PROPAGATION_ERROR_BEHAVIOR) === 'panic') {
      serverPanic(server.log, `This server panicked sending an error to its AOF-loading-client after processing the command '${command}'`, 'persistence/aof-load.ts');
    }
  }

  /** The last bytes of the stream applied before the failing command, as Redis logs them. */
  private showLatestBacklog(): void {
    const state = this.server.replication.state;
    const backlog = state.backlog;
    if (!backlog || backlog.histlen === 0) return;
    const n = Math.min(BACKLOG_DUMP, backlog.histlen);
    const bytes = Buffer.concat(backlog.readFrom(state.masterReplOffset - n + 1));
    this.server.log.warning(`Latest backlog is: '${quoteRepr(bytes.toString('latin1'))}'`);
  }

  /** Our master's write (or PING, `isPing`) while this server cannot persist (processCommand). */
  applyDespiteDiskError(isPing: boolean): void {
    const server = this.server;
    if (!server.config.bool(REPLICA_IGNORE_DISK_WRITE_ERRORS) && !isPing) {
      serverPanic(server.log, 'Replica was unable to write command to disk.', 'commands/dispatch.ts');
    }
    const now = Date.now();
    if (now > this.lastDiskLog + 10_000) {
      this.lastDiskLog = now;
      server.log.warning('Replica is applying a command even though it is unable to write to disk.');
    }
  }
}

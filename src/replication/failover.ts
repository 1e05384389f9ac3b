// FAILOVER, Redis 7.0's coordinated failover (replication.c): a master pauses writes, waits
// until a replica (the one named by TO, else any) has acknowledged its whole stream, then
// becomes that replica's replica, sending PSYNC <replid> <offset> FAILOVER: the replica turns
// into a master that continues the same history, so the old master resyncs partially. TIMEOUT
// bounds the wait (FORCE fails over to the named replica anyway); ABORT, a timeout without
// FORCE and a target that refuses the PSYNC give the old master its role back.
import { parseInteger } from '../commands/types';
import type { Logger } from '../log';
import type { ReplicaLink } from './link';

export type FailoverState = 'no-failover' | 'waiting-for-sync' | 'failover-in-progress';

/** What the failover needs from the rest of replication. */
export interface FailoverContext {
  readonly log: Logger;
  isReplica(): boolean;
  /** server.slaves: every replica, whatever its state. */
  replicas(): readonly ReplicaLink[];
  /** master_repl_offset, everything executed so far being in the stream. */
  settledOffset(): number;
  /** replicationSetMaster: become the replica of `host:port`. */
  follow(host: string, port: number): void;
  /** replicationUnsetMaster: be a master again. */
  promote(): void;
  /** The writes pause of the failover (PAUSE_DURING_FAILOVER), and its end. */
  pauseWrites(): void;
  resumeWrites(): void;
}

const NOT_INTEGER = 'ERR value is not an integer or out of range';

export class Failover {
  state: FailoverState = 'no-failover';
  /** When the wait for a synced replica ends (ms since the epoch; 0: it does not). */
  endTime = 0;
  private targetHost: string | null = null;
  private targetPort = 0;
  private force = false;

  constructor(private readonly ctx: FailoverContext) {}

  private get log(): Logger {
    return this.ctx.log;
  }

  /** The replica at host:port (its announced address, else its peer's; its listening port). */
  private find(host: string, port: number): ReplicaLink | null {
    const lower = host.toLowerCase();
    return this.ctx.replicas().find((r) => r.ip.toLowerCase() === lower && r.listeningPort === port) ?? null;
  }

  /** failoverCommand; `args` follow the command name. Null for +OK, else the error. */
  command(args: string[]): string | null {
    if (args.length === 1 && args[0].toLowerCase() === 'abort') {
      if (this.state === 'no-failover') return 'ERR No failover in progress.';
      this.abort('Failover manually aborted');
      return null;
    }
    let timeout = 0;
    let force = false;
    let host: string | null = null;
    let port = 0;
    for (let j = 0; j < args.length; j++) {
      const word = args[j].toLowerCase();
      if (word === 'timeout' && j + 1 < args.length && timeout === 0) {
        const ms = parseInteger(args[j + 1]);
        if (ms === null) return NOT_INTEGER;
        if (ms <= 0) return 'ERR FAILOVER timeout must be greater than 0';
        timeout = ms;
        j++;
      } else if (word === 'to' && j + 2 < args.length && host === null) {
        const p = parseInteger(args[j + 2]);
        if (p === null) return NOT_INTEGER;
        host = args[j + 1];
        port = p;
        j += 2;
      } else if (word === 'force' && !force) {
        force = true;
      } else {
        return 'ERR syntax error';
      }
    }
    if (this.state !== 'no-failover') return 'ERR FAILOVER already in progress.';
    if (this.ctx.isReplica()) return 'ERR FAILOVER is not valid when server is a replica.';
    if (this.ctx.replicas().length === 0) return 'ERR FAILOVER requires connected replicas.';
    if (force && (timeout === 0 || host === null)) return 'ERR FAILOVER with force option requires both a timeout and target HOST and IP.';
    if (host !== null) {
      const replica = this.find(host, port);
      if (replica === null) return 'ERR FAILOVER target HOST and PORT is not a replica.';
      if (replica.state !== 'online') return 'ERR FAILOVER target replica is not online.';
      this.targetHost = host;
      this.targetPort = port;
      this.log.notice(`FAILOVER requested to ${host}:${port}.`);
    } else {
      this.log.notice('FAILOVER requested to any replica.');
    }
    this.endTime = timeout ? Date.now() + timeout : 0;
    this.force = force;
    this.state = 'waiting-for-sync';
    this.ctx.pauseWrites();
    return null;
  }

  /**
   * updateFailoverStatus (the cron, and soon after an ACK): fails over once the target has
   * acknowledged everything, or when the timeout says so.
   */
  update(): void {
    if (this.state !== 'waiting-for-sync') return;
    if (this.endTime && this.endTime <= Date.now()) {
      if (this.force) {
        this.log.notice(`FAILOVER to ${this.targetHost}:${this.targetPort} time out exceeded, failing over.`);
        this.state = 'failover-in-progress';
        this.ctx.follow(this.targetHost!, this.targetPort);
      } else {
        this.abort('Replica never caught up before timeout');
      }
      return;
    }
    const offset = this.ctx.settledOffset();
    let replica: ReplicaLink | null = null;
    if (this.targetHost !== null) {
      replica = this.find(this.targetHost, this.targetPort);
    } else {
      replica = this.ctx.replicas().find((r) => r.ackOffset === offset) ?? null;
      if (replica) {
        this.targetHost = replica.ip;
        this.targetPort = replica.listeningPort;
      }
    }
    if (replica && replica.ackOffset === offset) {
      this.state = 'failover-in-progress';
      this.log.notice(`Failover target ${this.targetHost}:${this.targetPort} is synced, failing over.`);
      this.ctx.follow(this.targetHost!, this.targetPort);
    }
  }

  /** The PSYNC sent to the target carries FAILOVER. */
  get inProgress(): boolean {
    return this.state === 'failover-in-progress';
  }

  /**
   * The target answered our PSYNC: +CONTINUE or +FULLRESYNC ends the failover; anything else
   * aborts it (true: the handshake stops, we are a master again).
   */
  psyncAnswered(accepted: boolean): boolean {
    if (!this.inProgress) return false;
    if (accepted) {
      this.clear();
      return false;
    }
    this.abort('Failover target rejected psync request');
    return true;
  }

  /** abortFailover. */
  abort(reason: string): void {
    if (this.state === 'no-failover') return;
    if (this.targetHost !== null) this.log.notice(`FAILOVER to ${this.targetHost}:${this.targetPort} aborted: ${reason}`);
    else this.log.notice(`FAILOVER to any replica aborted: ${reason}`);
    if (this.state === 'failover-in-progress') this.ctx.promote();
    this.clear();
  }

  /** clearFailoverState. */
  private clear(): void {
    this.endTime = 0;
    this.force = false;
    this.targetHost = null;
    this.targetPort = 0;
    this.state = 'no-failover';
    this.ctx.resumeWrites();
  }
}

// What a server knows of its place in a replication history, whichever its role: its
// replication ids, how far the stream has gone, and the backlog of recent stream bytes
// (Redis's server.replid / replid2 / master_repl_offset / second_replid_offset / repl_backlog).
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log';
import { ReplBacklog } from './backlog';

export const NO_REPLID = '0'.repeat(40);

/** 40 random hex characters: a replication id, or the mark ending a streamed RDB. */
export function randomHex40(): string {
  return randomBytes(20).toString('hex');
}

export class ReplicationState {
  replid = randomHex40();
  /** The id of the history this one continues (after a promotion), valid up to secondReplOffset - 1. */
  replid2 = NO_REPLID;
  masterReplOffset = 0;
  secondReplOffset = -1;
  backlog: ReplBacklog | null = null;

  constructor(
    private readonly log: Logger,
    /** The backlog was created or freed (whether the stream is fed depends on it). */
    private readonly backlogChanged: () => void,
  ) {}

  changeReplicationId(): void {
    this.replid = randomHex40();
  }

  clearReplicationId2(): void {
    this.replid2 = NO_REPLID;
    this.secondReplOffset = -1;
  }

  /** A promotion: the old history stays valid as id 2 up to the current offset. */
  shiftReplicationId(): void {
    this.replid2 = this.replid;
    this.secondReplOffset = this.masterReplOffset + 1;
    this.changeReplicationId();
    this.log.warning(
      `Setting secondary replication ID to ${this.replid2}, valid up to offset: ${this.secondReplOffset}. New replication ID is ${this.replid}`,
    );
  }

  createBacklog(size: number): void {
    this.backlog = new ReplBacklog(size, this.masterReplOffset);
    this.backlogChanged();
  }

  freeBacklog(): void {
    this.backlog = null;
    this.backlogChanged();
  }

  /** Stream bytes that were produced (a master) or applied from our master (a replica). */
  advance(data: Buffer): void {
    if (!this.backlog) return;
    this.masterReplOffset += data.length;
    this.backlog.append(data, this.masterReplOffset);
  }
}

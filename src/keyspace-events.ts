// Keyspace notifications (Redis's notify.c), the TypeScript half. Native handlers record
// events where Redis calls notifyKeyspaceEvent (native/src/keyspace/notify.rs); after each
// command, batch, expire cycle or eviction step the server publishes them here (merged with
// client-side caching's invalidations in the order both happened) on
// __keyspace@<db>__:<key> (message: the event) and __keyevent@<db>__:<event> (message: the
// key), as pub/sub messages to RESP2 subscribers and push messages to RESP3 ones.
import type { Client } from './client';
import { NOTIFY_FLAGS } from './config';
import { consume } from './config/consumers';
import { native } from './native';
import type { ReplyWriter } from './protocol/reply';
import type { Server } from './server';

const NOTIFY_KEYSPACE_EVENTS = consume('notify-keyspace-events', 'test/server/keyspace-events.test.ts');

const PUBLISHING = NOTIFY_FLAGS.K | NOTIFY_FLAGS.E;

export class KeyspaceEvents {
  /** Events are being recorded: notify-keyspace-events names classes and K or E. */
  on = false;
  private flags = 0;

  constructor(private server: Server) {
    this.configure();
    server.config.onChange(NOTIFY_KEYSPACE_EVENTS, () => this.configure());
  }

  private configure(): void {
    this.flags = this.server.config.keyspaceEvents(NOTIFY_KEYSPACE_EVENTS);
    // Without K or E nothing is published, so nothing needs recording (as Redis returns early).
    const mask = this.flags & PUBLISHING ? this.flags & ~PUBLISHING : 0;
    native.setNotifyMask(mask);
    this.on = mask !== 0;
  }

  /**
   * Takes what the native side recorded, to be published (in order, interleaved with client-
   * side caching's invalidations: Server.deliverKeyspaceChanges) and finished; null when
   * nothing was. `running`/`replyStart`: the client whose command just ran and where its reply
   * begins in the shared writer. A RESP3 client subscribed to the events of its own command
   * receives each where the command notified it, among the bytes of its reply (the native
   * handler records how much of it came before: Ctx::notify), as Redis 7.0 writes the push
   * into the client's buffer while the command runs: SUNIONSTORE's events after its reply,
   * MSET's before it, ZPOPMIN's among the popped elements.
   */
  take(running: Client | null, replyStart: number): RecordedEvents | null {
    const events = native.takeKeyspaceEvents();
    if (events === null) return null;
    const out = this.server.out;
    let reply: Buffer | null = null;
    if (running && running === this.server.current && running.totalSubscriptions > 0 && out.len > replyStart) {
      reply = Buffer.from(out.buf.subarray(replyStart, out.len));
      out.len = replyStart;
    }
    return new RecordedEvents(this, events, out, reply);
  }

  publish(event: string, db: number, key: Buffer): void {
    const pubsub = this.server.pubsub;
    if (this.flags & NOTIFY_FLAGS.K) {
      pubsub.publish(Buffer.concat([Buffer.from(`__keyspace@${db}__:`), key]), Buffer.from(event));
    }
    if (this.flags & NOTIFY_FLAGS.E) {
      pubsub.publish(Buffer.from(`__keyevent@${db}__:${event}`), key);
    }
  }
}

/**
 * Events taken from the addon ([first sequence number, then event, db, key, reply bytes
 * before it, per event]), published up to a point at a time (see KeyspaceEvents.take).
 */
export class RecordedEvents {
  /** Index in `events` of the next one to publish, and its sequence number. */
  private next = 1;
  private seq: number;
  /** Bytes of the running client's reply already put back before its pushes. */
  private replied = 0;

  constructor(
    private readonly owner: KeyspaceEvents,
    private readonly events: (string | number | Buffer)[],
    private readonly out: ReplyWriter,
    private readonly reply: Buffer | null,
  ) {
    this.seq = events[0] as number;
  }

  /** Publishes the events recorded before sequence number `seq`. */
  publishBefore(seq: number): void {
    const events = this.events;
    while (this.next < events.length && this.seq < seq) {
      if (this.reply) this.replyUpTo(events[this.next + 3] as number);
      this.owner.publish(events[this.next] as string, events[this.next + 1] as number, events[this.next + 2] as Buffer);
      this.next += 4;
      this.seq++;
    }
  }

  /** Publishes the rest; the running client's reply goes back around its pushes. */
  finish(): void {
    this.publishBefore(Infinity);
    if (this.reply) this.replyUpTo(this.reply.length);
  }

  /** Puts back the running client's reply up to byte `at`. */
  private replyUpTo(at: number): void {
    const end = Math.min(at, this.reply!.length);
    if (end <= this.replied) return;
    this.out.raw(this.reply!.subarray(this.replied, end));
    this.replied = end;
  }
}

// Keyspace notifications (Redis's notify.c), the TypeScript half. Native handlers record
// events where Redis calls notifyKeyspaceEvent (native/src/keyspace/notify.rs); after each
// command, batch or expire cycle the server publishes them here on
// __keyspace@<db>__:<key> (message: the event) and __keyevent@<db>__:<event> (message: the
// key), as pub/sub messages to RESP2 subscribers and push messages to RESP3 ones.
import type { Client } from './client';
import { NOTIFY_FLAGS } from './config';
import { consume } from './config/consumers';
import { native } from './native';
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
   * Publishes what the native side recorded. `running`/`replyStart`: the client whose command
   * just ran and where its reply begins in the shared writer. A RESP3 client subscribed to
   * the events of its own command receives them before that reply, as Redis 7.0 writes the
   * push into the client's buffer while the command runs.
   */
  publishRecorded(running: Client | null = null, replyStart = 0): void {
    const events = native.takeKeyspaceEvents();
    if (events === null) return;
    const out = this.server.out;
    let reply: Buffer | null = null;
    if (running && running === this.server.current && running.totalSubscriptions > 0 && out.len > replyStart) {
      reply = Buffer.from(out.buf.subarray(replyStart, out.len));
      out.len = replyStart;
    }
    for (let i = 0; i < events.length; i += 3) {
      this.publish(events[i] as string, events[i + 1] as number, events[i + 2] as Buffer);
    }
    if (reply) out.raw(reply);
  }

  private publish(event: string, db: number, key: Buffer): void {
    const pubsub = this.server.pubsub;
    if (this.flags & NOTIFY_FLAGS.K) {
      pubsub.publish(Buffer.concat([Buffer.from(`__keyspace@${db}__:`), key]), Buffer.from(event));
    }
    if (this.flags & NOTIFY_FLAGS.E) {
      pubsub.publish(Buffer.from(`__keyevent@${db}__:${event}`), key);
    }
  }
}

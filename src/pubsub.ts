// Pub/Sub: channel and pattern subscriptions and message delivery, with Redis's reply
// shapes (arrays in RESP2, push messages in RESP3).
import type { Client } from './client';
import { stringMatch } from './config/glob';
import type { ReplyWriter } from './protocol/reply';
import type { Server } from './server';

export class PubSub {
  /** channel (latin1 of its bytes) -> subscribers in subscription order */
  readonly channels = new Map<string, Set<Client>>();
  readonly patterns = new Map<string, Set<Client>>();

  constructor(private server: Server) {}

  private notice(out: ReplyWriter, kind: string, name: string | null, count: number): void {
    out.push(3);
    out.bulk(kind);
    if (name === null) out.null();
    else out.bulk(Buffer.from(name, 'latin1'));
    out.int(count);
  }

  subscribe(client: Client, out: ReplyWriter, names: string[], pattern: boolean): void {
    const mine = pattern ? client.patterns : client.channels;
    const all = pattern ? this.patterns : this.channels;
    for (const name of names) {
      if (!mine.has(name)) {
        mine.add(name);
        let set = all.get(name);
        if (!set) all.set(name, (set = new Set()));
        set.add(client);
      }
      this.notice(out, pattern ? 'psubscribe' : 'subscribe', name, client.subscriptionCount);
    }
  }

  /** UNSUBSCRIBE/PUNSUBSCRIBE; no names means all of them. */
  unsubscribe(client: Client, out: ReplyWriter | null, names: string[], pattern: boolean): void {
    const mine = pattern ? client.patterns : client.channels;
    const all = pattern ? this.patterns : this.channels;
    const kind = pattern ? 'punsubscribe' : 'unsubscribe';
    const targets = names.length > 0 ? names : [...mine];
    if (targets.length === 0 && out) {
      this.notice(out, kind, null, client.subscriptionCount);
      return;
    }
    for (const name of targets) {
      if (mine.delete(name)) {
        const set = all.get(name);
        set?.delete(client);
        if (set && set.size === 0) all.delete(name);
      }
      if (out) this.notice(out, kind, name, client.subscriptionCount);
    }
  }

  unsubscribeAll(client: Client, notify: boolean): void {
    const out = notify ? this.server.out : null;
    if (client.channels.size > 0) this.unsubscribe(client, out, [], false);
    if (client.patterns.size > 0) this.unsubscribe(client, out, [], true);
  }

  /** Delivers `message`; returns the number of receivers (PUBLISH's reply). */
  publish(channel: Buffer, message: Buffer): number {
    const name = channel.toString('latin1');
    let receivers = 0;
    const subs = this.channels.get(name);
    if (subs) {
      for (const c of subs) {
        this.server.sendTo(c, (out) => {
          out.push(3);
          out.bulk('message');
          out.bulk(channel);
          out.bulk(message);
        });
        receivers++;
      }
    }
    for (const [pattern, clients] of this.patterns) {
      if (!stringMatch(pattern, name, false)) continue;
      for (const c of clients) {
        this.server.sendTo(c, (out) => {
          out.push(4);
          out.bulk('pmessage');
          out.bulk(Buffer.from(pattern, 'latin1'));
          out.bulk(channel);
          out.bulk(message);
        });
        receivers++;
      }
    }
    return receivers;
  }
}

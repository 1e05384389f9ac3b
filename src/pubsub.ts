// Pub/Sub: channel, pattern and shard-channel subscriptions and message delivery, with Redis's
// reply shapes (arrays in RESP2, push messages in RESP3). The three kinds differ as Redis's
// pubsubtype structs do: their notices' names, where subscribers are kept, and which count a
// notice reports (channels and patterns count together, shard channels apart).
import type { Client } from './client';
import { stringMatch } from './config/glob';
import type { ReplyWriter } from './protocol/reply';
import type { Server } from './server';

export type SubscriptionKind = 'channel' | 'pattern' | 'shard';

interface KindRules {
  subscribeNotice: string;
  unsubscribeNotice: string;
  /** The client's own subscriptions of this kind. */
  mine(client: Client): Set<string>;
  /** The count a notice carries (Redis's subscriptionCount of the type). */
  count(client: Client): number;
}

const RULES: Record<SubscriptionKind, KindRules> = {
  channel: { subscribeNotice: 'subscribe', unsubscribeNotice: 'unsubscribe', mine: (c) => c.channels, count: (c) => c.subscriptionCount },
  pattern: { subscribeNotice: 'psubscribe', unsubscribeNotice: 'punsubscribe', mine: (c) => c.patterns, count: (c) => c.subscriptionCount },
  shard: { subscribeNotice: 'ssubscribe', unsubscribeNotice: 'sunsubscribe', mine: (c) => c.shardChannels, count: (c) => c.shardChannels.size },
};

export class PubSub {
  /** channel (latin1 of its bytes) -> subscribers in subscription order */
  readonly channels = new Map<string, Set<Client>>();
  readonly patterns = new Map<string, Set<Client>>();
  readonly shardChannels = new Map<string, Set<Client>>();

  constructor(private server: Server) {}

  private subscribers(kind: SubscriptionKind): Map<string, Set<Client>> {
    return kind === 'channel' ? this.channels : kind === 'pattern' ? this.patterns : this.shardChannels;
  }

  /** A (un)subscribe notice: a push message (CLIENT REPLY OFF does not hold it back). */
  private notice(out: ReplyWriter, kind: string, name: string | null, count: number): void {
    const write = (w: ReplyWriter) => {
      w.push(3);
      w.bulk(kind);
      if (name === null) w.null();
      else w.bulk(Buffer.from(name, 'latin1'));
      w.int(count);
    };
    if (out === this.server.out) this.server.writePush(write);
    else write(out);
  }

  subscribe(client: Client, out: ReplyWriter, names: string[], kind: SubscriptionKind): void {
    const rules = RULES[kind];
    const mine = rules.mine(client);
    const all = this.subscribers(kind);
    for (const name of names) {
      if (!mine.has(name)) {
        mine.add(name);
        let set = all.get(name);
        if (!set) all.set(name, (set = new Set()));
        set.add(client);
      }
      this.notice(out, rules.subscribeNotice, name, rules.count(client));
    }
  }

  /** UNSUBSCRIBE/PUNSUBSCRIBE/SUNSUBSCRIBE; no names means all of them. */
  unsubscribe(client: Client, out: ReplyWriter | null, names: string[], kind: SubscriptionKind): void {
    const rules = RULES[kind];
    const mine = rules.mine(client);
    const all = this.subscribers(kind);
    const targets = names.length > 0 ? names : [...mine];
    if (targets.length === 0 && out) {
      this.notice(out, rules.unsubscribeNotice, null, rules.count(client));
      return;
    }
    for (const name of targets) {
      if (mine.delete(name)) {
        const set = all.get(name);
        set?.delete(client);
        if (set && set.size === 0) all.delete(name);
      }
      if (out) this.notice(out, rules.unsubscribeNotice, name, rules.count(client));
    }
  }

  unsubscribeAll(client: Client, notify: boolean): void {
    const out = notify ? this.server.out : null;
    if (client.channels.size > 0) this.unsubscribe(client, out, [], 'channel');
    if (client.patterns.size > 0) this.unsubscribe(client, out, [], 'pattern');
    if (client.shardChannels.size > 0) this.unsubscribe(client, out, [], 'shard');
  }

  /** PUBLISH: delivers `message` to the channel's and the matching patterns' subscribers; returns how many got it. */
  publish(channel: Buffer, message: Buffer): number {
    const name = channel.toString('latin1');
    let receivers = this.deliver(this.channels.get(name), 'message', channel, message);
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

  /**
   * removeChannelsInSlot (cluster mode): a slot left this node's shard, so every subscriber of
   * its shard channels is unsubscribed from them, each told with an sunsubscribe message.
   */
  removeShardChannelsInSlot(slot: number, slotOf: (channel: string) => number): void {
    if (this.shardChannels.size === 0) return;
    for (const [name, clients] of [...this.shardChannels]) {
      if (slotOf(name) !== slot) continue;
      for (const c of [...clients]) {
        this.server.sendTo(c, (out) => this.unsubscribe(c, out, [name], 'shard'));
      }
      this.shardChannels.delete(name);
    }
  }

  /** SPUBLISH: delivers `message` to the shard channel's subscribers only. */
  publishShard(channel: Buffer, message: Buffer): number {
    return this.deliver(this.shardChannels.get(channel.toString('latin1')), 'smessage', channel, message);
  }

  private deliver(subscribers: Set<Client> | undefined, kind: string, channel: Buffer, message: Buffer): number {
    if (!subscribers) return 0;
    for (const c of subscribers) {
      this.server.sendTo(c, (out) => {
        out.push(3);
        out.bulk(kind);
        out.bulk(channel);
        out.bulk(message);
      });
    }
    return subscribers.size;
  }
}

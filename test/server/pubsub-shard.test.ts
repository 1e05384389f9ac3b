// Sharded pub/sub against the real redis-server (a standalone server is one shard):
// SSUBSCRIBE/SUNSUBSCRIBE notices and their own count, SPUBLISH reaching shard subscribers only
// (and PUBLISH never reaching them), the subscribed context, PUBSUB SHARDCHANNELS/SHARDNUMSUB,
// CLIENT INFO's ssub, INFO's pubsubshard_channels, SSUBSCRIBE refused inside EXEC and scripts
// while SUBSCRIBE is let through EXEC; in RESP2 and RESP3.
import { expect, it } from 'vitest';
import { describeDifferential, type BothServers, useBothServers } from '../helpers/diff';
import { RawConnection, type Reply } from '../helpers/resp';

/** CLIENT INFO without the fields that differ between processes (id, addresses, memory, ages). */
function subscriptionFields(reply: Reply): string {
  const text = reply.t === 'bulk' || reply.t === 'verbatim' ? reply.v?.toString() ?? '' : JSON.stringify(reply);
  return text.split(' ').filter((f) => /^(flags|sub|psub|ssub|multi|cmd)=/.test(f)).join(' ');
}

function infoField(reply: Reply, name: string): string {
  const text = reply.t === 'bulk' || reply.t === 'verbatim' ? reply.v?.toString() ?? '' : '';
  return new RegExp(`^${name}:.*$`, 'm').exec(text)?.[0] ?? `${name} missing`;
}

describeDifferential('sharded pub/sub', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s));

  async function scenario(port: number, resp3: boolean) {
    const sub = await RawConnection.connect(port, { resp3 });
    const pub = await RawConnection.connect(port);
    const seen: unknown[] = [];
    try {
      seen.push(await sub.send('ssubscribe', 'orders', 'stock'));
      seen.push(await sub.readReply());
      seen.push(await sub.send('subscribe', 'orders'));
      seen.push(await sub.send('psubscribe', 'ord*'));
      seen.push(await sub.send('ssubscribe', 'orders'));
      seen.push(await sub.send('ping'));
      seen.push(await sub.send('get', 'x'));
      seen.push(infoField(await pub.send('info', 'stats'), 'pubsubshard_channels'));
      seen.push(infoField(await pub.send('info', 'stats'), 'pubsub_channels'));
      // SPUBLISH reaches the shard subscription only, PUBLISH the channel and the pattern only.
      seen.push(await pub.send('spublish', 'orders', 'sharded'));
      seen.push(await sub.readReply());
      seen.push(await pub.send('publish', 'orders', 'plain'));
      seen.push(await sub.readReply());
      seen.push(await sub.readReply());
      seen.push(await pub.send('spublish', 'nobody', 'm'));
      seen.push(await pub.send('pubsub', 'shardnumsub', 'orders', 'stock', 'nobody'));
      seen.push(await pub.send('pubsub', 'shardnumsub'));
      seen.push(await pub.send('pubsub', 'numsub', 'orders', 'stock'));
      seen.push(await pub.send('pubsub', 'shardchannels', 'o*'));
      seen.push(await pub.send('pubsub', 'shardchannels', 'x*'));
      seen.push(await pub.send('pubsub', 'shardchannels', 'a', 'b'));
      seen.push(await pub.send('pubsub', 'channels', 's*'));
      // SUNSUBSCRIBE without arguments walks Redis's dict in hash order: one channel left.
      seen.push(await sub.send('sunsubscribe', 'stock', 'never'));
      seen.push(await sub.send('sunsubscribe'));
      seen.push(await sub.send('sunsubscribe'));
      seen.push(await sub.send('unsubscribe'));
      seen.push(await sub.send('punsubscribe'));
      seen.push(await sub.send('ping'));
      seen.push(await sub.send('ssubscribe', 'again'));
      seen.push(await sub.send('reset'));
      seen.push(await pub.send('pubsub', 'shardnumsub', 'again'));
      seen.push(await pub.send('ssubscribe'));
      seen.push(await pub.send('spublish', 'x'));
    } finally {
      sub.close();
      pub.close();
    }
    return seen;
  }

  for (const resp3 of [false, true]) {
    it(`notices, delivery and introspection as Redis (${resp3 ? 'RESP3 push messages' : 'RESP2'})`, async () => {
      const [k, r] = await Promise.all([scenario(servers.keyfork.port, resp3), scenario(servers.redis.port, resp3)]);
      expect(k).toEqual(r);
    });
  }

  it('CLIENT INFO counts shard subscriptions (ssub) and sets the P flag', async () => {
    const fields = async (port: number) => {
      const c = await RawConnection.connect(port, { resp3: true });
      try {
        await c.send('ssubscribe', 'a', 'b');
        await c.readReply();
        return subscriptionFields(await c.send('client', 'info'));
      } finally {
        c.close();
      }
    };
    const [k, r] = await Promise.all([fields(servers.keyfork.port), fields(servers.redis.port)]);
    expect(k).toBe(r);
    expect(r).toContain('ssub=2');
  });

  it('SSUBSCRIBE is refused inside EXEC and scripts; SUBSCRIBE runs inside EXEC', async () => {
    const run = async (port: number, resp3: boolean) => {
      const c = await RawConnection.connect(port, { resp3 });
      const seen: Reply[] = [];
      try {
        for (const command of [['multi'], ['ssubscribe', 'x'], ['exec'], ['ping'], ['multi'], ['subscribe', 'y'], ['exec'], ['unsubscribe'], ['ping'],
          ['eval', "return redis.call('ssubscribe', 'x')", '0'], ['eval', "return redis.pcall('spublish', 'x', 'm')", '0']]) {
          seen.push(await c.send(...command));
        }
      } finally {
        c.close();
      }
      // Script errors name the script's sha and line, the same on both sides.
      return seen;
    };
    for (const resp3 of [false, true]) {
      const [k, r] = await Promise.all([run(servers.keyfork.port, resp3), run(servers.redis.port, resp3)]);
      expect(k).toEqual(r);
    }
  });
});

// Pub/Sub against the real redis-server: subscription replies, message delivery in RESP2
// and RESP3 (push), the RESP2 subscribed-context restrictions, PUBSUB introspection.
import { expect, it } from 'vitest';
import { describeDifferential, type BothServers, useBothServers } from '../helpers/diff';
import { RawConnection } from '../helpers/resp';

describeDifferential('pub/sub', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s));

  async function scenario(port: number, resp3: boolean) {
    const sub = await RawConnection.connect(port, { resp3 });
    const pub = await RawConnection.connect(port);
    const seen = [];
    seen.push(await sub.send('subscribe', 'news', 'sport'));
    seen.push(await sub.readReply());
    seen.push(await sub.send('psubscribe', 'n*'));
    seen.push(await sub.send('get', 'x'));
    seen.push(await sub.send('ping'));
    seen.push(await sub.send('ping', 'hi'));
    seen.push(await pub.send('publish', 'news', 'hello'));
    seen.push(await sub.readReply());
    seen.push(await sub.readReply());
    seen.push(await pub.send('pubsub', 'numsub', 'news', 'nothing'));
    seen.push(await pub.send('pubsub', 'numpat'));
    seen.push(await pub.send('pubsub', 'channels', 's*'));
    // UNSUBSCRIBE without arguments walks Redis's dict in hash order: leave one channel so the
    // order is not part of the comparison.
    seen.push(await sub.send('unsubscribe', 'sport'));
    seen.push(await sub.send('unsubscribe'));
    seen.push(await sub.send('punsubscribe'));
    seen.push(await sub.send('unsubscribe'));
    seen.push(await pub.send('publish', 'news', 'nobody'));
    sub.close();
    pub.close();
    return seen;
  }

  it('behaves like Redis in RESP2', async () => {
    const [k, r] = await Promise.all([scenario(servers.keyfork.port, false), scenario(servers.redis.port, false)]);
    expect(k).toEqual(r);
  });

  it('behaves like Redis in RESP3 (push messages)', async () => {
    const [k, r] = await Promise.all([scenario(servers.keyfork.port, true), scenario(servers.redis.port, true)]);
    expect(k).toEqual(r);
  });
});

// The cluster bus codec against what real redis-server 7.0 nodes send: a scripted peer
// (test/helpers/cluster-bus.ts) joins real nodes, records every message they send it (MEET,
// PING, PONG with gossip and the hostname extension, PUBLISH, UPDATE, FAIL) and each is
// decoded and re-encoded byte for byte.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { FakeBusNode, type Captured } from '../helpers/cluster-bus';
import { freePort } from '../helpers/ports';
import { RawConnection, type Reply } from '../helpers/resp';
import { startRedis, type RunningServer } from '../helpers/servers';
import {
  decode,
  encode,
  extensionString,
  MSG_FAIL,
  MSG_MEET,
  MSG_PING,
  MSG_PONG,
  MSG_PUBLISH,
  MSG_UPDATE,
  validate,
} from '../../src/cluster/bus/message';

const text = (r: Reply): string => ('v' in r ? String(r.v) : '');

async function startClusterRedis(extra: string[] = []): Promise<{ server: RunningServer; bus: number; conn: RawConnection; id: string }> {
  const bus = await freePort();
  const server = await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-port', String(bus), '--cluster-node-timeout', '1000', ...extra] });
  const conn = await RawConnection.connect(server.port);
  const id = text(await conn.send('CLUSTER', 'MYID'));
  return { server, bus, conn, id };
}

function roundTrips(c: Captured): void {
  expect(validate(c.raw)).toBeNull();
  const again = encode(decode(c.raw));
  expect(again.equals(c.raw)).toBe(true);
}

describeDifferential('cluster bus messages of redis-server 7.0', () => {
  const fake = new FakeBusNode();
  let r1: Awaited<ReturnType<typeof startClusterRedis>>;
  let r2: Awaited<ReturnType<typeof startClusterRedis>>;

  beforeAll(async () => {
    await fake.listen();
    r1 = await startClusterRedis(['--cluster-announce-hostname', 'host-r1']);
    r2 = await startClusterRedis();
  });
  afterAll(async () => {
    r1?.conn.close();
    r2?.conn.close();
    await r1?.server.stop();
    await r2?.server.stop();
    await fake.close();
  });

  it('decodes and re-encodes MEET, PING, PONG, PUBLISH, UPDATE and FAIL exactly', async () => {
    expect(text(await r1.conn.send('CLUSTER', 'MEET', '127.0.0.1', String(fake.port), String(fake.busPort)))).toBe('OK');
    const meet = await fake.waitFor((c) => c.type === MSG_MEET);
    roundTrips(meet);
    const m = decode(meet.raw);
    expect(m.sender).toBe(r1.id);
    expect(m.port).toBe(r1.server.port);
    expect(m.cport).toBe(r1.bus);
    expect(m.pingExts?.map(extensionString)).toEqual(['host-r1']);

    // Our own link to r1: its PONGs.
    const out = await fake.connect(r1.bus);
    fake.send(out, fake.header(MSG_PING));
    roundTrips(await fake.waitFor((c) => c.type === MSG_PONG && !c.inbound));

    // r2 joins: r1's gossip then names it.
    expect(text(await r2.conn.send('CLUSTER', 'MEET', '127.0.0.1', String(r1.server.port), String(r1.bus)))).toBe('OK');
    const gossipy = await fake.waitFor((c) => (c.type === MSG_PING || c.type === MSG_PONG) &&
      (decode(c.raw).gossip ?? []).some((g) => g.nodename === r2.id));
    roundTrips(gossipy);

    // PUBLISH goes to every node.
    await r1.conn.send('PUBLISH', 'chan', 'hello\x00world');
    const pub = await fake.waitFor((c) => c.type === MSG_PUBLISH);
    roundTrips(pub);
    expect(decode(pub.raw).message!.toString('latin1')).toBe('hello\x00world');

    // r1 owns slot 0 at a config epoch above ours; we claim it: r1 answers with an UPDATE.
    await r1.conn.send('CLUSTER', 'ADDSLOTS', '0');
    await r1.conn.send('CLUSTER', 'BUMPEPOCH');
    fake.myslots[0] = 1;
    fake.send(out, fake.header(MSG_PING));
    const upd = await fake.waitFor((c) => c.type === MSG_UPDATE);
    roundTrips(upd);
    expect(decode(upd.raw).updateNode).toBe(r1.id);
    fake.myslots[0] = 0;

    // r2 dies; once r1 has it as PFAIL, our report (we are a master) makes the quorum and r1
    // broadcasts FAIL (failure reports arrive only through gossip, so we keep reporting).
    await r2.server.stop('SIGKILL');
    let fail: Captured | undefined;
    for (let i = 0; i < 60 && !fail; i++) {
      const ping = fake.header(MSG_PING);
      ping.gossip = [{ nodename: r2.id, pingSent: 0, pongReceived: 0, ip: { value: '127.0.0.1' }, port: r2.server.port, cport: r2.bus, flags: 1 | 4, pport: 0, notused1: 0 }];
      ping.count = 1;
      fake.send(out, ping);
      await new Promise((r) => setTimeout(r, 250));
      fail = fake.captured.find((c) => c.type === MSG_FAIL);
    }
    if (!fail) throw new Error('no FAIL from r1');
    roundTrips(fail);
    expect(decode(fail.raw).failNode).toBe(r2.id);

    // Everything else captured on the way round-trips too.
    for (const c of fake.captured) roundTrips(c);
  }, 40_000);
});

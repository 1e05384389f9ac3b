// MULTI/EXEC/WATCH against the real redis-server, and the cross-client cases a single
// sequence cannot show (another client's write invalidating a WATCH).
import { expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches, type BothServers, useBothServers } from '../helpers/diff';
import { RawConnection } from '../helpers/resp';

describeDifferential('transactions', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s));

  it('queues, executes, and reports runtime errors without aborting', async () => {
    const m = await compareSequences(
      [
        ['exec'],
        ['discard'],
        ['multi'],
        ['multi'],
        ['set', 'a', '1'],
        ['incr', 'a'],
        ['set', 's', 'str'],
        ['incr', 's'],
        ['get', 'a'],
        ['exec'],
        ['get', 'a'],
      ],
      { servers },
    );
    expect(m, formatMismatches(m)).toEqual([]);
  });

  it('aborts with EXECABORT after a queueing error', async () => {
    const m = await compareSequences(
      [['multi'], ['set', 'b', '1'], ['nosuchcommand'], ['get'], ['exec'], ['get', 'b'], ['multi'], ['set', 'b', '2'], ['discard'], ['get', 'b'],
        // A rejected EXEC discards the transaction and says why (rejectCommand's execCommandAbort).
        ['exec', 'x'], ['multi'], ['set', 'b', '3'], ['exec', 'x'], ['exec'], ['get', 'b']],
      { servers },
    );
    expect(m, formatMismatches(m)).toEqual([]);
  });

  it('refuses WATCH inside MULTI and answers UNWATCH', async () => {
    const m = await compareSequences([['multi'], ['watch', 'x'], ['exec'], ['watch', 'x', 'y'], ['unwatch'], ['unwatch']], { servers });
    expect(m, formatMismatches(m)).toEqual([]);
  });

  it('fails EXEC when another client modified a watched key', async () => {
    const results = [];
    for (const server of [servers.keyfork, servers.redis]) {
      const a = await RawConnection.connect(server.port);
      const b = await RawConnection.connect(server.port);
      await a.send('set', 'w', '1');
      await a.send('watch', 'w');
      await b.send('set', 'w', '2');
      await a.send('multi');
      await a.send('set', 'w', '3');
      const dirty = await a.send('exec');
      // An untouched watch lets EXEC through.
      await a.send('watch', 'w');
      await a.send('multi');
      await a.send('incr', 'w');
      const clean = await a.send('exec');
      // A write by the same client before MULTI also invalidates (Redis touches on any change).
      await a.send('watch', 'w');
      await a.send('set', 'w', '10');
      await a.send('multi');
      await a.send('get', 'w');
      const self = await a.send('exec');
      // FLUSHALL invalidates every watched key.
      await a.send('watch', 'w');
      await b.send('flushall');
      await a.send('multi');
      await a.send('ping');
      const flushed = await a.send('exec');
      results.push([dirty, clean, self, flushed]);
      a.close();
      b.close();
    }
    expect(results[0]).toEqual(results[1]);
  });
});

// Lists with PLAIN quicklist nodes, against the real redis-server: with DEBUG
// QUICKLIST-PACKED-THRESHOLD lowered, elements at least that large get nodes of their own, as
// Redis 7.0 stores large elements. Compared: the elements, DEBUG OBJECT's quicklist figures and
// DUMP byte for byte after pushes and replacements; a node stays PLAIN through DUMP/RESTORE and
// DEBUG RELOAD in both directions, whatever the threshold when it is loaded.
import { expect, it } from 'vitest';
import {
  compareSequences, describeDifferential, expectSameRepliesAndCounters, formatMismatches, normalizeDebugObject as normalize, useBothServers,
  type BothServers,
} from '../helpers/diff';
import { RawConnection, type Arg, type Reply } from '../helpers/resp';

let servers: BothServers;

const large = (c: string, n: number) => c.repeat(n);

/** After each step: the elements, DEBUG OBJECT and DUMP of `key`. */
function inspect(key: string): Arg[][] {
  return [['LRANGE', key, '0', '-1'], ['DEBUG', 'OBJECT', key], ['DUMP', key]];
}

describeDifferential('lists with PLAIN quicklist nodes', () => {
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] } });

  it('stores elements above the threshold in nodes of their own, as Redis', async () => {
    await expectSameRepliesAndCounters(servers, [
      ['DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '100'],
      ['RPUSH', 'l', 'a', 'b', large('L', 150), 'c', 'd', large('M', 300), 'e', '12345'], ...inspect('l'),
      ['LPUSH', 'l', large('P', 100)], ['RPUSH', 'l', large('Q', 101), 'tail'], ...inspect('l'),
      // A plain node given a small value becomes packed; a packed element given a large one is
      // split out into a plain node; a plain node given a large value stays plain.
      ['LSET', 'l', '0', 'tiny'], ...inspect('l'),
      ['LSET', 'l', '4', large('X', 200)], ...inspect('l'),
      ['LSET', 'l', '3', large('Y', 120)], ...inspect('l'),
      ['LSET', 'l', '4', large('Z', 130)], ...inspect('l'),
      ['LINDEX', 'l', '4'], ['LPOS', 'l', large('Z', 130)], ['LLEN', 'l'],
      // Moving a large element to another list: it is large there too.
      ['LMOVE', 'l', 'other', 'RIGHT', 'LEFT'], ['LMOVE', 'l', 'other', 'RIGHT', 'LEFT'], ...inspect('other'),
      ['LPUSH', 'fresh', large('F', 99), large('G', 100)], ...inspect('fresh'),
      ['DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '0'],
      ['RPUSH', 'fresh', large('H', 150)], ...inspect('fresh'),
    ], { normalize });
  });

  it('keeps the contents through inserts and removals around plain nodes', async () => {
    await expectSameRepliesAndCounters(servers, [
      ['DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '100'],
      ['RPUSH', 'l', 'a', large('L', 150), 'b', large('M', 150), 'c'],
      ['LINSERT', 'l', 'AFTER', large('L', 150), 'after-plain'], ['LINSERT', 'l', 'BEFORE', large('L', 150), 'before-plain'],
      ['LINSERT', 'l', 'AFTER', 'b', large('N', 200)], ['LINSERT', 'l', 'BEFORE', 'a', large('O', 200)],
      ['LRANGE', 'l', '0', '-1'], ['LREM', 'l', '0', large('M', 150)], ['LRANGE', 'l', '0', '-1'],
      ['LTRIM', 'l', '1', '-2'], ['LRANGE', 'l', '0', '-1'], ['LPOP', 'l', '2'], ['RPOP', 'l'], ['LRANGE', 'l', '0', '-1'],
      ['DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '0'],
    ]);
  });

  it('a PLAIN node stays PLAIN through RESTORE and DEBUG RELOAD, both ways', async () => {
    const both = [servers.keyfork, servers.redis];
    const conns = await Promise.all(both.map((s) => RawConnection.connect(s.port)));
    try {
      await Promise.all(conns.map((c) => c.send('FLUSHALL')));
      const build = [['DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '100'], ['RPUSH', 'src', 'a', large('L', 150), 'b', 'c', large('M', 400), 'd'],
        ['DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '0']];
      for (const command of build) await Promise.all(conns.map((c) => c.send(...command)));
      const dumps = await Promise.all(conns.map((c) => c.send('DUMP', 'src')));
      const payload = (r: Reply) => (r.t === 'bulk' && r.v ? r.v : Buffer.alloc(0));
      expect(payload(dumps[0]).equals(payload(dumps[1]))).toBe(true);
      // Each server restores the other's payload (the threshold back at 1 GB: the nodes stay
      // plain because the payload says so).
      const restores = [['RESTORE', 'from-redis', '0', payload(dumps[1])], ['RESTORE', 'from-keyfork', '0', payload(dumps[0])]];
      for (const command of restores) await Promise.all(conns.map((c) => c.send(...command)));
    } finally {
      conns.forEach((c) => c.close());
    }
    const after = [...inspect('from-redis'), ...inspect('from-keyfork'), ['RPUSH', 'from-redis', large('S', 150)], ...inspect('from-redis'),
      ['DEBUG', 'RELOAD'], ...inspect('src'), ...inspect('from-keyfork'), ...inspect('from-redis')];
    const mismatches = await compareSequences(after, { servers, normalize });
    expect(formatMismatches(mismatches)).toBe('');
  });
});

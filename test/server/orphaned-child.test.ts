// A forked child whose server is killed exits, as Redis's does when it cannot report to its
// parent (sendChildInfoGeneric): it removes its temp file and never renames an old snapshot
// over a file a new server may have written meanwhile. And a load that skipped empty keys
// (a damaged file) says so at warning, with their count, as Redis's rdbLoad does.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { childrenOf } from '../helpers/proc';
import { RawConnection } from '../helpers/resp';
import { startKeyfork } from '../helpers/servers';
import { alive, infoSection, waitFor } from './persistence-support';

describe('a forked child and its parent', () => {
  // The RDB child's case is in persistence-faults.test.ts.
  it('the AOF rewrite child exits soon after its server is killed, leaving no file', async () => {
    const server = await startKeyfork({ args: ['--save', '', '--appendonly', 'yes', '--rdb-key-save-delay', '100000'] });
    try {
      const conn = await RawConnection.connect(server.port);
      for (let i = 0; i < 200; i++) await conn.send('SET', `k${i}`, 'v');
      await waitFor(async () => (await infoSection(conn)).get('aof_rewrite_in_progress') === '0', 'the first rewrite over');
      await conn.send('BGREWRITEAOF');
      const child = await waitFor(() => childrenOf(server.pid)[0], 'the child');
      conn.close();
      await server.stop('SIGKILL');
      // Its rewrite had 20 s to go (200 keys at 100 ms each).
      await waitFor(() => !alive(child), 'the orphaned child gone', 5000);
      expect(fs.readdirSync(server.dir).filter((f) => f.startsWith('temp-rewriteaof-bg'))).toEqual([]);
    } finally {
      await server.stop('SIGKILL');
    }
  }, 60_000);
});

/** An RDB (no checksum) holding one empty set and one string: Redis skips the set. */
function rdbWithEmptyKey(): Buffer {
  const str = (t: string) => Buffer.concat([Buffer.from([t.length]), Buffer.from(t)]);
  return Buffer.concat([Buffer.from('REDIS0010'), Buffer.from([0xfe, 0]), Buffer.from([2]), str('emptyset'), Buffer.from([0]),
    Buffer.from([0]), str('k'), str('v'), Buffer.from([0xff]), Buffer.alloc(8)]);
}

describe('a load that skips empty keys', () => {
  it('logs each key and its closing line at warning with their count', async () => {
    const dir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'empty-keys-'));
    fs.writeFileSync(path.join(dir, 'dump.rdb'), rdbWithEmptyKey());
    const server = await startKeyfork({ dir, args: ['--save', ''] });
    try {
      const out = server.output();
      expect(out).toMatch(/ # rdbLoadObject skipping empty key: emptyset\n/);
      expect(out).toMatch(/ # Done loading RDB, keys loaded: 1, keys expired: 0, empty keys skipped: 1\.\n/);
    } finally {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

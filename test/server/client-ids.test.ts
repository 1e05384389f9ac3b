// Client ids as redis-server 7.0.15 hands them out: its module system's context client (1) and
// the scripting client (2) come first, so the first connection is 3; loading the AOF creates a
// fake client for each non-empty file (the base, each incremental file), which takes an id too.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { RawConnection, formatReply } from '../helpers/resp';
import { startKeyfork, startRedis, type ServerOptions } from '../helpers/servers';

type Which = 'keyfork' | 'redis';
const start = (which: Which, opts: ServerOptions) => (which === 'keyfork' ? startKeyfork(opts) : startRedis(opts));

let dir = '';

async function firstIds(which: Which, opts: ServerOptions): Promise<string[]> {
  const server = await start(which, opts);
  try {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const c = await RawConnection.connect(server.port);
      ids.push(formatReply(await c.send('CLIENT', 'ID')));
      c.close();
    }
    return ids;
  } finally {
    await server.stop();
  }
}

describeDifferential('client ids', () => {
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-client-ids-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the first connection of a fresh server is 3', async () => {
    const [k, r] = [await firstIds('keyfork', { args: ['--save', ''] }), await firstIds('redis', {})];
    expect(r).toEqual(['(integer) 3', '(integer) 4']);
    expect(k).toEqual(r);
  });

  it('each non-empty AOF file loaded at start-up takes an id (its fake client)', async () => {
    // An AOF made by redis-server: an RDB base file and an incremental file with a command.
    const made = fs.mkdtempSync(path.join(dir, 'made-'));
    const maker = await startRedis({ dir: made, args: ['--appendonly', 'yes'] });
    const c = await RawConnection.connect(maker.port);
    await c.send('SET', 'a', 'b');
    c.close();
    await maker.stop();
    const seen: Record<Which, string[]> = { keyfork: [], redis: [] };
    for (const which of ['keyfork', 'redis'] as const) {
      const sub = fs.mkdtempSync(path.join(dir, `${which}-`));
      fs.cpSync(path.join(made, 'appendonlydir'), path.join(sub, 'appendonlydir'), { recursive: true });
      seen[which] = await firstIds(which, { dir: sub, args: ['--appendonly', 'yes', '--save', ''] });
    }
    expect(seen.redis).toEqual(['(integer) 5', '(integer) 6']);
    expect(seen.keyfork).toEqual(seen.redis);
  });
});

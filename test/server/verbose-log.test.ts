// The lines Redis 7.0.15 writes at loglevel verbose and debug, against the real redis-server:
// serverCron's summaries (each non-empty database's keys, volatile keys and table slots at
// verbose, the clients and memory at debug) from its first run, which comes right after the
// ready line. Both of keyfork's socket paths: addon-owned sockets and node:net.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { RawConnection } from '../helpers/resp';
import { startKeyfork, startRedis, type RunningServer, type ServerOptions } from '../helpers/servers';

type Kind = 'redis' | 'keyfork' | 'keyfork-node';
const KINDS: Kind[] = ['redis', 'keyfork', 'keyfork-node'];

function start(kind: Kind, opts: ServerOptions): Promise<RunningServer> {
  if (kind === 'redis') return startRedis(opts);
  const env = kind === 'keyfork-node' ? { KEYFORK_SOCKETS: 'node' } : undefined;
  return startKeyfork({ ...opts, env, args: ['--save', '', '--appendonly', 'no', ...(opts.args ?? [])] });
}

/** The log lines after the ready line(s), as `mark message`, with what differs per run normalized. */
function linesAfterReady(server: RunningServer, dir: string): string[] {
  const lines = server.output().split('\n');
  let from = lines.findIndex((l) => l.endsWith('Ready to accept connections'));
  while (from + 1 < lines.length && lines[from + 1].includes('ready to accept connections at')) from++;
  return lines
    .slice(from + 1)
    .filter((l) => /^\d+:[MS] /.test(l))
    .map((l) => l.replace(/^\d+:[MS] \d+ \w+ \d+ [\d:.]+ /, ''))
    .map((l) => l.split(dir).join('DIR').replace(/\d+ bytes in use/, 'N bytes in use'));
}

let dir = '';

describeDifferential('verbose and debug log lines', () => {
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-verbose-log-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('serverCron\'s first run right after the ready line: the DB and clients summaries', async () => {
    // A dataset saved by redis-server: 3 keys, one with a TTL.
    const seed = await startRedis({ dir: fs.mkdtempSync(path.join(dir, 'seed-')) });
    const c = await RawConnection.connect(seed.port);
    await c.send('MSET', 'a', '1', 'b', '2', 'c', '3');
    await c.send('EXPIRE', 'a', '1000');
    await c.send('SAVE');
    c.close();
    await seed.stop();
    for (const kind of KINDS) {
      const sub = fs.mkdtempSync(path.join(dir, `${kind}-`));
      fs.copyFileSync(path.join(seed.dir, 'dump.rdb'), path.join(sub, 'dump.rdb'));
      const server = await start(kind, { dir: sub, args: ['--loglevel', 'debug'] });
      try {
        // Within 3 s (the next summaries are due 5 s later).
        let lines: string[] = [];
        for (let i = 0; i < 60 && !lines.some((l) => l.endsWith('bytes in use')); i++) {
          await new Promise((r) => setTimeout(r, 50));
          lines = linesAfterReady(server, sub);
        }
        expect(lines.slice(0, 2), `${kind}\n${server.output()}`).toEqual(['- DB 0: 3 keys (1 volatile) in 4 slots HT.', '. 0 clients connected (0 replicas), N bytes in use']);
      } finally {
        await server.stop();
      }
    }
  }, 60_000);
});

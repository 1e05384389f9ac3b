// redis-cli --functions-rdb: REPLCONF rdb-filter-only functions asks for an RDB that holds the
// function libraries and no data, always streamed (never through the snapshot file). The same
// on redis-server and on keyfork, disk-based and disk-less masters alike.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { RawConnection } from '../helpers/resp';
import { cmd, keyforkNode, redisNode, show, stopNodesAfterEach, type Node } from './replication-support';

stopNodesAfterEach();

type Kind = 'keyfork' | 'redis';
const start = (kind: Kind, args: string[] = []): Promise<Node> =>
  kind === 'keyfork' ? keyforkNode(args) : redisNode(['--enable-debug-command', 'yes', '--save', '', ...args]);

const LIBRARY = "#!lua name=lib1\nredis.register_function('func1', function() return 123 end)";

async function functionsRdb(kind: Kind) {
  const master = await start(kind);
  await cmd(master, 'DEBUG', 'POPULATE', '1000');
  await cmd(master, 'FUNCTION', 'LOAD', LIBRARY);
  const seen: Record<string, unknown> = {};
  for (const diskless of ['no', 'yes']) {
    await cmd(master, 'CONFIG', 'SET', 'repl-diskless-sync', diskless);
    await cmd(master, 'CONFIG', 'SET', 'repl-diskless-sync-delay', '0');
    const file = path.join(master.server.dir, `functions-${diskless}.rdb`);
    const cli = spawnSync('redis-cli', ['-p', String(master.server.port), '--functions-rdb', file], { encoding: 'utf8', timeout: 30_000 });
    const check = execFileSync('redis-check-rdb', [file], { encoding: 'utf8' });
    // The file as a new server's data: the library and no key.
    const loaded = await start(kind, ['--dir', master.server.dir, '--dbfilename', path.basename(file)]);
    seen[`diskless ${diskless}`] = {
      transfer: /Transfer finished with success/.test(cli.stdout + cli.stderr),
      checked: check.match(/\[info\] \d+ keys read|RDB looks OK/g),
      keys: await cmd(loaded, 'DBSIZE'),
      call: await cmd(loaded, 'FCALL', 'func1', '0'),
    };
    fs.rmSync(file, { force: true });
  }
  // What REPLCONF and SYNC refuse.
  const conn = await RawConnection.connect(master.server.port);
  seen.unknownFilter = show(await conn.send('REPLCONF', 'rdb-filter-only', 'functions data'));
  seen.noEof = [show(await conn.send('REPLCONF', 'rdb-filter-only', '')), show(await conn.send('SYNC'))];
  conn.close();
  return seen;
}

describeDifferential('redis-cli --functions-rdb vs redis-server 7.0', () => {
  it('gets an RDB of the function libraries only, from a disk-based and a disk-less master', async () => {
    const want = await functionsRdb('redis');
    const got = await functionsRdb('keyfork');
    expect(got['diskless no']).toEqual({ transfer: true, checked: ['RDB looks OK', '[info] 0 keys read'], keys: ':0', call: ':123' });
    expect(got).toEqual(want);
  }, 120_000);
});

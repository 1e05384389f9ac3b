// list-compress-depth against the real redis-server 7.0: a list created under depth N keeps
// the N nodes at each end raw and LZF-compresses the interior nodes that compress (at least 48
// bytes, saving more than 8), in memory. Checked: DUMP byte for byte and DEBUG OBJECT
// (ql_compressed, ql_nodes, ql_uncompressed_size, serializedlength); CONFIG SET affects new
// lists only; DEBUG RELOAD and RESTORE of Redis's payloads; MEMORY USAGE falls as Redis's
// does; every list command on compressed nodes answers as Redis does, and leaves the same
// nodes compressed (seeded random histories at depth 1 and 2, replies and DUMP compared after
// every step: which interior nodes Redis compresses depends on the history, see
// docs/handover/list-compress.md; list-nodes.test.ts runs its histories, which read nothing
// between writes, at both depths too); a SAVE passes redis-check-rdb and loads into
// redis-server with the same digest. KEYFORK_LIST_COMPRESS_SEEDS=N runs more seeds.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches, normalizeDebugObject as normalize, useBothServers, type BothServers } from '../helpers/diff';
import { RawConnection, replyNumber, type Arg, type Reply } from '../helpers/resp';
import { pick, rng } from '../helpers/random';
import { startRedis } from '../helpers/servers';

let servers: BothServers;

const SEEDS = Number(process.env.KEYFORK_LIST_COMPRESS_SEEDS ?? 3);
const STEPS = 200;
const KEYS = ['c1', 'c2'];

function inspect(key: string): Arg[][] {
  return [['DUMP', key], ['DEBUG', 'OBJECT', key], ['OBJECT', 'ENCODING', key]];
}

async function call(conn: RawConnection, ...args: Arg[]): Promise<Reply> {
  return conn.send(...args);
}

function text(r: Reply): string {
  if (r.t === 'bulk' && r.v !== null) return r.v.toString();
  if (r.t === 'simple' || r.t === 'verbatim') return r.v.toString();
  throw new Error(`unexpected reply ${JSON.stringify(r)}`);
}

/** Repetitive elements (interior nodes compress), integers and a few short ones. */
function element(r: () => number): string {
  const kind = r();
  if (kind < 0.2) return pick(r, ['0', '-1', '42', '4096', '12345678901', '007']);
  if (kind < 0.4) return pick(r, ['a', 'b', '', 'hello']);
  return `${pick(r, ['item', 'value', 'entry'])}:${pick(r, ['x', 'y']).repeat(pick(r, [20, 40, 90, 300]))}:${Math.floor(r() * 4)}`;
}

/** Replies compared after every step: the whole list and some reads of its interior. */
function reads(key: string, r: () => number): Arg[][] {
  return [['LRANGE', key, '0', '-1'], ['LINDEX', key, String(Math.floor(r() * 30) - 10)], ['LLEN', key], ['DUMP', key], ['DEBUG', 'OBJECT', key]];
}

function history(seed: number, depth: string, fill: string): Arg[][] {
  const r = rng(seed);
  const key = () => pick(r, KEYS);
  const index = () => String(Math.floor(r() * 30) - 10);
  const steps: Arg[][] = [['FLUSHALL'], ['CONFIG', 'SET', 'list-max-listpack-size', fill], ['CONFIG', 'SET', 'list-compress-depth', depth]];
  for (const k of KEYS) steps.push(['RPUSH', k, ...Array.from({ length: 80 }, () => element(r))]);
  for (let i = 0; i < STEPS; i++) {
    const k = key();
    const x = r();
    let step: Arg[];
    if (x < 0.2) step = [pick(r, ['LPUSH', 'RPUSH']), k, ...Array.from({ length: 1 + Math.floor(r() * 6) }, () => element(r))];
    else if (x < 0.3) step = [pick(r, ['LPOP', 'RPOP']), k, ...(r() < 0.3 ? ['3'] : [])];
    else if (x < 0.42) step = ['LINSERT', k, pick(r, ['BEFORE', 'AFTER']), element(r), element(r)];
    else if (x < 0.52) step = ['LSET', k, index(), element(r)];
    else if (x < 0.6) step = ['LREM', k, pick(r, ['0', '1', '-1', '2', '-2']), element(r)];
    else if (x < 0.64) step = ['LTRIM', k, pick(r, ['0', '1', '2', '-60']), pick(r, ['-1', '-2', '50', '80'])];
    else if (x < 0.7) step = ['LPOS', k, element(r), ...pick(r, [[], ['RANK', '-1'], ['COUNT', '0'], ['RANK', '2', 'COUNT', '3', 'MAXLEN', '20']])];
    else if (x < 0.76) step = ['LMOVE', k, key(), pick(r, ['LEFT', 'RIGHT']), pick(r, ['LEFT', 'RIGHT'])];
    else if (x < 0.8) step = [pick(r, ['BLPOP', 'BRPOP']), k, '0.01'];
    else if (x < 0.83) step = ['BLMOVE', k, key(), pick(r, ['LEFT', 'RIGHT']), pick(r, ['LEFT', 'RIGHT']), '0.01'];
    else if (x < 0.86) step = ['LMPOP', '2', k, key(), pick(r, ['LEFT', 'RIGHT']), 'COUNT', '2'];
    else if (x < 0.89) step = ['SORT', k, 'ALPHA', 'LIMIT', '0', '20'];
    else if (x < 0.91) step = ['OBJECT', 'ENCODING', k];
    else if (x < 0.93) step = ['RPUSHX', k, element(r)];
    else step = ['LRANGE', k, index(), index()];
    steps.push(step, ...reads(k, r));
    // Keep the lists long enough for interior nodes.
    if (r() < 0.1) steps.push(['RPUSH', k, ...Array.from({ length: 30 }, () => element(r))]);
  }
  return steps;
}

describeDifferential('list-compress-depth', () => {
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] } });

  it('interior nodes are LZF-compressed as Redis compresses them (DUMP, DEBUG OBJECT), ends raw, small nodes raw', async () => {
    const a = 'a'.repeat(35);
    const long = Array.from({ length: 3000 }, (_, i) => `element-number-${i}`);
    const mismatches = await compareSequences([
      ['FLUSHALL'], ['CONFIG', 'SET', 'rdbcompression', 'no'], ['CONFIG', 'SET', 'list-max-listpack-size', '4'], ['CONFIG', 'SET', 'list-compress-depth', '1'],
      ['CONFIG', 'GET', 'list-compress-depth'],
      // The middle node compresses (4 x 37 bytes of a's); small nodes (< 48 bytes) stay raw.
      ['RPUSH', 'l', 'x1', 'x2', 'x3', 'x4', `${a}1`, `${a}2`, `${a}3`, `${a}4`, 'c9', 'c10', 'c11', 'c12'], ...inspect('l'),
      ['RPUSH', 'small', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm'], ...inspect('small'),
      // Head pushes push nodes past the depth from the other end.
      ['LPUSH', 'h', ...long.slice(0, 40)], ...inspect('h'),
      // A list keeps the depth it was created with.
      ['CONFIG', 'SET', 'list-compress-depth', '0'], ['RPUSH', 'l', `${a}5`, `${a}6`, `${a}7`, `${a}8`, 'z'], ...inspect('l'),
      ['RPUSH', 'plain', `${a}1`, `${a}2`, `${a}3`, `${a}4`, `${a}5`, `${a}6`, `${a}7`, `${a}8`, `${a}9`, 'q', 'r', 's', 't'], ...inspect('plain'),
      ['CONFIG', 'SET', 'list-max-listpack-size', '-2'], ['CONFIG', 'SET', 'list-compress-depth', '2'],
      ['RPUSH', 'big', ...long], ...inspect('big'), ['LPOP', 'big', '700'], ...inspect('big'), ['RPOP', 'big', '900'], ...inspect('big'),
      // Loading gives every list the depth of the moment (the loader compresses interior nodes).
      ['DEBUG', 'RELOAD'], ...inspect('l'), ...inspect('plain'), ...inspect('big'), ...inspect('h'),
      ['CONFIG', 'SET', 'list-compress-depth', '0'], ['DEBUG', 'RELOAD'], ...inspect('big'),
      ['CONFIG', 'SET', 'rdbcompression', 'yes'],
    ], { servers, normalize });
    expect(formatMismatches(mismatches)).toBe('');
  });

  it('RESTORE of Redis\'s compressed payloads, and DUMP/RESTORE round trips', async () => {
    const [k, r] = await Promise.all([RawConnection.connect(servers.keyfork.port), RawConnection.connect(servers.redis.port)]);
    try {
      const setup: Arg[][] = [['FLUSHALL'], ['CONFIG', 'SET', 'list-compress-depth', '1'], ['RPUSH', 'src', ...Array.from({ length: 2500 }, (_, i) => `payload-${i % 50}-${'z'.repeat(i % 30)}`)]];
      for (const c of setup) { await call(k, ...c); await call(r, ...c); }
      const fromRedis = await call(r, 'DUMP', 'src');
      const fromKeyfork = await call(k, 'DUMP', 'src');
      expect(text(fromKeyfork)).toBe(text(fromRedis));
      for (const [conn, payload] of [[k, fromRedis], [k, fromKeyfork], [r, fromKeyfork]] as const) {
        await call(conn, 'DEL', 'copy');
        expect(text(await call(conn, 'RESTORE', 'copy', '0', (payload as { v: Buffer }).v))).toBe('OK');
        expect(JSON.stringify(await call(conn, 'LRANGE', 'copy', '0', '-1'))).toBe(JSON.stringify(await call(r, 'LRANGE', 'src', '0', '-1')));
        expect(text(await call(conn, 'DUMP', 'copy'))).toBe(text(fromRedis));
      }
      await call(k, 'CONFIG', 'SET', 'list-compress-depth', '0');
      await call(r, 'CONFIG', 'SET', 'list-compress-depth', '0');
    } finally {
      k.close();
      r.close();
    }
  });

  it('MEMORY USAGE and used_memory fall for compressible lists as Redis\'s do', async () => {
    // 100000 repetitive 40-byte elements (used_memory also moves with the server's own
    // buffers: a list of ~5 MB keeps that noise small): Redis's interior listpacks compress about 6:1. The
    // ratio compressed/raw is compared, not bytes: keyfork's raw list is not Redis's size
    // (its entry encoding and allocation differ), but compressed interior nodes are the same
    // LZF bytes of the same listpacks, so the two ratios agree within a few points.
    const items = Array.from({ length: 100000 }, (_, i) => `user:${String(i % 1000).padStart(6, '0')}:session:${'ab'.repeat(8)}`);
    const ratios: Record<string, { usage: number; used: number }> = {};
    for (const [name, port] of [['keyfork', servers.keyfork.port], ['redis', servers.redis.port]] as const) {
      const c = await RawConnection.connect(port);
      try {
        const usage: number[] = [];
        const used: number[] = [];
        for (const depth of ['0', '1']) {
          await call(c, 'FLUSHALL');
          // keyfork's LZF compressor keeps its 256 KiB hash table once it has compressed a
          // node (Redis's lives on the stack): a warm-up list, so that the measured growth is
          // the list's own.
          await call(c, 'CONFIG', 'SET', 'list-compress-depth', '1');
          await call(c, 'RPUSH', 'warm', ...items.slice(0, 2000));
          await call(c, 'DEL', 'warm');
          await call(c, 'CONFIG', 'SET', 'list-compress-depth', depth);
          const before = Number(/used_memory:(\d+)/.exec(text(await call(c, 'INFO', 'memory')))![1]);
          for (let i = 0; i < items.length; i += 1000) await call(c, 'RPUSH', 'm', ...items.slice(i, i + 1000));
          const after = Number(/used_memory:(\d+)/.exec(text(await call(c, 'INFO', 'memory')))![1]);
          // Reads decompress nodes; memory is back once the command is done.
          await call(c, 'LRANGE', 'm', '40000', '43000');
          await call(c, 'LINDEX', 'm', '10000');
          usage.push(replyNumber(await call(c, 'MEMORY', 'USAGE', 'm', 'SAMPLES', '0')));
          used.push(after - before);
        }
        ratios[name] = { usage: usage[1] / usage[0], used: used[1] / used[0] };
        await call(c, 'CONFIG', 'SET', 'list-compress-depth', '0');
        await call(c, 'FLUSHALL');
      } finally {
        c.close();
      }
    }
    console.log(`list-compress ratios (depth 1 / depth 0): ${JSON.stringify(ratios)}`);
    expect(ratios.redis.usage).toBeLessThan(0.35);
    expect(ratios.keyfork.usage).toBeLessThan(0.35);
    expect(Math.abs(ratios.keyfork.usage - ratios.redis.usage), JSON.stringify(ratios)).toBeLessThan(0.08);
    // used_memory is the whole server's: its own buffers move it by a few hundred KB.
    expect(Math.abs(ratios.keyfork.used - ratios.redis.used), JSON.stringify(ratios)).toBeLessThan(0.12);
  });

  for (const depth of ['1', '2']) {
    it(`random command histories at list-compress-depth ${depth}: every reply as Redis's`, async () => {
      for (let seed = 1; seed <= SEEDS; seed++) {
        const fill = pick(rng(seed * 31 + Number(depth)), ['2', '4', '8', '16', '-1']);
        const end = [...KEYS.flatMap((k) => [['LRANGE', k, '0', '-1'], ['DEBUG', 'OBJECT', k]]), ['DEBUG', 'RELOAD'], ...KEYS.flatMap((k) => [['LRANGE', k, '0', '-1'], ['DEBUG', 'OBJECT', k], ['DUMP', k]])];
        const mismatches = await compareSequences([...history(seed * 104729 + Number(depth), depth, fill), ...end], { servers, normalize });
        expect(formatMismatches(mismatches.slice(0, 3)), `seed ${seed} fill ${fill}`).toBe('');
      }
      await compareSequences([['CONFIG', 'SET', 'list-max-listpack-size', '-2'], ['CONFIG', 'SET', 'list-compress-depth', '0'], ['FLUSHALL']], { servers });
    });
  }

  it('a SAVE of compressed lists passes redis-check-rdb and loads into redis-server with the same digest', async () => {
    const k = await RawConnection.connect(servers.keyfork.port);
    try {
      await call(k, 'FLUSHALL');
      await call(k, 'CONFIG', 'SET', 'list-compress-depth', '2');
      await call(k, 'RPUSH', 'a', ...Array.from({ length: 5000 }, (_, i) => `entry-${i % 300}-${'q'.repeat(i % 17)}`));
      await call(k, 'LINSERT', 'a', 'BEFORE', 'entry-2500-', 'inserted');
      await call(k, 'LSET', 'a', '2600', 'x'.repeat(500));
      await call(k, 'RPUSH', 'b', ...Array.from({ length: 300 }, (_, i) => String(i)));
      const digest = text(await call(k, 'DEBUG', 'DIGEST'));
      expect(text(await call(k, 'SAVE'))).toBe('OK');
      const file = path.join(servers.keyfork.dir, 'dump.rdb');
      const check = spawnSync('redis-check-rdb', [file], { encoding: 'utf8' });
      expect(`${check.stdout}${check.stderr}`).toMatch(/RDB looks OK/);
      const redis = await startRedis({ dir: servers.keyfork.dir });
      try {
        const r = await RawConnection.connect(redis.port);
        try {
          expect(text(await call(r, 'DEBUG', 'DIGEST'))).toBe(digest);
        } finally {
          r.close();
        }
      } finally {
        await redis.stop();
      }
      await call(k, 'CONFIG', 'SET', 'list-compress-depth', '0');
      await call(k, 'FLUSHALL');
    } finally {
      k.close();
    }
  });
});

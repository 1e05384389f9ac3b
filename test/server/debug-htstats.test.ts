// DEBUG HTSTATS / HTSTATS-KEY (Redis's dictGetStats text of keyfork's own tables),
// DEBUG CONFIG-REWRITE-FORCE-ALL, DEBUG OBJECT of a key past its expire time, and DEBUG RELOAD
// NOFLUSH MERGE with function libraries, against the real redis-server. Found by Redis 7.0.15's
// tests/unit/other.tcl, type/set.tcl, introspection.tcl, scripting.tcl and functions.tcl, where
// each missing piece stopped the unit. keyfork's tables hash with another function than Redis
// (and move a small table at once when it resizes), so which buckets hold which keys differs:
// the text's shape, sizes and element counts are compared, and the chain figures are checked
// against each other.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeDifferential, expectSameRepliesAndCounters, useBothServers, withBothServers, type BothServers } from '../helpers/diff';
import { replyText } from '../helpers/info';
import { formatReply, RawConnection, type Reply } from '../helpers/resp';
import type { RunningServer } from '../helpers/servers';

let servers: BothServers;

async function send(server: RunningServer, ...args: string[]): Promise<Reply> {
  const conn = await RawConnection.connect(server.port);
  try {
    return await conn.send(...args);
  } finally {
    conn.close();
  }
}

/** Checks one "Hash table N stats" block's figures against each other; returns its size and count. */
function checkTable(block: string): { size: number; elements: number } | null {
  if (block.includes('No stats available for empty dictionaries')) return null;
  const num = (label: string) => Number(new RegExp(` ${label}: (\\d+)`).exec(block)?.[1] ?? NaN);
  const size = num('table size');
  const elements = num('number of elements');
  const slots = num('different slots');
  const maxChain = num('max chain length');
  const dist = [...block.matchAll(/^ {3}(\d+): (\d+) \((\d+\.\d\d)%\)$/gm)].map((m) => [Number(m[1]), Number(m[2]), Number(m[3])]);
  expect(dist.reduce((s, [, n]) => s + n, 0)).toBe(size);
  expect(dist.reduce((s, [len, n]) => s + len * n, 0)).toBe(elements);
  expect(size - (dist.find(([len]) => len === 0)?.[1] ?? 0)).toBe(slots);
  expect(Math.max(...dist.map(([len]) => len))).toBe(maxChain);
  // %.02f of a float: 17/32 prints 53.12 (half to even), so within a cent, not half of one.
  for (const [, n, pct] of dist) expect(Math.abs(pct - (n / size) * 100)).toBeLessThanOrEqual(0.01);
  expect(block).toContain(` avg chain length (counted): ${(elements / slots).toFixed(2)}`);
  return { size, elements };
}

/** The text with the figures that depend on the hash function masked. */
function shape(text: string): string {
  return text
    .replace(/ (different slots|max chain length): \d+/g, ' $1: *')
    .replace(/ avg chain length \((counted|computed)\): [\d.]+/g, ' avg chain length ($1): *')
    .replace(/(Chain length distribution:\n)(?: {3}\d+: \d+ \([\d.]+%\)\n)+/g, '$1   *\n');
}

describeDifferential('DEBUG HTSTATS, HTSTATS-KEY', () => {
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] } });

  it('describes the key table and the keys with an expire as Redis does', async () => {
    const texts: string[] = [];
    for (const server of [servers.keyfork, servers.redis]) {
      await send(server, 'FLUSHALL');
      const empty = replyText(await send(server, 'DEBUG', 'HTSTATS', '0'));
      for (let i = 0; i < 3; i++) await send(server, 'SET', `k${i}`, 'v');
      await send(server, 'SET', 'ttl', 'v', 'EX', '100');
      const text = replyText(await send(server, 'DEBUG', 'HTSTATS', '0'));
      const [, main, expires] = text.split(/\[Dictionary HT\]\n|\[Expires HT\]\n/);
      expect(checkTable(main)).toEqual({ size: 4, elements: 4 });
      expect(checkTable(expires)).toEqual({ size: 4, elements: 1 });
      texts.push(`${empty}---\n${shape(text)}`);
    }
    expect(texts[0]).toBe(texts[1]);
    expect(texts[0]).toContain('No stats available for empty dictionaries');
  });

  it('describes a set, hash and sorted set table; refuses other encodings, missing keys and bad dbs as Redis', async () => {
    const texts: string[] = [];
    // Past the listpack limits (512 hash fields, 128 sorted set members): hash tables.
    const members = Array.from({ length: 600 }, (_, i) => `m${i}`);
    for (const server of [servers.keyfork, servers.redis]) {
      await send(server, 'FLUSHALL');
      await send(server, 'SADD', 'set', ...members);
      await send(server, 'HSET', 'hash', ...members.flatMap((m) => [m, 'v']));
      await send(server, 'ZADD', 'zset', ...members.flatMap((m, i) => [String(i), m]));
      for (const key of ['set', 'hash', 'zset']) {
        const text = replyText(await send(server, 'DEBUG', 'HTSTATS-KEY', key));
        // A table still rehashing (Redis moves it a bucket per operation) has two blocks.
        const blocks = text.split(/(?=Hash table \d stats)/);
        const counts = blocks.map((b) => checkTable(b)?.elements ?? 0);
        expect(counts.reduce((a, b) => a + b, 0)).toBe(600);
        if (blocks.length === 2) expect(blocks[1]).toContain('Hash table 1 stats (rehashing target):');
        texts.push(`${key}: ${blocks[0].split('\n')[0]}`);
      }
    }
    expect(texts.slice(0, 3)).toEqual(texts.slice(3));
    await expectSameRepliesAndCounters(servers, [
      ['DEBUG', 'HTSTATS-KEY', 'small'], ['DEBUG', 'HTSTATS-KEY', 'list'], ['DEBUG', 'HTSTATS-KEY', 'str'],
      ['DEBUG', 'HTSTATS-KEY', 'nokey'], ['DEBUG', 'HTSTATS-KEY'], ['DEBUG', 'HTSTATS-KEY', 'small', 'full'],
      ['DEBUG', 'HTSTATS', '16'], ['DEBUG', 'HTSTATS', '-1'], ['DEBUG', 'HTSTATS', 'x'], ['DEBUG', 'HTSTATS'], ['DEBUG', 'HTSTATS', '0', 'full'],
      ['DEBUG', 'HTSTATS', '15'],
    ], { setup: [['HSET', 'small', 'f', 'v'], ['RPUSH', 'list', 'a'], ['SET', 'str', 'v']] });
  });

  it('shows the key table held back while a save child runs, grown once it is gone (other.tcl)', async () => {
    const seen: string[] = [];
    for (const server of [servers.keyfork, servers.redis]) {
      const log: string[] = [];
      const grown = async () => replyText(await send(server, 'DEBUG', 'HTSTATS', '0')).includes('table size: 8192');
      const saving = async () => /rdb_bgsave_in_progress:1/.test(replyText(await send(server, 'INFO', 'persistence')));
      await send(server, 'FLUSHALL');
      await send(server, 'CONFIG', 'SET', 'save', '');
      await send(server, 'DEBUG', 'POPULATE', '4096', 'key', '1');
      // ~0.4 s of child: 100 us per key.
      await send(server, 'CONFIG', 'SET', 'rdb-key-save-delay', '100');
      await send(server, 'BGSAVE');
      await send(server, 'MSET', 'k1', 'v1', 'k2', 'v2');
      log.push(`saving ${await saving()} grown ${await grown()}`);
      for (let i = 0; i < 200 && (await saving()); i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 200));
      await send(server, 'SET', 'k3', 'v3');
      log.push(`saving ${await saving()} grown ${await grown()}`);
      await send(server, 'CONFIG', 'SET', 'rdb-key-save-delay', '0');
      seen.push(log.join('; '));
    }
    expect(seen[0]).toBe('saving true grown false; saving false grown true');
    expect(seen[1]).toBe(seen[0]);
  });
});

describeDifferential('DEBUG CONFIG-REWRITE-FORCE-ALL, OBJECT, RELOAD MERGE', () => {
  it('CONFIG-REWRITE-FORCE-ALL writes every option; the server starts again from the file with the same config', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-force-all-'));
    try {
      const conf = path.join(dir, 'redis.conf');
      fs.writeFileSync(conf, 'maxmemory-samples 7\n');
      await withBothServers(async (both) => {
        expect(formatReply(await send(both.keyfork, 'CONFIG', 'REWRITE'))).toBe('OK');
        const before = fs.readFileSync(conf, 'utf8');
        expect(formatReply(await send(both.keyfork, 'DEBUG', 'CONFIG-REWRITE-FORCE-ALL'))).toBe('OK');
        const after = fs.readFileSync(conf, 'utf8');
        // Options at their defaults are written too: hz 10, appendonly no...
        expect(before).not.toMatch(/^hz 10$/m);
        expect(after).toMatch(/^hz 10$/m);
        expect(after).toMatch(/^appendonly no$/m);
        expect(after).toMatch(/^maxmemory-samples 7$/m);
      }, { keyfork: { configFile: conf, args: ['--enable-debug-command', 'yes'] } });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without a config file both fail as Redis does; DEBUG OBJECT still finds a key whose time passed', async () => {
    await withBothServers(async (both) => {
      await expectSameRepliesAndCounters(both, [
        ['DEBUG', 'CONFIG-REWRITE-FORCE-ALL'], ['DEBUG', 'CONFIG-REWRITE-FORCE-ALL', 'x'],
      ]);
      for (const server of [both.keyfork, both.redis]) {
        await send(server, 'DEBUG', 'SET-ACTIVE-EXPIRE', '0');
        await send(server, 'SET', 'key', 'value', 'PX', '1');
      }
      await new Promise((r) => setTimeout(r, 20));
      for (const server of [both.keyfork, both.redis]) {
        expect(formatReply(await send(server, 'DEBUG', 'OBJECT', 'key'))).toMatch(/Value at:/);
        expect(formatReply(await send(server, 'EXISTS', 'key'))).toBe('(integer) 0');
        expect(formatReply(await send(server, 'DEBUG', 'OBJECT', 'key'))).toBe('(error) ERR no such key');
      }
    }, { keyfork: { args: ['--enable-debug-command', 'yes'] } });
  });

  it('DEBUG RELOAD NOFLUSH fails on a library already loaded, NOFLUSH MERGE replaces it', async () => {
    await withBothServers(async (both) => {
      const code = "#!lua name=test\nredis.register_function('test', function() return 'hello' end)";
      await expectSameRepliesAndCounters(both, [
        ['FUNCTION', 'LOAD', code], ['DEBUG', 'RELOAD'],
        ['DEBUG', 'RELOAD', 'NOFLUSH'], ['DEBUG', 'RELOAD', 'NOFLUSH', 'MERGE'], ['FUNCTION', 'LIST'], ['FCALL', 'test', '0'],
      ]);
    }, { keyfork: { args: ['--enable-debug-command', 'yes'] } });
  });
});

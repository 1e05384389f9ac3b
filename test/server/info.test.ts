// INFO against the real redis-server 7.0: section selection, field names and order, value
// formats, exact replies of the deterministic sections (keyspace, cluster, errorstats,
// commandstats counts), and keyfork's live values.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches, type BothServers } from '../helpers/diff';
import { formatReply, RawConnection, type Arg, type Reply } from '../helpers/resp';
import { keyforkMainPath, REPO_ROOT, startKeyfork, startRedis } from '../helpers/servers';

let servers: BothServers;

const text = (r: Reply): string => {
  if ((r.t === 'bulk' || r.t === 'verbatim') && r.v) return r.v.toString('latin1');
  throw new Error(`not a string reply: ${formatReply(r)}`);
};

/** Section title -> [field, value] lines, in order. */
function parseInfo(s: string): Map<string, Array<[string, string]>> {
  const sections = new Map<string, Array<[string, string]>>();
  let current: Array<[string, string]> | null = null;
  for (const line of s.split('\r\n')) {
    if (line.startsWith('# ')) {
      current = [];
      sections.set(line.slice(2), current);
    } else if (line !== '' && current) {
      const i = line.indexOf(':');
      current.push([line.slice(0, i), line.slice(i + 1)]);
    }
  }
  return sections;
}

async function info(port: number, ...sections: string[]): Promise<string> {
  const c = await RawConnection.connect(port);
  try {
    return text(await c.send('INFO', ...sections));
  } finally {
    c.close();
  }
}

function field(s: string, name: string): string {
  const m = new RegExp(`^${name}:(.*)$`, 'm').exec(s);
  if (!m) throw new Error(`no ${name} in INFO`);
  return m[1].replace(/\r$/, '');
}

/** Sections whose lines depend on what ran (or that keyfork does not produce). */
const DYNAMIC = new Set(['Commandstats', 'Errorstats', 'Keyspace', 'Latencystats']);

/** What a value looks like, for comparing formats across servers. */
function shape(v: string): string {
  if (/^-?\d+$/.test(v)) return 'int';
  if (/^-?\d+\.\d{2}$/.test(v)) return 'fixed2';
  if (/^\d+\.\d{6}$/.test(v)) return 'fixed6';
  if (/^\d+\.\d{2}%$/.test(v)) return 'percent';
  if (/^\d+(\.\d{2}[KMGTP]|B)$/.test(v)) return 'human';
  if (/^[0-9a-f]{40}$/.test(v)) return 'hex40';
  return 'text';
}

describeDifferential('INFO vs redis-server 7.0', () => {
  beforeAll(async () => {
    const [keyfork, redis] = await Promise.all([
      startKeyfork({ args: ['--save', '', '--enable-debug-command', 'yes'] }),
      startRedis(),
    ]);
    servers = { keyfork, redis };
  });
  afterAll(async () => {
    await Promise.all([servers?.keyfork.stop(), servers?.redis.stop()]);
  });

  const check = async (commands: Arg[][], resp3 = false, normalize?: (c: Arg[], r: Reply) => Reply) => {
    const mismatches = await compareSequences(commands, { servers, resp3, normalize });
    expect(formatMismatches(mismatches)).toBe('');
  };

  it('every section has Redis 7.0.15\'s fields in Redis\'s order (plus keyfork_* fields)', async () => {
    const [k, r] = await Promise.all([info(servers.keyfork.port, 'everything'), info(servers.redis.port, 'everything')]);
    const ks = parseInfo(k);
    const rs = parseInfo(r);
    expect([...ks.keys()]).toEqual([...rs.keys()]);
    for (const [title, rFields] of rs) {
      if (DYNAMIC.has(title)) continue;
      const kFields = (ks.get(title) ?? []).filter(([n]) => !n.startsWith('keyfork_'));
      expect(kFields.map(([n]) => n), title).toEqual(rFields.map(([n]) => n));
      // Same value formats (integers, %.2f, %.2f%%, human sizes, 40-hex ids...).
      const rShapes = new Map(rFields.map(([n, v]) => [n, shape(v)]));
      for (const [n, v] of kFields) {
        if (['os', 'executable', 'config_file', 'redis_build_id', 'mem_allocator', 'gcc_version'].includes(n)) continue;
        expect(`${n}:${shape(v)}`, `${n}:${v}`).toBe(`${n}:${rShapes.get(n)}`);
      }
    }
    expect(field(k, 'keyfork_version')).toBe(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version);
  });

  it('selects sections as 7.0 does (default, all, everything, names, case, unknown)', async () => {
    const selections: string[][] = [
      [], ['default'], ['all'], ['everything'], ['server'], ['SERVER', 'clients'], ['keyspace', 'cluster'], ['Keyspace', 'keyspace'],
      ['foo'], ['modules'], ['module_list'], ['default', 'commandstats'], ['Server', 'default'], ['all', 'keyspace'], ['commandstats'],
      ['errorstats', 'cpu', 'memory'], ['persistence', 'stats', 'replication'], ['default', 'foo', 'all'],
    ];
    for (const sel of selections) {
      const [k, r] = await Promise.all([info(servers.keyfork.port, ...sel), info(servers.redis.port, ...sel)]);
      const titles = (s: string) => [...parseInfo(s).keys()];
      expect(titles(k), sel.join(' ')).toEqual(titles(r));
    }
  });

  it('exact replies of the deterministic sections, RESP2 bulk and RESP3 verbatim', async () => {
    // avg_ttl is an estimate sampled by the expire cycle: compared as 0 / non-zero, once each
    // server's cron has sampled the key with a TTL (its timer may run late on a loaded machine).
    const normalize = (c: Arg[], r: Reply): Reply => {
      if (c[0] === 'INFO' && (r.t === 'bulk' || r.t === 'verbatim') && r.v) {
        const s = r.v.toString('latin1').replace(/avg_ttl=[1-9]\d*/g, 'avg_ttl=N');
        return { ...r, v: Buffer.from(s, 'latin1') };
      }
      return r;
    };
    const sampled = async (port: number) => /^db0:.*avg_ttl=[1-9]/m.test(await info(port, 'keyspace'));
    for (const resp3 of [false, true]) {
      await check([
        ['FLUSHALL'], ['INFO', 'keyspace'], ['INFO', 'foo'], ['INFO', 'cluster', 'keyspace'], ['INFO', 'modules'],
        ['SET', 'a', '1'], ['SET', 'b', '2', 'EX', '1000'], ['SELECT', '2'], ['SET', 'c', '3'], ['SELECT', '0'],
      ], resp3, normalize);
      for (const port of [servers.keyfork.port, servers.redis.port]) {
        const deadline = Date.now() + 10_000;
        while (!(await sampled(port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      }
      await check([['INFO', 'keyspace'], ['INFO', 'KEYSPACE', 'Cluster'], ['FLUSHALL'], ['INFO', 'keyspace']], resp3, normalize);
    }
  });

  it('commandstats and errorstats count calls, rejections, failures and error codes like Redis', async () => {
    const run: Arg[][] = [
      ['SET', 'k', 'v'], ['GET', 'k'], ['GET', 'nokey'], ['GET'], ['CONFIG', 'GET', 'maxmemory'], ['HGET', 'k', 'f'],
      ['INCR', 'k'], ['NOSUCHCOMMAND'], ['HSET', 'h'], ['SET', 'k', 'v', 'NX', 'XX'], ['MULTI'], ['GET', 'k'], ['EXEC'],
    ];
    const sequence: Arg[][] = [['FLUSHALL'], ['CONFIG', 'RESETSTAT'], ...run];
    const mask = (c: Arg[], r: Reply): Reply => {
      if (c[0] !== 'INFO' || !(r.t === 'bulk' || r.t === 'verbatim') || !r.v) return r;
      // usec depends on the machine; the line order follows Redis's hash order.
      const lines = r.v.toString('latin1').split('\r\n').map((l) => l.replace(/usec=\d+,usec_per_call=[\d.]+/, 'usec=U'));
      const header = lines.filter((l) => l.startsWith('#') || l === '');
      const body = lines.filter((l) => !(l.startsWith('#') || l === '')).sort();
      return { t: 'bulk', v: Buffer.from([...header, ...body].join('\n'), 'latin1') };
    };
    await check([...sequence, ['INFO', 'commandstats'], ['INFO', 'errorstats']], false, mask);
    // Stats counters that the same sequence must leave equal on both servers.
    const stats = async (port: number) => {
      const c = await RawConnection.connect(port);
      try {
        for (const cmd of sequence) await c.send(...cmd);
        const s = text(await c.send('INFO', 'stats'));
        return ['total_commands_processed', 'total_error_replies', 'keyspace_hits', 'keyspace_misses'].map((f) => `${f}:${field(s, f)}`);
      } finally {
        c.close();
      }
    };
    const [k, r] = await Promise.all([stats(servers.keyfork.port), stats(servers.redis.port)]);
    expect(k).toEqual(r);
    await check([['CONFIG', 'RESETSTAT'], ['INFO', 'errorstats']]);
  });

  it('an unknown subcommand is rejected without counting against its container', async () => {
    await check([['CONFIG', 'RESETSTAT'], ['CONFIG', 'NOSUCH'], ['CLIENT', 'NOSUCH'], ['INFO', 'commandstats'], ['INFO', 'errorstats']], false,
      (c, r) => (c[0] === 'INFO' && r.t === 'bulk' && r.v
        ? { t: 'bulk', v: Buffer.from(r.v.toString('latin1').replace(/usec=\d+,usec_per_call=[\d.]+/g, 'usec=U')) } : r));
  });

  it('live values: identity, port, pid, clients, memory, persistence, replication ids', async () => {
    const port = servers.keyfork.port;
    const a = await info(port, 'everything');
    expect(field(a, 'process_id')).toBe(String(servers.keyfork.pid));
    expect(field(a, 'tcp_port')).toBe(String(port));
    expect(field(a, 'run_id')).toMatch(/^[0-9a-f]{40}$/);
    expect(field(a, 'master_replid')).toMatch(/^[0-9a-f]{40}$/);
    expect(field(a, 'master_replid')).not.toBe(field(a, 'run_id'));
    expect(field(a, 'role')).toBe('master');
    expect(Number(field(a, 'used_memory'))).toBeGreaterThan(1 << 20);
    expect(Number(field(a, 'used_memory_peak'))).toBeGreaterThanOrEqual(Number(field(a, 'used_memory')));
    expect(Math.abs(Number(field(a, 'server_time_usec')) / 1000 - Date.now())).toBeLessThan(5000);
    expect(field(a, 'executable')).toBe(path.resolve(keyforkMainPath()));

    const holders = await Promise.all([RawConnection.connect(port), RawConnection.connect(port)]);
    try {
      await holders[0].send('SUBSCRIBE', 'live-channel');
      await holders[1].send('SET', 'live-key', 'x');
      const b = await info(port, 'everything');
      expect(field(b, 'run_id')).toBe(field(a, 'run_id'));
      expect(Number(field(b, 'connected_clients'))).toBe(3);
      expect(field(b, 'pubsub_channels')).toBe('1');
      expect(Number(field(b, 'rdb_changes_since_last_save'))).toBeGreaterThan(Number(field(a, 'rdb_changes_since_last_save')));
      expect(Number(field(b, 'total_commands_processed'))).toBeGreaterThan(Number(field(a, 'total_commands_processed')));
      expect(Number(field(b, 'total_connections_received'))).toBeGreaterThan(Number(field(a, 'total_connections_received')));
      const replid = field(b, 'master_replid');
      expect(await holders[1].send('DEBUG', 'CHANGE-REPL-ID')).toEqual({ t: 'simple', v: 'OK' });
      const c = await info(port, 'replication');
      expect(field(c, 'master_replid')).toMatch(/^[0-9a-f]{40}$/);
      expect(field(c, 'master_replid')).not.toBe(replid);
    } finally {
      holders.forEach((h) => h.close());
    }
  });
});

// MIGRATE and RESTORE-ASKING against redis-server 7.0.15, both ways and keyfork to keyfork:
// every value type with its TTL, the options (COPY, REPLACE, KEYS, AUTH, AUTH2), targets that
// refuse or never answer, the cached connection (one per host:port, SELECT only when the db
// changes, closed after 10 idle seconds, retried once when the target dropped it), what the
// source propagates (AOF, replicas), its keyspace events, MONITOR/SLOWLOG redaction, and the
// command table's entries. Each scenario runs with a redis-server source and a keyfork source
// and the two stories must match.
import net from 'node:net';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { formatReply, RawConnection, type Arg, type Reply } from '../helpers/resp';
import { incrFile, parseAofCommands } from './aof-support';
import { info, keyforkNode, redisNode, sleep, stopNodesAfterEach, waitFor, waitInSync, waitLinkUp, type Node } from './replication-support';

stopNodesAfterEach();

type Kind = 'keyfork' | 'redis';
const KINDS: Kind[] = ['redis', 'keyfork'];

function start(kind: Kind, args: string[] = []): Promise<Node> {
  return kind === 'keyfork' ? keyforkNode(args) : redisNode(['--enable-debug-command', 'yes', ...args]);
}

const line = (r: Reply): string => {
  if (r.t === 'bulk') return r.v === null ? '(nil)' : r.v.toString('latin1');
  if (r.t === 'simple') return `+${r.v}`;
  if (r.t === 'error') return `-${r.v}`;
  if (r.t === 'int') return `:${r.v}`;
  return formatReply(r);
};

async function send(node: Node, ...args: Arg[]): Promise<string> {
  return line(await node.conn.send(...args));
}

const range = (n: number, f: (i: number) => string[]): string[] => Array.from({ length: n }, (_, i) => f(i)).flat();

/** Keys of every type and encoding (streams with groups and pending entries). */
const VALUES: Arg[][] = [
  ['SET', 's:int', '12345'],
  ['SET', 's:emb', 'hello world'],
  ['SET', 's:raw', 'abcdefghij'.repeat(10)],
  ['SET', 's:bin', Buffer.from([0, 255, 13, 10, 7])],
  ['RPUSH', 'l:small', 'a', '1', '-2', '70000', 'hello'],
  ['RPUSH', 'l:big', ...range(1500, (i) => [`element-number-${i}`])],
  ['SADD', 'set:int', '5', '-3', '100000'],
  ['SADD', 'set:str', 'alpha', 'beta', 'gamma'],
  ['SADD', 'set:big', ...range(700, (i) => [`m${i}`])],
  ['HSET', 'h:small', 'f', 'v', 'n', '7'],
  ['HSET', 'h:big', ...range(600, (i) => [`field${i}`, `value${i}`])],
  ['ZADD', 'z:small', '0.1', 'b', '1.5', 'a', '1e300', 'big', 'inf', 'pinf'],
  ['ZADD', 'z:big', ...range(200, (i) => [`${i}.5`, `m${i}`])],
  ['PFADD', 'hll', 'a', 'b', 'c'],
  ['XADD', 'x:small', '1-1', 'a', '1', 'b', 'x'],
  ['XADD', 'x:small', '5-0', 'c', '3'],
  ...Array.from({ length: 8 }, (_, i): Arg[] => ['XADD', 'x:groups', `${i + 1}-0`, 'f', String(i)]),
  ['XGROUP', 'CREATE', 'x:groups', 'g', '0'],
  ['XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '3', 'STREAMS', 'x:groups', '>'],
  ['XREADGROUP', 'GROUP', 'g', 'c2', 'COUNT', '1', 'STREAMS', 'x:groups', '>'],
  ['XGROUP', 'CREATECONSUMER', 'x:groups', 'g', 'idle'],
  ['XGROUP', 'CREATE', 'x:groups', 'h', '$', 'ENTRIESREAD', '3'],
  ['XDEL', 'x:groups', '2-0'],
];
const VALUE_KEYS = [...new Set(VALUES.map((c) => String(c[1] === 'CREATE' || c[1] === 'CREATECONSUMER' ? c[2] : c[0] === 'XREADGROUP' ? c[7] : c[1])))];

/** What a key holds, comparable across servers: digest, encoding, and for streams XINFO FULL. */
async function describeKey(node: Node, key: string): Promise<string> {
  const parts = [await send(node, 'TYPE', key), await send(node, 'DEBUG', 'DIGEST-VALUE', key), await send(node, 'OBJECT', 'ENCODING', key)];
  if (parts[0] === '+stream') parts.push(formatReply(await node.conn.send('XINFO', 'STREAM', key, 'FULL')));
  return parts.join(' ');
}

/** Connects to a port and collects what is written, never answering. */
async function silentTarget(): Promise<{ port: number; accepted: () => number; received: () => string; close: () => void }> {
  const sockets: net.Socket[] = [];
  let data = '';
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('data', (d) => (data += d.toString('latin1')));
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    accepted: () => sockets.length,
    received: () => data,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** A target's clients connected from the source (the MIGRATE connections), by CLIENT LIST. */
async function migrateClients(target: Node): Promise<string[]> {
  const list = await send(target, 'CLIENT', 'LIST');
  const own = await send(target, 'CLIENT', 'ID');
  return list.split('\n').filter((l) => l !== '' && !l.startsWith(`id=${own.slice(1)} `));
}

async function stat(node: Node, section: string, name: string): Promise<string | undefined> {
  return (await info(node, section)).get(name);
}

describeDifferential('MIGRATE vs redis-server 7.0', () => {
  it('moves every value type with its TTL, between every pair of servers', async () => {
    // redis -> redis first: what the others must match (a restored key's encoding is the
    // target's choice, a stream's times are the source's).
    const pairs: [Kind, Kind][] = [['redis', 'redis'], ['keyfork', 'redis'], ['redis', 'keyfork'], ['keyfork', 'keyfork']];
    const reference = new Map<string, string>();
    for (const [from, to] of pairs) {
      const [src, dst] = await Promise.all([start(from), start(to)]);
      await src.conn.pipeline(VALUES);
      await src.conn.pipeline([['PEXPIRE', 's:emb', '500000'], ['EXPIRE', 'l:big', '1000'], ['PEXPIRE', 'x:groups', '3000000']]);
      const before = new Map<string, string>();
      for (const k of VALUE_KEYS) before.set(k, await describeKey(src, k));
      const ttls = new Map<string, number>();
      for (const k of VALUE_KEYS) ttls.set(k, Number((await send(src, 'PTTL', k)).slice(1)));
      // A single key, then the rest with KEYS into another database.
      expect(await send(src, 'MIGRATE', '127.0.0.1', String(dst.server.port), 's:int', '0', '5000'), `${from} -> ${to}`).toBe('+OK');
      const rest = VALUE_KEYS.filter((k) => k !== 's:int');
      expect(await send(src, 'MIGRATE', '127.0.0.1', String(dst.server.port), '', '3', '5000', 'KEYS', ...rest)).toBe('+OK');
      expect(await send(src, 'DBSIZE')).toBe(':0');
      expect(await send(dst, 'EXISTS', 's:int')).toBe(':1');
      await dst.conn.send('SELECT', '3');
      for (const k of rest) {
        const got = await describeKey(dst, k);
        const digest = (d: string | undefined) => d?.split(' ').slice(0, 3).join(' ');
        expect(digest(got), `${from} -> ${to}: ${k}`).toBe(digest(before.get(k)));
        const shape = got.replace(/\b\d{13}\b/g, 'T');
        if (!reference.has(k)) reference.set(k, shape);
        expect(shape, `${from} -> ${to}: ${k}`).toBe(reference.get(k));
        const ttl = Number((await send(dst, 'PTTL', k)).slice(1));
        const was = ttls.get(k)!;
        if (was < 0) expect(ttl, k).toBe(-1);
        else expect(ttl > was - 5000 && ttl <= was, `${k}: ${ttl} after ${was}`).toBe(true);
      }
    }
  }, 120_000);

  it('replies and errors as Redis does, counted in commandstats and errorstats', async () => {
    const stories: string[] = [];
    for (const kind of KINDS) {
      const [src, dst] = await Promise.all([start(kind), start(kind, ['--requirepass', 'pw'])]);
      const dport = String(dst.server.port);
      const story: string[] = [];
      const run = async (...args: Arg[]) => story.push(`${args.map(String).join(' ')} => ${await send(src, ...args)}`);
      const M = (...rest: Arg[]) => run('MIGRATE', '127.0.0.1', dport, ...rest);
      await run('SET', 'k', 'v');
      await run('MIGRATE', '127.0.0.1', '1', 'k', '0', '1000'); // nothing listens on port 1
      await M('k', '0', '1000');
      await M('k', '0', '1000', 'AUTH', 'bad');
      await M('k', '0', '1000', 'AUTH2', 'default', 'bad');
      await M('k', '0', '1000', 'AUTH2', 'nobody', 'pw');
      await M('missing', '0', '1000', 'AUTH', 'pw');
      await M('k', '0', '1000', 'auth', 'pw', 'copy');
      await M('k', '0', '1000', 'AUTH', 'pw');
      await run('SET', 'k', 'v2');
      await M('k', '0', '1000', 'AUTH', 'pw');
      await M('k', '0', '1000', 'AUTH', 'pw', 'REPLACE');
      await run('SET', 'k', 'v3');
      await M('k', '99', '1000', 'AUTH', 'pw');
      await M('k', '-1', '1000', 'AUTH', 'pw');
      await M('k', 'x', '1000');
      await M('k', '0', 'x');
      await M('k', '0', '99999999999999999999');
      await M('k', '0', '1000', 'KEYS', 'a');
      await M('k', '0', '1000', 'COPY', 'foo');
      await M('k', '0', '1000', 'AUTH');
      await M('k', '0', '1000', 'AUTH2', 'a');
      await M('', '0', '1000', 'KEYS');
      await M('', '0', '1000');
      await M('', '0', '1000', 'foo', 'KEYS', 'a');
      await run('MSET', 'a', '1', 'b', '2', 'c', '3');
      await run('SELECT', '0');
      await M('', '0', '1000', 'AUTH', 'pw', 'KEYS', 'nope', 'a', 'b');
      await run('SET', 'a', 'again');
      await M('', '0', '1000', 'AUTH', 'pw', 'KEYS', 'a', 'c');
      await run('EXISTS', 'a', 'b', 'c');
      await run('SET', 'c', '4');
      await run('MIGRATE', '127.0.0.1', '-1', 'c', '0', '1000'); // the resolver refuses the port
      await run('MIGRATE', '127.0.0.1', 'notaport', 'c', '0', '1000'); // atoi: port 0
      await run('MIGRATE', '127.0.0.1', '1', 'c', '0', '1000', 'AUTH', 'pw');
      await run('MIGRATE', '127.0.0.1', `${dport}abc`, 'c', '0', '1000', 'AUTH', 'pw'); // atoi again
      story.push(`cached ${await stat(src, 'stats', 'migrate_cached_sockets')}`);
      await run('SET', 'c', '5');
      await run('MIGRATE', '127.0.0.1', dport, 'c', '0', '1000', 'AUTH', 'pw');
      for (const k of ['a', 'b', 'c', 'k']) story.push(`target ${k} ${await send(dst, 'AUTH', 'pw')} ${await send(dst, 'GET', k)}`);
      const stats = await info(src, 'commandstats');
      const m = stats.get('cmdstat_migrate')!.replace(/usec=\d+,usec_per_call=[\d.]+,/, '');
      story.push(m);
      const errors = [...(await info(src, 'errorstats'))].map(([k, v]) => `${k}:${v}`).sort();
      story.push(...errors);
      story.push(`keyspace ${(await stat(src, 'stats', 'keyspace_hits'))} ${(await stat(src, 'stats', 'keyspace_misses'))}`);
      stories.push(story.join('\n').replaceAll(dport, 'PORT'));
    }
    expect(stories[1]).toBe(stories[0]);
  }, 60_000);

  it('AUTH to a target without a password: its error wins, the restored keys stay here too', async () => {
    const stories: string[] = [];
    for (const kind of KINDS) {
      const [src, dst] = await Promise.all([start(kind), start(kind)]);
      await send(src, 'MSET', 'a', '1', 'b', '2');
      const story = [await send(src, 'MIGRATE', '127.0.0.1', String(dst.server.port), '', '0', '1000', 'AUTH', 'x', 'KEYS', 'a', 'b')];
      story.push(await send(src, 'EXISTS', 'a', 'b'), await send(dst, 'EXISTS', 'a', 'b'));
      stories.push(story.join('\n'));
    }
    expect(stories[1]).toBe(stories[0]);
    expect(stories[0]).toContain('Target instance replied with error: ERR AUTH');
  }, 30_000);

  it('a target that never answers: the timeout error, no retry, and the server serves others after', async () => {
    const stories: string[] = [];
    for (const kind of KINDS) {
      const src = await start(kind);
      const silent = await silentTarget();
      try {
        await send(src, 'SET', 'k', 'v');
        const other = await RawConnection.connect(src.server.port);
        const t0 = Date.now();
        const pending = src.conn.send('MIGRATE', '127.0.0.1', String(silent.port), 'k', '0', '600');
        await sleep(150);
        // Sent while MIGRATE waits: the whole server waits with it.
        const ping = other.send('PING').then(() => Date.now() - t0);
        const reply = line(await pending);
        const elapsed = Date.now() - t0;
        const pingAt = await ping;
        expect(elapsed, kind).toBeGreaterThanOrEqual(590);
        expect(pingAt, kind).toBeGreaterThanOrEqual(550);
        expect(await other.send('GET', 'k').then(line)).toBe('v');
        // Timeout 0 is 1000 ms.
        const t1 = Date.now();
        const second = await send(src, 'MIGRATE', '127.0.0.1', String(silent.port), 'k', '0', '0');
        const elapsed0 = Date.now() - t1;
        expect(elapsed0, kind).toBeGreaterThanOrEqual(990);
        other.close();
        await waitFor(() => silent.received().length >= 2 * 'RESTORE'.length, 'the requests');
        const restores = silent.received().split('RESTORE').length - 1;
        stories.push([reply, second, `connections ${silent.accepted()}`, `restores ${restores}`, `key ${await send(src, 'GET', 'k')}`].join('\n'));
      } finally {
        silent.close();
      }
    }
    expect(stories[1]).toBe(stories[0]);
    expect(stories[0]).toContain('IOERR error or timeout reading to target instance');
  }, 60_000);

  it('keeps one connection per target, SELECTs only when the db changes, retries a dropped one once, closes it after 10 idle seconds', async () => {
    const stories: string[] = [];
    await Promise.all(
      KINDS.map(async (kind) => {
        const [src, dst] = await Promise.all([start(kind), start('redis')]);
        const dport = String(dst.server.port);
        const story: string[] = [];
        const M = async (key: string, db: string) => {
          await send(src, 'SET', key, 'v');
          story.push(`${key}@${db} ${await send(src, 'MIGRATE', '127.0.0.1', dport, key, db, '2000')}`);
        };
        await M('a', '0');
        await M('b', '0');
        await M('c', '1');
        await M('d', '1');
        await M('e', '0');
        const clients = await migrateClients(dst);
        story.push(`cached ${await stat(src, 'stats', 'migrate_cached_sockets')}`);
        story.push(`clients ${clients.length} ${clients.map((c) => /cmd=(\S+)/.exec(c)?.[1]).join(',')}`);
        story.push(`select ${(await stat(dst, 'commandstats', 'cmdstat_select'))?.replace(/usec=\d+,usec_per_call=[\d.]+,/, '')}`);
        story.push(`restore ${(await stat(dst, 'commandstats', 'cmdstat_restore'))?.replace(/usec=\d+,usec_per_call=[\d.]+,/, '')}`);
        // The target drops the cached connection: the next MIGRATE fails to read and retries
        // once on a new one.
        const id = /id=(\d+)/.exec(clients[0])![1];
        story.push(`kill ${await send(dst, 'CLIENT', 'KILL', 'ID', id)}`);
        const before = Number(await stat(dst, 'stats', 'total_connections_received'));
        await M('f', '0');
        story.push(`new connections ${Number(await stat(dst, 'stats', 'total_connections_received')) - before}`);
        // Idle for more than 10 s (checked once a second): closed.
        await sleep(9_000);
        story.push(`after 9 s ${(await migrateClients(dst)).length}`);
        await waitFor(async () => (await migrateClients(dst)).length === 0, 'the idle MIGRATE connection to close', 6_000);
        story.push(`closed, cached ${await stat(src, 'stats', 'migrate_cached_sockets')}`);
        stories[KINDS.indexOf(kind)] = story.join('\n');
      }),
    );
    expect(stories[1]).toBe(stories[0]);
    expect(stories[0]).toContain('clients 1 restore');
  }, 60_000);

  it('propagates the keys it deleted as one DEL (nothing with COPY) to the AOF and to replicas', async () => {
    const stories: string[] = [];
    for (const kind of KINDS) {
      const [src, dst] = await Promise.all([start(kind, ['--appendonly', 'yes', '--appendfsync', 'always']), start('redis')]);
      const replica = await start(kind, ['--replicaof', '127.0.0.1', String(src.server.port)]);
      await waitLinkUp(replica);
      const dport = String(dst.server.port);
      await send(dst, 'SET', 'busy', 'x');
      await src.conn.pipeline([['SELECT', '2'], ['MSET', 'a', '1', 'b', '2', 'busy', '3', 'c', '4'], ['PEXPIRE', 'c', '100000']]);
      const before = parseAofCommands(fs.readFileSync(incrFile(src.server))).length;
      const story = [
        await send(src, 'MIGRATE', '127.0.0.1', dport, '', '0', '1000', 'KEYS', 'a', 'busy', 'b'),
        await send(src, 'MIGRATE', '127.0.0.1', dport, 'c', '0', '1000', 'COPY'),
        await send(src, 'MIGRATE', '127.0.0.1', dport, 'c', '0', '1000', 'REPLACE'),
      ];
      await waitInSync(src, replica);
      const aof = parseAofCommands(fs.readFileSync(incrFile(src.server))).slice(before);
      story.push(...aof.map((c) => c.join(' ')));
      await replica.conn.send('SELECT', '2');
      story.push(`replica ${await send(replica, 'EXISTS', 'a', 'b', 'c', 'busy')}`);
      stories.push(story.join('\n'));
    }
    expect(stories[1]).toBe(stories[0]);
    expect(stories[0]).toContain('DEL a b');
  }, 60_000);

  it('notifies del for each key it moved, keymiss for a missing one', async () => {
    const stories: string[] = [];
    for (const kind of KINDS) {
      const [src, dst] = await Promise.all([start(kind, ['--notify-keyspace-events', 'KEAm']), start('redis')]);
      await send(src, 'MSET', 'a', '1', 'b', '2');
      const sub = await RawConnection.connect(src.server.port);
      await sub.send('PSUBSCRIBE', '__keyevent@0__:*');
      const reply = await send(src, 'MIGRATE', '127.0.0.1', String(dst.server.port), '', '0', '1000', 'KEYS', 'a', 'zz', 'b');
      const events: string[] = [reply];
      for (let i = 0; i < 3; i++) {
        const m = await sub.readReply();
        if (m.t === 'array') events.push(m.v!.slice(2).map(line).join(' '));
      }
      sub.close();
      stories.push(events.join('\n'));
    }
    expect(stories[1]).toBe(stories[0]);
  }, 30_000);

  it('hides its passwords from MONITOR and SLOWLOG', async () => {
    const stories: string[] = [];
    for (const kind of KINDS) {
      const [src, dst] = await Promise.all([start(kind, ['--slowlog-log-slower-than', '0']), start('redis', ['--requirepass', 'pw'])]);
      const mon = await RawConnection.connect(src.server.port);
      await mon.send('MONITOR');
      const dport = String(dst.server.port);
      await send(src, 'SET', 'k', 'v');
      const calls: Arg[][] = [
        ['MIGRATE', '127.0.0.1', dport, 'k', '0', '1000', 'AUTH', 'pw', 'COPY'],
        ['MIGRATE', '127.0.0.1', dport, 'k', '0', '1000', 'COPY', 'AUTH2', 'default', 'pw'],
        ['MIGRATE', '127.0.0.1', dport, 'k', '0', '1000', 'FOO', 'AUTH', 'pw'],
        ['MIGRATE', '127.0.0.1', dport, 'k', '0', '1000', 'AUTH2', 'default'],
        ['MIGRATE', '127.0.0.1', dport, '', '0', '1000', 'AUTH', 'pw', 'REPLACE', 'KEYS', 'k', 'AUTH', 'x'],
      ];
      const story: string[] = [];
      for (const c of calls) story.push(await send(src, ...c));
      for (let i = 0; i < calls.length + 1; i++) story.push(line(await mon.readReply()).replace(/^\+[\d.]+ \[0 [^\]]+\] /, ''));
      mon.close();
      const log = await src.conn.send('SLOWLOG', 'GET', String(calls.length + 1));
      if (log.t === 'array') for (const e of log.v!) if (e.t === 'array' && e.v![3].t === 'array') story.push(e.v![3].v!.map(line).join(' '));
      stories.push(story.join('\n').replaceAll(dport, 'PORT'));
    }
    expect(stories[1]).toBe(stories[0]);
    expect(stories[0]).toContain('(redacted)');
  }, 30_000);

  it('RESTORE-ASKING is RESTORE without cluster mode, propagated under its own name', async () => {
    const stories: string[] = [];
    for (const kind of KINDS) {
      const src = await start(kind, ['--appendonly', 'yes']);
      await send(src, 'SET', 'k', 'v');
      const payload = (await src.conn.send('DUMP', 'k')) as Extract<Reply, { t: 'bulk' }>;
      const story = [
        await send(src, 'RESTORE-ASKING', 'k', '0', payload.v!),
        await send(src, 'RESTORE-ASKING', 'k2', '0', payload.v!),
        await send(src, 'restore-asking', 'k2', '100000', payload.v!, 'REPLACE'),
        await send(src, 'RESTORE-ASKING', 'k3', '0', Buffer.from('junk')),
        await send(src, 'RESTORE-ASKING', 'k3'),
        await send(src, 'GET', 'k2'),
      ];
      // Give the AOF writer time on a loaded machine (a full run once read it too early).
      await waitFor(() => fs.readFileSync(incrFile(src.server), 'latin1').includes('ABSTTL'), `${kind}'s AOF`, 5_000);
      const aof = parseAofCommands(fs.readFileSync(incrFile(src.server))).map((c) =>
        c.map((a, i) => (!c[0].toLowerCase().startsWith('restore') ? a : i === 3 ? 'payload' : i === 2 && /^\d{13}$/.test(a) ? 'T' : a)).join(' '));
      story.push(...aof);
      stories.push(story.join('\n'));
    }
    expect(stories[1]).toBe(stories[0]);
  }, 30_000);

  it('COMMAND INFO, DOCS and GETKEYS as Redis 7.0', async () => {
    const [k, r] = await Promise.all([start('keyfork'), start('redis')]);
    const cases: Arg[][] = [
      ['COMMAND', 'INFO', 'migrate', 'restore-asking'],
      ['COMMAND', 'DOCS', 'migrate'],
      ['COMMAND', 'DOCS', 'restore-asking'],
      ['COMMAND', 'GETKEYS', 'MIGRATE', 'h', '1', 'k', '0', '0'],
      ['COMMAND', 'GETKEYS', 'MIGRATE', 'h', '1', '', '0', '0', 'AUTH', 'keys', 'KEYS', 'a', 'b'],
      ['COMMAND', 'GETKEYS', 'MIGRATE', 'h', '1', '', '0', '0', 'AUTH2', 'u', 'keys', 'COPY', 'KEYS', 'a'],
      ['COMMAND', 'GETKEYS', 'MIGRATE', 'h', '1', 'k', '0', '0', 'KEYS', 'a'],
      ['COMMAND', 'GETKEYSANDFLAGS', 'MIGRATE', 'h', '1', '', '0', '0', 'KEYS', 'a', 'b'],
      ['COMMAND', 'GETKEYS', 'RESTORE-ASKING', 'k', '0', 'x'],
      ['ACL', 'CAT', 'dangerous'],
      ['ACL', 'CAT', 'keyspace'],
    ];
    for (const c of cases) {
      const [a, b] = await Promise.all([k.conn.send(...c), r.conn.send(...c)]);
      // Categories: these two commands' places in them (cluster's subcommands are another helper's).
      const norm = (x: Reply) => (c[1] === 'CAT' && x.t === 'array' ? x.v!.map(line).filter((n) => /^(migrate|restore)/.test(n)).sort().join(',') : formatReply(x));
      expect(norm(a), c.join(' ')).toBe(norm(b));
    }
  }, 30_000);
});

describe('MIGRATE keyfork to keyfork', () => {
  it('a stream with consumer groups keeps its pending entries and delivery counts', async () => {
    const [src, dst] = await Promise.all([keyforkNode(), keyforkNode()]);
    await src.conn.pipeline(VALUES.filter((c) => String(c[1]).startsWith('x:') || c[2] === 'x:groups' || c[7] === 'x:groups'));
    const pending = formatReply(await src.conn.send('XPENDING', 'x:groups', 'g'));
    const full = formatReply(await src.conn.send('XINFO', 'STREAM', 'x:groups', 'FULL'));
    expect(await send(src, 'MIGRATE', '127.0.0.1', String(dst.server.port), 'x:groups', '0', '1000')).toBe('+OK');
    expect(formatReply(await dst.conn.send('XPENDING', 'x:groups', 'g'))).toBe(pending);
    expect(formatReply(await dst.conn.send('XINFO', 'STREAM', 'x:groups', 'FULL'))).toBe(full);
  });
});

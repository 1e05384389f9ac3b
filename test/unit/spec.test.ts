import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import spec from '../../src/commands/spec.json';
import { formatReply, RawConnection, type Reply } from '../helpers/resp';
import { parseAll } from '../helpers/resp3';
import { replyKey } from '../helpers/diff';
import { REPO_ROOT, redisAvailable, startRedis, type RunningServer } from '../helpers/servers';

// The dump script is plain CommonJS; load it with Node's require, not through the test transform.
const dump = createRequire(import.meta.url)('../../scripts/dump-command-spec.js') as {
  buildInfoReply(entry: unknown): unknown;
  buildDocsReply(entry: unknown): unknown;
  encode(tree: unknown, resp3: boolean): Buffer;
  toResp2(tree: unknown): unknown;
};

interface Entry {
  name: string;
  arity: number;
  flags: string[];
  first_key: number;
  last_key: number;
  step: number;
  acl_categories: string[];
  tips: string[];
  key_specs: Array<{ begin_search: unknown; find_keys: unknown }>;
  docs: { summary: string; since: string; group: string; arguments?: Array<{ name: string }> };
  subcommands?: Record<string, Entry>;
}
const commands = spec.commands as unknown as Record<string, Entry>;
const allEntries = (): Entry[] =>
  Object.values(commands).flatMap((e) => [e, ...Object.values(e.subcommands ?? {})]);

describe('src/commands/spec.json', () => {
  it('records COMMAND COUNT and holds exactly that many top-level commands', () => {
    expect(spec.meta.command_count).toBe(240);
    expect(Object.keys(commands)).toHaveLength(spec.meta.command_count);
    expect(spec.meta.source).toBe('redis-server 7.0.15');
  });

  it('keys every entry by its lower-case name; subcommands by container|name', () => {
    for (const [name, entry] of Object.entries(commands)) {
      expect(entry.name).toBe(name);
      expect(name).toBe(name.toLowerCase());
      for (const [subName, sub] of Object.entries(entry.subcommands ?? {})) {
        expect(sub.name).toBe(subName);
        expect(subName.startsWith(`${name}|`)).toBe(true);
        expect(sub.subcommands).toBeUndefined();
      }
    }
  });

  it('has the fields of a COMMAND INFO entry with their JSON types', () => {
    for (const e of allEntries()) {
      expect(Number.isInteger(e.arity), e.name).toBe(true);
      expect([e.first_key, e.last_key, e.step].every(Number.isInteger), e.name).toBe(true);
      for (const list of [e.flags, e.acl_categories, e.tips]) {
        expect(list.every((x) => typeof x === 'string'), e.name).toBe(true);
      }
      expect(Array.isArray(e.key_specs), e.name).toBe(true);
      expect(typeof e.docs.summary, e.name).toBe('string');
      expect(typeof e.docs.group, e.name).toBe('string');
    }
  });

  it('describes GET and SET as Redis 7.0 does', () => {
    expect(commands.get.arity).toBe(2);
    expect(commands.get.flags).toEqual(['readonly', 'fast']);
    expect(commands.set.arity).toBe(-3);
    expect(commands.set.flags).toEqual(['write', 'denyoom']);
    expect(commands.set.key_specs[0].begin_search).toEqual({ type: 'index', spec: { index: 1 } });
    expect(commands.set.key_specs[0].find_keys).toEqual({ type: 'range', spec: { lastkey: 0, keystep: 1, limit: 0 } });
    expect(commands.set.docs.since).toBe('1.0.0');
    expect(commands.set.docs.arguments?.map((a) => a.name)).toEqual(['key', 'value', 'condition', 'get', 'expiration']);
  });

  it('nests subcommands under their container', () => {
    const config = commands.config;
    expect(config.arity).toBe(-2);
    expect(Object.keys(config.subcommands ?? {}).sort()).toEqual(
      ['config|get', 'config|help', 'config|resetstat', 'config|rewrite', 'config|set'],
    );
    expect(config.subcommands?.['config|get'].arity).toBe(-3);
    expect(config.subcommands?.['config|set'].tips).toEqual(['request_policy:all_nodes', 'response_policy:all_succeeded']);
    expect(commands.get.subcommands).toBeUndefined();
  });
});

describe.skipIf(!redisAvailable())('spec.json against the live redis-server', () => {
  let redis: RunningServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  const rebuilt = (tree: unknown, resp3: boolean): Reply => parseAll(dump.encode(resp3 ? tree : dump.toResp2(tree), resp3))[0];

  for (const resp3 of [false, true]) {
    it(`rebuilds COMMAND INFO and COMMAND DOCS exactly (RESP${resp3 ? 3 : 2})`, async () => {
      const conn = await RawConnection.connect(redis.port, { resp3 });
      try {
        // Containers are left out: their subcommands come in per-process hash order.
        for (const name of ['get', 'set', 'zadd', 'xreadgroup', 'migrate', 'eval', 'sort', 'georadius']) {
          const info = await conn.send('COMMAND', 'INFO', name);
          const expectedInfo = rebuilt({ t: 'array', v: [dump.buildInfoReply(commands[name])] }, resp3);
          expect(replyKey(info), `COMMAND INFO ${name}\n${formatReply(info)}`).toBe(replyKey(expectedInfo));

          const docs = await conn.send('COMMAND', 'DOCS', name);
          const expectedDocs = rebuilt({ t: 'map', v: [[{ t: 'bulk', v: name }, dump.buildDocsReply(commands[name])]] }, resp3);
          expect(replyKey(docs), `COMMAND DOCS ${name}\n${formatReply(docs)}`).toBe(replyKey(expectedDocs));
        }
      } finally {
        conn.close();
      }
    });
  }

  it('passes the dump script\'s full check (every command, both protocols)', () => {
    const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'dump-command-spec.js'), '--check'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
  });
});

// ACL against the real redis-server 7.0: ACL SETUSER rules (handwritten and generated) give
// the same replies and errors, the same allow/deny decisions (ACL DRYRUN, and the NOPERM
// errors of real commands), the same ACL LOG entries; AUTH, HELLO AUTH, requirepass, MULTI/
// EXEC, ACL CAT, GETUSER/LIST, DELUSER, GENPASS, LOAD/SAVE with an aclfile, `user` lines.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { compareOnConnections, describeDifferential, formatMismatches, type BothServers, useBothServers, withBothServers } from '../helpers/diff';
import { pick, rng } from '../helpers/random';
import { formatReply, RawConnection, type Arg, type Reply } from '../helpers/resp';
import { startKeyfork, startRedis } from '../helpers/servers';

const text = (r: Reply): string => (r.t === 'bulk' || r.t === 'verbatim' ? (r.v ? r.v.toString('latin1') : '(nil)') : formatReply(r));

async function onBoth<T>(servers: BothServers, fn: (port: number) => Promise<T>): Promise<[T, T]> {
  return Promise.all([fn(servers.keyfork.port), fn(servers.redis.port)]);
}

async function sameSequence(servers: BothServers, commands: Arg[][], normalize?: (c: Arg[], r: Reply) => Reply): Promise<void> {
  const [k, r] = await Promise.all([RawConnection.connect(servers.keyfork.port), RawConnection.connect(servers.redis.port)]);
  try {
    expect(formatMismatches(await compareOnConnections(k, r, commands, { normalize }))).toBe('');
  } finally {
    k.close();
    r.close();
  }
}

/** Deletes every user but default and resets the default user and the log. */
async function resetAcl(port: number): Promise<void> {
  const c = await RawConnection.connect(port);
  const users = await c.send('ACL', 'USERS');
  for (const u of users.t === 'array' ? users.v ?? [] : []) {
    if (text(u) !== 'default') await c.send('ACL', 'DELUSER', text(u));
  }
  await c.send('ACL', 'SETUSER', 'default', 'reset', 'on', 'nopass', '~*', '&*', '+@all');
  await c.send('ACL', 'LOG', 'RESET');
  await c.send('FLUSHALL');
  c.close();
}

/** The commands a rule set is judged on (ACL DRYRUN and for real). */
const PROBES: string[][] = [
  ['get', 'foo'], ['get', 'bar'], ['set', 'foo', 'v'], ['set', 'r1', 'v'], ['set', 'w1', 'v'], ['get', 'r1'], ['get', 'w1'],
  ['set', 'foo', 'v', 'get'], ['mget', 'foo', 'bar'], ['mset', 'foo', '1', 'w1', '2'], ['del', 'x1'], ['del', 'foo', 'x1'],
  ['lpush', 'foo', 'a'], ['lrange', 'foo', '0', '-1'], ['hset', 'h1', 'f', 'v'], ['sadd', 's1', 'm'], ['zadd', 'z1', '1', 'm'],
  ['incr', 'foo'], ['exists', 'w1'], ['rename', 'foo', 'r1'], ['copy', 'r1', 'w1'], ['lmove', 'r1', 'w1', 'left', 'right'],
  ['sinterstore', 'w1', 'r1', 'foo'], ['bitop', 'and', 'w1', 'r1'], ['bitfield', 'r1', 'get', 'u8', '0'],
  ['bitfield', 'r1', 'set', 'u8', '0', '1'], ['object', 'encoding', 'foo'], ['config', 'get', 'maxmemory'], ['config', 'set', 'hz', '10'],
  ['client', 'id'], ['client', 'list'], ['select', '0'], ['select', '1'], ['debug', 'digest'], ['flushall'], ['keys', '*'], ['scan', '0'],
  ['publish', 'ch1', 'm'], ['publish', 'news', 'm'], ['ping'], ['echo', 'x'], ['info'], ['dbsize'], ['auth', 'x', 'y'], ['hello'],
  ['multi'], ['acl', 'whoami'], ['acl', 'setuser', 'x'], ['command', 'count'], ['type', 'foo'], ['ttl', 'r1'], ['expire', 'w1', '10'],
  ['blpop', 'foo', '1'], ['zunionstore', 'w1', '2', 'r1', 'foo'], ['getdel', 'r1'], ['getex', 'r1'],
];

/** Handwritten rule sets: every rule of Redis 7.0, valid and invalid. */
const RULE_SETS: string[][] = [
  [], ['on'], ['off'], ['on', 'nopass'], ['on', '>pw', '>pw2', '<pw'], ['on', '#' + 'a'.repeat(64)], ['on', '#' + 'A'.repeat(64)],
  ['on', '#abc'], ['on', '!' + 'b'.repeat(64)], ['on', '<nopw'], ['>a', 'resetpass'], ['nopass', '>x'], ['>x', 'nopass'],
  ['on', '~foo*', '+get'], ['on', '%R~r*', '%W~w*', '+@all'], ['on', '%RW~foo', '+@read'], ['on', '%WR~x*', '+@write'],
  ['on', '%X~x'], ['on', '%R'], ['on', '%~x'], ['on', '%RR~x'], ['on', 'allkeys', '~foo'], ['on', '~*', '~foo'], ['on', '~foo', 'allkeys'],
  ['on', '~foo', 'resetkeys', '~bar*'], ['on', '&ch*', '+publish'], ['on', 'allchannels', '&x'], ['on', '&*', 'resetchannels', '&news'],
  ['on', '+@all', '-@dangerous'], ['on', 'allcommands', '-set', '~*'], ['on', 'nocommands', '+get', '~*'], ['on', '+@string', '-get', 'allkeys'],
  ['on', '-@all', '+@read', '+@write', '-@keyspace', '~*'], ['on', '+@hash', '+@set', '+@sortedset', '+@list', '~*'],
  ['on', '+config|get', '~*'], ['on', '+config', '-config|set', '~*'], ['on', '+@all', '-config|set', '+config|set', '~*'],
  ['on', '+select|0', '~*'], ['on', '+select|0', '+select|1', '-select', '~*'], ['on', '+config|get|x'], ['on', '+debug|'], ['on', '+config|nosuch'],
  ['on', '-select|0'], ['on', '+nosuchcmd'], ['on', '+@nosuch'], ['on', '-@nosuch'], ['on', 'bogus'], ['on', '+'], ['on', '-'],
  ['on', '+@all', '~*', '(-get ~x*)'], ['on', '(+get ~foo*)', '(+set ~w*)'], ['on', '(+get', '~foo*)'], ['on', '(+get ~foo*', '(+set)'],
  ['on', '(+get ~foo*)', 'clearselectors', '+@read', '~r*'], ['on', '(bogus)'], ['on', '(+get ~a b)'], ['on', '()'],
  ['on', 'reset'], ['on', '~*', '+@all', 'reset', 'on'], ['skip-sanitize-payload'], ['sanitize-payload', 'on'],
  ['ON', 'NOPASS', 'ALLKEYS', 'ALLCOMMANDS', 'ALLCHANNELS'], ['on', '+GET', '~Foo*'], ['on', '+@ALL', '-@Dangerous', '~*'],
  ['on', '+@admin', '-@admin', '+@fast', '~*'], ['on', '+@all', '-@all', '+@pubsub', '&*'], ['on', '+@connection', '+@transaction'],
  ['on', '+@all', '-@read', '+get', '~*', '&*'], ['on', '-@all', '+@slow', '-@admin', '~*'], ['on', '+@blocking', '~*'],
  ['on', '', '+get'], ['on', '~foo', '~foo', '%R~foo'], ['on', '&a', '&a'], ['on', '>p', '>p'],
];

/** A random rule set: flags, passwords, patterns, commands, categories and selectors. */
function randomRules(r: () => number): string[] {
  const cmds = ['get', 'set', 'del', 'lpush', 'hset', 'config', 'config|get', 'config|set', 'client', 'client|id', 'select', 'publish', 'mget', 'incr', 'keys', 'flushall', 'debug'];
  const cats = ['@all', '@read', '@write', '@string', '@list', '@hash', '@keyspace', '@admin', '@dangerous', '@fast', '@slow', '@pubsub', '@connection', '@set', '@sortedset', '@bitmap', '@blocking', '@transaction'];
  const one = (): string => {
    switch (Math.floor(r() * 12)) {
      case 0: return pick(r, ['on', 'off', 'nopass', 'resetpass', 'allkeys', 'resetkeys', 'allchannels', 'resetchannels', 'allcommands', 'nocommands']);
      case 1: return `>${pick(r, ['a', 'b'])}`;
      case 2: return `${pick(r, ['~', '%R~', '%W~', '%RW~'])}${pick(r, ['foo*', 'r*', 'w*', 'x?', '*'])}`;
      case 3: return `&${pick(r, ['ch*', 'news', '*'])}`;
      case 4: case 5: case 6: return `${pick(r, ['+', '-'])}${pick(r, cmds)}`;
      case 7: case 8: case 9: return `${pick(r, ['+', '-'])}${pick(r, cats)}`;
      case 10: return `+select|${pick(r, ['0', '1'])}`;
      default: return `(${pick(r, ['+get', '+@read', '+set'])} ${pick(r, ['~foo*', '%R~r*', '~*', ''])})`;
    }
  };
  return Array.from({ length: 1 + Math.floor(r() * 8) }, one);
}

/** GETUSER with the commands description reduced to its effect-independent token set. */
/** An array reply with its elements in a fixed order (for replies whose order is the hash table's). */
function sortedArray(reply: Reply): Reply {
  if (reply.t !== 'array' || !reply.v) return reply;
  return { t: 'array', v: [...reply.v].sort((a, b) => text(a).localeCompare(text(b))) };
}

function normalizeUser(c: Arg[], reply: Reply): Reply {
  const sub = String(c[1] ?? '').toLowerCase();
  if (String(c[0]).toLowerCase() !== 'acl') return reply;
  if (sub === 'list' && reply.t === 'array') {
    return { t: 'array', v: (reply.v ?? []).map((u) => ({ t: 'bulk', v: Buffer.from(stripCommandRules(text(u))) })) };
  }
  if (sub === 'log' && reply.t === 'array') {
    return { t: 'array', v: (reply.v ?? []).map((e) => e.t !== 'array' ? e : { t: 'array', v: (e.v ?? []).map((f, i, all) => {
      const field = i > 0 ? text(all[i - 1]) : '';
      if (field === 'age-seconds') return { t: 'bulk', v: Buffer.from('age') };
      if (field === 'client-info') return { t: 'bulk', v: Buffer.from(text(f).split(' ').filter((kv) => /^(name|db|multi|cmd|user|resp|flags)=/.test(kv)).join(' ')) };
      return f;
    }) }) };
  }
  return reply;
}

/**
 * An ACL LIST line with each run of single-command rules sorted: Redis emits them in its
 * command dict's order, which depends on a hash seed chosen at start-up.
 */
function sortSingleCommands(line: string): string {
  const tokens = line.split(' ');
  const out: string[] = [];
  let run: string[] = [];
  const flush = () => {
    out.push(...run.sort());
    run = [];
  };
  for (const t of tokens) {
    if (/^\(?[+-][^@]/.test(t)) run.push(t);
    else {
      flush();
      out.push(t);
    }
  }
  flush();
  return out.join(' ');
}

/** ACL LIST lines with the command rules (whose best-fit categories depend on the table) cut. */
function stripCommandRules(line: string): string {
  return line.split(' ').filter((t) => !/^[+-]/.test(t.replace(/^\(/, ''))).join(' ');
}

describeDifferential('ACL', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s));

  it('SETUSER accepts and refuses exactly what Redis does, with its error texts', async () => {
    await onBoth(servers, resetAcl);
    const commands: Arg[][] = RULE_SETS.map((rules, i) => ['ACL', 'SETUSER', `u${i}`, ...rules]);
    commands.push(['ACL', 'SETUSER', 'bad name'], ['ACL', 'SETUSER', 'x\0y'], ['ACL', 'SETUSER'], ['ACL', 'USERS'], ['ACL', 'LIST']);
    await sameSequence(servers, commands, normalizeUser);
  });

  it('GETUSER: flags, passwords, keys, channels and selectors as Redis gives them', async () => {
    await onBoth(servers, resetAcl);
    const commands: Arg[][] = [];
    RULE_SETS.forEach((rules, i) => commands.push(['ACL', 'SETUSER', `u${i}`, ...rules], ['ACL', 'GETUSER', `u${i}`]));
    commands.push(['ACL', 'GETUSER', 'nobody'], ['ACL', 'GETUSER', 'default']);
    // The "commands" fields are compared by what they allow (next test): drop them here.
    const dropCommands = (c: Arg[], reply: Reply): Reply => {
      if (reply.t !== 'array' || String(c[1]).toLowerCase() !== 'getuser') return reply;
      const strip = (items: Reply[]): Reply[] => items.map((x, i) => (i > 0 && text(items[i - 1]) === 'commands' ? { t: 'bulk', v: null } : x.t === 'array' ? { t: 'array', v: strip(x.v ?? []) } : x));
      return { t: 'array', v: strip(reply.v ?? []) };
    };
    await sameSequence(servers, commands, dropCommands);
  });

  it('every rule set allows and refuses the same commands (ACL DRYRUN), and its description means the same', async () => {
    await onBoth(servers, resetAcl);
    const r = rng(7);
    const sets = [...RULE_SETS, ...Array.from({ length: 120 }, () => randomRules(r))];
    const commands: Arg[][] = [];
    sets.forEach((rules, i) => {
      commands.push(['ACL', 'SETUSER', `g${i}`, ...rules]);
      for (const p of PROBES) commands.push(['ACL', 'DRYRUN', `g${i}`, ...p]);
    });
    await sameSequence(servers, commands);
    // Each server's own description (its ACL LIST line), applied to a fresh user, allows and
    // refuses exactly the same. (A pattern written %RW~* describes as ~*, which is allkeys when
    // read back: such descriptions fail to apply, on both servers alike.)
    const unreadable: string[][] = [];
    for (const port of [servers.keyfork.port, servers.redis.port]) {
      const c = await RawConnection.connect(port);
      const listed = await c.send('ACL', 'LIST');
      const lines = new Map((listed.t === 'array' ? listed.v ?? [] : []).map((l) => {
        const [, name, ...rules] = text(l).split(' ');
        return [name, rules] as const;
      }));
      const failed: string[] = [];
      for (let i = 0; i < sets.length; i++) {
        const rules = lines.get(`g${i}`);
        if (!rules) continue; // refused rule set
        const applied = text(await c.send('ACL', 'SETUSER', `d${i}`, 'reset', ...rules));
        if (applied !== 'OK') {
          failed.push(`g${i}: ${applied}`);
          continue;
        }
        for (const p of PROBES) {
          const [a, b] = [await c.send('ACL', 'DRYRUN', `g${i}`, ...p), await c.send('ACL', 'DRYRUN', `d${i}`, ...p)];
          expect(text(b), `port ${port}: rules ${sets[i].join(' ')} described as "${rules.join(' ')}", ${p.join(' ')}`).toBe(text(a));
        }
      }
      unreadable.push(failed);
      c.close();
    }
    expect(unreadable[0]).toEqual(unreadable[1]);
  });

  it('descriptions of simple rule sets are Redis\'s text', async () => {
    await onBoth(servers, resetAcl);
    const sets = [['on', '+@all', '~*'], ['on', '-@all', '+get', '+set'], ['on', '+@all', '-flushall', '-keys'], ['on', '+@read', '~foo'],
      ['on', '%R~a', '%W~b', '~c', '&x', '&y', '>pw'], ['on', '+@all', '-@dangerous'], ['on', '+config|get'], ['on', '+select|0'],
      ['on', '+@string', '+@hash', '+@list'], ['on', '(+get ~x) (+set ~y)'], ['off', 'nopass', 'skip-sanitize-payload']];
    const commands: Arg[][] = [];
    sets.forEach((rules, i) => commands.push(['ACL', 'SETUSER', `s${i}`, ...rules]));
    commands.push(['ACL', 'LIST']);
    await sameSequence(servers, commands, (c, reply) => (reply.t !== 'array' ? reply : { t: 'array', v: (reply.v ?? []).map((l) => ({ t: 'bulk', v: Buffer.from(sortSingleCommands(text(l))) })) }));
  });

  it('a restricted user gets the same NOPERM errors and ACL LOG entries as on Redis', async () => {
    await onBoth(servers, resetAcl);
    const r = rng(11);
    const sets = [...RULE_SETS.filter((s) => s.includes('on')), ...Array.from({ length: 40 }, () => ['on', 'nopass', ...randomRules(r)])];
    for (const [i, rules] of sets.entries()) {
      const setup: Arg[][] = [['ACL', 'SETUSER', `t${i}`, 'reset', ...rules, 'on', 'nopass'], ['ACL', 'LOG', 'RESET']];
      await sameSequence(servers, setup);
      const [k, rr] = await Promise.all([RawConnection.connect(servers.keyfork.port), RawConnection.connect(servers.redis.port)]);
      try {
        const commands: Arg[][] = [['AUTH', `t${i}`, 'x'], ...PROBES.filter((p) => !['blpop', 'flushall', 'debug', 'multi', 'auth', 'hello'].includes(p[0]))];
        commands.push(['MULTI'], ['GET', 'foo'], ['SET', 'bar', '1'], ['EXEC']);
        const mismatches = await compareOnConnections(k, rr, commands, {
          // Replies that describe the server itself differ; whether the user may run them must not.
          // KEYS and SCAN list keys in hash-table order, which is not part of the contract.
          normalize: (c, reply) => {
            const name = String(c[0]).toLowerCase();
            if (['client', 'info', 'config', 'command'].includes(name)) return { t: 'simple', v: reply.t === 'error' ? text(reply) : 'ok' };
            if (name === 'keys') return sortedArray(reply);
            if (name === 'scan' && reply.t === 'array' && reply.v?.length === 2) return { t: 'array', v: [reply.v[0], sortedArray(reply.v[1])] };
            return reply;
          },
        });
        expect(formatMismatches(mismatches), `rules: ${rules.join(' ')}`).toBe('');
      } finally {
        k.close();
        rr.close();
      }
      await sameSequence(servers, [['ACL', 'LOG']], normalizeUser);
    }
  });

  it('SORT refuses BY and GET patterns unless one selector both allows it and reads every key; scripts run as their caller', async () => {
    await onBoth(servers, resetAcl);
    await sameSequence(servers, [['RPUSH', 'sl', '3', '1', '2'], ['SET', 'w_1', '30'], ['SET', 'w_2', '20'], ['HSET', 'h_3', 'f', 'x']]);
    const ruleSets = [['~*'], ['allkeys'], ['%R~*'], ['%RW~*'], ['%W~*'], ['~s*'], ['%R~s*', '%W~*'], ['resetkeys', '(~* +@all)'], ['resetkeys', '(%R~* +@all)'],
      ['~*', '(~* -sort)'], ['resetkeys', '~sl', '~w_*', '(+sort ~*)'], ['resetkeys', '(~sl +sort)', '(+get ~*)'], ['-sort', '~*', '(+sort ~sl)'],
      ['-@all', '+sort', '+sort_ro', '+eval', '~sl']];
    const probes: Arg[][] = [['SORT', 'sl', 'BY', 'w_*'], ['SORT', 'sl', 'GET', '#'], ['SORT', 'sl', 'BY', 'nosort'], ['SORT', 'sl', 'BY', 'constant', 'GET', 'w_*'],
      ['SORT_RO', 'sl', 'BY', 'w_*', 'GET', '#', 'GET', 'h_*->f'], ['SORT', 'sl', 'LIMIT', 'x', '1', 'BY', 'w_*'], ['SORT', 'sl', 'BY', 'w_*', 'LIMIT', 'x', '1'],
      ['SORT', 'sl', 'ALPHA', 'GET', 'w_*', 'STORE', 'sl2'], ['SORT', 'sl', 'DESC'], ['SORT', 'nokey', 'BY', 'w_*'], ['SORT', 'sl', 'BY', 'w_*', 'BOGUS'],
      ['EVAL', "return redis.call('SORT', 'sl', 'BY', 'w_*', 'GET', '#')", '0'], ['EVAL', "return redis.pcall('SORT_RO', 'sl', 'GET', 'w_*')", '0']];
    for (const [i, rules] of ruleSets.entries()) {
      await sameSequence(servers, [['ACL', 'SETUSER', `s${i}`, 'reset', 'on', 'nopass', '+@all', ...rules]]);
      await sameSequence(servers, [['AUTH', `s${i}`, 'x'], ...probes]);
    }
    // A restricted default user: its scripts' calls run as it too.
    await sameSequence(servers, [['ACL', 'SETUSER', 'default', 'resetkeys', '~s*'], ...probes, ['ACL', 'SETUSER', 'default', '~*']]);
  });

  it('AUTH, HELLO AUTH, requirepass and NOAUTH as Redis', async () => {
    await onBoth(servers, resetAcl);
    await sameSequence(servers, [['ACL', 'SETUSER', 'alice', 'on', '>secret', '+@all', '~*'], ['ACL', 'SETUSER', 'off1', 'off', '>x', '+@all'],
      ['CONFIG', 'SET', 'requirepass', 'topsecret']]);
    try {
      const [k, r] = await Promise.all([RawConnection.connect(servers.keyfork.port), RawConnection.connect(servers.redis.port)]);
      const commands: Arg[][] = [['GET', 'x'], ['PING'], ['ACL', 'WHOAMI'], ['HELLO', '3'], ['HELLO', '2', 'AUTH', 'alice', 'wrong'],
        ['HELLO', '2', 'SETNAME', 'bad name', 'AUTH', 'alice', 'secret'], ['ACL', 'WHOAMI'], ['AUTH', 'wrong'], ['AUTH', 'a', 'b', 'c'],
        ['AUTH', 'off1', 'x'], ['AUTH', 'nobody', 'x'], ['AUTH', 'topsecret'], ['ACL', 'WHOAMI'], ['AUTH', 'alice', 'secret'],
        ['ACL', 'WHOAMI'], ['HELLO', '2', 'AUTH', 'default', 'topsecret', 'SETNAME', 'conn1'], ['CLIENT', 'GETNAME'], ['ACL', 'WHOAMI'],
        ['RESET'], ['ACL', 'WHOAMI'], ['GET', 'x'], ['AUTH', 'default', 'topsecret'], ['GET', 'x'], ['ACL', 'LOG']];
      try {
        const withoutIds = (c: Arg[], reply: Reply): Reply => {
          if (String(c[0]).toUpperCase() !== 'HELLO' || reply.t !== 'array') return normalizeUser(c, reply);
          return { t: 'array', v: (reply.v ?? []).map((x, i, all) => (i > 0 && text(all[i - 1]) === 'id' ? { t: 'int', v: 0 } : x)) };
        };
        expect(formatMismatches(await compareOnConnections(k, r, commands, { normalize: withoutIds }))).toBe('');
      } finally {
        k.close();
        r.close();
      }
    } finally {
      for (const port of [servers.keyfork.port, servers.redis.port]) {
        const c = await RawConnection.connect(port);
        await c.send('AUTH', 'topsecret');
        await c.send('CONFIG', 'SET', 'requirepass', '');
        c.close();
      }
    }
    await sameSequence(servers, [['AUTH', 'x'], ['CONFIG', 'GET', 'requirepass'], ['ACL', 'LIST']]);
  });

  it('a user changed or deleted under a connection: EXEC re-checks, DELUSER disconnects, pub/sub clients lose revoked channels', async () => {
    await onBoth(servers, resetAcl);
    const story = async (port: number) => {
      const admin = await RawConnection.connect(port);
      const user = await RawConnection.connect(port);
      const sub = await RawConnection.connect(port);
      const seen: string[] = [];
      const log = async (r: Promise<Reply> | Reply) => seen.push(formatReply(await r));
      await log(admin.send('ACL', 'SETUSER', 'mia', 'on', 'nopass', '~*', '&*', '+@all'));
      await log(user.send('AUTH', 'mia', 'x'));
      await log(user.send('MULTI'));
      await log(user.send('GET', 'k'));
      await log(user.send('SET', 'y', '1'));
      await log(user.send('PUBLISH', 'ch', 'm'));
      await log(user.send('SET', 'x', '1'));
      await log(admin.send('ACL', 'SETUSER', 'mia', '-get', 'resetkeys', '~x', 'resetchannels'));
      await log(user.send('EXEC'));
      await log(sub.send('AUTH', 'mia', 'x'));
      await log(admin.send('ACL', 'SETUSER', 'mia', '&news*'));
      await log(sub.send('SUBSCRIBE', 'news1'));
      await log(admin.send('ACL', 'SETUSER', 'mia', 'resetchannels', '&news1', '&other'));
      seen.push(`sub open: ${await sub.waitClose(300).then((closed) => !closed)}`);
      await log(admin.send('ACL', 'SETUSER', 'mia', 'resetchannels', '&other'));
      seen.push(`sub closed: ${await sub.waitClose(3000)}`);
      await log(admin.send('ACL', 'DELUSER', 'mia'));
      seen.push(`user closed: ${await user.waitClose(3000)}`);
      await log(admin.send('ACL', 'LOG'));
      admin.close();
      return seen.map((s) => s.replace(/age-seconds"\n[^\n]*\n/g, '').replace(/id=\d+ addr=\S+ laddr=\S+ fd=\d+ /g, '').replace(/age=\d+ idle=\d+ /g, '').replace(/qbuf=\d+ qbuf-free=\d+ argv-mem=\d+ multi-mem=\d+ rbs=\d+ rbp=\d+ obl=\d+ oll=\d+ omem=\d+ tot-mem=\d+ /g, ''));
    };
    const [k, r] = await onBoth(servers, story);
    expect(k.join('\n')).toBe(r.join('\n'));
  });

  it('CAT lists the categories, and each category\'s commands that keyfork has', async () => {
    const [kc, rc] = await onBoth(servers, async (port) => {
      const c = await RawConnection.connect(port);
      const cats = await c.send('ACL', 'CAT');
      const names = (cats.t === 'array' ? cats.v ?? [] : []).map(text);
      const per: Record<string, string[]> = {};
      for (const n of names) {
        const members = await c.send('ACL', 'CAT', n.toUpperCase());
        per[n] = (members.t === 'array' ? members.v ?? [] : []).map(text).sort();
      }
      // The commands and subcommands this server has: COMMAND INFO answers null for an absent one.
      const listed = [...new Set(Object.values(per).flat())];
      const info = await c.send('COMMAND', 'INFO', ...listed);
      const present = (info.t === 'array' ? info.v ?? [] : []).map((r, i) => (r.t === 'null' ? '' : listed[i]));
      c.close();
      return { names, per, commands: new Set(present.filter(Boolean)) };
    });
    expect(kc.names).toEqual(rc.names);
    for (const n of rc.names) {
      expect(kc.per[n], n).toEqual(rc.per[n].filter((c) => kc.commands.has(c)));
    }
    await sameSequence(servers, [['ACL', 'CAT', 'nosuch'], ['ACL', 'CAT', 'a', 'b']]);
  });

  it('acllog-max-len bounds the ACL LOG; acl-pubsub-default sets what new users may publish to', async () => {
    await onBoth(servers, resetAcl);
    const count = (c: Arg[], reply: Reply): Reply =>
      String(c[0]).toUpperCase() === 'ACL' && String(c[1]).toUpperCase() === 'LOG' && reply.t === 'array' ? { t: 'int', v: reply.v?.length ?? 0 } : reply;
    await sameSequence(servers, [
      ['CONFIG', 'SET', 'acllog-max-len', '2'], ['ACL', 'SETUSER', 'limited', 'on', 'nopass', '+get', '~a'],
      ['AUTH', 'limited', 'x'], ['GET', 'b'], ['GET', 'c'], ['SET', 'a', '1'], ['GET', 'd'], ['AUTH', 'default', 'x'],
      ['ACL', 'LOG'], ['CONFIG', 'SET', 'acllog-max-len', '0'], ['ACL', 'LOG'], ['CONFIG', 'SET', 'acllog-max-len', '128'],
    ], count);
    await sameSequence(servers, [
      ['ACL', 'SETUSER', 'before', 'on'], ['CONFIG', 'SET', 'acl-pubsub-default', 'allchannels'], ['ACL', 'SETUSER', 'after', 'on'],
      ['ACL', 'SETUSER', 'reset-after', 'reset'], ['ACL', 'LIST'], ['ACL', 'DRYRUN', 'after', 'publish', 'ch', 'm'],
      ['CONFIG', 'SET', 'acl-pubsub-default', 'resetchannels'], ['ACL', 'SETUSER', 'later', 'on'], ['ACL', 'LIST'],
    ]);
  });

  it('DELUSER, WHOAMI, GENPASS, LOG, DRYRUN and HELP edge cases', async () => {
    await onBoth(servers, resetAcl);
    await sameSequence(servers, [
      ['ACL', 'SETUSER', 'a1'], ['ACL', 'SETUSER', 'a2'], ['ACL', 'DELUSER', 'default'], ['ACL', 'DELUSER', 'a1', 'default'],
      ['ACL', 'DELUSER', 'a1', 'nobody', 'a2', 'a1'], ['ACL', 'USERS'], ['ACL', 'WHOAMI'], ['ACL', 'WHOAMI', 'x'],
      ['ACL', 'GENPASS', '0'], ['ACL', 'GENPASS', '4097'], ['ACL', 'GENPASS', 'x'], ['ACL', 'GENPASS', '1', '2'],
      ['ACL', 'LOG', 'x'], ['ACL', 'LOG', '-1'], ['ACL', 'LOG', '0'], ['ACL', 'LOG', 'reset'], ['ACL', 'LOG', '1', '2'],
      ['ACL', 'DRYRUN', 'nobody', 'get', 'x'], ['ACL', 'DRYRUN', 'default', 'nosuch'], ['ACL', 'DRYRUN', 'default', 'config', 'nosub'],
      ['ACL', 'DRYRUN', 'default', 'get'], ['ACL', 'DRYRUN', 'default', 'get', 'a', 'b'], ['ACL', 'DRYRUN', 'default', 'config'],
      ['ACL', 'DRYRUN', 'default'], ['ACL', 'NOSUCH'], ['ACL'], ['ACL', 'HELP'], ['ACL', 'LOAD'], ['ACL', 'SAVE'], ['ACL', 'LOAD', 'x'],
    ]);
    const [k, r] = await onBoth(servers, async (port) => {
      const c = await RawConnection.connect(port);
      const out = [await c.send('ACL', 'GENPASS'), await c.send('ACL', 'GENPASS', '5'), await c.send('ACL', 'GENPASS', '4096')].map(text);
      c.close();
      return out;
    });
    expect(k.map((p) => p.length)).toEqual(r.map((p) => p.length));
    for (const p of k) expect(p).toMatch(/^[0-9a-f]+$/);
  });
});

describeDifferential('ACL files and user directives', () => {
  const dir = fs.mkdtempSync('/tmp/keyfork-acl-');

  it('ACL SAVE writes, ACL LOAD reads back (all or nothing), with Redis\'s errors', async () => {
    for (const name of ['k.acl', 'r.acl']) fs.writeFileSync(path.join(dir, name), 'user alice on >pw ~a* +get\n');
    await withBothServers(async (servers) => {
      await sameSequence(servers, [['ACL', 'USERS'], ['ACL', 'SETUSER', 'bob', 'on', '+@all', '~*'], ['ACL', 'SAVE'], ['ACL', 'DELUSER', 'bob'],
        ['ACL', 'LOAD'], ['ACL', 'USERS']]);
      expect(fs.readFileSync(path.join(dir, 'k.acl'), 'utf8')).toBe(fs.readFileSync(path.join(dir, 'r.acl'), 'utf8'));
      const bad = 'user carol on +get\n\nuser carol off\nnotuser x\nuser bad\\x00 on\nuser dave bogus +nosuch\nuser erin (+get\n';
      for (const name of ['k.acl', 'r.acl']) fs.writeFileSync(path.join(dir, name), bad);
      const errorText = (c: Arg[], reply: Reply): Reply => (reply.t === 'error' ? { t: 'error', v: reply.v.replace(/\/\S+\/[kr]\.acl/g, 'FILE') } : reply);
      await sameSequence(servers, [['ACL', 'LOAD'], ['ACL', 'USERS']], errorText);
      for (const name of ['k.acl', 'r.acl']) fs.rmSync(path.join(dir, name));
      await sameSequence(servers, [['ACL', 'LOAD']], errorText);
    }, { keyfork: { args: ['--aclfile', path.join(dir, 'k.acl')] }, redis: { args: ['--aclfile', path.join(dir, 'r.acl')] } });
  });

  it('user lines in the configuration; both users and aclfile refuse to start', async () => {
    await withBothServers(async (servers) => {
      await sameSequence(servers, [['ACL', 'LIST'], ['AUTH', 'alice', 'pw'], ['GET', 'x'], ['GET', 'a1'], ['ACL', 'WHOAMI']], normalizeUser);
    }, {
      keyfork: { args: ['--user', 'alice', 'on', '>pw', '~a*', '+get', '--user', 'default', 'on', 'nopass', '+@all', '~*'] },
      redis: { args: ['--user', 'alice', 'on', '>pw', '~a*', '+get', '--user', 'default', 'on', 'nopass', '+@all', '~*'] },
    });
    const refused = async (args: string[]) => {
      const outputs: string[] = [];
      for (const start of [startKeyfork, startRedis]) {
        const s = await start({ args }).catch((err: Error) => err);
        if (!(s instanceof Error)) {
          await s.stop();
          outputs.push('started');
        } else {
          outputs.push(/ACL file path is invalid|Error in user declaration '[^']*': [^\n]*|Error loading ACL rule[^\n]*|Aborting Redis startup because of ACL errors[^\n]*/.exec(s.message)?.[0] ?? s.message);
        }
      }
      expect(outputs[0]).toBe(outputs[1]);
    };
    await refused(['--aclfile', path.join(dir, 'none.acl'), '--user', 'x', 'on']);
    await refused(['--user', 'x', 'on', 'bogus']);
    await refused(['--user', 'x', 'on', '>x', 'bogus']);
    await refused(['--user', 'x', 'on', '+config|get|x']);
    await refused(['--user', 'x', 'on', '+nosuchcommand']);
    await refused(['--aclfile', path.join(dir, 'none.acl')]);
  });
});

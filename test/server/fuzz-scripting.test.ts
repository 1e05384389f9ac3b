// Seeded differential fuzzing of scripting against redis-server 7.0: generated Lua over
// redis.call/redis.pcall (replies converted to Lua and back: integers, floats with fractions,
// booleans, nil, nested tables, status/error tables, and under redis.setresp(3) doubles, maps,
// sets, big numbers), redis.error_reply/status_reply, errors raised inside scripts (the exact
// strings, with their "@user_script" line), EVAL/EVALSHA/EVAL_RO/EVALSHA_RO with shebang flags,
// SCRIPT LOAD/EXISTS/FLUSH, and small function libraries (FUNCTION LOAD [REPLACE]/DELETE/LIST/
// STATS/FLUSH, FCALL/FCALL_RO); the keys scripts touch are compared at the end.
//
// Kept out, being Redis's own nondeterminism: commands whose reply is a time or random (TIME,
// RANDOMKEY, SPOP, SRANDMEMBER), tostring() of tables and functions (addresses), pairs() over
// tables keyed by tables, sets of strings (a hashtable: SMEMBERS order is the dict's),
// FUNCTION DUMP of several libraries (dict order). FUNCTION LIST lists libraries and their
// functions in dict order: compared as multisets.
import { createHash } from 'node:crypto';
import { buildProgram, describeFuzz, int, normalizeInfo, type Rand, type WeightedStep } from '../helpers/fuzz';
import { replyKey } from '../helpers/diff';
import { type Arg, type Reply } from '../helpers/resp';
import { pick, rng } from '../helpers/random';

const FILE = 'test/server/fuzz-scripting.test.ts';
const KEYS = ['k1', 'k2', 'k3', 'h', 'z', 'l', 's'];
const STEPS = 150;

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/** A Lua literal or small expression, nested up to `depth`. */
function value(r: Rand, depth: number): string {
  const kind = int(r, 0, depth > 0 ? 14 : 8);
  switch (kind) {
    case 0: return String(pick(r, [0, 1, -1, 7, 42, -300, 2147483648, 9007199254740993, -9223372036854775808]));
    case 1: return pick(r, ['1.5', '-2.25', '3.0', '0.1', '1e20', '-1e-7', '2^53', '2^63', '(1/3)', '-0.0', '123.999']);
    case 2: return pick(r, ["'abc'", "''", "'1'", "'-5'", "'1.5'", "'a\\0b'", "'\\r\\nx'", "ARGV[1]", "ARGV[2]", 'KEYS[1]']);
    case 3: return pick(r, ['true', 'false']);
    case 4: return 'nil';
    case 5: return pick(r, ["{ok='FINE'}", "{ok='a\\r\\nb'}", "{err='ERR bad thing'}", "{err='MYCODE custom'}", "{err='no code'}", "{err=''}", "{ok=5}", "{err=7}"]);
    case 6: return pick(r, ["redis.error_reply('E1 oops')", "redis.error_reply('-E2 dash')", "redis.status_reply('OK2')", "redis.error_reply('')", "redis.status_reply('')"]);
    case 7: return pick(r, ['{double=1.5}', '{double=-0.1}', '{double=3}', '{double=1/0}', '{double=0/0}', "{double='2.5'}", "{big_number='12345678901234567890'}", "{big_number='-7'}", "{big_number=5}"]);
    case 8: return pick(r, ["{map={a=1}}", "{map={x='y', n=2}}", "{set={a=true}}", "{set={[1]=true, [2]=true}}", '{map={}}', '{set={}}', "{verbatim_string={format='txt', string='hi'}}"]);
    case 9: case 10: {
      const n = int(r, 0, 4);
      return `{${Array.from({ length: n }, () => value(r, depth - 1)).join(', ')}}`;
    }
    case 11: return call(r, depth - 1);
    case 12: return pick(r, [
      `tostring(${scalar(r)})`, `tonumber(${scalar(r)})`, `type(${value(r, 0)})`, `#${pick(r, ["'abc'", '{1,2,3}', 'ARGV'])}`,
      `(${num(r)} ${pick(r, ['+', '-', '*', '/', '%', '^'])} ${num(r)})`, `math.floor(${num(r)})`, `string.format('%.3f', ${num(r)})`,
      `string.rep('ab', ${int(r, 0, 3)})`, `redis.sha1hex(${value(r, 0)})`, `cjson.encode(${value(r, 1)})`,
      `cjson.decode('${pick(r, ['[1,2,3]', '{"a":1}', '1.5', '"s"', '[true,null]', '[1e400]', 'bad'])}')`,
      `cmsgpack.unpack(cmsgpack.pack(${value(r, 1)}))`, `bit.band(${num(r)}, 255)`, `bit.tohex(${num(r)})`,
      `struct.pack('>i', ${num(r)})`, `(${value(r, 0)} == ${value(r, 0)})`, `redis.setresp(${pick(r, ['2', '3', '4', "'x'"])})`,
    ]);
    case 13: return `{${int(r, 1, 3)}, nil, ${value(r, 0)}}`;
    default: return `redis.pcall(${command(r)})`;
  }
}

/** A value that is not a table (tostring of a table prints its address). */
function scalar(r: Rand): string {
  return pick(r, [num(r), "'abc'", "''", "'12'", "' 7 '", "'0x10'", "'1e3'", 'true', 'nil', 'ARGV[1]']);
}

function num(r: Rand): string {
  return pick(r, ['0', '1', '-3', '7.5', '2^31', '1e300', '-1e300', '0.1', 'tonumber(ARGV[1]) or 0', '(0/0)', '(1/0)']);
}

/** A command and its arguments as Lua, on the script's keys. */
function command(r: Rand): string {
  const k = pick(r, ['KEYS[1]', 'KEYS[2]', 'KEYS[1]', "'k3'"]);
  const v = () => value(r, 0);
  const shape = pick(r, [
    () => `'set', ${k}, ${v()}`, () => `'get', ${k}`, () => `'incr', ${k}`, () => `'incrbyfloat', ${k}, ${num(r)}`,
    () => `'del', ${k}`, () => `'exists', ${k}, 'h'`, () => `'type', ${k}`, () => `'append', ${k}, ${v()}`,
    () => `'hset', 'h', ${v()}, ${v()}`, () => "'hgetall', 'h'", () => `'hincrbyfloat', 'h', 'f', ${num(r)}`, () => "'hget', 'h', 'f'",
    () => `'zadd', 'z', ${num(r)}, ${v()}`, () => "'zrange', 'z', 0, -1, 'withscores'", () => `'zscore', 'z', ${v()}`, () => `'zincrby', 'z', ${num(r)}, 'm'`,
    () => `'rpush', 'l', ${v()}, ${v()}`, () => "'lrange', 'l', 0, -1", () => "'lpop', 'l'", () => `'sadd', 's', ${int(r, 0, 9)}, ${int(r, -5, 5)}`,
    () => "'smembers', 's'", () => "'sismember', 's', 3", () => `'expire', ${k}, 100`, () => `'ttl', ${k}`, () => `'object', 'encoding', ${k}`,
    () => `'echo', ${v()}`, () => "'ping'", () => "'dbsize'", () => `'mget', ${k}, 'k2', 'nokey'`, () => "'hello', '3'",
    () => "'nosuchcmd'", () => "'get'", () => `'set', ${k}`, () => `'eval', 'return 1', 0`, () => "'debug', 'sleep', 0",
    () => `'GET', ${k}`, () => `'xadd', 'x', '1-1', 'f', ${v()}`, () => "'config', 'get', 'maxmemory'", () => "'multi'",
    () => `'select', ${pick(r, ['1', '0', '16', "'x'"])}`, () => `'swapdb', 0, 1`, () => `'move', ${k}, 1`, () => `'set', ${k}, {}`, () => `'lpush', ${k}, true`, () => "'function', 'list'", () => `'getrange', ${k}, 0, ${num(r)}`,
  ]);
  return shape();
}

function call(r: Rand, _depth: number): string {
  return `redis.${pick(r, ['call', 'pcall', 'pcall'])}(${command(r)})`;
}

/** A statement run before the script's return. */
function statement(r: Rand): string {
  return pick(r, [
    () => `redis.call(${command(r)})`,
    () => `redis.pcall(${command(r)})`,
    () => `local ok, e = pcall(redis.call, ${command(r)})`,
    () => `local ok, e = pcall(redis.call, ${command(r)}); if not ok then return e end`,
    () => `redis.setresp(${pick(r, ['2', '3', '3'])})`,
    () => `local t = ${value(r, 2)}`,
    () => `if ${pick(r, ['ARGV[1] == \'v\'', 'redis.call(\'exists\', \'k1\') == 1', '#KEYS > 1', 'not ARGV[1]'])} then return ${value(r, 1)} end`,
    () => pick(r, [
      "error('boom')", "error({err='ECODE from table'})", "error(redis.error_reply('X via error_reply'))", "error()", 'error(5)',
      "error('lvl2', 2)", 'assert(false)', "assert(nil, 'assertion text')", 'newglobal = 1', 'return undefinedglobal',
      "redis.call('set')", "local x = nil; x.y = 1", "local s = 'a' .. {}", 'return #nil', "redis.log(redis.LOG_DEBUG, 'x')",
      'return redis.REDIS_VERSION_NUM > 0', "redis.setresp()", "return redis.sha1hex()", "return cjson.decode('{')",
      "return loadstring('return 1')", 'return string.sub(ARGV[1], 2)', "return redis.breakpoint()", "redis.set_repl(redis.REPL_ALL)",
      "return redis.replicate_commands()", 'return math.random(1, 100)', "return os.clock ~= nil",
    ]),
  ])();
}

/** Whole scripts for what generated ones rarely reach: syntax errors, errors on later lines, deep values. */
const SPECIAL_SCRIPTS = [
  'return 1 +', 'local = 3', 'end', 'return "unterminated', 'return {1, 2', "return 1\nreturn 2", 'x(', 'return ...',
  "local a = 1\nlocal b = 2\nerror('third line')", "redis.call('set', KEYS[1], 'w')\nerror('after a write')",
  "redis.call('set', KEYS[1], 'w')\nreturn redis.call('nosuch')", "local t = {}\nfor i = 1, 100 do t[i] = i * 1.5 end\nreturn t",
  "return {{{{{1, 'deep'}}}}}", "return string.rep('x', 1000)", "return {string.rep('ab', 600), 7}",
  'local function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end\nreturn f(150)',
  "redis.setresp(3)\nreturn redis.call('hgetall', 'h')", "redis.setresp(3)\nreturn redis.call('zrange', 'z', 0, -1, 'withscores')",
  "redis.setresp(3)\nreturn redis.call('smembers', 's')", "redis.setresp(3)\nlocal r = redis.call('zscore', 'z', 'm')\nreturn {type(r), r and r.double}",
  "redis.setresp(3)\nlocal m = redis.call('hgetall', 'h')\nreturn m.map and m.map.f", "return redis.pcall('incr', 'h')",
  "return {redis.pcall('incr', 'h'), 'after'}", "local e = redis.pcall('nosuch')\nreturn e.err", "return cjson.encode({1, 2, nil, 4})",
  "return cjson.encode({[1]=1, [10]=2})", "return cjson.decode('[1, 12345678901234567890, -0, 1e-5]')", "return cjson.encode(cjson.decode('{\"a\":[1,{\"b\":null}]}'))",
  "return {struct.unpack('>iH', struct.pack('>iH', -5, 7))}", "return bit.lshift(1, 40)", "return {bit.bxor(5, 3), bit.bnot(0), bit.arshift(-256, 4)}",
  "return cmsgpack.pack({1, 'a', {b=2}})", "return {cmsgpack.unpack(cmsgpack.pack(1.5, -1, 2^40, 'x'))}",
  "return redis.pcall('set', KEYS[1], 'x', 'ex', 0)", "return redis.pcall('lpush', KEYS[1], 'x')", "return redis.pcall('get')",
  "return redis.call('set', KEYS[1], ARGV[1])", "redis.pcall('set', KEYS[1], 'x'); return redis.pcall('hset', KEYS[1], 'a', 'b')",
  "local t = setmetatable({}, {__index = function() return 1 end})\nreturn t.x", "return rawget(_G, 'redis') ~= nil",
  "return pcall(error, {err='inner'})", "return select('#', pcall(error))", "return {pcall(redis.call, 'incr', 'h')}",
  "return table.concat({1, 2, 'x'}, ',')", "return string.format('%5.1f|%-3d|%s|%q', 1.25, 7, 'a', 'b\\n')", "return tostring(1e15)",
  "return tostring(2^53) .. ' ' .. tostring(0.1) .. ' ' .. (10 / 3)", "return math.huge", "return -math.huge",
  "return {math.floor(-0.5), math.fmod(7, 3), math.max(1, 5, 3)}", "return unpack({1, 2, 3})", "return next({})",
  "KEYS[1] = 'changed'\nreturn KEYS", "return redis.setresp", "redis.pcall = nil\nreturn 1", "redis = nil", "_G.x = 1",
  "return #ARGV .. ':' .. #KEYS", "local t = {}\nt[0/0] = 1", "return {ok=true}", "return {err={}}",
];

/** A script: a few statements, then a return. */
function script(r: Rand): string {
  if (r() < 0.15) return pick(r, SPECIAL_SCRIPTS);
  const lines = Array.from({ length: int(r, 0, 3) }, () => statement(r));
  lines.push(`return ${value(r, 2)}`);
  const sep = r() < 0.7 ? '\n' : '; ';
  const shebang = r() < 0.15 ? `#!lua${pick(r, ['', ' flags=no-writes', ' flags=allow-oom,no-writes', ' flags=bad-flag', ' name=x', ' flags=allow-stale'])}\n` : '';
  return shebang + lines.join(sep);
}

/** A library of one to three functions; `name` may clash with an earlier library. */
function library(r: Rand, name: string, fnNames: string[]): string {
  const header = r() < 0.05 ? pick(r, ['#!lua', '#!js name=x', '#!lua name=', `#!lua name=${name} extra=1`]) : `#!lua name=${name}`;
  const body = fnNames.map((f) => {
    const code = `function(keys, args) local KEYS, ARGV = keys, args\n${Array.from({ length: int(r, 0, 2) }, () => statement(r)).join('\n')}\nreturn ${value(r, 2)} end`;
    if (r() < 0.5) return `redis.register_function('${f}', ${code})`;
    const flags = r() < 0.03 ? ", flags={'nosuch'}" : pick(r, ['', ", flags={'no-writes'}", ", flags={}", ", flags={'allow-oom', 'no-writes'}", ", flags={'allow-stale'}"]);
    return `redis.register_function{function_name='${f}', callback=${code}${flags}}`;
  });
  if (r() < 0.05) body.push(pick(r, ["redis.call('set', 'k1', 1)", "redis.register_function('bad name', function() end)", 'error("load fails")', 'x = 5']));
  return `${header}\n${body.join('\n')}`;
}

function program(seed: number) {
  const r = rng(seed);
  const scripts: string[] = [];
  const newScript = () => {
    const s = r() < 0.3 && scripts.length > 0 ? pick(r, scripts) : script(r);
    if (!scripts.includes(s)) scripts.push(s);
    return s;
  };
  const keyArgs = (): Arg[] => {
    const n = pick(r, [0, 1, 1, 2, 2]);
    const args = Array.from({ length: int(r, 0, 2) }, () => pick(r, ['5', '1.5', 'v', '', '-2', 'abc']));
    if (r() < 0.05) return [pick(r, ['-1', '3', 'x', '9999999999'])];
    return [String(n), ...Array.from({ length: n }, () => pick(r, ['k1', 'k2', 'k3'])), ...args];
  };
  const LIBS = ['lib1', 'lib2', 'lib3'];
  // Each library's own names, and one that several libraries claim (the clash errors).
  const libFunctions = (lib: string) => [`${lib}a`, `${lib}b`, `${lib}c`];
  const FUNCTIONS = [...LIBS.flatMap(libFunctions), 'shared'];
  const generators: WeightedStep[] = [
    [12, () => ['EVAL', newScript(), ...keyArgs()]],
    [3, () => ['EVAL_RO', newScript(), ...keyArgs()]],
    [4, () => [pick(r, ['EVALSHA', 'EVALSHA', 'EVALSHA_RO']), scripts.length > 0 && r() < 0.85 ? sha1(pick(r, scripts)) : pick(r, ['0'.repeat(40), 'abc', 'ffffffffffffffffffffffffffffffffffffffff']), ...keyArgs()]],
    [3, () => ['SCRIPT', 'LOAD', newScript()]],
    [2, () => ['SCRIPT', 'EXISTS', ...Array.from({ length: int(r, 1, 3) }, () => (scripts.length > 0 && r() < 0.7 ? sha1(pick(r, scripts)) : 'abc'))]],
    [1, () => (r() < 0.7 ? ['SCRIPT', 'FLUSH', ...(r() < 0.5 ? [pick(r, ['ASYNC', 'SYNC', 'async', 'BAD'])] : [])] : pick(r, [['SCRIPT'], ['SCRIPT', 'NOPE'], ['SCRIPT', 'EXISTS']]))],
    [4, () => {
      const lib = pick(r, LIBS);
      const fns = libFunctions(lib).filter(() => r() < 0.6);
      if (fns.length === 0 || r() < 0.15) fns.push(r() < 0.8 ? 'shared' : pick(r, FUNCTIONS));
      return ['FUNCTION', 'LOAD', ...(r() < 0.5 ? ['REPLACE'] : []), library(r, lib, fns)];
    }],
    [8, () => [pick(r, ['FCALL', 'FCALL', 'FCALL_RO']), pick(r, [...FUNCTIONS, 'nofn']), ...keyArgs()]],
    [1, () => ['FUNCTION', 'DELETE', pick(r, [...LIBS, 'nolib'])]],
    [2, () => ['FUNCTION', 'LIST', ...(r() < 0.3 ? ['LIBRARYNAME', pick(r, ['lib*', 'lib1', 'x'])] : []), ...(r() < 0.4 ? ['WITHCODE'] : [])]],
    [1, () => ['FUNCTION', 'STATS']],
    [1, () => (r() < 0.3 ? ['FUNCTION', 'FLUSH', ...(r() < 0.5 ? [pick(r, ['ASYNC', 'SYNC'])] : [])] : pick(r, [['FUNCTION', 'NOPE'], ['FUNCTION', 'LOAD'], ['FCALL'], ['EVAL'], ['EVAL', 'return 1']]))],
    [2, () => pick(r, [['GET', 'k1'], ['HGETALL', 'h'], ['LRANGE', 'l', '0', '-1'], ['ZRANGE', 'z', '0', '-1', 'WITHSCORES'], ['SET', 'k2', pick(r, ['5', '1.5', 'x'])], ['DEL', 'k1', 'k2']])],
  ];
  const setup: Arg[][] = [['FUNCTION', 'FLUSH'], ['SCRIPT', 'FLUSH']];
  return buildProgram(r, { setup, count: STEPS, generators, keys: KEYS, resp3: seed % 3 === 0 });
}

/** FUNCTION LIST: libraries and each library's functions come in dict order; sorted on both sides. */
function sortEntries(reply: Reply): Reply {
  const aggregate = (x: Reply) => x.t === 'array' || x.t === 'map';
  switch (reply.t) {
    case 'array': {
      if (!reply.v) return reply;
      const inner = reply.v.map(sortEntries);
      const entries = inner.length > 0 && inner.every(aggregate);
      return { t: 'array', v: entries ? inner.sort((a, b) => (replyKey(a) < replyKey(b) ? -1 : replyKey(a) > replyKey(b) ? 1 : 0)) : inner };
    }
    case 'map': return { t: 'map', v: reply.v.map(([k, v]) => [k, sortEntries(v)]) };
    default: return reply;
  }
}

/**
 * A library whose functions clash with several existing ones: Redis names the first clash it
 * meets walking the new library's function dict, whose order is its per-process hash seed's.
 */
function clashName(reply: Reply): Reply {
  if (reply.t !== 'error' || !/^ERR Function \S+ already exists$/.test(reply.v)) return reply;
  return { t: 'error', v: 'ERR Function <one of the library\'s> already exists' };
}

function normalize(command: Arg[], reply: Reply): Reply {
  const name = command.map((a) => a.toString().toLowerCase());
  if (name[0] === 'function' && name[1] === 'list') return sortEntries(reply);
  if (name[0] === 'function' && name[1] === 'load') return clashName(reply);
  return normalizeInfo(command, reply);
}

describeFuzz('scripting', FILE, [1, 2, 3, 4, 5, 6], program, { normalize });

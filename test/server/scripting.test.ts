// EVAL and its Lua environment, differentially against the real redis-server 7.0: the same
// scripts on both, every reply compared byte for byte (wire types included). The corpus covers
// number and table conversions both ways, errors and pcall, the sandbox (read-only globals,
// missing globals, no bytecode), Redis's libraries (cjson, cmsgpack, struct, bit), RESP3,
// shebang flags and the SCRIPT commands.
import { expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches, type BothServers, useBothServers } from '../helpers/diff';
import { type Arg, type Reply } from '../helpers/resp';

let servers: BothServers;

const evals = (scripts: string[]): Arg[][] => scripts.map((s) => ['EVAL', s, '0']);

describeDifferential('EVAL and the Lua environment vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s));

  const check = async (commands: Arg[][], opts: { resp3?: boolean; normalize?: (c: Arg[], r: Reply) => Reply } = {}) => {
    const mismatches = await compareSequences([['FLUSHALL'], ...commands], { servers, ...opts });
    expect(formatMismatches(mismatches)).toBe('');
  };

  it('converts Lua values to replies', async () => {
    await check(evals([
      'return 1', 'return -1', 'return 3.99', 'return -3.99', 'return 0.5', 'return 1e100', 'return -1e100', 'return 2^53',
      'return 1/0', 'return -1/0', 'return 0/0', 'return "hello"', 'return ""', 'return "a\\0b"', 'return true', 'return false',
      'return nil', 'return {}', 'return {1,2,3}', 'return {1,2,{3,"x"},nil,5}', 'return {1,2,false,4}', 'return {true,false}',
      'return {a=1}', 'return {1,2,a=3}', 'return {ok="fine"}', 'return {ok="a\\r\\nb"}', 'return {err="bad thing"}',
      'return {err="-bad thing"}', 'return {err=""}', 'return {err="x", ok="y"}', 'return {ok=5}', 'return {double=1.5}',
      'return {double="1.5"}', 'return {double=1/0}', 'return {big_number="1\\r\\n2"}', 'return {big_number="12345678901234567890"}', 'return {big_number=5}',
      'return {verbatim_string={format="txt", string="hi"}}', 'return {verbatim_string={format="markdown", string="hi"}}',
      'return {map={a=1}}', 'return {set={a=true}}', 'return {map={}}', 'return {set={}}', 'return function() end',
      'return redis.status_reply("OK")', 'return redis.status_reply("x\\ny")', 'return redis.error_reply("x")',
      'return redis.error_reply("-x y")', 'return redis.error_reply("MY error")', 'return redis.error_reply(5)',
      'return redis.error_reply()', 'return redis.status_reply()', 'return {redis.status_reply("a"), redis.error_reply("b")}',
      'return {{{{{{1}}}}}}', 'return tostring(10/2)', 'return tostring(1e15)', 'return tostring(0.1)', 'return tostring(-0)',
      'return 10/3 .. ""', 'return tonumber("0x10")', 'return tonumber("  12  ")', 'return 7 % 3',
      'return #KEYS', 'return #ARGV', 'return _VERSION', 'return type(unpack)', 'return {unpack({1,2,3})}',
      'return {unpack({1,2,3}, 2)}', 'return select("#", unpack({1,2,3}, 1, 5))', 'return math.huge', 'return -math.huge',
      'return string.format("%5.2f|%d|%s|%q", 3.14159, 42, "x", "a\\nb")', 'return string.rep("ab", 3)',
      'return ("x"):upper()', 'return string.byte("A")', 'return table.concat({1,2,3}, ",")', 'return string.find("hello", "l")',
      'return {string.find("hello", "l")}', 'return string.gsub("hello world", "o", "0")', 'return #string.rep("a", 1000)',
    ]));
  });

  it('converts replies to Lua values (RESP2 and RESP3)', async () => {
    await check([
      ['SET', 's', 'v'], ['RPUSH', 'l', 'a', 'b'], ['HSET', 'h', 'f', 'v', 'g', 'w'], ['SADD', 'st', 'x'], ['ZADD', 'z', '1.5', 'm'],
      ...evals([
        'return redis.call("get", "s")', 'return redis.call("get", "nokey")', 'return type(redis.call("get", "nokey"))',
        'return redis.call("incr", "n")', 'return type(redis.call("incr", "n"))', 'return redis.call("lrange", "l", 0, -1)',
        'return redis.call("set", "x", "y")', 'return type(redis.call("set", "x", "y"))', 'return redis.call("set", "x", "y").ok',
        'return redis.call("hgetall", "h")', 'return redis.call("zscore", "z", "m")', 'return redis.call("smembers", "st")',
        'return redis.call("blpop", "nol", 0)', 'return redis.call("lpop", "nol")', 'return redis.call("exists", "s", "l")',
        'redis.setresp(3) return redis.call("hgetall", "h")', 'redis.setresp(3) return redis.call("zscore", "z", "m")',
        'redis.setresp(3) local r = redis.call("zscore", "z", "m") return r.double', 'redis.setresp(3) return redis.call("get", "nokey")',
        'redis.setresp(3) return type(redis.call("get", "nokey"))', 'redis.setresp(3) return redis.call("smembers", "st")',
        'redis.setresp(3) local r = redis.call("hgetall", "h") return {r.map.f, r.map.g}',
        'redis.setresp(3) local r = redis.call("smembers", "st") return r.set.x', 'redis.setresp(3) return true',
        'redis.setresp(3) return false', 'redis.setresp(3) return {true, false, nil}', 'redis.setresp(2) return true',
        'redis.setresp(3) return redis.call("set", "x", "y")', 'redis.setresp(3) return redis.call("lpop", "nol")',
        'redis.setresp(4)', 'redis.setresp()', 'redis.setresp("3") return redis.call("hgetall", "h")',
        'return redis.call("set", "num", 1.5)', 'return redis.call("get", "num")', 'redis.call("set", "num", 0.1) return redis.call("get", "num")',
        'redis.call("set", "num", 1e20) return redis.call("get", "num")', 'redis.call("set", "num", -0) return redis.call("get", "num")',
        'redis.call("set", "num", 2^63) return redis.call("get", "num")', 'redis.call("set", "num", 1/0) return redis.call("get", "num")',
        'redis.call("set", "num", 123456789012345678) return redis.call("get", "num")',
        'return redis.call("set", "k", true)', 'return redis.call("set", "k", {})', 'return redis.call("set", "k", nil)',
        'return redis.call()', 'return redis.pcall()', 'return redis.call("GET", "s")', 'return redis.call("gEt", "s")',
        'return redis.call("config", "get", "maxmemory")', 'return redis.call("config")', 'return redis.call("config", "nosuch")',
        'return redis.call("object", "encoding", "s")', 'return redis.call("echo", "hi")', 'return redis.call("ping", "x")',
        'return redis.call("type", "h")', 'return redis.call("dbsize")', 'return #redis.call("keys", "*")',
      ]),
    ]);
    await check(evals([
      'return {1, {2, redis.call("ping")}}', 'return redis.call("hgetall", "nokey")', 'return redis.call("lrange", "nokey", 0, -1)',
      'redis.setresp(3) return redis.call("hgetall", "nokey")', 'return {double=0.1}', 'return {double=-0}',
      'redis.setresp(3) return {map={x=1}}', 'return {set={x=true, y=true}}',
      'return {verbatim_string={format="txt"}}',
    ]), { resp3: true });
  });

  it('raises and catches errors as Redis words them', async () => {
    await check([
      ['SET', 'str', 'abc'], ['HSET', 'h', 'f', 'v'],
      ...evals([
        'error("boom")', 'error("boom", 0)', 'error("boom", 2)', 'error(nil)', 'error(123)', 'error(true)', 'error({err="My Error"})',
        'error({err="-CODE msg"})', 'error({err="with\\nnewline"})', 'return redis.call("nosuch")', 'return redis.call("get")',
        'return redis.call("incr", "str")', 'return redis.call("get", "h")', 'return redis.pcall("incr", "str")',
        'return redis.pcall("nosuch")', 'return redis.pcall("get", "h")', 'return {pcall(redis.call, "nosuch")}',
        'return {pcall(redis.call, "incr", "str")}', 'local ok, e = pcall(redis.call, "incr", "str") return e',
        'local ok, e = pcall(error, {err="x"}) return type(e)', 'local ok, e = pcall(error, {err=5}) return type(e)',
        'local ok, e = pcall(error, "x") return e', 'local ok, e = pcall(error) return {ok, e}', 'return {pcall()}',
        'return {xpcall(function() error("x") end, function(m) return "handled: " .. m end)}',
        'local t = nil; return t.x', 'return 1 + {}', 'return "a" .. nil', 'return #nil', 'return nosuchfunction()',
        'local x = {} x.y.z = 1', 'return redis.call("eval", "return 1", "0")', 'return redis.call("multi")',
        'return redis.call("subscribe", "c")', 'return redis.call("script", "load", "return 1")',
        'return redis.call("function", "list")', 'return redis.call("watch", "x")', 'return redis.call("client", "id")',
        'return redis.call("debug", "sleep", "0")', 'return redis.call("shutdown")', 'return redis.call("bgsave")',
        'return redis.call("brpop", "l", 1)', 'return redis.pcall("brpop", "l", 1)', 'return redis.call("auth", "x")',
        'return redis.call("select", 1)', 'return redis.sha1hex()', 'return redis.sha1hex("a", "b")',
        'return redis.log()', 'return redis.log(1)', 'return redis.log("x", "y")', 'return redis.log(99, "x")',
        'return redis.log(redis.LOG_WARNING, "from a script")', 'return redis.set_repl()', 'return redis.set_repl(99)',
        'return redis.set_repl(redis.REPL_ALL)', 'return redis.replicate_commands()', 'return redis.breakpoint()',
        'return redis.debug("x")', 'return redis.acl_check_cmd("get", "x")', 'return redis.acl_check_cmd("nosuch")',
        'return redis.acl_check_cmd()', 'return redis.acl_check_cmd({})', 'return redis.REDIS_VERSION', 'return redis.REDIS_VERSION_NUM',
        'return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}',
        'return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}',
        'return redis.error_reply("ERR x")', 'return redis.pcall("set")', 'return {redis.pcall("set")}',
        'return 1 + +', 'return', 'retur 1', 'return "unterminated', 'for i=1 do end', 'x = ', '\n\nerror("line three")',
        'local function f() error("deep") end local function g() f() end g()',
        'local function f() return redis.call("nosuch") end f()',
      ]),
    ]);
  });

  it('keeps the sandbox: read-only globals, missing globals, no bytecode', async () => {
    await check(evals([
      'a = 1', 'redis.x = 1', 'string.x = 1', 'local s = string; s.format = nil', 'rawset(redis, "x", 1) return 1',
      'rawset(_G, "x", 1) return 1', 'setmetatable(_G, nil) return 1', 'return rawget(_G, "x")', 'return type(_G)',
      'return type(rawget(_G, "redis"))', 'return rawget(redis, "call") ~= nil', 'return rawequal(_G, _G)',
      'local t = getmetatable(""); t.x = 1 return 1', 'return getmetatable("").__index == string', 'return tostring(getmetatable(string))',
      'return tostring(getmetatable(KEYS))', 'KEYS[1] = "a" return KEYS[1]', 'KEYS = {}', 'table.insert(string, "x")',
      'table.insert(KEYS, "x") return #KEYS', 'return table.remove(string)', 'return {table.remove({1,2,3})}',
      'local n=0 for k in pairs(string) do n=n+1 end return n', 'local n=0 for k in pairs(redis) do n=n+1 end return n',
      'local n=0 for k in pairs(cjson) do n=n+1 end return n', 'local n=0 for k,v in pairs(_G) do n=n+1 end return n',
      'local t = {} for k in pairs(math) do table.insert(t, k) end table.sort(t) return t',
      'local t = {} for k in pairs(table) do table.insert(t, k) end table.sort(t) return t',
      'local t = {} for k in pairs(string) do table.insert(t, k) end table.sort(t) return t',
      'local t = {} for k in pairs(coroutine) do table.insert(t, k) end table.sort(t) return t',
      'local t = {} for k in pairs(bit) do table.insert(t, k) end table.sort(t) return t',
      'local t = {} for k in pairs(struct) do table.insert(t, k) end table.sort(t) return t',
      'local t = {} for k in pairs(cmsgpack) do table.insert(t, k) end table.sort(t) return t',
      'local t = {} for k, v in pairs(_G) do table.insert(t, k .. ":" .. type(v)) end table.sort(t) return t',
      'return next(string) ~= nil', 'return type(next({}))', 'local k, v = next({5}) return {k, v}',
      'return type(os)', 'return type(io)', 'return type(print)', 'return type(require)', 'return type(dofile)',
      'return type(loadfile)', 'return type(getfenv)', 'return type(setfenv)', 'return type(newproxy)', 'return type(debug)',
      'return type(module)', 'return type(package)', 'return type(gcinfo)', 'return type(collectgarbage)',
      'return loadstring("return 1")()', 'local f = loadstring("return ...") return f(7)',
      'local a, b = loadstring("\\27Lua") return b', 'local a, b = loadstring(string.dump(function() return 1 end)) return b',
      'local i = 0 local a, b = load(function() i = i + 1 if i == 1 then return "\\27Lua" end return nil end) return b',
      'local a, b = loadstring("x=") return b', 'local a, b = loadstring("x=", "chunky") return b', 'return loadstring()',
      'local f = loadstring("y = 1") return {pcall(f)}', 'local i = 0 local f = load(function() i = i + 1 if i == 1 then return "return 9" end end) return f()',
      'local a, b = load(function() error("bad reader") end) return b', 'local a, b = load(function() return {} end) return b',
      'return load()', 'return {loadstring("return 1", "=name")()}', 'return coroutine.wrap(function() coroutine.yield(5) end)()',
      'local co = coroutine.create(function(a) return a * 2 end) return {coroutine.resume(co, 21)}',
      'return collectgarbage("count") > 0', 'return type(string.dump)', 'return tostring(print)',
      'return __redis__err__handler ~= nil', 'return type(__redis__err__handler)',
      'return unpack({1,2,3}, 1, 2^31)', 'return {unpack({1,2,3}, -2, 2)}', 'return select(-1, 1, 2, 3)',
      'return string.rep("x", -1)', 'return string.format("%q", "\\0")', 'return #string.format("%099d", 7)',
    ]));
  });

  it('passes KEYS and ARGV, rejects bad numkeys, caches scripts', async () => {
    const sha = 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db'; // return 1
    await check([
      ['EVAL', 'return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}', '2', 'k1', 'k2', 'a1', 'a2'],
      ['EVAL', 'return {#KEYS, #ARGV}', '0', 'a', 'b'], ['EVAL', 'return 1', '-1'], ['EVAL', 'return 1', '1'],
      ['EVAL', 'return 1', 'x'], ['EVAL', 'return 1', '01'], ['EVAL', 'return 1', ''], ['EVAL', 'return 1'], ['EVAL'],
      ['EVAL', 'return KEYS[1]', '1', Buffer.from([0, 0xff, 0x0d, 0x0a])], ['EVAL', 'return ARGV[1]', '0', Buffer.alloc(70000, 'z')],
      ['EVALSHA', sha, '0'], ['SCRIPT', 'EXISTS', sha, sha.toUpperCase(), 'nosuch'], ['SCRIPT', 'LOAD', 'return 1'],
      ['SCRIPT', 'EXISTS', sha, sha.toUpperCase()], ['EVALSHA', sha, '0'], ['EVALSHA', sha.toUpperCase(), '0'],
      ['EVALSHA', sha, 'x'], ['EVALSHA', 'short', '0'], ['EVALSHA', 'short', 'x'], ['EVALSHA', `${sha.slice(0, 39)}0`, '0'],
      ['EVALSHA', sha, '-1'], ['EVALSHA_RO', sha, '0'], ['EVAL_RO', 'return 2', '0'],
      ['SCRIPT', 'LOAD', 'return +'], ['SCRIPT', 'LOAD'], ['SCRIPT', 'LOAD', 'a', 'b'], ['SCRIPT', 'EXISTS'],
      ['SCRIPT', 'FLUSH'], ['SCRIPT', 'EXISTS', sha], ['EVALSHA', sha, '0'], ['SCRIPT', 'FLUSH', 'ASYNC'], ['SCRIPT', 'FLUSH', 'sync'],
      ['SCRIPT', 'FLUSH', 'x'], ['SCRIPT', 'FLUSH', 'a', 'b'], ['SCRIPT', 'KILL'], ['SCRIPT', 'KILL', 'x'], ['SCRIPT', 'NOSUCH'],
      ['SCRIPT'], ['EVAL', '\x1bLua', '0'], ['SCRIPT', 'LOAD', '\x1bLuaQ'],
    ]);
  });

  it('applies shebang flags and read-only commands', async () => {
    await check([
      ['SET', 'k', 'v'],
      ...evals([
        '#!lua\nreturn 1', '#!lua flags=no-writes\nreturn redis.call("get", "k")', '#!lua flags=no-writes\nreturn redis.call("set", "k", "x")',
        '#!lua flags=no-writes,allow-oom\nreturn 1', '#!lua flags=allow-stale,no-cluster,allow-cross-slot-keys\nreturn 1',
        '#!lua flags=\nreturn 1', '#!lua flags=bad\nreturn 1', '#!lua flags=no-writes,,allow-oom\nreturn 1', '#!lua x=1\nreturn 1',
        '#!python\nreturn 1', '#!lua', '#! lua\nreturn 1', '#!lua  flags=no-writes  \nreturn 1', '#!lua "flags=no-writes"\nreturn 1',
        '#!lua\nerror("line 2")', '#!lua\n\nreturn redis.call("nosuch")', '#!lua flags=no-writes\nreturn redis.call("del", "k")',
      ]),
      ['EVAL_RO', 'return redis.call("get", "k")', '0'], ['EVAL_RO', 'return redis.call("set", "k", "y")', '0'],
      ['EVAL_RO', '#!lua\nreturn 1', '0'], ['EVAL_RO', '#!lua flags=no-writes\nreturn redis.call("get", "k")', '0'],
      ['EVAL_RO', 'return redis.pcall("set", "k", "y")', '0'], ['GET', 'k'],
      // May-replicate commands count as writes for a read-only script (so it can run under CLIENT PAUSE WRITE).
      ['EVAL_RO', 'return redis.call("publish", "ch", "m")', '0'], ['EVAL', '#!lua flags=no-writes\nreturn redis.call("pfcount", "h")', '0'],
      ['EVAL', '#!lua flags=no-writes\nreturn redis.pcall("spublish", "ch", "m")', '0'], ['EVAL', 'return redis.call("publish", "ch", "m")', '0'],
      ['EVAL_RO', 'return redis.call("pfcount", "h")', '0'], ['EVAL', 'return redis.call("pfcount", "h")', '0'],
    ]);
  });

  it('runs cjson as Redis ships it', async () => {
    await check(evals([
      'return cjson.encode({1, 2, 3})', 'return cjson.encode({a = 1})', 'return cjson.encode({})', 'return cjson.encode("x")',
      'return cjson.encode(1.5)', 'return cjson.encode(0.1)', 'return cjson.encode(1e15)', 'return cjson.encode(123456789012345)',
      'return cjson.encode(-0)', 'return cjson.encode(1/3)', 'return cjson.encode(true)', 'return cjson.encode(nil)',
      'return cjson.encode(cjson.null)', 'return cjson.encode({1, nil, 3})', 'return cjson.encode({[1]=1, [2]=2, [4]=4})',
      'return cjson.encode({[1]=1, [20]=20})', 'return cjson.encode({[0]=1})', 'return cjson.encode({[1.5]=1})',
      'return cjson.encode({["1"]=1})', 'return cjson.encode("a/b\\\\c\\"d\\n\\r\\t\\b\\f\\0\\1\\127\\128")',
      'return cjson.encode(1/0)', 'return cjson.encode(0/0)', 'return cjson.encode(function() end)', 'return cjson.encode({[true]=1})',
      'return cjson.encode()', 'return cjson.encode(1, 2)', 'local t = {} t.t = t return cjson.encode(t)',
      'return cjson.encode({a={b={c={1,2,{d=true}}}}})', 'return cjson.encode({{}, {{}}, {a={}}})',
      'return cjson.encode(cjson.decode("[1,2,3]"))', 'return cjson.decode("[1,2,3]")', 'return cjson.decode("{\\"a\\":1}").a',
      'return cjson.decode("\\"x\\"")', 'return cjson.decode("1.5")', 'return cjson.decode("-1e3")', 'return cjson.decode("true")',
      'return cjson.decode("null") == cjson.null', 'return type(cjson.decode("null"))', 'return cjson.decode("[]")',
      'return cjson.decode("{}")', 'return cjson.decode("\\"\\\\u00e9\\\\ud83d\\\\ude00\\\\n\\"")', 'return cjson.decode("[1,2")',
      'return cjson.decode("{\\"a\\" 1}")', 'return cjson.decode("{1:2}")', 'return cjson.decode("[1,]")', 'return cjson.decode("")',
      'return cjson.decode("x")', 'return cjson.decode("nul")', 'return cjson.decode("\\"abc")', 'return cjson.decode("\\"\\\\q\\"")',
      'return cjson.decode("\\"\\\\ud800\\"")', 'return cjson.decode("\\"\\\\u12\\"")', 'return cjson.decode("[1] x")',
      'return cjson.decode("0x10")', 'return cjson.decode("+1")', 'return cjson.decode("01")', 'return cjson.decode("inf")',
      'return tostring(cjson.decode("nan"))', 'return cjson.decode("-Infinity")', 'return cjson.decode("1e999")',
      'return cjson.decode(" \\t\\n 7 ")', 'return cjson.decode("\\0")', 'return cjson.decode("[\\"a\\0b\\"]")',
      'return cjson.decode(5)', 'return cjson.decode({})', 'return cjson.decode()', 'return cjson.decode("[1]", 2)',
      'return cjson.decode(string.rep("[", 1001) .. string.rep("]", 1001))', 'return #cjson.decode(string.rep("[", 999) .. string.rep("]", 999))',
      'return cjson.encode(cjson.decode("{\\"b\\":[1,{\\"c\\":null}],\\"a\\":\\"x\\"}"))',
      'return cjson.encode_max_depth()', 'return cjson.decode_max_depth()', 'return {cjson.encode_sparse_array()}',
      'return cjson.encode_number_precision()', 'return cjson.encode_keep_buffer()', 'return cjson.encode_invalid_numbers()',
      'return cjson.decode_invalid_numbers()', 'return cjson.encode_max_depth(0)', 'return cjson.encode_number_precision(15)',
      'return cjson.encode_keep_buffer("x")', 'return cjson.encode_invalid_numbers("null")', 'return cjson.encode_max_depth(1, 2)',
      'local j = cjson.new() j.encode_number_precision(3) return {j.encode(3.14159), cjson.encode(3.14159)}',
      'local j = cjson.new() j.encode_invalid_numbers("null") return j.encode({1/0, 0/0})',
      'local j = cjson.new() j.encode_invalid_numbers(true) return j.encode({1/0, -1/0})',
      'local j = cjson.new() j.encode_sparse_array(true) return j.encode({[1]=1, [20]=20})',
      'local j = cjson.new() j.encode_max_depth(2) return j.encode({{{1}}})', 'local j = cjson.new() j.decode_max_depth(2) return j.decode("[[[1]]]")',
      'local j = cjson.new() j.decode_invalid_numbers(false) return j.decode("0x10")', 'return cjson._NAME .. " " .. cjson._VERSION',
    ]));
  });

  it('runs cmsgpack, struct and bit as Redis ships them', async () => {
    await check(evals([
      'return cmsgpack.pack(1, -1, 127, 128, 255, 256, 65535, 65536, 2^32, -32, -33, -128, -129, -32768, -32769, -2^31, -2^31 - 1)',
      'return cmsgpack.pack(1.5, 0.1, 1e300, -0.5, 2^63, 1/0)', 'return cmsgpack.pack("x", string.rep("y", 40), string.rep("z", 300))',
      'return cmsgpack.pack(true, false, nil)', 'return cmsgpack.pack({1, 2, 3})', 'return cmsgpack.pack({a = 1})',
      'return cmsgpack.pack({[1]=1, [3]=3})', 'return cmsgpack.pack({})', 'local t = {} t.t = t return cmsgpack.pack(t)',
      'return cmsgpack.pack()', 'return {cmsgpack.unpack(cmsgpack.pack(1, "two", {3}, {a = 4}))}',
      'return cmsgpack.unpack(cmsgpack.pack({1, {2, {3}}}))', 'return cmsgpack.unpack(cmsgpack.pack(-1.5))',
      'return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}', 'return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}',
      'return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}', 'return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 2)}',
      'return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 5, 99)}', 'return {cmsgpack.unpack_limit(cmsgpack.pack(1), -1)}',
      'return cmsgpack.unpack("\\xc1")', 'return cmsgpack.unpack("\\xcd\\x01")', 'return cmsgpack.unpack("\\x92\\x01")',
      'return cmsgpack.unpack("\\x81\\xc0\\x01")', 'return cmsgpack.unpack("")', 'return cmsgpack.unpack({})',
      'return cmsgpack.unpack("\\xd9\\x03abc")', 'return cmsgpack.unpack("\\xcf\\x00\\x00\\x00\\x01\\x00\\x00\\x00\\x00")',
      'return cmsgpack.unpack("\\xd3\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe")', 'return cmsgpack.unpack("\\xca\\x3f\\xc0\\x00\\x00")',
      'return cmsgpack._VERSION', 'return cmsgpack._NAME',
      'return struct.pack(">I2", 258)', 'return struct.pack("<i4", -2)', 'return struct.pack("bBhHlLTiI", 1, 2, 3, 4, 5, 6, 7, 8, 9)',
      'return struct.pack("!4 b i4", 1, 2)', 'return struct.pack("c3", "abcdef")', 'return struct.pack("c0", "abc")',
      'return struct.pack("s", "abc")', 'return struct.pack("c5", "ab")', 'return struct.pack("d", 1.5)', 'return struct.pack(">f", 1.5)',
      'return struct.pack("x")', 'return struct.pack("i33", 1)', 'return struct.pack("!3")', 'return struct.pack("q")',
      'return struct.pack("i")', 'return {struct.unpack(">I2", "\\1\\2")}', 'return {struct.unpack("<i4", struct.pack("<i4", -2))}',
      'return {struct.unpack("c3 c3", "abcdef")}', 'return {struct.unpack("s", "ab\\0cd")}', 'return {struct.unpack("s", "abcd")}',
      'return {struct.unpack("i4", "ab")}', 'return {struct.unpack("b", "\\255", 0)}', 'return {struct.unpack("b", "\\255\\1", 2)}',
      'return {struct.unpack("B c0", "\\3abcd")}', 'return {struct.unpack("c0", "abc")}', 'return {struct.unpack(">d", struct.pack(">d", 0.1))}',
      'return struct.size("i4 d c3")', 'return struct.size("!8 b d")', 'return struct.size("s")', 'return struct.size("c0")',
      'return struct.size("q")', 'return {struct.unpack("i16", string.rep("\\255", 16))}',
      'return bit.tobit(0xffffffff)', 'return bit.tobit(2^40 + 5)', 'return bit.bnot(0)', 'return bit.band(0xff, 0x0f, 0x3)',
      'return bit.bor(1, 2, 4)', 'return bit.bxor(5, 3)', 'return bit.lshift(1, 31)', 'return bit.lshift(1, 32)',
      'return bit.rshift(-1, 28)', 'return bit.arshift(-256, 4)', 'return bit.rol(0x12345678, 8)', 'return bit.ror(0x12345678, 8)',
      'return bit.bswap(0x12345678)', 'return bit.tohex(255)', 'return bit.tohex(255, -4)', 'return bit.tohex(-1, 2)',
      'return bit.tohex(1, -2147483648)', 'return bit.tohex(0x12345678, 100)', 'return bit.band("x")', 'return bit.band("12", 4)',
      'return bit.tobit()', 'return bit.band(1.5)', 'return bit.band(-1.5)', 'return bit.band(2.5)',
    ]));
  });

  it("continues Redis's math.random sequence", async () => {
    await check(evals([
      'return math.random(1000)', 'return math.random(1000)', 'return {math.random(1, 10), math.random(5, 6)}',
      'return math.random() < 1', 'math.randomseed(1) return {math.random(100), math.random(100)}', 'return math.random(0)',
      'return math.random(5, 1)', 'return math.random(1, 2, 3)', 'return math.random("x")', 'return math.randomseed()',
    ]));
  });
});

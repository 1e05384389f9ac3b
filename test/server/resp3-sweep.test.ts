// Every command keyfork implements, once at least, under HELLO 3 against redis-server 7.0
// (issue 16): the same RESP3 reply types (maps, sets, doubles, verbatim strings, nulls, push
// messages). Replies that depend on time, ids or hashing order are compared by shape (their
// types, element by element kind), every other reply byte for byte. A command keyfork gains
// without a sample here fails the completeness check: add one.
import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeDifferential, formatCommand, formatMismatches, replyKey, useBothServers, type BothServers } from '../helpers/diff';
import { RawConnection, type Reply } from '../helpers/resp';

type Sample = { cmd: string[]; shape?: boolean; unordered?: boolean; kind?: boolean };
const s = (...cmd: string[]): Sample => ({ cmd });
/** Replies that vary between runs (time, ids, addresses, random picks, hash order). */
const shape = (...cmd: string[]): Sample => ({ cmd, shape: true });
/** Only the reply's type: keyfork lists what it implements (COMMAND, the HELP of a container). */
const kind = (...cmd: string[]): Sample => ({ cmd, kind: true });
/** Aggregates whose order follows hashing: compared as multisets. */
const unordered = (...cmd: string[]): Sample => ({ cmd, unordered: true });

const SETUP: string[][] = [
  ['FLUSHALL'], ['SET', 'str', 'hello'], ['SET', 'num', '10'], ['RPUSH', 'list', 'a', 'b', 'c', 'b'], ['RPUSH', 'list2', 'x', 'y'],
  ['SADD', 'set', 'a', 'b', 'c'], ['SADD', 'set2', 'b', 'c', 'd'], ['SADD', 'iset', '1', '2', '3'], ['SADD', 'one', 'only'],
  ['ZADD', 'zset', '1', 'a', '2', 'b', '3', 'c'], ['ZADD', 'zset2', '2', 'b', '5', 'e'], ['ZADD', 'zone', '1', 'only'],
  ['HSET', 'hash', 'f1', 'v1', 'f2', '2'], ['HSET', 'hone', 'only', 'v'], ['SET', 'bits', '\x0f\xf0'],
  ['SET', 'ttl', 'v', 'EX', '1000'],
  ['XADD', 'st', '1-1', 'f', 'v'], ['XADD', 'st', '2-1', 'f2', 'v2'], ['XGROUP', 'CREATE', 'st', 'g', '0'], ['PFADD', 'hll', 'a', 'b', 'c'],
  ['GEOADD', 'geo', '13.361389', '38.115556', 'Palermo', '15.087269', '37.502669', 'Catania'],
];

const LOADED_SCRIPT = "return redis.call('get', KEYS[1])";
const LOADED_SHA = createHash('sha1').update(LOADED_SCRIPT).digest('hex');
// One function per library: FUNCTION LIST orders a library's functions and the libraries by hash.
const LIBRARY = "#!lua name=sweeplib\nredis.register_function('echoarg', function(keys, args) return args[1] end)";
const LIBRARY_RO = "#!lua name=sweepro\nredis.register_function{function_name='readonly', callback=function(keys, args) return redis.call('hgetall', keys[1]) end, flags={'no-writes'}}";

const SAMPLES: Sample[] = [
  // strings
  s('GET', 'str'), s('GET', 'missing'), s('SET', 's2', 'v', 'GET'), s('SETNX', 's3', 'v'), s('SETEX', 's4', '100', 'v'), s('PSETEX', 's5', '100000', 'v'),
  s('APPEND', 'str', '!'), s('STRLEN', 'str'), s('GETRANGE', 'str', '0', '2'), s('SUBSTR', 'str', '0', '2'), s('SETRANGE', 's6', '2', 'x'),
  s('INCR', 'num'), s('INCRBY', 'num', '5'), s('DECR', 'num'), s('DECRBY', 'num', '2'), s('INCRBYFLOAT', 'num', '1.5'),
  s('MSET', 'm1', '1', 'm2', '2'), s('MGET', 'm1', 'm2', 'nope'), s('MSETNX', 'm3', '3'), s('GETSET', 'm1', 'x'), s('GETDEL', 'm2'),
  s('GETEX', 'm1', 'PERSIST'), s('LCS', 'str', 'm1'), s('LCS', 'str', 'str', 'IDX', 'WITHMATCHLEN'),
  // bitmaps
  s('SETBIT', 'b2', '7', '1'), s('GETBIT', 'bits', '4'), s('BITCOUNT', 'bits'), s('BITPOS', 'bits', '1'), s('BITOP', 'AND', 'b3', 'bits', 'b2'),
  s('BITFIELD', 'bf', 'INCRBY', 'u8', '0', '3', 'GET', 'u8', '0'), s('BITFIELD_RO', 'bf', 'GET', 'u8', '0'),
  // generic
  s('EXISTS', 'str', 'missing'), s('TYPE', 'zset'), s('TYPE', 'missing'), s('TTL', 'ttl'), shape('PTTL', 'ttl'), shape('EXPIRETIME', 'ttl'),
  shape('PEXPIRETIME', 'ttl'), s('EXPIRE', 's4', '200'), s('PEXPIRE', 's4', '200000'), s('EXPIREAT', 's4', '9999999999'),
  s('PEXPIREAT', 's4', '9999999999000'), s('PERSIST', 's4'), s('TOUCH', 'str', 'num'), s('COPY', 'str', 'strcopy'), s('RENAME', 'strcopy', 'strcopy2'),
  s('RENAMENX', 'strcopy2', 'str'), s('MOVE', 'strcopy2', '1'), s('DEL', 's5', 'nope'), s('UNLINK', 's6'), unordered('KEYS', 'm*'),
  shape('SCAN', '0'), shape('RANDOMKEY'), s('DUMP', 'str'), s('RESTORE', 'r1', '0', 'not a payload'),
  s('RESTORE-ASKING', 'r1', '0', 'not a payload'), s('MIGRATE', '127.0.0.1', '1', 'missing', '0', '1000'), s('MIGRATE', '127.0.0.1', '1', 'str', '0', '1000'),
  s('OBJECT', 'ENCODING', 'list'), s('OBJECT', 'REFCOUNT', 'str'), shape('OBJECT', 'IDLETIME', 'str'), s('OBJECT', 'FREQ', 'str'), s('OBJECT', 'HELP'),
  // lists
  s('LPUSH', 'list', 'z'), s('RPUSH', 'list', 'w'), s('RPUSHX', 'list', 'e'), s('LPUSHX', 'nolist', 'e'), s('LLEN', 'list'), s('LRANGE', 'list', '0', '-1'), s('LINDEX', 'list', '1'),
  s('LSET', 'list', '0', 'y'), s('LINSERT', 'list', 'BEFORE', 'c', 'bb'), s('LPOS', 'list', 'b', 'COUNT', '0'), s('LREM', 'list', '1', 'e'),
  s('LPOP', 'list'), s('RPOP', 'list', '2'), s('LMOVE', 'list', 'list2', 'LEFT', 'RIGHT'), s('RPOPLPUSH', 'list2', 'list'), s('LMPOP', '1', 'list', 'LEFT'),
  s('BLPOP', 'list', '0'), s('BRPOP', 'list2', '0'), s('BLMOVE', 'list2', 'list', 'LEFT', 'LEFT', '0'), s('BRPOPLPUSH', 'list', 'list2', '0'),
  s('BLMPOP', '0', '1', 'list2', 'RIGHT', 'COUNT', '2'), s('LTRIM', 'list', '0', '1'),
  // sets
  s('SADD', 'set', 'e'), s('SREM', 'set', 'e'), s('SCARD', 'set'), s('SISMEMBER', 'set', 'a'), s('SMISMEMBER', 'set', 'a', 'z'), unordered('SMEMBERS', 'set'),
  unordered('SINTER', 'set', 'set2'), unordered('SUNION', 'set', 'set2'), unordered('SDIFF', 'set', 'set2'), s('SINTERCARD', '2', 'set', 'set2'),
  s('SINTERSTORE', 'si', 'set', 'set2'), s('SUNIONSTORE', 'su', 'set', 'set2'), s('SDIFFSTORE', 'sd', 'set', 'set2'), s('SMOVE', 'set2', 'set', 'd'),
  s('SRANDMEMBER', 'one'), s('SRANDMEMBER', 'one', '-2'), shape('SRANDMEMBER', 'set', '2'), shape('SSCAN', 'set', '0'), s('SSCAN', 'iset', '0'), s('SPOP', 'one'),
  // sorted sets
  s('ZADD', 'zset', 'INCR', '1', 'a'), s('ZINCRBY', 'zset', '0.5', 'b'), s('ZSCORE', 'zset', 'a'), s('ZMSCORE', 'zset', 'a', 'nope'), s('ZCARD', 'zset'),
  s('ZCOUNT', 'zset', '-inf', '+inf'), s('ZLEXCOUNT', 'zset', '-', '+'), s('ZRANK', 'zset', 'c'), s('ZREVRANK', 'zset', 'c'),
  s('ZRANGE', 'zset', '0', '-1', 'WITHSCORES'), s('ZRANGEBYSCORE', 'zset', '1', '3', 'WITHSCORES'), s('ZREVRANGEBYSCORE', 'zset', '3', '1'),
  s('ZRANGEBYLEX', 'zset', '-', '+'), s('ZREVRANGEBYLEX', 'zset', '+', '-'), s('ZREVRANGE', 'zset', '0', '1', 'WITHSCORES'),
  s('ZRANGESTORE', 'zdst', 'zset', '0', '1'), s('ZUNION', '2', 'zset', 'zset2', 'WITHSCORES'), s('ZINTER', '2', 'zset', 'zset2', 'WITHSCORES'),
  s('ZDIFF', '2', 'zset', 'zset2', 'WITHSCORES'), s('ZINTERCARD', '2', 'zset', 'zset2'), s('ZUNIONSTORE', 'zu', '2', 'zset', 'zset2'),
  s('ZINTERSTORE', 'zi', '2', 'zset', 'zset2'), s('ZDIFFSTORE', 'zd', '2', 'zset', 'zset2'), s('ZRANDMEMBER', 'zone', '-2', 'WITHSCORES'),
  shape('ZRANDMEMBER', 'zset'), s('ZSCAN', 'zset', '0'), s('ZPOPMIN', 'zset'), s('ZPOPMAX', 'zset', '1'), s('ZMPOP', '1', 'zset2', 'MIN'),
  s('BZPOPMIN', 'zset', '0'), s('BZPOPMAX', 'zu', '0'), s('BZMPOP', '0', '1', 'zi', 'MAX'), s('ZREM', 'zu', 'e'),
  s('ZREMRANGEBYSCORE', 'zu', '0', '1'), s('ZREMRANGEBYRANK', 'zu', '0', '0'), s('ZREMRANGEBYLEX', 'zu', '-', '+'),
  // hashes
  s('HSET', 'hash', 'f3', '3'), s('HSETNX', 'hash', 'f1', 'x'), s('HGET', 'hash', 'f1'), s('HMGET', 'hash', 'f1', 'nope'), s('HMSET', 'hash', 'f4', '4'),
  s('HGETALL', 'hash'), s('HKEYS', 'hash'), s('HVALS', 'hash'), s('HLEN', 'hash'), s('HEXISTS', 'hash', 'f1'), s('HSTRLEN', 'hash', 'f1'),
  s('HINCRBY', 'hash', 'f2', '3'), s('HINCRBYFLOAT', 'hash', 'f2', '0.5'), s('HDEL', 'hash', 'f4'), s('HRANDFIELD', 'hone', '-2', 'WITHVALUES'),
  s('HRANDFIELD', 'hone'), s('HSCAN', 'hash', '0'),
  // scripting: conversions of every Lua type both ways, RESP3 inside scripts (redis.setresp)
  s('EVAL', "return {1, 'two', {3, false}, redis.status_reply('fine')}", '0'), s('EVAL', 'return 3.99', '0'),
  s('EVAL', "return redis.error_reply('MY failure')", '0'), s('EVAL', "redis.setresp(3); return redis.call('hgetall', KEYS[1])", '1', 'hone'),
  s('EVAL', "redis.setresp(3); return redis.call('sismember', KEYS[1], 'a') == true", '1', 'set'),
  s('EVAL_RO', "return redis.call('get', KEYS[1])", '1', 'str'), s('EVAL_RO', "return redis.call('set', KEYS[1], 'x')", '1', 'str'),
  s('SCRIPT', 'LOAD', LOADED_SCRIPT), s('EVALSHA', LOADED_SHA, '1', 'str'), s('EVALSHA_RO', LOADED_SHA, '1', 'num'),
  s('EVALSHA', 'ffffffffffffffffffffffffffffffffffffffff', '0'), s('SCRIPT', 'EXISTS', LOADED_SHA, 'ffffffffffffffffffffffffffffffffffffffff'),
  s('SCRIPT', 'KILL'), kind('SCRIPT', 'HELP'), s('SCRIPT', 'FLUSH'),
  s('SCRIPT', 'DEBUG', 'maybe'), s('SCRIPT', 'DEBUG', 'YES'), s('SCRIPT', 'DEBUG', 'sync'), s('SCRIPT', 'DEBUG', 'NO'),
  s('FUNCTION', 'LOAD', LIBRARY), s('FUNCTION', 'LOAD', LIBRARY), s('FUNCTION', 'LIST'), s('FUNCTION', 'LOAD', LIBRARY_RO),
  s('FCALL', 'echoarg', '0', 'hi'), s('FCALL_RO', 'readonly', '1', 'hone'), s('FCALL_RO', 'echoarg', '0', 'hi'),
  s('FUNCTION', 'LIST', 'WITHCODE', 'LIBRARYNAME', 'sweepro'), shape('FUNCTION', 'STATS'),
  s('FUNCTION', 'KILL'), shape('FUNCTION', 'DUMP'), s('FUNCTION', 'RESTORE', 'not a payload'), s('FUNCTION', 'DELETE', 'sweeplib'),
  s('FUNCTION', 'DELETE', 'sweeplib'), kind('FUNCTION', 'HELP'), s('FUNCTION', 'FLUSH'),
  // server
  // memory and latency instruments: sizes, times and the doctors' wording vary, so by shape
  shape('MEMORY', 'USAGE', 'str'), shape('MEMORY', 'STATS'), shape('MEMORY', 'DOCTOR'), shape('MEMORY', 'MALLOC-STATS'), s('MEMORY', 'PURGE'), kind('MEMORY', 'HELP'),
  // RESET first: a command over slowlog-log-slower-than on a loaded machine (MEMORY PURGE's
  // malloc_trim) would otherwise be an entry on one side only.
  s('SLOWLOG', 'RESET'), shape('SLOWLOG', 'GET'), shape('SLOWLOG', 'LEN'), kind('SLOWLOG', 'HELP'),
  shape('LATENCY', 'LATEST'), shape('LATENCY', 'HISTORY', 'command'), shape('LATENCY', 'RESET'), s('LATENCY', 'GRAPH', 'command'), shape('LATENCY', 'DOCTOR'),
  // A histogram's buckets follow the calls' timings: its type only; an unknown name, exactly.
  kind('LATENCY', 'HISTOGRAM', 'set'), s('LATENCY', 'HISTOGRAM', 'nosuchcommand'), kind('LATENCY', 'HELP'),
  s('DBSIZE'), shape('TIME'), shape('LASTSAVE'), shape('INFO', 'server'), s('ROLE'), s('WAIT', '0', '0'), s('FAILOVER', 'ABORT'), s('FAILOVER'), s('REPLICAOF', 'NO', 'ONE'),
  s('SLAVEOF', 'NO', 'ONE'), s('REPLCONF', 'bogus', '1'), s('PSYNC', '?'), s('SYNC', 'x'), s('LOLWUT'), s('MODULE', 'LIST'), s('MODULE', 'HELP'), s('MODULE', 'LOAD', '/x.so'), s('MODULE', 'LOADEX', '/x.so'), s('MODULE', 'UNLOAD', 'x'),
  s('CONFIG', 'GET', 'maxmemory-policy'), s('CONFIG', 'SET', 'hz', '10'), s('CONFIG', 'HELP'), s('CONFIG', 'RESETSTAT'), s('CONFIG', 'REWRITE'),
  s('ACL', 'SETUSER', 'sweep', 'on', '>pw', '~k*', '+get'), shape('ACL', 'GETUSER', 'sweep'), unordered('ACL', 'USERS'), s('ACL', 'LIST'),
  s('ACL', 'WHOAMI'), kind('ACL', 'CAT'), shape('ACL', 'GENPASS'), s('ACL', 'DRYRUN', 'sweep', 'get', 'k1'), shape('ACL', 'LOG'),
  s('ACL', 'SAVE'), s('ACL', 'LOAD'), s('ACL', 'DELUSER', 'sweep'), kind('ACL', 'HELP'),
  s('COMMAND', 'INFO', 'get'), s('COMMAND', 'DOCS', 'get'), shape('COMMAND', 'COUNT'), shape('COMMAND', 'LIST'), kind('COMMAND'),
  s('COMMAND', 'GETKEYS', 'SET', 'k', 'v'), s('COMMAND', 'GETKEYSANDFLAGS', 'LMOVE', 'a', 'b', 'LEFT', 'RIGHT'), s('COMMAND', 'HELP'),
  s('DEBUG', 'SLEEP', '0'), s('DEBUG', 'DIGEST-VALUE', 'str'), shape('DEBUG', 'DIGEST'), shape('DEBUG', 'OBJECT', 'str'), kind('DEBUG', 'HELP'),
  kind('DEBUG', 'HTSTATS', '0'), s('DEBUG', 'HTSTATS-KEY', 'str'),
  s('SWAPDB', '0', '1'), s('SWAPDB', '0', '1'), s('SELECT', '9'), s('FLUSHDB'), s('SELECT', '0'), s('SAVE'),
  // streams (explicit ids: generated ones differ between the servers)
  s('XADD', 'st', '3-1', 'f', 'v'), s('XLEN', 'st'), s('XRANGE', 'st', '-', '+'), s('XREVRANGE', 'st', '+', '-', 'COUNT', '1'),
  s('XREAD', 'COUNT', '1', 'STREAMS', 'st', '0'), s('XGROUP', 'CREATE', 'st', 'g2', '$'), s('XGROUP', 'CREATECONSUMER', 'st', 'g', 'c1'),
  s('XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '2', 'STREAMS', 'st', '>'), s('XPENDING', 'st', 'g'), s('XCLAIM', 'st', 'g', 'c2', '0', '1-1'),
  s('XAUTOCLAIM', 'st', 'g', 'c3', '0', '0-0'), s('XACK', 'st', 'g', '1-1'), s('XGROUP', 'SETID', 'st', 'g', '0'),
  s('XGROUP', 'DELCONSUMER', 'st', 'g', 'c3'), s('XGROUP', 'DESTROY', 'st', 'g2'), kind('XGROUP', 'HELP'),
  shape('XINFO', 'STREAM', 'st'), shape('XINFO', 'GROUPS', 'st'), shape('XINFO', 'CONSUMERS', 'st', 'g'), kind('XINFO', 'HELP'),
  s('XDEL', 'st', '2-1'), s('XTRIM', 'st', 'MAXLEN', '1'), s('XSETID', 'st', '10-1'),
  // HyperLogLog
  s('PFADD', 'hll', 'd'), s('PFCOUNT', 'hll'), s('PFMERGE', 'hll2', 'hll'), s('PFDEBUG', 'ENCODING', 'hll'), s('PFSELFTEST'),
  // geo
  s('GEOADD', 'geo', '13.583333', '37.316667', 'Agrigento'), s('GEODIST', 'geo', 'Palermo', 'Catania', 'km'), s('GEOHASH', 'geo', 'Palermo'),
  s('GEOPOS', 'geo', 'Palermo', 'nowhere'), s('GEORADIUS', 'geo', '15', '37', '200', 'km', 'WITHDIST', 'ASC'),
  s('GEORADIUS_RO', 'geo', '15', '37', '200', 'km', 'WITHCOORD', 'ASC'), s('GEORADIUSBYMEMBER', 'geo', 'Palermo', '200', 'km', 'ASC'),
  s('GEORADIUSBYMEMBER_RO', 'geo', 'Palermo', '200', 'km', 'WITHHASH', 'ASC'),
  s('GEOSEARCH', 'geo', 'FROMLONLAT', '15', '37', 'BYRADIUS', '200', 'km', 'ASC', 'WITHDIST', 'WITHCOORD'),
  s('GEOSEARCHSTORE', 'geo2', 'geo', 'FROMMEMBER', 'Palermo', 'BYBOX', '400', '400', 'km', 'ASC'),
  // SORT
  s('SORT', 'list2', 'ALPHA'), s('SORT_RO', 'zset', 'DESC'),
  // connection
  s('PING'), s('PING', 'x'), s('ECHO', 'e'), s('AUTH', 'x'), shape('HELLO', '3'), s('READONLY'), s('READWRITE'), s('ASKING'),
  // cluster mode is off here: every CLUSTER subcommand answers "cluster support disabled"
  // (cluster-*.test.ts compare them in cluster mode)
  ...['INFO', 'MYID', 'NODES', 'SLOTS', 'SHARDS', 'FLUSHSLOTS', 'BUMPEPOCH', 'RESET', 'SAVECONFIG', 'HELP'].map((sub) => s('CLUSTER', sub)),
  s('CLUSTER', 'KEYSLOT', 'k'), s('CLUSTER', 'COUNTKEYSINSLOT', '1'), s('CLUSTER', 'GETKEYSINSLOT', '1', '1'), s('CLUSTER', 'ADDSLOTS', '1'),
  s('CLUSTER', 'DELSLOTS', '1'), s('CLUSTER', 'ADDSLOTSRANGE', '1', '2'), s('CLUSTER', 'DELSLOTSRANGE', '1', '2'), s('CLUSTER', 'SETSLOT', '1', 'STABLE'),
  s('CLUSTER', 'SET-CONFIG-EPOCH', '1'), s('CLUSTER', 'REPLICAS', 'x'), s('CLUSTER', 'SLAVES', 'x'),
  s('CLUSTER', 'MEET', '127.0.0.1', '1'), s('CLUSTER', 'FORGET', 'x'), s('CLUSTER', 'LINKS'), s('CLUSTER', 'COUNT-FAILURE-REPORTS', 'x'),
  s('CLUSTER', 'REPLICATE', 'x'), s('CLUSTER', 'FAILOVER'),
  shape('CLIENT', 'ID'), shape('CLIENT', 'INFO'), shape('CLIENT', 'LIST'), s('CLIENT', 'SETNAME', 'n'), s('CLIENT', 'GETNAME'), s('CLIENT', 'GETREDIR'),
  s('CLIENT', 'TRACKINGINFO'), s('CLIENT', 'TRACKING', 'ON', 'OPTIN'), s('CLIENT', 'CACHING', 'YES'), s('CLIENT', 'TRACKING', 'OFF'), s('CLIENT', 'NO-EVICT', 'on'), s('CLIENT', 'REPLY', 'ON'), s('CLIENT', 'PAUSE', '1', 'WRITE'), s('CLIENT', 'UNPAUSE'), s('CLIENT', 'UNBLOCK', '999999'), s('CLIENT', 'KILL', 'ID', '999999'), kind('CLIENT', 'HELP'),
  // transactions
  s('WATCH', 'str'), s('UNWATCH'), s('MULTI'), s('INCR', 'num2'), s('HGETALL', 'hone'), s('EXEC'), s('MULTI'), s('DISCARD'),
  // pub/sub: push messages in RESP3 (nothing published to this connection's own channels)
  s('SUBSCRIBE', 'ch1'), s('SUBSCRIBE', 'ch2'), s('PSUBSCRIBE', 'p*'), s('PUBLISH', 'other', 'm'), unordered('PUBSUB', 'CHANNELS', 'ch*'), s('PUBSUB', 'NUMSUB', 'ch1', 'x'),
  s('PUBSUB', 'NUMPAT'), kind('PUBSUB', 'HELP'), s('UNSUBSCRIBE', 'ch1'), s('PUNSUBSCRIBE'), s('UNSUBSCRIBE'),
  s('SSUBSCRIBE', 'sh1'), s('SSUBSCRIBE', 'sh2'), s('SPUBLISH', 'other', 'm'), s('PUBSUB', 'SHARDCHANNELS', 'sh1'),
  s('PUBSUB', 'SHARDNUMSUB', 'sh1', 'x'), s('SUNSUBSCRIBE', 'sh2'), s('SUNSUBSCRIBE'),
  // the connection's end (RESET goes back to RESP2 and ends MONITOR before it could show itself)
  s('FLUSHALL'), shape('BGSAVE'), shape('BGREWRITEAOF'), s('MONITOR'), s('RESET'), s('QUIT'),
];

/** Types, element kinds and map keys, without lengths or values: for replies that vary. */
function shapeOf(r: Reply): string {
  switch (r.t) {
    case 'array':
      return r.v === null ? 'nullarray' : `array[${[...new Set(r.v.map(shapeOf))].sort().join('|')}]`;
    case 'set':
    case 'push':
      return `${r.t}[${[...new Set(r.v.map(shapeOf))].sort().join('|')}]`;
    case 'map':
      return `map{${r.v.map(([k, v]) => `${k.t === 'bulk' || k.t === 'simple' ? String(k.v) : shapeOf(k)}:${shapeOf(v)}`).sort().join(',')}}`;
    case 'attr':
      return `attr(${shapeOf(r.v)})`;
    case 'verbatim':
      return `verbatim:${r.format}`;
    default:
      return r.t;
  }
}

/** A multiset view of an aggregate (for hash-ordered replies). */
function sortedKey(r: Reply): string {
  if ((r.t === 'array' || r.t === 'set') && r.v) return `${r.t}:${r.v.map(replyKey).sort().join(',')}`;
  if (r.t === 'map') return `map:${r.v.map(([k, v]) => `${replyKey(k)}=${replyKey(v)}`).sort().join(',')}`;
  return replyKey(r);
}

describeDifferential('every implemented command under HELLO 3 vs redis-server 7.0', () => {
  let servers: BothServers;
  useBothServers((x) => (servers = x), { keyfork: { args: ['--save', '', '--enable-debug-command', 'yes'] } });

  it('the same RESP3 replies', async () => {
    const [k, r] = await Promise.all([RawConnection.connect(servers.keyfork.port, { resp3: true }), RawConnection.connect(servers.redis.port, { resp3: true })]);
    const differences: string[] = [];
    try {
      for (const cmd of SETUP) await Promise.all([k.send(...cmd), r.send(...cmd)]);
      for (const sample of SAMPLES) {
        const [kr, rr] = await Promise.all([k.send(...sample.cmd), r.send(...sample.cmd)]);
        const view = sample.kind ? (x: Reply) => x.t : sample.shape ? shapeOf : sample.unordered ? sortedKey : replyKey;
        if (view(kr) !== view(rr)) differences.push(formatMismatches([{ index: 0, command: sample.cmd, keyfork: kr, redis: rr }]));
      }
    } finally {
      k.close();
      r.close();
    }
    expect(differences.join('\n\n')).toBe('');
  });

  it('has a sample for every command and subcommand keyfork implements', async () => {
    const c = await RawConnection.connect(servers.keyfork.port);
    const all = await c.send('COMMAND');
    c.close();
    const names: string[] = [];
    for (const row of all.t === 'array' && all.v ? all.v : []) {
      if (row.t !== 'array' || !row.v) continue;
      const name = row.v[0].t === 'bulk' && row.v[0].v ? row.v[0].v.toString() : '';
      const subs = row.v[9];
      const subNames = subs?.t === 'array' && subs.v ? subs.v.map((x) => (x.t === 'array' && x.v && x.v[0].t === 'bulk' && x.v[0].v ? x.v[0].v.toString() : '')) : [];
      names.push(...(subNames.length ? subNames : [name]));
    }
    const sampled = new Set(SAMPLES.flatMap(({ cmd }) => [cmd[0].toLowerCase(), `${cmd[0]}|${cmd[1] ?? ''}`.toLowerCase()]));
    sampled.add('shutdown'); // ends the server: its replies are covered by the persistence tests
    expect(names.filter((n) => !sampled.has(n)).map((n) => formatCommand([n]))).toEqual([]);
  });
});

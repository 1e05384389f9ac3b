// DEBUG, behind enable-debug-command as in Redis 7.0 (default "no"; "local" admits loopback
// clients). DEBUG has no subcommand table in Redis: the subcommand is its first argument.
// Implemented here: HELP, SLEEP, AOF-FLUSH-SLEEP, SET-ACTIVE-EXPIRE, LOG, ERROR, CHANGE-REPL-ID, PROTOCOL,
// PAUSE-CRON, QUICKLIST-PACKED-THRESHOLD, RELOAD, CLIENT-EVICTION, CONFIG-REWRITE-FORCE-ALL, CLUSTERLINK; in the
// addon (native rows "debug|<sub>"): DIGEST, DIGEST-VALUE, POPULATE, OBJECT, LISTPACK, HTSTATS,
// HTSTATS-KEY, STRINGMATCH-TEST, SET-SKIP-CHECKSUM-VALIDATION, SET-DISABLE-DENY-SCRIPTS
// (hidden from HELP, as in Redis). Any other subcommand gets
// Redis's unknown-subcommand error.
import { clusterBus } from '../cluster/bus';
import { native } from '../native';
import { sleepSync } from '../sleep';
import { serverAssertWithInfo, serverPanic } from '../panic';
import type { Server } from '../server';
import { writeHelp, type HelpEntry } from './command-cmd';
import { memtoull } from '../config/numbers';
import { ConfigCommandError } from '../config/errors';
import { nativeHandler } from './dispatch';
import { protectedNotAllowed } from './protected';
import { arg, argStr, ReplyError, subcommandSyntaxError, type Ctx, type Handler } from './types';

/** C's strtod on the longest numeric prefix (0 when there is none). */
function strtod(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))/.exec(s);
  return m ? Number(m[1]) : 0;
}

/** C's atoi. */
function atoi(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s);
  return m ? Number(m[1]) | 0 : 0;
}

/**
 * DEBUG CLUSTERLINK KILL <to|from|all> <node-id>. Two departures from 7.0.15, which crashes on
 * the node's own ID (it has no links) and answers an unknown direction twice (the error, then
 * +OK): here the first is a no-op and the second one error.
 */
function debugClusterLink(ctx: Ctx): void {
  if (argStr(ctx.req, 2).toLowerCase() !== 'kill') throw subcommandSyntaxError(ctx.req);
  const cluster = ctx.server.cluster;
  const bus = clusterBus();
  if (cluster === null || bus === null) throw new ReplyError('ERR Debug option only available for cluster mode enabled setup!');
  const name = argStr(ctx.req, 4);
  const node = cluster.state.lookupNode(name);
  if (!node) throw new ReplyError(`ERR Unknown node ${name}`);
  const direction = argStr(ctx.req, 3);
  if (!bus.killLinks(node, direction.toLowerCase())) throw new ReplyError(`ERR Unknown direction ${direction}`);
  ctx.out.ok();
}

/** DEBUG SLEEP stops the whole server, like Redis's nanosleep on its only thread. */
function debugSleep(ctx: Ctx): void {
  const seconds = strtod(argStr(ctx.req, 2));
  sleepSync(Math.trunc(seconds * 1e6) / 1000);
  ctx.out.ok();
}

/** DEBUG AOF-FLUSH-SLEEP <microsec>: each AOF write waits this long first (Redis's tests use it). */
function debugAofFlushSleep(ctx: Ctx): void {
  ctx.server.aof.writer.flushSleepUsec = atoi(argStr(ctx.req, 2));
  ctx.out.ok();
}

function debugSetActiveExpire(ctx: Ctx): void {
  const index = ctx.server.commands.nativeIndex('debug|set-active-expire');
  if (index >= 0) return nativeHandler(index)(ctx);
  native.setActiveExpire(atoi(argStr(ctx.req, 2)) !== 0);
  ctx.out.ok();
}

/** DEBUG CLIENT-EVICTION: the size classes of maxmemory-clients (src/client-eviction.ts). */
function debugClientEviction(ctx: Ctx): void {
  const table = ctx.server.clientEviction.bucketTable();
  if (table === null) throw new ReplyError('ERR maxmemory-clients is disabled.');
  ctx.out.verbatim(table);
}

function debugLog(ctx: Ctx): void {
  ctx.server.log.warning(`DEBUG LOG: ${arg(ctx.req, 2).toString()}`);
  ctx.out.ok();
}

/** DEBUG REPLICATE <cmd> [<arg> ...]: the arguments go to the replicas as a command of the stream. */
function debugReplicate(ctx: Ctx): void {
  const argv: Buffer[] = [];
  for (let i = 2; i < ctx.req.argc; i++) argv.push(arg(ctx.req, i));
  ctx.server.replication.feedCommand(argv);
  ctx.out.ok();
}

/** DEBUG ERROR: the argument itself is the error reply (no ERR prefix added). */
function debugError(ctx: Ctx): void {
  throw new ReplyError(arg(ctx.req, 2).toString());
}

function debugChangeReplId(ctx: Ctx): void {
  ctx.server.replication.state.changeReplicationId();
  ctx.server.replication.state.clearReplicationId2();
  ctx.out.ok();
}

/** DEBUG PROTOCOL <type>: a sample of each reply type, RESP2 falling back as Redis does. */
function debugProtocol(ctx: Ctx): void {
  const { out, client } = ctx;
  switch (argStr(ctx.req, 2).toLowerCase()) {
    case 'string': return out.bulk('Hello World');
    case 'integer': return out.int(12345);
    case 'double': return out.double(3.141);
    case 'bignum': return out.bignum('1234567999999999999999999999999999999');
    case 'null': return out.null();
    case 'array':
      out.array(3);
      for (let j = 0; j < 3; j++) out.int(j);
      return;
    case 'set':
      out.set(3);
      for (let j = 0; j < 3; j++) out.int(j);
      return;
    case 'map':
      out.map(3);
      for (let j = 0; j < 3; j++) {
        out.int(j);
        out.boolean(j === 1);
      }
      return;
    case 'attrib':
      if (client.resp === 3) {
        out.attribute(1);
        out.bulk('key-popularity');
        out.array(2);
        out.bulk('key:123');
        out.int(90);
      }
      return out.bulk('Some real reply following the attribute');
    case 'push':
      if (client.resp < 3) throw new ReplyError('ERR RESP2 is not supported by this command');
      out.push(2);
      out.bulk('server-cpu-usage');
      out.int(42);
      return out.bulk('Some real reply following the push reply');
    case 'true': return out.boolean(true);
    case 'false': return out.boolean(false);
    case 'verbatim': return out.verbatim('This is a verbatim\nstring');
    default:
      throw new ReplyError(
        'ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false',
      );
  }
}

function debugPauseCron(ctx: Ctx): void {
  ctx.server.cronPaused = atoi(argStr(ctx.req, 2)) !== 0;
  ctx.out.ok();
}

/** DEBUG QUICKLIST-PACKED-THRESHOLD <size>: list elements of at least this size get PLAIN nodes. */
function debugQuicklistPackedThreshold(ctx: Ctx): void {
  const size = memtoull(argStr(ctx.req, 2));
  if (size === null || !native.setListPackedThreshold(Number(size))) {
    throw new ReplyError('ERR argument must be a memory value bigger than 1 and smaller than 4gb');
  }
  ctx.out.ok();
}

/**
 * DEBUG CONFIG-REWRITE-FORCE-ALL: CONFIG REWRITE writing every option, defaults included.
 * Without a config file Redis's rewriteConfig opens a NULL path: EFAULT.
 */
function debugConfigRewriteForceAll(ctx: Ctx): void {
  const { config } = ctx.server;
  if (config.configFile === null) throw new ReplyError('ERR CONFIG-REWRITE-FORCE-ALL failed: Bad address');
  try {
    config.rewrite(config.configFile, true);
  } catch (err) {
    const prefix = 'ERR Rewriting config file: ';
    if (err instanceof ConfigCommandError && err.message.startsWith(prefix)) {
      throw new ReplyError(`ERR CONFIG-REWRITE-FORCE-ALL failed: ${err.message.slice(prefix.length)}`);
    }
    throw err;
  }
  ctx.out.ok();
}

function debugReload(ctx: Ctx): void {
  ctx.server.persistence.debugReload(ctx);
}

/** DEBUG LOADAOF: the keyspace reloaded from the AOF files (the changes are not propagated). */
function debugLoadAof(ctx: Ctx): void {
  ctx.server.persistence.debugLoadAof();
  ctx.out.ok();
}

interface DebugSub {
  /** Argument count check, as debugCommand spells it per subcommand. */
  argc: (n: number) => boolean;
  run: Handler;
  help: [title: string, lines: string[]];
}

/** DEBUG SEGFAULT: the crash report of a SIGSEGV, then death by it (native/src/crash.rs). */
function debugSegfault(ctx: Ctx): void {
  ctx.server.crash.segfault(ctx);
}

function debugPanic(ctx: Ctx): void {
  serverPanic(ctx.server.log, `DEBUG PANIC called at Unix time ${Math.floor(Date.now() / 1000)}`, 'commands/debug.ts', ctx);
}

/** DEBUG ASSERT: serverAssertWithInfo(c, c->argv[0], 1 == 2); argv[0] is an embstr string. */
function debugAssert(ctx: Ctx): void {
  serverAssertWithInfo(ctx.server.log, ctx, { type: 0, encoding: 8 }, '1 == 2', 'commands/debug.ts');
}

/** Subcommands implemented in TypeScript. */
const TS_SUBCOMMANDS: Record<string, DebugSub> = {
  assert: {
    argc: () => true,
    run: debugAssert,
    help: ['ASSERT', ['Crash by assertion failed.']],
  },
  panic: {
    argc: () => true,
    run: debugPanic,
    help: ['PANIC', ['Crash the server simulating a panic.']],
  },
  segfault: {
    argc: () => true,
    run: debugSegfault,
    help: ['SEGFAULT', ['Crash the server with sigsegv.']],
  },
  clusterlink: {
    argc: (n) => n === 5,
    run: debugClusterLink,
    help: ['CLUSTERLINK KILL <to|from|all> <node-id>', ['Kills the link based on the direction to/from (both) with the provided node.']],
  },
  'change-repl-id': {
    argc: (n) => n === 2,
    run: debugChangeReplId,
    help: ['CHANGE-REPL-ID', ['Change the replication IDs of the instance.', 'Dangerous: should be used only for testing the replication subsystem.']],
  },
  error: {
    argc: (n) => n === 3,
    run: debugError,
    help: ['ERROR <string>', ['Return a Redis protocol error with <string> as message. Useful for clients', 'unit tests to simulate Redis errors.']],
  },
  replicate: {
    argc: (n) => n >= 3,
    run: debugReplicate,
    help: ['REPLICATE <string>', ['Replicates the provided string to replicas, allowing data divergence.']],
  },
  'aof-flush-sleep': {
    argc: (n) => n === 3,
    run: debugAofFlushSleep,
    help: ['AOF-FLUSH-SLEEP <microsec>', ['Server will sleep before flushing the AOF, this is used for testing.']],
  },
  log: {
    argc: (n) => n === 3,
    run: debugLog,
    help: ['LOG <message>', ['Write <message> to the server log.']],
  },
  loadaof: {
    argc: (n) => n === 2,
    run: debugLoadAof,
    help: ['LOADAOF', ['Flush the AOF buffers on disk and reload the AOF in memory.']],
  },
  reload: {
    argc: () => true,
    run: debugReload,
    help: ['RELOAD [option ...]', [
      'Save the RDB on disk and reload it back to memory. Valid <option> values:',
      '* MERGE: conflicting keys will be loaded from RDB.',
      '* NOFLUSH: the existing database will not be removed before load, but',
      '  conflicting keys will generate an exception and kill the server.',
      '* NOSAVE: the database will be loaded from an existing RDB file.',
      'Examples:',
      '* DEBUG RELOAD: verify that the server is able to persist, flush and reload',
      '  the database.',
      '* DEBUG RELOAD NOSAVE: replace the current database with the contents of an',
      '  existing RDB file.',
      '* DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB',
      '  file to the database.',
    ]],
  },
  'config-rewrite-force-all': {
    argc: (n) => n === 2,
    run: debugConfigRewriteForceAll,
    help: ['CONFIG-REWRITE-FORCE-ALL', [
      'Like CONFIG REWRITE but writes all configuration options, including',
      'keywords not listed in original configuration file or default values.',
    ]],
  },
  'client-eviction': {
    argc: (n) => n === 2,
    run: debugClientEviction,
    help: ['CLIENT-EVICTION', ['Show low level client eviction pools info (maxmemory-clients).']],
  },
  'pause-cron': {
    argc: (n) => n === 3,
    run: debugPauseCron,
    help: ['PAUSE-CRON <0|1>', ['Stop periodic cron job processing.']],
  },
  protocol: {
    argc: (n) => n === 3,
    run: debugProtocol,
    help: ['PROTOCOL <type>', [
      'Reply with a test value of the specified type. <type> can be: string,',
      'integer, double, bignum, null, array, set, map, attrib, push, verbatim,',
      'true, false.',
    ]],
  },
  'quicklist-packed-threshold': {
    argc: (n) => n === 3,
    run: debugQuicklistPackedThreshold,
    help: ['QUICKLIST-PACKED-THRESHOLD <size>', [
      'Sets the threshold for elements to be inserted as plain vs packed nodes',
      'Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.',
    ]],
  },
  'set-active-expire': {
    argc: (n) => n === 3,
    run: debugSetActiveExpire,
    help: ['SET-ACTIVE-EXPIRE <0|1>', [
      'Setting it to 0 disables expiring keys in background when they are not',
      'accessed (otherwise the Redis behavior). Setting it to 1 reenables back the',
      'default.',
    ]],
  },
  sleep: {
    argc: (n) => n === 3,
    run: debugSleep,
    help: ['SLEEP <seconds>', ['Stop the server for <seconds>. Decimals allowed.']],
  },
};

/**
 * debugCommand's argument counts for the subcommands the addon may export as "debug|<sub>":
 * checked here so the error names the subcommand as the client spelled it.
 */
const NATIVE_ARGC: Record<string, (n: number) => boolean> = {
  digest: (n) => n === 2,
  listpack: (n) => n === 3,
  'stringmatch-test': (n) => n === 2,
  'set-disable-deny-scripts': (n) => n === 3,
  'set-skip-checksum-validation': (n) => n === 3,
  'digest-value': (n) => n >= 2,
  object: (n) => n === 3,
  populate: (n) => n >= 3 && n <= 5,
  htstats: (n) => n === 3,
  'htstats-key': (n) => n === 3,
};

const NATIVE_HELP: Record<string, [string, string[]]> = {
  digest: ['DIGEST', ['Output a hex signature representing the current DB content.']],
  'digest-value': ['DIGEST-VALUE <key> [<key> ...]', ['Output a hex signature of the values of all the specified keys.']],
  htstats: ['HTSTATS <dbid>', ['Return hash table statistics of the specified Redis database.']],
  'htstats-key': ['HTSTATS-KEY <key>', ['Like HTSTATS but for the hash table stored at <key>\'s value.']],
  object: ['OBJECT <key>', ['Show low level info about `key` and associated value.']],
  oom: ['OOM', ['Crash the server simulating an out-of-memory error.']],
  'set-skip-checksum-validation': ['SET-SKIP-CHECKSUM-VALIDATION <0|1>', ["Enables or disables checksum checks for RDB files and RESTORE's payload."]],
  listpack: ['LISTPACK <key>', ['Show low level info about the listpack encoding of <key>.']],
  'stringmatch-test': ['STRINGMATCH-TEST', ['Run a fuzz tester against the stringmatchlen() function.']],
  populate: ['POPULATE <count> [<prefix>] [<size>]', [
    'Create <count> string keys named key:<num>. If <prefix> is specified then',
    'it is used instead of the \'key\' prefix. These are not propagated to',
    'replicas. Cluster slots are not respected so keys not belonging to the',
    'current node can be created in cluster mode.',
  ]],
};

/** Redis's help order (alphabetical-ish, as debug.c lists them). */
const HELP_ORDER = ['aof-flush-sleep', 'assert', 'change-repl-id', 'config-rewrite-force-all', 'digest', 'digest-value', 'error', 'log', 'htstats', 'htstats-key', 'loadaof', 'replicate', 'object', 'oom', 'panic', 'populate', 'protocol', 'reload',
  'segfault', 'set-active-expire', 'quicklist-packed-threshold', 'set-skip-checksum-validation', 'sleep', 'stringmatch-test', 'listpack', 'client-eviction', 'pause-cron', 'clusterlink'];

function available(server: Server, sub: string): boolean {
  if (sub in TS_SUBCOMMANDS) return true;
  return sub in NATIVE_HELP && server.commands.nativeIndex(`debug|${sub}`) >= 0;
}

function debugHelp(ctx: Ctx): void {
  const entries: HelpEntry[] = HELP_ORDER.map((sub) => {
    const [title, lines] = TS_SUBCOMMANDS[sub]?.help ?? NATIVE_HELP[sub];
    return [sub, title, lines];
  });
  writeHelp(ctx, entries, (sub) => available(ctx.server, sub));
}

function debug(ctx: Ctx): void {
  const { req, server, client } = ctx;
  const denied = protectedNotAllowed(server, client, 'debug');
  if (denied) throw new ReplyError(denied);
  const sub = argStr(req, 1).toLowerCase();
  if (sub === 'help' && req.argc === 2) return debugHelp(ctx);
  const ts = TS_SUBCOMMANDS[sub];
  if (ts) {
    if (!ts.argc(req.argc)) throw subcommandSyntaxError(req);
    return ts.run(ctx);
  }
  const index = server.commands.nativeIndex(`debug|${sub}`);
  if (index < 0 || !(NATIVE_ARGC[sub]?.(req.argc) ?? true)) throw subcommandSyntaxError(req);
  nativeHandler(index)(ctx);
}

export const debugCommands: [string, Handler][] = [['debug', debug]];

// Scripting as the server sees it (the engine is native/src/script): EVAL, EVALSHA and FCALL
// handlers, the host functions a running script calls back (a TypeScript command, a log line,
// the event pump of a busy script), the busy state the dispatcher consults, and the
// statistics of the commands a script ran natively.
//
// Busy scripts. Node's event loop cannot run while a script holds the JS thread inside a
// native call. Once a script passes busy-reply-threshold, its count hook polls the other
// clients' sockets itself and hands each chunk to `input`, which feeds the client's own
// parser and dispatches as usual with `busy` set: the dispatcher answers BUSY to everything
// but the allow-busy commands (SCRIPT KILL, FUNCTION KILL/STATS, SHUTDOWN NOSAVE, MULTI,
// AUTH...), and replies go out through Server.send. See ARCHITECTURE.md, "Scripts".
import * as net from 'node:net';
import { Client } from './client';
import { noClusterRefusal, scriptCallRefusal, scriptRouting, type ScriptRouting } from './cluster/script';
import { NativeSocket } from './native-socket';
import { subcommandPresent, writeHelp, type HelpEntry } from './commands/command-cmd';
import type { Command } from './commands/table';
import { consume } from './config/consumers';
import { levelAt } from './log';
import { argStr, makeRequest, ReplyError, type Ctx, type Handler, type Request } from './commands/types';
import {
  native,
  REPLY_PENDING,
  runScriptNative,
  SCRIPT_ERROR_COUNTED,
  SCRIPT_EVAL,
  SCRIPT_EVAL_RO,
  SCRIPT_EVALSHA,
  SCRIPT_EVALSHA_RO,
  SCRIPT_FCALL,
  SCRIPT_FCALL_RO,
  SCRIPT_IN_MULTI,
  SCRIPT_OOM,
  SCRIPT_CALLS_VIA_TS,
  SCRIPT_DEBUG_FORK,
  SCRIPT_DEBUG_SYNC,
  SCRIPT_FORKED,
  SCRIPT_TRACKING,
  SCRIPT_RESP3,
  SCRIPT_WRITES_REFUSED,
  SCRIPT_LOG_FIELDS,
  scriptLog,
  scriptParams,
} from './native';
import { ReplyWriter } from './protocol/reply';
import type { Server } from './server';
import type { User } from './acl/user';

const HOST_CALL = 1;
const HOST_LOG = 2;
const HOST_BUSY = 3;
const HOST_INPUT = 4;
const HOST_ACCEPT = 5;
const HOST_ACL = 6;

export const BUSY_EVAL = 'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.';
export const BUSY_FUNCTION = 'BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.';

/** Command flags redis.call's checks use (native/src/script/call.rs). */
const CMD_WRITE = 1;
const CMD_DENYOOM = 2;
const CMD_NOSCRIPT = 4;
const CMD_CONTAINER = 8;
const CMD_READONLY = 16;
const CMD_STALE = 32;
const CMD_MAY_REPLICATE = 64;

/** Script flags (native/src/script/mod.rs). */
const FLAG_NO_WRITES = 1;
const FLAG_ALLOW_OOM = 2;
const FLAG_ALLOW_STALE = 4;
const FLAG_EVAL_COMPAT = 1 << 31;


/** When a script starts to answer BUSY to others (alias lua-time-limit); 0 never. */
const BUSY_REPLY_THRESHOLD = consume('busy-reply-threshold', 'test/server/scripting-busy.test.ts');

interface Running {
  client: Client;
  evalMode: boolean;
  /** Cluster mode: what the script's calls are routed against (scriptVerifyClusterState). */
  cluster: ScriptRouting | null;
  /** The script command and its request (its KEYS are what a tracking caller remembers). */
  cmd: Command | undefined;
  req: Request;
}

export class Scripting {
  /** liblua could be loaded. */
  readonly available: boolean;
  /** The library file, or why scripting is unavailable (with the package to install). */
  readonly status: string;
  /** The script running now, if any. */
  private running: Running | null = null;
  /** The running script passed busy-reply-threshold: other clients get BUSY. */
  busy: Running | null = null;
  /** The client TypeScript commands run as when a script calls them (Redis's script client). */
  private readonly scriptClient: Client;
  /** The commands redis.call knows, by the id the statistics log uses. */
  private readonly byId: Command[] = [];
  /** busy-reply-threshold in ms (read per script: cached, refreshed on CONFIG SET). */
  private busyMs = 0;
  /** SCRIPT DEBUG: the clients whose EVALs run in the debugger, and in which mode. */
  private readonly debugging = new WeakMap<Client, 'yes' | 'sync'>();
  /** Reaps the forked debugging sessions (each second while one exists). */
  private reaper: NodeJS.Timeout | null = null;

  constructor(private readonly server: Server) {
    const [ok, status] = native.scriptingStatus();
    this.available = ok;
    this.status = status;
    native.bindScriptHost((op, a, b, c) => this.host(op, a, b, c));
    const readBusyMs = () => (this.busyMs = server.config.int(BUSY_REPLY_THRESHOLD));
    readBusyMs();
    server.config.onChange(BUSY_REPLY_THRESHOLD, readBusyMs);
    this.scriptClient = new Client({} as net.Socket, () => server.limits.protoMaxBulkLen);
    server.acl.setDefaultAuth(this.scriptClient);
    for (const [name, cmd] of server.commands.named()) {
      let flags = 0;
      if (cmd.isWrite) flags |= CMD_WRITE;
      if (cmd.flags.has('denyoom')) flags |= CMD_DENYOOM;
      if (cmd.flags.has('noscript')) flags |= CMD_NOSCRIPT;
      if (cmd.subcommands) flags |= CMD_CONTAINER;
      if (cmd.flags.has('readonly')) flags |= CMD_READONLY;
      if (cmd.flags.has('stale')) flags |= CMD_STALE;
      if (cmd.mayReplicate) flags |= CMD_MAY_REPLICATE;
      native.setScriptCommand(name, this.byId.length, cmd.nativeIndex, cmd.arity, flags);
      this.byId.push(cmd);
    }
  }

  /** True for the client a script's TypeScript commands run as. */
  isScriptClient(client: Client): boolean {
    return client === this.scriptClient;
  }

  /** True while a script runs (other clients' commands may run meanwhile: it is busy). */
  isRunning(): boolean {
    return this.running !== null;
  }

  /** The running script's caller, command and request (null when no script runs). */
  runningCommand(): { client: Client; cmd: Command; req: Request } | null {
    const r = this.running;
    return r?.cmd ? { client: r.client, cmd: r.cmd, req: r.req } : null;
  }

  /** The ACL user a command runs as: a script's calls run as the script's caller. */
  userOf(client: Client): User {
    return client === this.scriptClient && this.running ? this.running.client.user : client.user;
  }

  /** The BUSY error for the running script's kind. */
  busyError(): string {
    return this.busy?.evalMode === false ? BUSY_FUNCTION : BUSY_EVAL;
  }

  /**
   * The flags EVAL/FCALL `req`'s script declares (a shebang's, a function's), null for other
   * commands and for scripts without flags: Redis's getCommandFlags replaces the command's
   * write, denyoom, stale and may-replicate flags with what the script declares
   * (scriptFlagsToCmdFlags).
   */
  private declaredFlags(cmd: Command, req: { input: Buffer; offsets: Int32Array; argc: number }): number | null {
    const kind = SCRIPT_KINDS.get(cmd.name);
    if (kind === undefined || req.argc < 2) return null;
    const flags = native.scriptFlags(kind, req.input.subarray(req.offsets[2], req.offsets[3]));
    return flags < 0 || (flags & FLAG_EVAL_COMPAT) !== 0 ? null : flags;
  }

  /** Whether EVAL/FCALL `req`'s script declares flags (then it never counts as may-replicate). */
  declaresFlags(cmd: Command, req: { input: Buffer; offsets: Int32Array; argc: number }): boolean {
    return this.declaredFlags(cmd, req) !== null;
  }

  /**
   * Whether EVAL/FCALL `req` runs a script declared as writing (a shebang without no-writes),
   * for the dispatcher's MISCONF check: Redis treats such a script as a write command.
   */
  declaresWrites(cmd: Command, req: { input: Buffer; offsets: Int32Array; argc: number }): boolean {
    const flags = this.declaredFlags(cmd, req);
    return flags !== null && (flags & FLAG_NO_WRITES) === 0;
  }

  /** The stale flag EVAL/FCALL `req` runs with when its script declares flags (allow-stale), null otherwise. */
  declaredStale(cmd: Command, req: { input: Buffer; offsets: Int32Array; argc: number }): boolean | null {
    const flags = this.declaredFlags(cmd, req);
    return flags === null ? null : (flags & FLAG_ALLOW_STALE) !== 0;
  }

  /**
   * Whether EVAL/FCALL `req` runs a script that may grow memory (a shebang without allow-oom
   * or no-writes): Redis refuses such a script, like a denyoom command, when out of memory.
   */
  declaresDenyOom(cmd: Command, req: { input: Buffer; offsets: Int32Array; argc: number }): boolean {
    const flags = this.declaredFlags(cmd, req);
    return flags !== null && (flags & (FLAG_ALLOW_OOM | FLAG_NO_WRITES)) === 0;
  }

  /**
   * SCRIPT DEBUG YES|SYNC|NO. Like Redis, refused while replies of the same client are still
   * waiting to be written (a pipeline, or inside EXEC): the session talks on the socket directly.
   */
  scriptDebug(ctx: Ctx): void {
    const { client, out, req } = ctx;
    if (out.len > 0 || (client.socket.writableLength ?? 0) > 0) throw new ReplyError('ERR SCRIPT DEBUG must be called outside a pipeline');
    const mode = argStr(req, 2).toLowerCase();
    if (mode === 'no') {
      this.debugging.delete(client);
    } else if (mode === 'yes' || mode === 'sync') {
      if (!this.available) throw new ReplyError(this.status);
      native.ldbEnable();
      this.debugging.set(client, mode);
    } else {
      throw new ReplyError('ERR Use SCRIPT DEBUG YES/SYNC/NO');
    }
    out.ok();
  }

  /**
   * EVAL for a debugging client (evalGenericCommandWithDebugging): SYNC runs the session here
   * with the server stopped, and the connection closes after the reply; YES forks, the child
   * holds the session and this side closes its copy of the connection.
   */
  private runDebugging(ctx: Ctx, kind: number, mode: 'yes' | 'sync'): void {
    const { server, client, req } = ctx;
    if (kind === SCRIPT_EVALSHA || kind === SCRIPT_EVALSHA_RO) {
      if (req.offsets[3] - req.offsets[2] !== 40) throw new ReplyError('NOSCRIPT No matching script. Please use EVAL.');
      throw new ReplyError('ERR Please use EVAL instead of EVALSHA for debugging');
    }
    if (client.fd < 0 || client.writeFd < 0 && !(client.socket instanceof NativeSocket)) {
      // A TLS connection's bytes go through node:tls, which cannot run while the session holds the thread.
      throw new ReplyError('ERR SCRIPT DEBUG needs a plain TCP or unix socket connection in keyfork (not TLS)');
    }
    if (mode === 'sync') server.log.warning('Redis synchronous debugging eval session started');
    native.ldbPrepare(client.fd);
    const pid = this.run(ctx, kind, mode === 'yes' ? SCRIPT_DEBUG_FORK : SCRIPT_DEBUG_SYNC);
    if (pid > 0) {
      this.debugging.delete(client);
      server.log.write(server.log.lineFor(pid, 'C', 'warning', 'Redis forked for debugging eval'));
      server.log.tapChild(pid, 'warning', 'Redis forked for debugging eval');
      this.startReaper();
      server.freeClient(client);
      return;
    }
    if (mode === 'sync') {
      server.log.warning('Redis synchronous debugging eval session ended');
      client.closeAfterReply = true;
    } else {
      // fork() failed: the error is the reply and debugging is off (ldbDisable).
      this.debugging.delete(client);
    }
  }

  private startReaper(): void {
    if (this.reaper) return;
    this.reaper = setInterval(() => {
      const done = native.ldbReap();
      const left = done.pop() ?? 0;
      for (const pid of done) {
        this.server.log.write(this.server.log.lineFor(pid, 'C', 'warning', 'Lua debugging session child exiting'));
        this.server.log.tapChild(pid, 'warning', 'Lua debugging session child exiting');
      }
      if (left === 0 && this.reaper) {
        clearInterval(this.reaper);
        this.reaper = null;
      }
    }, 100);
    this.reaper.unref();
  }

  /** Shutdown (ldbKillForkedSessions): the forked debugging sessions are killed. */
  killDebugSessions(): void {
    for (const pid of native.ldbKill()) this.server.log.warning(`Killing debugging session ${pid}`);
  }

  /** Runs a script for `ctx` (EVAL, EVALSHA, FCALL and their _RO forms). */
  run(ctx: Ctx, kind: number, debugFlags = 0): number {
    const { server, client, out, req } = ctx;
    if (debugFlags === 0 && kind <= SCRIPT_EVALSHA_RO) {
      const mode = this.debugging.get(client);
      if (mode) {
        this.runDebugging(ctx, kind, mode);
        return 0;
      }
    }
    out.ensure(16 * 1024);
    let flags = out.resp3 ? SCRIPT_RESP3 : 0;
    if (server.execDepth > 0) flags |= SCRIPT_IN_MULTI;
    const refusal = server.persistence.writeRefusal();
    if (refusal !== null) {
      flags |= SCRIPT_WRITES_REFUSED;
      // Scripts and their calls get the AOF's own text when the AOF is why (Redis 7.0).
      native.scriptAofRefusal(server.persistence.bgsaveRefusesWrites() ? null : refusal);
    }
    // MONITOR shows each redis.call: they go through dispatch while someone monitors.
    if (server.monitors.active) flags |= SCRIPT_CALLS_VIA_TS;
    if (server.maxmemory.limit > 0 && server.maxmemory.outOfMemory && !client.mustObey) flags |= SCRIPT_OOM;
    // A user with restrictions: every redis.call is checked (and run) on the TypeScript side.
    if (!client.user.unrestricted) flags |= SCRIPT_CALLS_VIA_TS;
    const tracking = client.tracking;
    if (tracking && !tracking.bcast && server.clientTracking.cachingAllowed(tracking)) flags |= SCRIPT_TRACKING;
    flags |= server.replication.scriptFlags(client);
    let cluster: ScriptRouting | null = null;
    if (server.cluster) {
      const scriptFlags = req.argc > 1 ? native.scriptFlags(kind, req.input.subarray(req.offsets[2], req.offsets[3])) : -1;
      // scriptPrepareForRun refuses a no-cluster script once its arguments were found valid.
      const refusal = numkeysValid(req) ? noClusterRefusal(scriptFlags) : null;
      if (refusal !== null) throw new ReplyError(refusal);
      cluster = scriptRouting(client, server.commands.get(ctx.name), req, scriptFlags);
      // Every redis.call is then checked (and run) on the TypeScript side.
      flags |= SCRIPT_CALLS_VIA_TS;
    }
    flags |= debugFlags;
    this.running = { client, evalMode: kind <= SCRIPT_EVALSHA_RO, cmd: server.commands.get(ctx.name), req, cluster };
    let n: number;
    try {
      n = runScriptNative(kind, client.db, req, out.buf, out.len, flags, client.id, this.busyMs);
    } finally {
      this.running = null;
      this.busy = null;
    }
    if (n >= 0) out.len += n;
    else if (n === REPLY_PENDING) out.raw(native.takeReply());
    this.account(ctx);
    return n <= SCRIPT_FORKED ? SCRIPT_FORKED - n : 0;
  }

  /** Statistics of the commands the script ran natively, and whether its error was counted. */
  private account(ctx: Ctx): void {
    const server = this.server;
    if (scriptParams[6] & SCRIPT_ERROR_COUNTED) ctx.errorCounted = true;
    let entries = scriptParams[7];
    const overflow = entries < 0;
    if (overflow) entries = -entries - 1;
    const f = SCRIPT_LOG_FIELDS;
    for (let i = 0; i < entries; i++) this.count(scriptLog[f * i], scriptLog[f * i + 1], scriptLog[f * i + 2], scriptLog[f * i + 3], scriptLog[f * i + 4]);
    if (overflow) {
      const rest = native.takeScriptStats();
      for (let i = 0; i + f - 1 < rest.length; i += f) this.count(rest[i], rest[i + 1], rest[i + 2], rest[i + 3], rest[i + 4]);
    }
    if (scriptParams[8] > 0) for (const code of native.takeScriptErrors()) server.stats.countError(code);
  }

  private count(id: number, calls: number, usec: number, failed: number, rejected: number): void {
    const cmd = this.byId[id];
    if (!cmd) return;
    cmd.stats.calls += calls;
    cmd.stats.usec += usec;
    cmd.stats.failed += failed;
    cmd.stats.rejected += rejected;
    this.server.stats.commandsProcessed += calls;
  }

  /** INFO memory's scripting fields. */
  memoryFields(bytesToHuman: (n: number) => string): [string, number | string][] {
    const [vmEval, scriptsEval, cached, vmFunctions, functions, nFunctions, nLibraries] = native.scriptMemory();
    return [
      ['used_memory_lua', vmEval],
      ['used_memory_vm_eval', vmEval],
      ['used_memory_lua_human', bytesToHuman(vmEval)],
      ['used_memory_scripts_eval', scriptsEval],
      ['number_of_cached_scripts', cached],
      ['number_of_functions', nFunctions],
      ['number_of_libraries', nLibraries],
      ['used_memory_vm_functions', vmFunctions],
      ['used_memory_vm_total', vmEval + vmFunctions],
      ['used_memory_vm_total_human', bytesToHuman(vmEval + vmFunctions)],
      ['used_memory_functions', functions],
      ['used_memory_scripts', scriptsEval + functions],
      ['used_memory_scripts_human', bytesToHuman(scriptsEval + functions)],
    ];
  }

  /** What a running script asks of TypeScript. Nothing thrown here may reach the native side. */
  private host(op: number, a: unknown, b: unknown, c: unknown): unknown {
    try {
      switch (op) {
        case HOST_CALL:
          return this.runTsCommand(a as Buffer[], b as number, c as boolean);
        case HOST_LOG:
          this.server.log.log(levelAt(a as number), (b as Buffer).toString('latin1'));
          return undefined;
        case HOST_BUSY:
          this.busy = this.running;
          // The loop cannot reach the end of its batch while the script runs: the replies the
          // addon queued for it go out now (Redis writes pending replies while a script is busy).
          if (this.server.nativeSockets) native.sockFlush();
          return this.watchedFds();
        case HOST_INPUT:
          return this.input(a as number, b as Buffer | null);
        case HOST_ACCEPT:
          this.server.acceptFd(a as number);
          return this.watchedFds();
        case HOST_ACL: {
          // The refusal text crosses as a Buffer (null: allowed).
          const running = this.running;
          let denied = running ? this.server.acl.scriptCallDenied(running.client, a as Buffer[], b as boolean) : null;
          // A redis.call (not redis.acl_check_cmd) in cluster mode is routed as its caller's would be.
          const cluster = this.server.cluster;
          if (denied === null && running?.cluster && cluster && (b as boolean)) {
            const cmd = this.server.commands.lookupArgv((a as Buffer[]).map((x) => x.toString('latin1')));
            if (cmd) denied = scriptCallRefusal(cluster, running.cluster, cmd, a as Buffer[]);
          }
          return denied === null ? null : Buffer.from(denied, 'latin1');
        }
      }
    } catch (err) {
      this.server.log.warning(`Scripting: ${(err as Error)?.stack ?? String(err)}`);
      if (op === HOST_CALL) return [Buffer.from(`-ERR internal error: ${(err as Error)?.message ?? String(err)}\r\n`), b];
    }
    return undefined;
  }

  /**
   * A command that lives in TypeScript, for redis.call: run as the script client (the
   * script's database and protocol, blocking denied) into a writer of its own, so the
   * caller's pending replies are untouched. Returns [reply, the script client's db].
   */
  private runTsCommand(args: Buffer[], db: number, resp3: boolean): [Buffer, number] {
    const server = this.server;
    const client = this.scriptClient;
    client.db = db;
    client.resp = resp3 ? 3 : 2;
    const req = makeRequest(args);
    const writer = new ReplyWriter(1024);
    writer.resp3 = resp3;
    const savedOut = server.out;
    const savedCurrent = server.current;
    server.out = writer;
    server.current = client;
    server.execDepth++;
    try {
      const found = server.dispatcher.lookup(client, req);
      if (typeof found === 'string') writer.error(found);
      else server.dispatcher.call(client, found, req);
    } finally {
      server.execDepth--;
      server.out = savedOut;
      server.current = savedCurrent;
    }
    return [writer.take(), client.db];
  }

  /**
   * The sockets the busy pump reads: every client but the script's caller, and the listeners
   * (as -fd - 1: the pump accepts on those).
   */
  private watchedFds(): number[] {
    const fds: number[] = [];
    // Plain sockets only (writeFd >= 0): a TLS client's bytes need node:tls, so TLS clients
    // and the TLS listeners wait for the script to end.
    for (const c of this.server.clients.values()) {
      if (c !== this.busy?.client && !c.closed && (c.writeFd >= 0 || c.socket instanceof NativeSocket)) fds.push(c.fd);
    }
    for (const fd of this.server.listenerFds()) fds.push(-fd - 1);
    return fds;
  }

  /** Bytes (or, as null, the end of the stream) from a client while a script is busy. */
  private input(fd: number, data: Buffer | null): number[] | null {
    const server = this.server;
    let client: Client | undefined;
    for (const c of server.clients.values()) {
      if (c.fd === fd && !c.closed) client = c;
    }
    if (!client) return this.watchedFds();
    if (data === null) {
      server.freeClient(client);
      return this.watchedFds();
    }
    server.serveWhileBusy(client, data);
    return client.closed ? this.watchedFds() : null;
  }
}

const SCRIPT_KINDS = new Map<string, number>([
  ['eval', SCRIPT_EVAL],
  ['evalsha', SCRIPT_EVALSHA],
  ['eval_ro', SCRIPT_EVAL_RO],
  ['evalsha_ro', SCRIPT_EVALSHA_RO],
  ['fcall', SCRIPT_FCALL],
  ['fcall_ro', SCRIPT_FCALL_RO],
]);

const SCRIPT_HELP: HelpEntry[] = [
  ['debug', 'DEBUG (YES|SYNC|NO)', ['Set the debug mode for subsequent scripts executed.']],
  ['exists', 'EXISTS <sha1> [<sha1> ...]', ['Return information about the existence of the scripts in the script cache.']],
  ['flush', 'FLUSH [ASYNC|SYNC]', [
    'Flush the Lua scripts cache. Very dangerous on replicas.',
    'When called without the optional mode argument, the behavior is determined by the',
    'lazyfree-lazy-user-flush configuration directive. Valid modes are:',
    '* ASYNC: Asynchronously flush the scripts cache.',
    '* SYNC: Synchronously flush the scripts cache.',
  ]],
  ['kill', 'KILL', ['Kill the currently executing Lua script.']],
  ['load', 'LOAD <script>', ['Load a script into the scripts cache without executing it.']],
];

const FUNCTION_HELP: HelpEntry[] = [
  ['load', 'LOAD [REPLACE] <FUNCTION CODE>', ['Create a new library with the given library name and code.']],
  ['delete', 'DELETE <LIBRARY NAME>', ['Delete the given library.']],
  ['list', 'LIST [LIBRARYNAME PATTERN] [WITHCODE]', [
    'Return general information on all the libraries:',
    '* Library name',
    '* The engine used to run the Library',
    '* Functions list',
    '* Library code (if WITHCODE is given)',
    'It also possible to get only function that matches a pattern using LIBRARYNAME argument.',
  ]],
  ['stats', 'STATS', [
    'Return information about the current function running:',
    '* Function name',
    '* Command used to run the function',
    '* Duration in MS that the function is running',
    'If no function is running, return nil',
    'In addition, returns a list of available engines.',
  ]],
  ['kill', 'KILL', ['Kill the current running function.']],
  ['flush', 'FLUSH [ASYNC|SYNC]', [
    'Delete all the libraries.',
    'When called without the optional mode argument, the behavior is determined by the',
    'lazyfree-lazy-user-flush configuration directive. Valid modes are:',
    '* ASYNC: Asynchronously flush the libraries.',
    '* SYNC: Synchronously flush the libraries.',
  ]],
  ['dump', 'DUMP', ['Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command']],
  ['restore', 'RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]', [
    'Restore the libraries represented by the given payload, it is possible to give a restore policy to',
    'control how to handle existing libraries (default APPEND):',
    '* FLUSH: delete all existing libraries.',
    '* APPEND: appends the restored libraries to the existing libraries. On collision, abort.',
    '* REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old',
    '  libraries with the new libraries (notice that even on this option there is a chance of failure',
    '  in case of functions name collision with another library).',
  ]],
];

function scriptCommand(kind: number): Handler {
  return (ctx) => void ctx.server.scripting.run(ctx, kind);
}

export const scriptingCommands: [string, Handler][] = [
  ...[...SCRIPT_KINDS].map(([name, kind]): [string, Handler] => [name, scriptCommand(kind)]),
  ['script|help', (ctx) => writeHelp(ctx, SCRIPT_HELP, subcommandPresent(ctx.server, 'script'))],
  ['script|debug', (ctx) => ctx.server.scripting.scriptDebug(ctx)],
  ['function|help', (ctx) => writeHelp(ctx, FUNCTION_HELP, subcommandPresent(ctx.server, 'function'))],
];

/** EVAL/FCALL's numkeys argument is an integer within the arguments (else the script's own error comes first). */
function numkeysValid(req: Request): boolean {
  if (req.argc < 3) return false;
  const text = req.input.latin1Slice(req.offsets[4], req.offsets[5]);
  if (!/^-?(0|[1-9][0-9]*)$/.test(text)) return false;
  const n = Number(text);
  return n >= 0 && n <= req.argc - 3;
}

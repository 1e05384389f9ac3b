// processCommand as Redis 7.0 orders it: lookup, arity, auth, no_multi, MISCONF, NOREPLICAS,
// READONLY, the pub/sub context, MASTERDOWN, LOADING, then MULTI queueing or the call with
// its statistics. Native commands are one exec()
// that writes its reply straight into the shared reply Buffer.
import type { Client } from '../client';
import { EXEC_KEYS_RESTRICTED, EXEC_MAY_BLOCK, EXEC_OBUF_NORMAL, EXEC_OBUF_PUBSUB, EXEC_RESP3, EXEC_RETRY, execNative, native, REPLY_PENDING, WOULD_BLOCK } from '../native';
import type { Server } from '../server';
import { protectedNotAllowed } from './protected';
import { discardTransaction } from './transactions';
import { clientInfoLine } from './client-cmd';
import { WatchVerdict } from '../watch';
import { getNodeByQuery, mayRedirect, redirectionError } from '../cluster/redirect';
import { refusedByMisconf, type Command } from './table';
import { argStr, copyRequest, ReplyError, wrongArity, type Ctx, type Handler, type Request } from './types';

/** Commands that run immediately inside MULTI instead of being queued. */
const MULTI_IMMEDIATE = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);
/** Commands a RESP2 client may run while subscribed. */
const PUBSUB_ALLOWED = new Set(['ping', 'subscribe', 'ssubscribe', 'unsubscribe', 'sunsubscribe', 'psubscribe', 'punsubscribe', 'quit', 'reset']);
/** Read-only script commands: only the commands their scripts run make the caller remember keys. */
const SCRIPTS_READONLY = new Set(['eval_ro', 'evalsha_ro', 'fcall_ro']);


/** Commands whose arguments may name any key (SORT's BY and GET patterns): they must know whether the user may read every key. */
const NEEDS_EVERY_KEY = new Set(['sort', 'sort_ro']);

/** The handler of a native data command: one exec() per call. */
export function nativeHandler(index: number): Handler {
  return (ctx: Ctx) => {
    const { out, client, req } = ctx;
    out.ensure(16 * 1024);
    let flags = (out.resp3 ? EXEC_RESP3 : 0) | outputClassFlag(client);
    if (!client.inMulti && !ctx.server.execDepth) flags |= EXEC_MAY_BLOCK;
    if (ctx.server.blocking.isRetrying(client)) flags |= EXEC_RETRY;
    if (NEEDS_EVERY_KEY.has(ctx.name) && !ctx.server.acl.readsEveryKey(ctx.server.scripting.userOf(client), ctx.name, req)) {
      flags |= EXEC_KEYS_RESTRICTED;
    }
    const n = execNative(index, client.db, req, out.buf, out.len, flags, client.id);
    if (n >= 0) out.len += n;
    else if (n === REPLY_PENDING) out.raw(native.takeReply());
    else if (n === WOULD_BLOCK) ctx.server.blocking.block(ctx);
  };
}

/** Which class's output limit the client's replies answer to (none for our master and replicas). */
export function outputClassFlag(client: Client): number {
  const type = client.type;
  return type === 'normal' ? EXEC_OBUF_NORMAL : type === 'pubsub' ? EXEC_OBUF_PUBSUB : 0;
}

/** "ERR unknown command 'foo', with args beginning with: 'a' 'b' " exactly as Redis builds it. */
function unknownCommandError(req: Request): string {
  let args = '';
  for (let i = 1; i < req.argc && args.length < 128; i++) {
    args += `'${argStr(req, i).slice(0, 128 - args.length)}' `;
  }
  return `ERR unknown command '${argStr(req, 0).slice(0, 128)}', with args beginning with: ${args}`;
}

/**
 * The last command name seen, as raw bytes: pipelines repeat one command, and comparing a few
 * bytes is cheaper than building the name string and hashing it.
 */
class NameCache {
  private bytes = Buffer.alloc(32);
  private len = -1;
  private cmd: Command | undefined;

  get(input: Buffer, start: number, end: number): Command | undefined {
    const len = end - start;
    if (len !== this.len) return undefined;
    const bytes = this.bytes;
    for (let i = 0; i < len; i++) if (input[start + i] !== bytes[i]) return undefined;
    return this.cmd;
  }

  set(input: Buffer, start: number, end: number, cmd: Command): void {
    if (end - start > this.bytes.length) return;
    input.copy(this.bytes, 0, start, end);
    this.len = end - start;
    this.cmd = cmd;
  }
}

export class Dispatcher {
  private names = new NameCache();

  constructor(private server: Server) {}

  /** Finds the command (resolving a container's subcommand) or writes the rejection. */
  lookup(client: Client, req: Request): Command | string {
    const start = req.offsets[0];
    const end = req.offsets[1];
    let cmd = this.names.get(req.input, start, end);
    if (!cmd) {
      cmd = this.server.commands.find(argStr(req, 0));
      if (!cmd) return unknownCommandError(req);
      this.names.set(req.input, start, end, cmd);
    }
    // A container alone (COMMAND, or CONFIG with no subcommand) is judged by its own arity.
    if (!cmd.subcommands || req.argc < 2) return cmd;
    const sub = cmd.subcommands.get(argStr(req, 1).toLowerCase());
    if (!sub) {
      return `ERR unknown subcommand '${argStr(req, 1).slice(0, 128)}'. Try ${cmd.name.toUpperCase()} HELP.`;
    }
    return sub;
  }

  run(client: Client, req: Request): void {
    const replica = client.isReplica;
    const start = this.server.out.len;
    this.process(client, req);
    // A replica's link carries the stream, never replies: a command of a rogue replica that
    // answers (or is refused) costs it the link, as in Redis's _addReplyToBufferOrList.
    if (replica) this.replicaReplied(client, start);
    // Redis's resetClient: CLIENT REPLY SKIP silences the command after it, and only that one;
    // CLIENT CACHING applies to the next command (or transaction) only.
    client.replySkip = client.replySkipNext;
    client.replySkipNext = false;
    // ASKING covers the next command only (or a transaction up to its EXEC).
    if (client.asking && !client.inMulti && client.lastCommand !== 'asking') client.asking = false;
    if (client.tracking) this.server.clientTracking.commandDone(client, client.lastCommand);
  }

  /**
   * A reply written for a replica's link: dropped with the link, logged as Redis's
   * _addReplyToBufferOrList logs it (when the reply is added, so before an error's own line).
   */
  private replicaReplied(client: Client, start: number): void {
    const server = this.server;
    if (server.out.len <= start || client.closed) return;
    server.out.len = start;
    server.log.warning(`Replica generated a reply to command '${client.lastCommand}', disconnecting it: ${clientInfoLine(server, client, null)}`);
    server.freeClientAsync(client);
  }

  /** The client of the top-level call in progress (Redis's current_client), for tracking. */
  private callingClient: Client | null = null;
  /** The top-level call in progress, null between commands: the crash report's CURRENT CLIENT. */
  current: Ctx | null = null;

  private process(client: Client, req: Request): void {
    const server = this.server;
    const out = server.out;
    client.lastInteraction = server.clock;
    const found = this.lookup(client, req);
    if (typeof found === 'string') {
      client.lastCommand = 'NULL';
      return this.reject(client, null, found);
    }
    const cmd = found;
    client.lastCommand = cmd.name;
    if ((cmd.arity > 0 && req.argc !== cmd.arity) || req.argc < -cmd.arity) {
      cmd.stats.rejected++;
      return this.reject(client, cmd, wrongArity(cmd.name));
    }
    const denied = protectedNotAllowed(server, client, cmd.name);
    if (denied) {
      cmd.stats.rejected++;
      return this.reject(client, cmd, denied);
    }
    if (!client.authenticated && server.acl.authRequired && !cmd.flags.has('no_auth')) {
      cmd.stats.rejected++;
      return this.reject(client, cmd, 'NOAUTH Authentication required.');
    }
    if (client.inMulti && cmd.flags.has('no_multi')) {
      cmd.stats.rejected++;
      return this.reject(client, cmd, 'ERR Command not allowed inside a transaction');
    }
    if (!client.user.unrestricted) {
      const denied = server.acl.checkCommand(client, cmd, req, client.inMulti ? 'multi' : 'toplevel');
      if (denied) {
        cmd.stats.rejected++;
        return this.reject(client, cmd, denied);
      }
    }
    // EXEC is judged by what it would run: the flags of its queued commands count as its own
    // (Redis's mstate.cmd_flags, a script's declared flags included).
    const queued = cmd.name === 'exec' && client.inMulti ? client.multiQueue : null;
    const isWrite = cmd.isWrite || server.scripting.declaresWrites(cmd, req) || (queued !== null && queued.some((q) => q.write));
    // Cluster mode: a command for another node's slots is redirected (never our master's).
    const cluster = server.cluster;
    if (cluster !== null && !client.isMaster && mayRedirect(cmd)) {
      const routing = getNodeByQuery(cluster, client, cmd, req, queued !== null && queued.some((q) => q.write));
      if (routing.node !== cluster.state.myself) {
        cmd.stats.rejected++;
        return this.reject(client, cmd, redirectionError(cluster, routing, client), true);
      }
    }
    // maxmemory, before MISCONF: a denyoom command, or EXEC of a queue holding one, and inside
    // MULTI any command but EXEC/DISCARD/QUIT/RESET.
    // Not while a busy script holds the keyspace (isInsideYieldingLongCommand): nothing is evicted under it.
    if (server.maxmemory.limit > 0 && !server.loading && !server.scripting.busy) {
      const oom = server.maxmemory.check(client, cmd, () => server.scripting.declaresDenyOom(cmd, req));
      // Redis times call() alone: what performEvictions took (evicting, waiting for the lazy
      // free thread) is not this command's latency or slow log duration.
      if (server.callDepth === 0) server.callClock = performance.now();
      if (server.tracking) server.afterWrite(); // evicted keys dirty WATCHes and wake nobody
      if (oom) {
        cmd.stats.rejected++;
        return this.reject(client, cmd, oom);
      }
    }
    // Keep the client-side caching table within tracking-table-max-keys (before MISCONF, as Redis).
    if (server.clientTracking.active) server.clientTracking.limitTable(client);
    const refusal = this.writeRefusal(client, cmd, isWrite);
    if (refusal !== null) {
      cmd.stats.rejected++;
      return this.reject(client, cmd, refusal);
    }
    if (client.inPubSubContext && !PUBSUB_ALLOWED.has(cmd.name)) {
      cmd.stats.rejected++;
      return this.reject(
        client,
        cmd,
        `ERR Can't execute '${cmd.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`,
      );
    }
    const stale = server.replication.staleRefusal(cmd, queued !== null && queued.some((q) => !q.stale), req);
    if (stale !== null) {
      cmd.stats.rejected++;
      return this.reject(client, cmd, stale);
    }
    // An async load (a replica's swapdb) serves every command but the no-async-loading ones.
    const refusedWhileLoading = server.asyncLoading
      ? cmd.flags.has('no_async_loading') || (queued !== null && queued.some((q) => q.noAsyncLoading))
      : server.loading && (!cmd.flags.has('loading') || (queued !== null && queued.some((q) => !q.loading)));
    if (refusedWhileLoading) {
      cmd.stats.rejected++;
      return this.reject(client, cmd, 'LOADING Redis is loading the dataset in memory');
    }
    // A script past busy-reply-threshold: only the allow-busy commands run. Redis checks this
    // after LOADING (a script replayed from the AOF leaves the others loading) and before
    // queueing, so a transaction sees the refusal.
    if (server.scripting.busy && !cmd.flags.has('allow_busy')) {
      cmd.stats.rejected++;
      return this.reject(client, cmd, server.scripting.busyError());
    }
    // A script that declares flags never counts as may-replicate (scriptFlagsToCmdFlags): a
    // no-writes one runs under a WRITE pause. EXEC counts its queue's.
    const replicates = (cmd.mayReplicate && !server.scripting.declaresFlags(cmd, req)) || (queued !== null && queued.some((q) => q.mayReplicate));
    // A replica's link may not touch the keyspace (replicas are exempt from client pauses).
    if (client.isReplica && (isWrite || replicates || cmd.flags.has('readonly') || (queued !== null && queued.some((q) => q.read)))) {
      cmd.stats.rejected++;
      return this.reject(client, cmd, "ERR Replica can't interact with the keyspace");
    }
    if (server.clientPause.postpones(client, isWrite, replicates)) {
      server.clientPause.postpone(client, req);
      return;
    }
    if (client.inMulti && !MULTI_IMMEDIATE.has(cmd.name)) {
      // A transaction that already failed keeps nothing more (Redis's queueMultiCommand): its
      // commands neither take memory nor make EXEC a write.
      if (!client.multiError && server.watches.verdict(client) !== WatchVerdict.Touched) {
        client.multiQueue.push({ name: cmd.name, req: copyRequest(req), write: isWrite, mayReplicate: replicates, read: cmd.flags.has('readonly'), loading: cmd.flags.has('loading'), noAsyncLoading: cmd.flags.has('no_async_loading'), stale: server.scripting.declaredStale(cmd, req) ?? cmd.flags.has('stale'), denyOom: cmd.flags.has('denyoom') });
      }
      if (!client.repliesMuted) out.simple('QUEUED');
      return;
    }
    this.call(client, cmd, req);
    // Not while a busy script runs (this command came in meanwhile): the script may still
    // change the keys; its EVAL serves the blocked clients once it returns.
    if (server.blocking.hasReady && !server.scripting.isRunning()) server.blocking.serveReady();
  }

  /**
   * Why a command that writes (`isWrite`: its own flag, a script's declared flags, or for EXEC
   * its queued commands') or PING may not run now: MISCONF, NOREPLICAS, READONLY, in Redis's
   * order; null when it may.
   */
  writeRefusal(client: Client, cmd: Command, isWrite: boolean): string | null {
    const server = this.server;
    if (!isWrite && !refusedByMisconf(cmd)) return null;
    const misconf = server.persistence.writeRefusal();
    if (misconf !== null) {
      // Our master's stream is applied anyway, or the replica panics (replica-ignore-disk-write-errors).
      if (!client.isMaster) return misconf;
      server.replication.errors.applyDespiteDiskError(cmd.name === 'ping');
    }
    if (!isWrite) return null;
    return server.replication.writeRefusal(client);
  }

  /**
   * Redis's rejectCommand: a rejected EXEC discards the transaction and says why
   * (execCommandAbort), any other rejection inside MULTI makes EXEC abort.
   */
  private reject(client: Client, cmd: Command | null, error: string, redirection = false): void {
    if (cmd?.name === 'exec') {
      discardTransaction(this.server, client);
      // A redirection is EXEC's own answer (clusterRedirectClient after discardTransaction).
      if (!redirection) error = `EXECABORT Transaction discarded because of: ${error.replace(/^ERR /, '')}`;
    } else if (client.inMulti) {
      client.multiError = true;
    }
    this.server.stats.rejectedCalls++;
    const start = this.server.out.len;
    if (!client.repliesMuted) this.server.out.error(error);
    this.server.stats.countError(error);
    if (client.isReplica) this.replicaReplied(client, start);
    if (client.isMaster || client.isReplica) this.server.replication.errors.afterErrorReply(client, error, cmd?.name ?? null);
  }

  /** Runs a resolved command and accounts for it (also used by EXEC for queued commands). */
  call(client: Client, cmd: Command, req: Request): void {
    const server = this.server;
    const out = server.out;
    const start = out.len;
    // Top-level calls of a batch are timed end to end from the previous call's end (one clock
    // read per command instead of two; the span also covers parsing the request). Calls nested
    // in EXEC are timed on their own.
    const t0 = server.callDepth > 0 ? performance.now() : server.callClock;
    if (server.callDepth === 0) this.callingClient = client;
    server.callDepth++;
    const ctx: Ctx = { server, client, out, req, name: cmd.name };
    if (server.callDepth === 1) this.current = ctx;
    const muted = client.repliesMuted;
    const pushSpans = server.pushSpans.length;
    const monitored = server.monitors.active;
    if (monitored) server.monitors.beforeCall(client, cmd, req);
    try {
      cmd.handler(ctx);
    } catch (err) {
      out.len = start;
      if (err instanceof ReplyError) {
        out.error(err.message);
      } else {
        server.log.warning(`Internal error running '${cmd.name}': ${(err as Error)?.stack ?? String(err)}`);
        out.error(`ERR internal error: ${(err as Error)?.message ?? String(err)}`);
      }
    }
    if (server.clientTracking.active) this.rememberTrackedKeys(client, cmd, req);
    if (server.clientTracking.active || server.keyspaceEvents.on) server.deliverKeyspaceChanges(this.callingClient, true, client, start);
    server.callDepth--;
    const t1 = performance.now();
    if (server.callDepth === 0) {
      server.callClock = t1;
      this.current = null;
    }
    const usec = Math.round((t1 - t0) * 1000);
    const blocked = client.blocked;
    if (blocked === null) {
      cmd.stats.calls++;
      cmd.stats.usec += usec;
      server.latency.recordCall(cmd, usec);
      server.noteCallLatency(client, cmd, req, usec);
      server.stats.commandsProcessed++;
    } else if (!server.blocking.isRetrying(client)) {
      // The call blocked: its latency, slow log entry and errors are accounted for when it is
      // served or unblocked (Blocking.accountUnblocked, Redis's updateStatsOnUnblock). A retry
      // of an already blocked command is no call of its own.
      cmd.stats.calls++;
      cmd.stats.usec += usec;
      blocked.callUsec = usec;
      server.stats.commandsProcessed++;
    }
    if (out.len > start && out.buf[start] === 0x2d /* '-' */ && blocked === null) {
      // What the refusal's native side logged (RESTORE's reason) goes before the reply.
      server.logNativeLines();
      cmd.stats.failed++;
      if (!ctx.errorCounted) server.stats.countError(out.buf.latin1Slice(start + 1, Math.min(out.len, start + 64)));
      if (client.isMaster || client.isReplica) {
        const line = errorLine(out.buf, start, out.len);
        if (client.isReplica) this.replicaReplied(client, start);
        // Inside EXEC, Redis's afterErrorReply names the client's last command: exec.
        server.replication.errors.afterErrorReply(client, line, server.callDepth === 0 ? cmd.name : 'exec');
      }
    }
    // CLIENT REPLY OFF/SKIP: what the command wrote is dropped, its push messages kept (a
    // command that turned replies back on, CLIENT REPLY ON or RESET, keeps its reply).
    if (muted && client.repliesMuted) server.dropReplies(start, pushSpans);
    if (monitored) server.monitors.afterCall(client, cmd, req);
    if (server.tracking) server.afterWrite();
    if (server.callDepth === 0) server.clientTracking.sendPending(client);
  }

  /**
   * Client-side caching after a call: a read-only command makes its tracking client remember
   * its keys (a script's calls: the script command's keys, for the script's caller). The
   * invalidations its writes queued are sent next, with its keyspace events (the calling
   * client's own wait for its reply).
   */
  private rememberTrackedKeys(client: Client, cmd: Command, req: Request): void {
    if (!cmd.flags.has('readonly') || SCRIPTS_READONLY.has(cmd.name)) return;
    const tracking = this.server.clientTracking;
    const script = this.server.scripting.isScriptClient(client) ? this.server.scripting.runningCommand() : null;
    if (script) tracking.rememberKeys(script.client, script.cmd, script.req);
    else if (client.tracking) tracking.rememberKeys(client, cmd, req);
  }
}

/** The error reply at `start` of `buf` (its '-' there), without the dash and the CRLF. */
function errorLine(buf: Buffer, start: number, end: number): string {
  const cr = buf.indexOf(13, start);
  return buf.latin1Slice(start + 1, cr < 0 || cr > end ? end : cr);
}

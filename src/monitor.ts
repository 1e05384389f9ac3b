// MONITOR, as Redis 7.0 feeds it (replicationFeedMonitors): every command that runs through
// call() is shown to the monitors once it has run, as
//   +<seconds>.<microseconds> [<db> <ip:port>] "ARG" "ARG"...
// with <db> the database after the command (SELECT 5 shows 5) and "lua" instead of the address
// for the calls a script makes. Not shown: rejected commands (unknown, arity, NOAUTH...),
// admin commands, a blocked command when it is retried, and the skip_monitor commands (EVAL,
// EVALSHA, FCALL and their _RO forms), which are shown before they run so that their
// script's calls follow them. AUTH's and HELLO's passwords are shown as "(redacted)".
import type { Client } from './client';
import type { Command } from './commands/table';
import { arg, argStr, ReplyError, type Handler, type Request } from './commands/types';
import { quoteRepr } from './config/splitargs';
import type { Server } from './server';

const REDACTED = '"(redacted)"';

export class Monitors {
  /** The clients in MONITOR mode, in the order they asked. */
  readonly clients = new Set<Client>();

  constructor(private readonly server: Server) {}

  get active(): boolean {
    return this.clients.size > 0;
  }

  add(client: Client): void {
    client.isMonitor = true;
    this.clients.add(client);
  }

  /** RESET and disconnection: the client stops monitoring. */
  remove(client: Client): void {
    if (!client.isMonitor) return;
    client.isMonitor = false;
    this.clients.delete(client);
  }

  /** After `cmd` ran through call(): shows it unless Redis keeps it from the monitors. */
  afterCall(client: Client, cmd: Command, req: Request): void {
    if (cmd.flags.has('admin') || cmd.flags.has('skip_monitor') || this.server.blocking.isRetrying(client)) return;
    this.feed(client, req);
  }

  /** Before a skip_monitor command (the EVAL family) runs. */
  beforeCall(client: Client, cmd: Command, req: Request): void {
    if (cmd.flags.has('skip_monitor')) this.feed(client, req);
  }

  private feed(client: Client, req: Request): void {
    const server = this.server;
    const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    const source = server.scripting.isScriptClient(client) ? 'lua' : client.unixSocket !== null ? `unix:${client.unixSocket}` : client.addr;
    let line = `+${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')} [${client.db} ${source}]`;
    const redacted = redactedArguments(req);
    for (let i = 0; i < req.argc; i++) {
      line += ` ${redacted.has(i) ? REDACTED : quoteRepr(arg(req, i).toString('latin1'))}`;
    }
    const bytes = Buffer.from(`${line}\r\n`, 'latin1');
    for (const monitor of this.clients) {
      if (monitor === server.current) server.out.raw(bytes);
      else server.send(monitor, bytes);
    }
  }
}

/** The arguments Redis replaces with "(redacted)" (redactClientCommandArgument): passwords. */
function redactedArguments(req: Request): Set<number> {
  const name = argStr(req, 0).toLowerCase();
  const hidden = new Set<number>();
  if (name === 'auth') {
    // Past three arguments AUTH fails before it redacts anything.
    if (req.argc <= 3) for (let i = 1; i < req.argc; i++) hidden.add(i);
  } else if (name === 'hello') {
    for (let i = 2; i < req.argc; i++) {
      const option = argStr(req, i).toLowerCase();
      if (option === 'auth' && i + 2 < req.argc) {
        hidden.add(i + 1);
        hidden.add(i + 2);
        i += 2;
      } else if (option === 'setname' && i + 1 < req.argc) {
        i++;
      } else {
        break; // a syntax error: HELLO stops there
      }
    }
  } else if (name === 'migrate') {
    return migrateRedacted(req);
  }
  return hidden;
}

/**
 * MIGRATE's passwords (AUTH's, AUTH2's user and password), hidden as its parser meets them: it
 * stops at KEYS and at the first syntax error, and what follows stays visible.
 */
export function migrateRedacted(req: Request): Set<number> {
  const hidden = new Set<number>();
  for (let j = 6; j < req.argc; j++) {
    const more = req.argc - 1 - j;
    const option = argStr(req, j).toLowerCase();
    if (option === 'copy' || option === 'replace') continue;
    if (option === 'auth' && more >= 1) hidden.add(++j);
    else if (option === 'auth2' && more >= 2) hidden.add(++j).add(++j);
    else break;
  }
  return hidden;
}

/**
 * MONITOR: the connection becomes a monitor (a replica-like link that keeps getting replies).
 * A replica asking is ignored; a transaction or a script may not (CLIENT_DENY_BLOCKING).
 */
const monitor: Handler = (ctx) => {
  const { server, client } = ctx;
  if (server.execDepth > 0) throw new ReplyError("ERR MONITOR isn't allowed for DENY BLOCKING client");
  if (client.isReplica || client.isMonitor) return; // CLIENT_SLAVE: replicas and monitors
  server.monitors.add(client);
  ctx.out.ok();
};

export const monitorCommands: [string, Handler][] = [['monitor', monitor]];

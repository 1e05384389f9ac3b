// CONFIG GET / SET / RESETSTAT / REWRITE / HELP over the Config class (src/config), which
// owns the semantics and Redis's error texts; these handlers adapt arguments and replies.
import { ConfigCommandError } from '../config/errors';
import { native } from '../native';
import type { Server } from '../server';
import { isLocalClient } from './client-cmd';
import { subcommandPresent, writeHelp, type HelpEntry } from './command-cmd';
import { arg, argStr, ReplyError, type Ctx, type Handler } from './types';

function configGet(ctx: Ctx): void {
  const { req, out, server } = ctx;
  const patterns: string[] = [];
  for (let i = 2; i < req.argc; i++) patterns.push(argStr(req, i));
  const pairs = server.config.configGet(patterns);
  out.map(pairs.length);
  for (const [name, value] of pairs) {
    out.bulk(name);
    out.bulk(value);
  }
}

/** Runs a Config call and turns its typed failures into the error reply they carry. */
function asReply(action: () => void): void {
  try {
    action();
  } catch (err) {
    if (err instanceof ConfigCommandError) throw new ReplyError(err.message);
    throw err;
  }
}

function configSet(ctx: Ctx): void {
  const { req, server, client } = ctx;
  if ((req.argc & 1) === 1) throw new ReplyError('ERR syntax error');
  const pairs: [string, string][] = [];
  for (let i = 2; i < req.argc; i += 2) pairs.push([argStr(req, i), arg(req, i + 1).toString()]);
  asReply(() => server.config.configSet(pairs, { isLocalClient: isLocalClient(client), loading: server.loading }));
  const rebinding = server.takeRebinding();
  // New listeners are bound asynchronously: the reply waits for them (outside a transaction),
  // so that a client told OK can connect to the new port at once, as with Redis.
  if (rebinding !== null && client.execRunning < 0 && !client.closed) {
    server.blocking.blockFor(client, 'config', 0, undefined, (out) => out.ok());
    void rebinding.finally(() => {
      if (client.blocked?.name === 'config') server.blocking.release(client, (out) => out.ok());
    });
    return;
  }
  ctx.out.ok();
}

/** Everything INFO counts goes back to zero (Redis's resetServerStats + command/error tables). */
export function resetStats(server: Server): void {
  server.absorbSocketStats();
  server.stats.reset();
  for (const cmd of server.commands.everything()) {
    cmd.stats.calls = 0;
    cmd.stats.usec = 0;
    cmd.stats.rejected = 0;
    cmd.stats.failed = 0;
    cmd.stats.latency = undefined;
  }
  native.resetStats();
  // rdb_saves, total_forks and latest_fork_usec live with the persistence layer.
  server.persistence.resetStats();
  server.replication.master.resetStats();
  server.replication.errors.count = 0;
}

function configResetStat(ctx: Ctx): void {
  resetStats(ctx.server);
  ctx.out.ok();
}

function configRewrite(ctx: Ctx): void {
  const { server } = ctx;
  try {
    server.config.rewrite();
  } catch (err) {
    if (err instanceof ConfigCommandError) {
      const prefix = 'ERR Rewriting config file: ';
      if (err.message.startsWith(prefix)) server.log.warning(`CONFIG REWRITE failed: ${err.message.slice(prefix.length)}`);
      throw new ReplyError(err.message);
    }
    throw err;
  }
  server.log.notice('CONFIG REWRITE executed with success.');
  ctx.out.ok();
}

const CONFIG_HELP: HelpEntry[] = [
  ['get', 'GET <pattern>', ['Return parameters matching the glob-like <pattern> and their values.']],
  ['set', 'SET <directive> <value>', ['Set the configuration <directive> to <value>.']],
  ['resetstat', 'RESETSTAT', ['Reset statistics reported by the INFO command.']],
  ['rewrite', 'REWRITE', ['Rewrite the configuration file.']],
];

function configHelp(ctx: Ctx): void {
  writeHelp(ctx, CONFIG_HELP, subcommandPresent(ctx.server, 'config'));
}

export const configCommands: [string, Handler][] = [
  ['config|get', configGet],
  ['config|set', configSet],
  ['config|resetstat', configResetStat],
  ['config|rewrite', configRewrite],
  ['config|help', configHelp],
];

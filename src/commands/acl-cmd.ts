// ACL: SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI, CAT, GENPASS, LOG, SAVE, LOAD, DRYRUN,
// HELP, with Redis 7.0's replies and error texts (acl.c's aclCommand).
import { randomBytes } from 'node:crypto';
import { Acl, requestArgv } from '../acl';
import { CATEGORIES, categoryBit } from '../acl/commands';
import { Denied, mergeSelectorArguments, RuleError, type Selector } from '../acl/user';
import type { ReplyWriter } from '../protocol/reply';
import { subcommandPresent, writeHelp, type HelpEntry } from './command-cmd';
import { argStr, ReplyError, type Ctx, type Handler } from './types';

const NOT_INTEGER = 'ERR value is not an integer or out of range';
const GENPASS_MAX_BITS = 4096;

function parseLong(s: string): number | null {
  if (!/^-?(0|[1-9][0-9]*)$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/** The arguments from `from` on, as byte strings (rules and passwords may be binary). */
function argsFrom(ctx: Ctx, from: number): string[] {
  return requestArgv(ctx.req).slice(from);
}

function setuser(ctx: Ctx): void {
  const acl = ctx.server.acl;
  const username = argStr(ctx.req, 2);
  if (/[\s\0]/.test(username)) throw new ReplyError("ERR Usernames can't contain spaces or null characters");
  const rules = argsFrom(ctx, 3);
  const merged = mergeSelectorArguments(rules);
  if (!Array.isArray(merged)) throw new ReplyError(`ERR Unmatched parenthesis in acl selector starting at '${rules[merged.unmatched]}'.`);
  const existing = acl.users.get(username);
  const staged = acl.newUser(username);
  if (existing) staged.copyFrom(existing);
  for (const rule of merged) {
    try {
      staged.apply(rule);
    } catch (err) {
      if (!(err instanceof RuleError)) throw err;
      throw new ReplyError(`ERR Error in ACL SETUSER modifier '${rule}': ${err.message}`);
    }
  }
  if (existing) acl.killPubsubClientsIfNeeded(staged, existing);
  const user = existing ?? acl.newUser(username);
  user.copyFrom(staged);
  acl.users.set(username, user);
  acl.userChanged();
  ctx.out.ok();
}

function deluser(ctx: Ctx): void {
  const { server } = ctx;
  const names = argsFrom(ctx, 2);
  if (names.includes('default')) throw new ReplyError("ERR The 'default' user cannot be removed");
  let deleted = 0;
  for (const name of names) {
    const user = server.acl.users.get(name);
    if (!user) continue;
    server.acl.users.delete(name);
    server.acl.killClientsOf(user, ctx.client);
    deleted++;
  }
  ctx.out.int(deleted);
}

function describeSelector(out: ReplyWriter, s: Selector): void {
  out.bulk('commands');
  out.bulk(s.describeCommands());
  out.bulk('keys');
  out.bulk(Buffer.from(s.describeKeys(), 'latin1'));
  out.bulk('channels');
  out.bulk(Buffer.from(s.describeChannels(), 'latin1'));
}

function getuser(ctx: Ctx): void {
  const { out } = ctx;
  const user = ctx.server.acl.users.get(argStr(ctx.req, 2));
  if (!user) {
    out.null();
    return;
  }
  out.map(6);
  out.bulk('flags');
  const flags = user.flagNames();
  out.set(flags.length);
  for (const f of flags) out.bulk(f);
  out.bulk('passwords');
  out.array(user.passwords.length);
  for (const p of user.passwords) out.bulk(p);
  describeSelector(out, user.root);
  out.bulk('selectors');
  out.array(user.selectors.length - 1);
  for (const s of user.selectors.slice(1)) {
    out.map(3);
    describeSelector(out, s);
  }
}

function list(ctx: Ctx): void {
  const lines = ctx.server.acl.userLines();
  ctx.out.array(lines.length);
  for (const l of lines) ctx.out.bulk(Buffer.from(l, 'latin1'));
}

function users(ctx: Ctx): void {
  const all = ctx.server.acl.sortedUsers();
  ctx.out.array(all.length);
  for (const u of all) ctx.out.bulk(Buffer.from(u.name, 'latin1'));
}

function whoami(ctx: Ctx): void {
  ctx.out.bulk(Buffer.from(ctx.client.user.name, 'latin1'));
}

const NO_ACL_FILE =
  'ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.';

function load(ctx: Ctx): void {
  const acl = ctx.server.acl;
  if (acl.aclFile === '') throw new ReplyError(NO_ACL_FILE);
  const errors = acl.loadFile();
  if (errors !== null) throw new ReplyError(`ERR ${errors}`);
  ctx.out.ok();
}

function save(ctx: Ctx): void {
  const acl = ctx.server.acl;
  if (acl.aclFile === '') throw new ReplyError(NO_ACL_FILE);
  if (!acl.saveFile()) throw new ReplyError('ERR There was an error trying to save the ACLs. Please check the server logs for more information');
  ctx.out.ok();
}

function cat(ctx: Ctx): void {
  const { out, req } = ctx;
  if (req.argc === 2) {
    out.array(CATEGORIES.length);
    for (const c of CATEGORIES) out.bulk(c);
    return;
  }
  if (req.argc !== 3) return subcommandSyntaxError(ctx);
  const name = argStr(req, 2);
  const bit = categoryBit(name);
  if (bit === 0) throw new ReplyError(`ERR Unknown category '${name.slice(0, 128)}'`);
  const commands = ctx.server.acl.commands.inCategory(bit);
  out.array(commands.length);
  for (const c of commands) out.bulk(c.name);
}

function genpass(ctx: Ctx): void {
  const { req } = ctx;
  let bits = 256;
  if (req.argc === 3) {
    const n = parseLong(argStr(req, 2));
    if (n === null) throw new ReplyError(NOT_INTEGER);
    bits = n;
  } else if (req.argc !== 2) {
    return subcommandSyntaxError(ctx);
  }
  if (bits <= 0 || bits > GENPASS_MAX_BITS) {
    throw new ReplyError(`ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to ${GENPASS_MAX_BITS}`);
  }
  const chars = Math.floor((bits + 3) / 4);
  ctx.out.bulk(randomBytes(Math.ceil(chars / 2)).toString('hex').slice(0, chars));
}

function log(ctx: Ctx): void {
  const { req, out, server } = ctx;
  const acl = server.acl;
  let count = 10;
  if (req.argc === 3) {
    const arg = argStr(req, 2);
    if (arg.toLowerCase() === 'reset') {
      acl.log = [];
      out.ok();
      return;
    }
    const n = parseLong(arg);
    if (n === null) throw new ReplyError(NOT_INTEGER);
    count = Math.max(0, n);
  } else if (req.argc !== 2) {
    return subcommandSyntaxError(ctx);
  }
  const entries = acl.log.slice(0, count);
  const now = Date.now();
  out.array(entries.length);
  for (const e of entries) {
    out.map(7);
    out.bulk('count');
    out.int(e.count);
    out.bulk('reason');
    out.bulk(Acl.reasonName(e.reason));
    out.bulk('context');
    out.bulk(e.context);
    out.bulk('object');
    out.bulk(Buffer.from(e.object, 'latin1'));
    out.bulk('username');
    out.bulk(Buffer.from(e.username, 'latin1'));
    out.bulk('age-seconds');
    out.double((now - e.ctime) / 1000);
    out.bulk('client-info');
    out.bulk(e.clientInfo);
  }
}

function dryrun(ctx: Ctx): void {
  const { req, server, out } = ctx;
  const argv = argsFrom(ctx, 3);
  const user = server.acl.users.get(argStr(req, 2));
  if (!user) throw new ReplyError(`ERR User '${argStr(req, 2)}' not found`);
  const cmd = server.commands.lookupArgv(argv);
  if (!cmd) throw new ReplyError(`ERR Command '${argv[0]}' not found`);
  if ((cmd.arity > 0 && cmd.arity !== argv.length) || argv.length < -cmd.arity) {
    throw new ReplyError(`ERR wrong number of arguments for '${cmd.name}' command`);
  }
  const denial = server.acl.check(user, cmd, argv);
  if (!denial) {
    out.ok();
    return;
  }
  const text = denial.reason === Denied.Command ? `This user has no permissions to run the '${denial.cmd.name}' command`
    : denial.reason === Denied.Key ? `This user has no permissions to access the '${argv[denial.index]}' key`
      : `This user has no permissions to access the '${argv[denial.index]}' channel`;
  out.bulk(Buffer.from(text, 'latin1'));
}

function subcommandSyntaxError(ctx: Ctx): never {
  throw new ReplyError(`ERR unknown subcommand or wrong number of arguments for '${argStr(ctx.req, 1).slice(0, 128)}'. Try ACL HELP.`);
}

const ACL_HELP: HelpEntry[] = [
  ['cat', 'CAT [<category>]', ['List all commands that belong to <category>, or all command categories', 'when no category is specified.']],
  ['deluser', 'DELUSER <username> [<username> ...]', ['Delete a list of users.']],
  ['dryrun', 'DRYRUN <username> <command> [<arg> ...]', ['Returns whether the user can execute the given command without executing the command.']],
  ['getuser', 'GETUSER <username>', ["Get the user's details."]],
  ['genpass', 'GENPASS [<bits>]', ['Generate a secure 256-bit user password. The optional `bits` argument can', 'be used to specify a different size.']],
  ['list', 'LIST', ['Show users details in config file format.']],
  ['load', 'LOAD', ['Reload users from the ACL file.']],
  ['log', 'LOG [<count> | RESET]', ['Show the ACL log entries.']],
  ['save', 'SAVE', ['Save the current config to the ACL file.']],
  ['setuser', 'SETUSER <username> <attribute> [<attribute> ...]', ['Create or modify a user with the specified attributes.']],
  ['users', 'USERS', ['List all the registered usernames.']],
  ['whoami', 'WHOAMI', ['Return the current connection username.']],
];

function help(ctx: Ctx): void {
  writeHelp(ctx, ACL_HELP, subcommandPresent(ctx.server, 'acl'));
}

export const aclCommands: [string, Handler][] = [
  ['acl|setuser', setuser],
  ['acl|deluser', deluser],
  ['acl|getuser', getuser],
  ['acl|list', list],
  ['acl|users', users],
  ['acl|whoami', whoami],
  ['acl|load', load],
  ['acl|save', save],
  ['acl|cat', cat],
  ['acl|genpass', genpass],
  ['acl|log', log],
  ['acl|dryrun', dryrun],
  ['acl|help', help],
];

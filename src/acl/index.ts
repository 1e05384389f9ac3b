// The server's ACL state (Redis 7.0's acl.c): users (the default user included), the checks
// every command path makes, authentication, the ACL LOG, `user` lines and the ACL file.
import * as fs from 'node:fs';
import type { Client } from '../client';
import { clientInfoLine } from '../commands/client-cmd';
import { getKeys, hasKeys } from '../commands/keys-of';
import type { Command, CommandTable } from '../commands/table';
import { argStr, type Request } from '../commands/types';
import { consume } from '../config/consumers';
import type { ReplyWriter } from '../protocol/reply';
import { strerror } from '../config/errors';
import { stringMatch } from '../config/glob';
import type { Server } from '../server';
import { AclCommands, type AclCommand } from './commands';
import { Denied, mergeSelectorArguments, RULE_ERRORS, RuleError, User, type CheckRequest } from './user';

const PROOF = 'test/server/acl.test.ts';
const REQUIREPASS = consume('requirepass', 'test/server/directives.test.ts', PROOF);
const ACLFILE = consume('aclfile', PROOF);
const ACLLOG_MAX_LEN = consume('acllog-max-len', PROOF);
const ACL_PUBSUB_DEFAULT = consume('acl-pubsub-default', PROOF);

/** Where a denial happened (ACL_LOG_CTX_*). */
export type AclContext = 'toplevel' | 'multi' | 'lua' | 'module';

const REASONS: Record<Denied, string> = {
  [Denied.None]: 'unknown',
  [Denied.Command]: 'command',
  [Denied.Key]: 'key',
  [Denied.Auth]: 'auth',
  [Denied.Channel]: 'channel',
};

/** ACL_LOG_GROUPING_MAX_TIME_DELTA: a repeat within a minute bumps the entry's count. */
const LOG_GROUPING_MS = 60_000;

/** The default user's rules at start-up (and the internal superuser's). */
const FULL_ACCESS = ['+@all', '~*', '&*', 'on', 'nopass'];

export interface AclLogEntry {
  count: number;
  reason: Denied;
  context: AclContext;
  object: string;
  username: string;
  /** ms since the epoch of the last occurrence. */
  ctime: number;
  clientInfo: string;
}

/** What a check found: nothing (allowed), or why not and which argument. */
export interface Denial {
  reason: Denied;
  /** The argument that was refused (key or channel), for the log entry and DRYRUN. */
  index: number;
  cmd: AclCommand;
}

/** Channel arguments of the commands that have them (ACLDoesCommandHaveChannels). */
function channelPositions(name: string, argc: number): { pos: number; literal: boolean }[] {
  switch (name) {
    case 'publish':
    case 'spublish':
      return [{ pos: 1, literal: false }];
    case 'subscribe':
    case 'ssubscribe':
    case 'psubscribe': {
      const literal = name === 'psubscribe';
      return Array.from({ length: argc - 1 }, (_, i) => ({ pos: i + 1, literal }));
    }
    default:
      return [];
  }
}

const READ = 1;
const WRITE = 2;

function keyNeeds(flags: string[]): number {
  let need = 0;
  if (flags.includes('access')) need |= READ;
  if (flags.includes('insert') || flags.includes('delete') || flags.includes('update')) need |= WRITE;
  return need;
}

export function checkRequest(cmd: AclCommand, argv: string[]): CheckRequest {
  let keys: { pos: number; flags: number }[] | null = null;
  return {
    cmd,
    argv,
    keys: () => {
      if (keys === null) {
        keys = hasKeys(cmd.command) ? getKeys(cmd.command, argv).map((k) => ({ pos: k.pos, flags: keyNeeds(k.flags) })) : [];
      }
      return keys;
    },
    channels: channelPositions(cmd.command.name, argv.length),
  };
}

export function requestArgv(req: Request): string[] {
  const argv: string[] = [];
  for (let i = 0; i < req.argc; i++) argv.push(argStr(req, i));
  return argv;
}

export class Acl {
  readonly commands: AclCommands;
  /** Every user by name; ACL LIST / USERS / SAVE list them in byte order (Redis's rax). */
  users = new Map<string, User>();
  readonly defaultUser: User;
  /** Allowed everything and listed nowhere: for internal clients Redis runs without a user (the AOF's). */
  readonly superuser: User;
  log: AclLogEntry[] = [];
  /** Clients must AUTH first: the default user has passwords or is off (Redis's authRequired). */
  authRequired = false;

  constructor(private readonly server: Server, table: CommandTable) {
    this.commands = new AclCommands(table);
    this.defaultUser = this.createDefaultUser();
    this.superuser = this.newUser('');
    for (const rule of FULL_ACCESS) this.superuser.apply(rule);
    this.users.set('default', this.defaultUser);
    const config = server.config;
    this.applyRequirepass(config.optionalStr(REQUIREPASS));
    config.onApply(REQUIREPASS, (value) => this.applyRequirepass(value === '' ? null : value));
  }

  private allChannelsByDefault = (): boolean => this.server.config.str(ACL_PUBSUB_DEFAULT) === 'allchannels';

  newUser(name: string): User {
    return new User(name, this.commands, this.allChannelsByDefault);
  }

  private createDefaultUser(): User {
    const u = this.newUser('default');
    for (const rule of FULL_ACCESS) u.apply(rule);
    return u;
  }

  /** ACLUpdateDefaultUserPassword: requirepass is the default user's one password. */
  private applyRequirepass(password: string | null): void {
    this.defaultUser.apply('resetpass');
    this.defaultUser.apply(password === null ? 'nopass' : `>${password}`);
    this.userChanged();
  }

  /** After any change to users: recompute what the fast checks read. */
  userChanged(): void {
    const d = this.defaultUser;
    this.authRequired = !d.noPass || !d.enabled;
  }

  /** A new connection (or RESET): the default user, authenticated when it needs no password. */
  setDefaultAuth(client: Client): void {
    client.user = this.defaultUser;
    client.authenticated = this.defaultUser.noPass && this.defaultUser.enabled;
  }

  sortedUsers(): User[] {
    return [...this.users.values()].sort((a, b) => Buffer.compare(Buffer.from(a.name, 'latin1'), Buffer.from(b.name, 'latin1')));
  }

  // -----------------------------------------------------------------------------------------
  // Checks

  /** ACLCheckAllUserCommandPerm for `user` running `cmd` with `argv`. */
  check(user: User, cmd: Command, argv: string[]): Denial | null {
    const entry = this.commands.of(cmd);
    const at = { index: 0 };
    const reason = user.check(checkRequest(entry, argv), at);
    return reason === Denied.None ? null : { reason, index: at.index, cmd: entry };
  }

  /**
   * ACLUserCheckCmdWithUnrestrictedKeyAccess (read access): one selector of `user` both allows
   * the command `name` (original name) with the request's arguments and reads every key.
   */
  readsEveryKey(user: User, name: string, req: Request): boolean {
    if (user.unrestricted) return true;
    const cmd = this.server.commands.get(name);
    if (!cmd) return false;
    const request = checkRequest(this.commands.of(cmd), requestArgv(req));
    return user.selectors.some((s) => s.readsEveryKey() && s.check(request, { index: 0 }) === Denied.None);
  }

  /**
   * The check processCommand makes: null when allowed, else the NOPERM error (the denial is
   * logged with `context`).
   */
  checkCommand(client: Client, cmd: Command, req: Request, context: AclContext): string | null {
    const argv = requestArgv(req);
    const denial = this.check(client.user, cmd, argv);
    if (!denial) return null;
    this.addLogEntry(client, denial.reason, context, this.logObject(denial, argv), null);
    switch (denial.reason) {
      case Denied.Command:
        return `NOPERM this user has no permissions to run the '${denial.cmd.name}' command`;
      case Denied.Key:
        return 'NOPERM this user has no permissions to access one of the keys used as arguments';
      default:
        return 'NOPERM this user has no permissions to access one of the channels used as arguments';
    }
  }

  /**
   * EXEC checks each queued command again (the rules may have changed since it was queued):
   * true when it is refused, with Redis's error in the EXEC reply and a log entry.
   */
  deniedAtExec(client: Client, cmd: Command, req: Request, out: ReplyWriter): boolean {
    const argv = requestArgv(req);
    const denial = this.check(client.user, cmd, argv);
    if (!denial) return false;
    const reason = denial.reason === Denied.Command ? 'no permission to execute the command or subcommand'
      : denial.reason === Denied.Key ? 'no permission to touch the specified keys'
        : 'no permission to access one of the channels used as arguments';
    this.addLogEntry(client, denial.reason, 'multi', this.logObject(denial, argv), null);
    const error = `NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: ${reason}`;
    out.error(error);
    this.server.stats.countError(error);
    return true;
  }

  /**
   * A command a script calls (redis.call, redis.acl_check_cmd), checked for the script's
   * caller: null when allowed, else Redis's refusal text; `log` records the denial.
   */
  scriptCallDenied(caller: Client, args: Buffer[], log: boolean): string | null {
    const argv = args.map((a) => a.toString('latin1'));
    const cmd = this.server.commands.lookupArgv(argv);
    if (!cmd) return null;
    const denial = this.check(caller.user, cmd, argv);
    if (!denial) return null;
    if (log) this.addLogEntry(caller, denial.reason, 'lua', this.logObject(denial, argv), null);
    switch (denial.reason) {
      case Denied.Command:
        return "The user executing the script can't run this command or subcommand";
      case Denied.Key:
        return "The user executing the script can't access at least one of the keys mentioned in the command arguments";
      default:
        return "The user executing the script can't publish to the channel mentioned in the command";
    }
  }

  /** What a denial's log entry names: the command, or the key or channel argument. */
  logObject(denial: Denial, argv: string[]): string {
    return denial.reason === Denied.Command ? denial.cmd.name : argv[denial.index];
  }

  // -----------------------------------------------------------------------------------------
  // Authentication

  /** ACLAuthenticateUser: true and the client is that user, or false and a log entry. */
  authenticate(client: Client, username: string, password: Buffer, commandName: string): boolean {
    const user = this.users.get(username);
    if (user && user.passwordMatches(password)) {
      client.user = user;
      client.authenticated = true;
      return true;
    }
    this.addLogEntry(client, Denied.Auth, client.inMulti ? 'multi' : 'toplevel', commandName, username);
    return false;
  }

  // -----------------------------------------------------------------------------------------
  // ACL LOG

  /** addACLLogEntry: groups a repeat of a recent entry, trims to acllog-max-len. */
  addLogEntry(client: Client, reason: Denied, context: AclContext, object: string, username: string | null): void {
    const now = Date.now();
    const entry: AclLogEntry = {
      count: 1,
      reason,
      context,
      object,
      username: username ?? client.user.name,
      ctime: now,
      clientInfo: clientInfoLine(this.server, client, null),
    };
    const match = this.log.slice(0, 10).findIndex((e) =>
      e.reason === entry.reason && e.context === entry.context && Math.abs(e.ctime - entry.ctime) <= LOG_GROUPING_MS
      && e.object === entry.object && e.username === entry.username);
    if (match >= 0) {
      const existing = this.log[match];
      this.log.splice(match, 1);
      this.log.unshift(existing);
      existing.clientInfo = entry.clientInfo;
      existing.ctime = now;
      existing.count++;
      return;
    }
    this.log.unshift(entry);
    const max = this.server.config.int(ACLLOG_MAX_LEN);
    if (this.log.length > max) this.log.length = max;
  }

  static reasonName(reason: Denied): string {
    return REASONS[reason];
  }

  // -----------------------------------------------------------------------------------------
  // Users changing under connected clients

  /** ACLFreeUserAndKillClients: clients of a deleted user are reset to default and closed. */
  killClientsOf(user: User, current: Client | null): void {
    for (const c of [...this.server.clients.values()]) {
      if (c.user !== user) continue;
      c.user = this.defaultUser;
      c.authenticated = false;
      if (c === current) c.closeAfterReply = true;
      else this.server.freeClientAsync(c);
    }
  }

  /**
   * ACLKillPubsubClientsIfNeeded: when `updated` no longer allows every channel `original`
   * did, its pub/sub clients subscribed to a channel or pattern now refused are closed.
   */
  killPubsubClientsIfNeeded(updated: User, original: User): void {
    if (updated.selectors.some((s) => s.allChannels)) return;
    const upcoming = updated.selectors.flatMap((s) => s.channels);
    // An original selector allowing every channel is never kept by a list of channels.
    const kept = original.selectors.every((s) => !s.allChannels && s.channels.every((c) => upcoming.includes(c)));
    if (kept) return;
    const allowed = (channel: string, literal: boolean) =>
      upcoming.some((p) => (literal ? p === channel : stringMatch(p, channel, false)));
    for (const c of [...this.server.clients.values()]) {
      if (c.user !== original || c.type !== 'pubsub') continue;
      const refused = [...c.patterns].some((p) => !allowed(p, true))
        || [...c.channels].some((ch) => !allowed(ch, false))
        || [...c.shardChannels].some((ch) => !allowed(ch, false));
      if (refused) this.server.freeClient(c);
    }
  }

  // -----------------------------------------------------------------------------------------
  // Users from the configuration and the ACL file

  get aclFile(): string {
    return this.server.config.str(ACLFILE);
  }

  /**
   * ACLLoadUsersAtStartup: `user` lines of the configuration, or the ACL file (not both).
   * Returns the log lines and whether start-up must stop, as Redis words them.
   */
  loadAtStartup(userLines: string[][]): { warnings: string[]; notices: string[]; fatal: boolean } {
    const warnings: string[] = [];
    const notices: string[] = [];
    if (this.aclFile !== '' && userLines.length > 0) {
      warnings.push('Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.');
      return { warnings, notices, fatal: true };
    }
    for (const [name, ...rules] of userLines) {
      if (/[\s\0]/.test(name)) {
        warnings.push('Spaces not allowed in ACL usernames');
        warnings.push('Critical error while loading ACLs. Exiting.');
        return { warnings, notices, fatal: true };
      }
      let user = this.users.get(name);
      if (!user) {
        user = this.newUser(name);
        this.users.set(name, user);
      } else {
        user.apply('reset');
      }
      const merged = mergeSelectorArguments(rules);
      for (const rule of Array.isArray(merged) ? merged : []) {
        try {
          user.apply(rule);
        } catch (err) {
          if (!(err instanceof RuleError)) throw err;
          warnings.push(`Error loading ACL rule '${rule}' for the user named '${name}': ${err.message}`);
          warnings.push('Critical error while loading ACLs. Exiting.');
          return { warnings, notices, fatal: true };
        }
      }
      if (!user.enabled) {
        notices.push(`The user '${name}' is disabled (there is no 'on' modifier in the user description). Make sure this is not a configuration error.`);
      }
    }
    this.userChanged();
    if (this.aclFile !== '') {
      const errors = this.loadFile();
      if (errors !== null) {
        warnings.push(`Aborting Redis startup because of ACL errors: ${errors}`);
        return { warnings, notices, fatal: true };
      }
    }
    return { warnings, notices, fatal: false };
  }

  /**
   * ACLLoadFromFile: every line must be valid or nothing changes. Returns null, or the errors
   * in one line as Redis reports them.
   */
  loadFile(): string | null {
    const filename = this.aclFile;
    let text: string;
    try {
      text = fs.readFileSync(filename, 'latin1');
    } catch (err) {
      return `Error loading ACLs, opening file '${filename}': ${strerror(err)}`;
    }
    let errors = '';
    const users = new Map<string, User>();
    text.split('\n').forEach((raw, i) => {
      const linenum = i + 1;
      const line = raw.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
      if (line === '') return;
      // sdssplitlen on single spaces: empty strings between double spaces are arguments too.
      const argv = line.split(' ');
      if (argv[0] !== 'user' || argv.length < 2) {
        errors += `${filename}:${linenum} should start with user keyword followed by the username. `;
        return;
      }
      const name = argv[1];
      if (/[\s\0]/.test(name)) {
        errors += `'${filename}:${linenum}: username '${name}' contains invalid characters. `;
        return;
      }
      if (users.has(name)) {
        errors += `WARNING: Duplicate user '${name}' found on line ${linenum}. `;
        return;
      }
      const user = this.newUser(name);
      users.set(name, user);
      const merged = mergeSelectorArguments(argv.slice(2));
      if (!Array.isArray(merged)) {
        errors += `${filename}:${linenum}: Unmatched parenthesis in selector definition.`;
        return;
      }
      let syntaxError = false;
      for (const raw of merged) {
        const rule = raw.replace(/^[\t\r\n]+|[\t\r\n]+$/g, '');
        try {
          user.apply(rule);
        } catch (err) {
          if (!(err instanceof RuleError)) throw err;
          // An unknown command is named; of other errors only a line's first is reported.
          if (err.message === RULE_ERRORS.unknown) {
            errors += `${filename}:${linenum}: Error in applying operation '${rule}': ${err.message}. `;
          } else if (!syntaxError) {
            errors += `${filename}:${linenum}: ${err.message}. `;
            syntaxError = true;
          }
        }
      }
    });
    if (errors !== '') return `${errors}WARNING: ACL errors detected, no change to the previously active ACL rules was performed`;
    const loadedDefault = users.get('default') ?? this.createDefaultUser();
    this.defaultUser.copyFrom(loadedDefault);
    users.set('default', this.defaultUser);
    const old = this.users;
    this.users = users;
    for (const user of old.values()) if (user !== this.defaultUser) this.killClientsOf(user, this.server.current);
    this.userChanged();
    return null;
  }

  /** `user <name> <rules>` lines for the ACL file and CONFIG REWRITE. */
  userLines(): string[] {
    return this.sortedUsers().map((u) => `user ${u.name} ${u.describe()}`);
  }

  /** ACLSaveToFile: a temp file renamed over the ACL file; false (logged) on failure. */
  saveFile(): boolean {
    const filename = this.aclFile;
    const tmp = `${filename}.tmp-${process.pid}-${Date.now()}`;
    const content = this.userLines().map((l) => `${l}\n`).join('');
    try {
      fs.writeFileSync(tmp, content, { encoding: 'latin1', mode: 0o644 });
    } catch (err) {
      this.server.log.warning(`Opening temp ACL file for ACL SAVE: ${strerror(err)}`);
      return false;
    }
    try {
      fs.renameSync(tmp, filename);
    } catch (err) {
      this.server.log.warning(`Renaming ACL file for ACL SAVE: ${strerror(err)}`);
      fs.rmSync(tmp, { force: true });
      return false;
    }
    return true;
  }
}

/** Validates one `user` line of the configuration (ACLAppendUserForLoading). */
export function validateUserLine(commands: AclCommands, seen: Set<string>, args: string[]): string | null {
  const argv = ['user', ...args];
  if (seen.has(args[0])) return `Error in user declaration '${argv[1]}': ${RULE_ERRORS.duplicateUser}`;
  const merged = mergeSelectorArguments(args.slice(1));
  // Redis reports the argument at the relative index of the failure in the whole line.
  if (!Array.isArray(merged)) return `Error in user declaration '${argv[merged.unmatched]}': ${RULE_ERRORS.unknown}`;
  const fake = new User('__fakeuser__', commands, () => false);
  for (let j = 0; j < merged.length; j++) {
    try {
      fake.apply(merged[j]);
    } catch (err) {
      if (!(err instanceof RuleError)) throw err;
      // Unknown commands may be defined later (modules, in Redis): only those are let through.
      if (err.message !== RULE_ERRORS.unknown) return `Error in user declaration '${argv[j]}': ${err.message}`;
    }
  }
  seen.add(args[0]);
  return null;
}

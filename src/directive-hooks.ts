// The redis.conf directives that are not configs but act on the command table: `user` (ACL
// users, checked while the file is read as Redis's ACLAppendUserForLoading does) and
// `rename-command` (checked here line by line; the server renames in its command table once
// it is built, see Server's constructor).
import { validateUserLine } from './acl';
import { AclCommands } from './acl/commands';
import { nativeHandler } from './commands/dispatch';
import { tsHandlers } from './commands/registry';
import { CommandTable, specFor } from './commands/table';
import type { LoadConfigOptions } from './config';
import { native } from './native';

export function directiveHooks(): Pick<LoadConfigOptions, 'user' | 'renameCommand'> {
  let table: CommandTable | null = null;
  const commands = (): CommandTable => (table ??= new CommandTable(tsHandlers(), native.commandNames(), nativeHandler));
  let aclCommands: AclCommands | null = null;
  const seenUsers = new Set<string>();
  const renamed = new Map<string, string | null>();
  return {
    user: (args) => validateUserLine((aclCommands ??= new AclCommands(commands())), seenUsers, args),
    renameCommand: (from, to) => checkRename(renamed, from, to),
  };
}

/**
 * A `rename-command from to` line against the names earlier lines left (Redis renames in its
 * live command table, so `a b` then `b c` works and `a b` then `a c` does not).
 */
function checkRename(renamed: Map<string, string | null>, from: string, to: string): string | null {
  // Redis's own command table decides (a command keyfork lacks may be renamed or removed too).
  const current = (name: string): string | null => {
    const lower = name.toLowerCase();
    for (const [original, now] of renamed) if (now === lower) return original;
    if (renamed.has(lower) || !specFor(lower) || lower.includes('|')) return null;
    return lower;
  };
  const original = current(from);
  if (original === null) return 'No such command in rename-command';
  renamed.set(original, null);
  if (to !== '') {
    if (current(to) !== null) {
      return 'Target command name already exists';
    }
    renamed.set(original, to.toLowerCase());
  }
  return null;
}

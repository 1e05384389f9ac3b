// The redis.conf directives that are not configs but act on the command table: `user` (ACL
// users, checked while the file is read as Redis's ACLAppendUserForLoading does) and
// `rename-command`. The server applies what they recorded once it is built.
import { validateUserLine } from './acl';
import { AclCommands } from './acl/commands';
import { nativeHandler } from './commands/dispatch';
import { tsHandlers } from './commands/registry';
import { CommandTable } from './commands/table';
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
    renameCommand: (from, to) => checkRename(commands(), renamed, from, to),
  };
}

/**
 * A `rename-command from to` line against the names earlier lines left (Redis renames in its
 * live command table, so `a b` then `b c` works and `a b` then `a c` does not).
 */
function checkRename(table: CommandTable, renamed: Map<string, string | null>, from: string, to: string): string | null {
  const current = (name: string): string | null => {
    const lower = name.toLowerCase();
    for (const [original, now] of renamed) if (now === lower) return original;
    if (renamed.has(lower) || !table.get(lower) || lower.includes('|')) return null;
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

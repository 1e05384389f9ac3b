// The command universe ACL rules speak about: every implemented command and subcommand of the
// command table with a numeric id (the bit it owns in a selector) and its categories, taken
// from the table's acl_categories. Renamed commands keep their original names here, as Redis
// bases ACLs on its original command table.
import type { Command, CommandTable } from '../commands/table';

/** Redis's ACLCommandCategories, in its order (ACL CAT, and the order rules are described in). */
export const CATEGORIES = [
  'keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string', 'bitmap', 'hyperloglog', 'geo', 'stream',
  'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous', 'connection', 'transaction', 'scripting',
] as const;

export interface AclCommand {
  id: number;
  /** Full name: `get`, `config|get`. */
  name: string;
  /** Bit j set: in CATEGORIES[j]. */
  categories: number;
  noAuth: boolean;
  command: Command;
  parent: AclCommand | null;
  subcommands: AclCommand[];
}

export function categoryBit(name: string): number {
  const i = CATEGORIES.indexOf(name.toLowerCase() as (typeof CATEGORIES)[number]);
  return i < 0 ? 0 : 1 << i;
}

export class AclCommands {
  /** Top-level commands, each with its subcommands (the order rules are described in). */
  readonly top: AclCommand[] = [];
  /** Every command and subcommand, indexed by id. */
  readonly byId: AclCommand[] = [];
  private readonly byCommand = new Map<Command, AclCommand>();

  constructor(private readonly table: CommandTable) {
    for (const cmd of table.originals()) {
      const entry = this.add(cmd, null);
      this.top.push(entry);
      for (const sub of cmd.subcommands?.values() ?? []) entry.subcommands.push(this.add(sub, entry));
    }
  }

  private add(cmd: Command, parent: AclCommand | null): AclCommand {
    let categories = 0;
    for (const c of cmd.spec.acl_categories ?? []) categories |= categoryBit(c.replace(/^@/, ''));
    const entry: AclCommand = {
      id: this.byId.length, name: cmd.name, categories, noAuth: cmd.flags.has('no_auth'), command: cmd, parent, subcommands: [],
    };
    this.byId.push(entry);
    this.byCommand.set(cmd, entry);
    return entry;
  }

  get count(): number {
    return this.byId.length;
  }

  of(cmd: Command): AclCommand {
    const entry = this.byCommand.get(cmd);
    if (!entry) throw new Error(`command ${cmd.name} has no ACL id`);
    return entry;
  }

  /** ACLLookupCommand: `name` or `container|sub`, case-insensitive, no deeper. */
  lookup(name: string): AclCommand | null {
    const parts = name.split('|');
    if (parts.length > 2) return null;
    const cmd = this.table.get(parts[0].toLowerCase());
    if (!cmd) return null;
    if (parts.length === 1) return this.of(cmd);
    const sub = cmd.subcommands?.get(parts[1].toLowerCase());
    return sub ? this.of(sub) : null;
  }

  /** Every command (and subcommand) in a category, in table order (ACL CAT <category>). */
  inCategory(bit: number): AclCommand[] {
    const found: AclCommand[] = [];
    for (const cmd of this.top) {
      if (cmd.categories & bit) found.push(cmd);
      for (const sub of cmd.subcommands) if (sub.categories & bit) found.push(sub);
    }
    return found;
  }
}

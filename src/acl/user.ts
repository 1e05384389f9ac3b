// ACL users and selectors (Redis 7.0's acl.c): what each rule of ACL SETUSER / `user` does,
// the permission checks, and the description ACL LIST / GETUSER / SAVE print.
import { createHash } from 'node:crypto';
import { stringMatch } from '../config/glob';
import { splitArgs } from '../config/splitargs';
import { CATEGORIES, type AclCommand, type AclCommands } from './commands';

/** Why a rule was refused: Redis's ACLSetUserStringError texts. */
/**
 * Counts changes of any user's rules: a client served by the addon alone must come back to
 * TypeScript when its user may have become restricted (Server.pushSocketGate).
 */
export const aclRulesVersion = { value: 0 };

export const RULE_ERRORS = {
  unknown: 'Unknown command or category name in ACL',
  syntax: 'Syntax error',
  keysAfterAll: "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
  channelsAfterAll: "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
  noSuchPassword: 'The password you are trying to remove from the user does not exist',
  badHash: 'The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters',
  duplicateUser: 'Duplicate user found. A user can only be defined once in config files',
  subcommandFirstArg: 'Allowing first-arg of a subcommand is not supported',
} as const;

export class RuleError extends Error {}

const READ = 1;
const WRITE = 2;

export interface KeyPattern {
  pattern: string;
  /** READ | WRITE. */
  flags: number;
}

/** Redis's ACL_DENIED_* codes (their order decides which denial is reported). */
export const enum Denied {
  None = 0,
  Command = 1,
  Key = 2,
  Auth = 3,
  Channel = 4,
}

/** What a command needs checked: its key arguments (with R/W needs) and channel arguments. */
export interface CheckRequest {
  cmd: AclCommand;
  /** Arguments as latin1 strings (index 0 is the command name). */
  argv: string[];
  /** Key positions and whether they are read and/or written (computed once, lazily). */
  keys: () => { pos: number; flags: number }[];
  /** Channel positions and whether they are matched literally (PSUBSCRIBE's patterns). */
  channels: { pos: number; literal: boolean }[];
}

function hasSpaces(s: string): boolean {
  return /[\s\0]/.test(s);
}

export function hashPassword(cleartext: Buffer | string): string {
  return createHash('sha256').update(typeof cleartext === 'string' ? Buffer.from(cleartext, 'latin1') : cleartext).digest('hex');
}

function validHash(s: string): boolean {
  return /^[0-9a-f]{64}$/.test(s);
}

export class Selector {
  root: boolean;
  allKeys = false;
  allChannels: boolean;
  /** SELECTOR_FLAG_ALLCOMMANDS: a fast path, cleared by any removal. */
  allCommands = false;
  /** Redis's reserved command bit: set by +@all, so that the selector describes as "+@all ...". */
  futureCommands = false;
  allowed: Uint8Array;
  /** Allowed first arguments of otherwise denied commands (`+select|0`), by command id. */
  firstArgs = new Map<number, string[]>();
  keys: KeyPattern[] = [];
  channels: string[] = [];

  constructor(private readonly commands: AclCommands, root: boolean, allChannelsByDefault: boolean) {
    this.root = root;
    this.allChannels = allChannelsByDefault;
    this.allowed = new Uint8Array(commands.count);
  }

  clone(): Selector {
    const s = new Selector(this.commands, this.root, this.allChannels);
    s.allKeys = this.allKeys;
    s.allCommands = this.allCommands;
    s.futureCommands = this.futureCommands;
    s.allowed.set(this.allowed);
    for (const [id, args] of this.firstArgs) s.firstArgs.set(id, [...args]);
    s.keys = this.keys.map((k) => ({ ...k }));
    s.channels = [...this.channels];
    return s;
  }

  private setBit(cmd: AclCommand, allow: boolean): void {
    this.allowed[cmd.id] = allow ? 1 : 0;
    if (!allow) this.allCommands = false;
  }

  /** ACLChangeSelectorPerm: a command and, for a container, all its subcommands. */
  changePerm(cmd: AclCommand, allow: boolean): void {
    this.setBit(cmd, allow);
    this.firstArgs.delete(cmd.id);
    for (const sub of cmd.subcommands) this.setBit(sub, allow);
  }

  changeCategory(bit: number, allow: boolean): void {
    for (const cmd of this.commands.top) {
      if (cmd.categories & bit) this.changePerm(cmd, allow);
      for (const sub of cmd.subcommands) if (sub.categories & bit) this.changePerm(sub, allow);
    }
  }

  setAll(allow: boolean): void {
    this.allowed.fill(allow ? 1 : 0);
    this.allCommands = allow;
    this.futureCommands = allow;
    this.firstArgs.clear();
  }

  /** ACLSetSelector: one rule about commands, keys or channels. Throws RuleError. */
  apply(op: string): void {
    const lower = op.toLowerCase();
    if (lower === 'allkeys' || op === '~*') {
      this.allKeys = true;
      this.keys = [];
    } else if (lower === 'resetkeys') {
      this.allKeys = false;
      this.keys = [];
    } else if (lower === 'allchannels' || op === '&*') {
      this.allChannels = true;
      this.channels = [];
    } else if (lower === 'resetchannels') {
      this.allChannels = false;
      this.channels = [];
    } else if (lower === 'allcommands' || lower === '+@all') {
      this.setAll(true);
    } else if (lower === 'nocommands' || lower === '-@all') {
      this.setAll(false);
    } else if (op[0] === '~' || op[0] === '%') {
      this.addKeyPattern(op);
    } else if (op[0] === '&') {
      if (this.allChannels) throw new RuleError(RULE_ERRORS.channelsAfterAll);
      const pattern = op.slice(1);
      if (hasSpaces(pattern)) throw new RuleError(RULE_ERRORS.syntax);
      if (!this.channels.includes(pattern)) this.channels.push(pattern);
      this.allChannels = false;
    } else if (op[0] === '+' && op[1] !== '@') {
      this.allowCommand(op.slice(1));
    } else if (op[0] === '-' && op[1] !== '@') {
      const cmd = this.commands.lookup(op.slice(1));
      if (!cmd) throw new RuleError(RULE_ERRORS.unknown);
      this.changePerm(cmd, false);
    } else if ((op[0] === '+' || op[0] === '-') && op[1] === '@') {
      const i = CATEGORIES.indexOf(op.slice(2).toLowerCase() as (typeof CATEGORIES)[number]);
      if (i < 0) throw new RuleError(RULE_ERRORS.unknown);
      this.changeCategory(1 << i, op[0] === '+');
    } else {
      throw new RuleError(RULE_ERRORS.syntax);
    }
  }

  private addKeyPattern(op: string): void {
    if (this.allKeys) throw new RuleError(RULE_ERRORS.keysAfterAll);
    let flags = 0;
    let offset = 1;
    if (op[0] === '%') {
      for (; offset < op.length; offset++) {
        const c = op[offset].toUpperCase();
        if (c === 'R' && !(flags & READ)) flags |= READ;
        else if (c === 'W' && !(flags & WRITE)) flags |= WRITE;
        else if (op[offset] === '~') {
          offset++;
          break;
        } else throw new RuleError(RULE_ERRORS.syntax);
      }
      if (flags === 0) throw new RuleError(RULE_ERRORS.syntax);
    } else {
      flags = READ | WRITE;
    }
    const pattern = op.slice(offset);
    if (hasSpaces(pattern)) throw new RuleError(RULE_ERRORS.syntax);
    const existing = this.keys.find((k) => k.pattern === pattern);
    if (existing) existing.flags |= flags;
    else this.keys.push({ pattern, flags });
    this.allKeys = false;
  }

  /** `+cmd`, `+container|sub`, or `+cmd|first-arg` (Redis's deprecated first-arg rule). */
  private allowCommand(name: string): void {
    const bar = name.lastIndexOf('|');
    if (bar < 0) {
      const cmd = this.commands.lookup(name);
      if (!cmd) throw new RuleError(RULE_ERRORS.unknown);
      this.changePerm(cmd, true);
      return;
    }
    const base = this.commands.lookup(name.slice(0, bar));
    if (!base) throw new RuleError(RULE_ERRORS.unknown);
    if (base.parent) throw new RuleError(RULE_ERRORS.subcommandFirstArg);
    const sub = name.slice(bar + 1);
    if (sub === '') throw new RuleError(RULE_ERRORS.syntax);
    if (base.subcommands.length > 0) {
      const cmd = this.commands.lookup(name);
      if (!cmd) throw new RuleError(RULE_ERRORS.unknown);
      this.changePerm(cmd, true);
      return;
    }
    const args = this.firstArgs.get(base.id) ?? [];
    if (!args.some((a) => a.toLowerCase() === sub.toLowerCase())) args.push(sub);
    this.firstArgs.set(base.id, args);
  }

  /** ACLSelectorCheckCmd: Denied.None or why not; `at.index` gets the offending argument. */
  check(req: CheckRequest, at: { index: number }): Denied {
    const { cmd, argv } = req;
    if (!this.allCommands && !cmd.noAuth && !this.allowed[cmd.id]) {
      const allowed = argv.length >= 2 ? this.firstArgs.get(cmd.id) : undefined;
      const arg = argv[cmd.parent ? 2 : 1];
      if (!allowed || arg === undefined || !allowed.some((a) => a.toLowerCase() === arg.toLowerCase())) return Denied.Command;
    }
    if (!this.allKeys) {
      for (const key of req.keys()) {
        if (!this.keyAllowed(argv[key.pos], key.flags)) {
          at.index = key.pos;
          return Denied.Key;
        }
      }
    }
    if (!this.allChannels) {
      for (const ch of req.channels) {
        if (!this.channelAllowed(argv[ch.pos], ch.literal)) {
          at.index = ch.pos;
          return Denied.Channel;
        }
      }
    }
    return Denied.None;
  }

  /** ACLSelectorHasUnrestrictedKeyAccess for reading: allkeys, `~*` or `%R~*`. */
  readsEveryKey(): boolean {
    return this.allKeys || this.keys.some((p) => p.pattern === '*' && (p.flags & READ) === READ);
  }

  keyAllowed(key: string, flags: number): boolean {
    if (this.allKeys) return true;
    return this.keys.some((p) => (p.flags & flags) === flags && stringMatch(p.pattern, key, false));
  }

  channelAllowed(channel: string, literal: boolean): boolean {
    if (this.allChannels) return true;
    return this.channels.some((p) => (literal ? p === channel : stringMatch(p, channel, false)));
  }

  /** ACLDescribeSelector: keys, channels, then the command rules. */
  describe(): string {
    let out = '';
    if (this.allKeys) out += '~* ';
    else for (const k of this.keys) out += `${describeKeyPattern(k)} `;
    if (this.allChannels) out += '&* ';
    else {
      out += 'resetchannels ';
      for (const c of this.channels) out += `&${c} `;
    }
    return out + this.describeCommands();
  }

  describeKeys(): string {
    return this.allKeys ? '~*' : this.keys.map(describeKeyPattern).join(' ');
  }

  describeChannels(): string {
    return this.allChannels ? '&*' : this.channels.map((c) => `&${c}`).join(' ');
  }

  /**
   * ACLDescribeSelectorCommandRules: +@all or -@all, then the categories that fit best, then
   * single commands, so that applying the text to a fresh selector gives the same bits.
   */
  describeCommands(): string {
    const additive = !this.futureCommands;
    const rules: string[] = [additive ? '-@all' : '+@all'];
    const fake = new Selector(this.commands, false, false);
    fake.setAll(!additive);
    const temp = new Selector(this.commands, false, false);
    temp.allowed.set(this.allowed);
    const applied = new Set<number>();
    for (;;) {
      let best = -1;
      let minDiff = Infinity;
      let maxSame = 0;
      for (let j = 0; j < CATEGORIES.length; j++) {
        if (applied.has(j)) continue;
        const { on, off } = temp.countCategory(1 << j);
        const diff = additive ? off : on;
        const same = additive ? on : off;
        if (same > diff && (diff < minDiff || (diff === minDiff && same > maxSame))) {
          best = j;
          minDiff = diff;
          maxSame = same;
        }
      }
      if (best < 0) break;
      fake.changeCategory(1 << best, additive);
      temp.changeCategory(1 << best, !additive);
      rules.push(`${additive ? '+' : '-'}@${CATEGORIES[best]}`);
      applied.add(best);
    }
    const single = (cmd: AclCommand) => {
      const bit = this.allowed[cmd.id] === 1;
      if (bit !== (fake.allowed[cmd.id] === 1)) {
        rules.push(`${bit ? '+' : '-'}${cmd.name}`);
        fake.changePerm(cmd, bit);
      }
      for (const sub of cmd.subcommands) single(sub);
      if (!bit) for (const arg of this.firstArgs.get(cmd.id) ?? []) rules.push(`+${cmd.name}|${arg}`);
    };
    for (const cmd of this.commands.top) single(cmd);
    return rules.join(' ');
  }

  private countCategory(bit: number): { on: number; off: number } {
    let on = 0;
    let off = 0;
    for (const cmd of this.commands.byId) {
      if (!(cmd.categories & bit)) continue;
      if (this.allowed[cmd.id]) on++;
      else off++;
    }
    return { on, off };
  }
}

function describeKeyPattern(k: KeyPattern): string {
  const prefix = k.flags === (READ | WRITE) ? '~' : k.flags === READ ? '%R~' : '%W~';
  return prefix + k.pattern;
}

export class User {
  enabled = false;
  noPass = false;
  /** skip-sanitize-payload / sanitize-payload: both unset until one is given. */
  sanitize: 'skip' | 'yes' | null = null;
  passwords: string[] = [];
  /** The root selector first, then the (...) selectors in the order they were added. */
  selectors: Selector[];
  /** No restriction of any kind (the fast paths skip every check): set by `refresh()`. */
  unrestricted = false;

  constructor(readonly name: string, private readonly commands: AclCommands, private readonly allChannelsByDefault: () => boolean) {
    this.selectors = [new Selector(commands, true, allChannelsByDefault())];
  }

  get root(): Selector {
    return this.selectors[0];
  }

  /** ACLCopyUser: takes `src`'s rules (the name stays). */
  copyFrom(src: User): void {
    this.enabled = src.enabled;
    this.noPass = src.noPass;
    this.sanitize = src.sanitize;
    this.passwords = [...src.passwords];
    this.selectors = src.selectors.map((s) => s.clone());
    this.refresh();
  }

  refresh(): void {
    aclRulesVersion.value++;
    this.unrestricted = this.selectors.some((s) => s.allCommands && s.allKeys && s.allChannels);
  }

  /** ACLSetUser: one rule. Throws RuleError with Redis's reason. */
  apply(op: string): void {
    this.applyRule(op);
    this.refresh();
  }

  private applyRule(op: string): void {
    if (op.length === 0) return;
    const lower = op.toLowerCase();
    if (lower === 'on') this.enabled = true;
    else if (lower === 'off') this.enabled = false;
    else if (lower === 'skip-sanitize-payload') this.sanitize = 'skip';
    else if (lower === 'sanitize-payload') this.sanitize = 'yes';
    else if (lower === 'nopass') {
      this.noPass = true;
      this.passwords = [];
    } else if (lower === 'resetpass') {
      this.noPass = false;
      this.passwords = [];
    } else if (op[0] === '>' || op[0] === '#') {
      const hash = op[0] === '>' ? hashPassword(op.slice(1)) : op.slice(1);
      if (op[0] === '#' && !validHash(hash)) throw new RuleError(RULE_ERRORS.badHash);
      if (!this.passwords.includes(hash)) this.passwords.push(hash);
      this.noPass = false;
    } else if (op[0] === '<' || op[0] === '!') {
      const hash = op[0] === '<' ? hashPassword(op.slice(1)) : op.slice(1);
      if (op[0] === '!' && !validHash(hash)) throw new RuleError(RULE_ERRORS.badHash);
      const i = this.passwords.indexOf(hash);
      if (i < 0) throw new RuleError(RULE_ERRORS.noSuchPassword);
      this.passwords.splice(i, 1);
    } else if (op[0] === '(' && op[op.length - 1] === ')') {
      const selector = new Selector(this.commands, false, this.allChannelsByDefault());
      // sdssplitargs, as Redis splits the text between the parentheses (quotes allowed; an
      // unbalanced quote leaves the selector empty).
      for (const rule of splitArgs(op.slice(1, -1)) ?? []) selector.apply(rule);
      this.selectors.push(selector);
    } else if (lower === 'clearselectors') {
      this.selectors = [this.root];
    } else if (lower === 'reset') {
      for (const rule of ['resetpass', 'resetkeys', 'resetchannels']) this.applyRule(rule);
      if (this.allChannelsByDefault()) this.applyRule('allchannels');
      for (const rule of ['off', 'sanitize-payload', 'clearselectors', '-@all']) this.applyRule(rule);
    } else {
      this.root.apply(op);
    }
  }

  /** ACLCheckUserCredentials. */
  passwordMatches(password: Buffer): boolean {
    if (!this.enabled) return false;
    if (this.noPass) return true;
    return this.passwords.includes(hashPassword(password));
  }

  /** ACLCheckAllUserCommandPerm: Denied.None, or the most relevant denial and its argument. */
  check(req: CheckRequest, at: { index: number }): Denied {
    let relevant = Denied.Command;
    let lastIndex = 0;
    const local = { index: 0 };
    for (const s of this.selectors) {
      const result = s.check(req, local);
      if (result === Denied.None) return Denied.None;
      if (result > relevant || (result === relevant && local.index > lastIndex)) {
        relevant = result;
        lastIndex = local.index;
      }
    }
    at.index = lastIndex;
    return relevant;
  }

  /** ACLUserCheckChannelPerm. */
  channelAllowed(channel: string, literal: boolean): boolean {
    return this.selectors.some((s) => s.channelAllowed(channel, literal));
  }

  flagNames(): string[] {
    const flags: string[] = [this.enabled ? 'on' : 'off'];
    if (this.noPass) flags.push('nopass');
    if (this.sanitize === 'skip') flags.push('skip-sanitize-payload');
    if (this.sanitize === 'yes') flags.push('sanitize-payload');
    return flags;
  }

  /** ACLDescribeUser: flags, password hashes, the root selector, then (selectors). */
  describe(): string {
    let out = '';
    for (const f of this.flagNames()) out += `${f} `;
    for (const p of this.passwords) out += `#${p} `;
    for (const s of this.selectors) out += s.root ? s.describe() : ` (${s.describe()})`;
    return out;
  }
}

/**
 * ACLMergeSelectorArguments: a selector written across several arguments ("(+get", "~x)")
 * becomes one. Returns the merged list, or the index of an unclosed opening parenthesis.
 */
export function mergeSelectorArguments(args: string[]): string[] | { unmatched: number } {
  const merged: string[] = [];
  let open = -1;
  let selector = '';
  args.forEach((op, j) => {
    if (op[0] === '(' && op[op.length - 1] !== ')') {
      selector = op;
      open = j;
      return;
    }
    if (open !== -1) {
      selector += ` ${op}`;
      if (op[op.length - 1] === ')') {
        open = -1;
        merged.push(selector);
      }
      return;
    }
    merged.push(op);
  });
  return open !== -1 ? { unmatched: open } : merged;
}

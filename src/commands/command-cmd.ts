// COMMAND and its subcommands (COUNT, INFO, DOCS, LIST, GETKEYS, GETKEYSANDFLAGS, HELP),
// answered from the command table: Redis 7.0.15's own metadata (spec.json) restricted to
// what keyfork implements. A command without a handler is absent everywhere, and a
// container lists only its implemented subcommands.
import { stringMatch } from '../config/glob';
import type { ReplyWriter } from '../protocol/reply';
import type { Server } from '../server';
import { getKeys, hasKeys, KEY_FLAG_ORDER } from './keys-of';
import type { Command, KeySpec } from './table';
import { argStr, ReplyError, type Ctx, type Handler, type Request } from './types';

// ---------------------------------------------------------------------------------------------
// HELP replies (Redis's addReplyHelp)

/** One HELP entry: the subcommand it documents (lower case), its title line, its text lines. */
export type HelpEntry = [sub: string, title: string, lines: string[]];

/**
 * `<NAME> <subcommand> ...` header, the entries, then HELP, as status strings. `present`
 * says which subcommands keyfork implements: the others are left out, so HELP never
 * advertises a subcommand that would answer "unknown subcommand".
 */
export function writeHelp(ctx: Pick<Ctx, 'out' | 'req'>, entries: HelpEntry[], present: (sub: string) => boolean): void {
  // addReplyHelp titles the help with the command as it was called (a renamed command's new name).
  const name = argStr(ctx.req, 0).toUpperCase();
  const out = ctx.out;
  const lines = [`${name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`];
  for (const [sub, title, text] of entries) {
    if (!present(sub)) continue;
    lines.push(title, ...text.map((t) => `    ${t}`));
  }
  lines.push('HELP', '    Prints this help.');
  out.array(lines.length);
  for (const l of lines) out.simple(l);
}

/** A container's implemented subcommands, for writeHelp. */
export function subcommandPresent(server: Server, container: string): (sub: string) => boolean {
  const subs = server.commands.get(container)?.subcommands;
  return (sub) => subs?.has(sub) ?? false;
}

// ---------------------------------------------------------------------------------------------
// Encoding spec.json values with the reply types Redis uses (see commands/spec.md).

/** Fields whose value is a set of status strings (`+write`). */
const SIMPLE_STRING_SET_FIELDS = new Set(['flags', 'acl_categories', 'doc_flags']);

function writeField(out: ReplyWriter, field: string, value: unknown): void {
  if (SIMPLE_STRING_SET_FIELDS.has(field)) {
    const items = value as string[];
    out.set(items.length);
    for (const s of items) out.simple(s);
    return;
  }
  switch (field) {
    case 'tips': {
      const tips = value as string[];
      out.set(tips.length);
      for (const t of tips) out.bulk(t);
      return;
    }
    case 'key_specs': {
      const specs = value as KeySpec[];
      out.set(specs.length);
      for (const ks of specs) writeObject(out, ks as unknown as Record<string, unknown>);
      return;
    }
    case 'history': {
      const history = value as string[][];
      out.set(history.length);
      for (const entry of history) out.bulkArray(entry);
      return;
    }
    case 'arguments': {
      const args = value as Record<string, unknown>[];
      out.array(args.length);
      for (const a of args) writeObject(out, a);
      return;
    }
    default:
      break;
  }
  if (typeof value === 'string') out.bulk(value);
  else if (typeof value === 'number') out.int(value);
  else writeObject(out, value as Record<string, unknown>);
}

function writeObject(out: ReplyWriter, obj: Record<string, unknown>): void {
  const entries = Object.entries(obj);
  out.map(entries.length);
  for (const [k, v] of entries) {
    out.bulk(k);
    writeField(out, k, v);
  }
}

/** One COMMAND INFO entry: a 10-element array; the last is the implemented subcommands. */
export function writeCommandInfo(out: ReplyWriter, cmd: Command): void {
  const spec = cmd.spec;
  out.array(10);
  out.bulk(spec.name);
  out.int(spec.arity);
  writeField(out, 'flags', spec.flags);
  out.int(spec.first_key);
  out.int(spec.last_key);
  out.int(spec.step);
  writeField(out, 'acl_categories', spec.acl_categories);
  writeField(out, 'tips', spec.tips);
  writeField(out, 'key_specs', spec.key_specs);
  const subs = cmd.subcommands ? [...cmd.subcommands.values()] : [];
  if (subs.length === 0) {
    out.set(0);
    return;
  }
  out.array(subs.length);
  for (const sub of subs) writeCommandInfo(out, sub);
}

/** One COMMAND DOCS value: the docs map, plus "subcommands" for a container. */
export function writeCommandDocs(out: ReplyWriter, cmd: Command): void {
  const docs = Object.entries(cmd.spec.docs);
  const subs = cmd.subcommands ? [...cmd.subcommands.values()] : [];
  out.map(docs.length + (subs.length > 0 ? 1 : 0));
  for (const [k, v] of docs) {
    out.bulk(k);
    writeField(out, k, v);
  }
  if (subs.length === 0) return;
  out.bulk('subcommands');
  out.map(subs.length);
  for (const sub of subs) {
    out.bulk(sub.name);
    writeCommandDocs(out, sub);
  }
}

// ---------------------------------------------------------------------------------------------
// Looking commands up the way Redis does.

/**
 * lookupCommandBySds: "get" or "config|get" (one level of subcommands), case-insensitive.
 * A container named alone is the container itself.
 */
export function lookupByFullName(server: Server, fullName: string): Command | undefined {
  const parts = fullName.toLowerCase().split('|');
  if (parts.length > 2) return undefined;
  const base = server.commands.find(parts[0]);
  if (!base || parts.length === 1) return base;
  return base.subcommands?.get(parts[1]);
}


function orderedFlags(flags: string[]): string[] {
  return KEY_FLAG_ORDER.filter((f) => flags.includes(f));
}

function getKeysCommand(ctx: Ctx, withFlags: boolean): void {
  const { req, out, server } = ctx;
  const argv: string[] = [];
  for (let i = 2; i < req.argc; i++) argv.push(argStr(req, i));
  const cmd = server.commands.lookupArgv(argv);
  if (!cmd) throw new ReplyError('ERR Invalid command specified');
  if (!hasKeys(cmd)) throw new ReplyError('ERR The command has no key arguments');
  if ((cmd.arity > 0 && cmd.arity !== argv.length) || argv.length < -cmd.arity) {
    throw new ReplyError('ERR Invalid number of arguments specified for command');
  }
  const keys = getKeys(cmd, argv);
  if (keys.length === 0) {
    if (cmd.flags.has('no_mandatory_keys')) {
      out.array(0);
      return;
    }
    throw new ReplyError('ERR Invalid arguments specified for command');
  }
  out.array(keys.length);
  for (const k of keys) {
    const key = req.input.subarray(req.offsets[2 * (k.pos + 2)], req.offsets[2 * (k.pos + 2) + 1]);
    if (!withFlags) {
      out.bulk(key);
      continue;
    }
    out.array(2);
    out.bulk(key);
    writeField(out, 'flags', orderedFlags(k.flags));
  }
}

// ---------------------------------------------------------------------------------------------
// Handlers

function commandAll(ctx: Ctx): void {
  const all = ctx.server.commands.all();
  ctx.out.array(all.length);
  for (const cmd of all) writeCommandInfo(ctx.out, cmd);
}

function commandCount(ctx: Ctx): void {
  ctx.out.int(ctx.server.commands.all().length);
}

function commandInfo(ctx: Ctx): void {
  const { req, out, server } = ctx;
  if (req.argc === 2) return commandAll(ctx);
  out.array(req.argc - 2);
  for (let i = 2; i < req.argc; i++) {
    const cmd = lookupByFullName(server, argStr(req, i));
    if (cmd) writeCommandInfo(out, cmd);
    else out.null();
  }
}

function commandDocs(ctx: Ctx): void {
  const { req, out, server } = ctx;
  let found: Command[];
  if (req.argc === 2) {
    found = server.commands.all();
  } else {
    found = [];
    for (let i = 2; i < req.argc; i++) {
      const cmd = lookupByFullName(server, argStr(req, i));
      if (cmd) found.push(cmd);
    }
  }
  out.map(found.length);
  for (const cmd of found) {
    out.bulk(cmd.name);
    writeCommandDocs(out, cmd);
  }
}

type ListFilter = (cmd: Command) => boolean;

function parseListFilter(req: Request): ListFilter | null {
  let filter: ListFilter | null = null;
  for (let i = 2; i < req.argc; i++) {
    const more = req.argc - 1 - i;
    if (argStr(req, i).toLowerCase() !== 'filterby' || more !== 2) throw new ReplyError('ERR syntax error');
    const type = argStr(req, i + 1).toLowerCase();
    const value = argStr(req, i + 2);
    if (type === 'module') {
      filter = () => false; // keyfork loads no modules
    } else if (type === 'aclcat') {
      const category = `@${value.toLowerCase()}`;
      filter = (cmd) => cmd.spec.acl_categories.some((c) => c.toLowerCase() === category);
    } else if (type === 'pattern') {
      filter = (cmd) => stringMatch(value, cmd.name, true);
    } else {
      throw new ReplyError('ERR syntax error');
    }
    i += 2;
  }
  return filter;
}

function commandList(ctx: Ctx): void {
  const filter = parseListFilter(ctx.req);
  const names: string[] = [];
  for (const cmd of ctx.server.commands.everything()) {
    if (!filter || filter(cmd)) names.push(cmd.name);
  }
  ctx.out.bulkArray(names);
}

const COMMAND_HELP: HelpEntry[] = [
  ['', '(no subcommand)', ['Return details about all Redis commands.']],
  ['count', 'COUNT', ['Return the total number of commands in this Redis server.']],
  ['list', 'LIST', ['Return a list of all commands in this Redis server.']],
  ['info', 'INFO [<command-name> ...]', [
    'Return details about multiple Redis commands.',
    'If no command names are given, documentation details for all',
    'commands are returned.',
  ]],
  ['docs', 'DOCS [<command-name> ...]', [
    'Return documentation details about multiple Redis commands.',
    'If no command names are given, documentation details for all',
    'commands are returned.',
  ]],
  ['getkeys', 'GETKEYS <full-command>', ['Return the keys from a full Redis command.']],
  ['getkeysandflags', 'GETKEYSANDFLAGS <full-command>', ['Return the keys and the access flags from a full Redis command.']],
];

function commandHelp(ctx: Ctx): void {
  const present = subcommandPresent(ctx.server, 'command');
  // '' is the bare COMMAND, which always exists alongside its subcommands.
  writeHelp(ctx, COMMAND_HELP, (sub) => sub === '' || present(sub));
}

// 'command' must come before its subcommands: the table then keeps its own handler for the
// bare COMMAND instead of making it a pure container.
export const commandCommands: [string, Handler][] = [
  ['command', commandAll],
  ['command|count', commandCount],
  ['command|info', commandInfo],
  ['command|docs', commandDocs],
  ['command|list', commandList],
  ['command|getkeys', (ctx) => getKeysCommand(ctx, false)],
  ['command|getkeysandflags', (ctx) => getKeysCommand(ctx, true)],
  ['command|help', commandHelp],
];

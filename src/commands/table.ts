// The command table: Redis 7.0.15's own metadata (spec.json: arity, flags, key specs, ACL
// categories, docs) joined with keyfork's handlers. A command exists only if it has a
// handler, TypeScript or native; COMMAND, COMMAND INFO/DOCS/COUNT/GETKEYS are built from it.
import specJson from './spec.json';
import type { Handler } from './types';

export interface KeySpec {
  notes?: string;
  flags: string[];
  begin_search: { type: string; spec: Record<string, unknown> };
  find_keys: { type: string; spec: Record<string, unknown> };
}

export interface CommandSpec {
  name: string;
  arity: number;
  flags: string[];
  first_key: number;
  last_key: number;
  step: number;
  acl_categories: string[];
  tips: string[];
  key_specs: KeySpec[];
  docs: Record<string, unknown>;
  subcommands?: Record<string, CommandSpec>;
}

export interface CommandStats {
  calls: number;
  usec: number;
  rejected: number;
  failed: number;
  /** latency-tracking's histogram of the calls' durations (none before the first call). */
  latency?: LatencyHistogram;
}

export interface Command {
  /** Full lower-case name: `get`, `config|get`. */
  name: string;
  arity: number;
  spec: CommandSpec;
  flags: Set<string>;
  isWrite: boolean;
  /**
   * Redis 7.0's CMD_MAY_REPLICATE (an internal flag COMMAND INFO does not show): it may
   * propagate something, so a WRITE pause holds it back and a read-only script may not call it.
   */
  mayReplicate: boolean;
  handler: Handler;
  /** Index into the native command list, or -1 for a TypeScript handler. */
  nativeIndex: number;
  /**
   * A TypeScript command's native twin, which the batch fast path may run instead (see
   * BATCH_TWINS), or -1.
   */
  batchIndex: number;
  parent?: Command;
  subcommands?: Map<string, Command>;
  stats: CommandStats;
}

const SPECS = (specJson as unknown as { commands: Record<string, CommandSpec> }).commands;

/**
 * TypeScript commands with a native row of the same name that replies exactly as they do for
 * every client the batch fast path serves: PING differs only in a RESP2 pub/sub context, which
 * closes the gate (Server.fastPathOpen). Dispatch keeps the TypeScript handler.
 */
const BATCH_TWINS = new Set(['ping']);

/** The commands Redis 7.0 marks CMD_MAY_REPLICATE. */
const MAY_REPLICATE = new Set(['eval', 'evalsha', 'fcall', 'publish', 'spublish', 'pfcount']);

/** Redis refuses these while a failed save stops writes (MISCONF): the writes, and PING. */
export function refusedByMisconf(cmd: Command): boolean {
  return cmd.isWrite || cmd.name === 'ping';
}

export function specFor(name: string): CommandSpec | undefined {
  const [top, sub] = name.split('|');
  const spec = SPECS[top];
  if (!sub) return spec;
  return spec?.subcommands?.[name];
}


/** Commands cluster mode answers with an error of its own (src/cluster/index.ts wraps them). */
const CLUSTER_REFUSED = new Set(['move', 'swapdb', 'copy']);
/** Native commands whose refusal logs a line: TypeScript runs them (see registerFastPath). */
const LOGS_WHY_REFUSED = new Set(['restore', 'restore-asking']);

/** Commands that block only when given a BLOCK option: without one the batch fast path may run them. */
const BLOCK_OPTION = new Set(['xread', 'xreadgroup']);
import type { LatencyHistogram } from '../latency-histogram';

function newStats(): CommandStats {
  return { calls: 0, usec: 0, rejected: 0, failed: 0 };
}

export class CommandTable {
  /** Every implemented command by its original name (internal references, ACL rules). */
  private commands = new Map<string, Command>();
  /**
   * The commands clients reach, by the name they call them: the original names unless
   * rename-command moved or removed one. Renamed commands keep their original `name` (COMMAND
   * INFO, commandstats and ACL rules use it), as in Redis.
   */
  private visible = new Map<string, Command>();

  /**
   * @param tsHandlers handlers written in TypeScript, by full name
   * @param nativeNames the addon's command list (index = exec number)
   * @param nativeHandler builds the handler that runs native command `index`
   */
  constructor(tsHandlers: Map<string, Handler>, nativeNames: string[], nativeHandler: (index: number) => Handler) {
    const handlers = new Map<string, { handler: Handler; nativeIndex: number }>();
    nativeNames.forEach((name, index) => handlers.set(name, { handler: nativeHandler(index), nativeIndex: index }));
    // A TypeScript handler wins over a native row of the same name: it wraps the native call
    // with server-side work (FLUSHALL's save, blocking, SELECT...).
    for (const [name, handler] of tsHandlers) handlers.set(name, { handler, nativeIndex: -1 });
    const nativeIndexOf = new Map(nativeNames.map((n, i) => [n, i]));

    for (const [name, entry] of handlers) {
      const spec = specFor(name);
      if (!spec) continue; // e.g. "debug|digest": reached through its container's own handler
      const [top, sub] = name.split('|');
      if (!sub) {
        const cmd = this.make(spec, entry.handler, entry.nativeIndex);
        if (BATCH_TWINS.has(name)) cmd.batchIndex = nativeIndexOf.get(name) ?? -1;
        // A container with a handler of its own (bare COMMAND) keeps subcommands seen before it.
        cmd.subcommands = this.commands.get(name)?.subcommands;
        for (const child of cmd.subcommands?.values() ?? []) child.parent = cmd;
        this.commands.set(name, cmd);
        continue;
      }
      let parent = this.commands.get(top);
      if (!parent) {
        const topSpec = SPECS[top];
        parent = this.make(topSpec, containerHandler, -1);
        parent.subcommands = new Map();
        this.commands.set(top, parent);
      }
      if (!parent.subcommands) parent.subcommands = new Map();
      const child = this.make(spec, entry.handler, entry.nativeIndex);
      child.parent = parent;
      parent.subcommands.set(sub, child);
    }
    this.nativeIndexes = new Map(nativeNames.map((n, i) => [n, i]));
    this.visible = new Map(this.commands);
    this.indexUpperCase();
    for (const cmd of this.everything()) {
      if (cmd.nativeIndex >= 0) this.nativeCommands[cmd.nativeIndex] = cmd;
      if (cmd.batchIndex >= 0) this.nativeCommands[cmd.batchIndex] = cmd;
    }
  }

  private nativeIndexes: Map<string, number>;

  private make(spec: CommandSpec, handler: Handler, nativeIndex: number): Command {
    const flags = new Set(spec.flags);
    return { name: spec.name, arity: spec.arity, spec, flags, isWrite: flags.has('write'), mayReplicate: MAY_REPLICATE.has(spec.name), handler, nativeIndex, batchIndex: -1, stats: newStats() };
  }

  private indexUpperCase(): void {
    this.upper = new Map([...this.visible].map(([name, cmd]) => [name.toUpperCase(), cmd]));
  }

  /** A command by its original lower-case name, whatever rename-command did (internal use). */
  get(name: string): Command | undefined {
    return this.commands.get(name);
  }

  /**
   * Lookup by the name as the client sent it: lower and upper case (what clients send) hit the
   * map directly; only mixed case pays for a toLowerCase.
   */
  find(sent: string): Command | undefined {
    return this.visible.get(sent) ?? this.upper.get(sent) ?? this.visible.get(sent.toLowerCase());
  }

  private upper = new Map<string, Command>();

  /**
   * rename-command: the top-level command clients call `from` is called `to` from now on, or
   * nobody can call it when `to` is empty. Names Redis has and keyfork does not are accepted
   * and change nothing (the command is unknown under either name). The config loader checked
   * the pair already (src/directive-hooks.ts); call this before registerFastPath.
   */
  rename(from: string, to: string): void {
    const cmd = this.visible.get(from.toLowerCase());
    if (!cmd) return;
    this.visible.delete(from.toLowerCase());
    if (to !== '') this.visible.set(to.toLowerCase(), cmd);
    this.indexUpperCase();
  }

  /**
   * Redis's lookupCommand on whole arguments (ACL DRYRUN): the command, or for a container
   * with a second argument its subcommand (undefined when there is no such subcommand).
   */
  lookupArgv(argv: string[]): Command | undefined {
    const base = this.find(argv[0]);
    if (!base || argv.length === 1 || !base.subcommands) return base;
    return base.subcommands.get(argv[1].toLowerCase());
  }

  /** The command run by native row `index` (for statistics of the batch fast path). */
  byNativeIndex(index: number): Command | undefined {
    return this.nativeCommands[index];
  }

  private nativeCommands: (Command | undefined)[] = [];

  /**
   * Offers the native fast path every top-level command that is purely native and never
   * blocks: it may then run them without TypeScript (see native/src/batch.rs).
   */
  registerFastPath(register: (name: string, index: number, arity: number, isWrite: boolean, denyOom: boolean, blockOption: boolean, firstKey: number, lastKey: number, step: number) => void): void {
    for (const [name, cmd] of this.visible) {
      const index = cmd.nativeIndex >= 0 ? cmd.nativeIndex : cmd.batchIndex;
      const blockOption = BLOCK_OPTION.has(cmd.name);
      if (index < 0 || cmd.subcommands || (cmd.flags.has('blocking') && !blockOption)) continue;
      // A refused RESTORE logs why (Dispatcher.call writes the line before the reply).
      if (LOGS_WHY_REFUSED.has(cmd.name)) continue;
      // The batch stops before a command MISCONF refuses, and TypeScript answers it.
      // Cluster mode routes a command natively only from COMMAND INFO's key range: movable
      // keys, and the commands cluster mode refuses (MOVE, SWAPDB, COPY's DB), stay TypeScript's.
      const clusterNative = !cmd.flags.has('movablekeys') && !CLUSTER_REFUSED.has(cmd.name);
      const spec = cmd.spec;
      register(name, index, cmd.arity, refusedByMisconf(cmd), cmd.flags.has('denyoom'), blockOption, clusterNative ? spec.first_key : -1, spec.last_key, spec.step);
    }
  }

  /** The native index of a row that has no spec of its own (e.g. "debug|digest"). */
  nativeIndex(name: string): number {
    return this.nativeIndexes.get(name) ?? -1;
  }

  /** Every top-level command clients can call (COMMAND, COMMAND COUNT, commandstats). */
  all(): Command[] {
    return [...this.visible.values()];
  }

  /** Every implemented top-level command, renamed away or not (the ACL's universe). */
  originals(): Command[] {
    return [...this.commands.values()];
  }

  /** Top-level commands clients can call and their subcommands. */
  *everything(): Generator<Command> {
    for (const [, cmd] of this.named()) yield cmd;
  }

  /** What everything() yields, each with the name clients call it by (`cfg|get` after a rename of config). */
  *named(): Generator<[string, Command]> {
    for (const [name, c] of this.visible) {
      yield [name, c];
      for (const [sub, child] of c.subcommands ?? []) yield [`${name}|${sub}`, child];
    }
  }
}

/** Containers are resolved to a subcommand by the dispatcher and never run themselves. */
const containerHandler: Handler = () => {
  throw new Error('container command reached its own handler');
};

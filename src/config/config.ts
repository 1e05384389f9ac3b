// The live configuration: values for every row of the table, CONFIG GET / SET semantics,
// change hooks, and the typed getters the rest of the server reads.

import { ConfigView, numericAsCType } from './codecs';
import { ConfigDirectiveError, ConfigRewriteError, ConfigSetError, strerror } from './errors';
import { hasGlobChars, stringMatch } from './glob';
import { rewriteConfigFile } from './rewrite';
import { OutputBufferLimits, ReplicaOf, SaveRule } from './specials';
import { splitArgs, splitOnSpaces } from './splitargs';
import { consume, Directive, directiveStatus } from './consumers';
import { CONFIG_TABLE, ConfigRow, findConfigRow } from './table';

/** Called after a CONFIG SET changed `name`. Values are in CONFIG GET form. */
export type ChangeListener = (newValue: string, oldValue: string, name: string) => void;

/**
 * Called while CONFIG SET applies a change (port -> rebind, requirepass -> default user).
 * Throw an Error to veto: its message becomes the reason in
 * "ERR CONFIG SET failed (possibly related to argument 'port') - <message>" and every
 * value of that CONFIG SET is rolled back.
 */
export type ApplyHook = (newValue: string, oldValue: string, name: string) => void;

export interface ConfigOptions {
  /** Working directory access (`dir`); defaults to process.cwd / process.chdir. */
  cwd?: () => string;
  chdir?: (path: string) => void;
  /** Where warnings go (failed rollbacks); defaults to nowhere. */
  log?: (level: 'warning' | 'notice' | 'verbose' | 'debug', message: string) => void;
  /**
   * Unsupported directives are loud (the server's configuration): a non-default value that
   * promises what keyfork lacks is refused, any other is accepted with a warning. Needs every
   * consumer loaded (src/start.ts). Off for a bare Config, e.g. in unit tests of the parser.
   */
  loudUnsupported?: boolean;
}

/** Log level + line, as Config hands warnings to the server's log. */
export type ConfigLog = NonNullable<ConfigOptions['log']>;

export interface ConfigSetOptions {
  /** The client is on a loopback/unix connection (for enable-protected-configs local). */
  isLocalClient?: boolean;
  /** A dataset is being loaded: DENY_LOADING configs are refused with -LOADING. */
  loading?: boolean;
}

/** Directives of redis.conf that are not configs; kept for the modules that own them. */
export interface ExtraDirectives {
  renameCommands: Array<{ from: string; to: string }>;
  /** `user <name> <rules...>` lines, for the ACL layer. */
  users: string[][];
  loadModules: Array<{ path: string; args: string[] }>;
  /** `module.name value` lines, by name. */
  moduleConfigs: Map<string, string>;
}

interface PreparedSet {
  row: ConfigRow;
  /** The name this config is reported under in errors (canonical, or the alias used). */
  reportName: string;
  rawValue: string;
}

// Config itself acts on these: it changes the working directory for `dir`, and guards
// protected configs.
const DIR = consume('dir', 'test/server/directives.test.ts');
const ENABLE_PROTECTED_CONFIGS = consume('enable-protected-configs', 'test/server/directives.test.ts');

export class Config {
  /** Absolute path of the config file, or null (CONFIG REWRITE needs one). */
  configFile: string | null = null;
  readonly extra: ExtraDirectives = {
    renameCommands: [],
    users: [],
    loadModules: [],
    moduleConfigs: new Map(),
  };

  private readonly values = new Map<string, unknown>();
  private readonly defaultValues = new Map<string, unknown>();
  private readonly listeners = new Map<string, Set<ChangeListener>>();
  private readonly applyHooks = new Map<string, ApplyHook>();
  private readonly cwdFn: () => string;
  private readonly chdirFn: (path: string) => void;
  private log: ConfigLog;
  private readonly loudUnsupported: boolean;

  /**
   * True while a config file is being read. Redis's `save` lines accumulate then (the
   * first one replaces the defaults); outside of it every `save` replaces the list.
   * Like Redis, an `include` ends this state for the rest of the outer file.
   */
  readingConfigFile = false;
  private saveLoadedFromFile = false;

  private constructor(opts: ConfigOptions) {
    this.cwdFn = opts.cwd ?? (() => process.cwd());
    this.chdirFn = opts.chdir ?? ((p) => process.chdir(p));
    this.log = opts.log ?? (() => undefined);
    this.loudUnsupported = opts.loudUnsupported ?? false;
    for (const row of CONFIG_TABLE) {
      const value = this.parseDefault(row);
      this.defaultValues.set(row.name, value);
      this.values.set(row.name, value);
    }
  }

  /** A configuration with every value at its Redis default. */
  static defaults(opts: ConfigOptions = {}): Config {
    return new Config(opts);
  }

  private parseDefault(row: ConfigRow): unknown {
    if (row.name === DIR.name) return this.cwdFn();
    if (row.name === 'replicaof') return null;
    const args = row.multiArg ? (splitArgs(row.default) ?? []) : [row.default];
    const parsed = row.codec.parse(args.length ? args : [''], undefined as never, this.view);
    if (!parsed.ok) throw new Error(`bad default for ${row.name}: ${parsed.error}`);
    return parsed.value;
  }

  /** What codecs see of this configuration. */
  readonly view: ConfigView = {
    value: (name: string) => this.values.get(name),
    configFile: null,
    cwd: () => this.cwdFn(),
  };

  // ---------------------------------------------------------------------------------------
  // Reading

  /** All rows of the table (canonical names), for INFO / README generation. */
  rows(): readonly ConfigRow[] {
    return CONFIG_TABLE;
  }

  /** The row for a name or alias (case-insensitive), or undefined. */
  row(name: string): ConfigRow | undefined {
    return findConfigRow(name);
  }

  private requireRow(name: string): ConfigRow {
    const row = findConfigRow(name);
    if (!row) throw new Error(`unknown config '${name}'`);
    return row;
  }

  /**
   * The internal value (bigint for numbers, boolean, string|null, enum number, objects for
   * specials), for codecs and reports. Code that acts on a value reads it through a handle.
   */
  value(name: string): unknown {
    return this.values.get(this.requireRow(name).name);
  }

  /**
   * The value as CONFIG GET prints it (aliases resolve): for CONFIG GET, INFO and other
   * reports. Code that acts on a value reads it with the typed getters below, which take the
   * handle consume() gave it: that is what makes the directive "applied".
   */
  get(name: string): string {
    const row = this.requireRow(name);
    return row.codec.format(this.values.get(row.name), this.viewWithFile());
  }

  /** True when the value equals Redis's default. */
  isDefault(name: string): boolean {
    const row = this.requireRow(name);
    return row.codec.equals(this.values.get(row.name), this.defaultValues.get(row.name));
  }

  /** A numeric config as a JS number, as its C type sees it (maxmemory never negative). */
  int(d: Directive): number {
    return Number(this.bigint(d));
  }

  bigint(d: Directive): bigint {
    const row = this.requireRow(d.name);
    if (!row.numericKind) throw new TypeError(`config '${row.name}' is not numeric`);
    return numericAsCType(row.numericKind, this.values.get(row.name) as bigint);
  }

  bool(d: Directive): boolean {
    const row = this.requireRow(d.name);
    if (row.type !== 'bool') throw new TypeError(`config '${row.name}' is not yes/no`);
    return this.values.get(row.name) as boolean;
  }

  /** Strings ('' when unset) and enums (the canonical name); other types in CONFIG GET form. */
  str(d: Directive): string {
    return this.get(d.name);
  }

  /** A string config that may be unset (pidfile, unixsocket, requirepass...). */
  optionalStr(d: Directive): string | null {
    const row = this.requireRow(d.name);
    if (row.type !== 'string') throw new TypeError(`config '${row.name}' is not a string`);
    return this.values.get(row.name) as string | null;
  }

  saveRules(_: Directive<'save'>): Array<{ seconds: number; changes: number }> {
    return (this.values.get('save') as SaveRule[]).map((r) => ({
      seconds: Number(r.seconds),
      changes: Number(r.changes),
    }));
  }

  bindAddresses(_: Directive<'bind'>): string[] {
    return [...(this.values.get('bind') as string[])];
  }

  /** latency-tracking-info-percentiles. */
  latencyPercentiles(_: Directive<'latency-tracking-info-percentiles'>): number[] {
    return this.values.get('latency-tracking-info-percentiles') as number[];
  }

  outputBufferLimits(_: Directive<'client-output-buffer-limit'>): OutputBufferLimits {
    return this.values.get('client-output-buffer-limit') as OutputBufferLimits;
  }

  /** notify-keyspace-events as bit flags (see NOTIFY_FLAGS). */
  keyspaceEvents(_: Directive<'notify-keyspace-events'>): number {
    return this.values.get('notify-keyspace-events') as number;
  }

  replicaOf(_: Directive<'replicaof'>): ReplicaOf | null {
    return this.values.get('replicaof') as ReplicaOf | null;
  }

  /** enable-protected-configs / enable-debug-command / enable-module-command: yes, or local for local clients. */
  protectedActionAllowed(
    setting: Directive<'enable-protected-configs' | 'enable-debug-command' | 'enable-module-command'>,
    isLocalClient: boolean,
  ): boolean {
    return this.actionAllowed(setting.name, isLocalClient);
  }

  private actionAllowed(name: string, isLocalClient: boolean): boolean {
    const mode = this.get(name);
    return mode === 'yes' || (mode === 'local' && isLocalClient);
  }

  /** Where warnings go from now on (the server's log once it exists). */
  setLog(log: ConfigLog): void {
    this.log = log;
  }

  // ---------------------------------------------------------------------------------------
  // Unsupported directives

  /** Unsupported directives whose value is not Redis's default (INFO, keyfork status). */
  unsupportedSet(): string[] {
    return CONFIG_TABLE.filter((row) => directiveStatus(row) === 'unsupported' && !this.isDefault(row.name)).map(
      (row) => row.name,
    );
  }

  /** One warning line per unsupported directive set to a non-default value, for the start-up log. */
  unsupportedWarnings(): string[] {
    const lines: string[] = [];
    for (const row of CONFIG_TABLE) {
      const unsupported = this.unsupportedValue(row);
      if (unsupported && !unsupported.refuse) lines.push(unsupported.text);
    }
    return lines;
  }

  /**
   * After `row` took a new value: null when nothing needs saying, else whether the value must
   * be refused, and the words for it. `setting` is the name and value as the user wrote them.
   */
  private unsupportedValue(row: ConfigRow, setting?: string): { refuse: boolean; text: string } | null {
    if (!this.loudUnsupported || directiveStatus(row) !== 'unsupported' || this.isDefault(row.name)) return null;
    const value = this.get(row.name);
    const refuse = row.promises(value);
    setting ??= value === '' ? `${row.name} ""` : `${row.name} ${value}`;
    const missing = `${row.missing ?? 'what it configures'} is not implemented`;
    const text = refuse
      ? `keyfork does not support '${setting}' yet: ${missing}`
      : `keyfork does not support '${setting}' yet: ${missing}; the value is kept and changes nothing`;
    return { refuse, text };
  }

  private viewWithFile(): ConfigView {
    return { value: this.view.value, configFile: this.configFile, cwd: this.view.cwd };
  }

  // ---------------------------------------------------------------------------------------
  // Setting from a config file / the command line

  /**
   * Sets a config from a redis.conf directive (`args` are the words after the name).
   * Throws ConfigDirectiveError carrying Redis's reason text.
   */
  setFromConfigFile(name: string, args: readonly string[]): void {
    const row = findConfigRow(name);
    if (!row) throw new ConfigDirectiveError('Bad directive or wrong number of arguments');
    if (!row.multiArg && args.length !== 1) throw new ConfigDirectiveError('wrong number of arguments');
    let list = args;
    // `--save "900 1 300 10"`: one non-empty argument of a multi-argument config is split again.
    if (row.multiArg && args.length === 1 && args[0] !== '') list = splitArgs(args[0]) ?? [];
    const error = this.assign(row, list);
    if (error !== null) throw new ConfigDirectiveError(error);
    const unsupported = this.unsupportedValue(row, [name, ...args].join(' '));
    if (unsupported?.refuse) throw new ConfigDirectiveError(unsupported.text);
  }

  /** Parses and stores one value; returns Redis's error text or null. */
  private assign(row: ConfigRow, args: readonly string[]): string | null {
    if (row.name === DIR.name) {
      try {
        this.chdirFn(args[0]);
      } catch (err) {
        return strerror(err);
      }
      this.values.set(DIR.name, this.cwdFn());
      return null;
    }
    const previous = this.values.get(row.name);
    const parsed = row.codec.parse(args, previous, this.viewWithFile());
    if (!parsed.ok) return parsed.error;
    if (row.name === 'save') {
      this.values.set('save', this.mergeSaveRules(previous as SaveRule[], parsed.value as SaveRule[], args));
    } else {
      this.values.set(row.name, parsed.value);
    }
    return null;
  }

  private mergeSaveRules(previous: SaveRule[], parsed: SaveRule[], args: readonly string[]): SaveRule[] {
    if (args.length === 1 && args[0] === '') {
      // `save ""` always clears, and counts as the file's first save line.
      if (this.readingConfigFile) this.saveLoadedFromFile = true;
      return [];
    }
    if (!this.readingConfigFile) return parsed;
    if (!this.saveLoadedFromFile) {
      // The file's first save line replaces the defaults; later ones add to it.
      this.saveLoadedFromFile = true;
      return parsed;
    }
    return [...previous, ...parsed];
  }

  /**
   * A value the server itself changed, as Redis changes server.masterhost on REPLICAOF or
   * clamps repl-backlog-size: CONFIG GET and CONFIG REWRITE show it. The caller has applied
   * it already: no checks, hooks or listeners run.
   */
  setByServer(directive: Directive, value: unknown): void {
    this.values.set(this.requireRow(directive.name).name, value);
  }

  // ---------------------------------------------------------------------------------------
  // CONFIG GET

  /**
   * CONFIG GET: each argument is a name (exact, case-insensitive, hidden configs included)
   * or a glob pattern (case-insensitive, hidden configs excluded). Names and aliases are
   * matched separately and reported under the name that matched; each once.
   */
  configGet(patterns: readonly string[]): Array<[string, string]> {
    const matches = new Map<string, { reportAs: string; row: ConfigRow }>();
    for (const pattern of patterns) {
      if (!hasGlobChars(pattern)) {
        const key = pattern.toLowerCase();
        if (matches.has(key)) continue;
        const row = findConfigRow(pattern);
        if (row) matches.set(key, { reportAs: pattern, row });
        continue;
      }
      for (const row of CONFIG_TABLE) {
        if (row.hidden) continue;
        for (const name of [row.name, ...row.aliases]) {
          if (matches.has(name)) continue;
          if (stringMatch(pattern, name, true)) matches.set(name, { reportAs: name, row });
        }
      }
    }
    const view = this.viewWithFile();
    return [...matches.values()].map(({ reportAs, row }) => [
      reportAs,
      row.codec.format(this.values.get(row.name), view),
    ]);
  }

  // ---------------------------------------------------------------------------------------
  // CONFIG SET

  onChange(d: Directive, listener: ChangeListener): () => void {
    const row = this.requireRow(d.name);
    let set = this.listeners.get(row.name);
    if (!set) this.listeners.set(row.name, (set = new Set()));
    set.add(listener);
    return () => set!.delete(listener);
  }

  /**
   * Registers the hook that applies a change of `name` to the running server (one per
   * config; registering the same function for several configs runs it once per CONFIG SET).
   */
  onApply(d: Directive, hook: ApplyHook): () => void {
    const row = this.requireRow(d.name);
    this.applyHooks.set(row.name, hook);
    return () => {
      if (this.applyHooks.get(row.name) === hook) this.applyHooks.delete(row.name);
    };
  }

  /**
   * CONFIG SET name value [name value ...], all or nothing. Throws ConfigSetError with
   * Redis's reply text. (An odd number of arguments is the caller's "ERR syntax error".)
   */
  configSet(pairs: ReadonlyArray<readonly [string, string]>, opts: ConfigSetOptions = {}): void {
    const prepared = this.checkConfigSet(pairs, opts);

    // Set phase: parse and store in order; on the first refusal restore what was set.
    const oldValues = prepared.map((p) => this.values.get(p.row.name));
    const oldFormatted = prepared.map((p) => this.get(p.row.name));
    for (let i = 0; i < prepared.length; i++) {
      const { row, reportName, rawValue } = prepared[i];
      const args = row.multiArg ? splitOnSpaces(rawValue) : [rawValue];
      const error = this.assign(row, args) ?? this.refusedAsUnsupported(row, `${reportName} ${rawValue}`);
      if (error !== null) {
        this.restore(prepared, oldValues, i);
        throw setFailed(reportName, error);
      }
    }

    // Apply phase: each distinct hook once, for configs whose value really changed.
    const changed = prepared
      .map((p, i) => ({ ...p, oldValue: oldValues[i], oldText: oldFormatted[i] }))
      .filter((c) => !c.row.codec.equals(c.oldValue, this.values.get(c.row.name)));
    const ran: Array<{ hook: ApplyHook; name: string; newText: string; oldText: string }> = [];
    for (const c of changed) {
      const hook = this.applyHooks.get(c.row.name);
      if (!hook || ran.some((r) => r.hook === hook)) continue;
      const newText = this.get(c.row.name);
      ran.push({ hook, name: c.row.name, newText, oldText: c.oldText });
      try {
        hook(newText, c.oldText, c.row.name);
      } catch (err) {
        this.log(
          'warning',
          `Failed applying new configuration. Possibly related to new ${c.reportName} setting. Restoring previous settings.`,
        );
        this.restore(prepared, oldValues, prepared.length - 1);
        for (const r of ran) {
          try {
            r.hook(r.oldText, r.newText, r.name);
          } catch (restoreErr) {
            this.log('warning', `Failed applying restored failed CONFIG SET command: ${errorText(restoreErr)}`);
          }
        }
        throw setFailed(c.reportName, errorText(err));
      }
    }

    for (const c of changed) {
      const unsupported = this.unsupportedValue(c.row, `${c.reportName} ${c.rawValue}`);
      if (unsupported) this.log('warning', unsupported.text);
    }
    for (const c of changed) {
      const newText = this.get(c.row.name);
      for (const listener of this.listeners.get(c.row.name) ?? []) listener(newText, c.oldText, c.row.name);
    }
  }

  private refusedAsUnsupported(row: ConfigRow, setting: string): string | null {
    const unsupported = this.unsupportedValue(row, setting);
    return unsupported?.refuse ? unsupported.text : null;
  }

  /** The lookup loop of configSetCommand: unknown, immutable, protected, loading, duplicates. */
  private checkConfigSet(pairs: ReadonlyArray<readonly [string, string]>, opts: ConfigSetOptions): PreparedSet[] {
    const prepared: PreparedSet[] = [];
    const seen: string[] = [];
    let unknownName: string | null = null;
    let failure: { name: string; reason: string } | null = null;
    let denyLoading = false;
    for (const [name, rawValue] of pairs) {
      const row = findConfigRow(name);
      const lowered = name.toLowerCase();
      // Redis registers each alias as its own entry: primary and alias are not duplicates.
      const entry = row && row.aliases.includes(lowered) ? lowered : row?.name;
      if (!row || !entry) {
        if (unknownName === null && failure === null && !denyLoading) unknownName = name;
        continue;
      }
      if (unknownName !== null || failure !== null || denyLoading) continue;
      const allowProtected = this.protectedActionAllowed(ENABLE_PROTECTED_CONFIGS, opts.isLocalClient ?? false);
      if (!row.mutable || (row.protected && !allowProtected)) {
        failure = { name, reason: row.mutable ? "can't set protected config" : "can't set immutable config" };
        continue;
      }
      if (opts.loading && row.denyLoading) {
        denyLoading = true;
        continue;
      }
      if (seen.includes(entry)) {
        failure = { name, reason: 'duplicate parameter' };
      }
      seen.push(entry);
      prepared.push({ row, reportName: entry, rawValue });
    }
    if (denyLoading) throw new ConfigSetError('LOADING Redis is loading the dataset in memory');
    if (unknownName !== null) {
      throw new ConfigSetError(`ERR Unknown option or number of arguments for CONFIG SET - '${unknownName}'`);
    }
    if (failure !== null) throw setFailed(failure.name, failure.reason);
    return prepared;
  }

  /** Puts back the values of prepared[0..last] (and the working directory). */
  private restore(prepared: PreparedSet[], oldValues: unknown[], last: number): void {
    for (let i = 0; i <= last; i++) {
      const name = prepared[i].row.name;
      if (name === DIR.name) {
        const previousDir = oldValues[i] as string;
        if (this.cwdFn() !== previousDir) {
          try {
            this.chdirFn(previousDir);
          } catch (err) {
            this.log(
              'warning',
              `Failed restoring failed CONFIG SET command. Error setting dir to '${previousDir}': ${strerror(err)}`,
            );
          }
        }
      }
      this.values.set(name, oldValues[i]);
    }
  }

  // ---------------------------------------------------------------------------------------
  // CONFIG REWRITE

  /**
   * CONFIG REWRITE into `path` (default: the config file). Throws ConfigRewriteError:
   * "ERR The server is running without a config file" or "ERR Rewriting config file: <strerror>".
   * `forceAll` writes options at their defaults too (DEBUG CONFIG-REWRITE-FORCE-ALL).
   */
  rewrite(path: string | null = this.configFile, forceAll = false): void {
    if (path === null) {
      throw new ConfigRewriteError('ERR The server is running without a config file');
    }
    rewriteConfigFile(this, path, forceAll);
  }

  /** Internal value and default of a row, for the rewriter. */
  rewriteLinesFor(row: ConfigRow): Array<{ line: string; force: boolean }> {
    return row.codec.rewrite(
      row.name,
      this.values.get(row.name),
      this.defaultValues.get(row.name),
      this.viewWithFile(),
    );
  }
}

function setFailed(name: string, reason: string): ConfigSetError {
  return new ConfigSetError(`ERR CONFIG SET failed (possibly related to argument '${name}') - ${reason}`);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

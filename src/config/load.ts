// redis.conf reading and `keyfork-server [file] [--opt value ...]` argv handling, as
// Redis 7.0.15's loadServerConfig / loadServerConfigFromString / main() do it. Every
// error is a FatalConfigError whose `report` is what redis-server prints before exit(1).

import * as fs from 'fs';
import { Config, ConfigOptions } from './config';
import { ConfigDirectiveError, FatalConfigError, strerror } from './errors';
import { hasGlobChars, stringMatch } from './glob';
import { quoteRepr, splitArgs, trimChars } from './splitargs';
import { findConfigRow } from './table';

export interface ParsedConfigLine {
  /** 1-based line number in its text. */
  line: number;
  /** The line with surrounding blanks trimmed (what the error block quotes). */
  text: string;
  /** Arguments, the directive name lower-cased first; null when the quotes are unbalanced. */
  args: string[] | null;
  source: string;
}

/**
 * Splits redis.conf text into directive lines (comments, blank lines and lines with no
 * words are dropped). Tokenising is sdssplitargs: "double quotes" with \n \r \t \b \a \\
 * \" \xHH escapes, 'single quotes' with \' only; a closing quote must be followed by a
 * blank or the end of the line.
 */
export function parseConfigText(text: string, sourceName: string): ParsedConfigLine[] {
  const out: ParsedConfigLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const trimmed = trimChars(lines[i], ' \t\r\n');
    if (trimmed === '' || trimmed[0] === '#') continue;
    const args = splitArgs(trimmed);
    if (args !== null && args.length === 0) continue;
    if (args !== null) args[0] = args[0].toLowerCase();
    out.push({ line: i + 1, text: trimmed, args, source: sourceName });
  }
  return out;
}

export interface LoadConfigOptions extends ConfigOptions {
  /** Reads the whole of stdin (the `-` argument); defaults to fd 0. Return a byte string. */
  readStdin?: () => string;
  /**
   * Checks a `rename-command from to` line; return Redis's error text ("No such command
   * in rename-command", "Target command name already exists") or null. Without it the
   * pair is only recorded in config.extra.renameCommands.
   */
  renameCommand?: (from: string, to: string) => string | null;
  /** Checks a `user` line (ACL); return the error text or null. */
  user?: (args: string[]) => string | null;
}

// Redis 7.0 still accepts (and ignores) these, with exactly one argument.
const DEPRECATED_DIRECTIVES = new Set(['list-max-ziplist-entries', 'list-max-ziplist-value', 'lua-replicate-commands']);

class ConfigLoader {
  constructor(
    readonly config: Config,
    readonly opts: LoadConfigOptions,
  ) {}

  /** loadServerConfigFromString: applies the text line by line, stopping at the first error. */
  applyText(text: string, sourceName: string): void {
    this.config.readingConfigFile = true;
    for (const parsed of parseConfigText(text, sourceName)) {
      const fail = (reason: string): FatalConfigError =>
        FatalConfigError.block(reason, { number: parsed.line, text: parsed.text });
      if (parsed.args === null) throw fail('Unbalanced quotes in configuration line');
      const reason = this.applyDirective(parsed.args);
      if (reason !== null) throw fail(reason);
    }
    this.finalChecks();
    // Like Redis, reading ends here even when this text was an `include`d file.
    this.config.readingConfigFile = false;
  }

  /** One directive; returns the reason it was refused, or null. */
  private applyDirective(argv: string[]): string | null {
    const [name, ...args] = argv;
    if (findConfigRow(name)) {
      try {
        this.config.setFromConfigFile(name, args);
        return null;
      } catch (err) {
        if (err instanceof ConfigDirectiveError) return err.message;
        throw err;
      }
    }
    if (DEPRECATED_DIRECTIVES.has(name) && argv.length === 2) return null;

    const extra = this.config.extra;
    if (name === 'include' && argv.length === 2) {
      this.loadFile(args[0]);
      return null;
    }
    if (name === 'rename-command' && argv.length === 3) {
      const error = this.opts.renameCommand
        ? this.opts.renameCommand(args[0], args[1])
        : this.unsupportedExtra('rename-command', 'renaming commands');
      if (error !== null) return error;
      extra.renameCommands.push({ from: args[0], to: args[1] });
      return null;
    }
    if (name === 'user' && argv.length >= 2) {
      const error = this.opts.user ? this.opts.user(args) : this.unsupportedExtra('user', 'ACL');
      if (error !== null) return error;
      extra.users.push(args);
      return null;
    }
    if (name === 'loadmodule' && argv.length >= 2) {
      const refused = this.unsupportedExtra('loadmodule', 'loading modules');
      if (refused !== null) return refused;
      extra.loadModules.push({ path: args[0], args: args.slice(1) });
      return null;
    }
    if (name.includes('.')) {
      if (argv.length !== 2) return 'Module config specified without value';
      const refused = this.unsupportedExtra(name, 'loading modules');
      if (refused !== null) return refused;
      extra.moduleConfigs.set(name, args[0]);
      return null;
    }
    if (name === 'sentinel') {
      // keyfork has no sentinel mode; a bare `sentinel` line is ignored as Redis does.
      return argv.length === 1 ? null : 'sentinel directive while not in sentinel mode';
    }
    return 'Bad directive or wrong number of arguments';
  }

  /**
   * A directive that is not a config row and that keyfork cannot act on yet: refused for the
   * server (loudUnsupported), recorded in config.extra otherwise (unit tests of the parser).
   */
  private unsupportedExtra(directive: string, missing: string): string | null {
    if (!this.opts.loudUnsupported) return null;
    return `keyfork does not support '${directive}' yet: ${missing} is not implemented`;
  }

  /** The checks at the end of loadServerConfigFromString (no line number in their report). */
  private finalChecks(): void {
    const logfile = this.config.get('logfile');
    if (logfile !== '') {
      // Redis opens the log file for append here, so the server cannot fail on it later.
      try {
        fs.closeSync(fs.openSync(logfile, 'a'));
      } catch (err) {
        throw FatalConfigError.block(`Can't open the log file: ${strerror(err)}`);
      }
    }
    // Validation as Redis does it; neither value is acted on here.
    if (this.config.get('cluster-enabled') === 'yes' && this.config.get('replicaof') !== '') {
      throw FatalConfigError.block('replicaof directive not allowed in cluster mode');
    }
  }

  /** loadServerConfig for a file named by `include` (globs allowed) or the command line. */
  loadFile(path: string, extraText?: { stdin: boolean; options: string | null }): void {
    let text = '';
    if (hasGlobChars(path)) {
      // With wildcards, no match is fine (an empty conf.d); each match must be readable.
      for (const match of globPaths(path)) text += readConfigFile(match);
    } else {
      text += readConfigFile(path);
    }
    if (extraText) text += this.withStdinAndOptions(extraText);
    this.applyText(text, path);
  }

  withStdinAndOptions(extraText: { stdin: boolean; options: string | null }): string {
    let text = '';
    if (extraText.stdin) {
      this.opts.log?.('warning', 'Reading config from stdin');
      text += (this.opts.readStdin ?? (() => fs.readFileSync(0, 'latin1')))();
    }
    if (extraText.options !== null) text += '\n' + extraText.options;
    return text;
  }
}

function readConfigFile(path: string): string {
  try {
    return fs.readFileSync(path, 'latin1');
  } catch (err) {
    throw new FatalConfigError('log', `Fatal error, can't open config file '${path}': ${strerror(err)}`);
  }
}

/** glob(3) with default flags: sorted matches, no leading-dot matches unless asked for. */
export function globPaths(pattern: string): string[] {
  const absolute = pattern.startsWith('/');
  const segments = pattern.split('/').filter((s) => s !== '');
  let candidates: string[] = [absolute ? '/' : ''];
  for (const segment of segments) {
    const next: string[] = [];
    for (const base of candidates) {
      const join = (name: string): string => (base === '' ? name : base.endsWith('/') ? base + name : `${base}/${name}`);
      if (!hasGlobChars(segment)) {
        next.push(join(segment));
        continue;
      }
      let names: string[];
      try {
        names = fs.readdirSync(base === '' ? '.' : base);
      } catch {
        continue;
      }
      const fnmatch = segment.replace(/\[!/g, '[^');
      for (const name of names) {
        if (name.startsWith('.') && !segment.startsWith('.')) continue;
        if (stringMatch(fnmatch, name, false)) next.push(join(name));
      }
    }
    candidates = next;
  }
  return candidates.filter((p) => p !== '' && fs.existsSync(p)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

// ---------------------------------------------------------------------------------------
// argv

export const isVersionFlag = (arg: string | undefined): boolean => arg === '-v' || arg === '--version';
export const isHelpFlag = (arg: string | undefined): boolean => arg === '-h' || arg === '--help';
export const isTestMemoryFlag = (arg: string | undefined): boolean => arg === '--test-memory';

/** Node decodes argv as UTF-8; configs are byte strings. */
const toByteString = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

/**
 * Redis's getAbsolutePath: trims blanks, keeps absolute paths, otherwise joins the
 * working directory and strips leading "../" components against it.
 */
export function getAbsolutePath(filename: string, cwd: string = process.cwd()): string {
  let rel = trimChars(filename, ' \r\n\t');
  if (rel.startsWith('/')) return rel;
  let abs = cwd.endsWith('/') ? cwd : cwd + '/';
  while (rel.length >= 3 && rel.startsWith('../')) {
    rel = rel.slice(3);
    if (abs.length > 1) {
      const cut = abs.lastIndexOf('/', abs.length - 2);
      abs = abs.slice(0, cut + 1);
    }
  }
  return abs + rel;
}

export interface CommandLine {
  /** Absolute path of the config file, or null. */
  configFile: string | null;
  /** Read more configuration from stdin (`-` as the first or the last argument). */
  stdin: boolean;
  /** The options as config text, one directive per line ("port \"6380\"\nsave \"\" "). */
  options: string;
}

/**
 * How redis-server 7.0 turns its arguments (without the program name) into config text:
 * the first argument is a config file unless it starts with '-'; each `--name` starts a
 * directive and the following arguments (quoted) are its values; `--save` with no value
 * becomes `save ""`; an argument starting with `--` right after a bare `--name` is taken
 * as that option's value.
 */
export function parseCommandLine(argv: readonly string[], cwd: string = process.cwd()): CommandLine {
  const args = argv.map(toByteString);
  let configFile: string | null = null;
  let stdin = false;
  let j = 0;
  if (args.length > 0 && !args[0].startsWith('-')) {
    configFile = getAbsolutePath(args[0], cwd);
    j = 1;
  }
  let options = '';
  let handledLastConfigArg = true;
  const last = args.length - 1;
  for (; j < args.length; j++) {
    const arg = args[j];
    if (arg === '-' && (j === 0 || j === last)) {
      stdin = true;
    } else if (handledLastConfigArg && arg.startsWith('--')) {
      if (options.length) options += '\n';
      options += arg.slice(2) + ' ';
      const words = splitArgs(arg);
      if (words !== null && words.length === 1) {
        // Only an option name ("--port"): its value comes next.
        handledLastConfigArg = false;
        const nextIsOption = j !== last && args[j + 1].startsWith('--');
        const lowered = arg.toLowerCase();
        if (lowered === '--save' && (nextIsOption || j === last)) {
          // `--save --port 1` and a trailing `--save` mean `save ""`.
          options += '""';
          handledLastConfigArg = nextIsOption;
        } else if (lowered === '--sentinel' && nextIsOption) {
          handledLastConfigArg = true;
        }
      } else {
        // Name and value in one argument ("--port 6380").
        handledLastConfigArg = true;
      }
    } else {
      options += quoteRepr(arg) + ' ';
      handledLastConfigArg = true;
    }
  }
  return { configFile, stdin, options };
}

/**
 * Builds the configuration for `keyfork-server [/path/redis.conf] [--opt value ...]`:
 * file, then stdin, then the command-line options, later settings winning. The caller
 * handles -v/--version and -h/--help (see isVersionFlag / isHelpFlag) before this.
 * Throws FatalConfigError.
 */
export function loadConfig(argv: readonly string[], opts: LoadConfigOptions = {}): Config {
  const cwd = opts.cwd ?? (() => process.cwd());
  const config = Config.defaults(opts);
  const commandLine = parseCommandLine(argv, cwd());
  config.configFile = commandLine.configFile;
  const loader = new ConfigLoader(config, opts);
  const extraText = { stdin: commandLine.stdin, options: commandLine.options };
  if (commandLine.configFile !== null) {
    loader.loadFile(commandLine.configFile, extraText);
  } else {
    loader.applyText(loader.withStdinAndOptions(extraText), '(command line)');
  }
  return config;
}

/** Applies redis.conf text to an existing configuration (includes resolved against the cwd). */
export function applyConfigText(config: Config, text: string, sourceName: string, opts: LoadConfigOptions = {}): void {
  new ConfigLoader(config, opts).applyText(text, sourceName);
}

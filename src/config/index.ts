// Public surface of the configuration module.

export { Config } from './config';
export type { ApplyHook, ChangeListener, ConfigOptions, ConfigSetOptions, ExtraDirectives } from './config';
export {
  CONFIG_TABLE,
  SHUTDOWN_FLAGS,
  configRows,
  expandProcTitleTemplate,
  findConfigRow,
} from './table';
export type { ConfigRow, ConfigType } from './table';
export { appliedDirectives, consume, directiveStatus } from './consumers';
export type { Directive, DirectiveStatus } from './consumers';
export {
  NOTIFY_ALL,
  NOTIFY_FLAGS,
  keyspaceEventsFromString,
  keyspaceEventsToString,
} from './specials';
export type { OutputBufferLimit, OutputBufferLimits, ReplicaOf, SaveRule } from './specials';
export {
  applyConfigText,
  getAbsolutePath,
  globPaths,
  isHelpFlag,
  isTestMemoryFlag,
  isVersionFlag,
  loadConfig,
  parseCommandLine,
  parseConfigText,
} from './load';
export type { CommandLine, LoadConfigOptions, ParsedConfigLine } from './load';
export {
  ConfigCommandError,
  ConfigDirectiveError,
  ConfigRewriteError,
  ConfigSetError,
  FatalConfigError,
  REDIS_VERSION,
  strerror,
} from './errors';
export { REWRITE_SIGNATURE, rewriteConfigContent } from './rewrite';
export { hasGlobChars, stringMatch } from './glob';
export { quoteRepr, splitArgs, splitOnSpaces } from './splitargs';

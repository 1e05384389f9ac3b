// XGROUP HELP and XINFO HELP (the other stream commands are native: native/src/cmd/streams).
import { subcommandPresent, writeHelp, type HelpEntry } from './command-cmd';
import type { Ctx, Handler } from './types';

const XGROUP_HELP: HelpEntry[] = [
  ['create', 'CREATE <key> <groupname> <id|$> [option]', [
    'Create a new consumer group. Options are:',
    '* MKSTREAM',
    '  Create the empty stream if it does not exist.',
    '* ENTRIESREAD entries_read',
    "  Set the group's entries_read counter (internal use).",
  ]],
  ['createconsumer', 'CREATECONSUMER <key> <groupname> <consumer>', ['Create a new consumer in the specified group.']],
  ['delconsumer', 'DELCONSUMER <key> <groupname> <consumer>', ['Remove the specified consumer.']],
  ['destroy', 'DESTROY <key> <groupname>', ['Remove the specified group.']],
  ['setid', 'SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]', ['Set the current group ID and entries_read counter.']],
];

const XINFO_HELP: HelpEntry[] = [
  ['consumers', 'CONSUMERS <key> <groupname>', ['Show consumers of <groupname>.']],
  ['groups', 'GROUPS <key>', ['Show the stream consumer groups.']],
  ['stream', 'STREAM <key> [FULL [COUNT <count>]', ['Show information about the stream.']],
];

export const streamCommands: [string, Handler][] = [
  ['xgroup|help', (ctx: Ctx) => writeHelp(ctx, XGROUP_HELP, subcommandPresent(ctx.server, 'xgroup'))],
  ['xinfo|help', (ctx: Ctx) => writeHelp(ctx, XINFO_HELP, subcommandPresent(ctx.server, 'xinfo'))],
];

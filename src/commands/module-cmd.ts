// MODULE, for a server that loads no modules (keyfork cannot host Redis modules yet): LIST is
// empty, LOAD and LOADEX fail as Redis does when the library cannot be loaded (the reason in
// the log), UNLOAD finds nothing. LOAD, LOADEX and UNLOAD are behind enable-module-command
// (commands/protected.ts); LIST and HELP are not.
import * as fs from 'node:fs';
import { subcommandPresent, writeHelp, type HelpEntry } from './command-cmd';
import { argStr, ReplyError, type Ctx, type Handler } from './types';

const LOAD_FAILED = 'ERR Error loading the extension. Please check the server logs.';

function moduleList(ctx: Ctx): void {
  ctx.out.array(0);
}

/** moduleLoad failing: Redis logs dlopen()'s reason; keyfork says why it loads nothing. */
function failLoad(ctx: Ctx, path: string): never {
  const reason = fs.existsSync(path)
    ? 'keyfork does not support loading modules yet'
    : `${path}: cannot open shared object file: No such file or directory`;
  ctx.server.log.warning(`Module ${path} failed to load: ${reason}`);
  throw new ReplyError(LOAD_FAILED);
}

function moduleLoad(ctx: Ctx): void {
  failLoad(ctx, argStr(ctx.req, 2));
}

/** MODULE LOADEX path [CONFIG name value ...] [ARGS arg ...]: the syntax is checked first. */
function moduleLoadex(ctx: Ctx): void {
  const { req, server } = ctx;
  for (let i = 3; i < req.argc; i++) {
    const word = argStr(req, i).toLowerCase();
    if (word === 'config') {
      if (req.argc - i < 3) {
        server.log.notice('CONFIG specified without name value pair');
        throw new ReplyError(LOAD_FAILED);
      }
      i += 2;
    } else if (word === 'args') {
      break;
    } else {
      server.log.notice(`Syntax Error from arguments to loadex around ${argStr(req, i)}.`);
      throw new ReplyError(LOAD_FAILED);
    }
  }
  failLoad(ctx, argStr(req, 2));
}

function moduleUnload(): void {
  throw new ReplyError('ERR Error unloading module: no such module with that name');
}

const MODULE_HELP: HelpEntry[] = [
  ['list', 'LIST', ['Return a list of loaded modules.']],
  ['load', 'LOAD <path> [<arg> ...]', ['Load a module library from <path>, passing to it any optional arguments.']],
  ['loadex', 'LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]', [
    'Load a module library from <path>, while passing it module configurations and optional arguments.',
  ]],
  ['unload', 'UNLOAD <name>', ['Unload a module.']],
];

function moduleHelp(ctx: Ctx): void {
  writeHelp(ctx, MODULE_HELP, subcommandPresent(ctx.server, 'module'));
}

export const moduleCommands: [string, Handler][] = [
  ['module|help', moduleHelp],
  ['module|list', moduleList],
  ['module|load', moduleLoad],
  ['module|loadex', moduleLoadex],
  ['module|unload', moduleUnload],
];

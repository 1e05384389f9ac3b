#!/usr/bin/env node
// keyfork: the operator's command line (argument parsing by commander).
//
//   keyfork status [--watch] [--json]        the persistence dashboard: the running child and
//                                            what triggered it, what waits, the last save and
//                                            rewrite, save rules, AOF, replicas, disk
//   keyfork bgsave [--wait] [--schedule]     start a save; a refusal explains what runs
//   keyfork bgrewriteaof [--wait]            start an AOF rewrite
//
// Every command speaks plain RESP and works against Redis too; what only keyfork's INFO
// fields tell is then marked "needs keyfork".
import { Command, InvalidArgumentError, Option } from 'commander';
import { AOF_REWRITE, describeOutcome, explainRefusal, Follower, RDB_SAVE, type WorkKind } from './cli/follow';
import { renderStatus } from './cli/render';
import { RespClient, type ConnectionOptions } from './cli/resp-client';
import { fetchStatus, num } from './cli/status';
import { watchStatus } from './cli/watch';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_CONNECTION = 3;

/** The connection options as commander hands them over: redis-cli's names. */
type ConnectionFlags = ConnectionOptions;

function parsePort(v: string): number {
  const port = Number(v);
  if (!/^\d+$/.test(v) || port < 1 || port > 65535) throw new InvalidArgumentError(`invalid port: ${v}`);
  return port;
}

function parseSeconds(v: string): number {
  const s = Number(v);
  if (!Number.isFinite(s) || s <= 0) throw new InvalidArgumentError(`not a positive number of seconds: ${v}`);
  return s;
}

/** redis-cli's connection options (-h is the host, as in redis-cli; --help is help). */
function withConnection(cmd: Command): Command {
  return cmd
    .helpOption('--help', 'display help for this command')
    .option('-h, --host <host>', 'server address', '127.0.0.1')
    .option('-p, --port <port>', 'server port', parsePort, 6379)
    .option('--user <name>', 'ACL user for AUTH')
    .addOption(new Option('-a, --password <password>', 'password for AUTH').env('REDISCLI_AUTH'))
    .option('--tls', 'connect with TLS')
    .option('--cacert <file>', 'CA certificate to verify the server with')
    .option('--cert <file>', 'client certificate')
    .option('--key <file>', 'client private key')
    .option('--sni <name>', 'server name for TLS SNI')
    .option('--insecure', 'do not verify the server certificate');
}

function connection(flags: ConnectionFlags): { conn: ConnectionOptions; addr: string } {
  return { conn: { ...flags, tls: flags.tls || !!(flags.cacert || flags.cert) }, addr: `${flags.host}:${flags.port}` };
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function complain(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function status(flags: ConnectionFlags & { watch?: boolean; json?: boolean; color: boolean; interval: number; count?: number }): Promise<number> {
  const { conn, addr } = connection(flags);
  const color = flags.color && process.stdout.isTTY === true && !process.env.NO_COLOR;
  if (flags.watch) return watchStatus(conn, addr, { intervalMs: flags.interval * 1000, json: !!flags.json, color, count: flags.count ?? 0 });
  const client = await RespClient.open(conn);
  try {
    const model = await fetchStatus(client, addr);
    if (flags.json) say(JSON.stringify(model, null, 2));
    else say(renderStatus(model, { color, width: process.stdout.isTTY ? process.stdout.columns || 100 : 1000, unicode: process.stdout.isTTY === true }).join('\n'));
    return EXIT_OK;
  } finally {
    client.close();
  }
}

/** Follows run `target` of `kind` to its end and reports it. */
async function followToEnd(follower: Follower, kind: WorkKind, target: number): Promise<number> {
  const outcome = await follower.follow(target);
  if (outcome.ok) {
    say(describeOutcome(kind, outcome));
    return EXIT_OK;
  }
  complain(describeOutcome(kind, outcome));
  return EXIT_FAILED;
}

const SAVE_RUNNING = 'ERR Background save already in progress';
const ANOTHER_CHILD = 'ERR Another child process is active';

async function bgsave(flags: ConnectionFlags & { wait?: boolean; schedule?: boolean }): Promise<number> {
  const { conn, addr } = connection(flags);
  const client = await RespClient.open(conn);
  const follower = new Follower(client, RDB_SAVE, addr, process.stdout.isTTY === true);
  try {
    // A save already running: join it (--wait), queue behind it (--schedule), or explain.
    for (let attempt = 0; attempt < 100; attempt++) {
      const { info, model } = await follower.status();
      const before = num(info, 'rdb_saves', 0);
      const running = RDB_SAVE.running(info) && model.child ? model.child : null;
      if (running) {
        if (flags.schedule) {
          say(`${explainRefusal(model, 'a new save starts when it ends.')}`);
          await follower.follow(before);
          continue;
        }
        if (flags.wait) {
          say(`${explainRefusal(model, 'waiting for it.')}`);
          return await followToEnd(follower, RDB_SAVE, before);
        }
        complain(`(error) ${SAVE_RUNNING}`);
        complain(explainRefusal(model, 'use --wait to follow it or --schedule to run after it.'));
        return EXIT_FAILED;
      }
      let reply = await client.call('BGSAVE');
      if (reply instanceof Error && reply.message.startsWith(ANOTHER_CHILD)) {
        const other = (await follower.status()).model;
        if (!flags.schedule && !flags.wait) {
          complain(`(error) ${reply.message}`);
          complain(explainRefusal(other, 'use --schedule to save when it ends (BGSAVE SCHEDULE), with --wait to follow it.'));
          return EXIT_FAILED;
        }
        reply = await client.call('BGSAVE', 'SCHEDULE');
        if (!(reply instanceof Error) && other.child) say(explainRefusal(other, 'the save starts when it ends.'));
      }
      if (reply instanceof Error) {
        if (reply.message === SAVE_RUNNING) continue; // a save started meanwhile: look again
        complain(`(error) ${reply.message}`);
        return EXIT_FAILED;
      }
      say(String(reply));
      return flags.wait ? await followToEnd(follower, RDB_SAVE, before + 1) : EXIT_OK;
    }
    complain('keyfork: saves kept starting before ours could; giving up');
    return EXIT_FAILED;
  } finally {
    client.close();
  }
}

const REWRITE_RUNNING = 'ERR Background append only file rewriting already in progress';

async function bgrewriteaof(flags: ConnectionFlags & { wait?: boolean }): Promise<number> {
  const { conn, addr } = connection(flags);
  const client = await RespClient.open(conn);
  const follower = new Follower(client, AOF_REWRITE, addr, process.stdout.isTTY === true);
  try {
    const { info, model } = await follower.status();
    const before = num(info, 'aof_rewrites', 0);
    if (num(info, 'aof_rewrite_in_progress', 0) === 1) {
      if (!flags.wait) {
        complain(`(error) ${REWRITE_RUNNING}`);
        complain(explainRefusal(model, 'use --wait to follow it.'));
        return EXIT_FAILED;
      }
      say(explainRefusal(model, 'waiting for it.'));
      return await followToEnd(follower, AOF_REWRITE, before);
    }
    const reply = await client.call('BGREWRITEAOF');
    if (reply instanceof Error) {
      complain(`(error) ${reply.message}`);
      return EXIT_FAILED;
    }
    say(String(reply));
    // "scheduled": another child runs; say which, then follow the rewrite once it starts.
    if (String(reply).includes('scheduled') && model.child) say(explainRefusal(model, 'the rewrite starts when it ends.'));
    return flags.wait ? await followToEnd(follower, AOF_REWRITE, before + 1) : EXIT_OK;
  } finally {
    client.close();
  }
}

function program(): Command {
  const root = new Command('keyfork')
    .description("keyfork's operator tools: watch persistence, start and follow saves and rewrites")
    .helpOption('--help', 'display help')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError();
  withConnection(root.command('status'))
    .description('one screen: the running child and what triggered it, what waits, last save and rewrite, save rules, AOF, replicas, disk')
    .option('-w, --watch', 'redraw in place like top (q to quit)')
    .option('--json', 'print the status as JSON (with --watch: one object per line)')
    .option('-i, --interval <seconds>', 'seconds between redraws with --watch', parseSeconds, 1)
    .option('--count <n>', 'with --watch: stop after n screens', (v) => parseInt(v, 10))
    .option('--no-color', 'no colours')
    .action(async (flags) => {
      exitCode = await status(flags);
    });
  withConnection(root.command('bgsave'))
    .description('start a background save (BGSAVE); a refusal says what runs and how far it is')
    .option('--wait', 'start it or join the running one, show its progress, exit 0 on success, 1 with the reason on failure')
    .option('--schedule', 'if a save or another child runs, save after it instead of failing')
    .action(async (flags) => {
      exitCode = await bgsave(flags);
    });
  withConnection(root.command('bgrewriteaof'))
    .description('start an AOF rewrite (BGREWRITEAOF)')
    .option('--wait', 'start it or join the running one, show its progress, exit with its outcome')
    .action(async (flags) => {
      exitCode = await bgrewriteaof(flags);
    });
  for (const cmd of root.commands) cmd.exitOverride();
  return root;
}

let exitCode = EXIT_OK;

export async function main(argv: string[]): Promise<number> {
  exitCode = EXIT_OK;
  const cli = program();
  if (argv.length === 0) {
    process.stderr.write(cli.helpInformation());
    return EXIT_USAGE;
  }
  try {
    await cli.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { exitCode?: number; code?: string };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? EXIT_OK : EXIT_USAGE;
    }
    const where = flagsAddr(argv);
    if (e.code === 'ECONNREFUSED') process.stderr.write(`keyfork: could not connect to ${where}: connection refused\n`);
    else process.stderr.write(`keyfork: ${where}: ${e.message}\n`);
    return EXIT_CONNECTION;
  }
}

/** host:port from the arguments, for an error before any command could say it. */
function flagsAddr(argv: string[]): string {
  const value = (names: string[], fallback: string) => {
    const i = argv.findIndex((a) => names.includes(a));
    return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
  };
  return `${value(['-h', '--host'], '127.0.0.1')}:${value(['-p', '--port'], '6379')}`;
}

if (typeof require !== 'undefined' && require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`keyfork: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(EXIT_CONNECTION);
    },
  );
}

#!/usr/bin/env node
// keyfork: the operator's command line.
//
//   keyfork bgsave [--wait] [--host 127.0.0.1] [--port 6379] [--user name] [--password secret]
//   keyfork status [--host 127.0.0.1] [--port 6379] [--user name] [--password secret]
//
// `bgsave --wait` starts a background save (or joins the one already running), draws its
// progress from INFO persistence every 200 ms, and exits 0 when the save succeeded, 1 with
// the reason when it failed. It speaks plain RESP and works against Redis too (progress then
// comes from current_save_keys_*, refreshed by Redis once a second).
import * as net from 'node:net';

const POLL_MS = 200;
const EXIT_OK = 0;
const EXIT_SAVE_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_CONNECTION = 3;

const USAGE = `Usage: keyfork bgsave [--wait] [--host <host>] [--port <port>] [--user <name>] [--password <password>]
       keyfork status [--host <host>] [--port <port>] [--user <name>] [--password <password>]

  bgsave          start a background save (BGSAVE)
    --wait        start it or join the running one, show its progress, and exit when it
                  ends: 0 on success, 1 with the reason on failure
  status          the server at a glance: version, uptime, clients, keys, memory, the last
                  save, and the directives set that keyfork does not act on yet
  --host <host>   server address (default 127.0.0.1)
  --port <port>   server port (default 6379)
  --user <name>   ACL user for AUTH (default: the default user)
  --password <p>  password for AUTH (default: $REDISCLI_AUTH when set)
`;

// -------------------------------------------------------------------------------------------
// A minimal RESP2 client: one request at a time is all this tool needs.

type Reply = string | number | null | Error | Reply[];

class ProtocolError extends Error {}

/** Parses one reply at `pos`; returns it and the next position, or null when incomplete. */
function parseReply(buf: Buffer, pos: number): { reply: Reply; next: number } | null {
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[pos]);
  const line = buf.toString('utf8', pos + 1, eol);
  switch (type) {
    case '+':
      return { reply: line, next: eol + 2 };
    case '-':
      return { reply: new Error(line), next: eol + 2 };
    case ':':
      return { reply: Number(line), next: eol + 2 };
    case '$': {
      const len = Number(line);
      if (len < 0) return { reply: null, next: eol + 2 };
      if (buf.length < eol + 2 + len + 2) return null;
      return { reply: buf.toString('utf8', eol + 2, eol + 2 + len), next: eol + 2 + len + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { reply: null, next: eol + 2 };
      const items: Reply[] = [];
      let next = eol + 2;
      for (let i = 0; i < n; i++) {
        const item = parseReply(buf, next);
        if (!item) return null;
        items.push(item.reply);
        next = item.next;
      }
      return { reply: items, next };
    }
    default:
      throw new ProtocolError(`unexpected reply type byte ${JSON.stringify(type)}`);
  }
}

class RespClient {
  private pending: Buffer = Buffer.alloc(0);
  private waiting: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }> = [];
  private failure: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('the server closed the connection')));
  }

  static connect(host: string, port: number): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.setNoDelay(true);
        resolve(new RespClient(socket));
      });
      socket.once('error', reject);
    });
  }

  call(...args: string[]): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    let req = `*${args.length}\r\n`;
    for (const a of args) req += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
    this.socket.write(req);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let pos = 0;
    try {
      for (;;) {
        const parsed = parseReply(this.pending, pos);
        if (!parsed) break;
        pos = parsed.next;
        this.waiting.shift()?.resolve(parsed.reply);
      }
    } catch (err) {
      this.fail(err as Error);
      this.socket.destroy();
      return;
    }
    this.pending = this.pending.subarray(pos);
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }
}

// -------------------------------------------------------------------------------------------
// INFO persistence as numbers and strings

type Info = Map<string, string>;

function parseInfo(text: string): Info {
  const info = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) info.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return info;
}

function num(info: Info, field: string, fallback = -1): number {
  const v = info.get(field);
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  return Number.isFinite(n) ? n : fallback;
}

async function readInfo(client: RespClient, section = 'persistence'): Promise<Info> {
  const reply = await client.call('INFO', section);
  if (reply instanceof Error) throw reply;
  if (typeof reply !== 'string') throw new ProtocolError('INFO did not return a bulk string');
  return parseInfo(reply);
}

// -------------------------------------------------------------------------------------------
// Progress display

export interface ProgressView {
  keysDone: number;
  keysTotal: number;
  /** Bytes written so far, -1 when the server does not say (Redis). */
  bytes: number;
  elapsedMs: number;
  /** Seconds, -1 when unknown. */
  etaSec: number;
}

const BAR_WIDTH = 24;

function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function formatMB(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(h > 0 ? 2 : 1, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function renderProgress(v: ProgressView): string {
  const frac = v.keysTotal > 0 ? Math.min(1, v.keysDone / v.keysTotal) : 0;
  const filled = Math.round(frac * BAR_WIDTH);
  const bar = '#'.repeat(filled) + '.'.repeat(BAR_WIDTH - filled);
  const perc = (frac * 100).toFixed(1).padStart(5);
  const written = v.bytes >= 0 ? `  ${formatMB(v.bytes)}` : '';
  const eta = v.etaSec >= 0 ? formatDuration(v.etaSec * 1000) : '--:--';
  return `[${bar}] ${perc}%  ${formatCount(v.keysDone)}/${formatCount(v.keysTotal)} keys${written}  elapsed ${formatDuration(v.elapsedMs)}  ETA ${eta}`;
}

/** The progress of the running save as INFO describes it (keyfork's fields when present). */
function progressFrom(info: Info, localElapsedMs: number): ProgressView {
  const keysDone = Math.max(0, num(info, 'current_save_keys_processed', 0));
  const keysTotal = Math.max(0, num(info, 'current_save_keys_total', 0));
  const bytes = num(info, 'keyfork_save_bytes_written', -1);
  const serverElapsed = num(info, 'keyfork_save_elapsed_ms', -1);
  const elapsedMs = serverElapsed >= 0 ? serverElapsed : Math.max(localElapsedMs, num(info, 'rdb_current_bgsave_time_sec', 0) * 1000);
  let etaSec = num(info, 'keyfork_save_eta_sec', -1);
  if (!info.has('keyfork_save_eta_sec') && keysDone > 0 && keysTotal > 0) {
    etaSec = Math.ceil((elapsedMs * Math.max(0, keysTotal - keysDone)) / keysDone / 1000);
  }
  return { keysDone, keysTotal, bytes, elapsedMs, etaSec };
}

class ProgressLine {
  private lastPrint = 0;
  private shown = false;

  constructor(private readonly tty: boolean) {}

  update(view: ProgressView): void {
    const line = renderProgress(view);
    if (this.tty) {
      process.stdout.write(`\r${line}\x1b[K`);
      this.shown = true;
      return;
    }
    // A log file or a pipe gets a line a second instead of a redrawn bar.
    const now = Date.now();
    if (now - this.lastPrint >= 1000) {
      this.lastPrint = now;
      process.stdout.write(`${line}\n`);
    }
  }

  end(): void {
    if (this.tty && this.shown) process.stdout.write('\n');
    this.shown = false;
  }
}

// -------------------------------------------------------------------------------------------
// bgsave

interface Options {
  command: string | null;
  wait: boolean;
  host: string;
  port: number;
  user: string | null;
  password: string | null;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const opts: Options = {
    command: null,
    wait: false,
    host: '127.0.0.1',
    port: 6379,
    user: null,
    password: process.env.REDISCLI_AUTH || null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--wait':
        opts.wait = true;
        break;
      case '--host':
      case '-h':
        opts.host = value();
        break;
      case '--port':
      case '-p': {
        const v = value();
        const port = Number(v);
        if (!/^\d+$/.test(v) || port < 1 || port > 65535) throw new UsageError(`invalid port: ${v}`);
        opts.port = port;
        break;
      }
      case '--user':
        opts.user = value();
        break;
      case '--password':
      case '-a':
        opts.password = value();
        break;
      case '--help':
        opts.command = 'help';
        break;
      default:
        if (a.startsWith('-') || opts.command !== null) throw new UsageError(`unknown argument: ${a}`);
        opts.command = a.toLowerCase();
    }
  }
  return opts;
}

/** Outcome of waiting for a save: null on success, else the reason it failed. */
type SaveOutcome = { ok: true; view: ProgressView } | { ok: false; reason: string };

class BgsaveWaiter {
  private readonly started = Date.now();
  private lastView: ProgressView = { keysDone: 0, keysTotal: 0, bytes: -1, elapsedMs: 0, etaSec: -1 };

  constructor(
    private readonly client: RespClient,
    private readonly progress: ProgressLine,
    private readonly say: (line: string) => void,
  ) {}

  /** Starts a save or finds the running one; returns the rdb_saves number of the save to wait for. */
  async begin(): Promise<number> {
    const before = await readInfo(this.client);
    if (num(before, 'rdb_bgsave_in_progress', 0) === 1) {
      const pid = num(before, 'keyfork_save_child_pid', -1);
      this.say(`A background save is already running${pid > 0 ? ` (pid ${pid})` : ''}: waiting for it.`);
      return num(before, 'rdb_saves', 0);
    }
    let reply = await this.client.call('BGSAVE');
    if (reply instanceof Error && reply.message.startsWith('ERR Another child process is active')) {
      // An AOF rewrite or a replication sync holds the fork: queue behind it.
      reply = await this.client.call('BGSAVE', 'SCHEDULE');
    }
    if (reply instanceof Error) {
      if (reply.message.includes('already in progress')) {
        this.say('A background save started meanwhile: waiting for it.');
        return num(await readInfo(this.client), 'rdb_saves', 0);
      }
      throw reply;
    }
    this.say(String(reply));
    return num(before, 'rdb_saves', 0) + 1;
  }

  /** Polls INFO persistence until save number `target` has ended. */
  async wait(target: number): Promise<SaveOutcome> {
    for (;;) {
      const info = await readInfo(this.client);
      const saves = num(info, 'rdb_saves', 0);
      const running = num(info, 'rdb_bgsave_in_progress', 0) === 1;
      if (saves === target && running) {
        this.lastView = progressFrom(info, Date.now() - this.started);
        this.progress.update(this.lastView);
      }
      // Ours ended when the counter reached it and nothing runs, or a later save started.
      if ((saves === target && !running) || saves > target) {
        this.progress.end();
        if (info.get('rdb_last_bgsave_status') === 'ok') {
          const view = { ...this.lastView, keysDone: this.lastView.keysTotal, etaSec: 0 };
          view.elapsedMs = Math.max(view.elapsedMs, num(info, 'rdb_last_bgsave_time_sec', 0) * 1000);
          return { ok: true, view };
        }
        const detail = info.get('keyfork_last_bgsave_error');
        return { ok: false, reason: detail ? detail : 'rdb_last_bgsave_status:err (see the server log)' };
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}

async function authenticate(client: RespClient, opts: Options): Promise<void> {
  if (opts.password === null) return;
  const reply = opts.user === null ? await client.call('AUTH', opts.password) : await client.call('AUTH', opts.user, opts.password);
  if (reply instanceof Error) throw reply;
}

async function bgsave(opts: Options): Promise<number> {
  const client = await RespClient.connect(opts.host, opts.port);
  try {
    await authenticate(client, opts);
    if (!opts.wait) {
      const reply = await client.call('BGSAVE');
      if (reply instanceof Error) {
        process.stderr.write(`(error) ${reply.message}\n`);
        return EXIT_SAVE_FAILED;
      }
      process.stdout.write(`${String(reply)}\n`);
      return EXIT_OK;
    }
    const progress = new ProgressLine(process.stdout.isTTY === true);
    const waiter = new BgsaveWaiter(client, progress, (line) => process.stdout.write(`${line}\n`));
    const target = await waiter.begin();
    const outcome = await waiter.wait(target);
    if (outcome.ok) {
      const v = outcome.view;
      const written = v.bytes >= 0 ? `, ${formatMB(v.bytes)}` : '';
      process.stdout.write(
        `Background saving terminated with success in ${(v.elapsedMs / 1000).toFixed(1)} s (${formatCount(v.keysTotal)} keys${written})\n`,
      );
      return EXIT_OK;
    }
    process.stderr.write(`Background saving failed: ${outcome.reason}\n`);
    return EXIT_SAVE_FAILED;
  } finally {
    client.close();
  }
}

/** `keyfork status`: a few INFO fields an operator looks at first, and what is not supported. */
async function status(opts: Options): Promise<number> {
  const client = await RespClient.connect(opts.host, opts.port);
  try {
    await authenticate(client, opts);
    const info = await readInfo(client, 'everything');
    const field = (name: string): string => info.get(name) ?? '?';
    const keys = [...info.entries()]
      .filter(([name]) => /^db\d+$/.test(name))
      .reduce((sum, [, v]) => sum + Number(/keys=(\d+)/.exec(v)?.[1] ?? 0), 0);
    const version = info.has('keyfork_version') ? `keyfork ${field('keyfork_version')} (Redis ${field('redis_version')})` : `Redis ${field('redis_version')}`;
    const lines = [
      `server:       ${version}, pid ${field('process_id')}, port ${field('tcp_port')}, up ${field('uptime_in_seconds')} s`,
      `clients:      ${field('connected_clients')} connected, ${field('blocked_clients')} blocked`,
      `keys:         ${keys}`,
      `memory:       ${field('used_memory_human')} used, peak ${field('used_memory_peak_human')}`,
      `last save:    ${field('rdb_last_bgsave_status')}, ${field('rdb_changes_since_last_save')} changes since`,
    ];
    if (info.has('keyfork_unsupported_configs_set')) {
      const names = field('keyfork_unsupported_configs_set');
      lines.push(
        names === ''
          ? 'unsupported:  none (every directive set is one keyfork acts on)'
          : `unsupported:  ${names.split(',').join(', ')} (set, but keyfork does not act on them yet: see the server log)`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return EXIT_OK;
  } finally {
    client.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  let opts: Options;
  try {
    opts = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`keyfork: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (opts.command === null || opts.command === 'help') {
    (opts.command === 'help' ? process.stdout : process.stderr).write(USAGE);
    return opts.command === 'help' ? EXIT_OK : EXIT_USAGE;
  }
  if (opts.command !== 'bgsave' && opts.command !== 'status') {
    process.stderr.write(`keyfork: unknown command '${opts.command}'\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
    return opts.command === 'status' ? await status(opts) : await bgsave(opts);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const where = `${opts.host}:${opts.port}`;
    if (e.code === 'ECONNREFUSED') process.stderr.write(`keyfork: could not connect to ${where}: connection refused\n`);
    else process.stderr.write(`keyfork: ${where}: ${e.message}\n`);
    return EXIT_CONNECTION;
  }
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

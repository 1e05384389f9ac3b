// A small RESP2 client for the benchmarks: single calls for control commands, and counted
// batches for bulk loading, so loading a million keys does not create a million promises.
import net from 'node:net';

export class RespError {
  constructor(readonly message: string) {}
  toString(): string {
    return this.message;
  }
}

export type RespValue = string | number | Buffer | null | RespError | RespValue[];

export interface BatchResult {
  replies: number;
  errors: number;
  firstError: string | null;
}

type Pending =
  | { kind: 'call'; resolve: (v: RespValue) => void }
  | { kind: 'batch'; remaining: number; result: BatchResult; resolve: (r: BatchResult) => void };

const INCOMPLETE = Symbol('incomplete');

/** Encodes one command as a RESP multibulk request. */
export function encodeCommand(args: Array<string | number | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

export class RespClient {
  private readonly queue: Pending[] = [];
  private head = 0;
  private input: Buffer = Buffer.alloc(0);
  private closedError: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static connect(port: number, host = '127.0.0.1', timeoutMs = 5000): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new RespClient(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Sends one command; an error reply resolves as a RespError (it does not reject). */
  call(...args: Array<string | number | Buffer>): Promise<RespValue> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve) => {
      this.queue.push({ kind: 'call', resolve });
      this.socket.write(encodeCommand(args));
    });
  }

  /** Like call(), but a RespError reply rejects. */
  async callOk(...args: Array<string | number | Buffer>): Promise<RespValue> {
    const reply = await this.call(...args);
    if (reply instanceof RespError) throw new Error(`${args.slice(0, 2).join(' ')}: ${reply.message}`);
    return reply;
  }

  /**
   * Writes `payload`, which holds `count` already-encoded commands, and resolves once all their
   * replies have arrived. Callers bound how many batches they keep in flight.
   */
  sendBatch(payload: Buffer, count: number): Promise<BatchResult> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve) => {
      this.queue.push({ kind: 'batch', remaining: count, result: { replies: 0, errors: 0, firstError: null }, resolve });
      this.socket.write(payload);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    // Pending calls resolve with an error value rather than hanging forever.
    for (let i = this.head; i < this.queue.length; i++) {
      const p = this.queue[i];
      if (p.kind === 'call') p.resolve(new RespError(`ERR client: ${err.message}`));
      else {
        p.result.errors += p.remaining;
        p.result.firstError ??= `ERR client: ${err.message}`;
        p.resolve(p.result);
      }
    }
    this.queue.length = 0;
    this.head = 0;
  }

  private onData(chunk: Buffer): void {
    this.input = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk]);
    let offset = 0;
    for (;;) {
      const parsed = parseReply(this.input, offset);
      if (parsed === INCOMPLETE) break;
      offset = parsed.next;
      this.deliver(parsed.value);
    }
    this.input = offset === this.input.length ? Buffer.alloc(0) : this.input.subarray(offset);
  }

  private deliver(value: RespValue): void {
    const p = this.queue[this.head];
    if (!p) return; // a reply nobody asked for (e.g. after a protocol error): ignore it
    if (p.kind === 'call') {
      this.advance();
      p.resolve(value);
      return;
    }
    p.result.replies++;
    if (value instanceof RespError) {
      p.result.errors++;
      p.result.firstError ??= value.message;
    }
    if (--p.remaining === 0) {
      this.advance();
      p.resolve(p.result);
    }
  }

  private advance(): void {
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}

type Parsed = { value: RespValue; next: number };

function parseReply(buf: Buffer, start: number): Parsed | typeof INCOMPLETE {
  if (start >= buf.length) return INCOMPLETE;
  const lineEnd = buf.indexOf('\r\n', start);
  if (lineEnd === -1) return INCOMPLETE;
  const type = buf[start];
  const line = buf.toString('latin1', start + 1, lineEnd);
  const afterLine = lineEnd + 2;
  switch (type) {
    case 0x2b: // +
      return { value: line, next: afterLine };
    case 0x2d: // -
      return { value: new RespError(buf.toString('utf8', start + 1, lineEnd)), next: afterLine };
    case 0x3a: // :
      return { value: Number(line), next: afterLine };
    case 0x24: { // $
      const len = Number(line);
      if (len < 0) return { value: null, next: afterLine };
      if (afterLine + len + 2 > buf.length) return INCOMPLETE;
      return { value: buf.subarray(afterLine, afterLine + len), next: afterLine + len + 2 };
    }
    case 0x2a: { // *
      const n = Number(line);
      if (n < 0) return { value: null, next: afterLine };
      const items: RespValue[] = [];
      let next = afterLine;
      for (let i = 0; i < n; i++) {
        const item = parseReply(buf, next);
        if (item === INCOMPLETE) return INCOMPLETE;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      return { value: new RespError(`ERR client: unexpected reply byte 0x${type.toString(16)}`), next: afterLine };
  }
}

/** True when a reply says the server does not know the command (or the subcommand). */
export function isUnknownCommand(reply: RespValue): boolean {
  return reply instanceof RespError && /^ERR unknown (sub)?command/i.test(reply.message);
}

export function replyText(reply: RespValue): string {
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  if (reply instanceof RespError) return reply.message;
  return String(reply);
}

/** An error message without the argument echo: "ERR unknown command 'RPUSH'". */
export function shortError(message: string | null): string {
  if (message === null) return 'unknown error';
  const cut = message.indexOf(', with args beginning with');
  const short = cut === -1 ? message : message.slice(0, cut);
  return short.length > 120 ? `${short.slice(0, 117)}...` : short;
}

/** Parses an INFO reply into field -> value. */
export function parseInfo(reply: RespValue): Map<string, string> {
  const fields = new Map<string, string>();
  if (!Buffer.isBuffer(reply) && typeof reply !== 'string') return fields;
  for (const line of replyText(reply).split('\r\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

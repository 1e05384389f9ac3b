// A raw RESP connection for exact-reply tests: bytes go out as written, replies come back with their
// wire types (see resp3.ts for why we do not use redis-parser's JS values here).
import net from 'node:net';
import tls from 'node:tls';
import { formatReply, Resp3Parser, RespProtocolError, type Reply } from './resp3';

export { formatReply, replyNumber, type Reply } from './resp3';

export type Arg = string | Buffer;

export interface RawConnectionOptions {
  /** Switch the connection to RESP3 with `HELLO 3` before returning it. */
  resp3?: boolean;
  host?: string;
  /** Default time readReply() waits before failing, in ms. */
  replyTimeoutMs?: number;
  /** Connect over TLS with these options (the handshake done before connect() resolves). */
  tls?: tls.ConnectionOptions;
}

/** Encodes one command as a RESP multibulk request. */
export function encodeCommand(args: Arg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const bytes = typeof a === 'string' ? Buffer.from(a, 'utf8') : a;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

interface Waiter {
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class RawConnection {
  private readonly parser = new Resp3Parser();
  private readonly replies: Reply[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly closeWaiters: Array<() => void> = [];
  private closed = false;
  private failure: Error | null = null;

  private constructor(
    private readonly socket: net.Socket,
    readonly port: number,
    private readonly replyTimeoutMs: number,
  ) {
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.onClose());
  }

  static async connect(port: number, opts: RawConnectionOptions = {}): Promise<RawConnection> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const host = opts.host ?? '127.0.0.1';
      const s = opts.tls ? tls.connect({ ...opts.tls, host, port }) : net.connect(port, host);
      s.once(opts.tls ? 'secureConnect' : 'connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
    socket.setNoDelay(true);
    const conn = new RawConnection(socket, port, opts.replyTimeoutMs ?? 10_000);
    if (opts.resp3) {
      const hello = await conn.send('HELLO', '3').catch((err: Error) => {
        conn.close();
        throw err;
      });
      if (hello.t !== 'map') {
        conn.close();
        throw new Error(`HELLO 3 did not return a map:\n${formatReply(hello)}`);
      }
    }
    return conn;
  }

  /** Sends one command as a multibulk request and waits for its reply. */
  send(...args: Arg[]): Promise<Reply> {
    this.write(encodeCommand(args));
    return this.readReply();
  }

  /** Sends several commands in one write and waits for all their replies, in order. */
  async pipeline(commands: Arg[][]): Promise<Reply[]> {
    this.write(Buffer.concat(commands.map(encodeCommand)));
    const out: Reply[] = [];
    for (let i = 0; i < commands.length; i++) out.push(await this.readReply());
    return out;
  }

  /** Writes bytes as they are (inline commands, malformed input) and waits for one reply. */
  sendRaw(bytes: Arg): Promise<Reply> {
    this.write(bytes);
    return this.readReply();
  }

  /** Writes bytes without waiting for anything (for input that produces no reply, or several). */
  write(bytes: Arg): void {
    if (this.closed) throw new Error('write on a closed connection');
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes);
  }

  /**
   * The next reply in wire order (RESP3 push messages included). A read that times out is
   * abandoned: the reply that arrives later goes to the next reader, so fail the test on timeout.
   */
  readReply(timeoutMs = this.replyTimeoutMs): Promise<Reply> {
    const queued = this.replies.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(this.closedError());
    return new Promise<Reply>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new Error(`no reply within ${timeoutMs} ms on port ${this.port}${this.pendingText()}`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  isClosed(): boolean {
    return this.closed;
  }

  /** Resolves true once the peer has closed the connection, false if it is still open after `ms`. */
  waitClose(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = this.closeWaiters.indexOf(done);
        if (i >= 0) this.closeWaiters.splice(i, 1);
        resolve(false);
      }, ms);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.closeWaiters.push(done);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.parser.feed(chunk);
    try {
      for (let r = this.parser.next(); r !== undefined; r = this.parser.next()) this.deliver(r);
    } catch (err) {
      if (!(err instanceof RespProtocolError)) throw err;
      this.fail(new Error(`protocol error in reply from port ${this.port}: ${err.message}${this.pendingText()}`));
      this.socket.destroy();
    }
  }

  private deliver(r: Reply): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(r);
    } else {
      this.replies.push(r);
    }
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(this.failure);
    }
  }

  private onClose(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(this.failure ?? this.closedError());
    }
    for (const done of this.closeWaiters.splice(0)) done();
  }

  private closedError(): Error {
    return new Error(`connection to port ${this.port} closed before a reply${this.pendingText()}`);
  }

  private pendingText(): string {
    const pending = this.parser.pending();
    if (pending.length === 0) return '';
    const shown = pending.subarray(0, 200).toString('latin1');
    return ` (unparsed bytes: ${JSON.stringify(shown)}${pending.length > 200 ? '...' : ''})`;
  }
}

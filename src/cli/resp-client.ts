// The command line tools' connection: one request at a time over plain RESP2, TCP or TLS, so
// they work against keyfork and any Redis alike.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';

export type Reply = string | number | null | Error | Reply[];

export class ProtocolError extends Error {}

/** Parses one reply at `pos`; returns it and the next position, or null when incomplete. */
export function parseReply(buf: Buffer, pos: number): { reply: Reply; next: number } | null {
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

/** Where and how to connect, as redis-cli's options say it. */
export interface ConnectionOptions {
  host: string;
  port: number;
  user?: string;
  password?: string;
  tls?: boolean;
  cacert?: string;
  cert?: string;
  key?: string;
  sni?: string;
  /** Do not verify the server's certificate (redis-cli --insecure). */
  insecure?: boolean;
}

export class RespClient {
  private pending: Buffer = Buffer.alloc(0);
  private waiting: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }> = [];
  private failure: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('the server closed the connection')));
  }

  /** Connects and authenticates (AUTH [user] password when a password is given). */
  static async open(opts: ConnectionOptions): Promise<RespClient> {
    const client = await RespClient.connect(opts);
    if (opts.password !== undefined) {
      const args = opts.user !== undefined ? ['AUTH', opts.user, opts.password] : ['AUTH', opts.password];
      const reply = await client.call(...args).catch((err: Error) => err);
      if (reply instanceof Error) {
        client.close();
        throw reply;
      }
    }
    return client;
  }

  private static connect(opts: ConnectionOptions): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const ready = opts.tls ? 'secureConnect' : 'connect';
      const socket = opts.tls
        ? tls.connect({
            host: opts.host,
            port: opts.port,
            servername: opts.sni ?? (net.isIP(opts.host) ? undefined : opts.host),
            ca: opts.cacert ? fs.readFileSync(opts.cacert) : undefined,
            cert: opts.cert ? fs.readFileSync(opts.cert) : undefined,
            key: opts.key ? fs.readFileSync(opts.key) : undefined,
            rejectUnauthorized: !opts.insecure,
          })
        : net.connect({ host: opts.host, port: opts.port });
      socket.once(ready, () => {
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

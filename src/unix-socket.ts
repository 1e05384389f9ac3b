// The Unix domain socket listener (Redis 7.0's `unixsocket` / `unixsocketperm`): opened once at
// start-up after the TCP and TLS listeners, as initServer does, and unlinked when the server
// closes its listeners for good (closeListeningSockets(1) at shutdown). Its connections are
// node:net sockets served like any plain client (Server.addClient); only their address differs.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as nodePath from 'node:path';
import { consume } from './config/consumers';
import type { Config } from './config';
import { strerror } from './config/errors';
import type { Logger } from './log';

const PROOF = 'test/server/unixsocket.test.ts';
export const UNIXSOCKET = consume('unixsocket', PROOF);
const UNIXSOCKETPERM = consume('unixsocketperm', PROOF);

/** sizeof(sockaddr_un.sun_path) on Linux: the path and its terminating NUL. */
const SUN_PATH_SIZE = 108;

/** The path could not be bound: Redis logs "Failed opening Unix socket: ..." and exits 1. */
export class UnixSocketFailure extends Error {}

/** The descriptor of a node:net server's listening handle. */
function handleFd(srv: net.Server): number {
  return (srv as unknown as { _handle: { fd?: number } | null })._handle?.fd ?? -1;
}

/**
 * bind(2)'s errno. libuv reports a missing directory as EACCES (for Windows' sake); Redis logs
 * the kernel's ENOENT, which is what a missing parent directory means.
 */
function bindErrno(err: Error, path: string): Error {
  if ((err as NodeJS.ErrnoException).code !== 'EACCES') return err;
  try {
    fs.statSync(nodePath.dirname(path));
  } catch (statErr) {
    if ((statErr as NodeJS.ErrnoException).code === 'ENOENT') return statErr as Error;
  }
  return err;
}

export class UnixListener {
  private server: net.Server | null = null;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly accept: (socket: net.Socket) => void,
  ) {}

  /** The configured path (immutable), null when unset. */
  get path(): string | null {
    return this.config.optionalStr(UNIXSOCKET);
  }

  /** Listening now. */
  get open(): boolean {
    return this.server !== null;
  }

  /** The listening descriptor (a busy script's event pump accepts on it), -1 when closed. */
  get fd(): number {
    return this.server ? handleFd(this.server) : -1;
  }

  /**
   * anetUnixServer: whatever is at the path goes first (Redis unlinks it unconditionally, so a
   * socket file left by a crash does not stop the restart), then bind, listen and, with a
   * non-zero unixsocketperm, chmod. A bind failure is logged in Redis's words and rejected.
   */
  listen(backlog: number): Promise<void> {
    const path = this.path;
    if (path === null) return Promise.resolve();
    try {
      fs.unlinkSync(path);
    } catch {
      // Nothing there, or not ours to remove: bind reports what matters.
    }
    // libuv would bind a truncated path; anetUnixServer refuses it.
    const length = Buffer.byteLength(path);
    if (length > SUN_PATH_SIZE - 1) {
      this.log.warning(`Failed opening Unix socket: unix socket path too long (${length}), must be under ${SUN_PATH_SIZE}`);
      return Promise.reject(new UnixSocketFailure('unix socket path too long'));
    }
    return new Promise((resolve, reject) => {
      const srv = net.createServer({ pauseOnConnect: true }, (socket) => this.accept(socket));
      const failed = (err: Error) => {
        this.log.warning(`Failed opening Unix socket: bind: ${strerror(bindErrno(err, path))}`);
        reject(new UnixSocketFailure(err.message));
      };
      srv.once('error', failed);
      srv.listen({ path, backlog }, () => {
        srv.off('error', failed);
        const perm = this.config.int(UNIXSOCKETPERM);
        if (perm !== 0) {
          try {
            fs.chmodSync(path, perm);
          } catch {
            // Redis ignores chmod's result as well.
          }
        }
        this.server = srv;
        resolve();
      });
    });
  }

  /**
   * Stops listening and removes the socket file (closeListeningSockets(1): shutdown, close() of
   * the embedded server) with Redis's notice, or its warning when the file cannot be removed.
   * The name goes first: libuv also unlinks a pipe server's path when the handle closes, and
   * that silent second unlink must not be the one that runs. Synchronous, so that it is done
   * before the process exits.
   */
  close(): void {
    const srv = this.server;
    const path = this.path;
    if (srv === null || path === null) return;
    this.server = null;
    this.log.notice('Removing the unix socket file.');
    try {
      fs.unlinkSync(path);
    } catch (err) {
      this.log.warning(`Error removing the unix socket file: ${strerror(err)}`);
    }
    srv.close();
  }
}

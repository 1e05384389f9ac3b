// A client TCP connection the addon owns on Node's own event loop (native/src/sockets.rs):
// reads are taken there and the plain data commands of a chunk answered there while the
// fast-path gate is open; TypeScript is entered once per chunk for the rest (Server's socket
// callback). This class is the socket as the rest of the server sees it (Client.socket): its
// output queue, closing, and addresses, all kept in the addon.
import type { ClientSocket } from './client';
import { native } from './native';

export class NativeSocket implements ClientSocket {
  /** Closed (or closing once its queued output is written): nothing more is accepted. */
  destroyed = false;
  /** The client id: the addon's name for the connection (set when the addon adopts it). */
  id = 0;

  constructor(
    readonly remoteAddress: string | undefined,
    readonly remotePort: number | undefined,
    readonly localAddress: string | undefined,
    readonly localPort: number | undefined,
  ) {}

  get writable(): boolean {
    return !this.destroyed;
  }

  get writableLength(): number {
    return this.destroyed ? 0 : native.sockQueued(this.id);
  }

  get bufferedInput(): number {
    return this.destroyed ? 0 : native.sockInput(this.id);
  }

  /** Writes after what is queued: the bytes still queued, -1 when the connection failed. */
  send(data: Buffer, length: number): number {
    return this.destroyed ? -1 : native.sockSend(this.id, data, length);
  }

  write(data: Buffer): void {
    this.send(data, data.length);
  }

  end(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    native.sockClose(this.id, true);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    native.sockClose(this.id, false);
  }
}

// One cluster bus connection (Redis's clusterLink): outbound links are ours to a node's bus
// port (node.link), inbound ones were accepted from a peer (node.inboundLink once the peer is
// known). Messages are framed by their 8-byte prefix ("RCmb" + totlen) and handed whole to
// the bus; writes go through the socket, whose pending bytes are the link's send buffer.
import type net from 'node:net';
import type { ClusterLinkLike, ClusterNode } from '../state';
import { hasSignature, MIN_LEN, peekLength } from './message';

/** RCVBUF_INIT_LEN: what a link's receive buffer starts at (reported by CLUSTER LINKS' memory). */
export const RCVBUF_INIT_LEN = 1024;

export interface LinkEvents {
  /** A whole message arrived; false when the link was freed while processing it. */
  message(link: ClusterLink, msg: Buffer): boolean;
  /** The 8-byte prefix was not a bus message. */
  badFrame(link: ClusterLink): void;
  /** The connection ended (err null) or failed (the link must be freed). */
  ioError(link: ClusterLink, err: Error | null): void;
}

export class ClusterLink implements ClusterLinkLike {
  readonly ctime: number;
  node: ClusterNode | null;
  readonly inbound: boolean;
  /** True once the TCP connection is up (an outbound link is created before it connects). */
  connected = false;
  freed = false;
  /** Bytes received of a message not yet complete. */
  private pending: Buffer = Buffer.alloc(0);
  /** The receive buffer's allocation as Redis grows it (for mem_cluster_links). */
  rcvbufAlloc = RCVBUF_INIT_LEN;

  constructor(
    readonly sock: net.Socket,
    node: ClusterNode | null,
    now: number,
    private readonly events: LinkEvents,
  ) {
    this.ctime = now;
    this.node = node;
    this.inbound = node === null;
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', (err) => this.fail(err));
    sock.on('close', () => this.fail(null));
  }

  /** Queued bytes not yet written to the kernel (sdslen(link->sndbuf)). */
  get sendBufferUsed(): number {
    return this.sock.writableLength;
  }

  send(msg: Buffer): void {
    if (this.freed) return;
    this.sock.write(msg);
  }

  /** freeClusterLink's socket half. */
  close(): void {
    if (this.freed) return;
    this.freed = true;
    this.sock.destroy();
  }

  private fail(err: Error | null): void {
    if (this.freed) return;
    this.events.ioError(this, err);
  }

  private onData(chunk: Buffer): void {
    if (this.freed) return;
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (buf.length >= 8 && !this.freed) {
      if (!hasSignature(buf) || peekLength(buf) < MIN_LEN) {
        this.events.badFrame(this);
        return;
      }
      const totlen = peekLength(buf);
      if (buf.length < totlen) {
        if (totlen > this.rcvbufAlloc) this.rcvbufAlloc = totlen < 1024 * 1024 ? totlen * 2 : totlen + 1024 * 1024;
        break;
      }
      const msg = buf.subarray(0, totlen);
      buf = buf.subarray(totlen);
      if (!this.events.message(this, msg)) return;
      this.rcvbufAlloc = RCVBUF_INIT_LEN;
    }
    this.pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
  }
}

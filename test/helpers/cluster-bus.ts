// A scripted cluster-bus peer for tests: it listens on a bus port, frames every message it
// receives ("RCmb" + totlen), records the raw bytes, and can answer or send messages built with
// keyfork's codec. Tests use it to capture what real redis-server nodes put on the wire.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { freePort } from './ports';
import {
  blankMessage,
  encode,
  MSG_PONG,
  SLOTS_BYTES,
  type ClusterMsg,
} from '../../src/cluster/bus/message';

export interface Captured {
  raw: Buffer;
  type: number;
  inbound: boolean;
}

export class FakeBusNode {
  readonly name = randomBytes(20).toString('hex');
  readonly captured: Captured[] = [];
  port = 0;
  busPort = 0;
  myslots = new Uint8Array(SLOTS_BYTES);
  configEpoch = 0n;
  currentEpoch = 0n;
  flags = 1; // master
  /** Answer PING/MEET with a PONG (as any live node would). */
  autoPong = true;
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();

  async listen(): Promise<void> {
    this.port = await freePort();
    this.busPort = await freePort();
    this.server = net.createServer((sock) => this.attach(sock, true));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.busPort, '127.0.0.1', () => resolve());
    });
  }

  /** An outbound link to a node's bus port. */
  connect(port: number): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1', () => resolve(sock));
      sock.once('error', reject);
      this.attach(sock, false);
    });
  }

  header(type: number): ClusterMsg {
    const m = blankMessage(type, this.name);
    m.port = this.port;
    m.cport = this.busPort;
    m.flags = this.flags;
    m.myslots = this.myslots;
    m.configEpoch = this.configEpoch;
    m.currentEpoch = this.currentEpoch;
    return m;
  }

  send(sock: net.Socket, m: ClusterMsg): void {
    sock.write(encode(m));
  }

  /** Waits until a captured message satisfies `pred` (bounded). */
  async waitFor(pred: (c: Captured) => boolean, timeoutMs = 10_000): Promise<Captured> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.captured.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error('no matching bus message in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
  }

  private attach(sock: net.Socket, inbound: boolean): void {
    this.sockets.add(sock);
    sock.on('error', () => undefined);
    sock.on('close', () => this.sockets.delete(sock));
    let pending = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 8) {
        const totlen = pending.readUInt32BE(4);
        if (pending.length < totlen) break;
        const raw = Buffer.from(pending.subarray(0, totlen));
        pending = pending.subarray(totlen);
        const type = raw.readUInt16BE(12);
        this.captured.push({ raw, type, inbound });
        if (this.autoPong && (type === 0 || type === 2)) this.send(sock, this.header(MSG_PONG));
      }
    });
  }
}

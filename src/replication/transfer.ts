// Moving an RDB to replicas without blocking the event loop, in step with their sockets:
// - DisklessTransfer: the sync child writes the EOF-marked RDB into a pipe; the parent reads it
//   and writes every chunk to each replica being synced (Redis's rdbPipeReadHandler), reading
//   no further while any of them has more than HIGH_WATER bytes unsent.
// - sendRdbFile: a disk BGSAVE's file, `$<len>\r\n` then its bytes (Redis's sendBulkToSlave).
// Bytes go through Server.send like every other write to a client.
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Client, ClientSocket } from '../client';
import type { ReplicaLink } from './link';

/** Unsent bytes per replica socket above which reading more of the RDB waits. */
const HIGH_WATER = 4 << 20;
const FILE_CHUNK = 1 << 20;
/** How often a socket that tells nobody when it drained (the addon's) is looked at. */
const DRAIN_POLL_MS = 2;

/**
 * Runs `fn` once `socket` has no more than HIGH_WATER bytes unsent (or is gone): node:net says
 * so with 'drain'; an adopted socket (the addon writes it on Node's loop) is looked at until then.
 */
function whenDrained(socket: ClientSocket, fn: () => void): void {
  if (socket instanceof net.Socket) {
    socket.once('drain', fn);
    return;
  }
  const look = () => {
    if (socket.destroyed || socket.writableLength <= HIGH_WATER) fn();
    else setTimeout(look, DRAIN_POLL_MS);
  };
  setTimeout(look, DRAIN_POLL_MS);
}

/** What a transfer needs of the server. */
export interface TransferHost {
  send(client: Client, data: Buffer): void;
  nowSec(): number;
}

export class DisklessTransfer {
  readonly targets: Set<ReplicaLink>;
  private readonly pipe: net.Socket;
  /** The pipe reached its end (the child finished writing, or died). */
  ended = false;
  private paused = false;
  /** Replicas still up when the pipe ended ("done reading from pipe, N replicas still up"). */
  onEnd: (stillUp: number) => void = () => {};
  /** Every target went away before the end: the child has no one left to write for. */
  onAbandoned: () => void = () => {};

  constructor(
    private readonly host: TransferHost,
    fd: number,
    targets: ReplicaLink[],
  ) {
    this.targets = new Set(targets);
    this.pipe = new net.Socket({ fd, readable: true, writable: false });
    this.pipe.on('data', (chunk: Buffer) => this.forward(chunk));
    this.pipe.on('end', () => this.finish());
    this.pipe.on('error', () => this.finish());
    this.pipe.on('close', () => this.finish());
  }

  private forward(chunk: Buffer): void {
    for (const link of this.targets) {
      this.host.send(link.client, chunk);
      if (link.client.socket.writableLength > HIGH_WATER) {
        link.lastPartialWrite = this.host.nowSec();
        if (!this.paused) {
          this.paused = true;
          this.pipe.pause();
        }
        whenDrained(link.client.socket, () => this.maybeResume());
      }
    }
  }

  private maybeResume(): void {
    if (!this.paused) return;
    for (const link of this.targets) {
      if (link.client.socket.writableLength > HIGH_WATER) return;
      link.lastPartialWrite = 0;
    }
    this.paused = false;
    this.pipe.resume();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.pipe.destroy();
    this.onEnd(this.targets.size);
  }

  /** A target went away (it disconnected or was dropped). */
  drop(link: ReplicaLink): void {
    if (!this.targets.delete(link)) return;
    if (this.targets.size === 0 && !this.ended) {
      this.onAbandoned();
      this.finish();
      return;
    }
    this.maybeResume();
  }
}

/**
 * Sends `file` to `link`'s replica as a bulk payload; `done(null)` once every byte was handed to
 * the socket, `done(reason)` when the file could not be read. Returns false (nothing sent)
 * when the file cannot be opened, with the reason in `failure`.
 */
export function sendRdbFile(
  host: TransferHost,
  link: ReplicaLink,
  file: string,
  done: (error: string | null) => void,
): { ok: true } | { ok: false; failure: string } {
  let fd: number;
  let size: number;
  try {
    fd = fs.openSync(file, 'r');
    size = fs.fstatSync(fd).size;
  } catch (err) {
    return { ok: false, failure: (err as NodeJS.ErrnoException).message };
  }
  const socket = link.client.socket;
  host.send(link.client, Buffer.from(`$${size}\r\n`));
  const stream = fs.createReadStream('', { fd, highWaterMark: FILE_CHUNK, autoClose: true });
  let sent = 0;
  let finished = false;
  const end = (error: string | null) => {
    if (finished) return;
    finished = true;
    link.cancelBulk = null;
    stream.destroy();
    done(error);
  };
  stream.on('data', (chunk: Buffer | string) => {
    const data = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    sent += data.length;
    host.send(link.client, data);
    // The last byte is out: done now, as Redis's sendBulkToSlave is (the stream's 'end' comes a
    // turn later, when the replica may have hung up already).
    if (sent === size) {
      end(null);
      return;
    }
    if (socket.writableLength > HIGH_WATER) {
      stream.pause();
      whenDrained(socket, () => stream.resume());
    }
  });
  stream.on('end', () => end(sent === size ? null : 'premature EOF'));
  stream.on('error', (err) => end(err.message));
  link.cancelBulk = () => {
    finished = true;
    link.cancelBulk = null;
    stream.destroy();
  };
  return { ok: true };
}

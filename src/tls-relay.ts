// MIGRATE over TLS (tls-cluster): Redis 7.0 opens MIGRATE's connection with connCreateTLS when
// tls-cluster is on. keyfork's MIGRATE is the addon's blocking socket I/O on the main thread
// (native/src/cmd/migrate.rs), which has no TLS of its own and, while it waits, leaves Node's
// loop stopped; so the TLS half runs in a worker thread (tls-relay-worker.ts) that the addon
// connects to over loopback. The worker holds the client certificate; a request must open with
// a random secret only this process knows, so no other local program can borrow it.
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import type * as tls from 'node:tls';
import type { Worker } from 'node:worker_threads';
import { native } from './native';

export class MigrateTlsRelay {
  private worker: Worker | null = null;
  private ready: Promise<void> = Promise.resolve();

  /**
   * The cluster's client options (null: tls-cluster off). The relay starts on the first
   * options and follows later ones; MIGRATE's new connections use it from the moment it listens.
   */
  configure(options: tls.ConnectionOptions | null): void {
    if (options === null) {
      this.stop();
      return;
    }
    if (this.worker) {
      this.worker.postMessage({ options: plain(options) });
      return;
    }
    const secret = randomBytes(32).toString('hex');
    // Loaded here: a server without tls-cluster never needs it.
    const { Worker: WorkerThread } = require('node:worker_threads') as typeof import('node:worker_threads');
    const worker = new WorkerThread(path.join(__dirname, 'tls-relay-worker.js'), { workerData: { secret: Buffer.from(secret), options: plain(options) } });
    worker.unref();
    this.worker = worker;
    this.ready = new Promise((resolve) => {
      worker.once('message', (m: { port: number }) => {
        if (this.worker === worker) native.migrateTlsRelay(m.port, Buffer.from(secret));
        resolve();
      });
      worker.once('error', () => resolve());
      // A relay that died leaves MIGRATE pointed at its closed port: a connect error, never a
      // silent fall back to plain TCP; the next TLS reconfiguration starts a new one.
      worker.once('exit', () => {
        if (this.worker === worker) this.worker = null;
        resolve();
      });
    });
  }

  /** Resolves once a starting relay listens (start-up waits for it before taking clients). */
  whenReady(): Promise<void> {
    return this.ready;
  }

  stop(): void {
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    native.migrateTlsRelay(0, Buffer.alloc(0));
    void worker.terminate();
  }
}

/** Options a worker can receive (structured clone: no functions). */
function plain(options: tls.ConnectionOptions): tls.ConnectionOptions {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) if (typeof v !== 'function') out[k] = v;
  return out as tls.ConnectionOptions;
}

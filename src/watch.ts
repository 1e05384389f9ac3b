// WATCH: the keyspace judges every modification as Redis's touchWatchedKey does (a key that
// was already expired when watched is not "changed" by its deletion), so the state lives next
// to it (native/src/keyspace/watch.rs). Here: which clients watch anything, and their verdict.
import type { Client } from './client';
import { native } from './native';
import type { Server } from './server';

/** What EXEC finds (native watchState). */
export const enum WatchVerdict {
  Clean = 0,
  /** A watched key was modified (CLIENT LIST's `d` flag). */
  Touched = 1,
  /** A key that was live when watched has expired since: EXEC fails too. */
  Expired = 2,
}

export class Watches {
  private watchers = new Set<Client>();
  /** Each watching client's keys (`db:key`), to count the distinct ones (Client.watchedKeys). */
  private readonly keysOf = new Map<Client, Set<string>>();

  constructor(private server: Server) {}

  get count(): number {
    return this.watchers.size;
  }

  watch(client: Client, db: number, key: Buffer): void {
    native.watchKey(client.id, db, key);
    let keys = this.keysOf.get(client);
    if (!keys) this.keysOf.set(client, (keys = new Set()));
    keys.add(`${db}:${key.toString('latin1')}`);
    client.watchedKeys = keys.size;
    if (!this.watchers.has(client)) {
      this.watchers.add(client);
      this.server.updateTracking();
    }
  }

  /** UNWATCH, EXEC, DISCARD, RESET and a closed client: no keys, and a clean slate. */
  unwatchAll(client: Client): void {
    this.keysOf.delete(client);
    client.watchedKeys = 0;
    if (!this.watchers.delete(client)) return;
    native.unwatchAll(client.id, true);
    this.server.updateTracking();
  }

  verdict(client: Client): WatchVerdict {
    return this.watchers.has(client) ? (native.watchState(client.id) as WatchVerdict) : WatchVerdict.Clean;
  }
}

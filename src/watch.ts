// WATCH: which clients watch which keys, and marking their transactions dirty when the
// keyspace reports a modified key (or a whole flushed/swapped database).
import type { Client } from './client';
import type { Server } from './server';

const keyId = (db: number, key: Buffer) => `${db}:${key.toString('latin1')}`;

export class Watches {
  private byKey = new Map<string, Set<Client>>();
  private watchers = new Set<Client>();

  constructor(private server: Server) {}

  get count(): number {
    return this.watchers.size;
  }

  watch(client: Client, db: number, key: Buffer, expiredAtWatch = false): void {
    const id = keyId(db, key);
    if (client.watching.has(id)) return;
    client.watching.set(id, { db, key: Buffer.from(key), expiredAtWatch });
    let set = this.byKey.get(id);
    if (!set) this.byKey.set(id, (set = new Set()));
    set.add(client);
    this.watchers.add(client);
    this.server.updateTracking();
  }

  unwatchAll(client: Client): void {
    for (const id of client.watching.keys()) {
      const set = this.byKey.get(id);
      set?.delete(client);
      if (set && set.size === 0) this.byKey.delete(id);
    }
    client.watching.clear();
    client.watchDirty = false;
    this.watchers.delete(client);
    this.server.updateTracking();
  }

  /** `mods` is the keyspace's [db, key | null, ...] log. */
  keysModified(mods: (number | Buffer | null)[]): void {
    if (this.watchers.size === 0) return;
    for (let i = 0; i < mods.length; i += 2) {
      const db = mods[i] as number;
      const key = mods[i + 1] as Buffer | null;
      if (key === null) {
        for (const c of this.watchers) {
          for (const w of c.watching.values()) if (w.db === db) c.watchDirty = true;
        }
      } else {
        const set = this.byKey.get(keyId(db, key));
        if (set) for (const c of set) c.watchDirty = true;
      }
    }
  }
}

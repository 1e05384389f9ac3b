// The typed surface of the Rust addon (native/src/lib.rs). Everything that crosses the
// boundary is declared here; keys and values travel as Buffers, never as JS strings.
import * as path from 'node:path';

/** exec() return codes besides a reply length. */
export const REPLY_PENDING = -1;
export const WOULD_BLOCK = -2;
export const EXEC_RESP3 = 1;
export const EXEC_MAY_BLOCK = 2;

export interface NativeAddon {
  init(databases: number): void;
  /** Names of the data commands the addon implements; exec() takes an index into this list. */
  commandNames(): string[];
  exec(cmd: number, db: number, input: Buffer, offsets: Int32Array, argc: number, out: Buffer, outPos: number, flags: number, clientId: number): number;
  takeReply(): Buffer;
  setSetting(name: string, value: number): boolean;
  dirty(): number;
  subtractDirty(n: number): void;
  /** Per database, flattened: keys, expires, avg_ttl. */
  keyspaceInfo(): number[];
  /** expired_keys, expired_stale_perc, expired_time_cap_reached_count, keyspace_hits, keyspace_misses. */
  keyspaceStats(): number[];
  resetStats(): void;
  activeExpireCycle(budgetMicros: number): number;
  setActiveExpire(on: boolean): void;
  setTrackModified(on: boolean): void;
  /** [db, key | null, ...]: keys modified since the last call (null: the whole db). */
  takeModified(): (number | Buffer | null)[];
  /** The key is stored but its time has passed (not yet lazily deleted). */
  keyExpired(db: number, key: Buffer): boolean;
  [more: string]: unknown;
}

function load(): NativeAddon {
  const candidates = [
    path.resolve(__dirname, '../../native/keyfork.node'), // dist/src -> repo root
    path.resolve(__dirname, '../native/keyfork.node'), // src (ts-node / vitest)
  ];
  let lastError: unknown;
  for (const file of candidates) {
    try {
      return require(file) as NativeAddon;
    } catch (err) {
      lastError = err;
    }
  }
  throw new Error(`keyfork: cannot load the native addon (run "npm run build:native"): ${String(lastError)}`);
}

export const native: NativeAddon = load();

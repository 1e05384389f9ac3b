// Where used_memory goes (Redis's getMemoryOverheadData), shared by INFO memory, MEMORY STATS
// and MEMORY DOCTOR: the memory at start-up, the clients' buffers, buffers maxmemory ignores,
// each database's table, and the rest, which is the dataset; with the allocator's view
// (allocated, with its free space, resident) beside it.
import { clientMemoryFields } from './commands/client-cmd';
import { native } from './native';
import type { Server } from './server';

export interface DbOverhead {
  db: number;
  keys: number;
  /** The key table: buckets, nodes and keys held outside them (TTLs live in the nodes). */
  main: number;
}

export interface MemoryOverhead {
  used: number;
  /** Of `used`, the addon's allocations (INFO keyfork_used_memory_addon). */
  addon: number;
  peak: number;
  startup: number;
  rss: number;
  /** Allocated memory plus the free memory the allocators hold (jemalloc's "active"). */
  active: number;
  replicationBacklog: number;
  clientsReplicas: number;
  clientsNormal: number;
  aofBuffer: number;
  dbs: DbOverhead[];
  overheadTotal: number;
  totalKeys: number;
  bytesPerKey: number;
  dataset: number;
  datasetPerc: number;
  peakPerc: number;
}

export function memoryOverhead(server: Server): MemoryOverhead {
  const { used, free, addon } = server.memory.sample();
  const rss = process.memoryUsage.rss();
  let clientsNormal = 0;
  let clientsReplicas = 0;
  for (const c of server.clients.values()) {
    // Redis's mem_clients_*: each client's getClientMemoryUsage (CLIENT LIST tot-mem).
    const { totMem } = clientMemoryFields(c, null);
    if (c.type === 'replica') clientsReplicas += totMem;
    else clientsNormal += totMem;
  }
  const startup = server.memory.startup;
  const aofBuffer = server.notCountedSources();
  const rows = native.keyspaceOverhead();
  const dbs: DbOverhead[] = [];
  for (let i = 0; i + 2 < rows.length; i += 3) dbs.push({ db: rows[i], keys: rows[i + 1], main: rows[i + 2] });
  const replicationBacklog = server.replication.state.backlog?.size ?? 0;
  const overheadTotal = startup + replicationBacklog + clientsNormal + clientsReplicas + aofBuffer + dbs.reduce((a, d) => a + d.main, 0);
  const totalKeys = dbs.reduce((a, d) => a + d.keys, 0);
  const netUsage = used > startup ? used - startup : 1;
  const dataset = Math.max(0, used - overheadTotal);
  return {
    used,
    addon,
    peak: server.memory.peak,
    startup,
    rss,
    active: used + free,
    replicationBacklog,
    clientsReplicas,
    clientsNormal,
    aofBuffer,
    dbs,
    overheadTotal,
    totalKeys,
    bytesPerKey: totalKeys > 0 ? Math.floor(netUsage / totalKeys) : 0,
    dataset,
    datasetPerc: (dataset * 100) / netUsage,
    peakPerc: (used * 100) / server.memory.peak,
  };
}

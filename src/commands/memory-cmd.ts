// MEMORY STATS, DOCTOR, MALLOC-STATS, PURGE and HELP (Redis's object.c memoryCommand) over
// keyfork's own accounting (memory-stats.ts); MEMORY USAGE is native (native/src/cmd/memory.rs).
import * as v8 from 'node:v8';
import { memoryOverhead } from '../memory-stats';
import { native } from '../native';
import { subcommandPresent, writeHelp, type HelpEntry } from './command-cmd';
import type { Ctx, Handler } from './types';

function memoryStats(ctx: Ctx): void {
  const { out, server } = ctx;
  const mh = memoryOverhead(server);
  const ints: Array<[string, number]> = [
    ['peak.allocated', mh.peak],
    ['total.allocated', mh.used],
    ['startup.allocated', mh.startup],
    ['replication.backlog', mh.replicationBacklog],
    ['clients.slaves', mh.clientsReplicas],
    ['clients.normal', mh.clientsNormal],
    ['cluster.links', 0],
    ['aof.buffer', mh.aofBuffer],
    ['lua.caches', 0],
    ['functions.caches', 0],
  ];
  const free = mh.active - mh.used;
  const rest: Array<[string, number, boolean]> = [
    ['overhead.total', mh.overheadTotal, false],
    ['keys.count', mh.totalKeys, false],
    ['keys.bytes-per-key', mh.bytesPerKey, false],
    ['dataset.bytes', mh.dataset, false],
    ['dataset.percentage', mh.datasetPerc, true],
    ['peak.percentage', mh.peakPerc, true],
    ['allocator.allocated', mh.used, false],
    ['allocator.active', mh.active, false],
    ['allocator.resident', mh.rss, false],
    ['allocator-fragmentation.ratio', mh.active / mh.used, true],
    ['allocator-fragmentation.bytes', free, false],
    ['allocator-rss.ratio', mh.rss / mh.active, true],
    ['allocator-rss.bytes', mh.rss - mh.active, false],
    ['rss-overhead.ratio', 1, true],
    ['rss-overhead.bytes', 0, false],
    ['fragmentation', mh.rss / mh.used, true],
    ['fragmentation.bytes', mh.rss - mh.used, false],
  ];
  out.map(ints.length + mh.dbs.length + rest.length);
  for (const [k, v] of ints) {
    out.bulk(k);
    out.int(v);
  }
  for (const d of mh.dbs) {
    out.bulk(`db.${d.db}`);
    out.map(3);
    out.bulk('overhead.hashtable.main');
    out.int(d.main);
    out.bulk('overhead.hashtable.expires');
    out.int(0);
    out.bulk('overhead.hashtable.slot-to-keys');
    out.int(0);
  }
  // Redis's float fields travel as its single-precision values widened to double.
  for (const [k, v, float] of rest) {
    out.bulk(k);
    if (float) out.double(Math.fround(v));
    else out.int(v);
  }
}

const EMPTY_REPORT = 'Hi Sam, this instance is empty or is using very little memory, my issues detector can\'t be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n';

/**
 * MEMORY DOCTOR (getMemoryDoctorReport) on keyfork's figures. One difference: Redis calls an
 * instance using under 5 MB "empty"; keyfork's Node runtime alone takes more than that, so
 * the 5 MB are counted above the memory in use at start-up.
 */
export function memoryDoctorReport(ctx: Ctx): string {
  const { server } = ctx;
  const mh = memoryOverhead(server);
  if (mh.used - mh.startup < 5 * 1024 * 1024) return EMPTY_REPORT;
  const replicas = [...server.clients.values()].filter((c) => c.type === 'replica').length;
  const normalClients = server.clients.size - replicas;
  const frag = mh.rss / mh.used;
  const allocatorFrag = mh.active / mh.used;
  const allocatorRss = mh.rss / mh.active;
  const issues: string[] = [];
  if (mh.peak / mh.used > 1.5) {
    issues.push(' * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n');
  }
  if (frag > 1.4 && mh.rss - mh.used > 10 << 20) {
    issues.push(' * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is "libc".\n\n');
  }
  if (allocatorFrag > 1.1 && mh.active - mh.used > 10 << 20) {
    issues.push(' * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling \'activedefrag\' config option.\n\n');
  }
  if (allocatorRss > 1.1 && mh.rss - mh.active > 10 << 20) {
    issues.push(' * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n');
  }
  if (replicas > 0 && mh.clientsReplicas / replicas > 1024 * 1024 * 10) {
    issues.push(' * Big replica buffers: The replica output buffers in this instance are greater than 10MB for each replica (on average). This likely means that there is some replica instance that is struggling receiving data, either because it is too slow or because of networking issues. As a result, data piles on the master output buffers. Please try to identify what replica is not receiving data correctly and why. You can use the INFO output in order to check the replicas delays and the CLIENT LIST command to check the output buffers of each replica.\n\n');
  }
  if (normalClients > 0 && mh.clientsNormal / normalClients > 1024 * 200) {
    issues.push(' * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n');
  }
  if (issues.length === 0) return 'Hi Sam, I can\'t find any memory issue in your instance. I can only account for what occurs on this base.\n';
  return `Sam, I detected a few issues in this Redis instance memory implants:\n\n${issues.join('')}I'm here to keep you safe, Sam. I want to help you.\n`;
}

function memoryDoctor(ctx: Ctx): void {
  ctx.out.verbatim(memoryDoctorReport(ctx));
}

/** MEMORY MALLOC-STATS: keyfork has no jemalloc; it reports glibc's and V8's own figures. */
function mallocStats(ctx: Ctx): void {
  const [cUsed, cFree, addon] = native.heapUsage();
  const heap = v8.getHeapStatistics();
  const lines = [
    '___ Begin keyfork allocator statistics ___',
    'Allocator: glibc malloc (C heap) and V8 (JavaScript heap)',
    `C heap in use: ${cUsed}`,
    `C heap free, held by malloc: ${cFree}`,
    `of the C heap in use, the keyspace addon's: ${addon}`,
    `V8 heap used: ${heap.used_heap_size}`,
    `V8 heap total: ${heap.total_heap_size}`,
    `V8 external memory (Buffers): ${heap.external_memory}`,
    ...v8.getHeapSpaceStatistics().map((s) => `V8 ${s.space_name}: used ${s.space_used_size}, size ${s.space_size}`),
    '--- End keyfork allocator statistics ---',
  ];
  ctx.out.verbatim(`${lines.join('\n')}\n`);
}

/** MEMORY PURGE: what keyfork can give back: dead Buffers collected, free C heap trimmed. */
function purge(ctx: Ctx): void {
  ctx.server.purgeMemory();
  ctx.out.ok();
}

const MEMORY_HELP: HelpEntry[] = [
  ['doctor', 'DOCTOR', ['Return memory problems reports.']],
  ['malloc-stats', 'MALLOC-STATS', ['Return internal statistics report from the memory allocator.']],
  ['purge', 'PURGE', ['Attempt to purge dirty pages for reclamation by the allocator.']],
  ['stats', 'STATS', ['Return information about the memory usage of the server.']],
  ['usage', 'USAGE <key> [SAMPLES <count>]', [
    'Return memory in bytes used by <key> and its value. Nested values are',
    'sampled up to <count> times (default: 5, 0 means sample all).',
  ]],
];

function memoryHelp(ctx: Ctx): void {
  writeHelp(ctx, MEMORY_HELP, subcommandPresent(ctx.server, 'memory'));
}

export const memoryCommands: [string, Handler][] = [
  ['memory|stats', memoryStats],
  ['memory|doctor', memoryDoctor],
  ['memory|malloc-stats', mallocStats],
  ['memory|purge', purge],
  ['memory|help', memoryHelp],
];

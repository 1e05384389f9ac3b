// SLOWLOG and LATENCY, with Redis 7.0's replies and texts (slowlog.c, latency.c).
import * as fs from 'node:fs';
import type { Server } from '../server';
import { subcommandPresent, writeHelp, type HelpEntry } from './command-cmd';
import type { Command } from './table';
import { argStr, ReplyError, subcommandSyntaxError, type Ctx, type Handler } from './types';

// ---------------------------------------------------------------------------------------------
// SLOWLOG

function slowlogGet(ctx: Ctx): void {
  const { req, out, server } = ctx;
  let count = 10;
  if (req.argc > 3) throw subcommandSyntaxError(req);
  if (req.argc === 3) {
    const text = argStr(req, 2);
    const n = /^-?(0|[1-9][0-9]*)$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || n < -1) throw new ReplyError('ERR count should be greater than or equal to -1');
    count = n === -1 ? server.slowlog.length : n;
  }
  const entries = server.slowlog.newest(count);
  out.array(entries.length);
  for (const e of entries) {
    out.array(6);
    out.int(e.id);
    out.int(e.time);
    out.int(e.usec);
    out.array(e.args.length);
    for (const a of e.args) out.bulk(a);
    out.bulk(e.peer);
    out.bulk(e.name);
  }
}

function slowlogLen(ctx: Ctx): void {
  ctx.out.int(ctx.server.slowlog.length);
}

function slowlogReset(ctx: Ctx): void {
  ctx.server.slowlog.reset();
  ctx.out.ok();
}

const SLOWLOG_HELP: HelpEntry[] = [
  ['get', 'GET [<count>]', [
    'Return top <count> entries from the slowlog (default: 10, -1 mean all).',
    'Entries are made of:',
    'id, timestamp, time in microseconds, arguments array, client IP and port,',
    'client name',
  ]],
  ['len', 'LEN', ['Return the length of the slowlog.']],
  ['reset', 'RESET', ['Reset the slowlog.']],
];

function slowlogHelp(ctx: Ctx): void {
  writeHelp(ctx, SLOWLOG_HELP, subcommandPresent(ctx.server, 'slowlog'));
}

// ---------------------------------------------------------------------------------------------
// LATENCY

function latencyLatest(ctx: Ctx): void {
  const rows = ctx.server.latency.latest();
  ctx.out.array(rows.length);
  for (const [event, time, latency, max] of rows) {
    ctx.out.array(4);
    ctx.out.bulk(event);
    ctx.out.int(time);
    ctx.out.int(latency);
    ctx.out.int(max);
  }
}

function latencyHistory(ctx: Ctx): void {
  const samples = ctx.server.latency.history(argStr(ctx.req, 2));
  ctx.out.array(samples.length);
  for (const s of samples) {
    ctx.out.array(2);
    ctx.out.int(s.time);
    ctx.out.int(s.latency);
  }
}

function latencyReset(ctx: Ctx): void {
  const { req, server } = ctx;
  if (req.argc === 2) {
    ctx.out.int(server.latency.reset());
    return;
  }
  let n = 0;
  for (let i = 2; i < req.argc; i++) n += server.latency.reset(argStr(req, i));
  ctx.out.int(n);
}

function latencyGraph(ctx: Ctx): void {
  const event = argStr(ctx.req, 2);
  const graph = ctx.server.latency.graph(event);
  if (graph === null) throw new ReplyError(`ERR No samples available for event '${event}'`);
  ctx.out.verbatim(graph);
}

function latencyDoctor(ctx: Ctx): void {
  ctx.out.verbatim(latencyReport(ctx.server));
}

/** LATENCY HISTOGRAM: each command's calls and cumulative distribution (fillCommandCDF). */
function latencyHistogram(ctx: Ctx): void {
  const { req, out, server } = ctx;
  const chosen: Command[] = [];
  const withSubcommands = (cmd: Command) => {
    chosen.push(cmd);
    if (cmd.subcommands) for (const sub of cmd.subcommands.values()) chosen.push(sub);
  };
  if (req.argc === 2) {
    for (const cmd of server.commands.all()) withSubcommands(cmd);
  } else {
    for (let i = 2; i < req.argc; i++) {
      const name = argStr(req, i).toLowerCase();
      const [container, sub] = name.split('|');
      const top = server.commands.get(container);
      const cmd = sub === undefined ? top : top?.subcommands?.get(sub);
      if (cmd) withSubcommands(cmd);
    }
  }
  server.absorbSocketStats();
  const withData = chosen.filter((c) => c.stats.latency !== undefined);
  out.map(withData.length);
  for (const cmd of withData) {
    const h = cmd.stats.latency!;
    out.bulk(cmd.name);
    out.map(2);
    out.bulk('calls');
    out.int(h.total);
    out.bulk('histogram_usec');
    const buckets = h.cumulative();
    out.map(buckets.length);
    for (const [usec, calls] of buckets) {
      out.int(usec);
      out.int(calls);
    }
  }
}

const LATENCY_HELP: HelpEntry[] = [
  ['doctor', 'DOCTOR', ['Return a human readable latency analysis report.']],
  ['graph', 'GRAPH <event>', ['Return an ASCII latency graph for the <event> class.']],
  ['history', 'HISTORY <event>', ['Return time-latency samples for the <event> class.']],
  ['latest', 'LATEST', ['Return the latest latency samples for all events.']],
  ['reset', 'RESET [<event> ...]', ['Reset latency data of one or more <event> classes.', '(default: reset all data for all event classes)']],
  ['histogram', 'HISTOGRAM [COMMAND ...]', [
    'Return a cumulative distribution of latencies in the format of a histogram for the specified command names.',
    'If no commands are specified then all histograms are replied.',
  ]],
];

function latencyHelp(ctx: Ctx): void {
  writeHelp(ctx, LATENCY_HELP, subcommandPresent(ctx.server, 'latency'));
}

/**
 * AnonHugePages of this process, in bytes (Redis's THPGetAnonHugePagesSize), not counting the
 * memory keyfork itself asks to be backed by huge pages (madvise MADV_HUGEPAGE, "hg" in the
 * mapping's VmFlags: the keyspace's heap under THP "madvise", see native/src/alloc.rs
 * use_huge_pages). Redis's advice is about huge pages the system imposes ("always"), copied
 * whole on a write after fork in the kernels it was written for; keyfork's own ones are split,
 * not copied, on such a write (4 KB copy-on-write, Linux 5.8+).
 */
function anonHugePages(): number {
  try {
    return hugePagesNotAdvised(fs.readFileSync('/proc/self/smaps', 'latin1'));
  } catch {
    return 0;
  }
}

/** The AnonHugePages bytes of the mappings of an smaps text whose VmFlags lack "hg". */
export function hugePagesNotAdvised(smaps: string): number {
  let total = 0;
  let pending = 0;
  for (const line of smaps.split('\n')) {
    if (line.startsWith('AnonHugePages:')) pending = Number(/(\d+) kB/.exec(line)?.[1] ?? 0) * 1024;
    else if (line.startsWith('VmFlags:')) {
      // VmFlags ends each mapping's block.
      if (!/\bhg\b/.test(line)) total += pending;
      pending = 0;
    }
  }
  return total + pending;
}

/** createLatencyReport: LATENCY DOCTOR's analysis, word for word. */
export function latencyReport(server: Server): string {
  const latency = server.latency;
  const threshold = latency.threshold;
  if (latency.events.size === 0 && threshold === 0) {
    return 'I\'m sorry, Dave, I can\'t do that. Latency monitoring is disabled in this Redis instance. You may use "CONFIG SET latency-monitor-threshold <milliseconds>." in order to enable it. If we weren\'t in a deep space mission I\'d suggest to take a look at https://redis.io/topics/latency-monitor.\n';
  }
  const slowlogThreshold = Number(server.config.get('slowlog-log-slower-than'));
  const advise = new Set<string>();
  let advices = 0;
  const add = (...names: string[]) => {
    for (const n of names) advise.add(n);
    advices += names.length;
  };
  let report = '';
  let eventnum = 0;
  for (const [event, ts] of latency.events) {
    eventnum++;
    if (eventnum === 1) report += 'Dave, I have observed latency spikes in this Redis instance. You don\'t mind talking about it, do you Dave?\n\n';
    const ls = latency.analyze(event);
    report += `${eventnum}. ${event}: ${ls.samples} latency spikes (average ${ls.avg}ms, mean deviation ${ls.mad}ms, period ${(ls.period / ls.samples).toFixed(2)} sec). Worst all time event ${ts.max}ms.`;
    const e = event.toLowerCase();
    if (e === 'fork') {
      const rate = latency.forkRate;
      let quality: string;
      if (rate < 10) {
        quality = 'terrible';
        add('better_vm');
      } else if (rate < 25) {
        quality = 'poor';
        add('better_vm');
      } else if (rate < 100) {
        quality = 'good';
      } else {
        quality = 'excellent';
      }
      report += ` Fork rate is ${rate.toFixed(2)} GB/sec (${quality}).`;
    }
    if (e === 'command') {
      if (slowlogThreshold < 0) add('slowlog_enabled');
      else if (Math.trunc(slowlogThreshold / 1000) > threshold) add('slowlog_tuning');
      add('slowlog_inspect', 'large_objects');
    }
    if (e === 'fast-command') add('scheduler');
    if (e === 'aof-write-pending-fsync') add('local_disk', 'disk_contention', 'ssd', 'data_writeback');
    if (e === 'aof-write-active-child') add('no_appendfsync', 'data_writeback', 'ssd');
    if (e === 'aof-write-alone') add('local_disk', 'data_writeback', 'ssd');
    if (e === 'aof-fsync-always') add('relax_fsync_policy');
    if (e === 'aof-fstat' || e === 'rdb-unlink-temp-file') add('disk_contention', 'local_disk');
    if (e === 'aof-rewrite-diff-write' || e === 'aof-rename') add('write_load_info', 'data_writeback', 'ssd', 'local_disk');
    if (e === 'expire-cycle') add('hz', 'large_objects');
    if (e === 'eviction-del') add('large_objects');
    if (e === 'eviction-cycle') add('mass_eviction');
    report += '\n';
  }
  if (anonHugePages() > 0) add('disable_thp');

  if (eventnum === 0 && advices === 0) {
    return report + 'Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n';
  }
  if (eventnum > 0 && advices === 0) {
    return report + '\nWhile there are latency events logged, I\'m not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n';
  }
  report += '\nI have a few advices for you:\n\n';
  const threshold1000 = threshold * 1000;
  if (advise.has('better_vm')) report += '- If you are using a virtual machine, consider upgrading it with a faster one using a hypervisior that provides less latency during fork() calls. Xen is known to have poor fork() performance. Even in the context of the same VM provider, certain kinds of instances can execute fork faster than others.\n';
  if (advise.has('slowlog_enabled')) report += `- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than ${threshold1000}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n`;
  if (advise.has('slowlog_tuning')) report += `- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than ${threshold1000}'.\n`;
  if (advise.has('slowlog_inspect')) report += '- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n';
  if (advise.has('scheduler')) {
    report += '- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n'
      + '  1) Lower the system load.\n'
      + '  2) Use a computer / VM just for Redis if you are running other software in the same system.\n'
      + '  3) Check if you have a "noisy neighbour" problem.\n'
      + '  4) Check with \'redis-cli --intrinsic-latency 100\' what is the intrinsic latency in your system.\n'
      + '  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n';
  }
  if (advise.has('local_disk')) report += '- It is strongly advised to use local disks for persistence, especially if you are using AOF. Remote disks provided by platform-as-a-service providers are known to be slow.\n';
  if (advise.has('ssd')) report += '- SSD disks are able to reduce fsync latency, and total time needed for snapshotting and AOF log rewriting (resulting in smaller memory usage and smaller final AOF rewrite buffer flushes). With extremely high write load SSD disks can be a good option. However Redis should perform reasonably with high load using normal disks. Use this advice as a last resort.\n';
  if (advise.has('data_writeback')) report += '- Mounting ext3/4 filesystems with data=writeback can provide a performance boost compared to data=ordered, however this mode of operation provides less guarantees, and sometimes it can happen that after a hard crash the AOF file will have a half-written command at the end and will require to be repaired before Redis restarts.\n';
  if (advise.has('disk_contention')) report += '- Try to lower the disk contention. This is often caused by other disk intensive processes running in the same computer (including other Redis instances).\n';
  if (advise.has('no_appendfsync')) report += '- Assuming from the point of view of data safety this is viable in your environment, you could try to enable the \'no-appendfsync-on-rewrite\' option, so that fsync will not be performed while there is a child rewriting the AOF file or producing an RDB file (the moment where there is high disk contention).\n';
  if (advise.has('relax_fsync_policy') && server.config.get('appendfsync') === 'always') report += '- Your fsync policy is set to \'always\'. It is very hard to get good performances with such a setup, if possible try to relax the fsync policy to \'onesec\'.\n';
  if (advise.has('write_load_info')) report += '- Latency during the AOF atomic rename operation or when the final difference is flushed to the AOF file at the end of the rewrite, sometimes is caused by very high write load, causing the AOF buffer to get very large. If possible try to send less commands to accomplish the same work, or use Lua scripts to group multiple operations into a single EVALSHA call.\n';
  if (advise.has('hz') && Number(server.config.get('hz')) < 100) report += '- In order to make the Redis keys expiring process more incremental, try to set the \'hz\' configuration parameter to 100 using \'CONFIG SET hz 100\'.\n';
  if (advise.has('large_objects')) report += '- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n';
  if (advise.has('mass_eviction')) report += '- Sudden changes to the \'maxmemory\' setting via \'CONFIG SET\', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n';
  if (advise.has('disable_thp')) report += '- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command \'echo never > /sys/kernel/mm/transparent_hugepage/enabled\', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n';
  return report;
}

export const latencyCommands: [string, Handler][] = [
  ['slowlog|get', slowlogGet],
  ['slowlog|len', slowlogLen],
  ['slowlog|reset', slowlogReset],
  ['slowlog|help', slowlogHelp],
  ['latency|latest', latencyLatest],
  ['latency|history', latencyHistory],
  ['latency|reset', latencyReset],
  ['latency|graph', latencyGraph],
  ['latency|doctor', latencyDoctor],
  ['latency|histogram', latencyHistogram],
  ['latency|help', latencyHelp],
];

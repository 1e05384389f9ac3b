// The status screen as text: one pure function from the model to lines, so the watch loop,
// a single `keyfork status` and the tests draw the same thing.
import { Format } from 'cli-progress';
import { createColors } from 'picocolors';
import type { ChildType, ChildView, StatusModel } from './status';

type Colors = ReturnType<typeof createColors>;

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** 0:07, 12:03, 1:02:03 */
export function formatClock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** 40 s, 3 min 5 s, 2 h 13 min, 3 d 4 h */
export function formatSpan(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  if (s < 86400) return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
  return `${Math.floor(s / 86400)} d${Math.floor((s % 86400) / 3600) ? ` ${Math.floor((s % 86400) / 3600)} h` : ''}`;
}

/** hh:mm:ss of a unix time in seconds, in this machine's time zone. */
export function formatTimeOfDay(unixSec: number): string {
  const d = new Date(unixSec * 1000);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

const CHILD_NAMES: Record<ChildType, string> = { rdb: 'RDB save', 'aof-rewrite': 'AOF rewrite', sync: 'replica sync' };
const CHILD_PHRASES: Record<ChildType, string> = { rdb: 'A save', 'aof-rewrite': 'An AOF rewrite', sync: 'A replica sync' };

/**
 * "A save started by save rule "300 10": 12 changes in 301 seconds at 02:13:05 is 64% done,
 * about 40 s left": what a refused BGSAVE or BGREWRITEAOF runs into.
 */
export function describeRunningChild(child: ChildView): string {
  const by = child.trigger ? ` by ${child.trigger}` : '';
  const left = child.etaSec !== null ? `, about ${formatSpan(child.etaSec)} left` : '';
  return `${CHILD_PHRASES[child.type]} started${by} at ${formatTimeOfDay(child.startTime)} is ${Math.floor(child.progressPerc)}% done${left}`;
}

/** The bar of a running child, drawn by cli-progress. */
export function progressBar(fraction: number, width: number, unicode: boolean): string {
  const complete = unicode ? '\u2588' : '#';
  const incomplete = unicode ? '\u2591' : '.';
  return Format.BarFormat(Math.max(0, Math.min(1, fraction)), {
    barsize: width,
    barCompleteString: complete.repeat(width),
    barIncompleteString: incomplete.repeat(width),
    barGlue: '',
  } as Parameters<typeof Format.BarFormat>[1]);
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

export function visibleLength(line: string): number {
  return line.replace(ANSI, '').length;
}

/** Cuts a line with colour codes to `width` visible characters. */
export function fit(line: string, width: number): string {
  if (visibleLength(line) <= width) return line;
  let out = '';
  let seen = 0;
  for (let i = 0; i < line.length && seen < width; ) {
    const m = line[i] === '\x1b' ? /^\x1b\[[0-9;]*m/.exec(line.slice(i)) : null;
    if (m) {
      out += m[0];
      i += m[0].length;
      continue;
    }
    out += line[i++];
    seen++;
  }
  return `${out}\x1b[0m`;
}

export interface RenderOptions {
  color: boolean;
  /** Terminal columns; lines are cut to fit. */
  width: number;
  unicode: boolean;
  /** This machine's clock (unix ms), for "ago" and the header's time. */
  nowMs?: number;
}

const LABEL = 13;

export function renderStatus(m: StatusModel, opts: RenderOptions): string[] {
  const c: Colors = createColors(opts.color);
  const lines: string[] = [];
  const label = (text: string) => c.bold(text.padEnd(LABEL));
  const indent = ' '.repeat(LABEL);
  const needs = (what: string) => c.dim(`(${what}: needs keyfork)`);
  const status = (s: string) => (s === 'ok' ? c.green(s) : c.red(c.bold(s)));
  const serverSec = Math.floor(m.server.timeMs / 1000);
  const ago = (unixSec: number) => `${formatTimeOfDay(unixSec)} (${formatSpan(serverSec - unixSec)} ago)`;

  // Header: which server, its size, and the time of this look.
  const software = m.server.keyforkVersion ? `keyfork ${m.server.keyforkVersion} (Redis ${m.server.redisVersion})` : `Redis ${m.server.redisVersion}`;
  lines.push(
    `${c.bold(c.cyan(software))} ${m.server.addr} \u00b7 ${m.server.role} \u00b7 up ${formatSpan(m.server.uptimeSec)} \u00b7 ` +
      `${formatCount(m.server.keys)} keys \u00b7 ${formatBytes(m.server.usedMemoryBytes)} \u00b7 ${formatTimeOfDay(Math.floor((opts.nowMs ?? m.server.timeMs) / 1000))}`,
  );
  const blocked = m.server.blockedClients > 0 ? ` (${m.server.blockedClients} blocked)` : '';
  lines.push(`${label('Clients')}${m.server.clients} connected${blocked} \u00b7 memory peak ${formatBytes(m.server.usedMemoryPeakBytes)}`);
  lines.push('');

  // The running child.
  const child = m.child;
  if (!child) {
    lines.push(`${label('Running')}${c.dim('no child: nothing is being saved or rewritten')}`);
  } else {
    const pid = child.pid !== null ? `pid ${child.pid}` : needs('pid');
    lines.push(`${label('Running')}${c.yellow(c.bold(CHILD_NAMES[child.type]))}, ${pid}, forked in ${(child.forkUsec / 1000).toFixed(1)} ms`);
    lines.push(`${indent}triggered by ${child.trigger ? c.bold(child.trigger) : needs('trigger')}`);
    lines.push(`${indent}started ${ago(child.startTime)}`);
    const bytes = child.bytesWritten !== null ? `  ${formatBytes(child.bytesWritten)} written` : `  ${needs('bytes')}`;
    lines.push(
      `${indent}${c.yellow(progressBar(child.progressPerc / 100, 24, opts.unicode))} ${child.progressPerc.toFixed(1).padStart(5)}%  ` +
        `${formatCount(child.keysDone)}/${formatCount(child.keysTotal)} keys${bytes}`,
    );
    const rate = child.keysPerSec !== null ? `${formatCount(child.keysPerSec)} keys/s` : 'rate --';
    const eta = child.etaSec !== null ? `ETA ${formatClock(child.etaSec * 1000)}` : 'ETA --:--';
    lines.push(
      `${indent}${rate} \u00b7 elapsed ${formatClock(child.elapsedMs)} \u00b7 ${eta} \u00b7 copy-on-write ${formatBytes(child.cowBytes)} now, ${formatBytes(child.cowPeakBytes)} peak`,
    );
  }

  // What waits its turn.
  const waiting: string[] = [];
  if (m.waiting.rdb) waiting.push(`BGSAVE (${m.waiting.rdb})`);
  if (m.waiting.aofRewrite) waiting.push(typeof m.waiting.aofRewrite === 'string' ? `AOF rewrite (${m.waiting.aofRewrite})` : 'AOF rewrite');
  if (m.waiting.sync) waiting.push(`replica sync (${m.waiting.sync})`);
  const unknownWaits = m.server.software === 'redis' ? ` ${needs('scheduled BGSAVE and replicas')}` : '';
  lines.push(`${label('Waiting')}${waiting.length ? waiting.join('; ') : c.dim('nothing')}${unknownWaits}`);
  lines.push('');

  // The last save and rewrite.
  const ls = m.lastSave;
  // Without a BGSAVE since start-up, LASTSAVE is the start time (or a SAVE's).
  const took = ls.durationSec !== null ? `, last BGSAVE took ${formatSpan(ls.durationSec)}` : ', no BGSAVE since start-up';
  const by = ls.trigger ? ` \u00b7 by ${ls.trigger}` : m.server.software === 'redis' ? ` ${needs('trigger')}` : '';
  lines.push(`${label('Last save')}${status(ls.status)} \u00b7 ${ago(ls.time)}${took}${by}`);
  if (ls.error) lines.push(`${indent}${c.red(`error: ${ls.error}`)}`);
  if (ls.bgsaveStoppedBy) lines.push(`${indent}the last BGSAVE (${ls.bgsaveTrigger ?? '?'}) was stopped by ${ls.bgsaveStoppedBy}`);
  const lr = m.lastRewrite;
  if (lr.count === 0 && lr.durationSec === null) {
    lines.push(`${label('Last rewrite')}${c.dim('none since start-up')}`);
  } else {
    const rtook = lr.durationSec !== null ? ` \u00b7 took ${formatSpan(lr.durationSec)}` : '';
    lines.push(`${label('Last rewrite')}${status(lr.status)}${rtook} \u00b7 ${lr.count} since start-up${lr.trigger ? ` \u00b7 by ${lr.trigger}` : ''}`);
    if (lr.error) lines.push(`${indent}${c.red(`error: ${lr.error}`)}`);
  }
  lines.push('');

  // Save rules: how soon each fires.
  const since = `${formatCount(m.changesSinceSave)} changes since the last save`;
  if (m.saveRules === null) {
    lines.push(`${label('Save rules')}${since} ${c.dim('(CONFIG GET save refused)')}`);
  } else if (m.saveRules.length === 0) {
    lines.push(`${label('Save rules')}${since} \u00b7 ${c.dim('none (save "")')}`);
  } else {
    lines.push(`${label('Save rules')}${since}`);
    for (const r of m.saveRules) {
      const rule = `save ${r.seconds} ${r.changes}`.padEnd(18);
      let when: string;
      if (r.state === 'due') when = m.child ? c.yellow('due: starts when the running child ends') : c.yellow('due: starts at the next cron tick');
      else if (r.state === 'time') when = `fires in ${formatSpan(r.firesInSec ?? 0)}`;
      else when = c.dim(`needs ${formatCount(r.changesMissing)} more change${r.changesMissing === 1 ? '' : 's'}`);
      lines.push(`${indent}${rule}${when}`);
    }
  }

  // AOF and replicas.
  if (!m.aof.enabled) {
    lines.push(`${label('AOF')}${c.dim('off')}`);
  } else {
    const size = m.aof.currentBytes !== null ? ` \u00b7 ${formatBytes(m.aof.currentBytes)}${m.aof.baseBytes !== null ? ` (base ${formatBytes(m.aof.baseBytes)})` : ''}` : '';
    lines.push(`${label('AOF')}on${size} \u00b7 last write ${status(m.aof.lastWriteStatus)}`);
  }
  if (m.replicas.length === 0) {
    lines.push(`${label('Replicas')}${c.dim('none')}`);
  } else {
    lines.push(`${label('Replicas')}${m.replicas.length} connected`);
    for (const r of m.replicas) {
      const state = r.state === 'online' ? c.green(r.state) : c.yellow(r.state);
      lines.push(`${indent}${r.addr.padEnd(22)}${state} \u00b7 lag ${r.lagSec >= 0 ? `${r.lagSec} s` : '?'} \u00b7 ${formatBytes(r.lagBytes)} behind`);
    }
  }

  // Disk: room for the next RDB beside the current one.
  const d = m.disk;
  const where = d.dir ?? '(dir unknown)';
  if (d.freeBytes === null) {
    lines.push(`${label('Disk')}${where} ${needs('free space')}`);
  } else {
    const file = d.rdbFileBytes !== null ? `${d.dbfilename ?? 'dump.rdb'} ${formatBytes(d.rdbFileBytes)}` : `no ${d.dbfilename ?? 'dump.rdb'} yet`;
    let verdict = '';
    if (d.expectedRdbBytes !== null) {
      const enough = d.freeBytes >= d.expectedRdbBytes;
      verdict = ` \u00b7 next save needs about ${formatBytes(d.expectedRdbBytes)}: ${enough ? c.green('room') : c.red(c.bold('NOT ENOUGH ROOM'))}`;
    }
    lines.push(`${label('Disk')}${where}: ${formatBytes(d.freeBytes)} free \u00b7 ${file}${verdict}`);
  }

  // keyfork accepts every directive; the ones it does not act on yet are set at the operator's risk.
  if (m.unsupportedConfigs !== null) {
    lines.push(
      m.unsupportedConfigs.length === 0
        ? `${label('Directives')}${c.dim('every directive set is one keyfork acts on')}`
        : `${label('Directives')}${c.yellow(m.unsupportedConfigs.join(', '))} set, but keyfork does not act on them yet (see the server log)`,
    );
  }

  if (m.needsKeyfork.length > 0) {
    lines.push('');
    lines.push(c.dim(`Redis does not expose ${m.needsKeyfork.join(', ')}: those need keyfork.`));
  }
  return lines.map((l) => fit(l, opts.width));
}

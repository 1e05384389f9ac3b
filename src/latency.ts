// The latency monitor (Redis's latency.c): events slower than latency-monitor-threshold
// milliseconds, 160 one-second samples per event kept with the worst of each second, and the
// LATENCY command over them (LATEST, HISTORY, RESET, GRAPH, DOCTOR); plus the per-command
// latency histograms of latency-tracking (LATENCY HISTOGRAM, INFO latencystats).
//
// Events keyfork records, where Redis 7.0 does: command / fast-command (calls, by the command's
// `fast` flag), expire-cycle (the cron's active expiry), expire-del / eviction-cycle /
// eviction-del / eviction-lazyfree (measured in the addon, taken by the cron), fork,
// rdb-unlink-temp-file, aof-write(-alone / -active-child / -pending-fsync), aof-fsync-always,
// aof-rename, aof-fstat (their owners, through a LatencySink).
import type { Command } from './commands/table';
import type { Config } from './config';
import { consume } from './config/consumers';
import { LatencyHistogram } from './latency-histogram';

const PROOF = 'test/server/slowlog-latency.test.ts';
const LATENCY_MONITOR_THRESHOLD = consume('latency-monitor-threshold', PROOF);
const LATENCY_TRACKING = consume('latency-tracking', PROOF);
const LATENCY_TRACKING_INFO_PERCENTILES = consume('latency-tracking-info-percentiles', PROOF);

/** Where an event's duration goes (the monitor, or a component's handle on it). */
export interface LatencySink {
  /** latencyAddSampleIfNeeded: `ms` is recorded for `event` when it reaches the threshold. */
  addSampleIfNeeded(event: string, ms: number): void;
}

const SAMPLES = 160;
const GRAPH_COLUMNS = 80;

interface Sample {
  /** Unix seconds; 0 for an empty slot. */
  time: number;
  latency: number;
}

interface TimeSeries {
  samples: Sample[];
  idx: number;
  max: number;
}

export interface LatencyStats {
  allTimeHigh: number;
  avg: number;
  min: number;
  max: number;
  mad: number;
  samples: number;
  period: number;
}

export class LatencyMonitor implements LatencySink {
  /** latency-monitor-threshold in ms; 0 disables the monitor. */
  threshold = 0;
  readonly events = new Map<string, TimeSeries>();
  /** latency-tracking: per-command histograms are recorded. */
  tracking = true;
  /** latency-tracking-info-percentiles: what INFO latencystats reports. */
  percentiles: number[] = [];
  /** GB of used memory forked per second, at the last fork (Redis's stat_fork_rate). */
  forkRate = 0;

  constructor(config: Config) {
    const refresh = () => {
      this.threshold = config.int(LATENCY_MONITOR_THRESHOLD);
      this.tracking = config.bool(LATENCY_TRACKING);
      this.percentiles = config.latencyPercentiles(LATENCY_TRACKING_INFO_PERCENTILES);
    };
    refresh();
    for (const d of [LATENCY_MONITOR_THRESHOLD, LATENCY_TRACKING, LATENCY_TRACKING_INFO_PERCENTILES]) config.onChange(d, refresh);
  }

  /** The shortest event (us) that would be recorded, Infinity while the monitor is off. */
  get minSampledUsec(): number {
    return this.threshold > 0 ? this.threshold * 1000 : Infinity;
  }

  /** True when an event of `ms` milliseconds (whole ones count, as Redis's integer ms) would be recorded. */
  wouldSample(ms: number): boolean {
    return this.threshold > 0 && Math.floor(ms) >= this.threshold;
  }

  /** latencyAddSampleIfNeeded: records `ms` for `event` when the monitor is on and it is slow enough. */
  addSampleIfNeeded(event: string, ms: number): void {
    if (this.wouldSample(ms)) this.addSample(event, Math.floor(ms));
  }

  /** A child was forked in `usec` microseconds with `usedMemory` bytes in use. */
  noteFork(usec: number, usedMemory: number): void {
    this.forkRate = usec > 0 ? (usedMemory * 1_000_000) / usec / (1024 * 1024 * 1024) : 0;
    this.addSampleIfNeeded('fork', usec / 1000);
  }

  addSample(event: string, latency: number, now = Math.floor(Date.now() / 1000)): void {
    let ts = this.events.get(event);
    if (!ts) {
      ts = { samples: Array.from({ length: SAMPLES }, () => ({ time: 0, latency: 0 })), idx: 0, max: 0 };
      this.events.set(event, ts);
    }
    if (latency > ts.max) ts.max = latency;
    // A second's worst sample only.
    const prev = ts.samples[(ts.idx + SAMPLES - 1) % SAMPLES];
    if (prev.time === now) {
      if (latency > prev.latency) prev.latency = latency;
      return;
    }
    ts.samples[ts.idx] = { time: now, latency };
    ts.idx = (ts.idx + 1) % SAMPLES;
  }

  /** LATENCY RESET [event]: how many events were reset. */
  reset(event?: string): number {
    if (event === undefined) {
      const n = this.events.size;
      this.events.clear();
      return n;
    }
    let n = 0;
    for (const name of [...this.events.keys()]) {
      if (name.toLowerCase() === event.toLowerCase()) {
        this.events.delete(name);
        n++;
      }
    }
    return n;
  }

  /** The samples of an event, oldest first. */
  history(event: string): Sample[] {
    const ts = this.events.get(event);
    if (!ts) return [];
    const out: Sample[] = [];
    for (let j = 0; j < SAMPLES; j++) {
      const s = ts.samples[(ts.idx + j) % SAMPLES];
      if (s.time !== 0) out.push(s);
    }
    return out;
  }

  /** LATENCY LATEST rows: [event, time of its last sample, its latency, all-time max]. */
  latest(): Array<[string, number, number, number]> {
    return [...this.events].map(([name, ts]) => {
      const last = ts.samples[(ts.idx + SAMPLES - 1) % SAMPLES];
      return [name, last.time, last.latency, ts.max];
    });
  }

  /** analyzeLatencyForEvent. */
  analyze(event: string, now = Math.floor(Date.now() / 1000)): LatencyStats {
    const ts = this.events.get(event);
    const stats: LatencyStats = { allTimeHigh: ts?.max ?? 0, avg: 0, min: 0, max: 0, mad: 0, samples: 0, period: 0 };
    if (!ts) return stats;
    let sum = 0;
    for (const s of ts.samples) {
      if (s.time === 0) continue;
      stats.samples++;
      if (stats.samples === 1) {
        stats.min = stats.max = s.latency;
      } else {
        stats.min = Math.min(stats.min, s.latency);
        stats.max = Math.max(stats.max, s.latency);
      }
      sum += s.latency;
      if (stats.period === 0 || s.time < stats.period) stats.period = s.time;
    }
    if (stats.samples > 0) {
      stats.avg = Math.floor(sum / stats.samples);
      stats.period = now - stats.period || 1;
    }
    let deviation = 0;
    for (const s of ts.samples) if (s.time !== 0) deviation += Math.abs(stats.avg - s.latency);
    if (stats.samples > 0) stats.mad = Math.floor(deviation / stats.samples);
    return stats;
  }

  /** LATENCY GRAPH: the header, a rule and a 4-row sparkline of the samples labelled by age. */
  graph(event: string, now = Math.floor(Date.now() / 1000)): string | null {
    const ts = this.events.get(event);
    if (!ts) return null;
    const samples = this.history(event);
    let min = 0;
    let max = 0;
    samples.forEach((s, i) => {
      if (i === 0) min = max = s.latency;
      else {
        max = Math.max(max, s.latency);
        min = Math.min(min, s.latency);
      }
    });
    const labelled = samples.map((s) => ({ value: s.latency, label: ageLabel(now - s.time) }));
    return `${event} - high ${max} ms, low ${min} ms (all time high ${ts.max} ms)\n${'-'.repeat(GRAPH_COLUMNS)}\n${sparkline(labelled, GRAPH_COLUMNS, 4)}`;
  }

  // -------------------------------------------------------------------------------------------
  // latency-tracking

  /** Records `count` calls of `cmd` that took `usec` microseconds each. */
  recordCall(cmd: Command, usec: number, count = 1): void {
    if (this.tracking) (cmd.stats.latency ??= new LatencyHistogram()).record(usec, count);
  }


}

function ageLabel(elapsed: number): string {
  if (elapsed < 60) return `${elapsed}s`;
  if (elapsed < 3600) return `${Math.floor(elapsed / 60)}m`;
  if (elapsed < 3600 * 24) return `${Math.floor(elapsed / 3600)}h`;
  return `${Math.floor(elapsed / (3600 * 24))}d`;
}

// ---------------------------------------------------------------------------------------------
// Redis's sparkline.c, filled style: rows of "_o#" steps and '|' below, labels written
// vertically under their sample after one blank row.

const FILL = '_o#';

interface SparkSample {
  value: number;
  label: string;
}

export function sparkline(samples: SparkSample[], columns: number, rows: number): string {
  let min = 0;
  let max = 0;
  samples.forEach((s, i) => {
    if (i === 0) min = max = s.value;
    else if (s.value < min) min = s.value;
    else if (s.value > max) max = s.value;
  });
  let out = '';
  for (let j = 0; j < samples.length; j += columns) {
    if (j !== 0) out += '\n';
    out += sparklineRange(samples.slice(j, j + columns), min, max, rows);
  }
  return out;
}

function sparklineRange(samples: SparkSample[], min: number, max: number, rows: number): string {
  const relmax = max - min === 0 ? 1 : max - min;
  const steps = FILL.length * rows;
  const labels = samples.some((s) => s.label !== '');
  let out = '';
  for (let row = 0; ; row++) {
    let more = false;
    const chars = new Array<string>(samples.length).fill(' ');
    for (let j = 0; j < samples.length; j++) {
      const s = samples[j];
      let step = Math.trunc(Math.trunc((s.value - min) * steps) / relmax);
      step = Math.min(steps - 1, Math.max(0, step));
      if (row < rows) {
        more = true;
        const idx = step - (rows - row - 1) * FILL.length;
        if (idx >= 0 && idx < FILL.length) chars[j] = FILL[idx];
        else if (idx >= FILL.length) chars[j] = '|';
      } else {
        // One blank row between the graph and the labels.
        if (labels && row - rows < 1) {
          more = true;
          chars.fill(' ');
          break;
        }
        const at = row - rows - 1;
        if (s.label.length > at) {
          more = true;
          chars[j] = s.label[at];
        }
      }
    }
    if (!more) return out;
    out += `${chars.join('')}\n`;
  }
}

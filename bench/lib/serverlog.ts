// Redis's log line format, which keyfork reproduces: `pid:role dd Mon yyyy hh:mm:ss.mmm level msg`.
// Save durations are taken from these timestamps (millisecond resolution, written by the
// processes themselves) rather than from polling, which would add the poll interval.
import { logSize, readFrom, sleep } from './servers';

export interface LogLine {
  pid: number;
  role: string;
  /** Milliseconds since the epoch (local time of the server; only differences are used). */
  time: number;
  message: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const LINE = /^(\d+):([A-Z]) (\d{1,2}) (\w{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2})\.(\d{3}) [.\-*#] (.*)$/;

export function parseLogLines(text: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const raw of text.split('\n')) {
    const m = LINE.exec(raw);
    if (!m) continue;
    const month = MONTHS.indexOf(m[4]);
    if (month < 0) continue;
    const time = new Date(Number(m[5]), month, Number(m[3]), Number(m[6]), Number(m[7]), Number(m[8]), Number(m[9])).getTime();
    lines.push({ pid: Number(m[1]), role: m[2], time, message: m[10] });
  }
  return lines;
}

/** Follows a server's log file from the current end (or from its start). */
export class LogCursor {
  private offset: number;
  constructor(private readonly file: string, fromStart = false) {
    this.offset = fromStart ? 0 : logSize(file);
  }

  /** Lines written since the cursor was created (or last reset). */
  lines(): LogLine[] {
    return parseLogLines(readFrom(this.file, this.offset));
  }

  /**
   * Waits until a line matching `pattern` appears; returns all lines so far. The poll only
   * decides when to stop waiting; timings come from the lines' own timestamps.
   */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<LogLine[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.lines();
      if (lines.some((l) => pattern.test(l.message))) return lines;
      if (Date.now() > deadline) throw new Error(`no log line matching ${pattern} within ${Math.round(timeoutMs / 1000)} s in ${this.file}`);
      await sleep(20);
    }
  }
}

export interface SaveTimeline {
  /** "Background saving started by pid N" (parent). */
  startedAt: number;
  /** "DB saved on disk" (child): the child's work is done. */
  savedAt: number | null;
  /** "Background saving terminated with success" (parent, after reaping). */
  terminatedAt: number | null;
  ok: boolean;
  /** "Fork CoW for RDB: current X MB, peak Y MB, average Z MB" (child), in MB. */
  cowPeakMb: number | null;
  errorLine: string | null;
}

export function bgsaveTimeline(lines: LogLine[]): SaveTimeline | null {
  const start = lines.find((l) => /^Background saving started by pid \d+/.test(l.message));
  if (!start) return null;
  const childPid = Number(/pid (\d+)/.exec(start.message)?.[1]);
  const saved = lines.find((l) => l.message === 'DB saved on disk' && (l.pid === childPid || l.role === 'C'));
  const terminated = lines.find((l) => l.message.startsWith('Background saving terminated with success'));
  const error = lines.find((l) => l.message.startsWith('Background saving error') || l.message.startsWith('Failed opening')
    || l.message.startsWith('Write error'));
  const cow = lines.find((l) => l.message.startsWith('Fork CoW for RDB'));
  const peak = cow ? /peak (\d+(?:\.\d+)?) MB/.exec(cow.message)?.[1] : undefined;
  return {
    startedAt: start.time,
    savedAt: saved?.time ?? null,
    terminatedAt: terminated?.time ?? null,
    ok: terminated !== undefined,
    cowPeakMb: peak !== undefined ? Number(peak) : null,
    errorLine: error?.message ?? null,
  };
}

/** "DB loaded from disk: 1.234 seconds" -> 1.234. */
export function loadSeconds(lines: LogLine[]): number | null {
  for (const l of lines) {
    const m = /^DB loaded from disk: (\d+(?:\.\d+)?) seconds/.exec(l.message);
    if (m) return Number(m[1]);
  }
  return null;
}

/** "Done loading RDB, keys loaded: N, keys expired: M." -> N. */
export function keysLoaded(lines: LogLine[]): number | null {
  for (const l of lines) {
    const m = /keys loaded: (\d+)/.exec(l.message);
    if (m) return Number(m[1]);
  }
  return null;
}

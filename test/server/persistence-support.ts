// Shared by the persistence tests: INFO persistence as a map, waiting on the server's state,
// and redis-check-rdb on a file.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { formatReply, RawConnection, type Reply } from '../helpers/resp';
import type { RunningServer } from '../helpers/servers';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The text of a bulk or simple reply; anything else fails the test with the reply shown. */
export function text(reply: Reply): string {
  if (reply.t === 'bulk' && reply.v !== null) return reply.v.toString('utf8');
  if (reply.t === 'simple' || reply.t === 'error') return reply.v;
  if (reply.t === 'verbatim') return reply.v.toString('utf8');
  throw new Error(`expected a string reply, got ${formatReply(reply)}`);
}

/** A reply as the line redis-cli would show: "+OK", "-ERR ...", ":1", or the bulk text. */
export function show(reply: Reply): string {
  switch (reply.t) {
    case 'simple':
      return `+${reply.v}`;
    case 'error':
      return `-${reply.v}`;
    case 'int':
      return `:${reply.v}`;
    default:
      return text(reply);
  }
}

export async function infoSection(conn: RawConnection, section = 'persistence'): Promise<Map<string, string>> {
  return infoFields(await conn.send('INFO', section));
}

/** An INFO reply's fields as a map. */
export function infoFields(reply: Reply): Map<string, string> {
  const body = text(reply);
  const fields = new Map<string, string>();
  for (const line of body.split('\r\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** Field names of INFO <section>, in order. */
export async function infoNames(conn: RawConnection, section = 'persistence'): Promise<string[]> {
  return [...(await infoSection(conn, section)).keys()];
}

/** Polls `probe` every 20 ms until it returns something other than null/false. */
export async function waitFor<T>(probe: () => Promise<T | null | false> | T | null | false, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Waits until no RDB save runs and returns INFO persistence then. */
export async function waitSaveEnded(conn: RawConnection, timeoutMs = 30_000): Promise<Map<string, string>> {
  return waitFor(async () => {
    const info = await infoSection(conn);
    return info.get('rdb_bgsave_in_progress') === '0' ? info : null;
  }, 'the background save to end', timeoutMs);
}

/** Waits for `pattern` in the server's output (its log goes to stdout). */
export function waitForLog(server: RunningServer, pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  return waitFor(() => server.output().match(pattern) ?? null, `log line ${pattern}`, timeoutMs);
}

/** redis-check-rdb's verdict on `file`. */
export function checkRdb(file: string): { ok: boolean; output: string } {
  const r = spawnSync('redis-check-rdb', [file], { encoding: 'utf8' });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`;
  return { ok: r.status === 0 && output.includes('RDB looks OK'), output };
}

export function tempFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => /^temp-\d+\.rdb$/.test(f));
}

export function dumpPath(server: RunningServer): string {
  return path.join(server.dir, 'dump.rdb');
}

/** True when `pid` is a live process (signal 0 probes without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// The AOF writer's rules on a real file, with the clock and a slow background fsync simulated:
// everysec postpones a write for up to 2 s while an fsync runs, then writes anyway with Redis's
// log line; always fsyncs in place; a write error keeps the buffer, MISCONF until a write works.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config';
import { Logger } from '../../src/log';
import { AofWriter } from '../../src/persistence/aof-writer';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-aof-writer-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.useRealTimers());

function writer(policy: string, extra: string[] = [], childRunning = false): { w: AofWriter; file: string; lines: string[]; events: string[] } {
  const config = loadConfig(['--appendfsync', policy, ...extra]);
  const lines: string[] = [];
  const log = new Logger();
  log.write = (line: string) => void lines.push(line);
  // Every event offered to the latency monitor, whatever its duration.
  const events: string[] = [];
  const w = new AofWriter(config, log, () => childRunning, { addSampleIfNeeded: (event) => void events.push(event) });
  const file = path.join(dir, `${policy}-${Math.random().toString(36).slice(2)}.aof`);
  w.fd = fs.openSync(file, 'a');
  return { w, file, lines, events };
}

describe('AofWriter', () => {
  it('offers each write to the latency monitor as aof-write and as alone / active-child / pending-fsync, and always\'s fsync as aof-fsync-always', async () => {
    const alone = writer('everysec');
    alone.w.append(Buffer.from('*1\r\n$4\r\nPING\r\n'));
    alone.w.flush(true);
    expect(alone.events).toEqual(['aof-write-alone', 'aof-write']);
    const withChild = writer('no', [], true);
    withChild.w.append(Buffer.from('x'));
    withChild.w.flush(false);
    expect(withChild.events).toEqual(['aof-write-active-child', 'aof-write']);
    const always = writer('always');
    always.w.append(Buffer.from('x'));
    always.w.flush(false);
    expect(always.events).toEqual(['aof-write-alone', 'aof-write', 'aof-fsync-always']);
    // everysec behind a background fsync still running: forced, the write says so.
    const pending = writer('everysec');
    pending.w.pendingFsyncs = 1;
    pending.w.append(Buffer.from('x'));
    pending.w.flush(true);
    expect(pending.events).toEqual(['aof-write-pending-fsync', 'aof-write']);
  });

  it('everysec: a write waits up to 2 s for a running fsync, then goes ahead and says so', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-05T10:00:00Z'));
    const { w, file, lines } = writer('everysec');
    w.pendingFsyncs = 1; // a background fsync that does not finish
    w.append(Buffer.from('*1\r\n$4\r\nPING\r\n'));
    w.flush(false);
    expect(fs.statSync(file).size).toBe(0);
    vi.setSystemTime(new Date('2026-12-05T10:00:01Z'));
    w.flush(false);
    expect(fs.statSync(file).size).toBe(0);
    vi.setSystemTime(new Date('2026-12-05T10:00:02Z'));
    w.flush(false);
    expect(fs.statSync(file).size).toBe(14);
    expect(w.delayedFsync).toBe(1);
    expect(lines.join('')).toMatch(/\* Asynchronous AOF fsync is taking too long \(disk is busy\?\)\. Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis\.\n$/);
    // A forced flush (a rewrite starting, a shutdown) never waits.
    w.append(Buffer.from('x'));
    w.flush(true);
    expect(fs.statSync(file).size).toBe(15);
  });

  it('always: written and fsynced by the flush itself; the buffer is empty after', () => {
    const { w, file } = writer('always');
    w.append(Buffer.from('abc'));
    w.flush(false);
    expect(fs.readFileSync(file, 'latin1')).toBe('abc');
    expect(w.bufLen).toBe(0);
    expect(w.fsyncOffset).toBe(3);
  });

  it('no-appendfsync-on-rewrite yes: written but not fsynced while a child runs', () => {
    const { w, file } = writer('always', ['--no-appendfsync-on-rewrite', 'yes'], true);
    w.append(Buffer.from('abc'));
    w.flush(false);
    expect(fs.readFileSync(file, 'latin1')).toBe('abc');
    expect(w.fsyncOffset).toBe(0);
    const plain = writer('always', ['--no-appendfsync-on-rewrite', 'no'], true).w;
    plain.append(Buffer.from('abc'));
    plain.flush(false);
    expect(plain.fsyncOffset).toBe(3);
  });

  it('a failed write keeps the buffer and refuses writes until a write succeeds', () => {
    const { w, lines } = writer('everysec');
    const good = w.fd;
    w.fd = fs.openSync('/dev/full', 'w');
    w.append(Buffer.from('lost? no'));
    w.flush(false);
    expect(w.writeError()).toBe('MISCONF Errors writing to the AOF file: No space left on device');
    expect(w.bufLen).toBe(8);
    expect(lines.join('')).toMatch(/# Error writing to the AOF file: No space left on device\n/);
    fs.closeSync(w.fd);
    w.fd = good;
    w.flush(false);
    expect(w.writeError()).toBeNull();
    expect(lines.join('')).toMatch(/# AOF write error looks solved, Redis can write again\.\n$/);
  });
});

// Propagation through the real addon, without a server: native commands run as the dispatcher
// runs them, and two consumers (an AOF-like one and a replication-like one) receive what
// Redis 7.0 would write for them. The same streams are compared with a real redis-server's AOF
// in test/server/aof-propagation.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import { makeRequest } from '../../src/commands/types';
import { execNative, native } from '../../src/native';
import { parseAofCommands } from '../server/aof-support';
import { Propagation, PROPAGATE_AOF, PROPAGATE_ALL, PROPAGATE_REPL, type PropagationConsumer } from '../../src/propagate';

let names: string[];
const out = Buffer.alloc(1 << 16);

function run(db: number, ...args: string[]): string {
  const index = names.indexOf(args[0].toLowerCase());
  if (index < 0) throw new Error(`no native ${args[0]}`);
  const n = execNative(index, db, makeRequest(args), out, 0, 0, 1);
  return out.latin1Slice(0, Math.max(0, n));
}

/** The commands a consumer received, as words. */
function commands(bytes: Buffer[]): string[] {
  return parseAofCommands(Buffer.concat(bytes)).map((argv) => argv.join(' '));
}

function collector(p: Propagation, target: number): { consumer: PropagationConsumer; got: Buffer[] } {
  const got: Buffer[] = [];
  const consumer = p.subscribe(target, { write: (data, start, end) => got.push(Buffer.from(data.subarray(start, end))) });
  return { consumer, got };
}

beforeAll(() => {
  native.init(16);
  names = native.commandNames();
});

describe('propagation through the addon', () => {
  it('records nothing while nobody is subscribed', () => {
    const p = new Propagation();
    run(0, 'SET', 'k', 'v');
    expect(p.waiting).toBe(false);
    const { got } = collector(p, PROPAGATE_ALL);
    p.drain();
    expect(got).toEqual([]);
  });

  it('gives each consumer its own SELECTs and targets', () => {
    const p = new Propagation();
    const aof = collector(p, PROPAGATE_AOF);
    const repl = collector(p, PROPAGATE_REPL);
    run(0, 'SET', 'a', '1');
    run(0, 'GET', 'a');
    run(3, 'SET', 'b', '2');
    expect(p.waiting).toBe(true);
    p.drain();
    expect(p.waiting).toBe(false);
    aof.consumer.resetSelectedDb();
    p.propagate(3, ['PUBLISH', 'ch', 'hello'], PROPAGATE_REPL);
    run(3, 'DEL', 'b');
    p.drain();
    expect(commands(aof.got)).toEqual(['SELECT 0', 'SET a 1', 'SELECT 3', 'SET b 2', 'SELECT 3', 'DEL b']);
    expect(commands(repl.got)).toEqual(['SELECT 0', 'SET a 1', 'SELECT 3', 'SET b 2', 'PUBLISH ch hello', 'DEL b']);
    aof.consumer.unsubscribe();
    repl.consumer.unsubscribe();
    expect(p.active).toBe(false);
  });

  it('wraps an execution unit of several commands in MULTI/EXEC, and not a unit of one', () => {
    const p = new Propagation();
    const aof = collector(p, PROPAGATE_AOF);
    p.enter();
    run(0, 'SET', 'x', '1');
    run(0, 'GET', 'x');
    p.leave();
    p.enter();
    run(0, 'SET', 'x', '2');
    run(1, 'SET', 'y', '3');
    p.leave();
    p.enter();
    run(0, 'GET', 'x');
    p.leave();
    p.drain();
    expect(commands(aof.got)).toEqual(['SELECT 0', 'SET x 1', 'MULTI', 'SET x 2', 'SELECT 1', 'SET y 3', 'EXEC']);
    aof.consumer.unsubscribe();
  });

  it('rewrites relative times and non-deterministic commands', () => {
    const p = new Propagation();
    const aof = collector(p, PROPAGATE_AOF);
    const before = Date.now();
    run(0, 'SET', 'k', 'v', 'EX', '100');
    run(0, 'INCRBYFLOAT', 'f', '1.5');
    run(0, 'SADD', 's', 'only');
    run(0, 'SPOP', 's');
    run(0, 'GETDEL', 'k');
    run(0, 'GETDEL', 'k');
    p.drain();
    const got = commands(aof.got);
    expect(got[0]).toBe('SELECT 0');
    const [, at] = got[1].match(/^SET k v PXAT (\d+)$/) ?? [];
    expect(Number(at)).toBeGreaterThanOrEqual(before + 100_000);
    expect(Number(at)).toBeLessThanOrEqual(Date.now() + 100_000);
    expect(got.slice(2)).toEqual(['SET f 1.5 KEEPTTL', 'SADD s only', 'SREM s only', 'DEL k']);
    aof.consumer.unsubscribe();
  });
});

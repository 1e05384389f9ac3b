import { describe, expect, it } from 'vitest';
import { Parse, RequestParser, splitArgs } from '../../src/protocol/parse';

function args(p: RequestParser): string[] {
  const out: string[] = [];
  for (let i = 0; i < p.argc; i++) out.push(p.input.toString('latin1', p.offsets[2 * i], p.offsets[2 * i + 1]));
  return out;
}

function parseAll(chunks: (string | Buffer)[], maxBulk = 512 * 1024 * 1024): (string[] | string)[] {
  const p = new RequestParser(() => maxBulk);
  const seen: (string[] | string)[] = [];
  // As the server does: every read lands in one reused buffer, longer than the read and full of
  // stale bytes past it, and is released (the tail copied out) before the next read overwrites it.
  const readBuffer = Buffer.alloc(64 * 1024, '\r\n*1\r\n$1\r\n');
  for (const c of chunks) {
    const chunk = typeof c === 'string' ? Buffer.from(c, 'latin1') : c;
    const into = chunk.length <= readBuffer.length ? readBuffer : Buffer.alloc(chunk.length + 16, 0x0d);
    chunk.copy(into);
    p.feed(into, chunk.length);
    for (;;) {
      const r = p.next();
      if (r === Parse.Command) seen.push(args(p));
      else if (r === Parse.Error) { seen.push(p.error); return seen; }
      else if (r === Parse.Incomplete) break;
    }
    p.release();
    into.fill('\r\n*1\r\n$1\r\n');
  }
  return seen;
}

describe('multibulk requests', () => {
  it('parses pipelined commands', () => {
    expect(parseAll(['*2\r\n$3\r\nGET\r\n$1\r\na\r\n*1\r\n$4\r\nPING\r\n'])).toEqual([['GET', 'a'], ['PING']]);
  });

  it('reassembles commands split at every byte', () => {
    const wire = '*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n';
    expect(parseAll(wire.split(''))).toEqual([['SET', 'key', 'va\r\nl']]);
  });

  it('keeps a large value fed in many reads of a reused buffer', () => {
    const value = Buffer.alloc(300_000, 'v');
    const wire = Buffer.concat([Buffer.from(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n`), value, Buffer.from('\r\n*1\r\n$4\r\nPING\r\n')]);
    const reads: Buffer[] = [];
    for (let at = 0; at < wire.length; at += 10_000) reads.push(wire.subarray(at, at + 10_000));
    const seen = parseAll(reads);
    expect(seen.length).toBe(2);
    expect((seen[0] as string[])[2]).toBe(value.toString('latin1'));
    expect(seen[1]).toEqual(['PING']);
  });

  it('keeps binary data intact', () => {
    const value = Buffer.from([0, 255, 13, 10, 42]);
    const p = new RequestParser(() => 1 << 20);
    p.feed(Buffer.concat([Buffer.from('*2\r\n$3\r\nGET\r\n$5\r\n'), value, Buffer.from('\r\n')]));
    expect(p.next()).toBe(Parse.Command);
    expect(p.input.subarray(p.offsets[2], p.offsets[3])).toEqual(value);
  });

  it('skips empty multibulks', () => {
    expect(parseAll(['*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n'])).toEqual([['PING']]);
  });

  it.each([
    ['*abc\r\n', "ERR Protocol error: invalid multibulk length"],
    ['*2147483648\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*1\r\n+foo\r\n', "ERR Protocol error: expected '$', got '+'"],
    ['*1\r\n$-5\r\n', 'ERR Protocol error: invalid bulk length'],
    ['*1\r\n$x\r\n', 'ERR Protocol error: invalid bulk length'],
    ['*1\r\n$04\r\nPING\r\n', 'ERR Protocol error: invalid bulk length'],
    ['*01\r\n$4\r\nPING\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*1\r\n$+4\r\nPING\r\n', 'ERR Protocol error: invalid bulk length'],
  ])('rejects %j', (wire, error) => {
    expect(parseAll([wire]).at(-1)).toBe(error);
  });

  it('rejects bulks above proto-max-bulk-len', () => {
    expect(parseAll(['*1\r\n$100\r\n'], 10).at(-1)).toBe('ERR Protocol error: invalid bulk length');
  });

  it('rejects a count line that never ends', () => {
    expect(parseAll(['*' + '1'.repeat(70000)]).at(-1)).toBe('ERR Protocol error: too big mbulk count string');
  });
});

describe('inline requests', () => {
  it('splits on spaces and honours quotes', () => {
    expect(parseAll(['set "a b" \'c d\'\r\nping\n'])).toEqual([['set', 'a b', 'c d'], ['ping']]);
  });

  it('splits plain lines on any run of spaces, tabs, vertical tabs and form feeds, as sdssplitargs', () => {
    expect(parseAll(['  SET\tk \x0b\x0c v  \r\nPING\r\n\r\n   \r\nGET k\n'])).toEqual([['SET', 'k', 'v'], ['PING'], ['GET', 'k']]);
  });

  it('rejects unbalanced quotes', () => {
    expect(parseAll(['set "a b\r\n']).at(-1)).toBe('ERR Protocol error: unbalanced quotes in request');
  });

  it('rejects an endless inline line', () => {
    expect(parseAll(['x'.repeat(70 * 1024)]).at(-1)).toBe('ERR Protocol error: too big inline request');
  });

  it('skips blank lines', () => {
    expect(parseAll(['\r\n\r\nping\r\n'])).toEqual([['ping']]);
  });
});

describe('the query buffer as CLIENT LIST shows it (qbuf, qbuf-free, argv-mem)', () => {
  it('counts a read\'s commands until it is released, then only what is left', () => {
    const p = new RequestParser(() => 512 * 1024 * 1024);
    const read = Buffer.from('*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET');
    p.feed(read);
    expect(p.next()).toBe(Parse.Command);
    // Redis trims its query buffer once the whole read is processed.
    expect(p.length()).toBe(read.length);
    expect(p.next()).toBe(Parse.Incomplete);
    p.release();
    expect(p.length()).toBe(read.length - 14);
    expect(p.length() + p.free()).toBe(p.allocated());
  });

  it('holds an unfinished request\'s complete arguments, and sizes its Buffer for all of it', () => {
    const p = new RequestParser(() => 512 * 1024 * 1024);
    p.feed(Buffer.from('*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$100000\r\nabc'));
    expect(p.next()).toBe(Parse.Incomplete);
    expect(p.partialArgv()).toEqual({ argc: 2, bytes: 6 });
    p.release();
    expect(p.length() + p.free()).toBeGreaterThanOrEqual(100_000);
    p.feed(Buffer.concat([Buffer.alloc(100_000 - 3, 'x'), Buffer.from('\r\n')]));
    expect(p.next()).toBe(Parse.Command);
    expect(p.next()).toBe(Parse.Incomplete);
    expect(p.partialArgv()).toEqual({ argc: 0, bytes: 0 });
    p.release();
    expect(p.length()).toBe(0);
  });
});

describe('splitArgs (sdssplitargs)', () => {
  const split = (s: string) => splitArgs(Buffer.from(s, 'latin1'))?.map((b) => b.toString('latin1')) ?? null;
  it('decodes escapes in double quotes', () => {
    expect(split('"a\\nb" "\\x41\\x4a" "q\\"q"')).toEqual(['a\nb', 'AJ', 'q"q']);
  });
  it('only unescapes \\\' in single quotes', () => {
    expect(split("'a\\'b' 'c\\nd'")).toEqual(["a'b", 'c\\nd']);
  });
  it('requires a space after a closing quote', () => {
    expect(split('"a"b')).toBeNull();
  });
  it('returns no arguments for a blank line', () => {
    expect(split('   ')).toEqual([]);
  });
});

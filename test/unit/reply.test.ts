import { describe, expect, it } from 'vitest';
import { formatDouble, ReplyWriter } from '../../src/protocol/reply';

function encode(resp3: boolean, f: (w: ReplyWriter) => void): string {
  const w = new ReplyWriter(4);
  w.resp3 = resp3;
  f(w);
  return w.take().toString('latin1');
}

describe('ReplyWriter', () => {
  it('encodes the RESP2 types', () => {
    expect(encode(false, (w) => { w.ok(); w.int(-3); w.bulk('hé'); w.null(); w.nullArray(); w.error('ERR x\r\ny'); })).toBe(
      '+OK\r\n:-3\r\n$3\r\nhé\r\n$-1\r\n*-1\r\n-ERR x  y\r\n'.replace('hé', Buffer.from('hé').toString('latin1')),
    );
  });

  it('encodes maps, sets, doubles and booleans per protocol', () => {
    expect(encode(false, (w) => { w.map(1); w.set(2); w.double(1.5); w.boolean(true); })).toBe('*2\r\n*2\r\n$3\r\n1.5\r\n:1\r\n');
    expect(encode(true, (w) => { w.map(1); w.set(2); w.double(1.5); w.boolean(true); w.null(); })).toBe('%1\r\n~2\r\n,1.5\r\n#t\r\n_\r\n');
  });

  it('grows past its initial size', () => {
    const big = Buffer.alloc(100_000, 7);
    const out = encode(false, (w) => w.bulk(big));
    expect(out.length).toBe(100_000 + '$100000\r\n'.length + 2);
  });
});

describe('formatDouble (%.17g)', () => {
  it.each([
    [1.5, '1.5'],
    [0.1, '0.10000000000000001'],
    [1e20, '1e+20'],
    [1e-5, '1.0000000000000001e-05'],
    [123456789, '123456789'],
    [-3, '-3'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
    [1e16, '10000000000000000'],
    [1e17, '1e+17'],
  ])('%d -> %s', (d, s) => {
    expect(formatDouble(d)).toBe(s);
  });
});

import { describe, expect, it } from 'vitest';
import { formatReply, parseAll, Resp3Parser, RespProtocolError, type Reply } from '../helpers/resp3';

const one = (wire: string): Reply => {
  const replies = parseAll(wire);
  expect(replies).toHaveLength(1);
  return replies[0];
};
const bulk = (s: string): Reply => ({ t: 'bulk', v: Buffer.from(s, 'latin1') });

describe('RESP2 types', () => {
  it('keeps simple strings, errors and bulk strings apart', () => {
    expect(one('+OK\r\n')).toEqual({ t: 'simple', v: 'OK' });
    expect(one('$2\r\nOK\r\n')).toEqual(bulk('OK'));
    expect(one('-ERR unknown command\r\n')).toEqual({ t: 'error', v: 'ERR unknown command' });
  });

  it('reads integers, falling back to bigint beyond the safe range', () => {
    expect(one(':0\r\n')).toEqual({ t: 'int', v: 0 });
    expect(one(':-42\r\n')).toEqual({ t: 'int', v: -42 });
    expect(one(':9223372036854775807\r\n')).toEqual({ t: 'int', v: 9223372036854775807n });
    expect(one(':-9223372036854775808\r\n')).toEqual({ t: 'int', v: -9223372036854775808n });
  });

  it('reads binary bulk strings by length, CRLF and NUL inside included', () => {
    expect(one('$6\r\na\r\nb\0c\r\n')).toEqual(bulk('a\r\nb\0c'));
    expect(one('$0\r\n\r\n')).toEqual(bulk(''));
    expect(one('$2\r\n\xff\xfe\r\n')).toEqual({ t: 'bulk', v: Buffer.from([0xff, 0xfe]) });
  });

  it('distinguishes the RESP2 nulls from empty values and from RESP3 null', () => {
    expect(one('$-1\r\n')).toEqual({ t: 'bulk', v: null });
    expect(one('*-1\r\n')).toEqual({ t: 'array', v: null });
    expect(one('*0\r\n')).toEqual({ t: 'array', v: [] });
    expect(one('_\r\n')).toEqual({ t: 'null' });
  });

  it('reads nested arrays', () => {
    expect(one('*3\r\n:1\r\n*2\r\n+a\r\n$-1\r\n$1\r\nb\r\n')).toEqual({
      t: 'array',
      v: [{ t: 'int', v: 1 }, { t: 'array', v: [{ t: 'simple', v: 'a' }, { t: 'bulk', v: null }] }, bulk('b')],
    });
  });
});

describe('RESP3 types', () => {
  it('keeps the text of doubles exactly', () => {
    for (const text of ['3.141', '1', '-0.5', 'inf', '-inf', 'nan', '1.5e+300', '1E-5']) {
      expect(one(`,${text}\r\n`)).toEqual({ t: 'double', v: text });
    }
  });

  it('reads booleans, big numbers and verbatim strings', () => {
    expect(one('#t\r\n')).toEqual({ t: 'bool', v: true });
    expect(one('#f\r\n')).toEqual({ t: 'bool', v: false });
    expect(one('(1234567999999999999999999999999999999\r\n')).toEqual({ t: 'bignum', v: 1234567999999999999999999999999999999n });
    expect(one('=29\r\ntxt:This is a verbatim\nstring\r\n')).toEqual({
      t: 'verbatim', format: 'txt', v: Buffer.from('This is a verbatim\nstring'),
    });
    expect(one('!21\r\nSYNTAX invalid syntax\r\n')).toEqual({ t: 'blob_error', v: 'SYNTAX invalid syntax' });
  });

  it('reads maps as ordered pairs, sets and pushes', () => {
    expect(one('%2\r\n:0\r\n#f\r\n$1\r\nk\r\n~2\r\n:1\r\n:1\r\n')).toEqual({
      t: 'map',
      v: [
        [{ t: 'int', v: 0 }, { t: 'bool', v: false }],
        [bulk('k'), { t: 'set', v: [{ t: 'int', v: 1 }, { t: 'int', v: 1 }] }],
      ],
    });
    expect(one('>2\r\n$7\r\nmessage\r\n:42\r\n')).toEqual({ t: 'push', v: [bulk('message'), { t: 'int', v: 42 }] });
  });

  it('attaches an attribute to the reply that follows it', () => {
    const wire = '|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n$4\r\nreal\r\n';
    expect(one(wire)).toEqual({
      t: 'attr',
      attrs: [[bulk('key-popularity'), { t: 'array', v: [bulk('key:123'), { t: 'int', v: 90 }] }]],
      v: bulk('real'),
    });
  });
});

describe('incremental parsing', () => {
  const wire = '*2\r\n$5\r\nhello\r\n%1\r\n+a\r\n,1.5\r\n:7\r\n|1\r\n+x\r\n+y\r\n_\r\n';

  it('gives the same replies when fed one byte at a time', () => {
    const parser = new Resp3Parser();
    const got: Reply[] = [];
    for (const byte of Buffer.from(wire)) {
      parser.feed(Buffer.from([byte]));
      for (let r = parser.next(); r !== undefined; r = parser.next()) got.push(r);
    }
    expect(got).toEqual(parseAll(wire));
    expect(got.map((r) => r.t)).toEqual(['array', 'int', 'attr']);
    expect(parser.pending()).toHaveLength(0);
  });

  it('assembles a large bulk string from many chunks', () => {
    const payload = Buffer.alloc(8 * 1024 * 1024 + 3, 'x');
    const wire = Buffer.concat([Buffer.from(`*2\r\n$${payload.length}\r\n`), payload, Buffer.from('\r\n:1\r\n')]);
    const parser = new Resp3Parser();
    for (let i = 0; i < wire.length; i += 65536) {
      expect(parser.next()).toBeUndefined();
      parser.feed(wire.subarray(i, i + 65536));
    }
    const reply = parser.next();
    expect(reply?.t).toBe('array');
    const items = (reply as { v: Reply[] }).v;
    // Buffer.equals: toEqual walks a Buffer byte by byte and takes minutes at this size.
    expect(items[0].t).toBe('bulk');
    expect((items[0] as { v: Buffer }).v.equals(payload)).toBe(true);
    expect(items[1]).toEqual({ t: 'int', v: 1 });
  });

  it('waits for the rest of a bulk string and its CRLF', () => {
    const parser = new Resp3Parser();
    parser.feed(Buffer.from('$5\r\nhel'));
    expect(parser.next()).toBeUndefined();
    parser.feed(Buffer.from('lo\r'));
    expect(parser.next()).toBeUndefined();
    parser.feed(Buffer.from('\n+next\r\n'));
    expect(parser.next()).toEqual(bulk('hello'));
    expect(parser.next()).toEqual({ t: 'simple', v: 'next' });
    expect(parser.next()).toBeUndefined();
  });
});

describe('malformed replies', () => {
  it.each([
    ['unknown type byte', '?x\r\n'],
    ['bulk without CRLF after its payload', '$2\r\nabcd\r\n'],
    ['non-numeric integer', ':12a\r\n'],
    ['bad boolean', '#x\r\n'],
    ['bad double', ',1.2.3\r\n'],
    ['null with payload', '_x\r\n'],
    ['negative map length', '%-1\r\n'],
    ['streamed string', '$?\r\n;4\r\nabcd\r\n;0\r\n'],
    ['verbatim without format', '=3\r\nabc\r\n'],
    ['bare LF line ending', '+OK\n'],
  ])('rejects %s', (_name, wire) => {
    expect(() => parseAll(wire)).toThrow(RespProtocolError);
  });

  it('reports a truncated final reply', () => {
    expect(() => parseAll('+OK\r\n*2\r\n:1\r\n')).toThrow(/incomplete reply/);
  });
});

describe('formatReply (redis-cli style)', () => {
  it('renders scalars', () => {
    expect(formatReply({ t: 'simple', v: 'OK' })).toBe('OK');
    expect(formatReply({ t: 'error', v: 'ERR x' })).toBe('(error) ERR x');
    expect(formatReply({ t: 'int', v: 5 })).toBe('(integer) 5');
    expect(formatReply({ t: 'bulk', v: null })).toBe('(nil)');
    expect(formatReply({ t: 'null' })).toBe('(nil)');
    expect(formatReply(bulk('a"b\\\n\x01'))).toBe('"a\\"b\\\\\\n\\x01"');
    expect(formatReply({ t: 'double', v: '1.5' })).toBe('(double) 1.5');
    expect(formatReply({ t: 'bool', v: true })).toBe('(true)');
  });

  it('renders nested aggregates with aligned indices', () => {
    const items: Reply[] = Array.from({ length: 10 }, (_, i) => ({ t: 'int', v: i }));
    items[1] = { t: 'array', v: [bulk('a'), bulk('b')] };
    expect(formatReply({ t: 'array', v: items }).split('\n').slice(0, 4)).toEqual([
      ' 1) (integer) 0',
      ' 2) 1) "a"',
      '    2) "b"',
      ' 3) (integer) 2',
    ]);
    expect(formatReply({ t: 'array', v: [] })).toBe('(empty array)');
    expect(formatReply({ t: 'map', v: [[bulk('k'), { t: 'int', v: 1 }]] })).toBe('1# "k" => (integer) 1');
  });
});

// A small, exact RESP2/RESP3 reply parser for tests.
//
// Why not redis-parser: it reports a status reply (+OK) and a bulk string ($2 OK) as the same JS
// value, turns errors into exceptions and rounds integers beyond 2^53, so two replies that differ on
// the wire could compare equal. Here every wire type keeps its own tag, which is what exact-reply and
// differential tests need. RESP2 is a subset of RESP3, so one parser serves both protocols; the RESP2
// nulls ($-1, *-1) keep their own tags, distinct from RESP3's `_`.

export type Reply =
  | { t: 'simple'; v: string }
  | { t: 'error'; v: string }
  | { t: 'blob_error'; v: string }
  | { t: 'int'; v: number | bigint } // bigint only outside Number's safe integer range
  | { t: 'bulk'; v: Buffer | null } // null: RESP2 null bulk string ($-1)
  | { t: 'array'; v: Reply[] | null } // null: RESP2 null array (*-1)
  | { t: 'null' } // RESP3 `_`
  | { t: 'double'; v: string } // the text as sent (`1.5`, `inf`, `-nan`): exact, unlike a number
  | { t: 'bool'; v: boolean }
  | { t: 'bignum'; v: bigint }
  | { t: 'verbatim'; format: string; v: Buffer }
  | { t: 'map'; v: Array<[Reply, Reply]> }
  | { t: 'set'; v: Reply[] }
  | { t: 'push'; v: Reply[] }
  | { t: 'attr'; attrs: Array<[Reply, Reply]>; v: Reply }; // attribute + the reply it annotates

/** Thrown for bytes that are not a valid reply; the buffer cannot be resynchronised after it. */
export class RespProtocolError extends Error {}

const CR = 13;
const LF = 10;

/** Marker for "need more bytes" (distinct from any reply). */
const INCOMPLETE = Symbol('incomplete');
/** Set with every INCOMPLETE: the buffer length at which parsing can make progress again. */
let bytesNeeded = 0;
type Step = { reply: Reply; end: number } | typeof INCOMPLETE;

/**
 * Incremental parser: feed() bytes as they arrive, then take complete replies with next().
 * Replies are returned in wire order, push messages included.
 */
export class Resp3Parser {
  private chunks: Buffer[] = [];
  private total = 0;
  /** Buffered length below which no reply can complete (so a large bulk is not re-parsed per chunk). */
  private needed = 0;

  feed(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** The next complete reply, or undefined when more bytes are needed. */
  next(): Reply | undefined {
    if (this.total === 0 || this.total < this.needed) return undefined;
    const buf = this.pending();
    const step = parseAt(buf, 0);
    if (step === INCOMPLETE) {
      this.needed = bytesNeeded;
      return undefined;
    }
    const rest = buf.subarray(step.end);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.total = rest.length;
    this.needed = 0;
    return step.reply;
  }

  /** Bytes received but not yet part of a complete reply. */
  pending(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }
}

/** Parses every reply in a complete byte string; throws if bytes are left over. */
export function parseAll(bytes: Buffer | string): Reply[] {
  const parser = new Resp3Parser();
  parser.feed(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  const out: Reply[] = [];
  for (let r = parser.next(); r !== undefined; r = parser.next()) out.push(r);
  if (parser.pending().length > 0) {
    throw new RespProtocolError(`incomplete reply at end of input: ${JSON.stringify(parser.pending().toString('latin1'))}`);
  }
  return out;
}

function readLine(buf: Buffer, start: number): { text: string; end: number } | typeof INCOMPLETE {
  for (let i = start; i < buf.length; i++) {
    if (buf[i] === LF) throw new RespProtocolError(`bare LF in reply line at offset ${i}`);
    if (buf[i] === CR) {
      if (i + 1 === buf.length) return needMore(buf.length + 1);
      if (buf[i + 1] !== LF) throw new RespProtocolError(`CR not followed by LF at offset ${i}`);
      return { text: buf.toString('latin1', start, i), end: i + 2 };
    }
  }
  return needMore(buf.length + 1);
}

function needMore(length: number): typeof INCOMPLETE {
  bytesNeeded = length;
  return INCOMPLETE;
}

function parseInteger(text: string, what: string): number | bigint {
  if (!/^[-+]?\d+$/.test(text)) throw new RespProtocolError(`invalid ${what}: ${JSON.stringify(text)}`);
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

function parseLength(text: string, what: string): number {
  const n = parseInteger(text, what);
  if (typeof n === 'bigint' || n < -1) throw new RespProtocolError(`invalid ${what}: ${JSON.stringify(text)}`);
  return n;
}

/** Reads `len` bytes of payload followed by CRLF. */
function readBlob(buf: Buffer, start: number, len: number): { data: Buffer; end: number } | typeof INCOMPLETE {
  if (buf.length < start + len + 2) return needMore(start + len + 2);
  if (buf[start + len] !== CR || buf[start + len + 1] !== LF) {
    throw new RespProtocolError(`blob of length ${len} at offset ${start} is not followed by CRLF`);
  }
  return { data: Buffer.from(buf.subarray(start, start + len)), end: start + len + 2 };
}

function parseAggregate(buf: Buffer, start: number, count: number): { items: Reply[]; end: number } | typeof INCOMPLETE {
  const items: Reply[] = [];
  let pos = start;
  for (let i = 0; i < count; i++) {
    const step = parseAt(buf, pos);
    if (step === INCOMPLETE) return INCOMPLETE;
    items.push(step.reply);
    pos = step.end;
  }
  return { items, end: pos };
}

function pairsOf(items: Reply[]): Array<[Reply, Reply]> {
  const pairs: Array<[Reply, Reply]> = [];
  for (let i = 0; i < items.length; i += 2) pairs.push([items[i], items[i + 1]]);
  return pairs;
}

function parseAt(buf: Buffer, offset: number): Step {
  const line = readLine(buf, offset + 1);
  if (line === INCOMPLETE) return INCOMPLETE;
  const type = String.fromCharCode(buf[offset]);
  const { text, end } = line;
  switch (type) {
    case '+':
      return { reply: { t: 'simple', v: buf.toString('utf8', offset + 1, end - 2) }, end };
    case '-':
      return { reply: { t: 'error', v: buf.toString('utf8', offset + 1, end - 2) }, end };
    case ':':
      return { reply: { t: 'int', v: parseInteger(text, 'integer') }, end };
    case '_':
      if (text !== '') throw new RespProtocolError(`null with payload ${JSON.stringify(text)}`);
      return { reply: { t: 'null' }, end };
    case ',':
      if (!/^([-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?|[-+]?inf|-?nan)$/.test(text)) {
        throw new RespProtocolError(`invalid double ${JSON.stringify(text)}`);
      }
      return { reply: { t: 'double', v: text }, end };
    case '#':
      if (text !== 't' && text !== 'f') throw new RespProtocolError(`invalid boolean ${JSON.stringify(text)}`);
      return { reply: { t: 'bool', v: text === 't' }, end };
    case '(':
      if (!/^[-+]?\d+$/.test(text)) throw new RespProtocolError(`invalid big number ${JSON.stringify(text)}`);
      return { reply: { t: 'bignum', v: BigInt(text) }, end };
    case '$':
    case '!':
    case '=': {
      if (text === '?') throw new RespProtocolError('streamed strings are not supported (Redis never sends them)');
      const len = parseLength(text, 'blob length');
      if (len === -1) {
        if (type !== '$') throw new RespProtocolError(`negative length for ${type} reply`);
        return { reply: { t: 'bulk', v: null }, end };
      }
      const blob = readBlob(buf, end, len);
      if (blob === INCOMPLETE) return INCOMPLETE;
      if (type === '$') return { reply: { t: 'bulk', v: blob.data }, end: blob.end };
      if (type === '!') return { reply: { t: 'blob_error', v: blob.data.toString('utf8') }, end: blob.end };
      if (len < 4 || blob.data[3] !== 0x3a /* ':' */) throw new RespProtocolError('verbatim string without a 3-byte format prefix');
      return { reply: { t: 'verbatim', format: blob.data.toString('latin1', 0, 3), v: blob.data.subarray(4) }, end: blob.end };
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      if (text === '?') throw new RespProtocolError('streamed aggregates are not supported (Redis never sends them)');
      const count = parseLength(text, 'aggregate length');
      if (count === -1) {
        if (type !== '*') throw new RespProtocolError(`negative length for ${type} reply`);
        return { reply: { t: 'array', v: null }, end };
      }
      const isPairs = type === '%' || type === '|';
      const agg = parseAggregate(buf, end, isPairs ? count * 2 : count);
      if (agg === INCOMPLETE) return INCOMPLETE;
      if (type === '*') return { reply: { t: 'array', v: agg.items }, end: agg.end };
      if (type === '~') return { reply: { t: 'set', v: agg.items }, end: agg.end };
      if (type === '>') return { reply: { t: 'push', v: agg.items }, end: agg.end };
      if (type === '%') return { reply: { t: 'map', v: pairsOf(agg.items) }, end: agg.end };
      // An attribute annotates the reply that follows it; they are one unit for the caller.
      const annotated = parseAt(buf, agg.end);
      if (annotated === INCOMPLETE) return INCOMPLETE;
      return { reply: { t: 'attr', attrs: pairsOf(agg.items), v: annotated.reply }, end: annotated.end };
    }
    default:
      throw new RespProtocolError(`unknown reply type byte 0x${buf[offset].toString(16).padStart(2, '0')} at offset ${offset}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering, for failure messages: close to what redis-cli prints.

/** Quotes like redis-cli (sdscatrepr): printable ASCII as is, the usual escapes, \xHH otherwise. */
export function quoteBytes(bytes: Buffer): string {
  let out = '"';
  for (const b of bytes) {
    switch (b) {
      case 0x5c: out += '\\\\'; break;
      case 0x22: out += '\\"'; break;
      case 0x0a: out += '\\n'; break;
      case 0x0d: out += '\\r'; break;
      case 0x09: out += '\\t'; break;
      case 0x07: out += '\\a'; break;
      case 0x08: out += '\\b'; break;
      default:
        out += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
    }
  }
  return `${out}"`;
}

function formatAggregate(items: string[][], marker: string, emptyText: string): string[] {
  if (items.length === 0) return [emptyText];
  const width = String(items.length).length;
  const lines: string[] = [];
  items.forEach((itemLines, i) => {
    const prefix = `${String(i + 1).padStart(width)}${marker} `;
    itemLines.forEach((l, j) => lines.push(j === 0 ? prefix + l : ' '.repeat(prefix.length) + l));
  });
  return lines;
}

function formatLines(r: Reply): string[] {
  switch (r.t) {
    case 'simple': return [r.v];
    case 'error': return [`(error) ${r.v}`];
    case 'blob_error': return [`(error) ${r.v}`];
    case 'int': return [`(integer) ${r.v}`];
    case 'bulk': return [r.v === null ? '(nil)' : quoteBytes(r.v)];
    case 'null': return ['(nil)'];
    case 'double': return [`(double) ${r.v}`];
    case 'bool': return [r.v ? '(true)' : '(false)'];
    case 'bignum': return [`(big number) ${r.v}`];
    case 'verbatim': return [`(verbatim ${r.format}) ${quoteBytes(r.v)}`];
    case 'array':
      if (r.v === null) return ['(nil)'];
      return formatAggregate(r.v.map(formatLines), ')', '(empty array)');
    case 'set':
      return formatAggregate(r.v.map(formatLines), '~', '(empty set)');
    case 'push':
      return formatAggregate(r.v.map(formatLines), '>', '(empty push)');
    case 'map':
      return formatAggregate(r.v.map(([k, v]) => joinPair(formatLines(k), formatLines(v))), '#', '(empty hash)');
    case 'attr': {
      const attrs = formatAggregate(r.attrs.map(([k, v]) => joinPair(formatLines(k), formatLines(v))), '|', '(empty attributes)');
      return [...attrs, ...formatLines(r.v)];
    }
  }
}

function joinPair(key: string[], value: string[]): string[] {
  const head = `${key[key.length - 1]} => `;
  const first = [...key.slice(0, -1), head + value[0]];
  return [...first, ...value.slice(1).map((l) => ' '.repeat(head.length) + l)];
}

/** An integer reply's value as a number (NaN for any other reply, so that a comparison fails). */
export function replyNumber(r: Reply): number {
  return r.t === 'int' ? Number(r.v) : NaN;
}

/** Renders a reply the way redis-cli would show it (for assertion messages). */
export function formatReply(r: Reply): string {
  return formatLines(r).join('\n');
}

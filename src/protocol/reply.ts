// RESP2/RESP3 reply encoding into a growable Buffer. The server keeps one writer for the
// client whose batch it is running and flushes it once per read batch; the native side
// writes into the same Buffer directly (see commands/dispatch.ts).

const CRLF = 0x0a0d; // "\r\n" as a little-endian uint16

export class ReplyWriter {
  buf: Buffer;
  len = 0;
  resp3 = false;

  constructor(initial = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** Hands the bytes written so far to the caller (a copy) and empties the writer. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.len);
    this.buf.copy(out, 0, 0, this.len);
    this.len = 0;
    return out;
  }

  raw(data: Buffer): void {
    this.ensure(data.length);
    data.copy(this.buf, this.len);
    this.len += data.length;
  }

  private ascii(s: string): void {
    this.ensure(s.length);
    this.len += this.buf.latin1Write(s, this.len);
  }

  private line(prefix: string, n: number | bigint): void {
    this.ascii(`${prefix}${n}\r\n`);
  }

  ok(): void { this.ascii('+OK\r\n'); }

  /** A status reply; CR/LF in the text would break framing, so they become spaces. */
  simple(s: string): void {
    this.utf8Line('+', s);
  }

  /** `text` includes the error code, e.g. "ERR syntax error". */
  error(text: string): void {
    this.utf8Line('-', text);
  }

  private utf8Line(prefix: string, s: string): void {
    const clean = /[\r\n]/.test(s) ? s.replace(/[\r\n]/g, ' ') : s;
    const n = Buffer.byteLength(clean);
    this.ensure(n + 3);
    this.buf[this.len++] = prefix.charCodeAt(0);
    this.len += this.buf.utf8Write(clean, this.len);
    this.buf.writeUInt16LE(CRLF, this.len);
    this.len += 2;
  }

  int(n: number | bigint): void { this.line(':', n); }

  bulk(data: Buffer | string): void {
    if (typeof data === 'string') {
      const n = Buffer.byteLength(data);
      this.ensure(n + 16);
      this.len += this.buf.latin1Write(`$${n}\r\n`, this.len);
      this.len += this.buf.utf8Write(data, this.len);
    } else {
      this.ensure(data.length + 16);
      this.len += this.buf.latin1Write(`$${data.length}\r\n`, this.len);
      data.copy(this.buf, this.len);
      this.len += data.length;
    }
    this.ensure(2);
    this.buf.writeUInt16LE(CRLF, this.len);
    this.len += 2;
  }

  /** Null bulk string: `$-1` (RESP2) or `_` (RESP3). */
  null(): void { this.ascii(this.resp3 ? '_\r\n' : '$-1\r\n'); }
  /** Null array: `*-1` (RESP2) or `_` (RESP3). */
  nullArray(): void { this.ascii(this.resp3 ? '_\r\n' : '*-1\r\n'); }

  array(n: number): void { this.line('*', n); }
  /** A map of n pairs; a flat array of 2n in RESP2. */
  map(n: number): void { this.line(this.resp3 ? '%' : '*', this.resp3 ? n : 2 * n); }
  set(n: number): void { this.line(this.resp3 ? '~' : '*', n); }
  /** Out-of-band push (pub/sub messages): `>` in RESP3, an array in RESP2. */
  push(n: number): void { this.line(this.resp3 ? '>' : '*', n); }

  boolean(b: boolean): void {
    if (this.resp3) this.ascii(b ? '#t\r\n' : '#f\r\n');
    else this.int(b ? 1 : 0);
  }

  /** A double as Redis's addReplyDouble (%.17g; inf/-inf). */
  double(d: number): void {
    const text = formatDouble(d);
    if (this.resp3) this.ascii(`,${text}\r\n`);
    else this.bulk(text);
  }

  /** A big number (`(` in RESP3), a bulk string in RESP2. */
  bignum(digits: string): void {
    if (this.resp3) this.ascii(`(${digits}\r\n`);
    else this.bulk(digits);
  }

  /** A RESP3 attribute of n pairs, followed by the reply it annotates (RESP3 only). */
  attribute(n: number): void { this.line('|', n); }

  /** RESP3 verbatim string (`=`), a bulk string in RESP2. */
  verbatim(text: string, format = 'txt'): void {
    if (!this.resp3) return this.bulk(text);
    const n = Buffer.byteLength(text) + 4;
    this.ascii(`=${n}\r\n${format}:`);
    this.ensure(Buffer.byteLength(text) + 2);
    this.len += this.buf.utf8Write(text, this.len);
    this.ascii('\r\n');
  }

  /** Writes a list of strings as an array of bulk strings. */
  bulkArray(items: (Buffer | string)[]): void {
    this.array(items.length);
    for (const item of items) this.bulk(item);
  }
}

/** printf("%.17g") with Redis's spellings of infinities. */
export function formatDouble(d: number): string {
  if (Number.isNaN(d)) return 'nan';
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  const sci = d.toExponential(16);
  const [mant, e] = sci.split('e');
  const exponent = Number(e);
  if (exponent < -4 || exponent >= 17) {
    const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
    const abs = Math.abs(exponent);
    return `${m}e${exponent < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  }
  const fixed = d.toFixed(Math.max(0, 16 - exponent));
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

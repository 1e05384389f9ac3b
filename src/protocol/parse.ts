// Request parsing: RESP multibulk and inline commands, with Redis's protocol errors.
// A parsed command is a Buffer plus [start, end) offset pairs into it: no per-argument
// copies, and the same offsets go straight to the native exec().

import { splitArgs as splitLine } from '../config/splitargs';

const CR = 13;
const LF = 10;
/** Redis's PROTO_MBULK_BIG_ARG: an argument this large gets a query buffer of its own. */
const BIG_ARG = 32 * 1024;
/** Redis's PROTO_INLINE_MAX_SIZE: an inline request or a count line longer than this is an error. */
const INLINE_MAX = 64 * 1024;
/** Redis 7.0 refuses multibulk counts above INT_MAX. */
const MULTIBULK_MAX = 2147483647;
/** Before AUTH (when the default user needs a password) Redis allows smaller requests only. */
const UNAUTHENTICATED_ARGC_MAX = 10;
const UNAUTHENTICATED_BULK_MAX = 16384;
/** A partial request is kept in a Buffer of at least this size, reused while it stays small. */
const OWN_MIN = 16 * 1024;
/** An emptied Buffer of our own larger than this is dropped (a big value went through). */
const KEEP_MAX = 64 * 1024;
const EMPTY = Buffer.alloc(0);

export const enum Parse {
  /** A complete command is in `input`/`offsets`/`argc`. */
  Command,
  /** More bytes are needed. */
  Incomplete,
  /** A protocol error: `error` holds the reply text; the connection must be closed. */
  Error,
  /** An empty line or `*0`: nothing to run, keep parsing. */
  Empty,
}

export class RequestParser {
  /** The bytes the current command's offsets point into (valid until the next read). */
  input: Buffer = EMPTY;
  offsets = new Int32Array(64);
  argc = 0;
  error = '';
  /** True when the last command came inline (Redis treats those slightly differently). */
  inline = false;

  /**
   * The bytes under parse are buf[pos, end). buf is either `own` or, while `borrowed`, the
   * caller's read buffer (the server reads every socket into one static Buffer), which is only
   * valid until the read is processed: `release()` then copies what is left into `own`.
   */
  private buf: Buffer = EMPTY;
  private pos = 0;
  private end = 0;
  private borrowed = false;
  /** Our Buffer for partial requests, kept for reuse while it stays small. */
  private own: Buffer = EMPTY;
  /** Bytes fed since the parser was created. */
  private fed = 0;
  /**
   * The largest `own` Buffer held since `takeAllocatedPeak()` last looked: a big argument's
   * Buffer is dropped as soon as its command ran, so the cron could never see it otherwise
   * (Redis keeps its query buffer until clientsCronResizeQueryBuffer, so its cron always does).
   */
  private allocatedPeak = 0;
  /** How many bytes from `pos` the command under parse needs, when known. */
  private need = 0;
  /**
   * Where the query buffer's data starts: buf[held, pos) are commands of the read being
   * processed that already ran. Redis trims its query buffer only once a whole read has been
   * processed (sdsrange at the end of processInputBuffer), so until then its qbuf counts
   * them; `release()` drops them here.
   */
  private held = 0;
  /** How many arguments of the unfinished multibulk request arrived whole (see partialArgv). */
  private partialArgc = 0;
  /**
   * While the unfinished request waits for a big argument (PROTO_MBULK_BIG_ARG, 32 KB or more):
   * where its data starts, from the request's start; else 0. Redis drops what precedes it
   * from its query buffer (the request's head is parsed into argv already), so CLIENT LIST
   * qbuf counts from there.
   */
  private bigArgOffset = 0;

  /** `authRequired`: the client has not authenticated and must (Redis's authRequired()). */
  constructor(private maxBulkLen: () => number, private authRequired: () => boolean = () => false) {}

  /** Adds `chunk[0, n)`; the parser reads it in place until `release()`. */
  feed(chunk: Buffer, n = chunk.length): void {
    if (n === 0) return;
    this.fed += n;
    if (this.pos >= this.end) {
      this.bigArgOffset = 0;
      this.buf = chunk;
      this.pos = this.held = 0;
      this.end = n;
      this.borrowed = true;
      return;
    }
    if (this.borrowed) this.release();
    this.reserve(n);
    chunk.copy(this.buf, this.end, 0, n);
    this.end += n;
  }

  /**
   * Stops reading the caller's buffer: copies the unconsumed bytes (a partial request, or
   * commands left for later while the client is blocked) into our own. Called once a read
   * has been processed.
   */
  release(): void {
    const rest = this.end - this.pos;
    if (this.borrowed) {
      this.borrowed = false;
      if (rest > this.own.length) this.setOwn(Buffer.allocUnsafe(Math.max(rest, this.need, OWN_MIN)));
      if (rest > 0) this.buf.copy(this.own, 0, this.pos, this.end);
      this.buf = this.own;
      this.pos = 0;
      this.end = rest;
    }
    if (rest === 0 && this.own.length > KEEP_MAX) this.own = this.buf = EMPTY;
    this.held = this.pos;
  }

  /** Makes room for `n` more bytes in our own Buffer after `end`. */
  private reserve(n: number): void {
    const rest = this.end - this.pos;
    if (this.end + n <= this.own.length) return;
    if (rest + n <= this.own.length) {
      this.own.copyWithin(0, this.pos, this.end);
    } else {
      const next = Buffer.allocUnsafe(Math.max(2 * (rest + n), this.need, OWN_MIN));
      this.own.copy(next, 0, this.pos, this.end);
      this.setOwn(next);
    }
    this.buf = this.own;
    this.pos = this.held = 0;
    this.end = rest;
  }

  private setOwn(own: Buffer): void {
    this.own = own;
    if (own.length > this.allocatedPeak) this.allocatedPeak = own.length;
  }

  /**
   * The query buffer's data as Redis's CLIENT LIST qbuf counts it (sdslen): what is not run
   * yet, plus, while a read is being processed, its commands that already ran.
   */
  length(): number {
    return this.end - (this.bigArgOffset > 0 ? this.pos + this.bigArgOffset : this.held);
  }

  /**
   * The query buffer's allocation beyond its data, as CLIENT LIST qbuf-free (sdsavail). A read
   * processed in place (from the server's shared read buffer) leaves the parser's own Buffer
   * unused: all of it is free.
   */
  free(): number {
    return this.borrowed ? this.own.length : this.own.length - this.length();
  }

  /** Bytes of the query buffer the parser holds now (its own Buffer; a read in place holds none). */
  allocated(): number {
    return this.own.length;
  }

  /**
   * The largest query buffer held since the last call (at least what is held now), and starts
   * the next period: Redis's querybuf_peak, as the clients cron samples it.
   */
  takeAllocatedPeak(): number {
    const peak = Math.max(this.allocatedPeak, this.own.length);
    this.allocatedPeak = this.own.length;
    return peak;
  }

  /** Bytes consumed (parsed as commands or skipped) since the parser was created. */
  consumed(): number {
    return this.fed - this.pending();
  }

  /** Bytes buffered and not yet consumed (client-query-buffer accounting, CLIENT LIST qbuf). */
  pending(): number {
    return this.end - this.pos;
  }

  private setArg(i: number, start: number, end: number): void {
    if (2 * i + 2 > this.offsets.length) {
      const next = new Int32Array(Math.max(this.offsets.length * 2, 2 * i + 2));
      next.set(this.offsets);
      this.offsets = next;
    }
    this.offsets[2 * i] = start;
    this.offsets[2 * i + 1] = end;
  }

  /** The unparsed bytes, buf[pos, end): for the native batch fast path. */
  contiguous(): { buf: Buffer; pos: number; end: number } {
    return { buf: this.buf, pos: this.pos, end: this.end };
  }

  /** Consumes `n` bytes that the fast path ran as whole commands. */
  advance(n: number): void {
    this.pos += n;
    this.need = 0;
    this.bigArgOffset = 0;
  }

  next(): Parse {
    if (this.need > 0 && this.end - this.pos < this.need) return Parse.Incomplete;
    this.need = 0;
    if (this.pos >= this.end) return Parse.Incomplete;
    return this.buf[this.pos] === 0x2a /* '*' */ ? this.multibulk() : this.inlineCommand();
  }

  /** Reads a CRLF-terminated integer line starting at `at` (after the type byte). */
  private readLine(at: number): { value: number; next: number; ok: boolean } | null {
    const buf = this.buf;
    const end = this.end;
    let cr = at;
    while (cr < end && buf[cr] !== CR) cr++;
    if (cr + 1 >= end) return null;
    let ok = cr > at && buf[cr + 1] === LF;
    let value = 0;
    let i = at;
    let neg = false;
    if (buf[i] === 0x2d) { neg = true; i++; }
    if (i === cr) ok = false;
    // string2ll: no leading zeros, and no "-0".
    if (buf[i] === 0x30 && (i + 1 < cr || neg)) ok = false;
    for (; i < cr; i++) {
      const c = buf[i] - 48;
      if (c < 0 || c > 9) { ok = false; break; }
      value = value * 10 + c;
    }
    if (value > Number.MAX_SAFE_INTEGER) ok = false;
    return { value: neg ? -value : value, next: cr + 2, ok };
  }

  private protocolError(text: string): Parse {
    this.error = `ERR Protocol error: ${text}`;
    return Parse.Error;
  }

  private multibulk(): Parse {
    const start = this.pos;
    this.partialArgc = 0;
    this.bigArgOffset = 0;
    const header = this.readLine(start + 1);
    if (!header) {
      if (this.end - start > INLINE_MAX) return this.protocolError('too big mbulk count string');
      return Parse.Incomplete;
    }
    if (!header.ok || header.value > MULTIBULK_MAX) return this.protocolError('invalid multibulk length');
    if (header.value > UNAUTHENTICATED_ARGC_MAX && this.authRequired()) return this.protocolError('unauthenticated multibulk length');
    if (header.value <= 0) {
      this.pos = header.next;
      return Parse.Empty;
    }
    const argc = header.value;
    let at = header.next;
    const maxBulk = this.maxBulkLen();
    for (let i = 0; i < argc; i++) {
      if (at >= this.end) return this.incomplete(start, i);
      if (this.buf[at] !== 0x24 /* '$' */) {
        return this.protocolError(`expected '$', got '${String.fromCharCode(this.buf[at])}'`);
      }
      const len = this.readLine(at + 1);
      if (!len) {
        if (this.end - at > INLINE_MAX) return this.protocolError('too big bulk count string');
        return this.incomplete(start, i);
      }
      if (!len.ok || len.value < 0 || len.value > maxBulk) return this.protocolError('invalid bulk length');
      if (len.value > UNAUTHENTICATED_BULK_MAX && this.authRequired()) return this.protocolError('unauthenticated bulk length');
      const dataEnd = len.next + len.value;
      if (dataEnd + 2 > this.end) {
        this.need = dataEnd + 2 - start + (argc - i - 1) * 4;
        if (len.value >= BIG_ARG) this.bigArgOffset = len.next - start;
        return this.incomplete(start, i);
      }
      this.setArg(i, len.next, dataEnd);
      at = dataEnd + 2;
    }
    this.input = this.buf;
    this.argc = argc;
    this.inline = false;
    this.pos = at;
    return Parse.Command;
  }

  /** Stops at an unfinished multibulk request whose first `complete` arguments arrived whole. */
  private incomplete(start: number, complete: number): Parse {
    this.pos = start;
    this.partialArgc = complete;
    return Parse.Incomplete;
  }

  /**
   * The arguments of the unfinished request that arrived whole: Redis builds a request's argv
   * as its arguments complete (CLIENT LIST argv-mem counts them). Their lengths stay valid in
   * `offsets` when the bytes move to another Buffer.
   */
  partialArgv(): { argc: number; bytes: number } {
    let bytes = 0;
    for (let k = 0; k < this.partialArgc; k++) bytes += this.offsets[2 * k + 1] - this.offsets[2 * k];
    return { argc: this.partialArgc, bytes };
  }

  private inlineCommand(): Parse {
    const start = this.pos;
    let lf = this.buf.indexOf(LF, start);
    if (lf >= this.end) lf = -1;
    // Redis looks for the newline with strchr(), which stops at a NUL byte: a line holding one
    // has no end yet, so nothing is answered until it grows too big.
    if (lf >= 0 && this.buf.subarray(start, lf).indexOf(0) >= 0) lf = -1;
    if (lf < 0) {
      if (this.end - start > INLINE_MAX) return this.protocolError('too big inline request');
      return Parse.Incomplete;
    }
    let end = lf;
    if (end > start && this.buf[end - 1] === CR) end--;
    this.pos = lf + 1;
    if (this.splitPlain(start, end)) return this.argc === 0 ? Parse.Empty : Parse.Command;
    const args = splitArgs(this.buf.subarray(start, end));
    if (args === null) return this.protocolError('unbalanced quotes in request');
    if (args.length === 0) return Parse.Empty;
    const total = args.reduce((n, a) => n + a.length, 0);
    const input = Buffer.allocUnsafe(total);
    let off = 0;
    args.forEach((a, i) => {
      a.copy(input, off);
      this.setArg(i, off, off + a.length);
      off += a.length;
    });
    this.input = input;
    this.argc = args.length;
    this.inline = true;
    return Parse.Command;
  }

  /**
   * The common inline request, words without quotes ("PING", "SET k v"): its arguments are
   * offsets into the line itself, with no copy. False (nothing set) when the line has quotes,
   * which need sdssplitargs's unescaping.
   */
  private splitPlain(start: number, end: number): boolean {
    const buf = this.buf;
    for (let i = start; i < end; i++) if (buf[i] === 0x22 || buf[i] === 0x27) return false;
    let argc = 0;
    let i = start;
    for (;;) {
      while (i < end && isSpace(buf[i])) i++;
      if (i >= end) break;
      const from = i;
      while (i < end && !endsUnquoted(buf[i])) i++;
      this.setArg(argc++, from, i);
    }
    this.input = buf;
    this.argc = argc;
    this.inline = true;
    return true;
  }
}

/** sdssplitargs skips C isspace between arguments... */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/** ...but only space, tab, CR and LF end an unquoted one (\v and \f belong to it). */
function endsUnquoted(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

/**
 * Redis's sdssplitargs over a request line: one implementation for inline commands and
 * redis.conf (config/splitargs.ts works on latin1 strings, one char per byte).
 */
export function splitArgs(line: Buffer): Buffer[] | null {
  return splitLine(line.toString('latin1'))?.map((a) => Buffer.from(a, 'latin1')) ?? null;
}

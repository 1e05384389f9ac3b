// What a command handler sees.
import type { Client } from '../client';
import type { ReplyWriter } from '../protocol/reply';
import type { Server } from '../server';

/** One command's arguments: [start, end) offset pairs into `input` (index 0 is the name). */
export interface Request {
  input: Buffer;
  offsets: Int32Array;
  argc: number;
}

/** The bytes of a request's arguments (Redis's argv_len_sum). */
export function argvBytes(req: Request): number {
  let n = 0;
  for (let i = 0; i < req.argc; i++) n += req.offsets[2 * i + 1] - req.offsets[2 * i];
  return n;
}

export function arg(req: Request, i: number): Buffer {
  return req.input.subarray(req.offsets[2 * i], req.offsets[2 * i + 1]);
}

/** An argument as a string (latin1: byte-preserving, for option names and numbers). */
export function argStr(req: Request, i: number): string {
  return req.input.latin1Slice(req.offsets[2 * i], req.offsets[2 * i + 1]);
}

/** A copy of a request that stays valid after the input buffer is reused (MULTI queue, blocking). */
export function copyRequest(req: Request): Request {
  const start = req.offsets[0];
  let end = start;
  for (let i = 0; i < req.argc; i++) end = Math.max(end, req.offsets[2 * i + 1]);
  let lo = start;
  for (let i = 0; i < req.argc; i++) lo = Math.min(lo, req.offsets[2 * i]);
  const input = Buffer.from(req.input.subarray(lo, end));
  const offsets = new Int32Array(req.argc * 2);
  for (let i = 0; i < req.argc * 2; i++) offsets[i] = req.offsets[i] - lo;
  return { input, offsets, argc: req.argc };
}

/**
 * An integer argument as Redis's string2ll reads it (no '+', no leading zeros, no spaces), or
 * null; beyond 2^53 it is null too (JavaScript numbers would lose digits).
 */
export function parseInteger(s: string): number | null {
  if (!/^-?(0|[1-9][0-9]*)$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/** Builds a request from whole arguments (commands the server issues itself). */
export function makeRequest(args: (Buffer | string)[]): Request {
  const bufs = args.map((a) => (typeof a === 'string' ? Buffer.from(a) : a));
  const input = Buffer.concat(bufs);
  const offsets = new Int32Array(bufs.length * 2);
  let off = 0;
  bufs.forEach((b, i) => {
    offsets[2 * i] = off;
    off += b.length;
    offsets[2 * i + 1] = off;
  });
  return { input, offsets, argc: bufs.length };
}

export interface Ctx {
  server: Server;
  client: Client;
  out: ReplyWriter;
  req: Request;
  /** The command being run (for subcommand names and error texts). */
  name: string;
  /**
   * The handler's error reply was already counted in the error statistics (a script returning
   * the error of a command it called): the dispatcher does not count it again.
   */
  errorCounted?: boolean;
}

export type Handler = (ctx: Ctx) => void;

/** An error reply raised by a TS handler: `throw new ReplyError('ERR syntax error')`. */
export class ReplyError extends Error {}

export function wrongArity(name: string): string {
  return `ERR wrong number of arguments for '${name}' command`;
}

/** Redis's addReplySubcommandSyntaxError: names the subcommand as the client sent it. */
export function subcommandSyntaxError(req: Request): ReplyError {
  return new ReplyError(`ERR unknown subcommand or wrong number of arguments for '${argStr(req, 1).slice(0, 128)}'. Try ${argStr(req, 0).toUpperCase()} HELP.`);
}

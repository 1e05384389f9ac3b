// Configs with their own syntax (config.c's "special" configs): save, bind, dir,
// client-output-buffer-limit, oom-score-adj-values, notify-keyspace-events, replicaof,
// latency-tracking-info-percentiles.

import { Codec, fail, ok, ParseResult, RewriteLine } from './codecs';
import { formatMemoryForRewrite, formatPercentile, memtoull, string2d, strtoll } from './numbers';
import { quoteRepr } from './splitargs';

// ---------------------------------------------------------------------------------------
// save

export interface SaveRule {
  seconds: bigint;
  changes: bigint;
}

export const saveCodec: Codec<SaveRule[]> = {
  multiArg: true,
  parse(args) {
    // A single "" means "no save points".
    const list = args.length === 1 && args[0] === '' ? [] : args;
    if (list.length % 2 !== 0) return fail('Invalid save parameters');
    const rules: SaveRule[] = [];
    for (let j = 0; j < list.length; j += 2) {
      const seconds = strtoll(list[j], 10);
      const changes = strtoll(list[j + 1], 10);
      if (!seconds.complete || seconds.value < 1n) return fail('Invalid save parameters');
      if (!changes.complete || changes.value < 0n) return fail('Invalid save parameters');
      // time_t seconds, int changes (config.c truncates to int).
      rules.push({ seconds: seconds.value, changes: BigInt.asIntN(32, changes.value) });
    }
    return ok(rules);
  },
  format: (rules) => rules.map((r) => `${r.seconds} ${r.changes}`).join(' '),
  rewrite(name, rules) {
    // Always written, and `save ""` when empty so the defaults don't come back on restart.
    if (rules.length === 0) return [{ line: `${name} ""`, force: true }];
    return rules.map((r) => ({ line: `${name} ${r.seconds} ${r.changes}`, force: true }));
  },
  equals: (a, b) =>
    a.length === b.length && a.every((r, i) => r.seconds === b[i].seconds && r.changes === b[i].changes),
};

// ---------------------------------------------------------------------------------------
// bind

const BINDADDR_MAX = 16;
export const DEFAULT_BIND = ['*', '-::*'] as const;

const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

export const bindCodec: Codec<string[]> = {
  multiArg: true,
  parse(args) {
    if (args.length > BINDADDR_MAX) return fail('Too many bind addresses specified.');
    if (args.length === 1 && args[0] === '') return ok([]);
    return ok([...args]);
  },
  format: (addrs) => addrs.join(' '),
  rewrite(name, addrs) {
    if (sameList(addrs, DEFAULT_BIND)) return []; // default: no bind line at all
    return [{ line: `${name} ${addrs.length > 0 ? addrs.join(' ') : '""'}`, force: true }];
  },
  equals: sameList,
};

// ---------------------------------------------------------------------------------------
// dir: the value is the process's working directory; Config performs the chdir.

export const dirCodec: Codec<string> = {
  multiArg: false,
  parse: (args) => ok(args[0]),
  format: (_value, view) => view.cwd(),
  rewrite: (name, _value, _def, view) => [{ line: `${name} ${quoteRepr(view.cwd())}`, force: true }],
  equals: (a, b) => a === b,
};

// ---------------------------------------------------------------------------------------
// client-output-buffer-limit

export interface OutputBufferLimit {
  hardBytes: bigint;
  softBytes: bigint;
  softSeconds: bigint;
}

export interface OutputBufferLimits {
  normal: OutputBufferLimit;
  replica: OutputBufferLimit;
  pubsub: OutputBufferLimit;
}

type ClientClass = keyof OutputBufferLimits;
const CLIENT_CLASSES: readonly ClientClass[] = ['normal', 'replica', 'pubsub'];

export const DEFAULT_OUTPUT_BUFFER_LIMITS: OutputBufferLimits = {
  normal: { hardBytes: 0n, softBytes: 0n, softSeconds: 0n },
  replica: { hardBytes: 256n * 1024n * 1024n, softBytes: 64n * 1024n * 1024n, softSeconds: 60n },
  pubsub: { hardBytes: 32n * 1024n * 1024n, softBytes: 8n * 1024n * 1024n, softSeconds: 60n },
};

function clientClassByName(name: string): ClientClass | 'master' | null {
  switch (name.toLowerCase()) {
    case 'normal':
      return 'normal';
    case 'slave':
    case 'replica':
      return 'replica';
    case 'pubsub':
      return 'pubsub';
    case 'master':
      return 'master';
    default:
      return null;
  }
}

const sameLimit = (a: OutputBufferLimit, b: OutputBufferLimit): boolean =>
  a.hardBytes === b.hardBytes && a.softBytes === b.softBytes && a.softSeconds === b.softSeconds;

export const clientOutputBufferLimitCodec: Codec<OutputBufferLimits> = {
  multiArg: true,
  parse(args, previous) {
    if (args.length % 4 !== 0) return fail('Wrong number of arguments in buffer limit configuration.');
    // Validate everything first: the whole setting is refused or accepted.
    const next: OutputBufferLimits = { ...previous };
    for (let j = 0; j < args.length; j += 4) {
      const cls = clientClassByName(args[j]);
      if (cls === null || cls === 'master') {
        return fail('Invalid client class specified in buffer limit configuration.');
      }
      const hard = memtoull(args[j + 1]);
      const soft = memtoull(args[j + 2]);
      const seconds = parseSoftSeconds(args[j + 3]);
      if (hard === null || soft === null || seconds === null) {
        return fail('Error in hard, soft or soft_seconds setting in buffer limit configuration.');
      }
      next[cls] = { hardBytes: hard, softBytes: soft, softSeconds: seconds };
    }
    return ok(next);
  },
  format(limits) {
    // CONFIG GET still says "slave".
    return CLIENT_CLASSES.map((cls) => {
      const l = limits[cls];
      return `${cls === 'replica' ? 'slave' : cls} ${l.hardBytes} ${l.softBytes} ${l.softSeconds}`;
    }).join(' ');
  },
  rewrite(name, limits) {
    return CLIENT_CLASSES.map((cls): RewriteLine => {
      const l = limits[cls];
      const hard = formatMemoryForRewrite(BigInt.asIntN(64, l.hardBytes));
      const soft = formatMemoryForRewrite(BigInt.asIntN(64, l.softBytes));
      return {
        line: `${name} ${cls} ${hard} ${soft} ${l.softSeconds}`,
        force: !sameLimit(l, DEFAULT_OUTPUT_BUFFER_LIMITS[cls]),
      };
    });
  },
  equals: (a, b) => CLIENT_CLASSES.every((cls) => sameLimit(a[cls], b[cls])),
};

/** `int soft_seconds = strtoll(...)`: truncated to int, then refused if negative. */
function parseSoftSeconds(s: string): bigint | null {
  const parsed = strtoll(s, 10);
  if (!parsed.complete) return null;
  const asInt = BigInt.asIntN(32, parsed.value);
  return asInt < 0n ? null : asInt;
}

// ---------------------------------------------------------------------------------------
// oom-score-adj-values

export const oomScoreAdjValuesCodec: Codec<number[]> = {
  multiArg: true,
  parse(args) {
    if (args.length !== 3) return fail('wrong number of arguments');
    const values: number[] = [];
    for (const arg of args) {
      const parsed = strtoll(arg, 10);
      if (!parsed.complete || parsed.value < -2000n || parsed.value > 2000n) {
        return fail('Invalid oom-score-adj-values, elements must be between -2000 and 2000.');
      }
      values.push(Number(parsed.value));
    }
    return ok(values);
  },
  format: (values) => values.join(' '),
  rewrite: (name, values, def) => [
    { line: `${name} ${values.join(' ')}`, force: !sameList(values.map(String), def.map(String)) },
  ],
  equals: (a, b) => sameList(a.map(String), b.map(String)),
};

// ---------------------------------------------------------------------------------------
// notify-keyspace-events

const NOTIFY = {
  K: 1 << 0, // keyspace
  E: 1 << 1, // keyevent
  g: 1 << 2,
  $: 1 << 3,
  l: 1 << 4,
  s: 1 << 5,
  h: 1 << 6,
  z: 1 << 7,
  x: 1 << 8,
  e: 1 << 9,
  t: 1 << 10,
  m: 1 << 11, // key miss, not part of 'A'
  d: 1 << 12, // module
  n: 1 << 13, // new key, not part of 'A'
} as const;
type NotifyChar = keyof typeof NOTIFY;

/** Bit values of the notify-keyspace-events classes, for the server's event code. */
export const NOTIFY_FLAGS = NOTIFY;
export const NOTIFY_ALL =
  NOTIFY.g | NOTIFY.$ | NOTIFY.l | NOTIFY.s | NOTIFY.h | NOTIFY.z | NOTIFY.x | NOTIFY.e | NOTIFY.t | NOTIFY.d;

export function keyspaceEventsFromString(s: string): number | null {
  let flags = 0;
  for (const ch of s) {
    if (ch === 'A') flags |= NOTIFY_ALL;
    else if (Object.prototype.hasOwnProperty.call(NOTIFY, ch)) flags |= NOTIFY[ch as NotifyChar];
    else return null;
  }
  return flags;
}

/** The order Redis 7.0 prints the classes in ('n' only appears when not all of 'A' is set). */
export function keyspaceEventsToString(flags: number): string {
  let out = '';
  if ((flags & NOTIFY_ALL) === NOTIFY_ALL) {
    out += 'A';
  } else {
    for (const ch of ['g', '$', 'l', 's', 'h', 'z', 'x', 'e', 't', 'd', 'n'] as const) {
      if (flags & NOTIFY[ch]) out += ch;
    }
  }
  if (flags & NOTIFY.K) out += 'K';
  if (flags & NOTIFY.E) out += 'E';
  if (flags & NOTIFY.m) out += 'm';
  return out;
}

export const notifyKeyspaceEventsCodec: Codec<number> = {
  multiArg: false,
  parse(args) {
    const flags = keyspaceEventsFromString(args[0]);
    if (flags === null) return fail("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
    return ok(flags);
  },
  format: keyspaceEventsToString,
  rewrite: (name, flags) => [
    { line: `${name} ${quoteRepr(keyspaceEventsToString(flags))}`, force: flags !== 0 },
  ],
  equals: (a, b) => a === b,
};

// ---------------------------------------------------------------------------------------
// replicaof

export interface ReplicaOf {
  host: string;
  port: number;
}

export const replicaOfCodec: Codec<ReplicaOf | null> = {
  multiArg: true,
  parse(args): ParseResult<ReplicaOf | null> {
    if (args.length !== 2) return fail('wrong number of arguments');
    if (args[0].toLowerCase() === 'no' && args[1].toLowerCase() === 'one') return ok(null);
    const port = strtoll(args[1], 10);
    if (!port.complete || port.value < 0n || port.value > 65535n) return fail('Invalid master port');
    return ok({ host: args[0], port: Number(port.value) });
  },
  format: (v) => (v ? `${v.host} ${v.port}` : ''),
  rewrite: (name, v) => (v ? [{ line: `${name} ${v.host} ${v.port}`, force: true }] : []),
  equals: (a, b) => (a === null || b === null ? a === b : a.host === b.host && a.port === b.port),
};

// ---------------------------------------------------------------------------------------
// latency-tracking-info-percentiles

export const latencyPercentilesCodec: Codec<number[]> = {
  multiArg: true,
  parse(args) {
    const list = args.length === 1 && args[0] === '' ? [] : args;
    const values: number[] = [];
    for (const arg of list) {
      const v = string2d(arg);
      if (v === null) return fail('Invalid latency-tracking-info-percentiles parameters');
      if (v > 100 || v < 0) {
        return fail('latency-tracking-info-percentiles parameters should sit between [0.0,100.0]');
      }
      values.push(v);
    }
    return ok(values);
  },
  format: (values) => values.map(formatPercentile).join(' '),
  // Redis 7.0 writes this line on every rewrite, default or not.
  rewrite: (name, values) => [
    { line: values.length ? `${name} ${values.map(formatPercentile).join(' ')}` : `${name} ""`, force: true },
  ],
  equals: (a, b) => a.length === b.length && a.every((v, i) => v === b[i]),
};

// How each kind of config value is parsed, printed (CONFIG GET) and written back
// (CONFIG REWRITE). The generic kinds mirror config.c's bool / string / enum / numeric
// configs; special configs (save, bind, ...) live in specials.ts.

import { formatMemoryForRewrite, memtoull, string2ll, strtollOctal } from './numbers';
import { quoteRepr } from './splitargs';

/** What a validator may need to know about the rest of the configuration. */
export interface ConfigView {
  /** Internal value of another config (by canonical name). */
  value(name: string): unknown;
  /** Absolute path of the config file, or null. */
  readonly configFile: string | null;
  /** The process working directory (CONFIG GET dir). */
  cwd(): string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** One line CONFIG REWRITE wants; `force` writes it even if the file never mentioned the config. */
export interface RewriteLine {
  line: string;
  force: boolean;
}

export interface Codec<T> {
  /** True for configs that take several arguments (save, bind, ...). */
  readonly multiArg: boolean;
  /** Parses the arguments that follow the name. `previous` is the current value. */
  parse(args: readonly string[], previous: T, view: ConfigView): ParseResult<T>;
  /** The CONFIG GET text. */
  format(value: T, view: ConfigView): string;
  /**
   * The lines CONFIG REWRITE writes for this config. An empty list means "write nothing
   * and blank the lines the file had for it".
   */
  rewrite(name: string, value: T, defaultValue: T, view: ConfigView): RewriteLine[];
  equals(a: T, b: T): boolean;
}

export const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });
export const fail = <T>(error: string): ParseResult<T> => ({ ok: false, error });

// ---------------------------------------------------------------------------------------
// bool

/** `validate` refuses a well-formed value (the config's is_valid_fn), with its error text. */
export function boolCodec(validate?: (value: boolean) => string | null): Codec<boolean> {
  return {
    multiArg: false,
    parse(args) {
      const v = args[0].toLowerCase();
      if (v !== 'yes' && v !== 'no') return fail("argument must be 'yes' or 'no'");
      const error = validate?.(v === 'yes');
      return error ? fail(error) : ok(v === 'yes');
    },
    format: (value) => (value ? 'yes' : 'no'),
    rewrite: (name, value, def) => [{ line: `${name} ${value ? 'yes' : 'no'}`, force: value !== def }],
    equals: (a, b) => a === b,
  };
}

// ---------------------------------------------------------------------------------------
// string

export interface StringCodecOptions {
  /** EMPTY_STRING_IS_NULL: "" is stored as "unset" and such a config is not rewritten. */
  emptyIsNull: boolean;
  validate?: (value: string, view: ConfigView) => string | null;
}

export function stringCodec(opts: StringCodecOptions): Codec<string | null> {
  return {
    multiArg: false,
    parse(args, _previous, view) {
      const v = args[0];
      if (opts.validate) {
        const error = opts.validate(v, view);
        if (error !== null) return fail(error);
      }
      return ok(opts.emptyIsNull && v === '' ? null : v);
    },
    format: (value) => value ?? '',
    rewrite(name, value, def) {
      if (value === null) return []; // unset strings must be absent to stay unset
      const force = !(def !== null && value === def);
      return [{ line: `${name} ${quoteRepr(value)}`, force }];
    },
    equals: (a, b) => a === b,
  };
}

// ---------------------------------------------------------------------------------------
// enum

export interface EnumEntry {
  name: string;
  value: number;
}

export interface EnumCodecOptions {
  /** Multi-argument flag sets (shutdown-on-sigint): arguments are OR-ed together. */
  bitflags?: boolean;
  validate?: (value: number) => string | null;
}

/** config.c's configEnumGetName: exact match first, else (bitflags) the names of the set bits. */
export function enumName(entries: readonly EnumEntry[], value: number, bitflags: boolean): string {
  const names: string[] = [];
  let unmatched = value;
  for (const entry of entries) {
    if (entry.value === value) return entry.name;
    if (bitflags && entry.value !== 0 && (unmatched & entry.value) === entry.value) {
      names.push(entry.name);
      unmatched &= ~entry.value;
    }
  }
  if (names.length === 0 || unmatched !== 0) return 'unknown';
  return names.join(' ');
}

export function enumCodec(entries: readonly EnumEntry[], opts: EnumCodecOptions = {}): Codec<number> {
  const bitflags = opts.bitflags ?? false;
  const errorText =
    'argument(s) must be one of the following: ' + entries.map((e) => e.name).join(', ');
  return {
    multiArg: bitflags,
    parse(args) {
      if (args.length === 0 || (!bitflags && args.length !== 1)) return fail(errorText);
      let value = 0;
      for (const arg of args) {
        const lowered = arg.toLowerCase();
        const matches = entries.filter((e) => e.name === lowered);
        if (matches.length === 0) return fail(errorText);
        for (const m of matches) value |= m.value;
      }
      if (opts.validate) {
        const error = opts.validate(value);
        if (error !== null) return fail(error);
      }
      return ok(value);
    },
    format: (value) => enumName(entries, value, bitflags),
    rewrite: (name, value, def) => [
      { line: `${name} ${enumName(entries, value, bitflags)}`, force: value !== def },
    ],
    equals: (a, b) => a === b,
  };
}

// ---------------------------------------------------------------------------------------
// numeric

/**
 * The C type behind a numeric config. It decides the storage width and whether bounds
 * are compared as unsigned (config.c does so for unsigned int, unsigned long long and
 * size_t only).
 */
export type NumericKind =
  | 'int'
  | 'uint'
  | 'long'
  | 'ulong'
  | 'longlong'
  | 'ulonglong'
  | 'size_t'
  | 'ssize_t'
  | 'off_t'
  | 'time_t';

export interface NumericCodecOptions {
  kind: NumericKind;
  min: bigint;
  max: bigint;
  memory?: boolean;
  percent?: boolean;
  octal?: boolean;
  /** Applied after a successful set (hz is clamped to 1..500 this way). */
  normalize?: (value: bigint) => bigint;
}

const UNSIGNED_BOUND_KINDS: ReadonlySet<NumericKind> = new Set(['uint', 'ulonglong', 'size_t']);
const UNSIGNED_KINDS: ReadonlySet<NumericKind> = new Set(['uint', 'ulong', 'ulonglong', 'size_t']);

/**
 * The stored value is what config.c reads back into a `long long` (GET_NUMERIC_TYPE):
 * a huge unsigned long long therefore appears negative, exactly as Redis sees it when
 * formatting and rewriting.
 */
export function numericCodec(opts: NumericCodecOptions): Codec<bigint> {
  const flagsSet = opts.memory || opts.percent || opts.octal;
  const unsignedBounds = UNSIGNED_BOUND_KINDS.has(opts.kind);

  const parseString = (s: string): ParseResult<bigint> => {
    if (opts.memory) {
      const v = memtoull(s);
      if (v !== null) return ok(BigInt.asIntN(64, v));
    }
    if (opts.percent && s.length > 1 && s.endsWith('%')) {
      const v = string2ll(s.slice(0, -1));
      if (v !== null && v >= 0n) return ok(-v); // percentages are stored negative
    }
    if (opts.octal) {
      const v = strtollOctal(s);
      if (v !== null) return ok(v);
    }
    if (!flagsSet) {
      const v = string2ll(s);
      if (v !== null) return ok(v);
    }
    if (opts.memory && opts.percent) return fail('argument must be a memory or percent value');
    if (opts.memory) return fail('argument must be a memory value');
    if (opts.octal) return fail("argument couldn't be parsed as an octal number");
    return fail("argument couldn't be parsed into an integer");
  };

  const checkBounds = (v: bigint): string | null => {
    if (unsignedBounds) {
      const u = BigInt.asUintN(64, v);
      const lo = BigInt.asUintN(64, opts.min);
      const hi = BigInt.asUintN(64, opts.max);
      if (u > hi || u < lo) {
        return opts.octal
          ? `argument must be between ${lo.toString(8)} and ${hi.toString(8)} inclusive`
          : `argument must be between ${lo} and ${hi} inclusive`;
      }
      return null;
    }
    if (opts.percent && v < 0n) {
      if (v < opts.min) return `percentage argument must be less or equal to ${-opts.min}`;
      return null;
    }
    if (v > opts.max || v < opts.min) {
      return `argument must be between ${opts.min} and ${opts.max} inclusive`;
    }
    return null;
  };

  // Store as the C type, then read back as long long.
  const store = (v: bigint): bigint => {
    if (opts.kind === 'int') return BigInt.asIntN(32, v);
    if (opts.kind === 'uint') return BigInt.asUintN(32, v);
    return BigInt.asIntN(64, v);
  };

  return {
    multiArg: false,
    parse(args) {
      const parsed = parseString(args[0]);
      if (!parsed.ok) return parsed;
      const error = checkBounds(parsed.value);
      if (error !== null) return fail(error);
      let v = store(parsed.value);
      if (opts.normalize) v = opts.normalize(v);
      return ok(v);
    },
    format(value) {
      if (opts.percent && value < 0n) return `${-value}%`;
      if (opts.memory) return BigInt.asUintN(64, value).toString();
      if (opts.octal) return BigInt.asUintN(64, value).toString(8);
      return value.toString();
    },
    rewrite(name, value, def) {
      const force = value !== def;
      if (opts.percent && value < 0n) return [{ line: `${name} ${-value}%`, force }];
      if (opts.memory) return [{ line: `${name} ${formatMemoryForRewrite(value)}`, force }];
      if (opts.octal) return [{ line: `${name} ${BigInt.asUintN(64, value).toString(8)}`, force }];
      return [{ line: `${name} ${value}`, force }];
    },
    equals: (a, b) => a === b,
  };
}

/** The value as the config's C type sees it (unsigned kinds never negative). */
export function numericAsCType(kind: NumericKind, stored: bigint): bigint {
  return UNSIGNED_KINDS.has(kind) ? BigInt.asUintN(kind === 'uint' ? 32 : 64, stored) : stored;
}

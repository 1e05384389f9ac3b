// Number parsing as Redis does it for configs: string2ll (strict, no '+', no leading
// zeros), memtoull (byte units) and strtoll (octal). 64-bit values are BigInts so
// unsigned long long and wrap-around behave as in C.

export const INT_MIN = -(2n ** 31n);
export const INT_MAX = 2n ** 31n - 1n;
export const UINT_MAX = 2n ** 32n - 1n;
export const LLONG_MIN = -(2n ** 63n);
export const LLONG_MAX = 2n ** 63n - 1n;
export const ULLONG_MAX = 2n ** 64n - 1n;

/** Redis's string2ll: optional '-', no '+', no leading zeros, no spaces, 64-bit range. */
export function string2ll(s: string): bigint | null {
  if (s.length === 0 || s.length > 20) return null;
  if (s === '0') return 0n;
  let i = 0;
  let negative = false;
  if (s[0] === '-') {
    negative = true;
    i = 1;
    if (s.length === 1) return null;
  }
  if (!(s[i] >= '1' && s[i] <= '9')) return null;
  for (let j = i + 1; j < s.length; j++) {
    if (!(s[j] >= '0' && s[j] <= '9')) return null;
  }
  const magnitude = BigInt(s.slice(i));
  const value = negative ? -magnitude : magnitude;
  if (value < LLONG_MIN || value > LLONG_MAX) return null;
  return value;
}

const MEMORY_UNITS: Record<string, bigint> = {
  '': 1n,
  b: 1n,
  k: 1000n,
  kb: 1024n,
  m: 1000n * 1000n,
  mb: 1024n * 1024n,
  g: 1000n * 1000n * 1000n,
  gb: 1024n * 1024n * 1024n,
};

/**
 * Redis's memtoull: digits then an optional unit (b, k, kb, m, mb, g, gb; any case).
 * Quirks kept on purpose: "" and "kb" are 0, overflowing digits saturate to
 * ULLONG_MAX, and the multiplication wraps modulo 2^64.
 */
export function memtoull(s: string): bigint | null {
  if (s[0] === '-') return null;
  let u = 0;
  while (u < s.length && s[u] >= '0' && s[u] <= '9') u++;
  const mul = MEMORY_UNITS[s.slice(u).toLowerCase()];
  if (mul === undefined) return null;
  if (u >= 128) return null;
  let value = u === 0 ? 0n : BigInt(s.slice(0, u));
  if (value > ULLONG_MAX) value = ULLONG_MAX; // strtoull saturates on ERANGE
  return BigInt.asUintN(64, value * mul);
}

/**
 * C strtoll(s, &end, base) for base 8 or 10: leading blanks, a sign, the digits. `value` is
 * saturated to long long as strtoll does on ERANGE (`overflow` says it happened); `complete`
 * is true when nothing is left over (no digits at all: the end pointer is the start, complete
 * only for "").
 */
export function strtoll(s: string, base: 8 | 10): { value: bigint; complete: boolean; overflow: boolean } {
  let i = 0;
  while (i < s.length && ' \t\n\r\v\f'.includes(s[i])) i++;
  let negative = false;
  if (s[i] === '+' || s[i] === '-') {
    negative = s[i] === '-';
    i++;
  }
  const start = i;
  const top = base === 8 ? '7' : '9';
  while (i < s.length && s[i] >= '0' && s[i] <= top) i++;
  if (i === start) return { value: 0n, complete: s.length === 0, overflow: false };
  const magnitude = BigInt((base === 8 ? '0o' : '') + s.slice(start, i));
  const value = negative ? -magnitude : magnitude;
  const overflow = value < LLONG_MIN || value > LLONG_MAX;
  return { value: value < LLONG_MIN ? LLONG_MIN : value > LLONG_MAX ? LLONG_MAX : value, complete: i === s.length, overflow };
}

/** C strtoll(s, &end, 8) accepted only when it consumed the whole string without overflow. */
export function strtollOctal(s: string): bigint | null {
  const r = strtoll(s, 8);
  return r.complete && !r.overflow ? r.value : null;
}

/** Reinterprets a value as C's signed long long (two's complement). */
export function toSigned64(v: bigint): bigint {
  return BigInt.asIntN(64, v);
}

/** Reinterprets a value as C's unsigned long long. */
export function toUnsigned64(v: bigint): bigint {
  return BigInt.asUintN(64, v);
}

/** CONFIG REWRITE's memory notation: 1gb / 64mb / 4kb when exact, otherwise bytes. */
export function formatMemoryForRewrite(bytes: bigint): string {
  const kb = 1024n;
  const mb = kb * 1024n;
  const gb = mb * 1024n;
  if (bytes !== 0n && bytes % gb === 0n) return `${bytes / gb}gb`;
  if (bytes !== 0n && bytes % mb === 0n) return `${bytes / mb}mb`;
  if (bytes !== 0n && bytes % kb === 0n) return `${bytes / kb}kb`;
  return bytes.toString();
}

/**
 * printf("%f") followed by Redis's trimDoubleString: six decimals, then trailing zeros
 * and a trailing dot removed (99.9 -> "99.9", 50 -> "50").
 */
export function formatPercentile(value: number): string {
  let s = value.toFixed(6);
  if (s.includes('.')) {
    s = s.replace(/0+$/, '');
    if (s.endsWith('.')) s = s.slice(0, -1);
  }
  return s;
}

/**
 * Redis's string2d: strtod over the whole string, refusing leading spaces and NaN.
 * (Used for latency-tracking-info-percentiles.)
 */
export function string2d(s: string): number | null {
  if (s.length === 0 || ' \t\n\r\v\f'.includes(s[0])) return null;
  if (!/^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf(inity)?|0x[0-9a-f]+(\.[0-9a-f]*)?(p[+-]?\d+)?)$/i.test(s)) {
    return null;
  }
  const lowerCase = s.toLowerCase();
  let value: number;
  if (lowerCase.replace(/^[+-]/, '').startsWith('inf')) {
    value = lowerCase.startsWith('-') ? -Infinity : Infinity;
  } else if (lowerCase.replace(/^[+-]/, '').startsWith('0x')) {
    const negative = lowerCase.startsWith('-');
    const body = lowerCase.replace(/^[+-]/, '').slice(2);
    const [mantissa, exp] = body.split('p');
    const [intPart, fracPart = ''] = mantissa.split('.');
    let v = parseInt(intPart || '0', 16);
    for (let k = 0; k < fracPart.length; k++) v += parseInt(fracPart[k], 16) / 16 ** (k + 1);
    if (exp !== undefined) v *= 2 ** Number(exp);
    value = negative ? -v : v;
  } else {
    value = Number(s);
    // strtod's ERANGE: overflow to infinity, or underflow of a non-zero mantissa to 0.
    if (!Number.isFinite(value)) return null;
    if (value === 0 && /[1-9]/.test(s.split(/[eE]/)[0])) return null;
  }
  if (Number.isNaN(value)) return null;
  return value;
}

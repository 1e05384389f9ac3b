// Command-line flags for the bench scripts: a declared list of flags gives both the parser and
// the --help text, so the two cannot drift apart.

export type FlagKind = 'bool' | 'int' | 'string' | 'list';

export interface FlagSpec {
  name: string;
  kind: FlagKind;
  help: string;
  /** Shown in --help and used when the flag is absent. */
  default?: string | number | boolean;
}

export type ParsedFlags = Record<string, string | number | boolean | undefined>;

export class UsageError extends Error {}

/** Flags every benchmark script accepts. */
export const COMMON_FLAGS: FlagSpec[] = [
  { name: 'keyfork-main', kind: 'string', help: 'keyfork entry point (built by npm run build)', default: 'dist/src/main.js' },
  { name: 'redis-server', kind: 'string', help: 'redis-server binary (default: looked up on PATH)' },
  { name: 'no-redis', kind: 'bool', help: 'do not run redis-server; comparison columns are skipped', default: false },
  { name: 'no-pin', kind: 'bool', help: 'do not pin servers and load generators to separate cores with taskset', default: false },
  { name: 'out', kind: 'string', help: 'directory for latest.md / latest.svg / latest.json', default: 'bench/results' },
  { name: 'no-report', kind: 'bool', help: 'print results only; leave the results directory untouched', default: false },
  { name: 'keep-dirs', kind: 'bool', help: 'keep the servers\' temp directories (RDB files, logs) for inspection', default: false },
  { name: 'help', kind: 'bool', help: 'show this help', default: false },
];

/** Parses `--name value`, `--name=value` and bare `--bool` flags; unknown flags are a UsageError. */
export function parseFlags(argv: string[], specs: FlagSpec[]): ParsedFlags {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const out: ParsedFlags = {};
  for (const s of specs) out[s.name] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i];
    if (!raw.startsWith('--')) throw new UsageError(`unexpected argument '${raw}'`);
    const eq = raw.indexOf('=');
    const name = raw.slice(2, eq === -1 ? undefined : eq);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    if (spec.kind === 'bool') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      out[name] = true;
      continue;
    }
    let value: string;
    if (eq !== -1) value = raw.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      value = argv[++i];
    }
    if (spec.kind === 'int') {
      const n = parseCount(value);
      if (n === null) throw new UsageError(`--${name}: '${value}' is not a positive integer (k/M suffixes allowed)`);
      out[name] = n;
    } else {
      out[name] = value;
    }
  }
  return out;
}

/** "100k" -> 100000, "1M" -> 1000000, "2500" -> 2500; null if not a positive integer. */
export function parseCount(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim());
  if (!m) return null;
  const scale = m[2] === '' ? 1 : m[2].toLowerCase() === 'k' ? 1e3 : 1e6;
  const n = Math.round(Number(m[1]) * scale);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** A comma-separated list of counts ("100k,1M"). */
export function parseCountList(flag: string, text: string): number[] {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  const counts = items.map((s) => {
    const n = parseCount(s);
    if (n === null) throw new UsageError(`--${flag}: '${s}' is not a count (e.g. 100k, 1M)`);
    return n;
  });
  if (counts.length === 0) throw new UsageError(`--${flag} is empty`);
  return counts;
}

export function helpText(script: string, summary: string, specs: FlagSpec[]): string {
  const lines = [`Usage: node dist/bench/${script}.js [flags]`, '', summary, '', 'Flags:'];
  const width = Math.max(...specs.map((s) => flagLabel(s).length));
  for (const s of specs) {
    const def = s.default === undefined || s.default === false ? '' : ` (default: ${s.default})`;
    lines.push(`  ${flagLabel(s).padEnd(width)}  ${s.help}${def}`);
  }
  return lines.join('\n') + '\n';
}

function flagLabel(s: FlagSpec): string {
  const meta = { bool: '', int: ' N', string: ' VALUE', list: ' A,B,...' }[s.kind];
  return `--${s.name}${meta}`;
}

/** Formats a count the way the flags accept it: 100000 -> "100k", 1000000 -> "1M". */
export function shortCount(n: number): string {
  if (n >= 1e6 && n % 1e5 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 100 === 0) return `${n / 1e3}k`;
  return String(n);
}

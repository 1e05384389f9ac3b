// Shared entry point of the bench scripts: flags and --help, cleanup, error reporting, and
// publishing a section of results (JSON + re-rendered Markdown and SVG).
import path from 'node:path';
import { COMMON_FLAGS, type FlagSpec, type ParsedFlags, UsageError, helpText, parseFlags } from './args';
import { setKeepDirs } from './cleanup';
import { fromRepo } from './paths';
import { step } from './progress';
import { type AllResults, writeSection } from './results';
import { renderMarkdown } from './markdown';
import { renderSvg } from './svg';
import { updateReadme } from './readme';
import fs from 'node:fs';

export interface Benchmark {
  /** Script name: dist/bench/<name>.js. */
  name: string;
  summary: string;
  flags: FlagSpec[];
  run(flags: ParsedFlags): Promise<void>;
}

export function allFlags(...lists: FlagSpec[][]): FlagSpec[] {
  const seen = new Map<string, FlagSpec>();
  for (const list of [...lists, COMMON_FLAGS]) for (const f of list) if (!seen.has(f.name)) seen.set(f.name, f);
  return [...seen.values()];
}

/** Parses argv for `bench`, runs it, and exits with a meaningful status. */
export function runMain(bench: Benchmark): void {
  const specs = allFlags(bench.flags);
  let flags: ParsedFlags;
  try {
    flags = parseFlags(process.argv.slice(2), specs);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${bench.name}: ${err.message}\n\n${helpText(bench.name, bench.summary, specs)}`);
    process.exit(2);
  }
  if (flags.help) {
    process.stdout.write(helpText(bench.name, bench.summary, specs));
    process.exit(0);
  }
  setKeepDirs(Boolean(flags['keep-dirs']));
  bench.run(flags).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`\n${bench.name}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

export function invocation(): string {
  return ['node', path.relative(process.cwd(), process.argv[1]) || process.argv[1], ...process.argv.slice(2)].join(' ');
}

/**
 * The tail every side-by-side report shares (bench/results/<name>.md): after `body`, the
 * command lines that ran the servers and load generators (each once, in order) and the line
 * that reproduces the run. The report is printed, and written unless --no-report.
 */
export function writeReport(flags: ParsedFlags, name: string, body: string[], commands: string[]): void {
  const text = [...body, '', 'Commands:', '', ...[...new Set(commands)].map((c) => `    ${c}`), '', `Reproduce: \`${invocation()}\` (after \`npm run build\`)`, ''].join('\n');
  process.stdout.write(`\n${text}`);
  if (flags['no-report']) return;
  const dir = fromRepo(String(flags.out));
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.md`);
  fs.writeFileSync(file, text);
  step(`written: ${file}`);
}

/** Stores a section in latest.json and re-renders latest.md and latest.svg (unless --no-report). */
export function publish<K extends keyof AllResults>(flags: ParsedFlags, key: K, section: AllResults[K]): void {
  if (flags['no-report']) {
    step(`results not written (--no-report)`);
    return;
  }
  const dir = fromRepo(String(flags.out));
  const all = writeSection(dir, key, section);
  fs.writeFileSync(path.join(dir, 'latest.md'), renderMarkdown(all));
  fs.writeFileSync(path.join(dir, 'latest.svg'), renderSvg(all));
  step(`results written: ${path.join(dir, 'latest.md')}, latest.svg, latest.json`);
  // The README's summary follows the default results directory only (not a scratch --out).
  if (path.resolve(dir) === path.resolve(fromRepo('bench/results')) && updateReadme(fromRepo('README.md'), all)) {
    step('README.md performance summary regenerated');
  }
}

// Re-renders latest.md and latest.svg from latest.json without running anything (after a
// change to the report's layout, or to merge sections from separate runs).
import fs from 'node:fs';
import path from 'node:path';
import type { ParsedFlags } from './lib/args';
import { renderMarkdown } from './lib/markdown';
import { fromRepo } from './lib/paths';
import { readResults } from './lib/results';
import { type Benchmark, runMain } from './lib/script';
import { renderSvg } from './lib/svg';
import { updateReadme } from './lib/readme';

const report: Benchmark = {
  name: 'report',
  summary: 'Re-renders latest.md and latest.svg from latest.json in the results directory (--out).',
  flags: [],
  async run(flags: ParsedFlags) {
    const dir = fromRepo(String(flags.out));
    const all = readResults(dir);
    if (!all.save && !all.throughput && !all.memory && !all.eviction) throw new Error(`no results in ${path.join(dir, 'latest.json')}`);
    fs.writeFileSync(path.join(dir, 'latest.md'), renderMarkdown(all));
    fs.writeFileSync(path.join(dir, 'latest.svg'), renderSvg(all));
    if (updateReadme(fromRepo('README.md'), all)) process.stderr.write('regenerated the README performance summary\n');
    process.stderr.write(`rendered ${path.join(dir, 'latest.md')} and latest.svg\n`);
  },
};

runMain(report);

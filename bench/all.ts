// npm run bench: every benchmark in one run (save, command throughput, memory per element,
// throughput at the memory limit, replication, latency while the keyspace table grows),
// with one set of flags; each writes its section of bench/results/latest.{json,md,svg}.
import { type ParsedFlags, UsageError } from './lib/args';
import { step } from './lib/progress';
import { type Benchmark, allFlags, runMain } from './lib/script';
import { benchmark as save } from './save';
import { benchmark as throughput } from './throughput';
import { benchmark as memory } from './memory';
import { benchmark as eviction } from './eviction';
import { benchmark as replication } from './replication';
import { benchmark as rehash } from './rehash';

const BENCHMARKS: Benchmark[] = [save, throughput, memory, eviction, replication, rehash];

const all: Benchmark = {
  name: 'all',
  summary: 'Runs every benchmark (save, throughput, memory, eviction, replication, rehash) against keyfork and redis-server and writes\n'
    + 'bench/results/latest.md, latest.svg and latest.json. Flags that belong to one benchmark apply to it only.',
  flags: [
    { name: 'only', kind: 'list', help: `run only these benchmarks (${BENCHMARKS.map((b) => b.name).join(',')})` },
    ...allFlags(...BENCHMARKS.map((b) => b.flags)).filter((f) => f.name !== 'help'),
  ],
  async run(flags: ParsedFlags) {
    const names = flags.only ? String(flags.only).split(',').map((s) => s.trim()) : BENCHMARKS.map((b) => b.name);
    for (const n of names) if (!BENCHMARKS.some((b) => b.name === n)) throw new UsageError(`--only: unknown benchmark '${n}'`);
    for (const b of BENCHMARKS.filter((x) => names.includes(x.name))) {
      step(`=== ${b.name}: ${b.summary.split('\n')[0]}`);
      await b.run(flags);
    }
  },
};

runMain(all);

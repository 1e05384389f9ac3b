// Throughput at the memory limit: SET of random keys into a server full to maxmemory, so that
// nearly every write evicts, keyfork and redis-server under the same policy (the command
// throughput benchmark's machinery, with each server filled until it evicts before each test).
import type { FlagSpec, ParsedFlags } from './lib/args';
import { type Benchmark, runMain } from './lib/script';
import { FLAGS as THROUGHPUT_FLAGS, runThroughput } from './throughput';

export const FLAGS: FlagSpec[] = [
  ...THROUGHPUT_FLAGS.filter((f) => ['pipelines', 'requests', 'pipelined-requests', 'clients', 'full'].includes(f.name)),
  { name: 'limit', kind: 'string', help: 'maxmemory for the eviction benchmark', default: '64mb' },
  { name: 'policies', kind: 'list', help: 'maxmemory-policy values to run the eviction benchmark under', default: 'allkeys-lru,allkeys-random' },
  { name: 'value-size', kind: 'int', help: 'value size (-d) in the eviction benchmark', default: 100 },
];

export async function run(flags: ParsedFlags): Promise<void> {
  await runThroughput(flags, 'set', {
    maxmemory: String(flags.limit),
    policies: String(flags.policies).split(',').map((p) => p.trim()).filter(Boolean),
    valueSize: Number(flags['value-size']),
    keyspace: 10_000_000,
  });
}

export const benchmark: Benchmark = {
  name: 'eviction',
  summary: 'SET throughput at the memory limit (nearly every write evicts), keyfork vs redis-server under the same maxmemory-policy.',
  flags: FLAGS,
  run,
};

if (require.main === module) runMain(benchmark);

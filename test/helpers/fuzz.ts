// Seeded differential fuzzing: a generated command program runs on keyfork and on redis-server
// (one connection each, pipelined in chunks), and every reply must be identical, wire type included.
// A failing seed is shrunk to a short sequence that still diverges, and the report says how to
// replay it: KEYFORK_FUZZ_SEED=<seed> npx vitest run <file>. KEYFORK_FUZZ_SEEDS=N runs N seeds
// (from KEYFORK_FUZZ_SEED_BASE, default 1000) instead of the file's fixed ones, for long runs.
import { expect, it } from 'vitest';
import { describeDifferential, formatCommand, replyKey, type BothServers, useBothServers } from './diff';
import { formatReply, RawConnection, type Arg, type Reply } from './resp';
import { rng } from './random';

export type Rand = () => number;

export interface FuzzProgram {
  /** Run first, after FLUSHALL (thresholds, fixed keys): part of every replay, never shrunk away. */
  setup: Arg[][];
  /** The generated steps. */
  steps: Arg[][];
  /** Both connections speak RESP3. */
  resp3: boolean;
}

export interface FuzzCompare {
  /** True when this command's aggregate reply is compared as a multiset (HGETALL, SMEMBERS...). */
  unordered?: (command: Arg[]) => boolean;
  /** Rewrites a reply (both sides) before comparison, for values that legitimately differ. */
  normalize?: (command: Arg[], reply: Reply) => Reply;
}

interface Divergence {
  index: number;
  command: Arg[];
  keyfork: Reply;
  redis: Reply;
}

/** The seeds to run: the file's own, or those the environment asks for. */
export function fuzzSeeds(defaults: number[]): number[] {
  const one = process.env.KEYFORK_FUZZ_SEED;
  if (one) return one.split(',').map((s) => Number(s.trim()));
  const count = Number(process.env.KEYFORK_FUZZ_SEEDS ?? 0);
  if (count > 0) {
    const base = Number(process.env.KEYFORK_FUZZ_SEED_BASE ?? 1000);
    return Array.from({ length: count }, (_, i) => base + i);
  }
  return defaults;
}

/** Integer in [lo, hi]. */
export const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

/** Commands whose integer reply is a time: equal within this much (the two servers run at slightly different moments). */
const TIME_TOLERANCE: Record<string, number> = { ttl: 1, expiretime: 1, pttl: 1500, pexpiretime: 1500 };

function commandName(command: Arg[]): string {
  return command.length === 0 ? '' : command[0].toString().toLowerCase();
}

function sortedAggregate(r: Reply): Reply {
  const byKey = (a: Reply, b: Reply) => (replyKey(a) < replyKey(b) ? -1 : replyKey(a) > replyKey(b) ? 1 : 0);
  switch (r.t) {
    case 'array':
      return r.v === null ? r : { t: 'array', v: [...r.v].sort(byKey) };
    case 'set':
      return { t: 'set', v: [...r.v].sort(byKey) };
    case 'map':
      return { t: 'map', v: [...r.v].sort((a, b) => byKey(a[0], b[0])) };
    default:
      return r;
  }
}

/**
 * DUMP payloads compared by type only for a hashtable-encoded set (2) or hash (4): they list
 * their elements in dict order, which is the table's, not Redis's, so only the size is
 * compared; the contents are compared through SMEMBERS/HGETALL. Lists (18, quicklist 2) are
 * compared byte for byte: keyfork's chunks are Redis's quicklist nodes (types/list).
 */
function normalizeDump(reply: Reply): Reply {
  if (reply.t !== 'bulk' || !reply.v || reply.v.length === 0) return reply;
  const rdbType = reply.v[0];
  if (rdbType === 2 || rdbType === 4) return { t: 'bulk', v: Buffer.from(`dump of rdb type ${rdbType}, ${reply.v.length} bytes`) };
  return reply;
}

/**
 * Whether two replies to `command` agree. `queued`: the commands an EXEC runs (its array is
 * compared element by element, each with its own command's rules).
 */
function same(command: Arg[], k: Reply, r: Reply, compare: FuzzCompare, queued: Arg[][] = []): boolean {
  const name = commandName(command);
  if (name === 'exec' && k.t === 'array' && r.t === 'array' && k.v && r.v && k.v.length === queued.length && r.v.length === queued.length) {
    return queued.every((q, i) => same(q, k.v![i], r.v![i], compare));
  }
  const tolerance = TIME_TOLERANCE[name];
  if (tolerance !== undefined && k.t === 'int' && r.t === 'int' && k.v >= 0 && r.v >= 0) {
    const difference = BigInt(k.v) - BigInt(r.v);
    return difference <= BigInt(tolerance) && difference >= -BigInt(tolerance);
  }
  const prepare = (reply: Reply) => {
    let out = compare.normalize ? compare.normalize(command, reply) : reply;
    if (name === 'dump') out = normalizeDump(out);
    return compare.unordered?.(command) ? sortedAggregate(out) : out;
  };
  return replyKey(prepare(k)) === replyKey(prepare(r));
}

/** Follows MULTI ... EXEC on the connection: which commands the next EXEC runs. */
class Transaction {
  queued: Arg[][] = [];
  private open = false;

  follow(command: Arg[], reply: Reply): void {
    const name = commandName(command);
    if (name === 'multi' && reply.t === 'simple') {
      this.open = true;
      this.queued = [];
    } else if (name === 'exec' || name === 'discard') {
      this.open = false;
      this.queued = [];
    } else if (this.open && reply.t === 'simple' && reply.v === 'QUEUED') {
      this.queued.push(command);
    }
  }
}

/**
 * Runs setup then `steps` on fresh connections to both servers (after FLUSHALL), pipelining
 * `chunk()` commands at a time. Returns every reply pair and the first divergence, if any.
 */
async function execute(
  servers: BothServers,
  program: FuzzProgram,
  steps: Arg[][],
  compare: FuzzCompare,
  chunk: () => number,
): Promise<{ divergence: Divergence | null; replies: Array<[Reply, Reply]> }> {
  const [k, r] = await Promise.all([
    RawConnection.connect(servers.keyfork.port, { resp3: program.resp3 }),
    RawConnection.connect(servers.redis.port, { resp3: program.resp3 }),
  ]);
  try {
    // SAVE zeroes the change counter on both, so INFO persistence compares exactly in every replay.
    for (const command of [['FLUSHALL'], ['SAVE'], ...program.setup]) {
      const [a, b] = await Promise.all([k.send(...command), r.send(...command)]);
      if (!same(command, a, b, compare)) {
        return { divergence: { index: -1, command, keyfork: a, redis: b }, replies: [] };
      }
    }
    const replies: Array<[Reply, Reply]> = [];
    const transaction = new Transaction();
    for (let at = 0; at < steps.length;) {
      const batch = steps.slice(at, at + Math.max(1, chunk()));
      const [ka, ra] = await Promise.all([k.pipeline(batch), r.pipeline(batch)]);
      for (let i = 0; i < batch.length; i++) {
        replies.push([ka[i], ra[i]]);
        if (!same(batch[i], ka[i], ra[i], compare, transaction.queued)) {
          return { divergence: { index: at + i, command: batch[i], keyfork: ka[i], redis: ra[i] }, replies };
        }
        transaction.follow(batch[i], ka[i]);
      }
      at += batch.length;
    }
    return { divergence: null, replies };
  } finally {
    k.close();
    r.close();
  }
}

/**
 * Shrinks a diverging sequence: drops ever smaller runs of commands while the remainder still
 * diverges somewhere (bounded in attempts and time; the result is a sequence that diverges).
 */
async function shrink(servers: BothServers, program: FuzzProgram, failing: Arg[][], compare: FuzzCompare): Promise<Arg[][]> {
  const deadline = Date.now() + 20_000;
  const diverges = async (steps: Arg[][]) => (await execute(servers, program, steps, compare, () => 64)).divergence !== null;
  let current = failing;
  for (let size = Math.max(1, Math.floor(current.length / 2)); size >= 1; size = size === 1 ? 0 : Math.max(1, Math.floor(size / 2))) {
    for (let at = 0; at < current.length && Date.now() < deadline;) {
      const candidate = [...current.slice(0, at), ...current.slice(at + size)];
      if (candidate.length > 0 && (await diverges(candidate))) current = candidate;
      else at += size;
    }
    if (Date.now() >= deadline) break;
  }
  // Cut what follows the first divergence of the shrunk sequence.
  const { divergence } = await execute(servers, program, current, compare, () => 64);
  return divergence && divergence.index >= 0 ? current.slice(0, divergence.index + 1) : current;
}

/** A report line kept readable: long commands and replies are cut in the middle. */
function clip(text: string, max = 400): string {
  return text.length <= max ? text : `${text.slice(0, max / 2)} ...(${text.length - max} chars)... ${text.slice(-max / 2)}`;
}

/**
 * Runs one seed's program on both servers. Returns '' when every reply matched, otherwise a
 * report: the seed and how to replay it, the first divergence, and a shrunk sequence with both
 * servers' replies to each command.
 */
export async function fuzzDifferential(
  servers: BothServers,
  seed: number,
  file: string,
  program: FuzzProgram,
  compare: FuzzCompare = {},
): Promise<string> {
  const chunkRand = rng(seed ^ 0x5eed);
  const { divergence } = await execute(servers, program, program.steps, compare, () => int(chunkRand, 1, 48));
  if (!divergence) return '';
  const lines = [
    `seed ${seed} diverged (replay: KEYFORK_FUZZ_SEED=${seed} npx vitest run ${file})`,
    `setup: ${program.setup.map(formatCommand).join(' ; ')}${program.resp3 ? ' (RESP3)' : ''}`,
    `first divergence at step ${divergence.index}: ${clip(formatCommand(divergence.command))}`,
    `  keyfork: ${clip(formatReply(divergence.keyfork))}`,
    `  redis:   ${clip(formatReply(divergence.redis))}`,
  ];
  if (divergence.index >= 0) {
    const shrunk = await shrink(servers, program, program.steps.slice(0, divergence.index + 1), compare);
    const { replies } = await execute(servers, program, shrunk, compare, () => 64);
    lines.push(`shrunk to ${shrunk.length} commands:`);
    const transaction = new Transaction();
    shrunk.forEach((command, i) => {
      const pair = replies[i];
      if (!pair) return;
      const mark = same(command, pair[0], pair[1], compare, transaction.queued) ? ' ' : '!';
      transaction.follow(command, pair[0]);
      lines.push(`${mark} ${clip(formatCommand(command))}`);
      lines.push(`    keyfork: ${clip(formatReply(pair[0])).split('\n').join('\n             ')}`);
      if (mark === '!') lines.push(`    redis:   ${clip(formatReply(pair[1])).split('\n').join('\n             ')}`);
    });
  }
  return lines.join('\n');
}

/**
 * OBJECT REFCOUNT stays out of MULTI: inside EXEC, Redis counts the queued command's own argv
 * holding a value it just stored (SET k 5000 then OBJECT REFCOUNT k says 2), an artifact of its
 * object sharing that keyfork does not model.
 */
function allowedInMulti(command: Arg[]): boolean {
  return !(commandName(command) === 'object' && command.length > 1 && command[1].toString().toLowerCase() === 'refcount');
}

/** A step generator and how often it is drawn, relative to the others. */
export type WeightedStep = [weight: number, generate: (step: number) => Arg[]];

/**
 * A seed's program: `setup`, then `count` steps drawn from `generators` by weight (now and then
 * a few wrapped in MULTI/EXEC or MULTI/DISCARD: queued syntax errors abort the EXEC, as in
 * Redis), then INFO persistence and the end state of `keys` (finalState).
 */
export function buildProgram(
  r: Rand,
  opts: { setup?: Arg[][]; count: number; generators: WeightedStep[]; keys: string[]; resp3: boolean },
): FuzzProgram {
  const total = opts.generators.reduce((sum, [w]) => sum + w, 0);
  const draw = (index: number): Arg[] => {
    let x = r() * total;
    for (const [w, generate] of opts.generators) {
      if ((x -= w) < 0) return generate(index);
    }
    return opts.generators[0][1](index);
  };
  const steps: Arg[][] = [];
  while (steps.length < opts.count) {
    if (r() < 0.04) {
      const group: Arg[][] = [];
      for (let n = int(r, 1, 4); n > 0; n--) group.push(draw(steps.length + group.length));
      steps.push(['MULTI'], ...group.filter(allowedInMulti), [r() < 0.9 ? 'EXEC' : 'DISCARD']);
    } else {
      steps.push(draw(steps.length));
    }
  }
  return { setup: opts.setup ?? [], steps: [...steps, ['INFO', 'persistence'], ...finalState(opts.keys)], resp3: opts.resp3 };
}

/**
 * The suite of a fuzz file: one keyfork and one redis-server for all its seeds (fuzzSeeds), one
 * test per seed whose failure is the report of fuzzDifferential.
 */
export function describeFuzz(
  title: string,
  file: string,
  seeds: number[],
  program: (seed: number, servers: BothServers) => FuzzProgram | Promise<FuzzProgram>,
  compare: FuzzCompare = {},
): void {
  let servers: BothServers;
  describeDifferential(`${title}: seeded differential fuzz vs redis-server 7.0`, () => {
    useBothServers((s) => (servers = s));
    for (const seed of fuzzSeeds(seeds)) {
      it(`seed ${seed}`, async () => {
        expect(await fuzzDifferential(servers, seed, file, await program(seed, servers), compare)).toBe('');
      }, 60_000);
    }
  });
}

/** TYPE, OBJECT ENCODING, PTTL and DUMP of every key, in db 0 and 1: the end state compared. */
export function finalState(keys: string[]): Arg[][] {
  const out: Arg[][] = [];
  for (const db of ['0', '1']) {
    out.push(['SELECT', db]);
    for (const key of keys) out.push(['TYPE', key], ['OBJECT', 'ENCODING', key], ['PTTL', key], ['DUMP', key]);
  }
  out.push(['SELECT', '0'], ['DBSIZE'], ['INFO', 'keyspace']);
  return out;
}

/** INFO keyspace without avg_ttl (a time), INFO persistence reduced to the change counter. */
export function normalizeInfo(command: Arg[], reply: Reply): Reply {
  if (commandName(command) !== 'info' || reply.t !== 'bulk' && reply.t !== 'verbatim' || !reply.v) return reply;
  const lines = reply.v.toString().split('\r\n');
  const kept = lines
    .filter((l) => /^db\d+:/.test(l) || l.startsWith('rdb_changes_since_last_save:'))
    .map((l) => l.replace(/,avg_ttl=\d+/, ''));
  return { t: 'bulk', v: Buffer.from(kept.join('\n')) };
}

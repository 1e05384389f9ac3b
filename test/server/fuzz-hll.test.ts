// Seeded differential fuzzing of HyperLogLog commands against redis-server 7.0 (keyfork claims
// byte compatibility, so the estimates, the raw bytes GET returns and DUMP must be identical):
// PFADD of a few elements or of hundreds (sparse to dense under each seed's
// hll-sparse-max-bytes), PFCOUNT of one or several keys (merged on the fly), PFMERGE into the
// same keys, PFDEBUG GETREG/DECODE/ENCODING/TODENSE, the cached cardinality in the header, and
// values that are not (or no longer) HLLs: plain strings, other types, SETRANGE/APPEND damage.
import { buildProgram, describeFuzz, int, normalizeInfo, type Rand, type WeightedStep } from '../helpers/fuzz';
import { type Arg } from '../helpers/resp';
import { pick, rng } from '../helpers/random';

const FILE = 'test/server/fuzz-hll.test.ts';
const KEYS = ['a', 'b', 'c', 'd'];
const STEPS = 300;

function element(r: Rand): string {
  const kind = r();
  if (kind < 0.6) return `e${int(r, 0, 60)}`;
  if (kind < 0.9) return String(int(r, 0, 100000));
  return pick(r, ['', 'x'.repeat(100), '\u0000', 'é', '-0', '0']);
}

function program(seed: number) {
  const r = rng(seed);
  const key = () => pick(r, KEYS);
  const keys = (lo: number, hi: number) => Array.from({ length: int(r, lo, hi) }, key);
  const generators: WeightedStep[] = [
    [10, () => ['PFADD', key(), ...Array.from({ length: int(r, 0, 4) }, () => element(r))]],
    [3, () => {
      // Hundreds of new elements at once: long runs of registers, sparse opcodes overflowing into dense.
      const base = int(r, 0, 1_000_000);
      return ['PFADD', key(), ...Array.from({ length: int(r, 50, 700) }, (_, i) => `bulk${base + i * int(r, 1, 3)}`)];
    }],
    [8, () => ['PFCOUNT', ...keys(1, 3)]],
    [4, () => ['PFMERGE', key(), ...keys(0, 3)]],
    [2, () => ['PFDEBUG', pick(r, ['GETREG', 'ENCODING', 'TODENSE', 'DECODE', 'encoding', 'FOO']), key()]],
    [3, () => ['GET', key()]],
    [1, () => ['STRLEN', key()]],
    [2, () => {
      // Damage: the magic, the encoding byte, the cached cardinality, the registers, or past the end.
      const offset = pick(r, [0, 3, 4, 5, 8, 15, 16, 17, 20, 30, 100, 12303, 12304]);
      return ['SETRANGE', key(), String(offset), pick(r, ['\u0000', '\u0001', '\u0002', '\u007f', 'H', 'xyz', '\u00ff\u00ff'])];
    }],
    [1, () => ['APPEND', key(), pick(r, ['x', '\u0000\u0000'])]],
    [1, () => ['SET', key(), pick(r, ['HYLL', 'plain', 'HYLL\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000'])]],
    [1, () => ['RPUSH', key(), 'x']],
    [1, () => ['DEL', key()]],
    [1, () => ['OBJECT', 'ENCODING', key()]],
    [1, () => ['INFO', 'persistence']],
    [1, () => pick(r, [['PFADD'], ['PFCOUNT'], ['PFMERGE'], ['PFDEBUG', 'GETREG'], ['PFDEBUG'], ['PFDEBUG', 'GETREG', key(), 'x']])],
  ];
  const setup: Arg[][] = [['CONFIG', 'SET', 'hll-sparse-max-bytes', pick(r, ['3000', '3000', '0', '40', '300', '1000', '16000'])]];
  return buildProgram(r, { setup, count: STEPS, generators, keys: KEYS, resp3: seed % 3 === 0 });
}

describeFuzz('HyperLogLog commands', FILE, [1, 2, 3, 4, 5, 6], program, { normalize: normalizeInfo });

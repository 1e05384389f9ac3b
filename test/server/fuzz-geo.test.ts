// Seeded differential fuzzing of geo commands against redis-server 7.0: members placed mostly in
// one small area (so searches find several, at distances that round differently) and sometimes
// at the edges (poles' limits, the antimeridian, out of range, not numbers), GEOADD with NX/XX/CH,
// GEOPOS/GEODIST/GEOHASH (every float compared as the exact string Redis prints), GEOSEARCH and
// GEOSEARCHSTORE (FROMMEMBER/FROMLONLAT, BYRADIUS/BYBOX, units, ASC/DESC, COUNT [ANY], WITH*,
// STOREDIST), the GEORADIUS family (_RO, STORE/STOREDIST), zset commands on the same keys, and
// bad arities, units and options.
import { buildProgram, describeFuzz, int, normalizeInfo, type Rand, type WeightedStep } from '../helpers/fuzz';
import { type Arg } from '../helpers/resp';
import { pick, rng } from '../helpers/random';

const FILE = 'test/server/fuzz-geo.test.ts';
const KEYS = ['a', 'b', 'c', 'd'];
const STEPS = 400;
const MEMBERS = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'Palermo', 'x'.repeat(70)];
const UNITS = ['m', 'km', 'mi', 'ft', 'KM', 'Mi'];

/** A decimal in [lo, hi] with 0-9 fraction digits. */
function decimal(r: Rand, lo: number, hi: number): string {
  return (lo + r() * (hi - lo)).toFixed(int(r, 0, 9));
}

function longitude(r: Rand): string {
  const kind = r();
  if (kind < 0.8) return decimal(r, 13.0, 13.6);
  if (kind < 0.95) return pick(r, ['180', '-180', '0', '179.9999999', '-179.9999999', '13.361389', '15.087269', '2.3488']);
  return pick(r, ['180.1', '-180.0001', 'x', '', 'inf', '1e2', '13,5']);
}

function latitude(r: Rand): string {
  const kind = r();
  if (kind < 0.8) return decimal(r, 37.9, 38.3);
  if (kind < 0.95) return pick(r, ['85.05112878', '-85.05112878', '0', '38.115556', '37.502669', '48.8534', '-33.86']);
  return pick(r, ['85.06', '-90', '90', 'x', 'nan', '1e1']);
}

function program(seed: number) {
  const r = rng(seed);
  const key = () => pick(r, KEYS);
  const member = () => pick(r, MEMBERS);
  const unit = () => (r() < 0.03 ? pick(r, ['yd', '', 'meters']) : pick(r, UNITS));
  const radius = () => (r() < 0.05 ? pick(r, ['-1', 'x', '']) : pick(r, ['0', '1', '10', '35', '100', '500', '5000', '200000', '0.25', '1e3', '20000000']));
  const count = () => (r() < 0.35 ? ['COUNT', pick(r, ['1', '2', '3', '10', '0', '-1', 'x']), ...(r() < 0.3 ? ['ANY'] : [])] : []);
  const order = () => (r() < 0.6 ? [pick(r, ['ASC', 'DESC', 'asc'])] : []);
  const withs = () => ['WITHCOORD', 'WITHDIST', 'WITHHASH'].filter(() => r() < 0.35);
  const from = () => (r() < 0.5 ? ['FROMMEMBER', member()] : ['FROMLONLAT', longitude(r), latitude(r)]);
  const by = () => (r() < 0.55 ? ['BYRADIUS', radius(), unit()] : ['BYBOX', radius(), radius(), unit()]);
  /** GEOSEARCH's options in a random order, sometimes one missing, repeated or conflicting. */
  const searchOptions = (store: boolean) => {
    const parts: Arg[][] = [from(), by(), order(), count(), store ? (r() < 0.4 ? ['STOREDIST'] : []) : withs()];
    if (r() < 0.15) parts.sort(() => r() - 0.5);
    if (r() < 0.04) parts.splice(int(r, 0, 1), 1);
    if (r() < 0.04) parts.push(pick(r, [from(), by(), ['WITHCOORD'], ['STORE', 'x'], ['FOO']]));
    return parts.flat();
  };
  const radiusOptions = (readOnly: boolean) => {
    const store = !readOnly && r() < 0.3;
    const parts: Arg[][] = [store && r() < 0.8 ? [] : withs(), count(), order()];
    if (store) parts.push(r() < 0.5 ? ['STORE', key()] : ['STOREDIST', key()]);
    if (r() < 0.03) parts.push(pick(r, [['STORE'], ['FOO'], ['ANY'], ['STORE', key(), 'STOREDIST', key()]]));
    parts.sort(() => r() - 0.5);
    return parts.flat();
  };
  const generators: WeightedStep[] = [
    [10, () => ['GEOADD', key(), ...pick(r, [[], [], [], ['NX'], ['XX'], ['CH'], ['NX', 'CH'], ['XX', 'CH'], ['NX', 'XX']]),
      ...Array.from({ length: int(r, 1, 4) }, () => [longitude(r), latitude(r), member()]).flat()]],
    [4, () => ['GEOPOS', key(), ...Array.from({ length: int(r, 1, 3) }, member)]],
    [5, () => ['GEODIST', key(), member(), member(), ...(r() < 0.7 ? [unit()] : [])]],
    [3, () => ['GEOHASH', key(), ...Array.from({ length: int(r, 0, 3) }, member)]],
    [10, () => ['GEOSEARCH', key(), ...searchOptions(false)]],
    [4, () => ['GEOSEARCHSTORE', key(), key(), ...searchOptions(true)]],
    [5, () => {
      const readOnly = r() < 0.4;
      return [readOnly ? 'GEORADIUS_RO' : 'GEORADIUS', key(), longitude(r), latitude(r), radius(), unit(), ...radiusOptions(readOnly)];
    }],
    [5, () => {
      const readOnly = r() < 0.4;
      return [readOnly ? 'GEORADIUSBYMEMBER_RO' : 'GEORADIUSBYMEMBER', key(), member(), radius(), unit(), ...radiusOptions(readOnly)];
    }],
    [2, () => ['ZRANGE', key(), '0', '-1', 'WITHSCORES']],
    [2, () => ['ZADD', key(), pick(r, ['0', '1', '3471579339700058', '4503599627370495', '4503599627370496', '-1', '1.5']), member()]],
    [2, () => ['ZREM', key(), member()]],
    [1, () => ['OBJECT', 'ENCODING', key()]],
    [1, () => ['DEL', key()]],
    [1, () => ['SET', key(), 'x']],
    [1, () => ['INFO', 'persistence']],
    [1, () => pick(r, [['GEOADD', key(), '1', '2'], ['GEOADD', key(), 'NX'], ['GEODIST', key(), 'm1'], ['GEOPOS'], ['GEOSEARCH', key()],
      ['GEORADIUS', key(), '1', '2', '3'], ['GEORADIUSBYMEMBER', key(), 'm1', '3'], ['GEOSEARCHSTORE', key()], ['GEOHASH']])],
  ];
  const setup: Arg[][] = [['CONFIG', 'SET', 'zset-max-listpack-entries', pick(r, ['128', '128', '4', '0'])]];
  return buildProgram(r, { setup, count: STEPS, generators, keys: KEYS, resp3: seed % 3 === 0 });
}

describeFuzz('geo commands', FILE, [1, 2, 3, 4, 5, 6], program, { normalize: normalizeInfo });

// A command's latency distribution as Redis 7.0 keeps it (latency-tracking): an HDR histogram
// of nanoseconds from 1 to 1e9 with 2 significant digits, read as percentiles (INFO
// latencystats) and as a cumulative distribution over power-of-two buckets (LATENCY HISTOGRAM).
// Only the arithmetic of HdrHistogram that those two readings need.

const MIN_NS = 1;
const MAX_NS = 1_000_000_000;
/** 2 significant digits: 256 sub-buckets per bucket, the lower half shared with the bucket below. */
const SUB_BUCKET_HALF_MAGNITUDE = 7;
const SUB_BUCKET_HALF = 1 << SUB_BUCKET_HALF_MAGNITUDE;
const SUB_BUCKET_MASK = 2 * SUB_BUCKET_HALF - 1;
/** Enough buckets for values up to MAX_NS (2^30 > 1e9). */
const COUNTS = 24 * SUB_BUCKET_HALF;

function bucketIndex(v: number): number {
  return 32 - Math.clz32(v | SUB_BUCKET_MASK) - (SUB_BUCKET_HALF_MAGNITUDE + 1);
}

function countsIndex(v: number): number {
  const bucket = bucketIndex(v);
  const sub = v >>> bucket;
  return ((bucket + 1) << SUB_BUCKET_HALF_MAGNITUDE) + (sub - SUB_BUCKET_HALF);
}

function valueAtIndex(index: number): number {
  let bucket = (index >> SUB_BUCKET_HALF_MAGNITUDE) - 1;
  let sub = (index & (SUB_BUCKET_HALF - 1)) + SUB_BUCKET_HALF;
  if (bucket < 0) {
    sub -= SUB_BUCKET_HALF;
    bucket = 0;
  }
  return sub * 2 ** bucket;
}

/** The largest value recorded in the same slot as `v`. */
export function highestEquivalent(v: number): number {
  const bucket = bucketIndex(v);
  const sub = Math.floor(v / 2 ** bucket);
  const adjusted = sub >= 2 * SUB_BUCKET_HALF ? bucket + 1 : bucket;
  return sub * 2 ** bucket + 2 ** adjusted - 1;
}

export class LatencyHistogram {
  private readonly counts = new Uint32Array(COUNTS);
  total = 0;

  /** Records `count` calls of `usec` microseconds (Redis measures whole microseconds). */
  record(usec: number, count = 1): void {
    const ns = Math.min(MAX_NS, Math.max(MIN_NS, Math.round(usec) * 1000));
    this.counts[countsIndex(ns)] += count;
    this.total += count;
  }

  /** hdr_value_at_percentile, in nanoseconds. */
  valueAtPercentile(percentile: number): number {
    const requested = Math.min(percentile, 100);
    const countAt = Math.max(1, Math.floor((requested / 100) * this.total + 0.5));
    let seen = 0;
    for (let i = 0; i < COUNTS; i++) {
      seen += this.counts[i];
      if (seen >= countAt) {
        const v = valueAtIndex(i);
        return percentile === 0 ? v : highestEquivalent(v);
      }
    }
    return 0;
  }

  /**
   * LATENCY HISTOGRAM's histogram_usec: [bucket upper bound in microseconds, calls up to it]
   * over power-of-two buckets from 1024 ns, only where the cumulative count grew (Redis's
   * fillCommandCDF over hdr_iter_log_init(1024, 2)).
   */
  cumulative(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    let level = 1024;
    let seen = 0;
    let previous = 0;
    let index = 0;
    while (previous < this.total && level <= 2 * MAX_NS) {
      const limit = highestEquivalent(level);
      // Every slot whose values are all at most the level's highest equivalent.
      while (index < COUNTS && valueAtIndex(index) <= limit) seen += this.counts[index++];
      if (seen > previous) out.push([Math.floor(limit / 1000), seen]);
      previous = seen;
      level *= 2;
    }
    return out;
  }
}

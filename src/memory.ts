// Memory housekeeping, once a second from the cron: the purge that Redis's jemalloc does on
// its own. Socket reads land in one static Buffer, but reply Buffers, partial requests and big
// values still leave Buffers whose C memory is released only when V8 collects the Buffer
// object, and V8 decides when to collect from its own (small) heap, not from that external
// memory: after a burst, tens of MB of dead Buffers can wait for a collection that never comes
// while the server idles. And glibc keeps the pages
// they leave free among long-lived keys. So: a young-generation collection once dead
// ArrayBuffer memory passes a threshold (a full collection when that was not enough: Buffers
// that lived long enough to be promoted, such as a dropped client's queued output), and
// malloc_trim once the C heap holds much free memory.
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { native } from './native';

const ARRAY_BUFFERS_THRESHOLD = 8 * 1024 * 1024;
const FREE_HEAP_BEFORE_TRIM = 16 * 1024 * 1024;

/** Memory figures at one instant (INFO memory, MEMORY STATS, maxmemory). */
export interface MemorySample {
  /** used_memory: the addon's allocations (counted as it allocates) + the rest of the process's. */
  used: number;
  /** Free memory the allocators hold (C heap and V8 heap). */
  free: number;
  /** Of `used`, what the addon holds (the keyspace), counted exactly. */
  addon: number;
}

/**
 * used_memory, as Redis's zmalloc counts it: what the server holds, not what waits for a
 * garbage collector.
 * - The addon's allocations (the keyspace...) are counted exactly as they happen
 *   (native/src/alloc.rs).
 * - Client buffers (pending input, queued MULTI commands, unsent output) are counted exactly.
 * - The rest of the process (Node's own C heap, V8's heap) is sampled, leaving out where
 *   garbage waits for V8's collector: dead Buffers (Buffers are counted through the client
 *   buffers that hold them), the young generation (request-sized objects that die young), and
 *   what the old generation gained since V8's last full collection (its size right after that
 *   collection is what is live), and short swings of Node's own C heap (its lowest figure of the
 *   last 5 seconds). Counting garbage would make eviction throw away keys to make room for it.
 * The sample is handed to the addon, which adds it to its own count for every maxmemory check
 * until the next sample (the cron samples while maxmemory is set). Also keeps
 * used_memory_startup and the peak.
 */
export class MemoryAccounting {
  readonly startup: number;
  peak: number;
  /** V8's old generation right after its last full collection (null before the first one). */
  private v8Live: number | null = null;
  /**
   * Node's own C heap (beyond the addon and Buffers) swings by megabytes within a second as
   * Buffers are freed and V8 compiles: its lowest value of the last few seconds is what stays.
   */
  private readonly nodeHeap = new RecentMinimum(5000);

  /**
   * `clientBuffers`: what the clients' buffers hold; `notCounted`: the buffers maxmemory
   * ignores (mem_not_counted_for_evict).
   */
  constructor(
    private readonly clientBuffers: () => number,
    readonly notCounted: () => number,
  ) {
    const gcs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) this.v8Live = oldGeneration();
      }
    });
    gcs.observe({ entryTypes: ['gc'] });
    // One full collection at start-up: until V8's first one there is no live figure, and the
    // old generation would count whatever garbage start-up and then every promoted request
    // left in it (megabytes after a load of large commands) until V8 happened to collect.
    if (fullCollection) {
      fullCollection();
      this.v8Live = oldGeneration();
    }
    this.startup = this.sample().used;
    this.peak = this.startup;
  }

  sample(): MemorySample {
    const [cUsed, cFree, addon] = native.heapUsage();
    const heap = v8.getHeapStatistics();
    const nodeHeap = this.nodeHeap.add(Math.max(0, cUsed - addon - heap.external_memory), Date.now());
    const outside = nodeHeap + (this.v8Live ?? oldGeneration()) + this.clientBuffers();
    native.setMemoryOutside(outside, this.notCounted());
    const used = addon + outside;
    if (used > this.peak) this.peak = used;
    return { used, free: cFree + (heap.total_heap_size - heap.used_heap_size), addon };
  }
}

/** The smallest of the values added within the last `windowMs`. */
class RecentMinimum {
  private readonly values: Array<{ at: number; value: number }> = [];

  constructor(private readonly windowMs: number) {}

  add(value: number, now: number): number {
    const v = this.values;
    while (v.length > 0 && v[0].at < now - this.windowMs) v.shift();
    // A value at least as large as a newer one can never be the minimum again.
    while (v.length > 0 && v[v.length - 1].value >= value) v.pop();
    v.push({ at: now, value });
    return v[0].value;
  }
}

/** V8's heap in use outside the young generation. */
function oldGeneration(): number {
  let young = 0;
  for (const space of v8.getHeapSpaceStatistics()) {
    if (space.space_name === 'new_space' || space.space_name === 'new_large_object_space') young += space.space_used_size;
  }
  return v8.getHeapStatistics().used_heap_size - young;
}

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

/** V8's gc() (a plain call is a full collection), null when V8 refuses to expose it. */
const fullCollection = exposeGc();

/** V8's gc(), made reachable without starting node with --expose-gc. */
function exposeGc(): GcFunction | null {
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as GcFunction;
  } catch {
    return null;
  }
}

export class MemoryHousekeeping {
  private readonly gc = fullCollection;
  /** The last run found dead Buffers and tried a young-generation collection. */
  private triedMinor = false;

  /** MEMORY PURGE: a full collection, then the C heap's free pages back to the kernel. */
  purge(): void {
    this.gc?.();
    native.trimMemory();
  }

  /**
   * Called once a second. `liveBytes`: what the clients' buffers legitimately hold (pending
   * input and output), which no collection can free.
   */
  run(liveBytes: number): void {
    const dead = process.memoryUsage().arrayBuffers - liveBytes;
    if (this.gc && dead > ARRAY_BUFFERS_THRESHOLD) {
      // A plain gc() is V8's forced full collection, which also runs the weak callbacks that
      // release a closed socket's queued writes; gc({ type: 'major' }) does not.
      if (this.triedMinor) this.gc();
      else this.gc({ type: 'minor' });
      this.triedMinor = !this.triedMinor;
    } else {
      this.triedMinor = false;
    }
    // Buffers freed by a collection may be released a moment later: the next tick trims them.
    const [, free, , keptAtTop] = native.heapUsage();
    if (free - keptAtTop > FREE_HEAP_BEFORE_TRIM) native.trimMemory();
    else native.keepHeapAdvised();
  }
}

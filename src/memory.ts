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
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { native } from './native';

const ARRAY_BUFFERS_THRESHOLD = 8 * 1024 * 1024;
const FREE_HEAP_BEFORE_TRIM = 16 * 1024 * 1024;

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

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
  private readonly gc = exposeGc();
  /** The last run found dead Buffers and tried a young-generation collection. */
  private triedMinor = false;

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
    const [, free] = native.heapUsage();
    if (free > FREE_HEAP_BEFORE_TRIM) native.trimMemory();
  }
}

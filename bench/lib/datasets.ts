// The data the benchmarks load, generated deterministically so both servers get identical
// datasets. Commands are encoded straight into large Buffers (no per-command allocations) and
// sent pipelined over one socket, the fastest way to fill a server that has no DEBUG POPULATE.
import { Counter } from './progress';
import { RespClient } from './resp';

/** Encodes commands into one Buffer per batch. */
export class CommandBatch {
  private buf = Buffer.allocUnsafe(1 << 20);
  private len = 0;
  count = 0;

  add(args: ReadonlyArray<string>): void {
    // Worst case size: every argument latin1 one byte per char, plus headers.
    let need = 16;
    for (const a of args) need += a.length + 24;
    if (this.len + need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + need));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    this.len += this.buf.write(`*${args.length}\r\n`, this.len, 'latin1');
    for (const a of args) {
      this.len += this.buf.write(`$${a.length}\r\n`, this.len, 'latin1');
      this.len += this.buf.write(a, this.len, 'latin1');
      this.buf[this.len++] = 13;
      this.buf[this.len++] = 10;
    }
    this.count++;
  }

  get bytes(): number {
    return this.len;
  }

  /** The encoded commands; the batch is reset. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.len));
    this.len = 0;
    this.count = 0;
    return out;
  }
}

/** A dataset: how many keys and elements it has, and the commands that create key i. */
export interface Dataset {
  name: string;
  keys: number;
  /** Elements over all keys (a string counts as one). */
  elements: number;
  describe: string;
  commandsFor(i: number, into: CommandBatch): void;
  /** A write to key i during a copy-on-write measurement, null when key i takes none. */
  writeFor?(i: number): string[] | null;
}

const WRITE_VALUE = 'X'.repeat(100);

export const STRING_VALUE_BYTES = 100;

/**
 * The value DEBUG POPULATE <n> key 100 creates for key:i in Redis: "value:i" padded with zero
 * bytes to 100 bytes. Loading over RESP uses the very same bytes, so the dataset (and the RDB,
 * which LZF-compresses these values) is the same whichever way it was loaded.
 */
export function populateValue(i: number, size = STRING_VALUE_BYTES): string {
  const head = `value:${i}`;
  return head.length >= size ? head.slice(0, size) : head + '\0'.repeat(size - head.length);
}

export function stringDataset(keys: number): Dataset {
  return {
    name: `strings-${keys}`,
    keys,
    elements: keys,
    describe: `${keys.toLocaleString('en-US')} strings of ${STRING_VALUE_BYTES} bytes (key:N -> DEBUG POPULATE's value:N + zero padding)`,
    commandsFor(i, into) {
      into.add(['SET', `key:${i}`, populateValue(i)]);
    },
    writeFor: (i) => ['SET', `key:${i}`, WRITE_VALUE],
  };
}

type MixedKind = 'string' | 'hash' | 'list' | 'set' | 'zset';

/** 8 of every 20 keys are strings (40%), 3 each hashes, lists, sets and sorted sets (15% each). */
function mixedKind(i: number): MixedKind {
  const r = i % 20;
  if (r < 8) return 'string';
  if (r < 11) return 'hash';
  if (r < 14) return 'list';
  if (r < 17) return 'set';
  return 'zset';
}

export const MIXED_SMALL = 10;
export const MIXED_LARGE = 300;

/** One collection in twenty has 300 elements (beyond the listpack limits), the others 10. */
function mixedSize(i: number): number {
  return Math.floor(i / 20) % 20 === 7 ? MIXED_LARGE : MIXED_SMALL;
}

export function mixedKeyName(i: number): string {
  const kind = mixedKind(i);
  return kind === 'string' ? `key:${i}` : `${kind}:${i}`;
}

export function isMixedString(i: number): boolean {
  return mixedKind(i) === 'string';
}

export function mixedDataset(keys: number): Dataset {
  let elements = 0;
  for (let i = 0; i < keys; i++) elements += mixedKind(i) === 'string' ? 1 : mixedSize(i);
  return {
    name: `mixed-${keys}`,
    keys,
    elements,
    describe: `${keys.toLocaleString('en-US')} keys: 40% strings of ${STRING_VALUE_BYTES} bytes, 15% each hashes, lists, sets, sorted sets of ${MIXED_SMALL} elements (1 in 20 of ${MIXED_LARGE}); ${elements.toLocaleString('en-US')} elements`,
    commandsFor(i, into) {
      const kind = mixedKind(i);
      const key = mixedKeyName(i);
      if (kind === 'string') {
        into.add(['SET', key, populateValue(i)]);
        return;
      }
      const n = mixedSize(i);
      const args: string[] = [{ hash: 'HSET', list: 'RPUSH', set: 'SADD', zset: 'ZADD' }[kind], key];
      for (let j = 0; j < n; j++) {
        if (kind === 'hash') args.push(`field:${j}`, `v${j}:${i}`);
        else if (kind === 'zset') args.push(String((j * 7919) % 1000 / 10), `member:${j}:${i}`);
        else args.push(`member:${j}:${i}`);
      }
      into.add(args);
    },
    writeFor: (i) => (mixedKind(i) === 'string' ? ['SET', `key:${i}`, WRITE_VALUE] : null),
  };
}

export const STREAM_LENGTH = 1000;
export const STREAM_PENDING = 100;

/**
 * Streams of 1000 entries (two fields, a 40-byte payload), each with a consumer group holding
 * 100 pending entries of one consumer: `entries` entries in all.
 */
export function streamDataset(entries: number): Dataset {
  const keys = Math.max(1, Math.round(entries / STREAM_LENGTH));
  return {
    name: `streams-${keys * STREAM_LENGTH}`,
    keys,
    elements: keys * STREAM_LENGTH,
    describe: `${keys.toLocaleString('en-US')} streams of ${STREAM_LENGTH} entries (type + 40-byte payload), each with a consumer group of ${STREAM_PENDING} pending entries`,
    commandsFor(i, into) {
      const key = `stream:${i}`;
      for (let j = 1; j <= STREAM_LENGTH; j++) into.add(['XADD', key, `${j}-0`, 'type', `t${j % 7}`, 'payload', `${i}:${j}:`.padEnd(40, 'p')]);
      into.add(['XGROUP', 'CREATE', key, 'g', '0']);
      into.add(['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', String(STREAM_PENDING), 'STREAMS', key, '>']);
    },
    writeFor: (i) => ['XADD', `stream:${i}`, '*', 'type', 'write', 'payload', WRITE_VALUE],
  };
}

export interface LoadResult {
  seconds: number;
  commands: number;
  errors: number;
  firstError: string | null;
}

/**
 * Sends the dataset's commands pipelined, keeping a few batches in flight so the server never
 * waits for the client and the client never buffers the whole dataset.
 */
export async function loadDataset(client: RespClient, ds: Dataset, label: string): Promise<LoadResult> {
  const counter = new Counter(label, ds.keys);
  const inFlight: Promise<unknown>[] = [];
  const MAX_IN_FLIGHT = 4;
  const BATCH_BYTES = 512 * 1024;
  let errors = 0;
  let firstError: string | null = null;
  let commands = 0;
  const t0 = performance.now();
  const batch = new CommandBatch();
  const flush = async () => {
    const n = batch.count;
    if (n === 0) return;
    commands += n;
    const p = client.sendBatch(batch.take(), n).then((r) => {
      errors += r.errors;
      firstError ??= r.firstError;
    });
    inFlight.push(p);
    if (inFlight.length >= MAX_IN_FLIGHT) await inFlight.shift();
  };
  for (let i = 0; i < ds.keys; i++) {
    ds.commandsFor(i, batch);
    if (batch.bytes >= BATCH_BYTES) {
      await flush();
      counter.update(i + 1);
    }
  }
  await flush();
  await Promise.all(inFlight);
  const seconds = (performance.now() - t0) / 1000;
  counter.done(`in ${seconds.toFixed(1)} s`);
  return { seconds, commands, errors, firstError };
}

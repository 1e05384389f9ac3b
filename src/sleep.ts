// Blocking the whole server for a while, as Redis's usleep/nanosleep on its only thread does
// (DEBUG SLEEP, DEBUG AOF-FLUSH-SLEEP, waiting for a child to exit).

const cell = new Int32Array(new SharedArrayBuffer(4));

/** Sleeps `ms` milliseconds (fractions allowed) without returning to the event loop. */
export function sleepSync(ms: number): void {
  if (Number.isFinite(ms) && ms > 0) Atomics.wait(cell, 0, 0, ms);
}

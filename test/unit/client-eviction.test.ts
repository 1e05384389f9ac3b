// maxmemory-clients' arithmetic (server.c getClientEvictionLimit, networking.c's bucket of a
// client): the limit from bytes or a percentage of maxmemory, never under 128 KB, and the
// power-of-two size classes eviction empties from the largest down.
import { describe, expect, it } from 'vitest';
import { bucketOf, clientEvictionLimit } from '../../src/client-eviction';

describe('client eviction limit', () => {
  it('0 is off, bytes are bytes, a smaller limit is raised to 128 KB', () => {
    expect(clientEvictionLimit(0, 0)).toBe(0);
    expect(clientEvictionLimit(0, 1 << 30)).toBe(0);
    expect(clientEvictionLimit(5_000_000, 0)).toBe(5_000_000);
    expect(clientEvictionLimit(1000, 0)).toBe(128 * 1024);
    expect(clientEvictionLimit(131071, 0)).toBe(131072);
  });

  it('a percentage (stored negative) is of maxmemory, and means no limit while maxmemory is 0', () => {
    expect(clientEvictionLimit(-10, 0)).toBe(0);
    expect(clientEvictionLimit(-10, 100 * 1024 * 1024)).toBe(10 * 1024 * 1024);
    expect(clientEvictionLimit(-1, 200 * 1024 * 1024)).toBe(2 * 1024 * 1024);
    expect(clientEvictionLimit(-100, 3_000_000)).toBe(3_000_000);
    // 1% of 1 MB is 10485 bytes: raised to the floor.
    expect(clientEvictionLimit(-1, 1024 * 1024)).toBe(128 * 1024);
  });
});

describe('client eviction size classes', () => {
  it('up to 32 KB is the first; each next one holds up to twice as much; 4 GB and more is the last', () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(768)).toBe(0);
    expect(bucketOf(32767)).toBe(0);
    expect(bucketOf(32768)).toBe(1);
    expect(bucketOf(65535)).toBe(1);
    expect(bucketOf(65536)).toBe(2);
    expect(bucketOf(2 ** 31)).toBe(17);
    expect(bucketOf(2 ** 32 - 1)).toBe(17);
    expect(bucketOf(2 ** 32)).toBe(18);
    expect(bucketOf(2 ** 40)).toBe(18);
  });
});

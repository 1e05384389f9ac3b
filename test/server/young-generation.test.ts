// V8's young generation keeps its start-up size (src/young-generation.ts): a burst of requests
// that TypeScript reads (each longer than the 16 KB the addon keeps between reads) does not make
// it grow, so a fresh server's RSS grows with its data, not with V8's semispaces (by default
// they double up to 2 x 16 MB and stay resident: +3-5 MB after a few MB of such requests).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { replyText } from '../helpers/info';
import { RawConnection } from '../helpers/resp';
import { startKeyfork } from '../helpers/servers';

/** V8's new space size from MEMORY MALLOC-STATS ("V8 new_space: used U, size S"). */
async function newSpaceSize(c: RawConnection): Promise<number> {
  const stats = replyText(await c.send('MEMORY', 'MALLOC-STATS'));
  const m = /V8 new_space: used \d+, size (\d+)/.exec(stats);
  if (!m) throw new Error(`no new_space line in MEMORY MALLOC-STATS:\n${stats}`);
  return Number(m[1]);
}

/** The new space a fresh Node process starts with (V8's initial semispaces), in bytes. */
function initialNewSpace(): number {
  const script = "console.log(require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size)";
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'latin1' }).trim());
}

describe("V8's young generation", () => {
  it('keeps its start-up size through a burst of long requests read by TypeScript', async () => {
    const server = await startKeyfork({});
    try {
      const c = await RawConnection.connect(server.port);
      const initial = initialNewSpace();
      // By default the server's start-up alone doubles it three times (1 -> 8 MB here); with the
      // flag set first thing, Node's bootstrap before it leaves it at most one doubling up.
      const before = await newSpaceSize(c);
      expect(before, `new space ${before} bytes at start-up, ${initial} in a fresh node -e`).toBeLessThanOrEqual(2 * initial);
      // 300 HSETs of 1000 fields (~20 KB each, 6 MB in all), 50 per pipeline.
      for (let batch = 0; batch < 6; batch++) {
        const commands = [];
        for (let k = 0; k < 50; k++) {
          const args = ['HSET', `hash:${batch}:${k}`];
          for (let f = 0; f < 1000; f++) args.push(`f${f}`, `m:${f}:${batch * 50 + k}`);
          commands.push(args);
        }
        for (const reply of await c.pipeline(commands)) expect(reply).toEqual({ t: 'int', v: 1000 });
      }
      const after = await newSpaceSize(c);
      c.close();
      // Growth is what the flag prevents; V8 may still shrink the space when the machine is
      // busy (seen under load: 2 MB -> 1 MB), which costs nothing.
      expect(after, `new space ${before} -> ${after} bytes`).toBeLessThanOrEqual(before);
    } finally {
      await server.stop();
    }
  }, 60_000);
});

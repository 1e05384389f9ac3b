// WATCH and keys with a TTL, against redis-server 7.0 (issue 16): a key that was already
// logically expired when watched is not "changed" by its deletion (DEL, FLUSHDB, SWAPDB, lazy or
// active expiry); a key that expires between WATCH and EXEC fails EXEC; SWAPDB only touches
// watched keys whose visible value changed. Generated sequences on several clients, with TTLs
// that have surely passed (PX 1 then DEBUG SLEEP) or surely not, and active expiry on and off.
import { describe, expect, it } from 'vitest';
import { compareOnConnections, describeDifferential, formatMismatches, useBothServers, type BothServers } from '../helpers/diff';
import { pick, rng } from '../helpers/random';
import { RawConnection } from '../helpers/resp';

const CLIENTS = 3;
const KEYS = ['k1', 'k2'];

/** The steps of one generated run: [client, command] (an "expire now" is SET PX 1 + DEBUG SLEEP). */
function generate(seed: number, steps: number): Array<[number, string[]]> {
  const r = rng(seed);
  const inMulti = new Array<boolean>(CLIENTS).fill(false);
  const out: Array<[number, string[]]> = [];
  for (let i = 0; i < steps; i++) {
    const c = Math.floor(r() * CLIENTS);
    const k = pick(r, KEYS);
    if (inMulti[c]) {
      const cmd = pick(r, [['EXEC'], ['EXEC'], ['DISCARD'], ['PING'], ['SET', k, 'q'], ['GET', k]]);
      if (cmd[0] === 'EXEC' || cmd[0] === 'DISCARD') inMulti[c] = false;
      out.push([c, cmd]);
      continue;
    }
    const roll = r();
    if (roll < 0.22) out.push([c, ['WATCH', k]]);
    else if (roll < 0.32) {
      out.push([c, ['MULTI']]);
      inMulti[c] = true;
    } else if (roll < 0.44) {
      out.push([c, ['SET', k, 'gone', 'PX', '1']]);
      out.push([c, ['DEBUG', 'SLEEP', '0.003']]);
    } else if (roll < 0.5) out.push([c, ['SET', k, 'later', 'PX', '100000']]);
    else if (roll < 0.56) out.push([c, ['SET', k, 'v']]);
    else if (roll < 0.62) out.push([c, ['DEL', k]]);
    else if (roll < 0.68) out.push([c, ['GET', k]]);
    else if (roll < 0.72) out.push([c, ['EXPIRE', k, '100']]);
    else if (roll < 0.76) out.push([c, ['FLUSHDB']]);
    else if (roll < 0.82) out.push([c, ['SWAPDB', '0', '1']]);
    else if (roll < 0.88) out.push([c, ['SELECT', pick(r, ['0', '1'])]]);
    else if (roll < 0.92) out.push([c, ['UNWATCH']]);
    else if (roll < 0.96) out.push([c, ['DEBUG', 'SET-ACTIVE-EXPIRE', pick(r, ['0', '1'])]]);
    else out.push([c, ['EXISTS', k]]);
  }
  for (let c = 0; c < CLIENTS; c++) if (inMulti[c]) out.push([c, ['EXEC']]);
  return out;
}

describeDifferential('WATCH and expiring keys vs redis-server 7.0', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s), { keyfork: { args: ['--save', '', '--enable-debug-command', 'yes'] } });

  async function runSteps(steps: Array<[number, string[]]>): Promise<string> {
    const pairs = await Promise.all(
      Array.from({ length: CLIENTS }, async () => [await RawConnection.connect(servers.keyfork.port), await RawConnection.connect(servers.redis.port)] as const),
    );
    try {
      await compareOnConnections(pairs[0][0], pairs[0][1], [['FLUSHALL'], ['DEBUG', 'SET-ACTIVE-EXPIRE', '1']]);
      const report: string[] = [];
      for (const [i, [c, cmd]] of steps.entries()) {
        const mismatches = await compareOnConnections(pairs[c][0], pairs[c][1], [cmd]);
        if (mismatches.length) {
          const context = steps.slice(Math.max(0, i - 12), i).map(([cc, x]) => `  c${cc}: ${x.join(' ')}`).join('\n');
          report.push(`step ${i} on client ${c}:\n${context}\n${formatMismatches(mismatches)}`);
          break;
        }
      }
      return report.join('\n');
    } finally {
      for (const [k, r] of pairs) {
        k.close();
        r.close();
      }
    }
  }

  it('the cases of the issue, one by one', async () => {
    const cases: Array<Array<[number, string[]]>> = [
      // Expired when watched, then lazily deleted (GET) / DEL / FLUSHDB / EXPIRE: EXEC runs.
      ...[['GET', 'k1'], ['DEL', 'k1'], ['FLUSHDB'], ['EXPIRE', 'k1', '100']].map((touch): Array<[number, string[]]> => [
        [0, ['DEBUG', 'SET-ACTIVE-EXPIRE', '0']], [0, ['SET', 'k1', 'v', 'PX', '1']], [0, ['DEBUG', 'SLEEP', '0.003']],
        [0, ['WATCH', 'k1']], [1, touch], [0, ['MULTI']], [0, ['PING']], [0, ['EXEC']],
      ]),
      // Expired when watched, then set again: EXEC fails.
      [[0, ['SET', 'k1', 'v', 'PX', '1']], [0, ['DEBUG', 'SLEEP', '0.003']], [0, ['WATCH', 'k1']], [1, ['SET', 'k1', 'new']],
        [0, ['MULTI']], [0, ['PING']], [0, ['EXEC']]],
      // Live when watched, expires before EXEC (deleted or not): EXEC fails.
      [[0, ['SET', 'k1', 'v', 'PX', '300']], [0, ['WATCH', 'k1']], [0, ['DEBUG', 'SLEEP', '0.4']], [0, ['MULTI']], [0, ['PING']], [0, ['EXEC']]],
      [[0, ['SET', 'k1', 'v', 'PX', '300']], [0, ['WATCH', 'k1']], [0, ['DEBUG', 'SLEEP', '0.4']], [1, ['GET', 'k1']], [0, ['MULTI']], [0, ['EXEC']]],
      // SWAPDB: an expired key swapped for an expired one, or an absent one for an expired one, is no change.
      [[0, ['SET', 'k1', 'v', 'PX', '1']], [0, ['SELECT', '1']], [0, ['SET', 'k1', 'w', 'PX', '1']], [0, ['SELECT', '0']],
        [0, ['DEBUG', 'SLEEP', '0.003']], [0, ['WATCH', 'k1']], [1, ['SWAPDB', '0', '1']], [0, ['MULTI']], [0, ['EXEC']]],
      [[0, ['SELECT', '1']], [0, ['SET', 'k1', 'w', 'PX', '1']], [0, ['SELECT', '0']], [0, ['DEBUG', 'SLEEP', '0.003']],
        [0, ['WATCH', 'k1']], [1, ['SWAPDB', '0', '1']], [1, ['GET', 'k1']], [0, ['MULTI']], [0, ['EXEC']]],
      [[0, ['SET', 'k1', 'v', 'PX', '1']], [0, ['SELECT', '1']], [0, ['SET', 'k1', 'live']], [0, ['SELECT', '0']],
        [0, ['DEBUG', 'SLEEP', '0.003']], [0, ['WATCH', 'k1']], [1, ['SWAPDB', '0', '1']], [0, ['MULTI']], [0, ['EXEC']]],
    ];
    for (const steps of cases) {
      const withReset: Array<[number, string[]]> = [...steps, [0, ['UNWATCH']], [1, ['SELECT', '0']], [0, ['SELECT', '0']], [0, ['DEBUG', 'SET-ACTIVE-EXPIRE', '1']]];
      expect(await runSteps(withReset)).toBe('');
    }
  }, 60_000);

  describe('generated sequences', () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) {
      it(`seed ${seed}`, async () => {
        expect(await runSteps(generate(seed, 400))).toBe('');
      }, 60_000);
    }
  });
});

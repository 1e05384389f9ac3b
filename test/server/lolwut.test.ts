// LOLWUT against redis-server 7.0: its own version prints the version line, VERSION 5 and 6 draw
// (byte for byte where Redis's drawing involves no randomness, by shape where it calls rand()).
import { expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches, useBothServers, type BothServers } from '../helpers/diff';
import { RawConnection, type Reply } from '../helpers/resp';

describeDifferential('LOLWUT vs redis-server 7.0', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s));

  it('the version line, VERSION parsing, and the deterministic drawings (Schotter without its random rows)', async () => {
    const commands: string[][] = [
      ['LOLWUT'], ['LOLWUT', 'foo', 'bar'], ['LOLWUT', 'VERSION'], ['LOLWUT', 'version', '7'], ['LOLWUT', 'VERSION', '1'],
      ['LOLWUT', 'VERSION', '4'], ['LOLWUT', 'VERSION', '-1'], ['LOLWUT', 'VERSION', 'x'], ['LOLWUT', 'VERSION', '5', 'x'],
      ['LOLWUT', 'VERSION', '6', '1', 'y'], ['LOLWUT', 'VERSION', '99999999999999999999'],
    ];
    for (const cols of ['1', '2', '3', '10', '33', '66', '1001', '-5']) {
      for (const perRow of ['1', '3', '8', '250']) {
        for (const perCol of ['1', '2', '0']) commands.push(['LOLWUT', 'VERSION', '5', cols, perRow, perCol]);
      }
    }
    for (const resp3 of [false, true]) {
      expect(formatMismatches(await compareSequences(commands, { servers, resp3 }))).toBe('');
    }
  });

  /** The text of a verbatim (RESP3) reply. */
  const text = (r: Reply): string => {
    if (r.t === 'verbatim') return r.v.toString('utf8');
    throw new Error(`not a verbatim string: ${JSON.stringify(r)}`);
  };
  const CELL = /\x1b\[0;(30;40|90;100|37;47|97;107)m \x1b\[0m/g;

  /** Lines, the width of each in characters (Braille) or cells (colours), and the credits. */
  function shape(s: string): { widths: number[]; credits: string } {
    const lines = s.split('\n');
    const art = lines.filter((l) => l !== '' && (l.startsWith('\x1b') || /^[\u2800-\u28ff]+$/.test(l)));
    return {
      widths: art.map((l) => (l.startsWith('\x1b') ? (l.match(CELL) ?? []).length : [...l].length)),
      credits: lines.filter((l) => !art.includes(l)).join('\n'),
    };
  }

  it('the random drawings have Redis\'s shape, cells and credits', async () => {
    const [k, r] = await Promise.all([RawConnection.connect(servers.keyfork.port, { resp3: true }), RawConnection.connect(servers.redis.port, { resp3: true })]);
    try {
      for (const cmd of [['LOLWUT', 'VERSION', '5'], ['LOLWUT', 'VERSION', '5', '40', '5', '9'], ['LOLWUT', 'VERSION', '6'],
        ['LOLWUT', 'VERSION', '6', '33', '7'], ['LOLWUT', 'VERSION', '6', '1', '1']]) {
        const [ks, rs] = [shape(text(await k.send(...cmd))), shape(text(await r.send(...cmd)))];
        expect(ks, cmd.join(' ')).toEqual(rs);
      }
    } finally {
      k.close();
      r.close();
    }
  });
});

// MODULE on a server without modules, against redis-server 7.0: LOAD, LOADEX and UNLOAD behind
// enable-module-command (refused by default, as Redis does), their replies and log lines.
import { expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches, withBothServers } from '../helpers/diff';

const COMMANDS: string[][] = [
  ['MODULE', 'LIST'], ['MODULE', 'LOAD', '/nonexistent/mod.so'], ['MODULE', 'LOAD', '/nonexistent/mod.so', 'a', 'b'],
  ['MODULE', 'LOADEX', '/nonexistent/mod.so'], ['MODULE', 'LOADEX', '/nonexistent/mod.so', 'CONFIG', 'a', 'b', 'ARGS', 'c'],
  ['MODULE', 'LOADEX', '/nonexistent/mod.so', 'CONFIG', 'a'], ['MODULE', 'LOADEX', '/nonexistent/mod.so', 'FOO'],
  ['MODULE', 'UNLOAD', 'x'], ['MODULE', 'HELP'], ['MODULE', 'help', 'x'], ['MODULE', 'NOSUCH'], ['MODULE'], ['MODULE', 'LIST', 'x'],
  ['MODULE', 'UNLOAD'], ['MODULE', 'LOAD'],
];

describeDifferential('MODULE vs redis-server 7.0', () => {
  for (const setting of ['no', 'yes', 'local']) {
    it(`enable-module-command ${setting}`, async () => {
      const args = ['--enable-module-command', setting];
      await withBothServers(async (servers) => {
        const mismatches = await compareSequences(COMMANDS, { servers });
        expect(formatMismatches(mismatches)).toBe('');
        if (setting !== 'no') {
          // The same log lines (notice for LOADEX's syntax, a warning for the failed load).
          for (const line of ['# Module /nonexistent/mod.so failed to load: /nonexistent/mod.so: cannot open shared object file: No such file or directory',
            '* CONFIG specified without name value pair', '* Syntax Error from arguments to loadex around FOO.']) {
            expect(servers.keyfork.output(), line).toContain(line);
            expect(servers.redis.output(), line).toContain(line);
          }
        }
      }, { keyfork: { args: ['--save', '', ...args] }, redis: { args } });
    });
  }
});

// keyfork/testing: a keyfork for a whole test run, the way redis-memory-server users expect it.
// The global setup starts one server (a child process, see startServer()) before the test
// files run and exports its address as REDIS_URL (plus REDIS_HOST and REDIS_PORT); the teardown
// stops it. Test files then connect to process.env.REDIS_URL.
//
//   vitest.config.ts:  test: { globalSetup: ['keyfork/testing/vitest'] }
//   jest.config.js:    globalSetup: 'keyfork/testing/jest-setup', globalTeardown: 'keyfork/testing/jest-teardown'
//
// Custom configuration: a setup file of your own that exports keyforkGlobalSetup({ config: ... }).
import { startServer, type RunningServer, type StartOptions } from '../index';

export { startServer };
export type { RunningServer, StartOptions };

/** The environment a started server exports to the test files. */
export function exportToEnv(server: RunningServer): void {
  process.env.REDIS_URL = server.url;
  process.env.REDIS_HOST = server.host;
  process.env.REDIS_PORT = String(server.port);
}

/** Starts a server for the test run; the returned function stops it (vitest's teardown shape). */
export function keyforkGlobalSetup(options: StartOptions = {}): (project?: { provide?: (key: string, value: unknown) => void }) => Promise<() => Promise<void>> {
  return async (project) => {
    const server = await startServer(options);
    exportToEnv(server);
    // vitest's inject('REDIS_URL') works too, whatever the pool.
    project?.provide?.('REDIS_URL', server.url);
    return () => server.close();
  };
}

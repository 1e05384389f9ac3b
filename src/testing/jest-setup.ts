// jest: globalSetup: 'keyfork/testing/jest-setup' starts one keyfork for the run and sets
// process.env.REDIS_URL, which jest's workers inherit; jest-teardown stops it.
import { startServer } from '../index';
import { exportToEnv } from './index';
import { RUNNING_KEY } from './jest-teardown';

export default async function keyforkJestSetup(): Promise<void> {
  const server = await startServer();
  exportToEnv(server);
  // globalSetup and globalTeardown share jest's main process: the server waits here.
  (globalThis as Record<string, unknown>)[RUNNING_KEY] = server;
}

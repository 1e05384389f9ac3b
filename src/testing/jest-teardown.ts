// jest: globalTeardown: 'keyfork/testing/jest-teardown' stops the server jest-setup started.
import type { RunningServer } from '../index';

export const RUNNING_KEY = '__keyforkTestServer';

export default async function keyforkJestTeardown(): Promise<void> {
  const server = (globalThis as Record<string, unknown>)[RUNNING_KEY] as RunningServer | undefined;
  delete (globalThis as Record<string, unknown>)[RUNNING_KEY];
  await server?.close();
}

// vitest: test: { globalSetup: ['keyfork/testing/vitest'] } starts one keyfork for the run and
// sets process.env.REDIS_URL (also inject('REDIS_URL')); the returned teardown stops it.
import { keyforkGlobalSetup } from './index';

export default keyforkGlobalSetup();

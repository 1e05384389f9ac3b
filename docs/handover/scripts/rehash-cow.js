// Copy-on-write of writes made while a BGSAVE child runs and the keyspace table is in the
// middle of a rehash: 2^19 + 1 keys SET (the last starts the growth to 2^20 buckets; with
// activerehashing off nothing moves it on before the fork), a slowed-down BGSAVE, then 1000
// new keys. Prints rdb_last_cow_size. Decides whether an ongoing rehash should keep moving a
// bucket per command while a child exists (Redis 7.0) or pause (7.2; keyfork's choice).
// Usage: node docs/handover/scripts/rehash-cow.js [keyforkMainJs] [keyfork|redis]
// (after npm run build; BENCH_DIST=dir of dist/bench/lib to use another build's bench lib)
const path = require('path');
const B = process.env.BENCH_DIST || path.resolve(__dirname, '../../../dist/bench/lib');
const { startServer, sleep } = require(path.join(B, 'servers'));
const { encodeCommand } = require(path.join(B, 'resp'));
const mainJs = process.argv[2] || path.resolve(__dirname, '../../../dist/src/main.js');
const tools = { keyforkMain: mainJs, redisServer: '/usr/bin/redis-server', redisBenchmark: null, taskset: null, notes: [] };
const field = (t, n) => (new RegExp(`^${n}:(.*)$`, 'm').exec(String(t)) || [])[1];
const setBatch = (keys) => Buffer.concat(keys.map((k) => encodeCommand(['SET', k, 'x'.repeat(100)])));
(async () => {
  const kind = process.argv[3] || 'keyfork';
  const server = await startServer(tools, kind, { args: ['--activerehashing', 'no'] });
  try {
    const total = (1 << 19) + 1;
    for (let i = 0; i < total; i += 1000) {
      const keys = Array.from({ length: Math.min(1000, total - i) }, (_, j) => `key:${i + j}`);
      await server.client.sendBatch(setBatch(keys), keys.length);
    }
    await server.client.call('CONFIG', 'SET', 'rdb-key-save-delay', '-20');
    await server.client.call('BGSAVE');
    await sleep(300);
    const fresh = Array.from({ length: 1000 }, (_, i) => `new:${i}`);
    const t0 = performance.now();
    await server.client.sendBatch(setBatch(fresh), 1000);
    const ms = performance.now() - t0;
    const inProgress = field(await server.client.call('INFO', 'persistence'), 'rdb_bgsave_in_progress');
    while (field(await server.client.call('INFO', 'persistence'), 'rdb_bgsave_in_progress') === '1') await sleep(50);
    const p = await server.client.call('INFO', 'persistence');
    console.log(`${kind} ${mainJs}: 1000 new keys took ${ms.toFixed(0)} ms (save still running after them: ${inProgress}); rdb_last_cow_size ${(Number(field(p, 'rdb_last_cow_size')) / 1e6).toFixed(2)} MB; dbsize ${await server.client.call('DBSIZE')}`);
  } finally { await server.stop(); }
})().catch((e) => { console.error(e); process.exit(1); });

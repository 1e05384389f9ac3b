// Dict growth during a save: 1,048,000 keys (the table has 2^20 buckets), a slowed-down
// BGSAVE, then 1000 new keys (the 577th makes the table due to grow). Prints the CoW and how
// long the batch of new keys took.
// Usage: node docs/handover/scripts/cow-resize.js [keyforkMainJs] [keyfork|redis]
const path = require('path');
const fs = require('fs');
const B = process.env.BENCH_DIST || path.resolve(__dirname, '../../../dist/bench/lib');
const { startServer, sleep } = require(path.join(B, 'servers'));
const { CommandBatch } = require(path.join(B, 'datasets'));
const mainJs = process.argv[2] || path.resolve(__dirname, "../../../dist/src/main.js");
const tools = { keyforkMain: mainJs, redisServer: '/usr/bin/redis-server', redisBenchmark: null, taskset: null, notes: [] };
const field = (t, n) => (new RegExp(`^${n}:(.*)$`, 'm').exec(String(t)) || [])[1];
(async () => {
  const kind = process.argv[3] || 'keyfork';
  const server = await startServer(tools, kind);
  try {
    await server.client.call('DEBUG', 'POPULATE', 1048000, 'key', 100);
    await sleep(1500);
    await server.client.call('CONFIG', 'SET', 'rdb-key-save-delay', '-20');
    await server.client.call('BGSAVE');
    await sleep(300);
    const batch = new CommandBatch();
    for (let i = 0; i < 1000; i++) batch.add(['SET', `new:${i}`, 'x'.repeat(100)]);
    const t0 = performance.now();
    await server.client.sendBatch(batch.take(), 1000);
    const ms = performance.now() - t0;
    const inProgress = field(await server.client.call('INFO', 'persistence'), 'rdb_bgsave_in_progress');
    while (field(await server.client.call('INFO', 'persistence'), 'rdb_bgsave_in_progress') === '1') await sleep(50);
    const p = await server.client.call('INFO', 'persistence');
    console.log(`${kind} ${mainJs}: 1000 new keys took ${ms.toFixed(0)} ms (save still running after them: ${inProgress}); rdb_last_cow_size ${(Number(field(p, 'rdb_last_cow_size')) / 1e6).toFixed(1)} MB; dbsize ${await server.client.call('DBSIZE')}`);
  } finally { await server.stop(); }
})().catch((e) => { console.error(e); process.exit(1); });

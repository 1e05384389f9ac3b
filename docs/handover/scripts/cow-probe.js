// CoW probe: load a dataset into one server, BGSAVE under a paced write load, sample the
// child's and the parent's smaps per mapping during the save. Usage:
// node docs/handover/scripts/cow-probe.js <keyfork|redis> <strings|mixed> <keys> [rate] [keyforkMainJs] [settleSec] [afterSec]
// It prints the child's Private_Dirty (what rdb_last_cow_size reports) against the writes sent so
// far ("curve"), the child's private memory per mapping and the parent's AnonHugePages before,
// during and after the save, then every 10 s for afterSec seconds (khugepaged re-collapsing).
// Env: FULL=1 samples the full smaps every 20 ms; STOP=1 freezes the parent (SIGSTOP) for the
// whole save, so the child's private memory is its own writes only; NEWKEYS=1 makes the writes
// create new keys. Needs redis-server at /usr/bin/redis-server for the redis kind.
const path = require('path');
const fs = require('fs');
const B = process.env.BENCH_DIST || path.resolve(__dirname, '../../../dist/bench/lib');
const { startServer, sleep } = require(path.join(B, 'servers'));
const { RespClient } = require(path.join(B, 'resp'));
const { CommandBatch, loadDataset, mixedDataset, stringDataset } = require(path.join(B, 'datasets'));
const [kind, dsName, keysText, rateText, mainJs, settleText, afterText] = process.argv.slice(2);
const keys = Number(keysText.replace(/M$/, '000000').replace(/k$/, '000'));
const rate = Number(rateText || 20000);
const settle = Number(settleText || 3);
const after = Number(afterText || 0);
const tools = { keyforkMain: mainJs || path.resolve(__dirname, '../../../dist/src/main.js'), redisServer: '/usr/bin/redis-server', redisBenchmark: null, taskset: null, notes: [] };

function smaps(pid) {
  let text;
  try { text = fs.readFileSync(`/proc/${pid}/smaps`, 'utf8'); } catch { return null; }
  const maps = [];
  let cur = null;
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) { cur = { start: m[1], size: (parseInt(m[2], 16) - parseInt(m[1], 16)) / 1024, name: m[3] || 'anon', f: {} }; maps.push(cur); continue; }
    const f = /^(\w+):\s+(\d+) kB/.exec(line);
    if (f && cur) cur.f[f[1]] = Number(f[2]);
    const v = /^VmFlags:(.*)$/.exec(line);
    if (v && cur) cur.flags = v[1].trim();
  }
  return maps;
}
function rollup(pid) { try { const t = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'); return Number(/Private_Dirty:\s+(\d+)/.exec(t)[1]); } catch { return null; } }
function sum(maps, field, pred = () => true) { return maps.filter(pred).reduce((a, m) => a + (m.f[field] || 0), 0); }
function category(m) {
  if (m.name === '[heap]') return '[heap]';
  if (m.name.startsWith('/')) return 'file:' + path.basename(m.name);
  if (m.name !== 'anon') return m.name;
  return m.flags && m.flags.includes('hg') ? 'anon(hg)' : 'anon';
}
function byCategory(maps, field) {
  const out = {};
  for (const m of maps) { const c = category(m); out[c] = (out[c] || 0) + (m.f[field] || 0); }
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).slice(0, 8));
}
function top(maps, field, n = 14) {
  return maps.filter((m) => (m.f[field] || 0) > 0).sort((a, b) => b.f[field] - a.f[field]).slice(0, n)
    .map((m) => `${m.start} ${Math.round(m.size / 1024)}MB ${category(m)} ${field}=${m.f[field]}kB rss=${m.f.Rss}kB thp=${m.f.AnonHugePages || 0}kB`);
}
function childOf(pid) {
  try { return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number); } catch { return []; }
}
function info(client, section) { return client.call('INFO', section).then((r) => String(r)); }
function field(text, name) { const m = new RegExp(`^${name}:(.*)$`, 'm').exec(text); return m ? m[1].trim() : null; }

(async () => {
  const ds = dsName === 'mixed' ? mixedDataset(keys) : stringDataset(keys);
  let fresh = 0;
  if (process.env.NEWKEYS) ds.writeFor = () => ['SET', `new:${fresh++}`, 'x'.repeat(100)];
  const server = await startServer(tools, kind);
  try {
    if (dsName === 'strings') await server.client.call('DEBUG', 'POPULATE', keys, 'key', 100);
    else await loadDataset(server.client, ds, 'load');
    await sleep(settle * 1000);
    const before = smaps(server.pid);
    console.log('parent before: Rss', sum(before, 'Rss'), 'kB, THP', sum(before, 'AnonHugePages'), 'kB', JSON.stringify(byCategory(before, 'Rss')));
    console.log('parent before THP by cat', JSON.stringify(byCategory(before, 'AnonHugePages')));
    const writer = await RespClient.connect(server.port);
    let x = 12345, stop = false, writes = 0;
    const next = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
    const perTick = Math.max(1, Math.round(rate / 100));
    const load = async () => {
      const batch = new CommandBatch();
      let due = performance.now();
      while (!stop) {
        for (let n = 0; n < perTick; n++) {
          let i = next() % ds.keys; let w = ds.writeFor(i);
          while (w === null) { i = (i + 1) % ds.keys; w = ds.writeFor(i); }
          batch.add(w);
        }
        const c = batch.count; const r = await writer.sendBatch(batch.take(), c); writes += r.replies - r.errors;
        due += 10; const wait = due - performance.now(); if (wait > 0) await sleep(wait);
      }
    };
    const t0 = performance.now();
    await server.client.call('BGSAVE');
    let child = null;
    for (let i = 0; i < 200 && !child; i++) { child = childOf(server.pid)[0] || null; if (!child) await sleep(1); }
    if (process.env.STOP) {
      // The parent frozen for the whole save: what the child reports is its own writes only.
      process.kill(server.pid, 'SIGSTOP');
      let last = null, lastR = null;
      const alive = () => { try { return !/\) [ZX] /.test(fs.readFileSync(`/proc/${child}/stat`, 'utf8')); } catch { return false; } };
      while (alive()) { const c = smaps(child); if (c && c.length) { last = c; } await sleep(10); }
      process.kill(server.pid, 'SIGCONT');
      await sleep(300);
      const p = await info(server.client, 'persistence');
      console.log(`STOPPED parent: rdb_last_cow_size ${(Number(field(p, 'rdb_last_cow_size')) / 1e6).toFixed(2)} MB; child last sample`, sum(last, 'Private_Dirty'), JSON.stringify(byCategory(last, 'Private_Dirty')));
      for (const l of top(last, 'Private_Dirty')) console.log('  child', l);
      return;
    }
    const loading = rate > 0 ? load() : Promise.resolve();
    let lastChild = null, lastParent = null, samples = 0, lastFull = 0;
    const curve = [];
    for (;;) {
      const p = await info(server.client, 'persistence');
      if (field(p, 'rdb_bgsave_in_progress') === '0') break;
      if (child) {
        const r = rollup(child);
        if (r !== null) curve.push([writes, r, Math.round(performance.now() - t0)]);
        if (process.env.FULL || performance.now() - lastFull > 700) { const c = smaps(child); if (c && c.length) { lastChild = c; lastParent = smaps(server.pid); samples++; lastFull = performance.now(); } }
      }
      await sleep(process.env.FULL ? 20 : 100);
    }
    console.log('curve (writes:childPrivateDirtyKB@ms):', curve.map(([w, r, t]) => `${w}:${r}@${t}`).join(' '));
    stop = true; await loading; writer.close();
    const ms = performance.now() - t0;
    const p = await info(server.client, 'persistence');
    const cow = Number(field(p, 'rdb_last_cow_size'));
    console.log(`save ${Math.round(ms)} ms, writes ${writes} (${Math.round(writes / ms * 1000)}/s), rdb_last_cow_size ${(cow / 1e6).toFixed(1)} MB = ${(cow / writes / 1024).toFixed(2)} KB/write, smaps samples ${samples}`);
    if (lastChild) {
      const pd = sum(lastChild, 'Private_Dirty');
      console.log(`child last sample: Private_Dirty ${pd} kB (${(pd / writes).toFixed(2)} KB/write so far)`, JSON.stringify(byCategory(lastChild, 'Private_Dirty')));
      const parentStarts = new Set(lastParent.map((m) => m.start));
      const childOnly = lastChild.filter((m) => !parentStarts.has(m.start));
      console.log('child-only mappings Private_Dirty', sum(childOnly, 'Private_Dirty'), 'kB; in both', pd - sum(childOnly, 'Private_Dirty'), 'kB');
      for (const l of top(lastChild, 'Private_Dirty')) console.log('  child', l, parentStarts.has(l.split(' ')[0]) ? 'shared-mapping' : 'CHILD-ONLY');
      console.log('parent at that time: Private_Dirty by cat', JSON.stringify(byCategory(lastParent, 'Private_Dirty')), 'Shared_Dirty', sum(lastParent, 'Shared_Dirty'));
      console.log('parent THP during', sum(lastParent, 'AnonHugePages'), JSON.stringify(byCategory(lastParent, 'AnonHugePages')));
    }
    const aft = smaps(server.pid);
    console.log('parent right after: THP', sum(aft, 'AnonHugePages'), 'kB', JSON.stringify(byCategory(aft, 'AnonHugePages')));
    if (after > 0) {
      for (let t = 0; t < after; t += 10) {
        await sleep(10000);
        const a = smaps(server.pid);
        console.log(`parent +${t + 10}s: THP ${sum(a, 'AnonHugePages')} kB ${JSON.stringify(byCategory(a, 'AnonHugePages'))}`);
      }
    }
  } finally { await server.stop(); }
})().catch((e) => { console.error(e); process.exit(1); });

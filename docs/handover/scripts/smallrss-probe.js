// The memory bench's RSS growth taken apart: smaps per mapping class and V8's spaces before and after a load
// (docs/handover/smallrss.md). usage: node smallrss-probe.js <built repo> <case> [elements]
// env: NODE_FLAGS (node's own flags), NOTHP=1 (THP off for the process), PURGE=1 (MEMORY PURGE after), SERVER_ARGS
// usage: node probe.js <repo-dir> <case> [elements] ; prints smaps growth per mapping class for keyfork
const path = require('path'); const fs = require('fs'); const { spawn } = require('child_process');
const repo = process.argv[2]; const caseName = process.argv[3]; const elements = Number(process.argv[4] || 500000);
const extra = (process.env.SERVER_ARGS || '').split(' ').filter(Boolean);
const nodeFlags = (process.env.NODE_FLAGS || '').split(' ').filter(Boolean);
const { CommandBatch, loadDataset, populateValue } = require(path.join(repo, 'dist/bench/lib/datasets.js'));
const { RespClient } = require(path.join(repo, 'dist/bench/lib/resp.js'));
const member = (j, i) => `m:${j}:${i}`;
const range = (n, f) => { const o = []; for (let j = 0; j < n; j++) o.push(...f(j)); return o; };
const col = (perKey, make) => ({ perKey, command: (i, into) => into.add(make(i)) });
const CASES = {
  'string-int': col(1, (i) => ['SET', `key:${i}`, String(i * 7)]),
  'string-100B': col(1, (i) => ['SET', `key:${i}`, populateValue(i)]),
  'list-1000': col(1000, (i) => ['RPUSH', `list:${i}`, ...range(1000, (j) => [member(j, i)])]),
  'hash-1000': col(1000, (i) => ['HSET', `hash:${i}`, ...range(1000, (j) => [`f${j}`, member(j, i)])]),
  'set-int-10': col(10, (i) => ['SADD', `set:${i}`, ...range(10, (j) => [String(i * 10 + j)])]),
  'zset-10': col(10, (i) => ['ZADD', `zset:${i}`, ...range(10, (j) => [String(j * 1.5), member(j, i)])]),
  'hll-dense-5000': col(5000, (i) => ['PFADD', `hll:${i}`, ...range(5000, (j) => [member(j, i)])]),
  'stream-10000': { perKey: 10000, command: (i, into) => { for (let j = 1; j <= 10000; j++) into.add(['XADD', `stream:${i}`, `${j}-0`, 'event', 'click', 'user', member(j, i)]); } },
};
function smaps(pid) {
  const out = {}; let cur = null;
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) { cur = { start: m[1], size: parseInt(m[2], 16) - parseInt(m[1], 16), perms: m[3], name: m[4] || '[anon]', rss: 0, ahp: 0, flags: '' }; out[m[1]] = cur; continue; }
    if (!cur) continue;
    let k;
    if ((k = /^Rss:\s+(\d+)/.exec(line))) cur.rss = Number(k[1]) * 1024;
    else if ((k = /^AnonHugePages:\s+(\d+)/.exec(line))) cur.ahp = Number(k[1]) * 1024;
    else if ((k = /^VmFlags:\s+(.*)/.exec(line))) cur.flags = k[1];
  }
  return out;
}
function classify(m) { if (m.name === '[heap]') return '[heap]'; if (m.name === '[anon]') return m.flags.includes('hg') ? 'anon-hg' : 'anon'; if (m.name.startsWith('/')) return 'file'; return m.name; }
function totals(s) { const t = {}; for (const m of Object.values(s)) { const c = classify(m); t[c] = t[c] || { rss: 0, ahp: 0, size: 0, n: 0 }; t[c].rss += m.rss; t[c].ahp += m.ahp; t[c].size += m.size; t[c].n++; } return t; }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MB = (b) => (b / 1048576).toFixed(2);
async function info(client) { const r = String(await client.call('INFO', 'memory')); const o = {}; for (const l of r.split('\r\n')) { const [k, v] = l.split(':'); if (v !== undefined) o[k] = v; } return o; }
(async () => {
  const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'smallrss-')); const statsFile = path.join(dir, 'v8.json');
  const port = 20000 + Math.floor(Math.random() * 20000);
  const argv0 = [...nodeFlags, '-r', path.join(__dirname, 'smallrss-v8stats.js'), path.join(repo, 'dist/src/main.js'), '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--logfile', path.join(dir, 'log'), '--save', '', '--appendonly', 'no', '--enable-debug-command', 'yes', ...extra];
  const argv = process.env.NOTHP ? ['python3', '-c', 'import ctypes,os,sys; ctypes.CDLL(None).prctl(41,1,0,0,0); os.execv(sys.argv[1], sys.argv[1:])', process.execPath, ...argv0] : [process.execPath, ...argv0];
  const child = spawn(argv[0], argv.slice(1), { stdio: 'ignore', env: { ...process.env, V8STATS_FILE: statsFile } });
  const killer = setTimeout(() => { child.kill('SIGKILL'); process.exit(2); }, 120000);
  try {
    let client;
    for (let i = 0; i < 200; i++) { try { client = await RespClient.connect(port); break; } catch { await sleep(50); } }
    await sleep(1500);
    const c = CASES[caseName]; const keys = Math.max(1, Math.round(elements / c.perKey));
    const i0 = await info(client); const s0 = smaps(child.pid); const v0 = JSON.parse(fs.readFileSync(statsFile, 'utf8'));
    const cpu = () => { const f = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
    const c0 = cpu();
    const t0 = Date.now();
    await loadDataset(client, { name: caseName, keys, elements: keys * c.perKey, describe: caseName, commandsFor: c.command }, 'load');
    const loadMs = Date.now() - t0; const loadCpu = cpu() - c0;
    const sMid = smaps(child.pid);
    await sleep(2500);
    const i1 = await info(client); const s1 = smaps(child.pid); const v1 = JSON.parse(fs.readFileSync(statsFile, 'utf8'));
    const n = keys * c.perKey;
    const t0s = totals(s0), t1s = totals(s1), tm = totals(sMid);
    const used = Number(i1.used_memory) - Number(i0.used_memory);
    let rssd = 0; for (const k of Object.keys(t1s)) rssd += t1s[k].rss - (t0s[k]?.rss || 0);
    console.log(`${caseName} keys=${keys} n=${n} load ${loadMs} ms (server CPU ${loadCpu} ms); used_memory +${MB(used)} MB (${(used / n).toFixed(1)} B/elt); RSS(smaps) +${MB(rssd)} MB (${(rssd / n).toFixed(1)} B/elt)`);
    for (const k of Object.keys(t1s)) { const a = t0s[k] || { rss: 0, ahp: 0, size: 0, n: 0 }; const b = t1s[k]; const m = tm[k] || {rss:0};
      console.log(`  ${k.padEnd(10)} rss ${MB(a.rss)} -> (end of load ${MB(m.rss)}) -> ${MB(b.rss)} MB  (+${MB(b.rss - a.rss)}), AnonHuge ${MB(a.ahp)} -> ${MB(b.ahp)}, vsize ${MB(a.size)} -> ${MB(b.size)}, maps ${a.n}->${b.n}`); }
    // per-mapping growth > 256 KB
    for (const [start, m] of Object.entries(s1)) { const a = s0[start]; const d = m.rss - (a ? a.rss : 0); if (Math.abs(d) >= 256 * 1024) console.log(`    ${start} ${classify(m)} size ${MB(m.size)} rss ${a ? MB(a.rss) : 'new'} -> ${MB(m.rss)} ahp ${MB(m.ahp)} ${m.flags.includes('hg') ? 'hg' : ''}`); }
    for (const [start, a] of Object.entries(s0)) if (!s1[start] && a.rss >= 256 * 1024) console.log(`    ${start} gone rss ${MB(a.rss)}`);
    const sp = (v) => Object.entries(v.spaces).map(([k, s]) => `${k.replace('_space', '')}:${MB(s.phys)}`).join(' ');
    console.log(`  V8 physical ${MB(v0.total_physical)} -> ${MB(v1.total_physical)}; malloced ${MB(v0.malloced)} -> ${MB(v1.malloced)}; external ${MB(v0.ext)} -> ${MB(v1.ext)} (arrayBuffers ${MB(v0.ab)} -> ${MB(v1.ab)})`);
    console.log(`  V8 before: ${sp(v0)}\n  V8 after:  ${sp(v1)}`);
    console.log(`  INFO: used_memory_rss ${MB(i0.used_memory_rss)} -> ${MB(i1.used_memory_rss)}, used ${MB(i0.used_memory)} -> ${MB(i1.used_memory)}`);
    if (process.env.PURGE) { await client.call('MEMORY', 'PURGE'); await sleep(300); const t2 = totals(smaps(child.pid)); let r = 0; for (const k of Object.keys(t2)) r += t2[k].rss - (t0s[k]?.rss || 0);
      console.log(`  after MEMORY PURGE: RSS growth ${MB(r)} MB; ` + Object.entries(t2).filter(([k]) => k === '[heap]' || k.startsWith('anon')).map(([k, v]) => `${k} ${MB(v.rss)}`).join(', ')); }
    client.close();
  } finally { clearTimeout(killer); child.kill('SIGTERM'); fs.rmSync(dir, { recursive: true, force: true }); }
})();

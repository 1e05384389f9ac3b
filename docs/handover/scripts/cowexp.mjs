// node cowexp.mjs MAIN_JS PORT KEYS SAVES: load the bench's mixed dataset, then SAVES BGSAVEs with
// child time, cow size and the parent's AnonHugePages / Rss after each.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
const bench = new URL('../../../dist/bench/lib', import.meta.url).pathname; // this worktree's built bench
const { RespClient } = await import(bench + '/resp.js');
const { mixedDataset, loadDataset } = await import(bench + '/datasets.js');
const [main, port, keys, saves] = [process.argv[2], +process.argv[3], +process.argv[4], +(process.argv[5] ?? 3)];
const dir = `${process.env.EXP ?? '/tmp/exp'}/d${port}`; fs.rmSync(dir, { recursive: true, force: true }); fs.mkdirSync(dir);
const srv = spawn('node', [main, '--port', String(port), '--save', '', '--dir', dir], { stdio: ['ignore', fs.openSync(dir + '/log', 'w'), 'inherit'] });
await new Promise((r) => setTimeout(r, 1500));
const c = await RespClient.connect(port);
const smaps = () => { const t = fs.readFileSync(`/proc/${srv.pid}/smaps_rollup`, 'utf8'); const g = (k) => Math.round(+t.match(new RegExp(k + ':\\s+(\\d+)'))[1] / 1024); return `rss ${g('Rss')}MB thp ${g('AnonHugePages')}MB`; };
const info = async () => Object.fromEntries(String(await c.callOk('INFO', 'persistence')).split('\r\n').filter((l) => l.includes(':')).map((l) => l.split(':')));
await loadDataset(c, mixedDataset(keys), 'load');
console.log('loaded', smaps());
for (let s = 1; s <= saves; s++) {
  const t0 = performance.now();
  await c.callOk('BGSAVE');
  let i; do { await new Promise((r) => setTimeout(r, 20)); i = await info(); } while (i.rdb_bgsave_in_progress === '1');
  console.log(`save ${s}: ${Math.round(performance.now() - t0)} ms cow ${Math.round(i.rdb_last_cow_size / 1048576)}MB`, smaps());
  await new Promise((r) => setTimeout(r, 500));
}
srv.kill('SIGKILL'); process.exit(0);

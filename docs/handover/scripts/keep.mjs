// node keep.mjs MAIN PORT KEYS: start a server, load the mixed dataset, leave it running (pid printed)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
const bench = new URL('../../../dist/bench/lib', import.meta.url).pathname; // this worktree's built bench
const { RespClient } = await import(bench + '/resp.js');
const { mixedDataset, stringDataset, loadDataset } = await import(bench + '/datasets.js');
const [main, port, keys, kind] = [process.argv[2], +process.argv[3], +process.argv[4], process.argv[5] ?? 'mixed'];
const dir = `${process.env.EXP ?? '/tmp/exp'}/k${port}`; fs.rmSync(dir, { recursive: true, force: true }); fs.mkdirSync(dir);
const srv = spawn('node', [main, '--port', String(port), '--save', '', '--dir', dir], { stdio: ['ignore', fs.openSync(dir + '/log', 'w'), 'inherit'], detached: true });
srv.unref();
await new Promise((r) => setTimeout(r, 1500));
const c = await RespClient.connect(port);
await loadDataset(c, (kind === 'mixed' ? mixedDataset : stringDataset)(keys), 'load');
console.log('pid', srv.pid);
process.exit(0);

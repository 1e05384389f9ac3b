// Security features and throughput: SET and GET with redis-benchmark, keyfork against
// redis-server (servers alternating), on the plain port with ACL in its usual state (the
// default user with full access: the batch fast path stays open) and over TLS (tls-port,
// redis-benchmark --tls on both; certificates made here with openssl). Prints a Markdown table
// and writes it to bench/results/security.md.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type FlagSpec, type ParsedFlags } from './lib/args';
import { describeMachine } from './lib/machine';
import { describeMachineLine } from './lib/markdown';
import { note, step } from './lib/progress';
import { type Benchmark, runMain, writeReport } from './lib/script';
import { LABEL, type Server, type ServerKind, alternate, freePort, shellLine, sideBySidePlan, startServer } from './lib/servers';
import { parseCsv, runBenchmarkTool } from './throughput';

export const FLAGS: FlagSpec[] = [
  { name: 'pipelines', kind: 'list', help: 'pipeline depths (-P)', default: '1,16' },
  { name: 'requests', kind: 'int', help: 'requests per run at -P 1 (-n)', default: 100000 },
  { name: 'pipelined-requests', kind: 'int', help: 'requests per run at -P above 1', default: 500000 },
  { name: 'clients', kind: 'int', help: 'parallel connections (-c)', default: 50 },
  { name: 'rounds', kind: 'int', help: 'measurements per server, transport and depth (the median is kept)', default: 3 },
];

type Transport = 'plain' | 'tls';

/** A CA and a server certificate for 127.0.0.1 in a fresh directory. */
function makeCertificates(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-bench-tls-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  fs.writeFileSync(path.join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=bench-ca');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext');
  return dir;
}

export async function run(flags: ParsedFlags): Promise<void> {
  const { tools, redisBenchmark, pipelines, clients, rounds, requestsFor, serverCpu, loadPrefix, kinds } = sideBySidePlan(flags);
  const certs = makeCertificates();
  const servers = new Map<ServerKind, { server: Server; tlsPort: number }>();
  const results = new Map<string, number[]>();
  const commandLines: string[] = [];
  const argv = (port: number, transport: Transport, p: number) => [
    ...loadPrefix, redisBenchmark, '-h', '127.0.0.1', '-p', String(port),
    ...(transport === 'tls' ? ['--tls', '--cacert', path.join(certs, 'ca.crt')] : []),
    '-c', String(clients), '-n', String(requestsFor(p)), '-P', String(p), '-r', '100000', '-t', 'set,get', '--csv'];
  try {
    for (const kind of kinds) {
      const tlsPort = await freePort();
      const server = await startServer(tools, kind, {
        cpu: serverCpu,
        args: ['--tls-port', String(tlsPort), '--tls-cert-file', path.join(certs, 'server.crt'), '--tls-key-file', path.join(certs, 'server.key'),
          '--tls-auth-clients', 'no'],
      });
      servers.set(kind, { server, tlsPort });
      commandLines.push(server.commandLine);
    }
    for (const p of pipelines) {
      for (const t of ['plain', 'tls'] as const) commandLines.push(shellLine(argv(0, t, p)).replace(' -p 0 ', ' -p $PORT '));
    }
    let round = 0;
    for (const p of pipelines) {
      for (const transport of ['plain', 'tls'] as const) {
        for (let r = 0; r < rounds; r++) {
          for (const kind of alternate(kinds, round++)) {
            const { server, tlsPort } = servers.get(kind)!;
            const csv = await runBenchmarkTool(argv(transport === 'tls' ? tlsPort : server.port, transport, p));
            for (const row of parseCsv(csv)) {
              const key = `${kind} ${transport} ${p} ${row.test}`;
              results.set(key, [...(results.get(key) ?? []), row.rps]);
              step(`${row.test} ${transport} -P ${p} ${LABEL[kind].padEnd(12)} ${Math.round(row.rps).toLocaleString('en-US').padStart(9)} rps`);
            }
          }
        }
      }
    }
  } finally {
    for (const { server } of servers.values()) await server.stop();
    fs.rmSync(certs, { recursive: true, force: true });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const lines = [
    '## Security: throughput with ACL (default user) on the plain port and over TLS',
    '',
    `${new Date().toISOString()}, ${describeMachineLine(describeMachine(tools.redisServer))}; median of ${rounds} runs; ${os.loadavg()[0].toFixed(2)} load average at the end.`,
    '',
    '| transport | -P | command | keyfork rps | redis-server rps | ratio |',
    '|---|---|---|---|---|---|',
  ];
  for (const transport of ['plain', 'tls'] as const) {
    for (const p of pipelines) {
      for (const test of ['SET', 'GET']) {
        const k = results.get(`keyfork ${transport} ${p} ${test}`);
        const r = results.get(`redis ${transport} ${p} ${test}`);
        if (!k || !r) {
          note(`${transport} -P ${p} ${test}: a server is missing`);
          continue;
        }
        lines.push(`| ${transport} | ${p} | ${test} | ${Math.round(median(k))} | ${Math.round(median(r))} | ${(median(k) / median(r)).toFixed(2)} |`);
      }
    }
  }
  writeReport(flags, 'security', lines, commandLines);
}

export const benchmark: Benchmark = {
  name: 'security',
  summary: 'SET/GET throughput, keyfork vs redis-server, with ACL in its default state on the plain port and over TLS\n'
    + '(redis-benchmark --tls), at -P 1 and -P 16, servers alternating.',
  flags: FLAGS,
  run,
};

if (require.main === module) runMain(benchmark);

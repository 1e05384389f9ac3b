// Replication over TLS (tls-replication, tls-client-cert-file, tls-client-key-file,
// tls-client-key-file-pass) with redis-server 7.0 built with TLS: a keyfork replica of a
// redis-server master's TLS port, redis-server and keyfork replicas of a keyfork master's TLS
// port (disk and diskless syncs), an encrypted client key, certificates that do not verify, and
// the start-up errors. Certificates are made here with openssl.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { freePort } from '../helpers/ports';
import { keyforkMainPath, redisServerPath } from '../helpers/servers';
import { cmd, fillMixed, info, keyforkNode, redisNode, sleep, stopNodesAfterEach, waitInSync, waitLinkUp, type Node } from './replication-support';

stopNodesAfterEach();

type Kind = 'keyfork' | 'redis';
const node = (kind: Kind, args: string[] = []) => (kind === 'keyfork' ? keyforkNode(args) : redisNode(args));
const slowIt = (name: string, fn: () => Promise<void>) => it(name, fn, 90_000);

let dir = '';
const file = (name: string) => path.join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-repl-tls-'));
  fs.writeFileSync(file('ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const ca of ['ca', 'other-ca']) openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=${ca}`);
  for (const [name, ca] of [['server', 'ca'], ['client', 'ca'], ['stranger', 'other-ca']]) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', 'ext');
  }
  openssl('pkey', '-in', 'client.key', '-aes256', '-passout', 'pass:sesame', '-out', 'client-encrypted.key');
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const serverTls = () => ['--tls-cert-file', file('server.crt'), '--tls-key-file', file('server.key'), '--tls-ca-cert-file', file('ca.crt')];

/** A master listening on a TLS port too (client certificates required), with some data. */
async function tlsMaster(kind: Kind, args: string[] = []): Promise<{ master: Node; tlsPort: number }> {
  const tlsPort = await freePort();
  const master = await node(kind, ['--tls-port', String(tlsPort), ...serverTls(), '--repl-diskless-sync-delay', '0', ...args]);
  await fillMixed(master);
  return { master, tlsPort };
}

/** A replica of `tlsPort` over TLS, presenting `client` as its certificate. */
function tlsReplica(kind: Kind, tlsPort: number, extra: string[] = []): Promise<Node> {
  return node(kind, ['--tls-replication', 'yes', ...serverTls(), '--tls-client-cert-file', file('client.crt'), '--tls-client-key-file', file('client.key'), ...extra,
    '--replicaof', '127.0.0.1', String(tlsPort)]);
}

describeDifferential('replication over TLS vs redis-server 7.0', () => {
  const pairings: Array<[Kind, Kind, string]> = [
    ['redis', 'keyfork', 'yes'],
    ['keyfork', 'redis', 'yes'],
    ['keyfork', 'redis', 'no'],
    ['keyfork', 'keyfork', 'yes'],
    ['keyfork', 'keyfork', 'no'],
  ];
  for (const [m, r, diskless] of pairings) {
    slowIt(`a ${r} replica syncs from a ${m} master's TLS port (repl-diskless-sync ${diskless}) and follows its writes`, async () => {
      const { master, tlsPort } = await tlsMaster(m, ['--repl-diskless-sync', diskless]);
      const replica = await tlsReplica(r, tlsPort);
      await waitLinkUp(replica);
      await waitInSync(master, replica);
      await fillMixed(master, 'after');
      await waitInSync(master, replica);
      // The link is TLS: the master's plain port saw no replica connection.
      const line = (await cmd(master, 'CLIENT', 'LIST')).split('\n').find((l) => / flags=S /.test(l)) ?? '';
      expect(line).toMatch(new RegExp(` laddr=127\\.0\\.0\\.1:${tlsPort} `));
    });
  }

  slowIt('an encrypted client key with tls-client-key-file-pass (both replicas of a redis-server master)', async () => {
    const { master, tlsPort } = await tlsMaster('redis');
    for (const kind of ['redis', 'keyfork'] as const) {
      const replica = await tlsReplica(kind, tlsPort, ['--tls-client-key-file', file('client-encrypted.key'), '--tls-client-key-file-pass', 'sesame']);
      await waitLinkUp(replica);
      await waitInSync(master, replica);
    }
  });

  async function refused(kind: Kind, extra: string[]) {
    const { tlsPort } = await tlsMaster('redis');
    const replica = await tlsReplica(kind, tlsPort, extra);
    await sleep(2500);
    const f = await info(replica);
    return { link: f.get('master_link_status'), dbsize: await cmd(replica, 'DBSIZE') };
  }

  slowIt('no link when the master refuses the client certificate, or the replica does not trust the master', async () => {
    for (const extra of [
      ['--tls-client-cert-file', file('stranger.crt'), '--tls-client-key-file', file('stranger.key')],
      ['--tls-ca-cert-file', file('other-ca.crt')],
    ]) {
      const want = await refused('redis', extra);
      const got = await refused('keyfork', extra);
      expect(got).toEqual(want);
      expect(got).toEqual({ link: 'down', dbsize: ':0' });
    }
  });

  async function startup(kind: Kind, args: string[]) {
    const port = await freePort();
    const argv = ['--port', String(port), '--save', '', ...args];
    const r = kind === 'keyfork'
      ? spawnSync(process.execPath, [keyforkMainPath(), ...argv], { encoding: 'utf8', timeout: 15_000 })
      : spawnSync(redisServerPath() as string, argv, { encoding: 'utf8', timeout: 15_000 });
    const out = `${r.stdout}${r.stderr}`;
    return { status: r.status, lines: out.split('\n').filter((l) => /tls|TLS/.test(l)).map((l) => l.replace(/^\d+:[MC] \d+ \w+ \d+ [\d:.]+ [.*#-] /, '')) };
  }

  slowIt('tls-replication yes without a certificate, or without a CA, stops start-up as Redis does', async () => {
    for (const args of [
      ['--tls-replication', 'yes'],
      ['--tls-replication', 'yes', '--tls-cert-file', file('server.crt'), '--tls-key-file', file('server.key')],
    ]) {
      const want = await startup('redis', args);
      const got = await startup('keyfork', args);
      expect(got).toEqual(want);
      expect(got.status).toBe(1);
    }
  });

  slowIt('CONFIG SET tls-replication yes without a CA is refused; with one, the next link is TLS', async () => {
    const { master, tlsPort } = await tlsMaster('redis');
    const results: string[][] = [];
    for (const kind of ['redis', 'keyfork'] as const) {
      const replica = await node(kind, ['--tls-cert-file', file('server.crt'), '--tls-key-file', file('server.key'), '--tls-client-cert-file', file('client.crt'), '--tls-client-key-file', file('client.key')]);
      const r = [await cmd(replica, 'CONFIG', 'SET', 'tls-replication', 'yes')];
      r.push(await cmd(replica, 'CONFIG', 'SET', 'tls-ca-cert-file', file('ca.crt')));
      r.push(await cmd(replica, 'CONFIG', 'SET', 'tls-replication', 'yes'));
      r.push(await cmd(replica, 'REPLICAOF', '127.0.0.1', String(tlsPort)));
      await waitLinkUp(replica);
      await waitInSync(master, replica);
      results.push(r);
    }
    expect(results[1]).toEqual(results[0]);
  });
});

// TLS for clients (Redis 7.0's tls.c, with node:tls): with tls-port set, the server also
// listens there on the bind addresses, and its connections become clients like the plain
// ones, except that their replies go through the TLS layer (Client.writeFd stays -1).
// The directives are read into one secure context, built at start-up (a failure stops the
// server as in Redis: "Failed to configure TLS. Check logs for more info.") and again when
// CONFIG SET changes one of them (a failure refuses the change, Redis's "Unable to update TLS
// configuration. Check server logs.").
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import { constants as cryptoConstants } from 'node:crypto';
import type { Config } from './config';
import { consume } from './config/consumers';
import type { Logger } from './log';
import { strerror } from './config/errors';
import { markListener } from './socket-mark';
import { MigrateTlsRelay } from './tls-relay';

const PROOF = 'test/server/tls.test.ts';
export const TLS_PORT = consume('tls-port', PROOF);
const CERT_FILE = consume('tls-cert-file', PROOF);
const KEY_FILE = consume('tls-key-file', PROOF);
const KEY_FILE_PASS = consume('tls-key-file-pass', PROOF);
const CA_CERT_FILE = consume('tls-ca-cert-file', PROOF);
const CA_CERT_DIR = consume('tls-ca-cert-dir', PROOF);
const DH_PARAMS_FILE = consume('tls-dh-params-file', PROOF);
const AUTH_CLIENTS = consume('tls-auth-clients', PROOF);
const PROTOCOLS = consume('tls-protocols', PROOF);
const CIPHERS = consume('tls-ciphers', PROOF);
const CIPHERSUITES = consume('tls-ciphersuites', PROOF);
const PREFER_SERVER_CIPHERS = consume('tls-prefer-server-ciphers', PROOF);
const SESSION_CACHING = consume('tls-session-caching', PROOF);
const SESSION_CACHE_TIMEOUT = consume('tls-session-cache-timeout', PROOF);
const REPLICATION_PROOF = 'test/server/replication-tls.test.ts';
const TLS_REPLICATION = consume('tls-replication', REPLICATION_PROOF);
const CLIENT_CERT_FILE = consume('tls-client-cert-file', REPLICATION_PROOF);
const CLIENT_KEY_FILE = consume('tls-client-key-file', REPLICATION_PROOF);
const CLIENT_KEY_FILE_PASS = consume('tls-client-key-file-pass', REPLICATION_PROOF);
const TLS_CLUSTER = consume('tls-cluster', 'test/server/cluster-tls.test.ts');

/** The directives a change of which rebuilds the secure context. */
const CONTEXT_DIRECTIVES = [CERT_FILE, KEY_FILE, KEY_FILE_PASS, CA_CERT_FILE, CA_CERT_DIR, DH_PARAMS_FILE, AUTH_CLIENTS, PROTOCOLS,
  CIPHERS, CIPHERSUITES, PREFER_SERVER_CIPHERS, SESSION_CACHING, SESSION_CACHE_TIMEOUT, TLS_REPLICATION, CLIENT_CERT_FILE, CLIENT_KEY_FILE,
  CLIENT_KEY_FILE_PASS, TLS_CLUSTER];

const UPDATE_FAILED = 'Unable to update TLS configuration. Check server logs.';

/** node:tls, loaded when TLS is first configured: most servers never use it, and loading it costs every start-up ~10 ms. */
export function nodeTls(): typeof tls {
  return require('node:tls') as typeof tls;
}

/** Node's own TLS 1.3 suites, kept when only tls-ciphers (TLS 1.2 and below) is set, as OpenSSL keeps them in Redis. */
function defaultTls13Suites(): string {
  return nodeTls().DEFAULT_CIPHERS.split(':').filter((c) => c.startsWith('TLS_')).join(':');
}

const PROTOCOL_NAMES: Record<string, tls.SecureVersion> = { tlsv1: 'TLSv1', 'tlsv1.1': 'TLSv1.1', 'tlsv1.2': 'TLSv1.2', 'tlsv1.3': 'TLSv1.3' };
const PROTOCOL_ORDER: tls.SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** A TLS setup problem, worded as Redis logs it. */
class TlsConfigError extends Error {}

/** What the TLS server needs: the secure context options and how client certificates are asked for. */
interface TlsSettings {
  options: tls.TlsOptions;
  /** tls-auth-clients optional: a certificate is asked for, and only a bad one refused. */
  optionalClientCert: boolean;
  /**
   * Outgoing connections (a replica's link to its master): Redis's client context, with
   * tls-client-cert-file / -key-file when both are set, else the server's certificate. The
   * peer's certificate must verify against the CA; its name is not checked (Redis 7.0 does not).
   */
  client: tls.ConnectionOptions;
}

function readFile(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new TlsConfigError(`Failed to load ${what}: ${file}: ${(err as Error).message}`);
  }
}

/** parseProtocolsConfig: the lowest and highest version named (Redis's default: TLSv1.2 and TLSv1.3). */
function protocolRange(spec: string | null): { minVersion: tls.SecureVersion; maxVersion: tls.SecureVersion } {
  if (spec === null || spec.trim() === '') return { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' };
  const versions: tls.SecureVersion[] = [];
  for (const token of spec.split(' ').filter(Boolean)) {
    const v = PROTOCOL_NAMES[token.toLowerCase()];
    if (!v) throw new TlsConfigError("Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.");
    versions.push(v);
  }
  versions.sort((a, b) => PROTOCOL_ORDER.indexOf(a) - PROTOCOL_ORDER.indexOf(b));
  return { minVersion: versions[0], maxVersion: versions[versions.length - 1] };
}

/** OpenSSL's CApath finds a certificate by its subject hash: files named <hash>.<n> (c_rehash, openssl rehash). */
const HASHED_NAME = /^[0-9a-f]{8}\.\d+$/;

/** The certificates of tls-ca-cert-dir (OpenSSL's CApath: the hash-named PEM files there). */
function caDirCertificates(dir: string): Buffer[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    throw new TlsConfigError(`Failed to configure CA certificate(s) file/directory: ${dir}: ${(err as Error).message}`);
  }
  const certs: Buffer[] = [];
  for (const name of names.sort()) {
    const file = path.join(dir, name);
    if (!HASHED_NAME.test(name) || !fs.statSync(file).isFile()) continue;
    const text = fs.readFileSync(file);
    if (text.includes('-----BEGIN CERTIFICATE-----')) certs.push(text);
  }
  return certs;
}

/** tlsConfigure: every tls-* directive as node:tls options, or the reason Redis would log. */
function settingsFrom(config: Config): TlsSettings {
  const certFile = config.optionalStr(CERT_FILE);
  const keyFile = config.optionalStr(KEY_FILE);
  if (!certFile) throw new TlsConfigError('No tls-cert-file configured!');
  if (!keyFile) throw new TlsConfigError('No tls-key-file configured!');
  const authClients = config.str(AUTH_CLIENTS);
  const caFile = config.optionalStr(CA_CERT_FILE);
  const caDir = config.optionalStr(CA_CERT_DIR);
  if ((authClients !== 'no' || config.bool(TLS_REPLICATION) || config.bool(TLS_CLUSTER)) && !caFile && !caDir) {
    throw new TlsConfigError('Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!');
  }
  const ca: Buffer[] = [];
  if (caFile) ca.push(readFile(caFile, 'CA certificate(s) file'));
  if (caDir) ca.push(...caDirCertificates(caDir));
  const tls12 = config.optionalStr(CIPHERS);
  const tls13 = config.optionalStr(CIPHERSUITES);
  const ciphers = tls12 === null && tls13 === null ? undefined : [tls13 ?? defaultTls13Suites(), tls12 ?? ''].filter(Boolean).join(':');
  const caching = config.bool(SESSION_CACHING);
  const dhFile = config.optionalStr(DH_PARAMS_FILE);
  const options: tls.TlsOptions = {
    cert: readFile(certFile, 'certificate'),
    key: readFile(keyFile, 'private key'),
    passphrase: config.optionalStr(KEY_FILE_PASS) ?? undefined,
    ca: ca.length ? ca : undefined,
    // Without a file OpenSSL picks DH parameters itself (Redis 7.0 built on OpenSSL 3 does too).
    dhparam: dhFile ? readFile(dhFile, 'DH params file') : 'auto',
    ...protocolRange(config.optionalStr(PROTOCOLS)),
    ciphers,
    honorCipherOrder: config.bool(PREFER_SERVER_CIPHERS),
    requestCert: authClients !== 'no',
    rejectUnauthorized: authClients === 'yes',
    sessionTimeout: config.int(SESSION_CACHE_TIMEOUT),
    // Sessions resume by ticket, as with Redis 7.0 (which never resumes a cached session id:
    // no id cache here either); without caching, no tickets.
    secureOptions: caching ? undefined : cryptoConstants.SSL_OP_NO_TICKET,
  };
  const clientCert = config.optionalStr(CLIENT_CERT_FILE);
  const clientKey = config.optionalStr(CLIENT_KEY_FILE);
  const own = clientCert !== null && clientKey !== null;
  const client: tls.ConnectionOptions = {
    cert: own ? readFile(clientCert, 'certificate') : options.cert,
    key: own ? readFile(clientKey, 'private key') : options.key,
    passphrase: own ? config.optionalStr(CLIENT_KEY_FILE_PASS) ?? undefined : options.passphrase,
    ca: options.ca,
    minVersion: options.minVersion,
    maxVersion: options.maxVersion,
    ciphers,
    rejectUnauthorized: true,
    checkServerIdentity: () => undefined,
    secureOptions: options.secureOptions,
  };
  try {
    nodeTls().createSecureContext(options);
    nodeTls().createSecureContext(client);
  } catch (err) {
    throw new TlsConfigError(`Failed to configure TLS: ${(err as Error).message}`);
  }
  return { options, optionalClientCert: authClients === 'optional', client };
}

/**
 * The TLS side of the server: the secure context from the tls-* directives and the listeners on
 * tls-port.
 */
export class TlsListeners {
  private settings: TlsSettings | null = null;
  private servers: tls.Server[] = [];
  /** The bus's acceptors (never listening themselves): their context follows CONFIG SET too. */
  private clusterServers: tls.Server[] = [];
  /** MIGRATE's TLS half while tls-cluster is on. */
  private readonly relay = new MigrateTlsRelay();

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly accept: (socket: tls.TLSSocket) => void,
    /** A TCP connection on tls-port, before its handshake (Redis logs its "Accepted" line then). */
    private readonly connected: (socket: net.Socket) => void = () => undefined,
  ) {
    for (const d of CONTEXT_DIRECTIVES) config.onApply(d, () => this.reconfigure());
  }

  get port(): number {
    return this.config.int(TLS_PORT);
  }

  /** TLS is configured at all: a tls-port, replication or the cluster bus over TLS (Redis's tlsConfigure condition). */
  private get wanted(): boolean {
    return this.port !== 0 || this.config.bool(TLS_REPLICATION) || this.config.bool(TLS_CLUSTER);
  }

  /** tls-cluster: the bus's links (and what the node announces as its client port) use TLS. */
  get cluster(): boolean {
    return this.config.bool(TLS_CLUSTER);
  }

  /**
   * The TLS side of the cluster bus's listener: the bus accepts TCP connections itself and hands
   * them here (Redis decides per accepted connection too). A peer must present a certificate
   * the CA verifies whatever tls-auth-clients says: Redis 7.0 accepts bus connections with
   * client authentication forced on.
   */
  clusterAcceptor(secured: (socket: tls.TLSSocket) => void, failed: (reason: string) => void): tls.Server {
    const settings = this.settings;
    if (!settings) throw new Error('TLS is not configured');
    const srv = nodeTls().createServer({ ...settings.options, requestCert: true, rejectUnauthorized: true, noDelay: true } as tls.TlsOptions);
    srv.on('secureConnection', secured);
    srv.on('tlsClientError', (err, socket) => {
      failed(handshakeError(err, socket));
      socket.destroy();
    });
    this.clusterServers.push(srv);
    return srv;
  }

  /** Forgets a bus acceptor (the bus closed). */
  dropClusterAcceptor(srv: tls.Server): void {
    this.clusterServers = this.clusterServers.filter((s) => s !== srv);
  }

  /** An outgoing bus link (connCreateTLS with the client context): the peer's certificate must verify. */
  connectCluster(opts: net.TcpNetConnectOpts): tls.TLSSocket {
    const settings = this.settings;
    if (!settings) throw new Error('TLS is not configured');
    return nodeTls().connect({ ...settings.client, ...opts });
  }

  /** The options of a connection to our master when tls-replication is on (null: off). */
  replicationOptions(): tls.ConnectionOptions | null {
    return this.config.bool(TLS_REPLICATION) ? (this.settings?.client ?? null) : null;
  }

  /** Builds the secure context if TLS is wanted; false (and Redis's log lines) when it cannot. */
  configureAtStartup(): boolean {
    if (!this.wanted) return true;
    try {
      this.settings = settingsFrom(this.config);
      this.relay.configure(this.cluster ? this.settings.client : null);
      return true;
    } catch (err) {
      this.log.warning((err as Error).message);
      this.log.warning('Failed to configure TLS. Check logs for more info.');
      return false;
    }
  }

  /** Resolves once MIGRATE's TLS relay (tls-cluster) listens, at start-up. */
  relayReady(): Promise<void> {
    return this.relay.whenReady();
  }

  /** CONFIG SET of a tls-* directive (applyTlsCfg): rebuilt, or the change is refused. */
  private reconfigure(): void {
    if (!this.wanted && this.servers.length === 0) {
      this.relay.configure(null);
      return;
    }
    let settings: TlsSettings;
    try {
      settings = settingsFrom(this.config);
    } catch (err) {
      this.log.warning((err as Error).message);
      throw new Error(UPDATE_FAILED);
    }
    this.settings = settings;
    this.relay.configure(this.cluster ? settings.client : null);
    for (const s of this.servers) s.setSecureContext(settings.options);
    for (const s of this.clusterServers) s.setSecureContext(settings.options);
  }

  /** CONFIG SET tls-port (applyTLSPort): the context must be buildable before the port moves. */
  prepareForPort(): void {
    if (this.port !== 0 && this.settings === null) this.reconfigure();
  }

  /** Listens on tls-port at `host`; resolves to the port bound. */
  listen(host: string, backlog: number): Promise<number> {
    const settings = this.settings;
    if (!settings) return Promise.reject(new Error('TLS is not configured'));
    return new Promise((resolve, reject) => {
      const srv = nodeTls().createServer({ ...settings.options, noDelay: true } as tls.TlsOptions);
      srv.on('connection', (socket: net.Socket) => this.connected(socket));
      srv.on('secureConnection', (socket) => this.secured(socket));
      srv.on('tlsClientError', (err, socket) => {
        this.log.warning(`Error accepting a client connection: ${handshakeError(err, socket)}`);
        socket.destroy();
      });
      srv.once('error', reject);
      srv.listen({ host, port: this.port, backlog, ipv6Only: host.includes(':') }, () => {
        srv.off('error', reject);
        markListener(this.config, srv);
        this.servers.push(srv);
        resolve((srv.address() as { port: number }).port);
      });
    });
  }

  /** The listeners now open, for a rebind to close once new ones are up. */
  takeListeners(): tls.Server[] {
    const old = this.servers;
    this.servers = [];
    return old;
  }

  restoreListeners(old: tls.Server[]): void {
    for (const s of this.servers) s.close();
    this.servers = old;
  }

  close(): Promise<void> {
    const all = this.takeListeners();
    return Promise.all(all.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined);
  }

  private secured(socket: tls.TLSSocket): void {
    // tls-auth-clients optional: no certificate is fine, a certificate that does not verify is not.
    if (this.settings?.optionalClientCert && !socket.authorized && Object.keys(socket.getPeerCertificate() ?? {}).length > 0) {
      this.log.warning(`Error accepting a client connection: ${VERIFY_FAILED}`);
      socket.destroy();
      return;
    }
    this.accept(socket);
  }
}

/**
 * connGetLastError of an outgoing TLS connection that failed: OpenSSL's words for a failed
 * handshake or a certificate that does not verify (Node reports the latter by its X509 reason
 * code after the handshake), strerror for a failed connect.
 */
export function tlsConnectError(err: Error & { code?: string; syscall?: string }): string {
  const openssl = /error:([0-9A-F]{8}):([^:]*):[^:]*:([^:\n]*)/.exec(err.message);
  if (openssl) return `error:${openssl[1]}:${openssl[2]}::${openssl[3]}`;
  if (err.syscall === undefined && err.code !== undefined && !err.code.startsWith('ERR_') && !err.code.startsWith('E')) return VERIFY_FAILED;
  if (err.code === 'ECONNRESET' && err.syscall === undefined) return 'error:0A000126:SSL routines::unexpected eof while reading';
  return strerror(err);
}

/** OpenSSL 3's ERR_error_string_n for a failed verification of the peer's certificate. */
const VERIFY_FAILED = 'error:0A000086:SSL routines::certificate verify failed';

/**
 * A failed handshake in Redis's words (connGetLastError: OpenSSL's ERR_error_string_n, which
 * OpenSSL 3 prints without the function name; strerror for a failed read). Node's bundled
 * OpenSSL names the function, verifies the client's certificate after the handshake (and
 * destroys the socket, leaving authorizationError), and reports a peer gone mid-handshake as
 * "socket hang up": Redis's OpenSSL reads that as an unexpected EOF.
 */
function handshakeError(err: Error & { code?: string; syscall?: string }, socket: tls.TLSSocket): string {
  const openssl = /error:([0-9A-F]{8}):([^:]*):[^:]*:([^:\n]*)/.exec(err.message);
  if (openssl) return `error:${openssl[1]}:${openssl[2]}::${openssl[3]}`;
  if (socket.authorizationError) return VERIFY_FAILED;
  if (err.code === 'ECONNRESET' && err.syscall === undefined) return 'error:0A000126:SSL routines::unexpected eof while reading';
  return strerror(err);
}

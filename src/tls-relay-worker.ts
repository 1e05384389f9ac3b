// The TLS relay's worker thread (see tls-relay.ts): MIGRATE, blocked in the addon on the main
// thread, connects here over loopback and sends the secret, then "<port> <host>\n"; the relay
// opens a TLS connection to the target with the cluster's client options, answers '+' once the
// handshake is done ('-' when the connection or the handshake failed) and then carries the
// bytes both ways until either side closes.
import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { parentPort, workerData } from 'node:worker_threads';

interface RelayData {
  secret: Uint8Array;
  options: tls.ConnectionOptions;
}

/** Buffers arrive as Uint8Arrays (structured clone): node:tls gets Buffers back. */
function revive(o: tls.ConnectionOptions): tls.ConnectionOptions {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v instanceof Uint8Array) out[k] = Buffer.from(v);
    else if (Array.isArray(v)) out[k] = v.map((x) => (x instanceof Uint8Array ? Buffer.from(x) : x));
    else out[k] = v;
  }
  // Redis 7.0 verifies the peer's certificate against the CA but not its name.
  out.checkServerIdentity = () => undefined;
  return out as tls.ConnectionOptions;
}

const data = workerData as RelayData;
const secret = Buffer.from(data.secret);
let options = revive(data.options);
/** The longest request: the secret, a port and a host name (NI_MAXHOST is 1025). */
const MAX_REQUEST = secret.length + 1 + 6 + 1100;

parentPort?.on('message', (m: { options?: tls.ConnectionOptions }) => {
  if (m.options) options = revive(m.options);
});

function relay(local: net.Socket): void {
  let head = Buffer.alloc(0);
  local.on('error', () => local.destroy());
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const first = head.indexOf(10);
    const second = first < 0 ? -1 : head.indexOf(10, first + 1);
    if (second < 0) {
      if (head.length > MAX_REQUEST) local.destroy();
      return;
    }
    const given = head.subarray(0, first);
    if (given.length !== secret.length || !timingSafeEqual(given, secret)) {
      local.destroy();
      return;
    }
    local.off('data', onData);
    local.pause();
    const line = head.subarray(first + 1, second).toString('latin1');
    const rest = head.subarray(second + 1);
    const space = line.indexOf(' ');
    const port = Number(line.slice(0, space));
    const host = line.slice(space + 1);
    let secured = false;
    const remote = tls.connect({ ...options, host, port });
    remote.once('secureConnect', () => {
      secured = true;
      local.write('+');
      if (rest.length) remote.write(rest);
      local.pipe(remote);
      remote.pipe(local);
      local.resume();
    });
    remote.on('error', () => {
      if (!secured) local.end('-');
      else local.destroy();
      remote.destroy();
    });
    remote.on('close', () => {
      if (secured) local.destroy();
    });
    local.on('close', () => remote.destroy());
  };
  local.on('data', onData);
}

const server = net.createServer({ noDelay: true }, relay);
server.listen({ host: '127.0.0.1', port: 0 }, () => {
  parentPort?.postMessage({ port: (server.address() as net.AddressInfo).port });
});

import net from 'node:net';

/**
 * A TCP port that was free on 127.0.0.1 a moment ago: bind port 0, read the port the kernel chose,
 * release it. Another process could take it before the caller binds, which is acceptable for tests.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the bound port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

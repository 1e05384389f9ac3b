// protected-mode against the real redis-server 7.0: with protected-mode yes and no password on
// the default user, a connection from anywhere but 127.0.0.1 or ::1 gets the DENIED message
// and is closed. Redis compares the peer's address with those two strings, so a client bound
// to 127.0.0.2 (still the loopback interface) is refused: the tests connect from there.
import * as net from 'node:net';
import { expect, it } from 'vitest';
import { describeDifferential, type BothServers, useBothServers } from '../helpers/diff';
import { RawConnection } from '../helpers/resp';

/** Connects from `localAddress`, sends PING, and returns what came back before the server closed (or 500 ms passed). */
function pingFrom(port: number, localAddress: string): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress }, () => socket.write('PING\r\n'));
    let text = '';
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(() => done(false), 500);
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => done(true));
  });
}

async function admin(port: number, ...args: string[]): Promise<string> {
  const c = await RawConnection.connect(port);
  try {
    const r = await c.send(...args);
    return r.t === 'bulk' ? r.v?.toString() ?? '' : r.t === 'simple' || r.t === 'error' ? r.v : JSON.stringify(r);
  } finally {
    c.close();
  }
}

async function rejectedConnections(port: number): Promise<number> {
  return Number(/rejected_connections:(\d+)/.exec(await admin(port, 'INFO', 'stats'))?.[1]);
}

describeDifferential('protected-mode', () => {
  let servers!: BothServers;
  useBothServers((s) => (servers = s));
  const both = async <T>(fn: (port: number) => Promise<T>): Promise<[T, T]> =>
    Promise.all([fn(servers.keyfork.port), fn(servers.redis.port)]);

  it('refuses 127.0.0.2 with Redis\'s DENIED text and closes; 127.0.0.1 is served', async () => {
    const [k, r] = await both(async (port) => {
      const before = await rejectedConnections(port);
      const remote = await pingFrom(port, '127.0.0.2');
      const local = await pingFrom(port, '127.0.0.1');
      return { remote, local, rejected: (await rejectedConnections(port)) - before };
    });
    expect(r.remote.text.startsWith('-DENIED Redis is running in protected mode')).toBe(true);
    expect(r.remote.closed).toBe(true);
    expect(k).toEqual(r);
    expect(k.local).toEqual({ text: '+PONG\r\n', closed: false });
    expect(k.rejected).toBe(1);
  });

  it('lets remote clients in once a password is set (requirepass or ACL) or protected-mode is off', async () => {
    const steps: [string[], string[]][] = [
      [['CONFIG', 'SET', 'requirepass', 'secret'], ['CONFIG', 'SET', 'requirepass', '']],
      [['ACL', 'SETUSER', 'default', '>pw'], ['ACL', 'SETUSER', 'default', 'nopass']],
      [['CONFIG', 'SET', 'protected-mode', 'no'], ['CONFIG', 'SET', 'protected-mode', 'yes']],
    ];
    for (const [set, undo] of steps) {
      const [k, r] = await both(async (port) => {
        // One connection across the step: it stays authenticated while the password is set.
        const c = await RawConnection.connect(port);
        try {
          await c.send(...set);
          const open = await pingFrom(port, '127.0.0.2');
          await c.send(...undo);
          const closedAgain = await pingFrom(port, '127.0.0.2');
          return { open, closedAgain: closedAgain.closed };
        } finally {
          c.close();
        }
      });
      expect(k, set.join(' ')).toEqual(r);
      expect(r.open.closed, set.join(' ')).toBe(false);
      expect(r.closedAgain, set.join(' ')).toBe(true);
    }
  });
});

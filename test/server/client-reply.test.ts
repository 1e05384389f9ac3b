// CLIENT REPLY ON|OFF|SKIP against the real redis-server 7.0, byte for byte: OFF drops every
// reply (errors and rejections included) until ON, SKIP drops the next command's only (a SKIP
// while skipping skips the one after it), push messages (subscribe notices, messages) still
// arrive, a muted EXEC's array header goes out, RESET turns replies back on; RESP2 and RESP3.
import net from 'node:net';
import { expect, it } from 'vitest';
import { describeDifferential, type BothServers, useBothServers } from '../helpers/diff';
import { encodeCommand, RawConnection } from '../helpers/resp';

/** Sends each command in its own write (publishing from a second connection where asked), then PING, and returns everything received up to PING's PONG. */
async function exchange(port: number, commands: string[][], publisher: RawConnection): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const chunks: Buffer[] = [];
  socket.on('data', (c) => chunks.push(c));
  const settle = () => new Promise((r) => setTimeout(r, 30));
  try {
    for (const command of commands) {
      if (command[0] === 'publish-from-other') await publisher.send('PUBLISH', command[1], command[2]);
      else socket.write(encodeCommand(command));
      await settle();
    }
    socket.write(encodeCommand(['CLIENT', 'REPLY', 'ON']));
    socket.write(encodeCommand(['PING', 'the-end']));
    const deadline = Date.now() + 5_000;
    while (!Buffer.concat(chunks).includes('the-end') && Date.now() < deadline) await settle();
    return JSON.stringify(Buffer.concat(chunks).toString('latin1'));
  } finally {
    socket.destroy();
  }
}

const SEQUENCES: string[][][] = [
  [['CLIENT', 'REPLY', 'OFF'], ['PING'], ['SET', 'k', 'v'], ['GET', 'k'], ['NOSUCH'], ['GET'], ['INCR', 'k'], ['CLIENT', 'REPLY', 'ON'], ['GET', 'k']],
  [['CLIENT', 'REPLY', 'SKIP'], ['PING', 'a'], ['PING', 'b'], ['CLIENT', 'REPLY', 'SKIP'], ['CLIENT', 'REPLY', 'SKIP'], ['PING', 'c'], ['PING', 'd'],
    ['CLIENT', 'REPLY', 'BAD'], ['CLIENT', 'REPLY'], ['CLIENT', 'REPLY', 'ON', 'x'], ['CLIENT', 'REPLY', 'SKIP'], ['CLIENT', 'REPLY', 'ON'], ['PING', 'e']],
  [['CLIENT', 'REPLY', 'OFF'], ['SUBSCRIBE', 'news'], ['publish-from-other', 'news', 'hello'], ['PING'], ['UNSUBSCRIBE'], ['PING', 'muted']],
  [['CLIENT', 'REPLY', 'SKIP'], ['SUBSCRIBE', 'news'], ['publish-from-other', 'news', 'hello'], ['UNSUBSCRIBE'], ['PING', 'x']],
  [['MULTI'], ['CLIENT', 'REPLY', 'OFF'], ['PING'], ['EXEC'], ['PING', 'after']],
  [['CLIENT', 'REPLY', 'SKIP'], ['CLIENT', 'REPLY', 'OFF'], ['PING'], ['CLIENT', 'REPLY', 'ON'], ['PING', 'x']],
  [['CLIENT', 'REPLY', 'OFF'], ['RESET'], ['PING', 'after-reset']],
  [['CLIENT', 'REPLY', 'OFF'], ['MULTI'], ['SET', 'a', '1'], ['EXEC'], ['GET', 'a']],
];

describeDifferential('CLIENT REPLY', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s));

  for (const resp3 of [false, true]) {
    it(`drops and keeps what Redis does (${resp3 ? 'RESP3' : 'RESP2'})`, async () => {
      const publishers = await Promise.all([RawConnection.connect(servers.keyfork.port), RawConnection.connect(servers.redis.port)]);
      try {
        for (const sequence of SEQUENCES) {
          const commands = resp3 ? [['HELLO', '3'], ...sequence] : sequence;
          const [k, r] = await Promise.all([exchange(servers.keyfork.port, commands, publishers[0]), exchange(servers.redis.port, commands, publishers[1])]);
          // HELLO's map names the server and its version: compare what follows it.
          const strip = (s: string) => (resp3 ? s.slice(s.indexOf('modules')) : s);
          expect(`${sequence.map((c) => c.join(' ')).join(' | ')}: ${strip(k)}`).toBe(`${sequence.map((c) => c.join(' ')).join(' | ')}: ${strip(r)}`);
        }
      } finally {
        publishers.forEach((p) => p.close());
      }
    });
  }
});

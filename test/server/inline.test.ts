// Inline requests with control bytes, byte for byte against redis-server 7.0 (issue 16). Redis
// finds the end of an inline line with strchr() (a NUL byte hides the newline: no reply until
// the line is too big) and splits it with sdssplitargs (blanks are isspace(), but only space,
// \t, \r and \n end an unquoted argument).
import net from 'node:net';
import { expect, it } from 'vitest';
import { describeDifferential, useBothServers, type BothServers } from '../helpers/diff';

/** Everything the server sends back within `ms` after `bytes` (closing included), as text. */
function exchange(port: number, bytes: Buffer, ms = 300): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => (closed = true));
    sock.on('connect', () => {
      sock.write(bytes);
      setTimeout(() => {
        sock.destroy();
        resolve(Buffer.concat(chunks).toString('latin1') + (closed ? '<closed>' : ''));
      }, ms);
    });
  });
}

describeDifferential('inline requests with control bytes vs redis-server 7.0', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s));

  const CONTROLS = [...Array.from({ length: 32 }, (_, i) => i), 0x7f];

  const cases: Array<[string, Buffer]> = [];
  const add = (label: string, text: string) => cases.push([label, Buffer.from(`${text}PING\r\n`, 'latin1')]);
  for (const c of CONTROLS) {
    const ch = String.fromCharCode(c);
    const hex = `0x${c.toString(16).padStart(2, '0')}`;
    if (c === 10) continue; // the newline itself
    add(`${hex} alone`, `${ch}${ch}\r\n`);
    add(`${hex} between arguments`, `ECHO a${ch}b\r\n`);
    add(`${hex} before the command`, `${ch}ECHO x\r\n`);
    add(`${hex} after an argument`, `ECHO ab${ch}\r\n`);
    add(`${hex} in double quotes`, `ECHO "a${ch}b"\r\n`);
    add(`${hex} in single quotes`, `ECHO 'a${ch}b'\r\n`);
    add(`${hex} after a closing quote`, `ECHO "ab"${ch}\r\n`);
    add(`${hex} after an escape`, `ECHO "a\\${ch}b"\r\n`);
  }
  add('NUL then a long line', `\0${'a'.repeat(70 * 1024)}\r\n`);
  add('hex escapes', 'ECHO "\\x41\\x4g\\X41"\r\n');

  it(`${cases.length} lines get the same bytes back (or the same silence)`, async () => {
    const differences: string[] = [];
    // A few at a time: a busy machine must not turn a slow answer into silence.
    for (let i = 0; i < cases.length; i += 16) {
      const batch = cases.slice(i, i + 16);
      const all = await Promise.all(
        batch.map(async ([label, bytes]) => [label, ...(await Promise.all([exchange(servers.keyfork.port, bytes), exchange(servers.redis.port, bytes)]))] as const),
      );
      for (const [label, k, r] of all) {
        if (k !== r) differences.push(`${label}:\n  keyfork: ${JSON.stringify(k)}\n  redis:   ${JSON.stringify(r)}`);
      }
    }
    expect(differences.join('\n')).toBe('');
  }, 60_000);
});

// Inline requests of data commands (redis-benchmark's PING_INLINE, telnet-style clients) byte
// for byte against redis-server 7.0, on both socket paths: the addon frames and runs plain
// inline lines itself (native/src/batch.rs frame_inline) and leaves quoted or otherwise
// special ones to TypeScript's parser, so the two must never be told apart.
import net from 'node:net';
import { expect, it } from 'vitest';
import { describeDifferential, useBothServers, type BothServers } from '../helpers/diff';

const END = 'END-OF-CASE';
const MARK = Buffer.from(`ECHO ${END}\r\n`);

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Sends `parts` (pausing between them, so that they arrive as separate reads) and then the end
 * mark; everything received until the mark's reply (or the close), as text.
 */
function exchange(port: number, parts: Buffer[], pauseMs = 0): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.setNoDelay(true);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => finish(' <timed out>'), 10_000);
    let done = false;
    const finish = (suffix: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(Buffer.concat(chunks).toString('latin1') + suffix);
    };
    sock.on('data', (c) => {
      chunks.push(c);
      if (Buffer.concat(chunks).toString('latin1').endsWith(`${END}\r\n`)) finish('');
    });
    // A write racing the server's close may fail (EPIPE, reset): that is the close too.
    sock.on('error', () => finish('<closed>'));
    sock.on('close', () => finish('<closed>'));
    sock.on('connect', async () => {
      for (const part of parts) {
        sock.write(part);
        if (pauseMs > 0) await sleep(pauseMs);
      }
      if (!sock.destroyed) sock.write(MARK);
    });
  });
}

const latin1 = (text: string) => Buffer.from(text, 'latin1');

/** Label, the writes (apart by `pauseMs` when given). */
const CASES: Array<[string, Buffer[], number?]> = [
  ['data commands', [latin1('SET in:k v\r\nGET in:k\r\nINCR in:n\r\nINCR in:n\r\nGET in:n\r\nDEL in:k\r\nEXISTS in:k\r\n')]],
  ['blank lines between commands', [latin1('\r\n\r\n   \r\n\t\nPING\r\n\n\r\nPING hello\r\n')]],
  ['LF-only line ends', [latin1('SET in:lf 1\nGET in:lf\nINCRBY in:lf 41\n')]],
  ['spaces and tabs around words', [latin1('  SET \t in:sp\t\t2   \r\n\tGET in:sp \r\n')]],
  ['inline and multibulk in one chunk', [latin1('SET in:mix a\r\n*2\r\n$3\r\nGET\r\n$6\r\nin:mix\r\nAPPEND in:mix b\r\n*1\r\n$4\r\nPING\r\nGET in:mix\r\n')]],
  ['wrong arity and unknown commands', [latin1('GET\r\nSET in:ar\r\nNOSUCH a b\r\nPING\r\n')]],
  ['wrong type', [latin1('LPUSH in:list x y\r\nGET in:list\r\nLRANGE in:list 0 -1\r\n')]],
  ['quoted arguments', [latin1('SET in:q "a b\\x41"\r\nGET in:q\r\nSET in:q2 \'c d\'\r\nGET in:q2\r\n')]],
  ['bytes above 0x7f and control bytes in words', [latin1('SET in:bin \x01\x7f\xff\xfe\r\nGET in:bin\r\nSTRLEN in:bin\r\n')]],
  ['a lone CR inside a line', [latin1('SET in:cr a\rb\r\nGET in:cr\r\nSET in:cr2 a\r\r\nGET in:cr2\r\n')]],
  ['\\v and \\f inside and before words', [latin1('SET in:v a\x0bb\r\nGET in:v\r\n\x0cGET in:v\r\n\x0b\r\n')]],
  // Nothing after a line that closes the connection (unread bytes would turn the close into a reset).
  ['unbalanced quotes close the connection', [latin1('SET in:u 1\r\nGET "in:u\r\n')], 300],
  ['a thousand pipelined inline PINGs', [latin1('PING\r\n'.repeat(1000))]],
  ['a 20 KB inline argument', [latin1(`SET in:big ${'a'.repeat(20_000)}\r\nSTRLEN in:big\r\n`)]],
  // The end mark's newline must come after the line has grown past 64 KB on both servers.
  ['an inline line too big', [latin1(`SET in:huge ${'a'.repeat(70 * 1024)}`), latin1('')], 300],
];

// A request cut at every byte: each piece arrives as its own read.
const CUT = 'SET in:cut 12\r\nINCR in:cut\r\n\r\nGET in:cut\r\n';

for (const mode of ['native', 'node'] as const) {
  describeDifferential(`inline data commands vs redis-server 7.0 (sockets: ${mode})`, () => {
    let servers: BothServers;
    useBothServers((s) => (servers = s), { keyfork: { env: { KEYFORK_SOCKETS: mode } } });

    it(`${CASES.length} cases get the same bytes back`, async () => {
      const differences: string[] = [];
      for (const [label, parts, pauseMs] of CASES) {
        const [k, r] = await Promise.all([exchange(servers.keyfork.port, parts, pauseMs), exchange(servers.redis.port, parts, pauseMs)]);
        if (k !== r) differences.push(`${label}:\n  keyfork: ${JSON.stringify(k.slice(0, 400))}\n  redis:   ${JSON.stringify(r.slice(0, 400))}`);
      }
      expect(differences.join('\n')).toBe('');
    }, 60_000);

    it('serves an inline request that arrives a byte at a time', async () => {
      const parts = [...CUT].map((c) => latin1(c));
      const [k, r] = await Promise.all([exchange(servers.keyfork.port, parts, 3), exchange(servers.redis.port, parts, 3)]);
      expect(k).toBe(r);
      expect(k).toBe(`+OK\r\n:13\r\n$2\r\n13\r\n$${END.length}\r\n${END}\r\n`);
    }, 30_000);

    it('counts inline commands in commandstats as Redis does', async () => {
      const calls = async (port: number) => {
        await exchange(port, [latin1('CONFIG RESETSTAT\r\n')]);
        await exchange(port, [latin1('PING\r\n'.repeat(100) + '\r\n'.repeat(5) + 'SET in:st 1\r\nGET in:st\r\n')]);
        const info = await exchange(port, [latin1('INFO commandstats\r\n')]);
        return ['ping', 'set', 'get'].map((c) => new RegExp(`cmdstat_${c}:calls=(\\d+)`).exec(info)?.[1]);
      };
      const [k, r] = [await calls(servers.keyfork.port), await calls(servers.redis.port)];
      expect(k).toEqual(r);
      expect(k).toEqual(['100', '1', '1']);
    }, 30_000);
  });
}

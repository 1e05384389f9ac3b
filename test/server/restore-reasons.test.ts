// A refused RESTORE logs why at verbose, as Redis's rdbReportError does in a RESTORE context:
// "Internal error in RDB reading offset 0, function at rdb.c:<line> -> <reason>", with the
// reason rdbLoadObject reports for the payload's type (payloads from Redis's own
// tests/integration/corrupt-dump.tcl). The same payloads on redis-server and on keyfork must
// get the same reply and the same line.
import { expect, it } from 'vitest';
import { describeDifferential, withBothServers } from '../helpers/diff';
import { RawConnection, formatReply } from '../helpers/resp';
import { show, waitFor } from './persistence-support';
import type { RunningServer } from '../helpers/servers';

/** A Tcl string of \xNN escapes as bytes. */
const tcl = (escaped: string) => Buffer.from(escaped.replace(/\\x([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');

const PAYLOADS: Record<string, Buffer> = {
  // From Redis's tests/integration/corrupt-dump.tcl:
  'quicklist ziplist (#7445)': tcl(String.raw`\x0E\x01\x1D\x1D\x00\x00\x00\x16\x00\x00\x00\x03\x00\x00\x04\x43\x43\x43\x43\x06\x04\x42\x42\x42\x42\x06\x3F\x41\x41\x41\x41\xFF\x09\x00\x88\xA5\xCA\xA8\xC5\x41\xF4\x35`),
  'hash ziplist, invalid entry len': tcl(String.raw`\x0D\x1B\x1B\x00\x00\x00\x16\x00\x00\x00\x04\x00\x00\x02\x61\x00\x04\x02\x62\x00\x04\x14\x63\x00\x04\x02\x64\x00\xFF\x09\x00\xD9\x10\x54\x92\x15\xF5\x5F\x52`),
  'hash empty zipmap': tcl(String.raw`\x09\x02\x00\xFF\x09\x00\xC0\xF1\xB8\x67\x4C\x16\xAC\xE3`),
  'zset ziplist entry lensize 0': tcl(String.raw`\x0C\x3D\x3D\x00\x00\x00\x3A\x00\x00\x00\x14\x00\x00\xF1\x02\xF1\x02\x02\x5F\x31\x04\xF2\x02\xF3\x02\xF3\x02\x02\x5F\x33\x04\xF4\x02\xEE\x02\xF5\x02\x02\x5F\x35\x04\xF6\x02\xF7\x02\xF7\x02\x02\x5F\x37\x04\xF8\x02\xF9\x02\xF9\x02\x02\x5F\x39\x04\xFA\xFF\x09\x00\xAE\xF9\x77\x2A\x47\x24\x33\xF6`),
  'stream with duplicate consumers': tcl(String.raw`\x0F\x00\x00\x00\x00\x01\x07\x6D\x79\x67\x72\x6F\x75\x70\x00\x00\x00\x02\x04\x6E\x61\x6D\x65\x2A\x4C\xAA\x9A\x7D\x01\x00\x00\x00\x04\x6E\x61\x6D\x65\x2B\x4C\xAA\x9A\x7D\x01\x00\x00\x00\x0A\x00\xCC\xED\x8C\xA7\x62\xEE\xC7\xC8`),
};

/** A hand-made payload: type byte, body, RDB version 10, a CRC not checked (skip-checksum). */
const made = (type: number, ...body: Array<number[] | string>) =>
  Buffer.concat([Buffer.from([type]), ...body.map((b) => (typeof b === 'string' ? Buffer.from(b, 'latin1') : Buffer.from(b))), Buffer.from([10, 0, 0, 0, 0, 0, 0, 0, 0, 0])]);
/** A string as the RDB writes it (6-bit length). */
const str = (text: string) => [text.length, ...Buffer.from(text, 'latin1')];
const f64 = (x: number) => { const b = Buffer.alloc(8); b.writeDoubleLE(x); return [...b]; };
/** A listpack of short strings whose total-bytes header says 99. */
const badListpack = (...items: string[]) => {
  const entries = items.flatMap((t) => [0x80 | t.length, ...Buffer.from(t, 'latin1'), t.length + 1]);
  const total = [99, 0, 0, 0, items.length, 0, ...entries, 0xff];
  return [total.length, ...total];
};

Object.assign(PAYLOADS, {
  'set with a duplicate member': made(2, [2], str('a'), str('a')),
  'zset with a NaN score': made(5, [1], str('a'), f64(NaN)),
  'zset with a duplicate member': made(5, [2], str('a'), f64(1), str('a'), f64(2)),
  'small hash with a duplicate field': made(4, [2], str('a'), str('1'), str('a'), str('2')),
  'quicklist node of an unknown container': made(18, [1, 3], str('xx')),
  'quicklist listpack node': made(18, [1, 2], badListpack('a', 'b')),
  'list ziplist': made(10, [11, 11, 0, 0, 0, 10, 0, 0, 0, 1, 0, 0xfe]),
  intset: made(11, [10, 3, 0, 0, 0, 1, 0, 0, 0, 5, 0]),
  'zset listpack': made(17, badListpack('a', '1')),
  'hash listpack': made(16, badListpack('a', '1')),
});

/** The reason lines (rdb.c's line numbers are the reference build's). */
const REASON = /Internal error in RDB reading offset \d+, function at rdb\.c:\d+ -> .*/g;
const reasons = (text: string) => text.match(REASON) ?? [];

/** Each payload's reply, then every reason line the server logged, in order. */
async function restoreAll(server: RunningServer) {
  const conn = await RawConnection.connect(server.port);
  const before = server.output().length;
  try {
    await conn.send('DEBUG', 'SET-SKIP-CHECKSUM-VALIDATION', '1');
    const replies: Record<string, string> = {};
    for (const [name, payload] of Object.entries(PAYLOADS)) replies[name] = show(await conn.send('RESTORE', 'key', '0', payload));
    // The same refusal inside MULTI logs too.
    await conn.send('MULTI');
    await conn.send('RESTORE', 'key', '0', PAYLOADS['hash empty zipmap']);
    replies.exec = formatReply(await conn.send('EXEC'));
    // The server wrote its lines before its replies; the pipe from its stdout may lag.
    await waitFor(async () => reasons(server.output().slice(before)).length >= Object.keys(replies).length, 'the reason lines', 5000).catch(() => undefined);
    return { replies, logged: reasons(server.output().slice(before)) };
  } finally {
    conn.close();
  }
}

describeDifferential('RESTORE of a corrupt payload logs Redis\'s reason (differential)', () => {
  it('the reply is Bad data format and the verbose line names the reason of the payload\'s type', async () => {
    const args = ['--loglevel', 'verbose', '--sanitize-dump-payload', 'yes', '--enable-debug-command', 'yes'];
    await withBothServers(async ({ keyfork, redis }) => {
      const want = await restoreAll(redis);
      const got = await restoreAll(keyfork);
      expect(got.replies['zset ziplist entry lensize 0']).toBe('-ERR Bad data format');
      expect(got.logged).toContain('Internal error in RDB reading offset 0, function at rdb.c:2229 -> Zset ziplist integrity check failed.');
      expect(got).toEqual(want);
    }, { keyfork: { args }, redis: { args } });
  });
});

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
  'quicklist ziplist (#7445)': tcl(String.raw`\x0E\x01\x1D\x1D\x00\x00\x00\x16\x00\x00\x00\x03\x00\x00\x04\x43\x43\x43\x43\x06\x04\x42\x42\x42\x42\x06\x3F\x41\x41\x41\x41\xFF\x09\x00\x88\xA5\xCA\xA8\xC5\x41\xF4\x35`),
  'hash ziplist, invalid entry len': tcl(String.raw`\x0D\x1B\x1B\x00\x00\x00\x16\x00\x00\x00\x04\x00\x00\x02\x61\x00\x04\x02\x62\x00\x04\x14\x63\x00\x04\x02\x64\x00\xFF\x09\x00\xD9\x10\x54\x92\x15\xF5\x5F\x52`),
  'hash empty zipmap': tcl(String.raw`\x09\x02\x00\xFF\x09\x00\xC0\xF1\xB8\x67\x4C\x16\xAC\xE3`),
  'zset ziplist entry lensize 0': tcl(String.raw`\x0C\x3D\x3D\x00\x00\x00\x3A\x00\x00\x00\x14\x00\x00\xF1\x02\xF1\x02\x02\x5F\x31\x04\xF2\x02\xF3\x02\xF3\x02\x02\x5F\x33\x04\xF4\x02\xEE\x02\xF5\x02\x02\x5F\x35\x04\xF6\x02\xF7\x02\xF7\x02\x02\x5F\x37\x04\xF8\x02\xF9\x02\xF9\x02\x02\x5F\x39\x04\xFA\xFF\x09\x00\xAE\xF9\x77\x2A\x47\x24\x33\xF6`),
  'stream with duplicate consumers': tcl(String.raw`\x0F\x00\x00\x00\x00\x01\x07\x6D\x79\x67\x72\x6F\x75\x70\x00\x00\x00\x02\x04\x6E\x61\x6D\x65\x2A\x4C\xAA\x9A\x7D\x01\x00\x00\x00\x04\x6E\x61\x6D\x65\x2B\x4C\xAA\x9A\x7D\x01\x00\x00\x00\x0A\x00\xCC\xED\x8C\xA7\x62\xEE\xC7\xC8`),
};

/**
 * The reason lines, rdb.c's line number aside: keyfork names the line of Redis 7.0.15's
 * source, where Debian's build of it reports lines 1-2 further down.
 */
const REASON = /Internal error in RDB reading offset \d+, function at rdb\.c:\d+ -> .*/g;
const reasons = (text: string) => (text.match(REASON) ?? []).map((l) => l.replace(/rdb\.c:\d+/, 'rdb.c:N'));

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
      expect(got.logged).toContain('Internal error in RDB reading offset 0, function at rdb.c:N -> Zset ziplist integrity check failed.');
      expect(got).toEqual(want);
    }, { keyfork: { args }, redis: { args } });
  });
});

// Reading replies and INFO fields in tests, and waiting for a condition on a server.
import { formatReply, type RawConnection, type Reply } from './resp';

/** A bulk, verbatim or simple string reply's text (latin1); anything else throws. */
export function replyText(r: Reply): string {
  if ((r.t === 'bulk' || r.t === 'verbatim' || r.t === 'simple') && r.v !== null) return r.v.toString('latin1');
  throw new Error(`not a string reply: ${formatReply(r)}`);
}

/** An integer field of INFO `section`. */
export async function infoNumber(conn: RawConnection, section: string, field: string): Promise<number> {
  const m = new RegExp(`^${field}:(\\d+)`, 'm').exec(replyText(await conn.send('INFO', section)));
  if (!m) throw new Error(`no ${field} in INFO ${section}`);
  return Number(m[1]);
}

/** Polls `cond` every `stepMs` until it holds (true) or `ms` passed (its last answer). */
export async function until(cond: () => Promise<boolean>, ms = 5000, stepMs = 20): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}

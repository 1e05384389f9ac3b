// Stream replies hold clock-dependent numbers (idle, delivery and seen times) that differ between
// two servers by nature: differential tests zero them before comparing.
import { type Arg, type Reply } from './resp';

const lower = (a: Arg | undefined) => (a === undefined ? '' : a.toString().toLowerCase());
const ZERO: Reply = { t: 'int', v: 0 };

/** The replies' clock-dependent numbers, zeroed. */
export function zeroStreamTimes(command: Arg[], reply: Reply): Reply {
  const name = lower(command[0]);
  const sub = lower(command[1]);
  if (name === 'xpending' && command.length > 3 && reply.t === 'array' && reply.v) {
    return { t: 'array', v: reply.v.map((row) => (row.t === 'array' && row.v?.length === 4 ? { t: 'array', v: [row.v[0], row.v[1], ZERO, row.v[3]] } : row)) };
  }
  if (name === 'xinfo' && (sub === 'consumers' || sub === 'stream')) return zeroNamed(reply);
  return reply;
}

/** In maps (or RESP2 flat field lists): idle and seen-time values, and pending rows' times. */
function zeroNamed(r: Reply): Reply {
  const fix = (key: Reply, value: Reply): Reply => {
    const k = key.t === 'bulk' && key.v ? key.v.toString() : '';
    if (k === 'idle' || k === 'seen-time') return ZERO;
    if (k === 'pending' && value.t === 'array' && value.v) {
      return { t: 'array', v: value.v.map((row) => {
        if (row.t !== 'array' || !row.v) return row;
        if (row.v.length === 4) return { t: 'array', v: [row.v[0], row.v[1], ZERO, row.v[3]] };
        if (row.v.length === 3) return { t: 'array', v: [row.v[0], ZERO, row.v[2]] };
        return row;
      }) };
    }
    return zeroNamed(value);
  };
  if (r.t === 'map') return { t: 'map', v: r.v.map(([k, v]) => [k, fix(k, v)]) };
  if (r.t === 'array' && r.v) {
    const looksLikeFields = r.v.length % 2 === 0 && r.v.length > 0 && r.v.every((x, i) => i % 2 === 1 || (x.t === 'bulk' && x.v && /^[a-z-]+$/.test(x.v.toString())));
    if (looksLikeFields) return { t: 'array', v: r.v.map((x, i) => (i % 2 === 1 ? fix(r.v![i - 1], x) : x)) };
    return { t: 'array', v: r.v.map(zeroNamed) };
  }
  return r;
}

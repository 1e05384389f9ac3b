// SLOWLOG and LATENCY against redis-server 7.0: the same commands on both, replies compared
// exactly where Redis is deterministic, and by shape where they carry times and durations.
import { expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches, type BothServers, useBothServers } from '../helpers/diff';
import { formatReply, RawConnection, replyNumber, type Arg, type Reply } from '../helpers/resp';

let servers: BothServers;

const text = (r: Reply): string => {
  if ((r.t === 'bulk' || r.t === 'verbatim' || r.t === 'simple') && r.v !== null) return r.v.toString('latin1');
  throw new Error(`not a string reply: ${formatReply(r)}`);
};

/** Runs `scenario` on a fresh connection to each server; both results must be equal. */
async function same<T>(scenario: (conn: RawConnection) => Promise<T>, resp3 = false): Promise<T> {
  const run = async (port: number) => {
    const conn = await RawConnection.connect(port, { resp3 });
    try {
      return await scenario(conn);
    } finally {
      conn.close();
    }
  };
  const [k, r] = await Promise.all([run(servers.keyfork.port), run(servers.redis.port)]);
  expect(k).toEqual(r);
  return k;
}

/** A SLOWLOG GET entry with its varying fields (id, time, duration, port) blanked. */
function entryShape(e: Reply): unknown {
  if (e.t !== 'array' || e.v === null) throw new Error(formatReply(e));
  const [id, time, usec, args, peer, name] = e.v;
  return {
    types: [id.t, time.t, usec.t, args.t, peer.t, name.t],
    args: args.t === 'array' && args.v ? args.v.map(text) : null,
    peerIsAddress: /^127\.0\.0\.1:\d+$/.test(text(peer)),
    name: text(name),
  };
}

describeDifferential('SLOWLOG and LATENCY vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] } });

  const check = async (commands: Arg[][], resp3 = false) => {
    const mismatches = await compareSequences(commands, { servers, resp3 });
    expect(formatMismatches(mismatches)).toBe('');
  };

  it('SLOWLOG HELP, LEN, RESET and GET argument errors', async () => {
    await check([
      ['SLOWLOG', 'HELP'],
      ['SLOWLOG', 'RESET'],
      ['SLOWLOG', 'LEN'],
      ['SLOWLOG', 'GET', '-2'],
      ['SLOWLOG', 'GET', 'x'],
      ['SLOWLOG', 'GET', '1', '2'],
      ['SLOWLOG', 'LEN', 'x'],
      ['SLOWLOG', 'NOPE'],
      ['SLOWLOG'],
    ]);
  });

  it('logs every call at threshold 0, newest first, long arguments and argument lists cut as Redis does', async () => {
    const shapes = await same(async (c) => {
      await c.send('CONFIG', 'SET', 'slowlog-log-slower-than', '0');
      await c.send('CONFIG', 'SET', 'slowlog-max-len', '128');
      await c.send('SLOWLOG', 'RESET');
      await c.send('CLIENT', 'SETNAME', 'logger');
      await c.send('SET', 'k', 'x'.repeat(300));
      await c.send('RPUSH', 'l', ...Array.from({ length: 40 }, (_, i) => `e${i}`));
      await c.send('GET', 'k');
      const len = await c.send('SLOWLOG', 'LEN');
      const get = await c.send('SLOWLOG', 'GET', '4');
      const all = await c.send('SLOWLOG', 'GET', '-1');
      const none = await c.send('SLOWLOG', 'GET', '0');
      await c.send('CONFIG', 'SET', 'slowlog-log-slower-than', '10000');
      if (get.t !== 'array' || !get.v || all.t !== 'array' || !all.v) throw new Error(formatReply(get));
      return { len, shapes: get.v.map(entryShape), all: all.v.length, none };
    });
    expect(shapes.shapes).toHaveLength(4);
  });

  it('slowlog-max-len keeps the newest entries; a negative threshold logs nothing', async () => {
    await same(async (c) => {
      await c.send('CONFIG', 'SET', 'slowlog-log-slower-than', '0');
      await c.send('CONFIG', 'SET', 'slowlog-max-len', '3');
      await c.send('SLOWLOG', 'RESET');
      for (let i = 0; i < 5; i++) await c.send('SET', `k${i}`, 'v');
      const kept = await c.send('SLOWLOG', 'GET', '-1');
      await c.send('CONFIG', 'SET', 'slowlog-log-slower-than', '-1');
      await c.send('SLOWLOG', 'RESET');
      await c.send('SET', 'k', 'v');
      const len = await c.send('SLOWLOG', 'LEN');
      await c.send('CONFIG', 'SET', 'slowlog-log-slower-than', '10000');
      await c.send('CONFIG', 'SET', 'slowlog-max-len', '128');
      if (kept.t !== 'array' || !kept.v) throw new Error(formatReply(kept));
      return { kept: kept.v.map(entryShape), len };
    });
  });

  it('passwords are redacted in the slow log', async () => {
    await same(async (c) => {
      await c.send('CONFIG', 'SET', 'slowlog-log-slower-than', '0');
      await c.send('SLOWLOG', 'RESET');
      await c.send('AUTH', 'not-the-password');
      await c.send('AUTH', 'someone', 'secret');
      await c.send('HELLO', '2', 'AUTH', 'default', 'secret', 'SETNAME', 'x');
      await c.send('CONFIG', 'SET', 'masterauth', 'hidden');
      const got = await c.send('SLOWLOG', 'GET', '4');
      await c.send('CONFIG', 'SET', 'masterauth', '');
      await c.send('CONFIG', 'SET', 'slowlog-log-slower-than', '10000');
      if (got.t !== 'array' || !got.v) throw new Error(formatReply(got));
      return got.v.map(entryShape);
    });
  });

  it('LATENCY HELP, and its replies with no data, with the monitor off and on', async () => {
    await check([
      ['LATENCY', 'RESET'],
      ['CONFIG', 'SET', 'latency-monitor-threshold', '0'],
      ['LATENCY', 'HELP'],
      ['LATENCY', 'LATEST'],
      ['LATENCY', 'HISTORY', 'command'],
      ['LATENCY', 'GRAPH', 'command'],
      ['LATENCY', 'RESET', 'command', 'fork'],
      ['LATENCY', 'DOCTOR'],
      ['LATENCY', 'NOPE'],
      ['LATENCY', 'HISTORY'],
      ['LATENCY', 'HISTOGRAM', 'nosuchcommand'],
    ]);
  });

  it('records a slow command as a "command" event: LATEST, HISTORY, GRAPH and DOCTOR', async () => {
    const result = await same(async (c) => {
      await c.send('LATENCY', 'RESET');
      await c.send('CONFIG', 'SET', 'latency-monitor-threshold', '40');
      await c.send('DEBUG', 'SLEEP', '0.1');
      const latest = await c.send('LATENCY', 'LATEST');
      const history = await c.send('LATENCY', 'HISTORY', 'command');
      const graph = text(await c.send('LATENCY', 'GRAPH', 'command'));
      const doctor = text(await c.send('LATENCY', 'DOCTOR'));
      const reset = await c.send('LATENCY', 'RESET', 'COMMAND');
      await c.send('CONFIG', 'SET', 'latency-monitor-threshold', '0');
      if (latest.t !== 'array' || !latest.v || history.t !== 'array' || !history.v) throw new Error(formatReply(latest));
      const row = latest.v[0];
      if (row.t !== 'array' || !row.v) throw new Error(formatReply(row));
      const [event, , latency, max] = row.v;
      return {
        latest: [latest.v.length, text(event), replyNumber(latency) >= 100, replyNumber(max) >= 100],
        history: history.v.length,
        graphHeader: /^command - high \d+ ms, low \d+ ms \(all time high \d+ ms\)\n-{80}\n/.test(graph),
        graphRows: graph.split('\n').length,
        doctorStart: doctor.split('\n')[0],
        doctorEvent: /^1\. command: 1 latency spikes \(average \d+ms, mean deviation 0ms, period 1\.00 sec\)\. Worst all time event \d+ms\.$/m.test(doctor),
        advices: doctor.split('\n').filter((l) => l.startsWith('- ')).map((l) => l.slice(0, 40)),
        reset,
      };
    });
    expect(result.latest).toEqual([1, 'command', true, true]);
  });

  it('LATENCY HISTOGRAM and INFO latencystats report each command called', async () => {
    for (const resp3 of [false, true]) {
      await same(async (c) => {
        await c.send('CONFIG', 'RESETSTAT');
        await c.send('SET', 'h', 'v');
        await c.send('SET', 'h', 'w');
        await c.send('CONFIG', 'GET', 'maxmemory');
        const h = await c.send('LATENCY', 'HISTOGRAM', 'set', 'config', 'get');
        const entries = h.t === 'map' ? h.v : h.t === 'array' && h.v ? pairs(h.v) : [];
        const shape = entries.map(([name, body]) => {
          const fields = body.t === 'map' ? body.v : body.t === 'array' && body.v ? pairs(body.v) : [];
          const [calls, histogram] = fields;
          const buckets = histogram[1].t === 'map' ? histogram[1].v : histogram[1].t === 'array' && histogram[1].v ? pairs(histogram[1].v) : [];
          const counts = buckets.map(([, n]) => replyNumber(n));
          return {
            name: text(name),
            keys: [text(calls[0]), text(histogram[0])],
            calls: replyNumber(calls[1]),
            cumulative: counts.every((n, i) => i === 0 || n > counts[i - 1]) && counts[counts.length - 1] === replyNumber(calls[1]),
            types: [h.t, body.t, histogram[1].t],
          };
        });
        const info = text(await c.send('INFO', 'latencystats'));
        const lines = info.split('\r\n').filter((l) => l.startsWith('latency_percentiles_usec_set:') || l.startsWith('latency_percentiles_usec_config|get:'));
        // Subcommands come in each server's table order: compare them sorted.
        return { shape: shape.sort((a, b) => a.name.localeCompare(b.name)), lines: lines.map((l) => l.replace(/=\d+\.\d{3}/g, '=N')).sort() };
      }, resp3);
    }
  });
});

describeDifferential('latency-tracking vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s));

  it('latency-tracking no records no histogram; latency-tracking-info-percentiles chooses INFO latencystats\' percentiles', async () => {
    await same(async (c) => {
      await c.send('CONFIG', 'SET', 'latency-tracking', 'no');
      await c.send('CONFIG', 'RESETSTAT');
      await c.send('SET', 'a', '1');
      const none = formatReply(await c.send('LATENCY', 'HISTOGRAM', 'set'));
      const noLines = text(await c.send('INFO', 'latencystats')).split('\r\n').filter((l) => l.startsWith('latency_'));
      await c.send('CONFIG', 'SET', 'latency-tracking', 'yes');
      await c.send('CONFIG', 'SET', 'latency-tracking-info-percentiles', '0 25.5 99.99 100');
      await c.send('SET', 'a', '2');
      const line = text(await c.send('INFO', 'latencystats')).split('\r\n').find((l) => l.startsWith('latency_percentiles_usec_set:'));
      await c.send('CONFIG', 'SET', 'latency-tracking-info-percentiles', '50 99 99.9');
      return { none, noLines, line: line?.replace(/=\d+\.\d{3}/g, '=N') };
    });
  });
});

function pairs(items: Reply[]): Array<[Reply, Reply]> {
  const out: Array<[Reply, Reply]> = [];
  for (let i = 0; i + 1 < items.length; i += 2) out.push([items[i], items[i + 1]]);
  return out;
}

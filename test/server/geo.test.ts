// Geo commands, differentially against the real redis-server 7.0: GEOADD's scores, GEOPOS /
// GEODIST / GEOHASH formatting, and the radius and box searches (members, order, COUNT [ANY],
// WITH* options, STORE/STOREDIST, errors) over fixed and seeded random points, both protocols.
import { it } from 'vitest';
import { describeDifferential, expectSameRepliesAndCounters, type BothServers, useBothServers } from '../helpers/diff';
import { type Arg } from '../helpers/resp';
import { pick, rng } from '../helpers/random';

let servers: BothServers;

const SICILY: Arg[] = ['GEOADD', 'Sicily', '13.361389', '38.115556', 'Palermo', '15.087269', '37.502669', 'Catania', '12.758489', '38.788135', 'edge1',
  '17.241510', '38.788135', 'edge2', '13.583333', '37.316667', 'Agrigento', '-0.1278', '51.5074', 'London', '139.6917', '35.6895', 'Tokyo'];

describeDifferential('geo commands vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] }, redis: { args: ['--enable-debug-command', 'yes'] } });

  const check = (commands: Arg[][], resp3 = false) => expectSameRepliesAndCounters(servers, commands, { resp3 });

  it('GEOADD, GEOPOS, GEODIST, GEOHASH: scores, formatting and errors', async () => {
    const cmds: Arg[][] = [
      SICILY, ['ZRANGE', 'Sicily', '0', '-1', 'WITHSCORES'], ['GEOADD', 'Sicily', 'NX', '13', '38', 'Palermo', '1', '1', 'new'],
      ['GEOADD', 'Sicily', 'XX', 'CH', '13', '38', 'Palermo', '2', '2', 'other'], ['GEOADD', 'Sicily', 'XX', 'NX', '1', '1', 'a'],
      ['GEOADD', 'Sicily', '1', '1'], ['GEOADD', 'Sicily', 'CH'], ['GEOADD', 'Sicily', 'NX', 'CH', 'XX'], ['GEOADD', 'Sicily', '200', '10', 'bad'],
      ['GEOADD', 'Sicily', '10', '86', 'bad'], ['GEOADD', 'Sicily', '10', 'x', 'bad'], ['GEOADD', 'Sicily', '-180', '-85.05112878', 'corner'],
      ['GEOADD', 'Sicily', '180', '85.05112878', 'corner2'], ['GEOADD', 'Sicily', '1e400', '1', 'inf'], ['GEOADD', 'Sicily', 'inf', '1', 'inf'],
      ['GEOADD', 'Sicily', '0x10', '1', 'hex'], ['GEOADD', 'Sicily', ' 1', '1', 'space'], ['GEOADD', 'Sicily', '0', '0', 'zero'],
      ['ZRANGE', 'Sicily', '0', '-1', 'WITHSCORES'], ['OBJECT', 'ENCODING', 'Sicily'],
      ['GEOPOS', 'Sicily', 'Palermo', 'Catania', 'nobody', 'corner', 'corner2', 'zero', 'hex'], ['GEOPOS', 'nokey', 'a'], ['GEOPOS', 'Sicily'],
      ['GEODIST', 'Sicily', 'Palermo', 'Catania'], ['GEODIST', 'Sicily', 'Palermo', 'Catania', 'km'], ['GEODIST', 'Sicily', 'Palermo', 'Catania', 'MI'],
      ['GEODIST', 'Sicily', 'Palermo', 'Catania', 'ft'], ['GEODIST', 'Sicily', 'Palermo', 'Catania', 'yards'], ['GEODIST', 'Sicily', 'Palermo', 'Catania', 'm', 'x'],
      ['GEODIST', 'Sicily', 'Palermo', 'nobody'], ['GEODIST', 'nokey', 'a', 'b'], ['GEODIST', 'Sicily', 'London', 'Tokyo', 'km'], ['GEODIST', 'Sicily', 'Palermo', 'Palermo'],
      ['GEODIST', 'Sicily', 'corner', 'corner2'], ['GEOHASH', 'Sicily', 'Palermo', 'Catania', 'nobody', 'corner', 'corner2', 'zero'], ['GEOHASH', 'nokey', 'a'],
      ['ZADD', 'Sicily', '9007199254740992', 'toobig', '-1', 'negative', 'inf', 'infinite'], ['GEOPOS', 'Sicily', 'toobig', 'negative', 'infinite'],
      ['GEOHASH', 'Sicily', 'toobig', 'negative'], ['GEODIST', 'Sicily', 'toobig', 'Palermo'],
      ['SET', 'str', 'v'], ['GEOADD', 'str', '1', '1', 'a'], ['GEOPOS', 'str', 'a'], ['GEODIST', 'str', 'a', 'b'], ['GEOHASH', 'str', 'a'],
    ];
    await check(cmds);
    await check(cmds, true);
  });

  it('GEORADIUS, GEORADIUSBYMEMBER, GEOSEARCH, GEOSEARCHSTORE: options, order and errors', async () => {
    const searches: Arg[][] = [
      ['GEORADIUS', 'Sicily', '15', '37', '200', 'km'], ['GEORADIUS', 'Sicily', '15', '37', '200', 'km', 'WITHDIST', 'WITHCOORD', 'WITHHASH', 'ASC'],
      ['GEORADIUS', 'Sicily', '15', '37', '200', 'km', 'DESC', 'COUNT', '2'], ['GEORADIUS', 'Sicily', '15', '37', '200', 'km', 'COUNT', '1', 'ANY'],
      ['GEORADIUS', 'Sicily', '15', '37', '0', 'm'], ['GEORADIUS', 'Sicily', '15', '37', '20000', 'km', 'ASC'], ['GEORADIUS', 'Sicily', '15', '37', '1000', 'mi', 'WITHDIST'],
      ['GEORADIUS', 'Sicily', '15', '37', '-1', 'km'], ['GEORADIUS', 'Sicily', '15', '37', 'x', 'km'], ['GEORADIUS', 'Sicily', '15', '37', '10', 'parsecs'],
      ['GEORADIUS', 'Sicily', '200', '37', '10', 'km'], ['GEORADIUS', 'Sicily', '15', '37', '10', 'km', 'COUNT', '0'], ['GEORADIUS', 'Sicily', '15', '37', '10', 'km', 'ANY'],
      ['GEORADIUS', 'Sicily', '15', '37', '10', 'km', 'FOO'], ['GEORADIUS', 'Sicily', '15', '37', '200', 'km', 'STORE', 'dst'], ['ZRANGE', 'dst', '0', '-1', 'WITHSCORES'],
      ['GEORADIUS', 'Sicily', '15', '37', '200', 'km', 'STOREDIST', 'dst', 'COUNT', '2', 'DESC'], ['ZRANGE', 'dst', '0', '-1', 'WITHSCORES'],
      ['GEORADIUS', 'Sicily', '15', '37', '1', 'm', 'STORE', 'dst'], ['EXISTS', 'dst'], ['GEORADIUS', 'Sicily', '15', '37', '200', 'km', 'STORE', 'dst', 'WITHDIST'],
      ['GEORADIUS_RO', 'Sicily', '15', '37', '200', 'km', 'ASC'], ['GEORADIUS_RO', 'Sicily', '15', '37', '200', 'km', 'STORE', 'dst'],
      ['GEORADIUSBYMEMBER', 'Sicily', 'Palermo', '300', 'km', 'WITHDIST', 'ASC'], ['GEORADIUSBYMEMBER', 'Sicily', 'nobody', '300', 'km'],
      ['GEORADIUSBYMEMBER', 'nokey', 'Palermo', '300', 'km'], ['GEORADIUSBYMEMBER', 'nokey', 'Palermo', '300', 'km', 'STORE', 'dst'], ['EXISTS', 'dst'],
      ['GEORADIUSBYMEMBER_RO', 'Sicily', 'Catania', '100', 'km', 'COUNT', '3', 'WITHCOORD'],
      ['GEOSEARCH', 'Sicily', 'FROMMEMBER', 'Palermo', 'BYRADIUS', '300', 'km', 'ASC', 'WITHDIST'], ['GEOSEARCH', 'Sicily', 'FROMLONLAT', '15', '37', 'BYBOX', '400', '400', 'km', 'ASC', 'WITHDIST'],
      ['GEOSEARCH', 'Sicily', 'FROMLONLAT', '15', '37', 'BYBOX', '400', '100', 'km', 'DESC'], ['GEOSEARCH', 'Sicily', 'FROMLONLAT', '15', '37', 'BYRADIUS', '300', 'km', 'COUNT', '2', 'ANY', 'ASC'],
      ['GEOSEARCH', 'Sicily', 'FROMLONLAT', '15', '37'], ['GEOSEARCH', 'Sicily', 'BYRADIUS', '10', 'km'], ['GEOSEARCH', 'Sicily', 'FROMMEMBER', 'Palermo', 'FROMLONLAT', '1', '1', 'BYRADIUS', '1', 'km'],
      ['GEOSEARCH', 'Sicily', 'FROMMEMBER', 'Palermo', 'BYRADIUS', '1', 'km', 'BYBOX', '1', '1', 'km'], ['GEOSEARCH', 'Sicily', 'FROMMEMBER', 'nobody', 'BYRADIUS', '1', 'km'],
      ['GEOSEARCH', 'nokey', 'FROMMEMBER', 'nobody', 'BYRADIUS', '1', 'km'], ['GEOSEARCH', 'Sicily', 'FROMMEMBER', 'Palermo', 'BYBOX', '-1', '1', 'km'],
      ['GEOSEARCH', 'Sicily', 'FROMMEMBER', 'Palermo', 'BYBOX', 'x', '1', 'km'], ['GEOSEARCH', 'Sicily', 'FROMMEMBER', 'Palermo', 'BYRADIUS', '1', 'km', 'STORE', 'x'],
      ['GEOSEARCH', 'Sicily', 'FROMMEMBER', 'Palermo', 'BYRADIUS', '1', 'km', 'STOREDIST'],
      ['GEOSEARCHSTORE', 'dst', 'Sicily', 'FROMMEMBER', 'Palermo', 'BYRADIUS', '300', 'km', 'ASC', 'COUNT', '3'], ['ZRANGE', 'dst', '0', '-1', 'WITHSCORES'],
      ['GEOSEARCHSTORE', 'dst', 'Sicily', 'FROMMEMBER', 'Palermo', 'BYRADIUS', '300', 'km', 'STOREDIST'], ['ZRANGE', 'dst', '0', '-1', 'WITHSCORES'],
      ['GEOSEARCHSTORE', 'dst', 'Sicily', 'FROMMEMBER', 'Palermo', 'BYRADIUS', '300', 'km', 'WITHDIST'], ['GEOSEARCHSTORE', 'dst', 'nokey', 'FROMLONLAT', '1', '1', 'BYRADIUS', '1', 'km'],
      ['EXISTS', 'dst'], ['SET', 'str', 'v'], ['GEORADIUS', 'str', '1', '1', '1', 'km'], ['GEOSEARCH', 'str', 'FROMLONLAT', '1', '1', 'BYRADIUS', '1', 'km'],
      ['GEOSEARCHSTORE', 'str', 'Sicily', 'FROMLONLAT', '15', '37', 'BYRADIUS', '200', 'km'], ['TYPE', 'str'],
    ];
    await check([SICILY, ...searches]);
    await check([SICILY, ...searches], true);
  });

  it('seeded random points and searches near the poles, the antimeridian and across every radius', async () => {
    for (const seed of [21, 22, 23]) {
      const r = rng(seed);
      const coord = (span: number, center: number) => (center + (r() * 2 - 1) * span).toFixed(6);
      const cmds: Arg[][] = [['CONFIG', 'SET', 'zset-max-listpack-entries', pick(r, ['0', '128'])]];
      const centers: Array<[number, number]> = [[0, 0], [179.9, 10], [-179.9, -10], [12, 84.9], [-50, -84.9], [100, 45]];
      for (let i = 0; i < 300; i++) {
        const [lon, lat] = pick(r, centers);
        const spread = pick(r, [0.001, 0.5, 5, 40]);
        const plon = Math.max(-180, Math.min(180, Number(coord(spread, lon)))).toFixed(6);
        const plat = Math.max(-85.05112878, Math.min(85.05112878, Number(coord(spread, lat)))).toFixed(6);
        cmds.push(['GEOADD', 'pts', plon, plat, `p${i % 250}`]);
      }
      for (let i = 0; i < 60; i++) {
        const [lon, lat] = pick(r, centers);
        const radius = pick(r, ['0.1', '10', '100', '1000', '5000', '20000']);
        const unit = pick(r, ['m', 'km', 'mi', 'ft']);
        const opts = [...(r() < 0.5 ? ['WITHDIST'] : []), ...(r() < 0.3 ? ['WITHCOORD'] : []), ...(r() < 0.3 ? ['WITHHASH'] : []),
          ...(r() < 0.5 ? [pick(r, ['ASC', 'DESC'])] : []), ...(r() < 0.4 ? ['COUNT', String(1 + Math.floor(r() * 20)), ...(r() < 0.3 ? ['ANY'] : [])] : [])];
        const by = r() < 0.5 ? ['BYRADIUS', radius, unit] : ['BYBOX', radius, pick(r, ['1', '50', radius]), unit];
        const from = r() < 0.5 ? ['FROMLONLAT', coord(1, lon), coord(1, lat).slice(0, 9)] : ['FROMMEMBER', `p${Math.floor(r() * 260)}`];
        cmds.push(['GEOSEARCH', 'pts', ...from, ...by, ...opts]);
        if (r() < 0.2) cmds.push(['GEORADIUS', 'pts', coord(1, lon), coord(1, lat), radius, unit, ...opts]);
        if (r() < 0.2) cmds.push(['GEOSEARCHSTORE', 'out', 'pts', ...from, ...by, ...(r() < 0.5 ? ['STOREDIST'] : [])], ['ZRANGE', 'out', '0', '-1', 'WITHSCORES']);
      }
      cmds.push(['CONFIG', 'SET', 'zset-max-listpack-entries', '128']);
      await check(cmds, seed % 2 === 0);
    }
  });
});

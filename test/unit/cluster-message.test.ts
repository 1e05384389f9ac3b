// The cluster bus codec (src/cluster/bus/message.ts) on hand-built messages: Redis 7.0's field
// offsets, sizes per type, round trips, and clusterProcessPacket's length checks with the
// warnings 7.0.15 logs.
import { describe, expect, it } from 'vitest';
import {
  blankMessage,
  decode,
  encode,
  FAIL_LEN,
  GOSSIP_LEN,
  HEADER_LEN,
  hostnameExtension,
  extensionString,
  MFLAG0_EXT_DATA,
  MSG_FAIL,
  MSG_FAILOVER_AUTH_REQUEST,
  MSG_MEET,
  MSG_PING,
  MSG_PUBLISH,
  MSG_UPDATE,
  UPDATE_LEN,
  validate,
} from '../../src/cluster/bus/message';

const A = 'a'.repeat(40);
const B = '0123456789abcdef0123456789abcdef01234567';

describe('cluster bus message codec', () => {
  it('lays out the header at Redis 7.0 offsets', () => {
    const m = blankMessage(MSG_PING, A);
    m.port = 7000;
    m.pport = 7001;
    m.cport = 17000;
    m.currentEpoch = 5n;
    m.configEpoch = 3n;
    m.offset = 123456789n;
    m.myslots[0] = 0x81;
    m.myslots[2047] = 0x80;
    m.slaveof = B;
    m.myip = { value: '10.1.2.3' };
    m.flags = 0x201;
    m.state = 1;
    m.mflags = [1, 0, 0];
    const b = encode(m);
    expect(b.length).toBe(HEADER_LEN);
    expect(b.toString('latin1', 0, 4)).toBe('RCmb');
    expect(b.readUInt32BE(4)).toBe(HEADER_LEN);
    expect(b.readUInt16BE(8)).toBe(1);
    expect(b.readUInt16BE(10)).toBe(7000);
    expect(b.readUInt16BE(12)).toBe(MSG_PING);
    expect(b.readBigUInt64BE(16)).toBe(5n);
    expect(b.readBigUInt64BE(24)).toBe(3n);
    expect(b.readBigUInt64BE(32)).toBe(123456789n);
    expect(b.toString('latin1', 40, 80)).toBe(A);
    expect(b[80]).toBe(0x81);
    expect(b[80 + 2047]).toBe(0x80);
    expect(b.toString('latin1', 2128, 2168)).toBe(B);
    expect(b.toString('latin1', 2168, 2176)).toBe('10.1.2.3');
    expect(b[2176]).toBe(0);
    expect(b.readUInt16BE(2246)).toBe(7001);
    expect(b.readUInt16BE(2248)).toBe(17000);
    expect(b.readUInt16BE(2250)).toBe(0x201);
    expect(b[2252]).toBe(1);
    expect(b[2253]).toBe(1);
    const d = decode(b);
    expect(d.slaveof).toBe(B);
    expect(d.myip.value).toBe('10.1.2.3');
    expect(encode(d).equals(b)).toBe(true);
  });

  it('a null slaveof is 40 zero bytes', () => {
    const b = encode(blankMessage(MSG_PING, A));
    expect(b.subarray(2128, 2168).every((x) => x === 0)).toBe(true);
    expect(decode(b).slaveof).toBeNull();
  });

  it('gossip entries are 104 bytes, extensions follow them 8-aligned', () => {
    const m = blankMessage(MSG_MEET, A);
    m.gossip = [
      { nodename: B, pingSent: 1700000000, pongReceived: 1700000001, ip: { value: '127.0.0.1' }, port: 30001, cport: 40001, flags: 1, pport: 0, notused1: 0 },
      { nodename: A, pingSent: 0, pongReceived: 0, ip: { value: '::1' }, port: 1, cport: 2, flags: 12, pport: 3, notused1: 0 },
    ];
    m.count = 2;
    m.pingExts = [hostnameExtension('host-1.example')];
    m.extensions = 1;
    m.mflags[0] |= MFLAG0_EXT_DATA;
    const b = encode(m);
    // "host-1.example" + NUL = 15 -> 16, plus the 8-byte extension header.
    expect(b.length).toBe(HEADER_LEN + 2 * GOSSIP_LEN + 24);
    const g0 = HEADER_LEN;
    expect(b.toString('latin1', g0, g0 + 40)).toBe(B);
    expect(b.readUInt32BE(g0 + 40)).toBe(1700000000);
    expect(b.toString('latin1', g0 + 48, g0 + 57)).toBe('127.0.0.1');
    expect(b.readUInt16BE(g0 + 94)).toBe(30001);
    expect(b.readUInt16BE(g0 + 96)).toBe(40001);
    expect(b.readUInt16BE(g0 + 98)).toBe(1);
    const e = HEADER_LEN + 2 * GOSSIP_LEN;
    expect(b.readUInt32BE(e)).toBe(24);
    expect(b.readUInt16BE(e + 4)).toBe(0);
    expect(b.toString('latin1', e + 8, e + 22)).toBe('host-1.example');
    expect(validate(b)).toBeNull();
    const d = decode(b);
    expect(d.gossip).toHaveLength(2);
    expect(d.gossip![1].ip.value).toBe('::1');
    expect(extensionString(d.pingExts![0])).toBe('host-1.example');
    expect(encode(d).equals(b)).toBe(true);
  });

  it('FAIL, UPDATE, PUBLISH and AUTH_REQUEST have their fixed sizes', () => {
    const f = blankMessage(MSG_FAIL, A);
    f.failNode = B;
    const fb = encode(f);
    expect(fb.length).toBe(FAIL_LEN);
    expect(FAIL_LEN).toBe(2296);
    expect(decode(fb).failNode).toBe(B);

    const u = blankMessage(MSG_UPDATE, A);
    u.updateConfigEpoch = 9n;
    u.updateNode = B;
    u.updateSlots = new Uint8Array(2048).fill(0xff);
    const ub = encode(u);
    expect(ub.length).toBe(UPDATE_LEN);
    expect(UPDATE_LEN).toBe(4352);
    expect(ub.readBigUInt64BE(HEADER_LEN)).toBe(9n);
    expect(ub.toString('latin1', HEADER_LEN + 8, HEADER_LEN + 48)).toBe(B);
    const ud = decode(ub);
    expect(ud.updateSlots!.every((x) => x === 0xff)).toBe(true);

    const p = blankMessage(MSG_PUBLISH, A);
    p.channel = Buffer.from('news');
    p.message = Buffer.from([0, 1, 2, 255]);
    const pb = encode(p);
    expect(pb.length).toBe(HEADER_LEN + 8 + 4 + 4);
    expect(pb.readUInt32BE(HEADER_LEN)).toBe(4);
    expect(pb.readUInt32BE(HEADER_LEN + 4)).toBe(4);
    const pd = decode(pb);
    expect(pd.channel!.toString()).toBe('news');
    expect([...pd.message!]).toEqual([0, 1, 2, 255]);
    expect(validate(pb)).toBeNull();

    expect(encode(blankMessage(MSG_FAILOVER_AUTH_REQUEST, A)).length).toBe(HEADER_LEN);
  });

  it('keeps bytes after an IP string NUL so re-encoding is exact', () => {
    const b = encode(blankMessage(MSG_PING, A));
    b.write('1.2.3.4', 2168, 'latin1');
    b[2200] = 7;
    const d = decode(b);
    expect(d.myip.value).toBe('1.2.3.4');
    expect(encode(d).equals(b)).toBe(true);
  });

  it('length checks give 7.0.15 warnings', () => {
    const m = blankMessage(MSG_PING, A);
    m.count = 1;
    m.gossip = [{ nodename: B, pingSent: 0, pongReceived: 0, ip: { value: '' }, port: 0, cport: 0, flags: 0, pport: 0, notused1: 0 }];
    const good = encode(m);
    expect(validate(good)).toBeNull();
    const bad = Buffer.from(good);
    bad.writeUInt16BE(3, 14);
    expect(validate(bad)).toBe(`Received invalid ping packet with gossip count 3 that exceeds total packet length (${good.length})`);
    const fail = encode(Object.assign(blankMessage(MSG_FAIL, A), { failNode: B }));
    const shortFail = Buffer.concat([fail.subarray(0, HEADER_LEN + 8)]);
    shortFail.writeUInt32BE(shortFail.length, 4);
    expect(validate(shortFail)).toBe(`Received invalid fail packet of length ${HEADER_LEN + 8} but expected length ${FAIL_LEN}`);
    const noPad = Buffer.from(good);
    noPad.writeUInt16BE(0, 14);
    noPad[2253] = MFLAG0_EXT_DATA;
    noPad.writeUInt16BE(1, 2214);
    noPad.writeUInt32BE(12, HEADER_LEN);
    expect(validate(noPad)).toBe('Received a ping packet without proper padding (12 bytes)');
    const ver = Buffer.from(good);
    ver.writeUInt16BE(2, 8);
    expect(validate(ver)).toBe('');
  });
});

// The cluster bus's binary message (Redis 7.0's clusterMsg, cluster.h), byte for byte: every
// integer big-endian, names 40 bytes, IP strings in 46-byte NUL-padded fields, the 2048-byte
// slot bitmap, then a type-dependent body. Nodes of mixed kinds (keyfork, redis-server) read
// each other's messages, so the layout is fixed by Redis's static_asserts, not by taste.
//
// decode() keeps every byte it does not interpret (reserved fields, bytes after an IP's NUL,
// extension payloads) so that encode(decode(b)) equals b for any message a real node sends.

export const CLUSTER_PROTO_VER = 1;
export const NAMELEN = 40;
/** NET_IP_STR_LEN: INET6_ADDRSTRLEN. */
export const IPLEN = 46;
export const SLOTS_BYTES = 16384 / 8;

export const MSG_PING = 0;
export const MSG_PONG = 1;
export const MSG_MEET = 2;
export const MSG_FAIL = 3;
export const MSG_PUBLISH = 4;
export const MSG_FAILOVER_AUTH_REQUEST = 5;
export const MSG_FAILOVER_AUTH_ACK = 6;
export const MSG_UPDATE = 7;
export const MSG_MFSTART = 8;
export const MSG_MODULE = 9;
export const MSG_PUBLISHSHARD = 10;
export const MSG_TYPE_COUNT = 11;

/** clusterGetMessageTypeString: the names CLUSTER INFO's counters and the logs use. */
export function messageTypeName(type: number): string {
  switch (type) {
    case MSG_PING: return 'ping';
    case MSG_PONG: return 'pong';
    case MSG_MEET: return 'meet';
    case MSG_FAIL: return 'fail';
    case MSG_PUBLISH: return 'publish';
    case MSG_PUBLISHSHARD: return 'publishshard';
    case MSG_FAILOVER_AUTH_REQUEST: return 'auth-req';
    case MSG_FAILOVER_AUTH_ACK: return 'auth-ack';
    case MSG_UPDATE: return 'update';
    case MSG_MFSTART: return 'mfstart';
    case MSG_MODULE: return 'module';
    default: return 'unknown';
  }
}

// mflags[0] bits.
export const MFLAG0_PAUSED = 1 << 0;
export const MFLAG0_FORCEACK = 1 << 1;
export const MFLAG0_EXT_DATA = 1 << 2;

/** 7.0's only ping extension (clusterMsgPingtypes); later versions add more, 7.0.15 logs them as unknown. */
export const EXT_HOSTNAME = 0;

// Field offsets (cluster.h's static_asserts).
const OFF_SIG = 0;
const OFF_TOTLEN = 4;
const OFF_VER = 8;
const OFF_PORT = 10;
const OFF_TYPE = 12;
const OFF_COUNT = 14;
const OFF_CURRENT_EPOCH = 16;
const OFF_CONFIG_EPOCH = 24;
const OFF_OFFSET = 32;
const OFF_SENDER = 40;
const OFF_MYSLOTS = 80;
const OFF_SLAVEOF = 2128;
const OFF_MYIP = 2168;
const OFF_EXTENSIONS = 2214;
const OFF_NOTUSED1 = 2216;
const OFF_PPORT = 2246;
const OFF_CPORT = 2248;
const OFF_FLAGS = 2250;
const OFF_STATE = 2252;
const OFF_MFLAGS = 2253;
/** sizeof(clusterMsg) - sizeof(union clusterMsgData): the header every message starts with. */
export const HEADER_LEN = 2256;
/** sizeof(clusterMsgDataGossip). */
export const GOSSIP_LEN = 104;
export const FAIL_LEN = HEADER_LEN + NAMELEN;
export const UPDATE_LEN = HEADER_LEN + 8 + NAMELEN + SLOTS_BYTES;
/** sizeof(clusterMsg): the largest union member is UPDATE's body. */
export const CLUSTERMSG_SIZE = UPDATE_LEN;
/** CLUSTERMSG_MIN_LEN. */
export const MIN_LEN = HEADER_LEN;
const NOTUSED1_LEN = 30;
const EXT_HEADER_LEN = 8;

/** A 40-byte name field: the all-zero name (CLUSTER_NODE_NULL_NAME) is null. */
export type NodeName = string | null;

/** A NUL-terminated string in a fixed field; `raw` is the whole field when it is not plain zero padding. */
export interface FixedString {
  value: string;
  raw?: Buffer;
}

export interface GossipEntry {
  nodename: string;
  /** Seconds (uint32): node->ping_sent / 1000. */
  pingSent: number;
  pongReceived: number;
  ip: FixedString;
  port: number;
  cport: number;
  flags: number;
  pport: number;
  notused1: number;
}

export interface PingExtension {
  type: number;
  /** The 16 bits of padding after the type (zero from Redis). */
  unused: number;
  /** The bytes after the 8-byte extension header (already padded to 8). */
  data: Buffer;
}

export interface ClusterMsg {
  type: number;
  /** The "count" field: gossip entries for PING/PONG/MEET. */
  count: number;
  ver: number;
  port: number;
  pport: number;
  cport: number;
  currentEpoch: bigint;
  configEpoch: bigint;
  offset: bigint;
  sender: string;
  myslots: Uint8Array;
  slaveof: NodeName;
  myip: FixedString;
  /** The header's extension count. */
  extensions: number;
  notused1?: Buffer;
  flags: number;
  state: number;
  mflags: [number, number, number];
  // Bodies, by type.
  gossip?: GossipEntry[];
  pingExts?: PingExtension[];
  /** FAIL: the failing node. */
  failNode?: string;
  /** PUBLISH / PUBLISHSHARD. */
  channel?: Buffer;
  message?: Buffer;
  /** UPDATE. */
  updateConfigEpoch?: bigint;
  updateNode?: string;
  updateSlots?: Uint8Array;
  /** MODULE: kept whole (keyfork loads no modules). */
  module?: { moduleId: Buffer; type: number; payload: Buffer; trailer?: Buffer };
  /** Bytes past what the type defines (unknown types: the whole body). */
  extra?: Buffer;
}

export class MessageError extends Error {}

function readFixed(buf: Buffer, off: number, len: number): FixedString {
  const field = buf.subarray(off, off + len);
  let end = field.indexOf(0);
  if (end < 0) end = len;
  const value = field.toString('latin1', 0, end);
  for (let i = end; i < len; i++) {
    if (field[i] !== 0) return { value, raw: Buffer.from(field) };
  }
  return { value };
}

function writeFixed(buf: Buffer, off: number, len: number, s: FixedString | string): void {
  if (typeof s !== 'string' && s.raw) {
    s.raw.copy(buf, off, 0, len);
    return;
  }
  const value = typeof s === 'string' ? s : s.value;
  // strncpy(len-1) then a NUL: an overlong string is cut, as Redis's senders cut it.
  buf.fill(0, off, off + len);
  buf.write(value.slice(0, len - 1), off, 'latin1');
}

function readName(buf: Buffer, off: number): string {
  return buf.toString('latin1', off, off + NAMELEN);
}

function readNullableName(buf: Buffer, off: number): NodeName {
  for (let i = 0; i < NAMELEN; i++) if (buf[off + i] !== 0) return readName(buf, off);
  return null;
}

function writeName(buf: Buffer, off: number, name: NodeName): void {
  if (name === null) {
    buf.fill(0, off, off + NAMELEN);
    return;
  }
  buf.fill(0, off, off + NAMELEN);
  buf.write(name.slice(0, NAMELEN), off, 'latin1');
}

/** EIGHT_BYTE_ALIGN. */
export function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** The hostname extension as 7.0 writes it: the name, a NUL, zero padding to 8. */
export function hostnameExtension(hostname: string): PingExtension {
  const data = Buffer.alloc(align8(Buffer.byteLength(hostname, 'latin1') + 1));
  data.write(hostname, 0, 'latin1');
  return { type: EXT_HOSTNAME, unused: 0, data };
}

/** The NUL-terminated string an extension carries (hostname). */
export function extensionString(ext: PingExtension): string {
  const end = ext.data.indexOf(0);
  return ext.data.toString('latin1', 0, end < 0 ? ext.data.length : end);
}

/** totlen of a message, as encode() will write it. */
export function encodedLength(m: ClusterMsg): number {
  let len = HEADER_LEN;
  switch (m.type) {
    case MSG_PING:
    case MSG_PONG:
    case MSG_MEET:
      len += GOSSIP_LEN * (m.gossip?.length ?? 0);
      for (const e of m.pingExts ?? []) len += EXT_HEADER_LEN + e.data.length;
      break;
    case MSG_FAIL:
      len += NAMELEN;
      break;
    case MSG_PUBLISH:
    case MSG_PUBLISHSHARD:
      len += 8 + (m.channel?.length ?? 0) + (m.message?.length ?? 0);
      break;
    case MSG_UPDATE:
      len += 8 + NAMELEN + SLOTS_BYTES;
      break;
    case MSG_MODULE:
      if (m.module) len += 8 + 4 + 1 + m.module.payload.length + (m.module.trailer?.length ?? 0);
      break;
    default:
      break;
  }
  return len + (m.extra?.length ?? 0);
}

/** Encodes a message; count and extensions are written as given (callers set them from the body). */
export function encode(m: ClusterMsg): Buffer {
  const totlen = encodedLength(m);
  const buf = Buffer.alloc(totlen);
  buf.write('RCmb', OFF_SIG, 'latin1');
  buf.writeUInt32BE(totlen, OFF_TOTLEN);
  buf.writeUInt16BE(m.ver, OFF_VER);
  buf.writeUInt16BE(m.port, OFF_PORT);
  buf.writeUInt16BE(m.type, OFF_TYPE);
  buf.writeUInt16BE(m.count, OFF_COUNT);
  buf.writeBigUInt64BE(m.currentEpoch, OFF_CURRENT_EPOCH);
  buf.writeBigUInt64BE(m.configEpoch, OFF_CONFIG_EPOCH);
  buf.writeBigUInt64BE(BigInt.asUintN(64, m.offset), OFF_OFFSET);
  writeName(buf, OFF_SENDER, m.sender);
  buf.set(m.myslots.subarray(0, SLOTS_BYTES), OFF_MYSLOTS);
  writeName(buf, OFF_SLAVEOF, m.slaveof);
  writeFixed(buf, OFF_MYIP, IPLEN, m.myip);
  buf.writeUInt16BE(m.extensions, OFF_EXTENSIONS);
  if (m.notused1) m.notused1.copy(buf, OFF_NOTUSED1, 0, NOTUSED1_LEN);
  buf.writeUInt16BE(m.pport, OFF_PPORT);
  buf.writeUInt16BE(m.cport, OFF_CPORT);
  buf.writeUInt16BE(m.flags, OFF_FLAGS);
  buf.writeUInt8(m.state, OFF_STATE);
  buf.writeUInt8(m.mflags[0], OFF_MFLAGS);
  buf.writeUInt8(m.mflags[1], OFF_MFLAGS + 1);
  buf.writeUInt8(m.mflags[2], OFF_MFLAGS + 2);
  let off = HEADER_LEN;
  switch (m.type) {
    case MSG_PING:
    case MSG_PONG:
    case MSG_MEET:
      for (const g of m.gossip ?? []) {
        writeName(buf, off, g.nodename);
        buf.writeUInt32BE(g.pingSent >>> 0, off + 40);
        buf.writeUInt32BE(g.pongReceived >>> 0, off + 44);
        writeFixed(buf, off + 48, IPLEN, g.ip);
        buf.writeUInt16BE(g.port, off + 94);
        buf.writeUInt16BE(g.cport, off + 96);
        buf.writeUInt16BE(g.flags, off + 98);
        buf.writeUInt16BE(g.pport, off + 100);
        buf.writeUInt16BE(g.notused1, off + 102);
        off += GOSSIP_LEN;
      }
      for (const e of m.pingExts ?? []) {
        buf.writeUInt32BE(EXT_HEADER_LEN + e.data.length, off);
        buf.writeUInt16BE(e.type, off + 4);
        buf.writeUInt16BE(e.unused, off + 6);
        e.data.copy(buf, off + EXT_HEADER_LEN);
        off += EXT_HEADER_LEN + e.data.length;
      }
      break;
    case MSG_FAIL:
      writeName(buf, off, m.failNode ?? null);
      off += NAMELEN;
      break;
    case MSG_PUBLISH:
    case MSG_PUBLISHSHARD: {
      const ch = m.channel ?? Buffer.alloc(0);
      const msg = m.message ?? Buffer.alloc(0);
      buf.writeUInt32BE(ch.length, off);
      buf.writeUInt32BE(msg.length, off + 4);
      ch.copy(buf, off + 8);
      msg.copy(buf, off + 8 + ch.length);
      off += 8 + ch.length + msg.length;
      break;
    }
    case MSG_UPDATE:
      buf.writeBigUInt64BE(m.updateConfigEpoch ?? 0n, off);
      writeName(buf, off + 8, m.updateNode ?? null);
      if (m.updateSlots) buf.set(m.updateSlots.subarray(0, SLOTS_BYTES), off + 48);
      off += 8 + NAMELEN + SLOTS_BYTES;
      break;
    case MSG_MODULE:
      if (m.module) {
        m.module.moduleId.copy(buf, off, 0, 8);
        buf.writeUInt32BE(m.module.payload.length, off + 8);
        buf.writeUInt8(m.module.type, off + 12);
        m.module.payload.copy(buf, off + 13);
        off += 13 + m.module.payload.length;
        if (m.module.trailer) {
          m.module.trailer.copy(buf, off);
          off += m.module.trailer.length;
        }
      }
      break;
    default:
      break;
  }
  if (m.extra) m.extra.copy(buf, off);
  return buf;
}

/**
 * Decodes one whole message (buf.length === totlen). Structural problems the bus must refuse
 * throw MessageError with the text Redis logs; validate() gives the exact-length verdict.
 */
export function decode(buf: Buffer): ClusterMsg {
  if (buf.length < HEADER_LEN) throw new MessageError(`message shorter than the header (${buf.length} bytes)`);
  const type = buf.readUInt16BE(OFF_TYPE);
  const count = buf.readUInt16BE(OFF_COUNT);
  const notused1 = buf.subarray(OFF_NOTUSED1, OFF_NOTUSED1 + NOTUSED1_LEN);
  const m: ClusterMsg = {
    type,
    count,
    ver: buf.readUInt16BE(OFF_VER),
    port: buf.readUInt16BE(OFF_PORT),
    pport: buf.readUInt16BE(OFF_PPORT),
    cport: buf.readUInt16BE(OFF_CPORT),
    currentEpoch: buf.readBigUInt64BE(OFF_CURRENT_EPOCH),
    configEpoch: buf.readBigUInt64BE(OFF_CONFIG_EPOCH),
    offset: buf.readBigInt64BE(OFF_OFFSET),
    sender: readName(buf, OFF_SENDER),
    myslots: new Uint8Array(buf.subarray(OFF_MYSLOTS, OFF_MYSLOTS + SLOTS_BYTES)),
    slaveof: readNullableName(buf, OFF_SLAVEOF),
    myip: readFixed(buf, OFF_MYIP, IPLEN),
    extensions: buf.readUInt16BE(OFF_EXTENSIONS),
    flags: buf.readUInt16BE(OFF_FLAGS),
    state: buf.readUInt8(OFF_STATE),
    mflags: [buf[OFF_MFLAGS], buf[OFF_MFLAGS + 1], buf[OFF_MFLAGS + 2]],
  };
  if (notused1.some((b) => b !== 0)) m.notused1 = Buffer.from(notused1);
  let off = HEADER_LEN;
  switch (type) {
    case MSG_PING:
    case MSG_PONG:
    case MSG_MEET: {
      if (HEADER_LEN + count * GOSSIP_LEN > buf.length) throw new MessageError('gossip count exceeds the message');
      m.gossip = [];
      for (let i = 0; i < count; i++) {
        m.gossip.push({
          nodename: readName(buf, off),
          pingSent: buf.readUInt32BE(off + 40),
          pongReceived: buf.readUInt32BE(off + 44),
          ip: readFixed(buf, off + 48, IPLEN),
          port: buf.readUInt16BE(off + 94),
          cport: buf.readUInt16BE(off + 96),
          flags: buf.readUInt16BE(off + 98),
          pport: buf.readUInt16BE(off + 100),
          notused1: buf.readUInt16BE(off + 102),
        });
        off += GOSSIP_LEN;
      }
      if (m.mflags[0] & MFLAG0_EXT_DATA) {
        m.pingExts = [];
        for (let i = 0; i < m.extensions; i++) {
          if (off + EXT_HEADER_LEN > buf.length) throw new MessageError('extension header past the end');
          const len = buf.readUInt32BE(off);
          if (len < EXT_HEADER_LEN || off + len > buf.length) throw new MessageError('extension past the end');
          m.pingExts.push({ type: buf.readUInt16BE(off + 4), unused: buf.readUInt16BE(off + 6), data: Buffer.from(buf.subarray(off + EXT_HEADER_LEN, off + len)) });
          off += len;
        }
      }
      break;
    }
    case MSG_FAIL:
      if (off + NAMELEN > buf.length) throw new MessageError('FAIL body missing');
      m.failNode = readName(buf, off);
      off += NAMELEN;
      break;
    case MSG_PUBLISH:
    case MSG_PUBLISHSHARD: {
      if (off + 8 > buf.length) throw new MessageError('PUBLISH body missing');
      const chLen = buf.readUInt32BE(off);
      const msgLen = buf.readUInt32BE(off + 4);
      if (off + 8 + chLen + msgLen > buf.length) throw new MessageError('PUBLISH body past the end');
      m.channel = Buffer.from(buf.subarray(off + 8, off + 8 + chLen));
      m.message = Buffer.from(buf.subarray(off + 8 + chLen, off + 8 + chLen + msgLen));
      off += 8 + chLen + msgLen;
      break;
    }
    case MSG_UPDATE:
      if (off + 8 + NAMELEN + SLOTS_BYTES > buf.length) throw new MessageError('UPDATE body missing');
      m.updateConfigEpoch = buf.readBigUInt64BE(off);
      m.updateNode = readName(buf, off + 8);
      m.updateSlots = new Uint8Array(buf.subarray(off + 48, off + 48 + SLOTS_BYTES));
      off += 8 + NAMELEN + SLOTS_BYTES;
      break;
    case MSG_MODULE: {
      if (off + 13 > buf.length) break;
      const len = buf.readUInt32BE(off + 8);
      if (off + 13 + len > buf.length) break;
      m.module = { moduleId: Buffer.from(buf.subarray(off, off + 8)), type: buf[off + 12], payload: Buffer.from(buf.subarray(off + 13, off + 13 + len)) };
      off += 13 + len;
      break;
    }
    default:
      break;
  }
  if (off < buf.length) m.extra = Buffer.from(buf.subarray(off));
  return m;
}

/** The 8 bytes before a message's body are enough to know its length: "RCmb" + totlen. */
export function peekLength(buf: Buffer): number {
  return buf.readUInt32BE(OFF_TOTLEN);
}

export function hasSignature(buf: Buffer): boolean {
  return buf[0] === 0x52 && buf[1] === 0x43 && buf[2] === 0x6d && buf[3] === 0x62;
}

/**
 * clusterProcessPacket's sanity checks before anything is trusted: the expected length of each
 * type compared with totlen. Returns null when the message is acceptable, else the warning Redis
 * 7.0.15 logs (or '' for a silent drop).
 */
export function validate(buf: Buffer): string | null {
  const totlen = buf.readUInt32BE(OFF_TOTLEN);
  if (totlen < 16) return '';
  if (totlen > buf.length) return '';
  if (buf.readUInt16BE(OFF_VER) !== CLUSTER_PROTO_VER) return '';
  const type = buf.readUInt16BE(OFF_TYPE);
  let explen: number;
  if (type === MSG_PING || type === MSG_PONG || type === MSG_MEET) {
    const count = buf.readUInt16BE(OFF_COUNT);
    explen = HEADER_LEN + GOSSIP_LEN * count;
    if (explen > totlen) {
      return `Received invalid ${messageTypeName(type)} packet with gossip count ${count} that exceeds total packet length (${totlen})`;
    }
    if (buf[OFF_MFLAGS] & MFLAG0_EXT_DATA) {
      let extensions = buf.readUInt16BE(OFF_EXTENSIONS);
      let off = explen;
      while (extensions--) {
        if (off + EXT_HEADER_LEN > totlen) {
          return `Received invalid ${messageTypeName(type)} packet with extension data that exceeds total packet length (${totlen})`;
        }
        const extlen = buf.readUInt32BE(off);
        if (extlen % 8 !== 0) return `Received a ${messageTypeName(type)} packet without proper padding (${extlen} bytes)`;
        if (totlen - explen < extlen) {
          return `Received invalid ${messageTypeName(type)} packet with extension data that exceeds total packet length (${totlen})`;
        }
        const extType = buf.readUInt16BE(off + 4);
        if (extType === EXT_HOSTNAME && (extlen <= EXT_HEADER_LEN || buf[off + extlen - 1] !== 0)) {
          return `Received ${messageTypeName(type)} packet with missing null terminator in extension type ${extType}`;
        }
        if (extlen === 0) break;
        explen += extlen;
        off += extlen;
      }
    }
  } else if (type === MSG_FAIL) {
    explen = FAIL_LEN;
  } else if (type === MSG_PUBLISH || type === MSG_PUBLISHSHARD) {
    if (totlen < HEADER_LEN + 8) explen = HEADER_LEN + 8;
    else explen = HEADER_LEN + 8 + buf.readUInt32BE(HEADER_LEN) + buf.readUInt32BE(HEADER_LEN + 4);
  } else if (type === MSG_FAILOVER_AUTH_REQUEST || type === MSG_FAILOVER_AUTH_ACK || type === MSG_MFSTART) {
    explen = HEADER_LEN;
  } else if (type === MSG_UPDATE) {
    explen = UPDATE_LEN;
  } else if (type === MSG_MODULE) {
    explen = totlen < HEADER_LEN + 13 ? HEADER_LEN + 13 : HEADER_LEN + 13 + buf.readUInt32BE(HEADER_LEN + 8);
  } else {
    explen = totlen;
  }
  if (totlen !== explen) {
    return `Received invalid ${messageTypeName(type)} packet of length ${totlen} but expected length ${explen}`;
  }
  return null;
}

/** A blank header for `type` (fields zero), to fill in. */
export function blankMessage(type: number, sender: string): ClusterMsg {
  return {
    type,
    count: 0,
    ver: CLUSTER_PROTO_VER,
    port: 0,
    pport: 0,
    cport: 0,
    currentEpoch: 0n,
    configEpoch: 0n,
    offset: 0n,
    sender,
    myslots: new Uint8Array(SLOTS_BYTES),
    slaveof: null,
    myip: { value: '' },
    extensions: 0,
    flags: 0,
    state: 0,
    mflags: [0, 0, 0],
  };
}

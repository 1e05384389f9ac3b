// keyHashSlot: Redis Cluster's CRC16 (XMODEM) of a key or of its hash tag, modulo 16384.
// Computed here, not in the addon: redirection hashes every key of every command in cluster
// mode, and a table lookup per byte is cheaper than an N-API call.

const TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  TABLE[i] = crc;
}

function crc16(buf: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ buf[i]) & 0xff];
  return crc;
}

/** The slot of the key in buf[start, end). */
export function keyHashSlotOf(buf: Uint8Array, start = 0, end = buf.length): number {
  let open = -1;
  for (let i = start; i < end; i++) {
    if (buf[i] === 0x7b /* { */) {
      open = i;
      break;
    }
  }
  if (open >= 0) {
    for (let i = open + 1; i < end; i++) {
      if (buf[i] === 0x7d /* } */) {
        if (i > open + 1) return crc16(buf, open + 1, i) & 0x3fff;
        break;
      }
    }
  }
  return crc16(buf, start, end) & 0x3fff;
}

export function keyHashSlot(key: Buffer | string): number {
  const buf = typeof key === 'string' ? Buffer.from(key, 'latin1') : key;
  return keyHashSlotOf(buf, 0, buf.length);
}

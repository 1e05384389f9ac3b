// The replication backlog: the last `repl-backlog-size` bytes of the replication stream, kept
// so that a replica that lost its link can get what it missed (PSYNC +CONTINUE) instead of a
// whole new RDB. Offsets are replication offsets: byte N of the stream has offset N, and the
// backlog holds [offset, offset + histlen).

export class ReplBacklog {
  private buf: Buffer;
  /** Where the next byte goes in `buf`. */
  private idx = 0;
  /** Bytes of history held (at most the buffer's size). */
  histlen = 0;
  /** Replication offset of the oldest byte held (repl_backlog_first_byte_offset). */
  offset: number;

  /** A backlog created when the stream is at `masterReplOffset`: its first byte is the next one. */
  constructor(size: number, masterReplOffset: number) {
    this.buf = Buffer.allocUnsafe(Math.max(1, size));
    this.offset = masterReplOffset + 1;
  }

  get size(): number {
    return this.buf.length;
  }

  /** Appends bytes that took the stream to `masterReplOffset`. */
  append(data: Buffer, masterReplOffset: number): void {
    const size = this.buf.length;
    let src = data.length > size ? data.subarray(data.length - size) : data;
    while (src.length > 0) {
      const n = Math.min(size - this.idx, src.length);
      src.copy(this.buf, this.idx, 0, n);
      this.idx = (this.idx + n) % size;
      src = src.subarray(n);
    }
    this.histlen = Math.min(size, this.histlen + data.length);
    this.offset = masterReplOffset - this.histlen + 1;
  }

  /** True when every byte from `from` to the end of the stream is held. */
  covers(from: number): boolean {
    return from >= this.offset && from <= this.offset + this.histlen;
  }

  /** The bytes from replication offset `from` (which `covers`) to the end, oldest first. */
  readFrom(from: number): Buffer[] {
    const skip = from - this.offset;
    const len = this.histlen - skip;
    if (len <= 0) return [];
    const size = this.buf.length;
    const oldest = (this.idx + size - this.histlen) % size;
    const start = (oldest + skip) % size;
    if (start + len <= size) return [Buffer.from(this.buf.subarray(start, start + len))];
    return [Buffer.from(this.buf.subarray(start)), Buffer.from(this.buf.subarray(0, len - (size - start)))];
  }

  /** repl-backlog-size changed: keep the most recent history that fits. */
  resize(size: number, masterReplOffset: number): void {
    if (size === this.buf.length) return;
    const keep = Math.min(size, this.histlen);
    const recent = this.readFrom(masterReplOffset - keep + 1);
    this.buf = Buffer.allocUnsafe(Math.max(1, size));
    this.idx = 0;
    this.histlen = 0;
    this.offset = masterReplOffset - keep + 1;
    for (const part of recent) {
      part.copy(this.buf, this.idx);
      this.idx = (this.idx + part.length) % this.buf.length;
      this.histlen += part.length;
    }
  }
}

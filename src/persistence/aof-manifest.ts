// The multi-part AOF's manifest, as Redis 7.0 writes and reads it (aof.c): one line per file,
// `file <name> seq <n> type <b|h|i>`, the base first, then history files, then incremental
// files in sequence order. Names follow `<appendfilename>.<seq>.base.rdb|aof` and
// `<appendfilename>.<seq>.incr.aof`. Pure data: reading and writing the file is aof.ts's.
import { quoteRepr, splitArgs, trimChars } from '../config/splitargs';

export type AofFileType = 'b' | 'h' | 'i';

export interface AofFileInfo {
  name: string;
  seq: number;
  type: AofFileType;
}

/** A manifest Redis refuses to start with: its message and where (aofLoadManifestFromFile). */
export class ManifestError extends Error {
  constructor(
    message: string,
    readonly lineNumber = 0,
    readonly line: string | null = null,
  ) {
    super(message);
  }
}

/** MANIFEST_MAX_LINE */
const MAX_LINE = 1024;

/** sdsneedsrepr: a name with spaces, quotes or unprintable bytes is written quoted. */
function needsRepr(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x5c || c === 0x22 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x07 || c === 0x08 || c < 0x20 || c > 0x7e || c === 0x20) return true;
  }
  return false;
}

export class AofManifest {
  base: AofFileInfo | null = null;
  history: AofFileInfo[] = [];
  incr: AofFileInfo[] = [];
  currBaseSeq = 0;
  currIncrSeq = 0;

  constructor(readonly filename: string) {}

  static manifestName(filename: string): string {
    return `${filename}.manifest`;
  }

  static tempManifestName(filename: string): string {
    return `temp-${filename}.manifest`;
  }

  /** The incremental file written while `appendonly yes` waits for its first rewrite. */
  static tempIncrName(filename: string): string {
    return `temp-${filename}.incr`;
  }

  /** aofLoadManifestFromFile's checks, with its messages. */
  static parse(filename: string, text: string): AofManifest {
    const m = new AofManifest(filename);
    let maxSeq = 0;
    const lines = text.split(/(?<=\n)/);
    if (text.length === 0) throw new ManifestError('Found an empty AOF manifest');
    let lineNumber = 0;
    for (const raw of lines) {
      lineNumber++;
      if (raw.startsWith('#')) continue;
      if (raw.length > MAX_LINE || !raw.includes('\n')) {
        // fgets stops at MAX_LINE bytes or at the end of the file without a newline.
        throw new ManifestError('The AOF manifest file contains too long line');
      }
      const line = trimChars(raw, ' \t\r\n');
      if (line.length === 0) throw new ManifestError('Invalid AOF manifest file format', lineNumber, line);
      const argv = splitArgs(line);
      if (argv === null || argv.length < 6 || argv.length % 2 !== 0) {
        throw new ManifestError('Invalid AOF manifest file format', lineNumber, line);
      }
      let name: string | null = null;
      let seq = 0;
      let type = '';
      for (let i = 0; i < argv.length; i += 2) {
        const key = argv[i].toLowerCase();
        if (key === 'file') {
          name = argv[i + 1];
          if (name.includes('/')) throw new ManifestError("File can't be a path, just a filename", lineNumber, line);
        } else if (key === 'seq') {
          seq = Number.parseInt(argv[i + 1], 10) || 0; // atoll
        } else if (key === 'type') {
          type = argv[i + 1][0] ?? '';
        }
      }
      if (!name || !seq || !type) throw new ManifestError('Invalid AOF manifest file format', lineNumber, line);
      const info = { name, seq, type: type as AofFileType };
      if (type === 'b') {
        if (m.base) throw new ManifestError('Found duplicate base file information', lineNumber, line);
        m.base = info;
        m.currBaseSeq = seq;
      } else if (type === 'h') {
        m.history.push(info);
      } else if (type === 'i') {
        if (seq <= maxSeq) throw new ManifestError('Found a non-monotonic sequence number', lineNumber, line);
        m.incr.push(info);
        m.currIncrSeq = seq;
        maxSeq = seq;
      } else {
        throw new ManifestError('Unknown AOF file type', lineNumber, line);
      }
    }
    return m;
  }

  format(): string {
    const line = (f: AofFileInfo) => `file ${needsRepr(f.name) ? quoteRepr(f.name) : f.name} seq ${f.seq} type ${f.type}\n`;
    return [...(this.base ? [this.base] : []), ...this.history, ...this.incr].map(line).join('');
  }

  clone(): AofManifest {
    const m = new AofManifest(this.filename);
    m.base = this.base ? { ...this.base } : null;
    m.history = this.history.map((f) => ({ ...f }));
    m.incr = this.incr.map((f) => ({ ...f }));
    m.currBaseSeq = this.currBaseSeq;
    m.currIncrSeq = this.currIncrSeq;
    return m;
  }

  /** Nothing recorded: a first start, or an AOF never written. */
  get isEmpty(): boolean {
    return this.base === null && this.incr.length === 0;
  }

  /** The base and incremental files, in loading order. */
  loadOrder(): AofFileInfo[] {
    return [...(this.base ? [this.base] : []), ...this.incr];
  }

  /** getNewBaseFileNameAndMarkPreAsHistory. */
  newBase(rdbPreamble: boolean): string {
    if (this.base) {
      this.base.type = 'h';
      this.history.unshift(this.base);
    }
    const seq = ++this.currBaseSeq;
    this.base = { name: `${this.filename}.${seq}.base.${rdbPreamble ? 'rdb' : 'aof'}`, seq, type: 'b' };
    return this.base.name;
  }

  /** getNewIncrAofName. */
  newIncr(): string {
    const seq = ++this.currIncrSeq;
    const info: AofFileInfo = { name: `${this.filename}.${seq}.incr.aof`, seq, type: 'i' };
    this.incr.push(info);
    return info.name;
  }

  /** getLastIncrAofName: the last incremental file, a new one when there is none. */
  lastIncr(): { name: string; created: boolean } {
    const last = this.incr[this.incr.length - 1];
    return last ? { name: last.name, created: false } : { name: this.newIncr(), created: true };
  }

  /**
   * markRewrittenIncrAofAsHistory: the incremental files the new base covers become history;
   * `keepLast` (the AOF is on) keeps the one being written.
   */
  markRewrittenIncrAsHistory(keepLast: boolean): void {
    const covered = keepLast ? this.incr.slice(0, -1) : this.incr;
    this.incr = keepLast ? this.incr.slice(-1) : [];
    for (const f of covered.reverse()) this.history.unshift({ ...f, type: 'h' });
  }

  /** aofUpgradePrepare: an old single appendonly.aof becomes the base. */
  static upgraded(filename: string): AofManifest {
    const m = new AofManifest(filename);
    m.base = { name: filename, seq: 1, type: 'b' };
    m.currBaseSeq = 1;
    return m;
  }
}

// The AOF directory on disk (aof.c's manifest persistence and file helpers): where its files
// are, writing the manifest atomically, reading it at start-up (a bad one is fatal, with
// Redis's report), removing history files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../config';
import type { LatencySink } from '../latency';
import { strerror } from '../config/errors';
import { StartupAbort } from '../errors';
import type { Logger } from '../log';
import { AofManifest, ManifestError } from './aof-manifest';
import { bgUnlink } from './bg-unlink';
import { consume } from '../config/consumers';

const APPENDDIRNAME = consume('appenddirname', 'test/server/aof-options.test.ts');
const APPENDFILENAME = consume('appendfilename', 'test/server/aof-options.test.ts');
const AOF_DISABLE_AUTO_GC = consume('aof-disable-auto-gc', 'test/server/aof-options.test.ts');

export class AofFiles {
  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    /** getAppendOnlyFileSize's stat is the aof-fstat latency event. */
    private readonly latency: LatencySink,
  ) {}

  /** appenddirname (relative to dir, the working directory). */
  get dir(): string {
    return this.config.str(APPENDDIRNAME);
  }

  path(name: string): string {
    return path.join(this.dir, name);
  }

  /** dirCreateIfMissing, with Redis's line when it fails. */
  createDir(): boolean {
    try {
      fs.mkdirSync(this.dir, { recursive: false, mode: 0o755 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        this.log.warning(`Can't open or create append-only dir ${this.dir}: ${strerror(err)}`);
        return false;
      }
    }
    return true;
  }

  /**
   * getAppendOnlyFileSize: null (logged) when the file cannot be stat'ed. Its stat is Redis's
   * aof-fstat latency event: at start-up (the files loaded, the incr file opened) and after a
   * rewrite (the new base).
   */
  size(name: string): number | null {
    const start = performance.now();
    try {
      return fs.statSync(this.path(name)).size;
    } catch (err) {
      this.log.warning(`Unable to obtain the AOF file ${name} length. stat: ${strerror(err)}`);
      return null;
    } finally {
      this.latency.addSampleIfNeeded('aof-fstat', performance.now() - start);
    }
  }

  exists(name: string): boolean {
    return fs.existsSync(this.path(name));
  }

  /** writeAofManifestFile: temp file, fsync, rename, fsync the directory. False on failure (logged). */
  persistManifest(m: AofManifest): boolean {
    const name = AofManifest.manifestName(m.filename);
    const tmpName = AofManifest.tempManifestName(m.filename);
    const tmp = this.path(tmpName);
    let fd = -1;
    const fail = (what: string, err: unknown, dot = '') => {
      this.log.warning(`${what}: ${strerror(err)}${dot}`);
      return false;
    };
    try {
      try {
        fd = fs.openSync(tmp, 'w', 0o644);
      } catch (err) {
        return fail(`Can't open the AOF manifest file ${tmpName}`, err);
      }
      try {
        fs.writeSync(fd, m.format());
      } catch (err) {
        return fail(`Error trying to write the temporary AOF manifest file ${tmpName}`, err);
      }
      try {
        fs.fsyncSync(fd);
      } catch (err) {
        return fail(`Fail to fsync the temp AOF file ${tmpName}`, err, '.');
      }
      try {
        fs.renameSync(tmp, this.path(name));
      } catch (err) {
        return fail(`Error trying to rename the temporary AOF manifest file ${tmpName} into ${name}`, err);
      }
      try {
        fsyncDir(this.dir);
      } catch (err) {
        return fail(`Fail to fsync AOF directory ${this.path(name)}`, err, '.');
      }
      return true;
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
  }

  /** aofLoadManifestFromDisk: a missing directory or manifest is an empty one; a bad one is fatal. */
  loadManifest(): AofManifest {
    const empty = new AofManifest(this.config.str(APPENDFILENAME));
    if (!isDir(this.dir)) {
      this.log.debug(`The AOF directory ${this.dir} doesn't exist`);
      return empty;
    }
    const name = AofManifest.manifestName(empty.filename);
    const file = this.path(name);
    if (!fs.existsSync(file)) {
      this.log.debug(`The AOF manifest file ${name} doesn't exist`);
      return empty;
    }
    let text: string;
    try {
      text = fs.readFileSync(file, 'latin1');
    } catch (err) {
      this.log.warning(`Fatal error: can't open the AOF manifest file ${file} for reading: ${strerror(err)}`);
      throw new StartupAbort(`cannot read ${path.resolve(file)}: ${strerror(err)}`);
    }
    try {
      return AofManifest.parse(empty.filename, text);
    } catch (err) {
      if (!(err instanceof ManifestError)) throw err;
      this.log.warning('\n*** FATAL AOF MANIFEST FILE ERROR ***\n');
      if (err.line !== null) {
        this.log.warning(`Reading the manifest file, at line ${err.lineNumber}\n`);
        this.log.warning(`>>> '${err.line}'\n`);
      }
      this.log.warning(`${err.message}\n`);
      throw new StartupAbort(`bad AOF manifest ${path.resolve(file)}: ${err.message}`);
    }
  }

  /**
   * updateAofAutoGCEnabled: `CONFIG SET aof-disable-auto-gc no` removes the history the
   * rewrites kept meanwhile at once, not at the next rewrite.
   */
  collectHistoryWhenGcEnabled(manifest: () => AofManifest): void {
    this.config.onChange(AOF_DISABLE_AUTO_GC, () => this.deleteHistory(manifest()));
  }

  /** aofDelHistoryFiles: the history files go (in the background), then the manifest says so. */
  deleteHistory(m: AofManifest): void {
    if (this.config.bool(AOF_DISABLE_AUTO_GC) || m.history.length === 0) return;
    for (const f of m.history) {
      this.log.notice(`Removing the history file ${f.name} in the background`);
      bgUnlink(this.path(f.name));
    }
    m.history = [];
    this.persistManifest(m);
  }
}

export function isDir(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** fsyncFileDir */
function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

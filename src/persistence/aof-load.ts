// Loading the AOF (aof.c's loadAppendOnlyFiles / loadSingleAppendOnlyFile): the base, then each
// incremental file, replayed by the addon (native/src/aof/load.rs), with Redis's log lines for
// every outcome: an RDB part, a truncated tail (cut off under aof-load-truncated), an
// incomplete MULTI, garbage, an unknown command, a missing file. An old single appendonly.aof
// is first moved into the directory as its base (aofUpgradePrepare).
import * as fs from 'node:fs';
import type { Config } from '../config';
import { strerror } from '../config/errors';
import { StartupAbort } from '../errors';
import type { Logger } from '../log';
import type { NativeAddon, RdbLoadReport } from '../native';
import type { AofFiles } from './aof-files';
import { isDir } from './aof-files';
import { AofManifest } from './aof-manifest';
import { consume } from '../config/consumers';

const AOF_LOAD_TRUNCATED = consume('aof-load-truncated', 'test/server/aof.test.ts');
const LOADING_PROCESS_EVENTS_INTERVAL_BYTES = consume('loading-process-events-interval-bytes', 'test/server/aof.test.ts');

/** loadAppendOnlyFiles' results. */
export type LoadResult = 'ok' | 'not_exist' | 'empty' | 'open_err' | 'failed' | 'truncated';

export type AofLoadNative = Pick<NativeAddon, 'aofLoadOpen' | 'aofLoadRun' | 'aofLoadClose'>;

/** What loading needs from the server. */
export interface AofLoadHost {
  readonly config: Config;
  readonly log: Logger;
  /**
   * Loading starts (`totalBytes` >= 0: clients get LOADING, INFO shows loading_* fields), moves
   * on (`loadedBytes`), or ends (null).
   */
  loadingProgress(progress: { totalBytes: number; loadedBytes: number } | null): void;
  /** A file is about to be replayed: the fake client that runs its foreign commands. */
  newReplayClient(): void;
  /** Runs a command the addon does not implement, in `db`, for the replay (a fake client). */
  runForeign(db: number, argv: Buffer[]): 'ok' | 'unknown';
  /** The RDB loader's log lines for a report (shared with rdb.ts). */
  logRdbReport(report: RdbLoadReport): void;
  /**
   * A replayed command replied an error (Redis's afterErrorReply for its AOF client): `loggedAs`
   * the command its log names ("exec" inside a transaction), `command` the one that failed.
   */
  replayError(loggedAs: string, command: string, inExec: boolean, error: string): void;
}

export interface Loaded {
  result: LoadResult;
  /** The manifest after an upgrade of the old single file (else the one given). */
  manifest: AofManifest;
  /** Bytes of the base and incremental files (aof_current_size), and of the base. */
  totalSize: number;
  baseSize: number;
}

export class AofLoader {
  constructor(
    private readonly host: AofLoadHost,
    private readonly files: AofFiles,
    private readonly addon: AofLoadNative,
  ) {}

  private get log(): Logger {
    return this.host.log;
  }

  /** loadAppendOnlyFiles in one go (DEBUG LOADAOF). */
  load(manifest: AofManifest): Loaded {
    const steps = this.steps(manifest);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
    }
  }

  /**
   * loadAppendOnlyFiles at start-up: a turn of the event loop every
   * loading-process-events-interval-bytes, as Redis processes events while it loads.
   */
  async loadYielding(manifest: AofManifest): Promise<Loaded> {
    const steps = this.steps(manifest);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** The load, pausing (yield) after every slice of the files. */
  private *steps(manifest: AofManifest): Generator<void, Loaded> {
    const filename = manifest.filename;
    if (fs.existsSync(filename)) {
      const upgrade =
        !isDir(this.files.dir) ||
        manifest.isEmpty ||
        (manifest.base !== null && manifest.incr.length === 0 && manifest.base.name === filename && !this.files.exists(filename));
      if (upgrade) manifest = this.upgrade(filename);
    }
    const outcome = (result: LoadResult, totalSize = 0, baseSize = 0): Loaded => ({ result, manifest, totalSize, baseSize });
    if (manifest.isEmpty) return outcome('not_exist');
    const files = manifest.loadOrder();
    let totalSize = 0;
    for (const f of files) {
      const size = this.files.size(f.name);
      if (size === null) return outcome('failed');
      totalSize += size;
    }
    if (totalSize === 0) return outcome('empty');
    let result: LoadResult = 'ok';
    let baseSize = 0;
    const progress = { totalBytes: totalSize, loadedBytes: 0 };
    this.host.loadingProgress(progress);
    try {
      for (let i = 0; i < files.length; i++) {
        const f = files[i];
        const last = i === files.length - 1;
        const isBase = f.type === 'b';
        if (isBase) baseSize = this.files.size(f.name) ?? 0;
        const t0 = performance.now();
        const before = progress.loadedBytes;
        let r = yield* this.loadFile(f.name, filename, (loaded) => {
          progress.loadedBytes = before + loaded;
          this.host.loadingProgress(progress);
        });
        progress.loadedBytes = before + (this.files.size(f.name) ?? 0);
        if (r === 'ok' || (r === 'truncated' && last)) {
          this.log.notice(`DB loaded from ${isBase ? 'base' : 'incr'} file ${f.name}: ${((performance.now() - t0) / 1000).toFixed(3)} seconds`);
        }
        if (r === 'empty' && !isBase) r = 'ok';
        if (r === 'truncated' && !last) {
          r = 'failed';
          this.log.warning('Fatal error: the truncated file is not the last file');
        }
        result = r;
        if (r === 'open_err' || r === 'failed') break;
      }
    } finally {
      this.host.loadingProgress(null);
    }
    return outcome(result, totalSize, baseSize);
  }

  /** aofUpgradePrepare: the old single file moves into the directory as its base. */
  private upgrade(filename: string): AofManifest {
    const dir = this.files.dir;
    if (!this.files.createDir()) throw new StartupAbort(`cannot create ${dir}`);
    const m = AofManifest.upgraded(filename);
    if (!this.files.persistManifest(m)) throw new StartupAbort('cannot write the AOF manifest');
    try {
      fs.renameSync(filename, this.files.path(filename));
    } catch (err) {
      this.log.warning(`Error trying to move the old AOF file ${filename} into dir ${dir}: ${strerror(err)}`);
      throw new StartupAbort(`cannot move ${filename} into ${dir}`);
    }
    this.log.notice(`Successfully migrated an old-style AOF file (${filename}) into the AOF directory (${dir}).`);
    return m;
  }

  /** loadSingleAppendOnlyFile; pauses (yield) between slices, reporting the bytes loaded. */
  private *loadFile(name: string, filename: string, loaded: (bytes: number) => void): Generator<void, LoadResult> {
    const file = this.files.path(name);
    const oldStyle = name === filename;
    const opened = this.addon.aofLoadOpen(file);
    if (opened.status === 'not_exist') {
      this.log.warning(`The append log file ${name} doesn't exist: ${opened.error}`);
      return 'not_exist';
    }
    if (opened.status === 'open_error') {
      this.log.warning(`Fatal error: can't open the append log file ${name} for reading: ${opened.error}`);
      return 'open_err';
    }
    if (opened.status === 'empty') return 'empty';
    this.host.newReplayClient();
    if (opened.rdb) this.log.notice(oldStyle ? 'Reading RDB preamble from AOF file...' : 'Reading RDB base file on AOF loading...');
    const slice = this.host.config.int(LOADING_PROCESS_EVENTS_INTERVAL_BYTES);
    try {
      for (;;) {
        const step = this.addon.aofLoadRun(slice);
        const errors = step.errors ?? [];
        for (let i = 0; i + 3 < errors.length; i += 4) {
          this.host.replayError(errors[i] as string, errors[i + 1] as string, errors[i + 2] as boolean, errors[i + 3] as string);
        }
        loaded(step.loaded);
        switch (step.step) {
          case 'done':
            return 'ok';
          case 'yield':
            yield;
            continue;
          case 'rdb_done':
            if (step.report) this.host.logRdbReport(step.report);
            if (oldStyle) this.log.notice('Reading the remaining AOF tail...');
            continue;
          case 'rdb_failed':
            this.log.warning(step.error ?? 'RDB loading failed');
            this.log.warning(
              oldStyle
                ? `Error reading the RDB preamble of the AOF file ${name}, AOF loading aborted`
                : `Error reading the RDB base file ${name}, AOF loading aborted`,
            );
            return 'failed';
          case 'foreign': {
            const argv = step.argv ?? [];
            if (this.host.runForeign(step.db ?? 0, argv) === 'unknown') {
              this.log.warning(`Unknown command '${argv[0]?.toString('latin1') ?? ''}' reading the append only file ${name}`);
              return 'failed';
            }
            continue;
          }
          case 'read_error':
            this.log.warning(`Unrecoverable error reading the append only file ${name}: ${step.error}`);
            return 'failed';
          case 'format':
            this.log.warning(
              `Bad file format reading the append only file ${name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>`,
            );
            return 'failed';
          case 'eof_in_multi':
            this.log.warning(`Revert incomplete MULTI/EXEC transaction in AOF file ${name}`);
            return this.truncated(name, file, step.validBeforeMulti);
          case 'truncated':
            return this.truncated(name, file, step.validUpTo);
        }
      }
    } finally {
      this.addon.aofLoadClose();
    }
  }

  /** An unexpected end of file: cut it at the last whole command under aof-load-truncated. */
  private truncated(name: string, file: string, validUpTo: number): LoadResult {
    if (this.host.config.bool(AOF_LOAD_TRUNCATED)) {
      this.log.warning(`!!! Warning: short read while loading the AOF file ${name}!!!`);
      this.log.warning(`!!! Truncating the AOF ${name} at offset ${validUpTo} !!!`);
      try {
        fs.truncateSync(file, validUpTo);
        this.log.warning(`AOF ${name} loaded anyway because aof-load-truncated is enabled`);
        return 'truncated';
      } catch (err) {
        this.log.warning(`Error truncating the AOF file ${name}: ${strerror(err)}`);
      }
    }
    this.log.warning(
      `Unexpected end of file reading the append only file ${name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.`,
    );
    return 'failed';
  }
}

// Persistence state the rest of the server consults. The save machinery (fork, save rules,
// LASTSAVE, INFO persistence) builds on this object.
import type { Server } from '../server';

export class Persistence {
  /** Status of the last background save (rdb_last_bgsave_status). */
  lastBgsaveOk = true;
  /** Unix seconds of the last successful save (LASTSAVE), start-up time until then. */
  lastSaveTime = Math.floor(Date.now() / 1000);

  constructor(private server: Server) {}

  /** MISCONF: a failed background save refuses writes while save rules exist, as Redis does. */
  writesRefused(): boolean {
    const cfg = this.server.config;
    return !this.lastBgsaveOk && cfg.bool('stop-writes-on-bgsave-error') && cfg.saveRules().length > 0;
  }

  /** Loads dir/dbfilename at start-up (arrives with the RDB loader). */
  async loadAtStartup(): Promise<void> {}

  /** The final save before exiting, when save rules exist; false when it failed. */
  saveBeforeExit(): boolean {
    return true;
  }

  cron(): void {
    // Save rules and child reaping arrive with the snapshot machinery.
  }
}

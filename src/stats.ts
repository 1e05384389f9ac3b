// Server-wide counters for INFO stats / errorstats, and the instantaneous-rate samples
// (Redis's trackInstantaneousMetric: 16 samples, one per cron run at most every 100 ms).

const SAMPLES = 16;

class InstantMetric {
  private samples = new Array<number>(SAMPLES).fill(0);
  private idx = 0;
  private lastTime = 0;
  private lastValue = 0;

  sample(now: number, value: number): void {
    if (this.lastTime === 0) {
      this.lastTime = now;
      this.lastValue = value;
      return;
    }
    const dt = now - this.lastTime;
    if (dt < 100) return;
    this.samples[this.idx] = ((value - this.lastValue) * 1000) / dt;
    this.idx = (this.idx + 1) % SAMPLES;
    this.lastTime = now;
    this.lastValue = value;
  }

  get value(): number {
    return this.samples.reduce((a, b) => a + b, 0) / SAMPLES;
  }
}

export class ServerStats {
  commandsProcessed = 0;
  connectionsReceived = 0;
  rejectedConnections = 0;
  rejectedCalls = 0;
  netInputBytes = 0;
  netOutputBytes = 0;
  /** Bytes read from our master and written to our replicas (total_net_repl_*_bytes). */
  netReplInputBytes = 0;
  netReplOutputBytes = 0;
  totalErrorReplies = 0;
  /** Socket reads and reply writes (total_reads_processed / total_writes_processed). */
  readsProcessed = 0;
  writesProcessed = 0;
  /** Clients closed by maxmemory-clients (evicted_clients). */
  evictedClients = 0;
  /** Error code (the first word of the error reply) -> count, as errorstat_<CODE>. */
  errors = new Map<string, number>();
  readonly opsPerSec = new InstantMetric();
  readonly inputKbps = new InstantMetric();
  readonly outputKbps = new InstantMetric();
  readonly replInputKbps = new InstantMetric();
  readonly replOutputKbps = new InstantMetric();

  /** Counts an error reply by its code ("ERR", "WRONGTYPE"...). */
  countError(text: string, count = 1): void {
    this.totalErrorReplies += count;
    const space = text.indexOf(' ');
    let code = space < 0 ? text : text.slice(0, space);
    const eol = code.indexOf('\r');
    if (eol >= 0) code = code.slice(0, eol);
    // Redis caps the table at 128 codes and then counts only the total.
    if (!this.errors.has(code) && this.errors.size >= 128) return;
    this.errors.set(code, (this.errors.get(code) ?? 0) + count);
  }

  sample(now: number): void {
    this.opsPerSec.sample(now, this.commandsProcessed);
    this.inputKbps.sample(now, this.netInputBytes / 1024);
    this.outputKbps.sample(now, this.netOutputBytes / 1024);
    this.replInputKbps.sample(now, this.netReplInputBytes / 1024);
    this.replOutputKbps.sample(now, this.netReplOutputBytes / 1024);
  }

  /** CONFIG RESETSTAT. */
  reset(): void {
    this.commandsProcessed = 0;
    this.connectionsReceived = 0;
    this.rejectedConnections = 0;
    this.rejectedCalls = 0;
    this.netInputBytes = 0;
    this.netOutputBytes = 0;
    this.netReplInputBytes = 0;
    this.netReplOutputBytes = 0;
    this.totalErrorReplies = 0;
    this.readsProcessed = 0;
    this.writesProcessed = 0;
    this.evictedClients = 0;
    this.errors.clear();
  }
}

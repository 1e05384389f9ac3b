// maxmemory, the TypeScript half: the settings pushed to the addon (which evicts: see
// native/src/keyspace/evict.rs), used_memory kept current for it, the check before a command
// (Redis's processCommand: evict, then refuse what may grow memory when nothing is left to
// evict), CONFIG SET maxmemory evicting at once (updateMaxmemory), and the loop that keeps
// evicting between events when one call ran out of time, each of its steps handing what it
// evicted to the clients (invalidations, "evicted" events) at once, as Redis's
// evictionTimeProc does.
import type { Client } from './client';
import type { Command } from './commands/table';
import type { Config } from './config';
import { consume } from './config/consumers';
import type { MemoryAccounting } from './memory';
import { native } from './native';

const PROOF = 'test/server/maxmemory.test.ts';
const MAXMEMORY = consume('maxmemory', PROOF);
const MAXMEMORY_POLICY = consume('maxmemory-policy', PROOF);
const MAXMEMORY_SAMPLES = consume('maxmemory-samples', PROOF);
const MAXMEMORY_EVICTION_TENACITY = consume('maxmemory-eviction-tenacity', PROOF);
const LFU_LOG_FACTOR = consume('lfu-log-factor', PROOF);
const LFU_DECAY_TIME = consume('lfu-decay-time', PROOF);

export const OOM_ERROR = "OOM command not allowed when used memory > 'maxmemory'.";

const EVICT_RUNNING = 1;
const EVICT_FAIL = 2;

/** Commands a client in MULTI may still send when out of memory (they do not queue anything). */
const MULTI_OOM_EXEMPT = new Set(['exec', 'discard', 'quit', 'reset']);

export class Maxmemory {
  /** maxmemory in bytes, 0 for none: read before every command. */
  limit = 0;
  /** The last check found memory over the limit and nothing to evict (scripts read it). */
  outOfMemory = false;
  private loopScheduled = false;

  constructor(
    config: Config,
    private readonly memory: MemoryAccounting,
    private readonly log: { warning(text: string): void },
    /** A background step evicted: what the keyspace recorded goes to the clients now. */
    private readonly evictedInBackground: () => void,
  ) {
    for (const setting of [MAXMEMORY_SAMPLES, MAXMEMORY_EVICTION_TENACITY, LFU_LOG_FACTOR, LFU_DECAY_TIME]) {
      const push = () => native.setSetting(setting.name, config.int(setting));
      push();
      config.onChange(setting, push);
    }
    const pushPolicy = () => native.setSettingString(MAXMEMORY_POLICY.name, config.str(MAXMEMORY_POLICY));
    pushPolicy();
    config.onChange(MAXMEMORY_POLICY, pushPolicy);
    this.limit = config.int(MAXMEMORY);
    native.setSetting(MAXMEMORY.name, this.limit);
    config.onChange(MAXMEMORY, () => this.setLimit(config.int(MAXMEMORY)));
    if (this.limit > 0 && this.limit < 1024 * 1024) {
      this.log.warning(`WARNING: You specified a maxmemory value that is less than 1MB (current value is ${this.limit} bytes). Are you sure this is what you really want?`);
    }
  }

  private setLimit(limit: number): void {
    this.limit = limit;
    native.setSetting('maxmemory', limit);
    if (limit === 0) return;
    const used = this.memory.sample().used;
    if (limit < used) {
      this.log.warning(`WARNING: the new maxmemory value set via CONFIG SET (${limit}) is smaller than the current memory usage (${used}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.`);
    }
    this.evict();
  }

  /** performEvictions: what fits in one call's time now, the rest between events. */
  private evict(): number {
    const result = native.performEvictions() as number;
    if (result === EVICT_RUNNING) this.evictInBackground();
    return result;
  }

  /**
   * The check before a command (only while maxmemory is set): evicts what the policy allows
   * and returns Redis's refusal when memory stays over the limit and `cmd` may grow it, or
   * null. Inside MULTI every queued command is refused, as queueing takes memory too.
   * `scriptDenyOom` tells whether a script command declares it may write (asked only then).
   */
  check(client: Client, cmd: Command, scriptDenyOom: () => boolean): string | null {
    this.outOfMemory = this.evict() === EVICT_FAIL;
    if (!this.outOfMemory) return null;
    if (cmd.flags.has('denyoom') || scriptDenyOom()) return OOM_ERROR;
    if (client.inMulti && !MULTI_OOM_EXEMPT.has(cmd.name)) return OOM_ERROR;
    if (cmd.name === 'exec' && client.inMulti && client.multiQueue.some((q) => q.denyOom)) return OOM_ERROR;
    return null;
  }

  /** The cron: keeps used_memory current and evicts what a lower maxmemory now requires. */
  cron(): void {
    if (this.limit === 0) return;
    this.memory.sample();
    this.evictInBackground();
  }

  /** Redis's evictionTimeProc: short eviction rounds between events until done or stuck. */
  private evictInBackground(): void {
    if (this.loopScheduled) return;
    this.loopScheduled = true;
    const step = () => {
      if (this.limit > 0) {
        const result = native.performEvictions() as number;
        this.evictedInBackground();
        if (result === EVICT_RUNNING) {
          setImmediate(step);
          return;
        }
      }
      this.loopScheduled = false;
    };
    setImmediate(step);
  }
}

// Per-client memory limits and the figures INFO clients reports about them:
// - client-output-buffer-limit (Redis's checkClientOutputBufferLimits): per class (normal,
//   replica, pubsub) a hard limit that closes the client as soon as its pending output reaches
//   it, and a soft limit that closes it once the output stayed at or over it for more than the
//   soft seconds. Server.send consults it after every write, so every reply path is covered.
// - client_recent_max_input_buffer / client_recent_max_output_buffer: the largest query buffer
//   allocation (with a blocked command's arguments) and pending output of the last seconds
//   (Redis's CLIENTS_PEAK_MEM_USAGE_SLOTS, one per second).
import type { Client, ClientType } from './client';
import type { Config } from './config';
import { consume } from './config/consumers';
import { native } from './native';

const CLIENT_OUTPUT_BUFFER_LIMIT = consume('client-output-buffer-limit', 'test/server/client-limits.test.ts');
const REPL_BACKLOG_SIZE = consume('repl-backlog-size', 'test/server/replication.test.ts');

interface ClassLimit {
  hard: number;
  soft: number;
  softSeconds: number;
}

const NO_LIMIT: ClassLimit = { hard: 0, soft: 0, softSeconds: 0 };

/** Redis keeps the peaks of the last 8 seconds. */
const PEAK_SLOTS = 8;

export class ClientLimits {
  private normal = NO_LIMIT;
  private replica = NO_LIMIT;
  private pubsub = NO_LIMIT;
  private readonly inputPeaks = new Array<number>(PEAK_SLOTS).fill(0);
  private readonly outputPeaks = new Array<number>(PEAK_SLOTS).fill(0);
  private lastSecond = -1;
  /**
   * The normal class's smallest limit (hard or soft), 0 for none: replies the fast paths queue
   * up to it are judged before they are written.
   */
  normalLimit = 0;
  /**
   * The smallest hard limit of the normal and pubsub classes (Infinity for none): a single
   * write this large is judged before it reaches the socket (Server.send).
   */
  minHard = Infinity;
  /** Clients whose output went over their soft limit: the cron judges them without traffic. */
  readonly overSoft = new Set<Client>();

  constructor(private readonly config: Config) {
    const refresh = () => {
      const limits = config.outputBufferLimits(CLIENT_OUTPUT_BUFFER_LIMIT);
      const toNumbers = (l: { hardBytes: bigint; softBytes: bigint; softSeconds: bigint }): ClassLimit => ({
        hard: Number(l.hardBytes),
        soft: Number(l.softBytes),
        softSeconds: Number(l.softSeconds),
      });
      this.normal = toNumbers(limits.normal);
      this.replica = toNumbers(limits.replica);
      this.pubsub = toNumbers(limits.pubsub);
      const nonZero = (...v: number[]) => v.filter((n) => n > 0);
      this.normalLimit = Math.min(...nonZero(this.normal.hard, this.normal.soft), Infinity);
      if (this.normalLimit === Infinity) this.normalLimit = 0;
      this.minHard = Math.min(...nonZero(this.normal.hard, this.pubsub.hard), Infinity);
      // A reply past its class's hard limit closes the client: the addon stops building random
      // picks there (native/src/cmd/random_picks.rs).
      native.setOutputHardLimits(this.normal.hard, this.pubsub.hard);
    };
    refresh();
    config.onChange(CLIENT_OUTPUT_BUFFER_LIMIT, refresh);
  }

  private classLimit(type: ClientType): ClassLimit {
    switch (type) {
      case 'pubsub': return this.pubsub;
      case 'replica': return this.replica;
      // Redis applies the normal class to its master link too.
      default: return this.normal;
    }
  }

  /**
   * True when `client`'s pending output breaks its class's limit and it must be closed.
   * Records when the soft limit was first reached and forgets it once the output is back under.
   */
  outputExceeded(client: Client, adding = 0): boolean {
    const used = client.outputBytes() + adding;
    if (used === 0 && client.type !== 'replica') {
      if (client.softLimitSince !== 0) this.underSoft(client);
      return false;
    }
    const limit = this.classLimit(client.type);
    if (limit.hard === 0 && limit.soft === 0) return false;
    let hard = limit.hard;
    // A replica's hard limit below repl-backlog-size is raised to it (Redis's rule: a partial
    // resync may have to queue a whole backlog at once).
    if (client.type === 'replica' && hard !== 0) hard = Math.max(hard, this.config.int(REPL_BACKLOG_SIZE));
    if (hard !== 0 && used >= hard) return true;
    if (limit.soft === 0 || used < limit.soft) {
      if (client.softLimitSince !== 0) this.underSoft(client);
      return false;
    }
    const now = Math.floor(Date.now() / 1000);
    if (client.softLimitSince === 0) {
      client.softLimitSince = now;
      this.overSoft.add(client);
      return false;
    }
    return now - client.softLimitSince > limit.softSeconds;
  }

  /**
   * `client` (closing or with its output back under the soft limit) no longer waits for the
   * soft limit's time.
   */
  underSoft(client: Client): void {
    client.softLimitSince = 0;
    this.overSoft.delete(client);
  }

  /**
   * A reply of `length` bytes about to be written to `client` breaks its hard limit: Redis
   * accumulates a command's replies before writing any, so such a reply is never sent.
   */
  replyBreaksHard(client: Client, length: number): boolean {
    const type = client.type;
    if (type === 'replica' || type === 'master') return false;
    const hard = this.classLimit(type).hard;
    return hard !== 0 && client.outputBytes() + length >= hard;
  }

  /**
   * The cron, once per tick: records this second's largest input and output among `clients`.
   * As Redis's clientsCron, the slot after the current one is cleared every second, so a peak
   * stays visible for 7 to 8 seconds.
   */
  trackPeaks(clients: Iterable<Client>, nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    if (second !== this.lastSecond) {
      // The slots of the seconds that passed since the last run (at most all of them) are cleared.
      const from = this.lastSecond < 0 ? second - PEAK_SLOTS + 1 : Math.max(this.lastSecond + 1, second - PEAK_SLOTS + 1);
      for (let t = from; t <= second; t++) {
        const clear = (t + 1) % PEAK_SLOTS;
        this.inputPeaks[clear] = 0;
        this.outputPeaks[clear] = 0;
      }
      this.lastSecond = second;
    }
    const slot = second % PEAK_SLOTS;
    for (const c of clients) {
      const input = c.inputMemory(true);
      const output = c.outputBytes();
      if (input > this.inputPeaks[slot]) this.inputPeaks[slot] = input;
      if (output > this.outputPeaks[slot]) this.outputPeaks[slot] = output;
    }
  }

  /** client_recent_max_input_buffer and client_recent_max_output_buffer. */
  recentPeaks(clients: Iterable<Client>): { input: number; output: number } {
    let input = Math.max(...this.inputPeaks);
    let output = Math.max(...this.outputPeaks);
    // What is there right now counts too, before the cron has seen it.
    for (const c of clients) {
      input = Math.max(input, c.inputMemory(false));
      output = Math.max(output, c.outputBytes());
    }
    return { input, output };
  }
}

// Redis's beforeSleep, for the work that must happen once per event-loop iteration and before
// any reply of that iteration reaches a socket: hand the propagated writes to their consumers
// and write the AOF (fsynced under appendfsync always). A reply that would acknowledge a write
// not yet in the AOF is held here and written, in order, right after that work (setImmediate
// runs after every socket callback of the iteration, so one pass serves all of them).
import type { Client } from './client';

export class BeforeSleep {
  /** Held replies in order: client, data (null: close the client once its replies are out). */
  private held: Array<Client | Buffer | null> = [];
  private scheduled = false;
  private readonly tasks: Array<() => void> = [];
  /** True while replies must wait for the next pass (the AOF has unwritten bytes). */
  private gate: (() => boolean) | null = null;

  constructor(
    private readonly write: (client: Client, data: Buffer) => void,
    private readonly close: (client: Client) => void,
  ) {}

  /** Work of every pass, in registration order. */
  addTask(task: () => void): void {
    this.tasks.push(task);
  }

  /** Replies wait while `gate` returns true (one gate: the AOF's). */
  setGate(gate: (() => boolean) | null): void {
    this.gate = gate;
  }

  /** Runs a pass at the end of this event-loop iteration. */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.run());
  }

  /**
   * Keeps a copy of `data[0, length)` for `client` until the pass when it may not go out yet;
   * true when kept.
   */
  hold(client: Client, data: Buffer, length = data.length): boolean {
    if (this.held.length === 0 && (this.gate === null || !this.gate())) return false;
    this.held.push(client, Buffer.from(data.subarray(0, length)));
    this.schedule();
    return true;
  }

  /** Closes `client` after its held replies, when it has some; true when deferred. */
  holdClose(client: Client): boolean {
    if (this.held.length === 0) return false;
    this.held.push(client, null);
    return true;
  }

  /** A pass now (also before the process exits or forks, when nothing may stay behind). */
  run(): void {
    this.scheduled = false;
    for (const task of this.tasks) task();
    // Sends made by the tasks (replication streams) join the queue; the loop reaches them.
    const held = this.held;
    for (let i = 0; i < held.length; i += 2) {
      const client = held[i] as Client;
      const data = held[i + 1] as Buffer | null;
      if (data === null) this.close(client);
      else this.write(client, data);
    }
    this.held = [];
  }
}

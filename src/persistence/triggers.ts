// What asked for a child or a save, in words for an operator. Every trigger keyfork reports
// (INFO's keyfork_child_trigger, keyfork_scheduled_*, keyfork_last_*_trigger and `keyfork
// status`) is built here, so that they read alike whichever feature forks:
//
//   BGSAVE from 127.0.0.1:52114 (name worker-3)        a client's command, with its name if set
//   save rule "300 10": 12 changes in 301 seconds      a save rule and what made it fire
//   full sync for replica 127.0.0.1:6380               a replica's sync (its announced address)
//   auto-aof-rewrite: AOF grew 103% (1048576 -> 2138112 bytes, auto-aof-rewrite-percentage 100)
//   SIGTERM                                            a signal the server acted on

/** The part of a client a trigger names. */
export interface TriggerClient {
  readonly addr: string;
  readonly name: string;
}

/**
 * "<COMMAND words> from <addr>[ (name <name>)]"; without a client (the server itself, a
 * script's caller gone) just the command words.
 */
export function commandTrigger(command: string, client: TriggerClient | null): string {
  if (!client) return command;
  return `${command} from ${client.addr}${client.name ? ` (name ${client.name})` : ''}`;
}

/** A save rule `save <seconds> <changes>` fired with `dirty` changes `elapsedSec` after the last save. */
export function saveRuleTrigger(seconds: number, changes: number, dirty: number, elapsedSec: number): string {
  return `save rule "${seconds} ${changes}": ${dirty} changes in ${elapsedSec} seconds`;
}

/** A replica's full sync; `addr` is ip:port as INFO replication shows the replica. */
export function replicaSyncTrigger(addr: string): string {
  return `full sync for replica ${addr}`;
}

/** auto-aof-rewrite-percentage fired: the AOF grew from `baseBytes` to `currentBytes`. */
export function autoAofRewriteTrigger(baseBytes: number, currentBytes: number, percentage: number): string {
  const grew = baseBytes > 0 ? Math.floor(((currentBytes - baseBytes) * 100) / baseBytes) : 0;
  return `auto-aof-rewrite: AOF grew ${grew}% (${baseBytes} -> ${currentBytes} bytes, auto-aof-rewrite-percentage ${percentage})`;
}

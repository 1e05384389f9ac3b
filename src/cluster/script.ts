// Cluster mode inside scripts (Redis's scriptVerifyClusterState and scriptPrepareForRun's
// no-cluster refusal): every redis.call is routed as its caller's command would be, and a
// script declared with flags (a shebang) keeps to one slot unless allow-cross-slot-keys.
import type { Client } from '../client';
import type { Command } from '../commands/table';
import { makeRequest, type Request } from '../commands/types';
import type { Cluster } from './index';
import { getNodeByQuery, REDIR_DOWN_RO_STATE, REDIR_DOWN_STATE } from './redirect';
import { keyHashSlotOf } from './keyslot';
import { getKeys } from '../commands/keys-of';
import { argStr } from '../commands/types';

/** Script flags (native/src/script/mod.rs). */
const FLAG_NO_CLUSTER = 8;
const FLAG_ALLOW_CROSS_SLOT = 16;
const FLAG_EVAL_COMPAT = 1 << 31;

/** What a running script remembers for its calls' checks. */
export interface ScriptRouting {
  caller: Client;
  /** The slot of its keys so far (its declared KEYS' first), or -1. */
  slot: number;
  allowCrossSlot: boolean;
}

/** scriptPrepareForRun's refusal of a no-cluster script (flags < 0: unknown script). */
export function noClusterRefusal(flags: number): string | null {
  if (flags < 0 || (flags & FLAG_EVAL_COMPAT) !== 0) return null;
  return (flags & FLAG_NO_CLUSTER) !== 0 ? "ERR Can not run script on cluster, 'no-cluster' flag is set." : null;
}

/** The routing state of a script about to run for `caller`'s `cmd` (EVAL/FCALL and their kin). */
export function scriptRouting(caller: Client, cmd: Command | undefined, req: Request, flags: number): ScriptRouting {
  let slot = -1;
  if (cmd) {
    const argv: string[] = [];
    for (let i = 0; i < req.argc; i++) argv.push(argStr(req, i));
    const keys = getKeys(cmd, argv);
    if (keys.length > 0) {
      const pos = keys[0].pos;
      slot = keyHashSlotOf(req.input, req.offsets[2 * pos], req.offsets[2 * pos + 1]);
    }
  }
  // Scripts without a shebang keep pre-7.0 behaviour: any slot this node serves.
  const allowCrossSlot = flags < 0 || (flags & (FLAG_EVAL_COMPAT | FLAG_ALLOW_CROSS_SLOT)) !== 0;
  return { caller, slot, allowCrossSlot };
}

/** scriptVerifyClusterState for one redis.call: null when it may run, else the refusal. */
export function scriptCallRefusal(cluster: Cluster, routing: ScriptRouting, cmd: Command, argv: Buffer[]): string | null {
  if (routing.caller.isMaster) return null;
  const req = makeRequest(argv);
  // The script client carries its caller's READONLY and ASKING.
  const client = { asking: routing.caller.asking, readonly: routing.caller.readonly, inMulti: false, multiQueue: [] } as unknown as Client;
  const r = getNodeByQuery(cluster, client, cmd, req, false);
  if (r.node !== cluster.state.myself) {
    if (r.code === REDIR_DOWN_RO_STATE) return 'Script attempted to execute a write command while the cluster is down and readonly';
    if (r.code === REDIR_DOWN_STATE) return 'Script attempted to execute a command while the cluster is down';
    return 'Script attempted to access a non local key in a cluster node';
  }
  if (r.slot !== -1 && !routing.allowCrossSlot) {
    if (routing.slot === -1) routing.slot = r.slot;
    else if (routing.slot !== r.slot) return 'Script attempted to access keys that do not hash to the same slot';
  }
  return null;
}

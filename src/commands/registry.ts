// Every TypeScript command handler, by full name. Native handlers come from the addon's
// own list (native.commandNames()); see commands/table.ts for how the two are joined.
import { aclCommands } from './acl-cmd';
import { clientCommands } from './client-cmd';
import { clientPauseCommands } from '../client-pause';
import { latencyCommands } from './latency-cmd';
import { memoryCommands } from './memory-cmd';
import { commandCommands } from './command-cmd';
import { configCommands } from './config-cmd';
import { connectionCommands } from './connection';
import { debugCommands } from './debug';
import { lolwutCommands } from './lolwut';
import { moduleCommands } from './module-cmd';
import { monitorCommands } from '../monitor';
import { persistenceCommands } from './persistence';
import { pubsubCommands } from './pubsub';
import { scriptingCommands } from '../scripting';
import { replicationCommands } from '../replication/commands';
import { serverCommands } from './server';
import { streamCommands } from './streams';
import { transactionCommands } from './transactions';
import type { Handler } from './types';
import { clusterCommands } from '../cluster/commands';

export function tsHandlers(): Map<string, Handler> {
  return new Map<string, Handler>([...connectionCommands, ...transactionCommands, ...pubsubCommands, ...persistenceCommands(),
    ...serverCommands, ...commandCommands, ...configCommands, ...clientCommands, ...debugCommands, ...scriptingCommands,
    ...moduleCommands, ...lolwutCommands, ...monitorCommands, ...clientPauseCommands, ...latencyCommands, ...memoryCommands,
    ...streamCommands, ...aclCommands, ...replicationCommands, ...clusterCommands()]);
}

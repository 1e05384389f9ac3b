// Every TypeScript command handler, by full name. Native handlers come from the addon's
// own list (native.commandNames()); see commands/table.ts for how the two are joined.
import { connectionCommands } from './connection';
import { pubsubCommands } from './pubsub';
import { transactionCommands } from './transactions';
import type { Handler } from './types';

export function tsHandlers(): Map<string, Handler> {
  return new Map<string, Handler>([...connectionCommands, ...transactionCommands, ...pubsubCommands]);
}

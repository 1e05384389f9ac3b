// Redis's CMD_PROTECTED commands (not visible in COMMAND INFO): DEBUG behind
// enable-debug-command and MODULE's LOAD, LOADEX and UNLOAD behind enable-module-command
// (default "no"; "local" admits loopback clients). Redis refuses them in processCommand.
import type { Client } from '../client';
import { consume, type Directive } from '../config/consumers';
import type { Server } from '../server';
import { isLocalClient } from './client-cmd';

const ENABLE_DEBUG_COMMAND = consume('enable-debug-command', 'test/server/config.test.ts');
const ENABLE_MODULE_COMMAND = consume('enable-module-command', 'test/server/module.test.ts');

type Gate = Directive<'enable-debug-command' | 'enable-module-command'>;

const GATES = new Map<string, { gate: Gate; label: string }>([
  ['debug', { gate: ENABLE_DEBUG_COMMAND, label: 'DEBUG' }],
  ...['module|load', 'module|loadex', 'module|unload'].map(
    (name): [string, { gate: Gate; label: string }] => [name, { gate: ENABLE_MODULE_COMMAND, label: 'MODULE' }],
  ),
]);

/** Redis's refusal of a protected command the configuration does not allow `client`, or null. */
export function protectedNotAllowed(server: Server, client: Client, name: string): string | null {
  const entry = GATES.get(name);
  if (!entry || server.config.protectedActionAllowed(entry.gate, isLocalClient(client))) return null;
  return `ERR ${entry.label} command not allowed. If the ${entry.gate.name} option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.`;
}

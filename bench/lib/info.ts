// Reading INFO fields and probing what a server build supports. keyfork is built up command by
// command, so a benchmark asks before it measures and records "not supported yet" instead of failing.
import { RespClient, RespError, isUnknownCommand, parseInfo } from './resp';

/** A numeric INFO field, or null when the server has no INFO (section) or no such field. */
export async function infoNumber(client: RespClient, section: string, field: string): Promise<number | null> {
  const reply = await client.call('INFO', section);
  if (reply instanceof RespError) return null;
  const value = parseInfo(reply).get(field);
  if (value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

export async function dbsize(client: RespClient): Promise<number | null> {
  const reply = await client.call('DBSIZE');
  return typeof reply === 'number' ? reply : null;
}

/**
 * Whether the server knows a command, without running it: called with no arguments, a known
 * command with arguments fails its arity check ("wrong number of arguments"), an unknown one
 * says "unknown command". Only for commands that take at least one argument.
 */
export async function knowsCommand(client: RespClient, name: string): Promise<boolean> {
  return !isUnknownCommand(await client.call(name));
}

export const NOT_YET = 'not supported by this keyfork build yet';

/**
 * True when INFO memory reports used_memory equal to used_memory_rss: the build derives
 * used_memory from the process RSS instead of counting allocated bytes, so the figure includes
 * the runtime (V8 heap, code) and allocator slack.
 */
export async function usedMemoryIsRss(client: RespClient): Promise<boolean> {
  const reply = await client.call('INFO', 'memory');
  if (reply instanceof RespError) return false;
  const info = parseInfo(reply);
  const used = info.get('used_memory');
  return used !== undefined && used === info.get('used_memory_rss');
}

export const USED_MEMORY_IS_RSS = 'used_memory equals used_memory_rss in this build (process RSS, not allocated bytes)';

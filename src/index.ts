// Programmatic use: run a real keyfork inside a Node process, e.g. in a test suite.
//
//   const { port, close } = await startServer({ port: 0, config: { save: '' } });
//
// The keyspace lives in the native addon and is per process, so one server per process.
import { loadConfig } from './config';
import type { Server } from './server';
import { bringUp } from './start';

export interface StartOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** redis.conf directives by name, e.g. { save: '', 'maxmemory': '100mb' }. */
  config?: Record<string, string | number | boolean>;
  /** A redis.conf file read before `config`. */
  configFile?: string;
}

export interface RunningServer {
  port: number;
  host: string;
  server: Server;
  /** Stops listening and disconnects every client. */
  close(): Promise<void>;
}

let running: Server | null = null;

function directiveArgs(config: Record<string, string | number | boolean>): string[] {
  const args: string[] = [];
  for (const [name, value] of Object.entries(config)) {
    args.push(`--${name}`, typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value));
  }
  return args;
}

export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  if (running) throw new Error('keyfork: a server is already running in this process (the keyspace is per process)');
  const defaults: Record<string, string | number | boolean> = { bind: '127.0.0.1', loglevel: 'warning', save: '' };
  const merged = { ...defaults, ...(opts.config ?? {}), port: opts.port ?? 0 };
  const argv = [...(opts.configFile ? [opts.configFile] : []), ...directiveArgs(merged)];
  const config = loadConfig(argv, { loudUnsupported: true });
  const { server, port } = await bringUp(config, opts.configFile ?? null);
  running = server;
  return {
    port,
    host: '127.0.0.1',
    server,
    close: async () => {
      await server.close();
      running = null;
    },
  };
}

export type { Server };

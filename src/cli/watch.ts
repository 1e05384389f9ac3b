// `keyfork status --watch`: the status screen redrawn in place like `top` (the terminal's
// alternate screen, restored on exit), q or Ctrl-C to quit. It survives the server going away
// (a restart at 2 AM): the screen says so and reconnects at the next tick.
import * as readline from 'node:readline';
import { RespClient, type ConnectionOptions } from './resp-client';
import { renderStatus } from './render';
import { fetchStatus, type StatusModel } from './status';

const ENTER_ALT_SCREEN = '\x1b[?1049h\x1b[?25l';
const LEAVE_ALT_SCREEN = '\x1b[?25h\x1b[?1049l';
const HOME = '\x1b[H';
const CLEAR_LINE_END = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';

export interface WatchOptions {
  intervalMs: number;
  json: boolean;
  color: boolean;
  /** Stop after this many frames (tests, scripts); 0: until q or Ctrl-C. */
  count: number;
}

export async function watchStatus(conn: ConnectionOptions, addr: string, opts: WatchOptions): Promise<number> {
  const out = process.stdout;
  const screen = out.isTTY === true && !opts.json;
  let client: RespClient | null = null;
  let stopped = false;
  let wake: (() => void) | null = null;
  const stop = () => {
    stopped = true;
    wake?.();
  };

  const restore = () => {
    if (screen) out.write(LEAVE_ALT_SCREEN);
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
  };
  if (screen) out.write(ENTER_ALT_SCREEN);
  process.once('exit', restore);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (process.stdin.isTTY) {
    readline.emitKeypressEvents(process.stdin);
    process.stdin.setRawMode(true);
    process.stdin.on('keypress', (_s: string, key: { name?: string; ctrl?: boolean }) => {
      if (key?.name === 'q' || (key?.ctrl && key.name === 'c')) stop();
      else wake?.(); // any other key: redraw now
    });
  }
  const redraw = () => wake?.();
  out.on('resize', redraw);

  let frames = 0;
  try {
    while (!stopped) {
      let model: StatusModel | null = null;
      let problem = '';
      try {
        client ??= await RespClient.open(conn);
        model = await fetchStatus(client, addr);
      } catch (err) {
        problem = `${addr}: ${(err as Error).message}; retrying every ${opts.intervalMs / 1000} s`;
        client?.close();
        client = null;
      }
      if (opts.json) {
        out.write(`${JSON.stringify(model ?? { error: problem })}\n`);
      } else {
        const lines = model
          ? renderStatus(model, { color: opts.color, width: screen ? out.columns || 100 : 1000, unicode: screen, nowMs: Date.now() })
          : [problem];
        if (screen) {
          lines.push('', 'q: quit  any key: refresh');
          out.write(`${HOME}${lines.map((l) => `${l}${CLEAR_LINE_END}`).join('\n')}${CLEAR_BELOW}`);
        } else {
          out.write(`${lines.join('\n')}\n\n`);
        }
      }
      if (opts.count > 0 && ++frames >= opts.count) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, opts.intervalMs);
      });
      wake = null;
    }
  } finally {
    out.off('resize', redraw);
    client?.close();
    process.off('exit', restore);
    restore();
    process.stdin.pause();
  }
  return 0;
}

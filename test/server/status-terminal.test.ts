// `keyfork status --watch` and `keyfork bgsave --wait` in a real terminal: tmux runs them,
// send-keys types, capture-pane reads the screen.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawConnection } from '../helpers/resp';
import { REPO_ROOT, startKeyfork, type RunningServer } from '../helpers/servers';
import { infoSection, show, waitFor } from './persistence-support';

const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli.js');
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
/** A tmux server of our own: nobody else's sessions are touched. */
const SOCKET = `keyfork-test-${process.pid}`;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
}

/** Runs `command` in a fresh 110x40 terminal; the shell stays after it so the end can be read. */
function openTerminal(name: string, command: string): void {
  tmux('new-session', '-d', '-s', name, '-x', '110', '-y', '40', `${command}; echo "EXITED $?"; sleep 60`);
}

function screen(name: string): string {
  return tmux('capture-pane', '-p', '-t', name);
}

describe.skipIf(!hasTmux)(`keyfork in a terminal${hasTmux ? '' : ' (skipped: tmux is not installed)'}`, () => {
  let server: RunningServer;
  let c: RawConnection;
  beforeAll(async () => {
    server = await startKeyfork({ args: ['--save', '900 1', '--enable-debug-command', 'yes'] });
    c = await RawConnection.connect(server.port);
    await c.send('DEBUG', 'POPULATE', '4000');
  });
  afterAll(async () => {
    spawnSync('tmux', ['-L', SOCKET, 'kill-server']);
    c?.close();
    await server?.stop();
  });

  it('status --watch redraws in place, follows a save as it runs, and q restores the screen', async () => {
    openTerminal('watch', `node ${CLI} status --watch --interval 0.3 -p ${server.port}`);
    await waitFor(() => screen('watch').includes('no child: nothing is being saved'), 'the idle screen', 15_000);
    const idle = screen('watch');
    expect(idle).toMatch(/^keyfork [\d.]+ \(Redis 7\.0\.15\) 127\.0\.0\.1:\d+ · master/);
    expect(idle).toMatch(/save 900 1 +needs 1 more change/);
    expect(idle).toContain('q: quit  any key: refresh');

    await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '1000');
    await c.send('CLIENT', 'SETNAME', 'on-call');
    expect(show(await c.send('BGSAVE'))).toBe('+Background saving started');
    const running = await waitFor(() => {
      const s = screen('watch');
      return /Running +RDB save, pid \d+/.test(s) && /█+░*\s+[\d.]+%/.test(s) ? s : null;
    }, 'the running save on screen', 15_000);
    expect(running).toMatch(/triggered by BGSAVE from 127\.0\.0\.1:\d+ \(name on-call\)/);
    expect(running).toMatch(/[\d,]+\/4,000 keys +[\d.]+ KB written/);
    // One screen, redrawn: the header is on the first line only.
    expect(running.match(/Redis 7\.0\.15/g)).toHaveLength(1);
    await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '0');

    tmux('send-keys', '-t', 'watch', 'q');
    const after = await waitFor(() => (screen('watch').includes('EXITED') ? screen('watch') : null), 'the watch to end', 10_000);
    expect(after).toMatch(/EXITED 0/);
    expect(after).not.toContain('Save rules'); // the alternate screen is gone
  }, 60_000);

  it('bgsave --wait draws one bar in place and ends with the outcome', async () => {
    await waitFor(async () => (await infoSection(c)).get('rdb_bgsave_in_progress') === '0', 'no save running', 20_000);
    await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '500');
    openTerminal('wait', `node ${CLI} bgsave --wait -p ${server.port}`);
    const mid = await waitFor(() => (/█+░+ \d+% \| [\d,]+\/4,000 keys/.test(screen('wait')) ? screen('wait') : null), 'the bar', 15_000);
    expect(mid.match(/keys/g)).toHaveLength(1); // redrawn, not a line per update
    const end = await waitFor(() => (screen('wait').includes('EXITED') ? screen('wait') : null), 'the end', 30_000);
    expect(end).toMatch(/Background saving terminated with success in \d+\.\d s \(4,000 keys, [\d.]+ KB\)/);
    expect(end).toMatch(/EXITED 0/);
  }, 60_000);
});

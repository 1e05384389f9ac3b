// README's command list is generated from the command table: it must not drift.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';

it('README.md lists exactly the commands the table implements', () => {
  const script = path.resolve(__dirname, '../../scripts/readme-commands.js');
  const out = execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
  expect(out).toContain('current');
});

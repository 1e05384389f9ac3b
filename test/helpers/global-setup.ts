// Runs once before any test file: the server tests spawn the built keyfork, so a missing build
// would otherwise surface as dozens of confusing start-up failures.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { addonPath } from '../../src/native-platform';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const REQUIRED = [
  ['dist/src/main.js', 'the compiled TypeScript (npm run build:ts)'],
  [path.relative(REPO_ROOT, addonPath(REPO_ROOT)), 'the Rust addon (npm run build:native)'],
] as const;

export default function setup(): void {
  const missing = REQUIRED.filter(([file]) => !fs.existsSync(path.join(REPO_ROOT, file)));
  if (missing.length === 0) return;
  const list = missing.map(([file, what]) => `  ${file}: ${what}`).join('\n');
  // Escape hatch for pure unit tests (parsers, encoders) before anything is built.
  if (process.env.KEYFORK_ALLOW_UNBUILT === '1') {
    console.warn(`keyfork is not built; tests that start it will fail:\n${list}`);
    return;
  }
  throw new Error(`keyfork is not built, missing:\n${list}\nrun npm install / npm run build first`);
}

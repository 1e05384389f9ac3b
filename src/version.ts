// The Redis version keyfork speaks (INFO, HELLO, log banner) and keyfork's own version.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REDIS_VERSION = '7.0.15';

function readOwnVersion(): string {
  // src/ when run from sources (tests), dist/src/ when compiled.
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, candidate), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'keyfork' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return 'unknown';
}

export const KEYFORK_VERSION = readOwnVersion();

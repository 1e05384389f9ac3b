#!/usr/bin/env node
// npm's install step. A package made by `npm pack` ships prebuilt binaries and lists them in
// native/prebuilt.json (written by scripts/prebuilt.js at prepack): when one is for this
// platform and loads, nothing is built, so installing needs no Rust. Otherwise (another
// platform, or a checkout of the repository, which has no prebuilt.json) the addon is built
// from source as before. A checkout (it has tsconfig.json, which is not packed) also compiles
// its TypeScript: `npm ci` leaves it ready to run and test.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function prebuiltFits() {
  const list = path.join(root, 'native', 'prebuilt.json');
  if (!fs.existsSync(list)) return false;
  const platform = require(path.join(root, 'dist', 'src', 'native-platform.js'));
  const name = platform.platformName();
  if (!JSON.parse(fs.readFileSync(list, 'utf8')).includes(name)) {
    console.log(`keyfork: no prebuilt addon for ${name}: building it from source`);
    return false;
  }
  const file = platform.addonPath(root, name);
  try {
    // In a separate process: a binary that crashes on load must not take npm down with it.
    execFileSync(process.execPath, ['-e', `require(${JSON.stringify(file)})`], { stdio: 'pipe' });
    console.log(`keyfork: using the prebuilt addon ${path.relative(root, file)}`);
    return true;
  } catch (err) {
    console.log(`keyfork: the prebuilt addon for ${name} does not load here (${String(err.stderr || err.message).trim().split('\n')[0]}): building it from source`);
    return false;
  }
}

if (!prebuiltFits()) require('./build-native.js');
if (fs.existsSync(path.join(root, 'tsconfig.json'))) {
  execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build:ts'], { cwd: root, stdio: 'inherit' });
}

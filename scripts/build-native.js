#!/usr/bin/env node
// Builds the Rust addon from source into native/keyfork.<platform>.node, the file the loader
// (src/native.ts) picks. With @napi-rs/cli installed (a checkout: it is a devDependency) this is
// `napi build --platform --release`; in an installed package, which has no devDependencies, the
// same build is plain `cargo build --release --lib` and a copy under napi's platform name
// (dist/src/native-platform.js, shipped in the package, says which).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/** node_modules/.bin/napi when @napi-rs/cli is installed, else null. */
function napiCli() {
  try {
    require.resolve('@napi-rs/cli/package.json', { paths: [root] });
  } catch {
    return null;
  }
  return path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'napi.cmd' : 'napi');
}

function fail(why) {
  console.error(`keyfork: building the native addon failed: ${why}`);
  console.error('A Rust toolchain (cargo) is required to build it: https://rustup.rs');
  process.exit(1);
}

function buildWithNapi(napi) {
  // --no-js / --no-dts-cache: the loader and the typings are keyfork's own (src/native.ts).
  const args = ['build', '--platform', '--release', '--output-dir', 'native', '--no-js'];
  try {
    execFileSync(napi, args, { cwd: root, stdio: 'inherit' });
  } catch (err) {
    fail(err.message);
  }
}

function buildWithCargo() {
  let platform;
  try {
    platform = require(path.join(root, 'dist', 'src', 'native-platform.js'));
  } catch {
    // A checkout whose node_modules predates @napi-rs/cli (a devDependency).
    fail('@napi-rs/cli is not installed: run `npm ci` (or `npm install`) first');
  }
  try {
    execFileSync('cargo', ['build', '--release', '--lib'], { cwd: root, stdio: 'inherit' });
  } catch (err) {
    fail(err.code === 'ENOENT' ? 'cargo is not installed' : err.message);
  }
  const lib = path.join(root, 'target', 'release', process.platform === 'darwin' ? 'libkeyfork.dylib' : 'libkeyfork.so');
  const dest = platform.addonPath(root);
  // Copy to a temporary name and rename: a running server that has the old .node mapped keeps it intact.
  const tmp = `${dest}.${process.pid}.tmp`;
  fs.copyFileSync(lib, tmp);
  fs.renameSync(tmp, dest);
  console.log(`keyfork: native addon -> ${path.relative(root, dest)}`);
}

const napi = napiCli();
if (napi) buildWithNapi(napi);
else buildWithCargo();

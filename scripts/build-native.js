#!/usr/bin/env node
// Builds the Rust addon in release mode and copies the cdylib to native/keyfork.node,
// the path src/native.ts loads. Plain cargo: the addon has no crate dependencies.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const profile = process.env.KEYFORK_NATIVE_PROFILE === 'debug' ? 'debug' : 'release';
const args = ['build', '--lib'];
if (profile === 'release') args.push('--release');
try {
  execFileSync('cargo', args, { cwd: root, stdio: 'inherit' });
} catch (err) {
  console.error('keyfork: building the native addon failed. A Rust toolchain (cargo) is required: https://rustup.rs');
  process.exit(1);
}
const lib = path.join(root, 'target', profile, 'libkeyfork.so');
const dest = path.join(root, 'native', 'keyfork.node');
// Copy to a temporary name and rename: a running server that has the old .node mapped keeps it intact.
const tmp = `${dest}.${process.pid}.tmp`;
fs.copyFileSync(lib, tmp);
fs.renameSync(tmp, dest);
console.log(`keyfork: native addon -> ${path.relative(root, dest)} (${profile})`);

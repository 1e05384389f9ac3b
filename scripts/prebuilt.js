#!/usr/bin/env node
// `npm pack` / `npm publish` bookkeeping: `prebuilt.js write` lists the platform binaries in
// native/ (native/prebuilt.json) so that scripts/install.js can use them instead of building;
// `prebuilt.js clean` removes the list again, so that a checkout always builds from source.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const list = path.join(root, 'native', 'prebuilt.json');
const { availablePlatforms } = require(path.join(root, 'dist', 'src', 'native-platform.js'));

const action = process.argv[2];
if (action === 'write') {
  const platforms = availablePlatforms(root);
  if (platforms.length === 0) {
    console.error('keyfork: no native/keyfork.<platform>.node to ship: run npm run build first');
    process.exit(1);
  }
  fs.writeFileSync(list, `${JSON.stringify(platforms)}\n`);
  console.log(`keyfork: packing prebuilt addons for ${platforms.join(', ')}`);
} else if (action === 'clean') {
  fs.rmSync(list, { force: true });
} else {
  console.error('usage: prebuilt.js write|clean');
  process.exit(2);
}

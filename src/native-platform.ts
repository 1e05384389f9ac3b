// Which prebuilt addon fits this machine. The names are @napi-rs/cli's (`napi build
// --platform`): native/keyfork.<platform>.node, e.g. native/keyfork.linux-x64-gnu.node.
// The loader (native.ts) and the from-source install fallback (scripts/build-native.js)
// both ask here, so they agree on the file.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The package root (holds native/): dist/src -> ../.., src (vitest, tsx) -> ... */
export function packageRoot(): string {
  for (const up of ['..', '../..']) {
    const root = path.resolve(__dirname, up);
    if (fs.existsSync(path.join(root, 'package.json')) && fs.existsSync(path.join(root, 'native'))) return root;
  }
  return path.resolve(__dirname, '../..');
}

/**
 * glibc or musl, from the C library this process has mapped. (Node's process.report names the
 * glibc it runs on too, but building a report costs ~10 ms of every start-up.)
 */
function linuxLibc(): 'gnu' | 'musl' {
  try {
    return /\/ld-musl-|\/libc\.musl-/.test(fs.readFileSync('/proc/self/maps', 'latin1')) ? 'musl' : 'gnu';
  } catch {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
    return report?.header?.glibcVersionRuntime ? 'gnu' : 'musl';
  }
}

/** napi-rs's platform name of this process: linux-x64-gnu, darwin-arm64, win32-x64-msvc... */
export function platformName(platform: string = process.platform, arch: string = process.arch, libc?: 'gnu' | 'musl'): string {
  switch (platform) {
    case 'linux': {
      const abi = libc ?? linuxLibc();
      if (arch === 'arm') return `linux-arm-${abi === 'gnu' ? 'gnueabihf' : 'musleabihf'}`;
      return `linux-${arch}-${abi}`;
    }
    case 'win32':
      return `win32-${arch}-msvc`;
    case 'android':
      return arch === 'arm' ? 'android-arm-eabi' : `android-${arch}`;
    default:
      return `${platform}-${arch}`; // darwin-arm64, freebsd-x64
  }
}

export const ADDON_PREFIX = 'keyfork.';

/** native/keyfork.<platform>.node under `root`. */
export function addonPath(root: string = packageRoot(), name: string = platformName()): string {
  return path.join(root, 'native', `${ADDON_PREFIX}${name}.node`);
}

/** The platforms whose binaries sit in native/ (what a package ships, or a checkout built). */
export function availablePlatforms(root: string = packageRoot()): string[] {
  let files: string[];
  try {
    files = fs.readdirSync(path.join(root, 'native'));
  } catch {
    return [];
  }
  return files
    .filter((f) => f.startsWith(ADDON_PREFIX) && f.endsWith('.node') && f !== `${ADDON_PREFIX}node`)
    .map((f) => f.slice(ADDON_PREFIX.length, -'.node'.length))
    .sort();
}

/** Why no addon could be loaded, in words that say what to do. */
export function missingAddonMessage(file: string, name: string, available: string[], loadError: unknown): string {
  const lines = [`keyfork: no usable native addon for this platform (${name}).`];
  if (fs.existsSync(file)) lines.push(`  ${file} exists but did not load: ${String(loadError)}`);
  else lines.push(`  looked for ${file}: missing`);
  lines.push(`  prebuilt binaries here: ${available.length ? available.join(', ') : 'none'}`);
  lines.push(
    '  build it from source: install a Rust toolchain (https://rustup.rs), then run `npm rebuild keyfork`',
    '  (npm 11 skips a dependency\'s install script until you run `npm install-scripts approve keyfork`;',
    '  in a checkout of keyfork: `npm run build:native`).',
  );
  return lines.join('\n');
}

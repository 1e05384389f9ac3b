import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addonPath, availablePlatforms, missingAddonMessage, platformName } from '../../src/native-platform';

describe('the prebuilt addon for this platform', () => {
  it('is named as napi build --platform names it', () => {
    expect(platformName('linux', 'x64', 'gnu')).toBe('linux-x64-gnu');
    expect(platformName('linux', 'arm64', 'musl')).toBe('linux-arm64-musl');
    expect(platformName('linux', 'arm', 'gnu')).toBe('linux-arm-gnueabihf');
    expect(platformName('darwin', 'arm64')).toBe('darwin-arm64');
    expect(platformName('win32', 'x64')).toBe('win32-x64-msvc');
    expect(addonPath('/pkg', 'linux-x64-gnu')).toBe(path.join('/pkg', 'native', 'keyfork.linux-x64-gnu.node'));
  });

  it.runIf(process.platform === 'linux')('tells glibc from musl as Node\'s own report does', () => {
    const header = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header;
    expect(platformName()).toBe(platformName(process.platform, process.arch, header.glibcVersionRuntime ? 'gnu' : 'musl'));
  });

  it('lists what a package ships and says what is missing and how to build it', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-platform-'));
    fs.mkdirSync(path.join(root, 'native'));
    for (const f of ['keyfork.linux-x64-gnu.node', 'keyfork.darwin-arm64.node', 'keyfork.node', 'prebuilt.json']) {
      fs.writeFileSync(path.join(root, 'native', f), '');
    }
    expect(availablePlatforms(root)).toEqual(['darwin-arm64', 'linux-x64-gnu']);
    const file = addonPath(root, 'linux-arm64-gnu');
    const text = missingAddonMessage(file, 'linux-arm64-gnu', availablePlatforms(root), new Error('x'));
    expect(text).toContain('no usable native addon for this platform (linux-arm64-gnu)');
    expect(text).toContain(`looked for ${file}: missing`);
    expect(text).toContain('prebuilt binaries here: darwin-arm64, linux-x64-gnu');
    expect(text).toContain('npm rebuild keyfork');
    const broken = missingAddonMessage(addonPath(root, 'linux-x64-gnu'), 'linux-x64-gnu', [], new Error('invalid ELF header'));
    expect(broken).toContain('exists but did not load: Error: invalid ELF header');
    fs.rmSync(root, { recursive: true, force: true });
  });
});

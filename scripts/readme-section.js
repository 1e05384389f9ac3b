// Replaces the generated text between two markers of README.md, or with `--check` exits 1
// when README.md is out of date. Shared by the scripts that generate README sections.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/** `what` names the section in messages ("command list"); `script` is the generator's file name. */
function writeSection({ start, end, body, what, script }) {
  const readmePath = path.join(root, 'README.md');
  const readme = fs.readFileSync(readmePath, 'utf8');
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) {
    console.error(`README.md has no ${start} ... ${end} section`);
    process.exit(1);
  }
  const updated = `${readme.slice(0, from + start.length)}\n${body}\n${readme.slice(to)}`;
  if (process.argv.includes('--check')) {
    if (updated !== readme) {
      console.error(`README.md ${what} is out of date: run node scripts/${script}`);
      process.exit(1);
    }
    console.log(`README.md ${what} is current`);
  } else {
    fs.writeFileSync(readmePath, updated);
    console.log(`README.md ${what} updated`);
  }
}

module.exports = { root, writeSection };

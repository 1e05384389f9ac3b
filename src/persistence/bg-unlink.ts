// Redis's bg_unlink: the file's name goes now (whoever lists the directory next no longer sees
// it), and its blocks are released when the descriptor opened on it is closed in the background
// (libuv's pool), so removing a big file does not stall the server.
import * as fs from 'node:fs';

/** Removes `file` (relative to the working directory unless absolute); false if it was not there. */
export function bgUnlink(file: string): boolean {
  let fd = -1;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch {
    // not there, or not readable: plainly unlinked below
  }
  let removed = true;
  try {
    fs.unlinkSync(file);
  } catch {
    removed = false; // never created, or already gone
  }
  if (fd >= 0) fs.close(fd, () => {});
  return removed;
}

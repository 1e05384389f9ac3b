// V8's young generation (where request-sized objects are born and die) is kept at the size it
// starts with: two 1 MB semispaces. By default V8 doubles them whenever a scavenge finds many
// survivors, up to 2 x 16 MB, and they stay resident: a burst of commands that go through
// TypeScript (requests longer than 16 KB, such as an HSET of 1000 fields or a PFADD of 5000
// members) made a fresh server's RSS grow by 3-5 MB more than its data, and Node's own start-up
// by ~2 MB. Most commands are run by the addon and allocate nothing in V8. The flag is read each
// time V8 would grow the space, so setting it here, first thing, is enough.
import * as v8 from 'node:v8';

v8.setFlagsFromString('--semi-space-growth-factor=1');

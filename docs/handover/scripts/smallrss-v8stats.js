// Preloaded into the server: dumps V8 heap space statistics to $V8STATS_FILE every 250 ms.
const v8 = require('v8'); const fs = require('fs');
const file = process.env.V8STATS_FILE;
if (process.env.V8_RUNTIME_FLAGS) v8.setFlagsFromString(process.env.V8_RUNTIME_FLAGS);
if (file) {
  const t = setInterval(() => {
    const spaces = {};
    for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = { size: s.space_size, used: s.space_used_size, phys: s.physical_space_size };
    const h = v8.getHeapStatistics();
    fs.writeFileSync(file, JSON.stringify({ spaces, total_physical: h.total_physical_size, malloced: h.malloced_memory, external: h.external_memory, ext: process.memoryUsage().external, ab: process.memoryUsage().arrayBuffers }));
  }, 250);
  t.unref();
}

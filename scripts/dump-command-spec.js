#!/usr/bin/env node
// Dumps the command table of the real redis-server (7.0.15) into src/commands/spec.json.
//
// Usage: node scripts/dump-command-spec.js [--out path] [--check]
//   REDIS_SERVER=/path/to/redis-server overrides the binary found on PATH.
//   --check regenerates nothing on disk: it verifies that the existing spec.json still
//   rebuilds the live server's replies exactly (exit code 1 if not).
//
// Why data and not code: keyfork answers COMMAND, COMMAND INFO, COMMAND DOCS and COMMAND COUNT
// from this file, so its replies are the server's own, byte for byte.
//
// Representation (also described in src/commands/spec.md)
// -------------------------------------------------------
// The file is { "meta": {...}, "commands": { "<name>": Entry, ... } } with commands keyed by
// lower-case name and sorted by name. An Entry is plain JSON whose field order is the reply order:
//
//   { name, arity, flags, first_key, last_key, step, acl_categories, tips, key_specs,
//     docs: { summary, since, group, complexity, doc_flags?, deprecated_since?, replaced_by?,
//             history?, arguments? },
//     subcommands?: { "<container>|<sub>": Entry, ... } }
//
// Reply types are not stored per value; they follow from the field, and this script proves it:
// after building the JSON it regenerates the full COMMAND INFO and COMMAND DOCS replies from it, in
// RESP2 and RESP3, and compares them with what the server sent (see buildInfoReply/buildDocsReply,
// which are the reference for keyfork's encoder). The rules, as RESP3 types:
//   - JSON string -> bulk string; JSON number -> integer; JSON object -> map (keys are bulk strings),
//     except in the fields below;
//   - flags, acl_categories (info), key spec flags, doc_flags, argument flags -> set of simple strings;
//   - tips -> set of bulk strings; key_specs -> set of maps; history -> set of 2-element arrays of bulk
//     strings; arguments -> array of maps;
//   - an INFO entry is a 10-element array: name, arity, flags, first_key, last_key, step,
//     acl_categories, tips, key_specs, subcommands, where subcommands is an ARRAY of entries for a
//     container and an empty SET otherwise;
//   - a DOCS entry is a map of the docs fields in stored order, followed by "subcommands" (a map from
//     full name to docs) when the command is a container.
//   RESP2 flattens every map into an array of alternating keys and values and sends sets as arrays.
//
// Order: Redis iterates its command dictionaries (top level and each container's subcommands) in hash
// order with a per-process random seed, so COMMAND / COMMAND INFO (no args) / COMMAND DOCS and a
// container's subcommand list come out in a different order on every run. Only the order of those
// name-keyed collections is unspecified; everything else is stored in reply order.
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const DEFAULT_OUT = path.join(ROOT, 'src', 'commands', 'spec.json');

// Fields whose value is a set of simple strings (status replies in RESP2).
const SIMPLE_STRING_SET_FIELDS = new Set(['flags', 'acl_categories', 'doc_flags']);
const INFO_FIELDS = ['name', 'arity', 'flags', 'first_key', 'last_key', 'step', 'acl_categories', 'tips', 'key_specs'];

// ---------------------------------------------------------------------------------------------
// Typed reply trees: { t: 'simple'|'bulk'|'int'|'array'|'set'|'map', v }. Map v is [key, value][].

const simple = (v) => ({ t: 'simple', v });
const bulk = (v) => ({ t: 'bulk', v });
const int = (v) => ({ t: 'int', v });
const array = (v) => ({ t: 'array', v });
const set = (v) => ({ t: 'set', v });
const map = (pairs) => ({ t: 'map', v: pairs });

/** Parses one RESP2/RESP3 reply from buf at offset; returns [tree, nextOffset] or null if incomplete. */
function parseReply(buf, offset) {
  const lineEnd = buf.indexOf('\r\n', offset, 'latin1');
  if (lineEnd < 0) return null;
  const type = String.fromCharCode(buf[offset]);
  const line = buf.toString('utf8', offset + 1, lineEnd);
  let pos = lineEnd + 2;
  switch (type) {
    case '+': return [simple(line), pos];
    case '-': return [{ t: 'error', v: line }, pos];
    case ':': return [int(Number(line)), pos];
    case '_': return [{ t: 'null', v: null }, pos];
    case '$': {
      const len = Number(line);
      if (len < 0) return [{ t: 'null', v: null }, pos];
      if (buf.length < pos + len + 2) return null;
      return [bulk(buf.toString('utf8', pos, pos + len)), pos + len + 2];
    }
    case '*': case '~': case '%': {
      const count = Number(line);
      if (count < 0) return [{ t: 'null', v: null }, pos];
      const items = [];
      for (let i = 0; i < (type === '%' ? count * 2 : count); i++) {
        const r = parseReply(buf, pos);
        if (!r) return null;
        items.push(r[0]);
        pos = r[1];
      }
      if (type === '*') return [array(items), pos];
      if (type === '~') return [set(items), pos];
      const pairs = [];
      for (let i = 0; i < items.length; i += 2) pairs.push([items[i], items[i + 1]]);
      return [map(pairs), pos];
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)} at offset ${offset}`);
  }
}

/** Encodes a typed tree; RESP2 sends sets as arrays and maps as flat key/value arrays. */
function encode(tree, resp3) {
  const out = [];
  const walk = (n) => {
    switch (n.t) {
      case 'simple': out.push(`+${n.v}\r\n`); break;
      case 'int': out.push(`:${n.v}\r\n`); break;
      case 'bulk': out.push(`$${Buffer.byteLength(n.v)}\r\n${n.v}\r\n`); break;
      case 'array': out.push(`*${n.v.length}\r\n`); n.v.forEach(walk); break;
      case 'set': out.push(`${resp3 ? '~' : '*'}${n.v.length}\r\n`); n.v.forEach(walk); break;
      case 'map':
        out.push(resp3 ? `%${n.v.length}\r\n` : `*${n.v.length * 2}\r\n`);
        for (const [k, v] of n.v) { walk(k); walk(v); }
        break;
      default: throw new Error(`cannot encode reply type ${n.t}`);
    }
  };
  walk(tree);
  return Buffer.from(out.join(''), 'utf8');
}

/** RESP2 view of a RESP3 tree: what the same reply looks like to a RESP2 client. */
function toResp2(n) {
  if (n.t === 'set') return array(n.v.map(toResp2));
  if (n.t === 'array') return array(n.v.map(toResp2));
  if (n.t === 'map') return array(n.v.flatMap(([k, v]) => [toResp2(k), toResp2(v)]));
  return n;
}

// ---------------------------------------------------------------------------------------------
// Reply trees -> JSON (types dropped; the rules above put them back).

function plain(n) {
  switch (n.t) {
    case 'simple': case 'bulk': case 'int': return n.v;
    case 'array': case 'set': return n.v.map(plain);
    case 'map': {
      const obj = {};
      for (const [k, v] of n.v) {
        if (k.t !== 'bulk') throw new Error(`map key of type ${k.t}`);
        if (Object.prototype.hasOwnProperty.call(obj, k.v)) throw new Error(`duplicate map key ${k.v}`);
        obj[k.v] = plain(v);
      }
      return obj;
    }
    default: throw new Error(`unexpected reply type ${n.t} in command spec`);
  }
}

function entryFromInfo(infoTree, docsByName) {
  if (infoTree.t !== 'array' || infoTree.v.length !== 10) throw new Error('COMMAND INFO entry is not a 10-element array');
  const name = infoTree.v[0].v;
  const entry = {};
  INFO_FIELDS.forEach((field, i) => { entry[field] = plain(infoTree.v[i]); });
  const docs = docsByName.get(name);
  if (!docs) throw new Error(`COMMAND DOCS has no entry for ${name}`);
  const docsObj = plain(docs);
  const docSubcommands = docsObj.subcommands;
  delete docsObj.subcommands;
  entry.docs = docsObj;

  const subTrees = infoTree.v[9].v;
  if (subTrees.length > 0) {
    const subDocs = new Map(docs.v.find(([k]) => k.v === 'subcommands')?.[1].v.map(([k, v]) => [k.v, v]) ?? []);
    const subs = subTrees.map((t) => entryFromInfo(t, subDocs)).sort((a, b) => cmp(a.name, b.name));
    entry.subcommands = Object.fromEntries(subs.map((s) => [s.name, s]));
    const docNames = Object.keys(docSubcommands ?? {}).sort(cmp);
    if (docNames.join() !== Object.keys(entry.subcommands).join()) {
      throw new Error(`${name}: COMMAND DOCS subcommands differ from COMMAND INFO subcommands`);
    }
  } else if (docSubcommands) {
    throw new Error(`${name}: COMMAND DOCS lists subcommands that COMMAND INFO does not`);
  }
  return entry;
}

const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

// ---------------------------------------------------------------------------------------------
// JSON -> reply trees (RESP3). The reference for keyfork's own encoder.

/** Generic value: strings are bulk, numbers integers, objects maps; named fields override. */
function valueTree(field, value) {
  if (SIMPLE_STRING_SET_FIELDS.has(field)) return set(value.map(simple));
  switch (field) {
    case 'tips': return set(value.map(bulk));
    case 'key_specs': return set(value.map((ks) => objectTree(ks)));
    case 'history': return set(value.map((h) => array(h.map(bulk))));
    case 'arguments': return array(value.map((a) => objectTree(a)));
    default: break;
  }
  if (typeof value === 'string') return bulk(value);
  if (typeof value === 'number') return int(value);
  if (value && typeof value === 'object' && !Array.isArray(value)) return objectTree(value);
  throw new Error(`no reply type rule for field ${field} (${JSON.stringify(value)})`);
}

function objectTree(obj) {
  return map(Object.entries(obj).map(([k, v]) => [bulk(k), valueTree(k, v)]));
}

/** One COMMAND INFO entry (RESP3 tree). */
function buildInfoReply(entry) {
  const fields = INFO_FIELDS.map((f) => valueTree(f, entry[f]));
  const subs = entry.subcommands ? Object.values(entry.subcommands) : [];
  fields.push(subs.length ? array(subs.map(buildInfoReply)) : set([]));
  return array(fields);
}

/** One COMMAND DOCS value (RESP3 tree): the map that follows the command name. */
function buildDocsReply(entry) {
  const docs = objectTree(entry.docs);
  if (entry.subcommands) {
    docs.v.push([bulk('subcommands'), map(Object.values(entry.subcommands).map((s) => [bulk(s.name), buildDocsReply(s)]))]);
  }
  return docs;
}

// ---------------------------------------------------------------------------------------------
// Verification: rebuilt replies must equal the server's, up to the order of name-keyed collections.

/** Sorts the name-keyed collections (top level, subcommands) so two runs can be compared. */
function normalizeInfoList(tree) {
  const sortEntries = (entries) => entries.map(normalizeInfoEntry).sort((a, b) => cmp(a.v[0].v, b.v[0].v));
  const normalizeInfoEntry = (e) => {
    if (e.t !== 'array' || e.v.length !== 10 || e.v[9].t !== 'array') return e;
    return array([...e.v.slice(0, 9), array(sortEntries(e.v[9].v))]);
  };
  return { ...tree, v: sortEntries(tree.v) };
}

function normalizeDocsMap(tree) {
  const sortPairs = (pairs) => pairs
    .map(([k, v]) => [k, normalizeDocs(v)])
    .sort((a, b) => cmp(a[0].v, b[0].v));
  const normalizeDocs = (d) => ({
    ...d,
    v: d.v.map(([k, v]) => (k.v === 'subcommands' ? [k, map(sortPairs(v.v))] : [k, v])),
  });
  return map(sortPairs(tree.v));
}

function verify(spec, server) {
  const entries = Object.values(spec.commands);
  const infoTree = array(entries.map(buildInfoReply));
  const docsTree = map(entries.map((e) => [bulk(e.name), buildDocsReply(e)]));
  const problems = [];
  const check = (what, rebuilt, raw, normalize, resp3) => {
    const parsed = parseReply(raw, 0);
    if (!parsed || parsed[1] !== raw.length) { problems.push(`${what}: server reply did not parse as one reply`); return; }
    if (!encode(parsed[0], resp3).equals(raw)) { problems.push(`${what}: the parser/encoder round trip is not exact`); return; }
    const expected = encode(normalize(parsed[0]), resp3);
    const actual = encode(normalize(rebuilt), resp3);
    if (!expected.equals(actual)) {
      let i = 0;
      while (i < expected.length && expected[i] === actual[i]) i++;
      problems.push(`${what}: rebuilt reply differs at byte ${i}: server ${JSON.stringify(expected.toString('utf8', Math.max(0, i - 60), i + 60))} vs rebuilt ${JSON.stringify(actual.toString('utf8', Math.max(0, i - 60), i + 60))}`);
    }
  };
  // In RESP2 the docs map is a flat array: normalize it as a map first, then flatten.
  const resp2Docs = (t) => toResp2(normalizeDocsMap(t.t === 'map' ? t : unflattenDocs(t)));
  check('COMMAND INFO (RESP3)', infoTree, server.info3, normalizeInfoList, true);
  check('COMMAND DOCS (RESP3)', docsTree, server.docs3, normalizeDocsMap, true);
  check('COMMAND INFO (RESP2)', toResp2(infoTree), server.info2, normalizeInfoList, false);
  check('COMMAND DOCS (RESP2)', docsTree, server.docs2, resp2Docs, false);
  if (Object.keys(spec.commands).length !== spec.meta.command_count) {
    problems.push(`COMMAND COUNT is ${spec.meta.command_count} but the spec has ${Object.keys(spec.commands).length} commands`);
  }
  return problems;
}

/** Rebuilds the map structure of a RESP2 COMMAND DOCS reply (flat arrays) so it can be normalized. */
function unflattenDocs(tree) {
  const pairsOf = (flat) => {
    const pairs = [];
    for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i], flat[i + 1]]);
    return pairs;
  };
  const docsOf = (flat) => map(pairsOf(flat.v).map(([k, v]) => (k.v === 'subcommands'
    ? [k, map(pairsOf(v.v).map(([n, d]) => [n, docsOf(d)]))]
    : [k, v])));
  return map(pairsOf(tree.v).map(([n, d]) => [n, docsOf(d)]));
}

// ---------------------------------------------------------------------------------------------
// Talking to a throwaway redis-server.

function redisServerBinary() {
  if (process.env.REDIS_SERVER) return process.env.REDIS_SERVER;
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function startRedis(binary) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-spec-'));
  const proc = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', 'no', '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 15000);
    const onData = (d) => {
      output += d;
      if (output.includes('Ready to accept connections')) { clearTimeout(timer); resolve(); }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`redis-server exited (${code}):\n${output}`)); });
  });
  const version = (output.match(/Redis version=([\d.]+)/) || [])[1] ?? 'unknown';
  const stop = () => new Promise((resolve) => {
    proc.removeAllListeners('exit');
    proc.on('exit', () => { fs.rmSync(dir, { recursive: true, force: true }); resolve(); });
    proc.kill('SIGKILL');
  });
  return { port, version, stop };
}

/** Sends commands on one connection and returns each raw reply as a Buffer. */
function rawRequests(port, commands) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const replies = [];
    sock.on('error', reject);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const r = parseReply(buf, 0);
        if (!r) break;
        replies.push(buf.subarray(0, r[1]));
        buf = buf.subarray(r[1]);
      }
      if (replies.length === commands.length) { sock.end(); resolve(replies); }
    });
    const encodeCommand = (args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
    sock.write(commands.map(encodeCommand).join(''));
  });
}

async function fetchFromServer(port) {
  const [count, info2, docs2] = await rawRequests(port, [['COMMAND', 'COUNT'], ['COMMAND', 'INFO'], ['COMMAND', 'DOCS']]);
  const [, info3, docs3] = await rawRequests(port, [['HELLO', '3'], ['COMMAND', 'INFO'], ['COMMAND', 'DOCS']]);
  return { count: parseReply(count, 0)[0].v, info2, docs2, info3, docs3 };
}

function buildSpec(server, version) {
  const info = parseReply(server.info3, 0)[0];
  const docs = parseReply(server.docs3, 0)[0];
  const docsByName = new Map(docs.v.map(([k, v]) => [k.v, v]));
  const entries = info.v.map((t) => entryFromInfo(t, docsByName)).sort((a, b) => cmp(a.name, b.name));
  for (const e of entries) {
    if (e.name !== e.name.toLowerCase()) throw new Error(`command name ${e.name} is not lower case`);
  }
  return {
    meta: {
      source: `redis-server ${version}`,
      generated_by: 'scripts/dump-command-spec.js',
      command_count: server.count,
      representation: 'see src/commands/spec.md',
    },
    commands: Object.fromEntries(entries.map((e) => [e.name, e])),
  };
}

async function main() {
  const args = process.argv.slice(2);
  const checkOnly = args.includes('--check');
  const outIdx = args.indexOf('--out');
  const out = outIdx >= 0 ? path.resolve(args[outIdx + 1]) : DEFAULT_OUT;

  const binary = redisServerBinary();
  if (!binary) throw new Error('redis-server not found (install it or set REDIS_SERVER)');
  const redis = await startRedis(binary);
  try {
    const server = await fetchFromServer(redis.port);
    const spec = checkOnly ? JSON.parse(fs.readFileSync(out, 'utf8')) : buildSpec(server, redis.version);
    const problems = verify(spec, server);
    if (problems.length) throw new Error(`the spec does not rebuild the server's replies:\n  ${problems.join('\n  ')}`);
    if (checkOnly) {
      console.log(`${path.relative(ROOT, out)} rebuilds COMMAND INFO and COMMAND DOCS of redis-server ${redis.version} exactly`);
      return;
    }
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(spec, null, 1)}\n`);
    const subCount = Object.values(spec.commands).reduce((n, e) => n + Object.keys(e.subcommands ?? {}).length, 0);
    console.log(`wrote ${path.relative(ROOT, out)}: ${spec.meta.command_count} commands, ${subCount} subcommands, from redis-server ${redis.version}; verified in RESP2 and RESP3`);
  } finally {
    await redis.stop();
  }
}

module.exports = { parseReply, encode, toResp2, buildInfoReply, buildDocsReply, normalizeInfoList, normalizeDocsMap };

if (require.main === module) {
  main().catch((err) => {
    console.error(`dump-command-spec: ${err.message}`);
    process.exit(1);
  });
}

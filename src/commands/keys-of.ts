// A command's key arguments, as Redis's db.c getKeysFromCommandWithSpecs finds them (key specs,
// then the getkeys procs it falls back to): COMMAND GETKEYS and the keys a blocked client waits on.
import type { Command, CommandSpec } from './table';

/** Key flags in the order Redis prints them (addReplyFlagsForKeyArgs). */
export const KEY_FLAG_ORDER = ['RO', 'RW', 'OW', 'RM', 'access', 'update', 'insert', 'delete', 'not_key', 'incomplete', 'variable_flags'];

export interface KeyRef {
  pos: number;
  flags: string[];
}

/** Redis's getKeysUsingKeySpecs: null when a spec cannot be resolved (the caller falls back). */
function keysFromSpecs(spec: CommandSpec, argv: string[]): KeyRef[] | null {
  const argc = argv.length;
  const keys: KeyRef[] = [];
  for (const ks of spec.key_specs) {
    if (ks.flags.includes('not_key')) continue;
    let first = 0;
    const bs = ks.begin_search;
    if (bs.type === 'index') {
      first = Number(bs.spec.index);
    } else if (bs.type === 'keyword') {
      const keyword = String(bs.spec.keyword).toLowerCase();
      const startFrom = Number(bs.spec.startfrom);
      const start = startFrom > 0 ? startFrom : argc + startFrom;
      const end = startFrom > 0 ? argc - 1 : 1;
      for (let i = start; i !== end; i = start <= end ? i + 1 : i - 1) {
        if (i >= argc || i < 1) break;
        if (argv[i].toLowerCase() === keyword) {
          first = i + 1;
          break;
        }
      }
      if (!first) continue;
    } else {
      return null;
    }

    let last: number;
    let step: number;
    const fk = ks.find_keys;
    if (fk.type === 'range') {
      const lastkey = Number(fk.spec.lastkey);
      const limit = Number(fk.spec.limit);
      step = Number(fk.spec.keystep);
      if (lastkey >= 0) last = first + lastkey;
      else if (!limit) last = argc + lastkey;
      else last = first + (Math.floor((argc - first) / limit) + lastkey);
    } else if (fk.type === 'keynum') {
      const idx = first + Number(fk.spec.keynumidx);
      if (idx >= argc) return null;
      const text = argv[idx];
      if (!/^-?(0|[1-9][0-9]*)$/.test(text)) return null;
      const numkeys = Number(text);
      if (numkeys < 0) return null;
      first += Number(fk.spec.firstkey);
      last = first + numkeys - 1;
      step = Number(fk.spec.keystep);
    } else {
      return null;
    }

    if (last >= argc || last < first || first >= argc) return null;
    for (let i = first; i <= last; i += step) keys.push({ pos: i, flags: ks.flags });
    if (ks.flags.includes('incomplete')) return null;
  }
  return keys;
}

const RW_ACCESS_UPDATE = ['RW', 'access', 'update'];

/**
 * The getkeys procs Redis uses when the key specs are not enough (variable flags, "unknown"
 * or incomplete specs). Only these commands need one; for every other command a failing
 * spec means the arguments are invalid, which is what the remaining procs conclude too.
 */
const GETKEYS_PROCS: Record<string, (argv: string[]) => KeyRef[]> = {
  // setGetKeys: the GET option makes SET read the old value.
  set(argv) {
    const hasGet = argv.slice(3).some((a) => a.toLowerCase() === 'get');
    return [{ pos: 1, flags: hasGet ? RW_ACCESS_UPDATE : ['OW', 'update'] }];
  },
  // bitfieldGetKeys: read-only unless a SET/INCRBY (or anything unparsable) appears.
  bitfield(argv) {
    let readonly = true;
    for (let i = 2; i < argv.length; i++) {
      const remaining = argv.length - i - 1;
      const a = argv[i].toLowerCase();
      if (a === 'get' && remaining >= 2) i += 2;
      else if ((a === 'set' || a === 'incrby') && remaining >= 3) { readonly = false; break; }
      else if (a === 'overflow' && remaining >= 1) i += 1;
      else { readonly = false; break; }
    }
    return [{ pos: 1, flags: readonly ? ['RO', 'access'] : RW_ACCESS_UPDATE }];
  },
  // sortGetKeys: the sorted key and the last STORE destination.
  sort(argv) {
    const keys: KeyRef[] = [{ pos: 1, flags: ['RO', 'access'] }];
    let store: KeyRef | null = null;
    const skip: Record<string, number> = { limit: 2, get: 1, by: 1 };
    for (let i = 2; i < argv.length; i++) {
      const a = argv[i].toLowerCase();
      if (a in skip) i += skip[a];
      else if (a === 'store' && i + 1 < argv.length) store = { pos: i + 1, flags: ['OW', 'update'] };
    }
    if (store) keys.push(store);
    return keys;
  },
  sort_ro: () => [{ pos: 1, flags: ['RO', 'access'] }],
  // migrateGetKeys: one key, or the KEYS list when the key argument is empty.
  migrate(argv) {
    let first = 3;
    let num = 1;
    const skip: Record<string, number> = { copy: 0, replace: 0, auth: 1, auth2: 2 };
    for (let i = 6; i < argv.length; i++) {
      const a = argv[i].toLowerCase();
      if (a === 'keys') {
        if (argv[3].length > 0) return [];
        first = i + 1;
        num = argv.length - first;
        break;
      }
      if (a in skip) i += skip[a];
    }
    const keys: KeyRef[] = [];
    for (let i = 0; i < num; i++) keys.push({ pos: first + i, flags: ['RW', 'access', 'delete'] });
    return keys;
  },
};

/** doesCommandHaveKeys: a getkeys proc or at least one key spec that is a real key. */
export function hasKeys(cmd: Command): boolean {
  return cmd.name in GETKEYS_PROCS || cmd.spec.key_specs.some((ks) => !ks.flags.includes('not_key'));
}

export function getKeys(cmd: Command, argv: string[]): KeyRef[] {
  const specs = cmd.spec.key_specs;
  const hasRealKeys = specs.some((ks) => !ks.flags.includes('not_key'));
  const variableFlags = specs.some((ks) => ks.flags.includes('variable_flags'));
  if (hasRealKeys && !variableFlags) {
    const keys = keysFromSpecs(cmd.spec, argv);
    if (keys) return keys;
  }
  const proc = GETKEYS_PROCS[cmd.name];
  return proc ? proc(argv) : [];
}


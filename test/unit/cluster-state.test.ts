// ClusterState's kept counts (open slots, slot owners, assigned slots, the served version) and
// the byte-wise slot ranges, checked against the 16384-slot walks they replace after every step
// of random sequences of the state's mutations.
import { describe, expect, it } from 'vitest';
import { nodeDescription } from '../../src/cluster/nodes-conf';
import { rng } from '../helpers/random';
import { CLUSTER_SLOTS, ClusterNode, ClusterState, NODE_FAIL, NODE_MASTER, NODE_PFAIL, slotRangesOf, type ClusterEnv } from '../../src/cluster/state';

/** The bit-by-bit walk slotRanges used to be. */
function rangesByBits(bitmap: Uint8Array): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = -1;
  for (let j = 0; j <= bitmap.length * 8; j++) {
    const bit = j < bitmap.length * 8 && (bitmap[j >> 3] & (1 << (j & 7))) !== 0;
    if (bit && start === -1) start = j;
    if (!bit && start !== -1) {
      out.push([start, j - 1]);
      start = -1;
    }
  }
  return out;
}

function env(): ClusterEnv {
  let now = 1_000_000;
  return {
    countKeysInSlot: () => 0,
    delKeysInSlot: () => 0,
    slotLeftShard: () => {},
    slotsChanged: () => {},
    nodeTimeout: () => 15000,
    requireFullCoverage: () => true,
    log: () => {},
    beforeSleepNeeded: () => {},
    now: () => (now += 10),
  };
}

describe('slotRangesOf', () => {
  it('gives the bit walk ranges for edge bitmaps', () => {
    const full = new Uint8Array(CLUSTER_SLOTS / 8).fill(0xff);
    expect(slotRangesOf(full)).toEqual([[0, 16383]]);
    expect(slotRangesOf(new Uint8Array(CLUSTER_SLOTS / 8))).toEqual([]);
    const b = new Uint8Array(CLUSTER_SLOTS / 8);
    for (const s of [0, 7, 8, 15, 16, 100, 101, 102, 103, 104, 105, 106, 107, 108, 16383]) b[s >> 3] |= 1 << (s & 7);
    expect(slotRangesOf(b)).toEqual([[0, 0], [7, 8], [15, 16], [100, 108], [16383, 16383]]);
    // A run that crosses whole 0xff bytes and ends inside a byte.
    const c = new Uint8Array(CLUSTER_SLOTS / 8);
    for (let s = 5; s <= 61; s++) c[s >> 3] |= 1 << (s & 7);
    expect(slotRangesOf(c)).toEqual([[5, 61]]);
    expect(slotRangesOf(c)).toEqual(rangesByBits(c));
  });

  it('matches the bit walk on random bitmaps of runs and noise', () => {
    const r = rng(7);
    for (let round = 0; round < 300; round++) {
      const b = new Uint8Array(CLUSTER_SLOTS / 8);
      const density = r();
      for (let s = 0; s < CLUSTER_SLOTS; ) {
        const run = 1 + Math.floor(r() * (round % 3 === 0 ? 4 : 400));
        const on = r() < density;
        for (let k = 0; k < run && s < CLUSTER_SLOTS; k++, s++) if (on) b[s >> 3] |= 1 << (s & 7);
      }
      expect(slotRangesOf(b)).toEqual(rangesByBits(b));
    }
  });
});

describe('ClusterState counts', () => {
  /** What the state's counts must equal: walks over its arrays. */
  function check(state: ClusterState): void {
    const open: number[] = [];
    let assigned = 0;
    const owners = new Map<ClusterNode, number>();
    let covered = true;
    let bitsAgree = true;
    for (let j = 0; j < CLUSTER_SLOTS; j++) {
      if (state.migratingSlotsTo[j] || state.importingSlotsFrom[j]) open.push(j);
      const n = state.slots[j];
      if (!n || n.failed) covered = false;
      if (n) {
        assigned++;
        owners.set(n, (owners.get(n) ?? 0) + 1);
        bitsAgree &&= n.hasSlot(j);
      }
    }
    expect(bitsAgree).toBe(true);
    expect(state.openSlots()).toEqual(open);
    expect(state.openSlotCount).toBe(open.length);
    expect(state.assignedSlots).toBe(assigned);
    const kept = state.slotOwners();
    expect(kept.size).toBe(owners.size);
    for (const [n, count] of owners) expect(kept.get(n)).toBe(count);
    expect(state.fullyCovered()).toBe(covered);
    for (const [n, count] of owners) expect(n.numslots).toBe(count);
  }

  it('follow every mutation of a random sequence', () => {
    const r = rng(11);
    const state = new ClusterState(env());
    const others = [0, 1, 2].map(() => {
      const n = state.createNode(null, NODE_MASTER);
      state.addNode(n);
      return n;
    });
    const nodes = () => [state.myself, ...others.filter((n) => state.nodes.has(n.name))];
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
    // Slots near each other, so that adds, deletes and opens collide.
    const slot = () => (r() < 0.5 ? Math.floor(r() * 64) : Math.floor(r() * CLUSTER_SLOTS));
    for (let step = 0; step < 1500; step++) {
      const op = Math.floor(r() * 11);
      const s = slot();
      if (op <= 2) state.addSlot(pick(nodes()), s);
      else if (op === 3) state.delSlot(s);
      else if (op === 4) state.setMigrating(s, r() < 0.3 ? null : pick(nodes()));
      else if (op === 5) state.setImporting(s, r() < 0.3 ? null : pick(nodes()));
      else if (op === 6) state.closeSlot(s);
      else if (op === 7) for (let j = s; j < Math.min(CLUSTER_SLOTS, s + 3000); j++) state.addSlot(pick(nodes()), j);
      else if (op === 8) {
        const n = pick(nodes());
        n.flags ^= r() < 0.5 ? NODE_FAIL : NODE_PFAIL;
      } else if (op === 9 && r() < 0.05) state.closeAllSlots();
      else if (op === 10 && r() < 0.05) state.delNodeSlots(pick(nodes()));
      check(state);
    }
    // Every slot owned and none failing: covered; one failing owner: not.
    for (const n of nodes()) n.flags &= ~(NODE_FAIL | NODE_PFAIL);
    for (let j = 0; j < CLUSTER_SLOTS; j++) state.addSlot(pick(nodes()), j);
    check(state);
    expect(state.fullyCovered()).toBe(true);
    const owner = state.slots[5] as ClusterNode;
    owner.flags |= NODE_FAIL;
    expect(state.fullyCovered()).toBe(false);
    owner.flags &= ~NODE_FAIL;
    // A deleted node takes its slots and its open entries with it.
    const gone = others[0];
    state.setMigrating(40, gone);
    state.setImporting(41, gone);
    state.delNode(gone);
    check(state);
    expect(state.fullyCovered()).toBe(false);
  });

  it('bumps the served version for a change of myself\'s slots or of a migrating slot only', () => {
    const state = new ClusterState(env());
    const other = state.createNode(null, NODE_MASTER);
    state.addNode(other);
    let v = state.servedVersion;
    const changed = (): boolean => {
      const now = state.servedVersion;
      const c = now !== v;
      v = now;
      return c;
    };
    state.addSlot(other, 1);
    expect(changed()).toBe(false);
    state.addSlot(state.myself, 2);
    expect(changed()).toBe(true);
    state.setImporting(1, other);
    expect(changed()).toBe(false);
    state.setMigrating(2, other);
    expect(changed()).toBe(true);
    state.setMigrating(2, other);
    expect(changed()).toBe(false);
    state.closeSlot(2);
    expect(changed()).toBe(true);
    state.setMigrating(3, other);
    changed();
    state.closeAllSlots();
    expect(changed()).toBe(true);
    state.delSlot(2);
    expect(changed()).toBe(true);
  });

  it('prints myself\'s open slots in slot order', () => {
    const state = new ClusterState(env());
    const other = state.createNode('b'.repeat(40), NODE_MASTER);
    state.addNode(other);
    state.myself.name = 'a'.repeat(40);
    state.addSlot(state.myself, 9);
    state.setImporting(700, other);
    state.setMigrating(9, other);
    state.setImporting(3, other);
    const line = nodeDescription(state, state.myself);
    expect(line.endsWith(` 9 [3-<-${other.name}] [9->-${other.name}] [700-<-${other.name}]`)).toBe(true);
    state.closeAllSlots();
    expect(nodeDescription(state, state.myself).endsWith(' connected 9')).toBe(true);
  });
});

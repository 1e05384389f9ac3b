//! The ordered half of a large sorted set: an order-statistic B+tree of (score, member)
//! entries. Leaves are packed runs (see packed.rs); inner nodes keep, per child, the number of
//! entries below it (so rank lookups are O(log n), like Redis's skiplist spans) and separator
//! keys for the descent.
//!
//! Separators are bounds, not copies of live entries: every key in child `i` is below
//! `seps[i]` and every key in child `i + 1` is at or above it. Deleting an entry keeps that true,
//! so deletions never touch separators; splits add one, merges drop one.

use super::packed::{self, cmp_entry, Packed, PackedIter};
use std::cmp::Ordering;

/// A leaf splits above this many entries, or above this many bytes when it has two or more.
const LEAF_MAX_ENTRIES: usize = 64;
const LEAF_MAX_BYTES: usize = 4096;
const INNER_MAX_CHILDREN: usize = 32;

#[derive(Clone)]
pub struct Tree {
    root: Node,
    len: usize,
}

#[derive(Clone)]
enum Node {
    Leaf(Packed),
    Inner(Box<Inner>),
}

#[derive(Clone)]
struct Inner {
    children: Vec<Node>,
    /// Entries under each child.
    counts: Vec<usize>,
    /// `children.len() - 1` bounds, see the module comment.
    seps: Vec<(f64, Box<[u8]>)>,
}

/// A node split off to the right, and the separator that goes above it.
type Split = (f64, Box<[u8]>, Node);

impl Node {
    fn count(&self) -> usize {
        match self {
            Node::Leaf(p) => p.len(),
            Node::Inner(i) => i.counts.iter().sum(),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Node::Leaf(p) => p.capacity(),
            Node::Inner(i) => {
                std::mem::size_of::<Inner>()
                    + i.children.capacity() * std::mem::size_of::<Node>()
                    + i.counts.capacity() * 8
                    + i.seps.iter().map(|s| 24 + s.1.len()).sum::<usize>()
                    + i.children.iter().map(Node::heap_bytes).sum::<usize>()
            }
        }
    }
}

/// The child of `inner` whose key range holds (score, member).
fn child_for(inner: &Inner, score: f64, member: &[u8]) -> usize {
    inner.seps.partition_point(|(s, m)| cmp_entry(*s, m, score, member) != Ordering::Greater)
}

impl Default for Tree {
    fn default() -> Self { Self::new() }
}

impl Tree {
    pub fn new() -> Self { Tree { root: Node::Leaf(Packed::new()), len: 0 } }

    #[inline] pub fn len(&self) -> usize { self.len }

    pub fn heap_bytes(&self) -> usize { self.root.heap_bytes() }

    /// A tree of `entries`, which are sorted by `cmp_entry` and distinct (a loaded sorted
    /// set): leaves are filled in order and the inner levels built over them, with no descent
    /// and no leaf split per entry.
    pub fn from_sorted<'a>(entries: impl IntoIterator<Item = (f64, &'a [u8])>) -> Tree {
        // One level of nodes, and the first key of every node but the first: the separators.
        let mut level: Vec<Node> = Vec::new();
        let mut firsts: Vec<(f64, Box<[u8]>)> = Vec::new();
        let mut leaf_entries: Vec<(f64, &[u8])> = Vec::with_capacity(LEAF_MAX_ENTRIES);
        let mut leaf_bytes = 0;
        let mut len = 0;
        fn close_leaf(entries: &mut Vec<(f64, &[u8])>, bytes: usize, level: &mut Vec<Node>) {
            level.push(Node::Leaf(Packed::from_sorted(bytes, entries.iter().copied())));
            entries.clear();
        }
        for (score, member) in entries {
            let size = packed::entry_size(score, member);
            if !leaf_entries.is_empty() && (leaf_entries.len() == LEAF_MAX_ENTRIES || leaf_bytes + size > LEAF_MAX_BYTES) {
                close_leaf(&mut leaf_entries, leaf_bytes, &mut level);
                leaf_bytes = 0;
                firsts.push((score, member.into()));
            }
            leaf_entries.push((score, member));
            leaf_bytes += size;
            len += 1;
        }
        if !leaf_entries.is_empty() { close_leaf(&mut leaf_entries, leaf_bytes, &mut level); }
        while level.len() > 1 {
            // Children spread evenly over as few inner nodes as the fan-out allows.
            let groups = level.len().div_ceil(INNER_MAX_CHILDREN);
            let (base, extra) = (level.len() / groups, level.len() % groups);
            let mut nodes = level.into_iter();
            let mut seps = firsts.into_iter();
            level = Vec::with_capacity(groups);
            firsts = Vec::with_capacity(groups - 1);
            for g in 0..groups {
                let n = base + usize::from(g < extra);
                if g > 0 { firsts.push(seps.next().expect("a separator between groups")); }
                let children: Vec<Node> = nodes.by_ref().take(n).collect();
                let counts = children.iter().map(Node::count).collect();
                let inner_seps = seps.by_ref().take(n - 1).collect();
                level.push(Node::Inner(Box::new(Inner { children, counts, seps: inner_seps })));
            }
        }
        Tree { root: level.pop().unwrap_or(Node::Leaf(Packed::new())), len }
    }

    /// Inserts an entry that is not present.
    pub fn insert(&mut self, score: f64, member: &[u8]) {
        self.len += 1;
        if let Some((s, m, right)) = insert_into(&mut self.root, score, member) {
            let left = std::mem::replace(&mut self.root, Node::Leaf(Packed::new()));
            let counts = vec![left.count(), right.count()];
            self.root = Node::Inner(Box::new(Inner { children: vec![left, right], counts, seps: vec![(s, m)] }));
        }
    }

    /// Removes the entry (score, member); false when it is not there.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        if !remove_from(&mut self.root, score, member) { return false; }
        self.len -= 1;
        // Collapse a root left with one child (or none).
        loop {
            match &mut self.root {
                Node::Inner(inner) if inner.children.len() <= 1 => {
                    self.root = inner.children.pop().unwrap_or(Node::Leaf(Packed::new()));
                }
                _ => break,
            }
        }
        true
    }

    /// The entry at `rank` (0-based, ascending).
    pub fn get(&self, rank: usize) -> Option<(f64, &[u8])> {
        if rank >= self.len { return None; }
        let mut node = &self.root;
        let mut rank = rank;
        loop {
            match node {
                Node::Leaf(p) => return p.get(rank),
                Node::Inner(inner) => {
                    let mut i = 0;
                    while rank >= inner.counts[i] {
                        rank -= inner.counts[i];
                        i += 1;
                    }
                    node = &inner.children[i];
                }
            }
        }
    }

    /// How many leading entries satisfy `pred`, which must hold for a prefix of the order
    /// (true, ..., true, false, ...): a binary search over the tree.
    pub fn partition_point(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut node = &self.root;
        let mut base = 0;
        loop {
            match node {
                Node::Leaf(p) => {
                    for (s, m) in p.iter() {
                        if !pred(s, m) { return base; }
                        base += 1;
                    }
                    return base;
                }
                Node::Inner(inner) => {
                    // A true separator means everything below it is true too: those children
                    // are wholly inside the prefix.
                    let j = inner.seps.partition_point(|(s, m)| pred(*s, m));
                    base += inner.counts[..j].iter().sum::<usize>();
                    node = &inner.children[j];
                }
            }
        }
    }

    /// The rank of (score, member), if present.
    pub fn rank_of(&self, score: f64, member: &[u8]) -> Option<usize> {
        let r = self.partition_point(|s, m| cmp_entry(s, m, score, member) == Ordering::Less);
        match self.get(r) {
            Some((s, m)) if s == score && m == member => Some(r),
            _ => None,
        }
    }

    /// Entries with ranks `from..to`, ascending, or descending when `rev`.
    pub fn range(&self, from: usize, to: usize, rev: bool) -> TreeIter<'_> {
        let to = to.min(self.len);
        let mut it = TreeIter { path: Vec::new(), leaf: None, remaining: to.saturating_sub(from), rev };
        if it.remaining == 0 { return it; }
        let mut rank = if rev { to - 1 } else { from };
        let mut node = &self.root;
        loop {
            match node {
                Node::Leaf(p) => {
                    let leaf = if rev { PackedIter::between(p, 0, p.offset_of(rank + 1)) } else { PackedIter::between(p, p.offset_of(rank), p.bytes()) };
                    it.leaf = Some(leaf);
                    return it;
                }
                Node::Inner(inner) => {
                    let mut i = 0;
                    while rank >= inner.counts[i] {
                        rank -= inner.counts[i];
                        i += 1;
                    }
                    it.path.push((&**inner, i));
                    node = &inner.children[i];
                }
            }
        }
    }

    /// Calls `f(score, member)` for every entry, ascending or, when `rev`, descending. A
    /// recursive walk: unlike `range`, it keeps its path on the stack and allocates nothing.
    pub fn for_each<'a>(&'a self, rev: bool, f: &mut impl FnMut(f64, &'a [u8])) {
        fn walk<'a>(node: &'a Node, rev: bool, f: &mut impl FnMut(f64, &'a [u8])) {
            match node {
                Node::Leaf(p) if rev => p.iter().rev().for_each(|(s, m)| f(s, m)),
                Node::Leaf(p) => p.iter().for_each(|(s, m)| f(s, m)),
                Node::Inner(inner) if rev => inner.children.iter().rev().for_each(|c| walk(c, rev, f)),
                Node::Inner(inner) => inner.children.iter().for_each(|c| walk(c, rev, f)),
            }
        }
        walk(&self.root, rev, f);
    }

    /// Every entry in order.
    #[cfg(test)]
    pub fn iter(&self) -> TreeIter<'_> { self.range(0, self.len, false) }

    /// Checks the structural invariants (tests only): counts, order, separators, no empty leaf.
    #[cfg(test)]
    pub fn check(&self) {
        fn walk(node: &Node, lo: Option<(f64, &[u8])>, hi: Option<(f64, &[u8])>, is_root: bool) -> usize {
            match node {
                Node::Leaf(p) => {
                    assert!(is_root || !p.is_empty(), "empty leaf");
                    let mut prev: Option<(f64, &[u8])> = None;
                    for (s, m) in p.iter() {
                        if let Some((ps, pm)) = prev { assert_eq!(cmp_entry(ps, pm, s, m), Ordering::Less); }
                        if let Some((ls, lm)) = lo { assert_ne!(cmp_entry(s, m, ls, lm), Ordering::Less); }
                        if let Some((hs, hm)) = hi { assert_eq!(cmp_entry(s, m, hs, hm), Ordering::Less); }
                        prev = Some((s, m));
                    }
                    p.len()
                }
                Node::Inner(inner) => {
                    assert_eq!(inner.seps.len() + 1, inner.children.len());
                    assert_eq!(inner.counts.len(), inner.children.len());
                    let mut total = 0;
                    for (i, child) in inner.children.iter().enumerate() {
                        let clo = if i == 0 { lo } else { Some((inner.seps[i - 1].0, &inner.seps[i - 1].1[..])) };
                        let chi = if i == inner.seps.len() { hi } else { Some((inner.seps[i].0, &inner.seps[i].1[..])) };
                        let n = walk(child, clo, chi, false);
                        assert_eq!(n, inner.counts[i]);
                        total += n;
                    }
                    total
                }
            }
        }
        assert_eq!(walk(&self.root, None, None, true), self.len);
    }
}

fn insert_into(node: &mut Node, score: f64, member: &[u8]) -> Option<Split> {
    match node {
        Node::Leaf(p) => {
            p.insert(score, member);
            if p.len() > LEAF_MAX_ENTRIES || (p.bytes() > LEAF_MAX_BYTES && p.len() > 1) {
                let right = p.split_off(leaf_split_rank(p));
                let (s, m) = right.get(0).expect("split leaves are not empty");
                let sep = (s, m.into());
                return Some((sep.0, sep.1, Node::Leaf(right)));
            }
            None
        }
        Node::Inner(inner) => {
            let i = child_for(inner, score, member);
            inner.counts[i] += 1;
            let (s, m, right) = insert_into(&mut inner.children[i], score, member)?;
            let right_count = right.count();
            inner.counts[i] -= right_count;
            inner.counts.insert(i + 1, right_count);
            inner.children.insert(i + 1, right);
            inner.seps.insert(i, (s, m));
            if inner.children.len() <= INNER_MAX_CHILDREN { return None; }
            let mid = inner.children.len() / 2;
            let children = inner.children.split_off(mid);
            let counts = inner.counts.split_off(mid);
            let mut seps = inner.seps.split_off(mid - 1);
            let (up_s, up_m) = seps.remove(0);
            Some((up_s, up_m, Node::Inner(Box::new(Inner { children, counts, seps }))))
        }
    }
}

/// Where to split a full leaf: half of its bytes (members can be long), at least one entry
/// on each side.
fn leaf_split_rank(p: &Packed) -> usize {
    let half = p.bytes() / 2;
    let mut at = 0;
    for i in 0..p.len() {
        at = p.entry_at(at).end;
        if at >= half { return (i + 1).clamp(1, p.len() - 1); }
    }
    p.len() / 2
}

fn remove_from(node: &mut Node, score: f64, member: &[u8]) -> bool {
    match node {
        Node::Leaf(p) => {
            let mut at = 0;
            while at < p.bytes() {
                let e = p.entry_at(at);
                match cmp_entry(e.score, e.member, score, member) {
                    Ordering::Less => at = e.end,
                    Ordering::Equal => {
                        let (start, end) = (e.start, e.end);
                        p.remove_bytes(start, end, 1);
                        return true;
                    }
                    Ordering::Greater => return false,
                }
            }
            false
        }
        Node::Inner(inner) => {
            let i = child_for(inner, score, member);
            if !remove_from(&mut inner.children[i], score, member) { return false; }
            inner.counts[i] -= 1;
            rebalance(inner, i);
            true
        }
    }
}

/// After a removal under child `i`: drops it when empty, or merges it with a neighbour when
/// both fit in one node, so sparse deletions do not leave a trail of tiny nodes.
fn rebalance(inner: &mut Inner, i: usize) {
    if inner.counts[i] == 0 {
        inner.children.remove(i);
        inner.counts.remove(i);
        if !inner.seps.is_empty() { inner.seps.remove(i.saturating_sub(1)); }
        return;
    }
    let underfull = match &inner.children[i] {
        Node::Leaf(p) => p.len() <= LEAF_MAX_ENTRIES / 4,
        Node::Inner(c) => c.children.len() <= INNER_MAX_CHILDREN / 4,
    };
    if !underfull { return; }
    for left in [i, i.wrapping_sub(1)] {
        if left == usize::MAX || left + 1 >= inner.children.len() { continue; }
        if try_merge(inner, left) { return; }
    }
}

/// Merges child `left + 1` into child `left` when the result fits; true when it did.
fn try_merge(inner: &mut Inner, left: usize) -> bool {
    let fits = match (&inner.children[left], &inner.children[left + 1]) {
        (Node::Leaf(a), Node::Leaf(b)) => a.len() + b.len() <= LEAF_MAX_ENTRIES && a.bytes() + b.bytes() <= LEAF_MAX_BYTES,
        (Node::Inner(a), Node::Inner(b)) => a.children.len() + b.children.len() <= INNER_MAX_CHILDREN,
        _ => false,
    };
    if !fits { return false; }
    let right = inner.children.remove(left + 1);
    let right_count = inner.counts.remove(left + 1);
    let sep = inner.seps.remove(left);
    inner.counts[left] += right_count;
    match (&mut inner.children[left], right) {
        (Node::Leaf(a), Node::Leaf(b)) => a.append(b),
        (Node::Inner(a), Node::Inner(b)) => {
            let b = *b;
            a.seps.push(sep);
            a.seps.extend(b.seps);
            a.children.extend(b.children);
            a.counts.extend(b.counts);
        }
        _ => unreachable!("checked above: siblings are at the same depth"),
    }
    true
}

/// Walks a rank range leaf by leaf, keeping the path from the root to the current leaf.
pub struct TreeIter<'a> {
    path: Vec<(&'a Inner, usize)>,
    leaf: Option<PackedIter<'a>>,
    remaining: usize,
    rev: bool,
}

impl<'a> TreeIter<'a> {
    /// Moves to the next leaf in the walk's direction; false at the end.
    fn next_leaf(&mut self) -> bool {
        loop {
            let Some((inner, idx)) = self.path.last_mut() else { return false };
            if !self.rev && *idx + 1 < inner.children.len() {
                *idx += 1;
                break;
            }
            if self.rev && *idx > 0 {
                *idx -= 1;
                break;
            }
            self.path.pop();
        }
        let (inner, idx) = *self.path.last().expect("just advanced");
        let mut node = &inner.children[idx];
        loop {
            match node {
                Node::Leaf(p) => {
                    self.leaf = Some(p.iter());
                    return true;
                }
                Node::Inner(inner) => {
                    let i = if self.rev { inner.children.len() - 1 } else { 0 };
                    self.path.push((&**inner, i));
                    node = &inner.children[i];
                }
            }
        }
    }
}

impl<'a> Iterator for TreeIter<'a> {
    type Item = (f64, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 { return None; }
        loop {
            let leaf = self.leaf.as_mut()?;
            let item = if self.rev { leaf.next_back() } else { leaf.next() };
            if let Some(item) = item {
                self.remaining -= 1;
                return Some(item);
            }
            if !self.next_leaf() { return None; }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) { (self.remaining, Some(self.remaining)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dict::random_u64;

    /// The model: a plain sorted Vec.
    fn model_insert(model: &mut Vec<(f64, Vec<u8>)>, s: f64, m: &[u8]) {
        let at = model.partition_point(|(ms, mm)| cmp_entry(*ms, mm, s, m) == Ordering::Less);
        model.insert(at, (s, m.to_vec()));
    }

    fn member(n: u64) -> Vec<u8> {
        // Mostly short members, some long ones to exercise byte-based splits.
        if n % 17 == 0 { format!("long-{n}-{}", "x".repeat((n % 700) as usize)).into_bytes() } else { format!("m{n}").into_bytes() }
    }

    #[test]
    fn random_operations_match_a_sorted_vec() {
        for round in 0..6 {
            let mut tree = Tree::new();
            let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
            let universe = [50u64, 400, 3000][round % 3];
            for step in 0..6000 {
                let n = random_u64() % universe;
                let m = member(n);
                let present = model.iter().position(|(_, mm)| *mm == m);
                let op = random_u64() % 10;
                if op < 6 {
                    if let Some(p) = present {
                        let (s, _) = model.remove(p);
                        assert!(tree.remove(s, &m));
                    } else {
                        // Few distinct scores: plenty of ties ordered by member.
                        let s = (random_u64() % 20) as f64 - 5.0;
                        model_insert(&mut model, s, &m);
                        tree.insert(s, &m);
                    }
                } else if let Some(p) = present {
                    let (s, _) = model[p].clone();
                    assert_eq!(tree.rank_of(s, &m), Some(p));
                    assert!(!tree.remove(s + 0.5, &m));
                } else {
                    assert_eq!(tree.rank_of(1.0, &m), None);
                }
                assert_eq!(tree.len(), model.len());
                if step % 500 == 0 || step == 5999 {
                    tree.check();
                    let all: Vec<(f64, Vec<u8>)> = tree.iter().map(|(s, m)| (s, m.to_vec())).collect();
                    let mut walked: Vec<(f64, Vec<u8>)> = Vec::new();
                    tree.for_each(false, &mut |s, m| walked.push((s, m.to_vec())));
                    assert_eq!(walked, all);
                    walked.clear();
                    tree.for_each(true, &mut |s, m| walked.push((s, m.to_vec())));
                    walked.reverse();
                    assert_eq!(walked, all);
                    assert_eq!(all, model);
                    let n = model.len();
                    for _ in 0..20 {
                        let a = (random_u64() as usize) % (n + 2);
                        let b = (random_u64() as usize) % (n + 2);
                        let fwd: Vec<Vec<u8>> = tree.range(a, b, false).map(|(_, m)| m.to_vec()).collect();
                        let want: Vec<Vec<u8>> = model.iter().skip(a).take(b.min(n).saturating_sub(a)).map(|e| e.1.clone()).collect();
                        assert_eq!(fwd, want);
                        let mut rev: Vec<Vec<u8>> = tree.range(a, b, true).map(|(_, m)| m.to_vec()).collect();
                        rev.reverse();
                        assert_eq!(rev, want);
                        if a < n { assert_eq!(tree.get(a).map(|(s, m)| (s, m.to_vec())), Some(model[a].clone())); }
                        let t = (random_u64() % 24) as f64 - 6.0;
                        assert_eq!(tree.partition_point(|s, _| s < t), model.partition_point(|e| e.0 < t));
                    }
                }
            }
            // Drain it completely: the root must collapse back to an empty leaf.
            while let Some((s, m)) = model.pop() {
                assert!(tree.remove(s, &m));
                if model.len() % 97 == 0 { tree.check(); }
            }
            tree.check();
            assert_eq!(tree.len(), 0);
            assert!(matches!(tree.root, Node::Leaf(_)));
        }
    }

    #[test]
    fn from_sorted_builds_a_valid_tree_that_stays_editable() {
        for n in [0usize, 1, 63, 64, 65, 2_000, 70_000] {
            let mut model: Vec<(f64, Vec<u8>)> = (0..n as u64).map(|i| (((i * 7919) % 50) as f64, member(i))).collect();
            model.sort_by(|a, b| cmp_entry(a.0, &a.1, b.0, &b.1));
            let mut tree = Tree::from_sorted(model.iter().map(|(s, m)| (*s, &m[..])));
            tree.check();
            assert_eq!(tree.len(), n);
            assert_eq!(tree.iter().map(|(s, m)| (s, m.to_vec())).collect::<Vec<_>>(), model);
            for i in (0..n).step_by(3) {
                assert_eq!(tree.get(i).map(|(s, m)| (s, m.to_vec())), Some(model[i].clone()));
                assert_eq!(tree.rank_of(model[i].0, &model[i].1), Some(i));
            }
            for i in 0..300u64 {
                let m = format!("new{i}").into_bytes();
                let s = (i % 60) as f64 - 5.0;
                tree.insert(s, &m);
                model_insert(&mut model, s, &m);
            }
            tree.check();
            for (s, m) in model.iter().step_by(2) { assert!(tree.remove(*s, m)); }
            tree.check();
            assert_eq!(tree.len(), model.len() - model.len().div_ceil(2));
        }
    }

    #[test]
    fn ascending_and_descending_bulk_loads() {
        let mut tree = Tree::new();
        for i in 0..20_000 { tree.insert(i as f64, b"m"); }
        for i in (20_000..40_000).rev() { tree.insert(i as f64, b"m"); }
        tree.check();
        assert_eq!(tree.get(12_345), Some((12_345.0, &b"m"[..])));
        assert_eq!(tree.partition_point(|s, _| s < 30_000.5), 30_001);
        for i in (0..40_000).step_by(2) { assert!(tree.remove(i as f64, b"m")); }
        tree.check();
        assert_eq!(tree.len(), 20_000);
        assert_eq!(tree.get(0), Some((1.0, &b"m"[..])));
    }
}

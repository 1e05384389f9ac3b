//! The radix tree a stream indexes its listpack nodes with, shaped exactly as Redis's rax.c
//! shapes it: the same node splits on insertion and the same re-compression on removal, so the
//! node count (XINFO STREAM's `radix-tree-nodes`) is Redis's for the same history of inserts and
//! removals.
//!
//! A node holds a byte string and its children. A *compressed* node is a chain of bytes with a
//! single child at its end (it stands for a run of single-child nodes that hold no key); any other
//! node has one child per byte, sorted. A node "is a key" when the bytes leading to it spell a
//! stored key; its value lives in the node. Like rax.c, the tree starts with one empty head node
//! that is never freed.
//!
//! Lookups other than exact match (`floor`, `ceil`, `first`, `last`) walk down comparing the
//! prefix each subtree stands for with the target, so each costs O(depth x fanout).

use std::cmp::Ordering;

pub struct Rax<V> {
    head: Box<Node<V>>,
    len: u64,
    nodes: u64,
}

#[derive(Clone)]
struct Node<V> {
    compressed: bool,
    /// Compressed: the chain. Otherwise: the first byte of each child's edge, ascending.
    chars: Vec<u8>,
    /// Compressed: exactly one child (the node at the chain's end). Otherwise one per char.
    children: Vec<Node<V>>,
    value: Option<V>,
}

impl<V: Clone> Clone for Rax<V> {
    fn clone(&self) -> Self {
        Rax { head: self.head.clone(), len: self.len, nodes: self.nodes }
    }
}

impl<V> Node<V> {
    fn empty() -> Self {
        Node { compressed: false, chars: Vec::new(), children: Vec::new(), value: None }
    }

    #[inline]
    fn size(&self) -> usize {
        self.chars.len()
    }

    /// rax.c's "compressible": not a key and exactly one way down.
    #[inline]
    fn is_chain_link(&self) -> bool {
        self.value.is_none() && (self.compressed || self.size() == 1)
    }
}

impl<V> Default for Rax<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> Rax<V> {
    pub fn new() -> Self {
        Rax { head: Box::new(Node::empty()), len: 0, nodes: 1 }
    }

    /// Keys stored (raxSize).
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes of one tree node, for memory estimates: the node and its small edge buffer.
    pub fn node_bytes(&self) -> usize {
        std::mem::size_of::<Node<V>>() + crate::alloc::chunk_size(8)
    }

    /// Nodes in the tree, the head included (rax->numnodes).
    pub fn node_count(&self) -> u64 {
        self.nodes
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        let mut h: &Node<V> = &self.head;
        let mut s = key;
        loop {
            if s.is_empty() {
                return h.value.as_ref();
            }
            if h.compressed {
                if !s.starts_with(&h.chars) {
                    return None;
                }
                s = &s[h.chars.len()..];
                h = &h.children[0];
            } else {
                let i = h.chars.iter().position(|&c| c == s[0])?;
                s = &s[1..];
                h = &h.children[i];
            }
        }
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        let mut h: &mut Node<V> = &mut self.head;
        let mut s = key;
        loop {
            if s.is_empty() {
                return h.value.as_mut();
            }
            if h.compressed {
                if !s.starts_with(&h.chars) {
                    return None;
                }
                s = &s[h.chars.len()..];
                h = &mut h.children[0];
            } else {
                let i = h.chars.iter().position(|&c| c == s[0])?;
                s = &s[1..];
                h = &mut h.children[i];
            }
        }
    }

    /// Stores `value` under `key`; the previous value when the key was present (the tree's
    /// shape does not change then).
    pub fn insert(&mut self, key: &[u8], value: V) -> Option<V> {
        let mut added = 0u64;
        let old = insert_at(&mut self.head, key, value, &mut added);
        self.nodes += added;
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Removes `key`, re-compressing the tree as raxRemove does.
    pub fn remove(&mut self, key: &[u8]) -> Option<V> {
        // The walk: child indexes from the head to the node holding the key.
        let mut path: Vec<usize> = Vec::with_capacity(key.len());
        {
            let mut h: &Node<V> = &self.head;
            let mut s = key;
            while !s.is_empty() {
                let i = if h.compressed {
                    if !s.starts_with(&h.chars) {
                        return None;
                    }
                    s = &s[h.chars.len()..];
                    0
                } else {
                    let i = h.chars.iter().position(|&c| c == s[0])?;
                    s = &s[1..];
                    i
                };
                path.push(i);
                h = &h.children[i];
            }
            h.value.as_ref()?;
        }
        let node = self.node_mut(&path);
        let old = node.value.take();
        let was_leaf = node.size() == 0;
        let single_child = node.size() == 1;
        self.len -= 1;

        // `depth`: how many entries of `path` lead to the node compression may start from.
        let mut compress_from: Option<usize> = None;
        if was_leaf {
            // Free the childless node and every ancestor left as a bare link, up to the first
            // one that is a key or branches (a compressed ancestor is a link and goes too).
            let mut depth = path.len();
            while depth > 0 {
                self.nodes -= 1;
                depth -= 1;
                let parent = self.node_mut(&path[..depth]);
                if parent.value.is_some() || (!parent.compressed && parent.size() != 1) {
                    break;
                }
            }
            if depth < path.len() {
                // Unlink the freed subtree from the node that stays (raxRemoveChild).
                let edge = path[depth];
                let parent = self.node_mut(&path[..depth]);
                if parent.compressed {
                    parent.compressed = false;
                    parent.chars.clear();
                    parent.children.clear();
                } else {
                    parent.chars.remove(edge);
                    parent.children.remove(edge);
                }
                if parent.size() == 1 && parent.value.is_none() {
                    compress_from = Some(depth);
                }
            }
        } else if single_child {
            compress_from = Some(path.len());
        }

        if let Some(mut depth) = compress_from {
            // Climb while the parent is a chain link too: compression starts at the topmost.
            while depth > 0 && self.node_mut(&path[..depth - 1]).is_chain_link() {
                depth -= 1;
            }
            self.compress_chain(&path[..depth]);
        }
        old
    }

    /// Merges the chain of links starting at the node at `path` (and the links under it) into
    /// one compressed node, when there are at least two.
    fn compress_chain(&mut self, path: &[usize]) {
        let start = self.node_mut(path);
        let mut links = 1;
        {
            let mut h: &Node<V> = start;
            while h.size() != 0 {
                h = h.children.last().expect("a node with chars has children");
                if !h.is_chain_link() {
                    break;
                }
                links += 1;
            }
        }
        if links < 2 {
            return;
        }
        let mut chars = Vec::new();
        let mut taken = std::mem::replace(start, Node::empty());
        let mut merged = 0;
        let tail = loop {
            chars.extend_from_slice(&taken.chars);
            merged += 1;
            let next = taken.children.pop().expect("a chain link has a child");
            if merged == links {
                break next;
            }
            taken = next;
        };
        *start = Node { compressed: true, chars, children: vec![tail], value: None };
        self.nodes = self.nodes + 1 - links as u64;
    }

    fn node_mut(&mut self, path: &[usize]) -> &mut Node<V> {
        let mut h: &mut Node<V> = &mut self.head;
        for &i in path {
            h = &mut h.children[i];
        }
        h
    }

    /// The smallest key and its value.
    pub fn first(&self) -> Option<(Vec<u8>, &V)> {
        let mut key = Vec::new();
        leftmost(&self.head, &mut key).map(|v| (key, v))
    }

    /// The greatest key and its value.
    pub fn last(&self) -> Option<(Vec<u8>, &V)> {
        let mut key = Vec::new();
        rightmost(&self.head, &mut key).map(|v| (key, v))
    }

    /// The greatest key, with its value for update.
    pub fn last_mut(&mut self) -> Option<(Vec<u8>, &mut V)> {
        let mut key = Vec::new();
        let mut h: &mut Node<V> = &mut self.head;
        while !h.children.is_empty() {
            let n = h.children.len();
            key.extend_from_slice(edge(h, n - 1));
            h = &mut h.children[n - 1];
        }
        h.value.as_mut().map(|v| (key, v))
    }

    /// The greatest key <= `target`.
    pub fn floor(&self, target: &[u8]) -> Option<(Vec<u8>, &V)> {
        let mut key = Vec::new();
        floor_in(&self.head, &mut key, target).map(|v| (key, v))
    }

    /// The smallest key >= `target`.
    pub fn ceil(&self, target: &[u8]) -> Option<(Vec<u8>, &V)> {
        let mut key = Vec::new();
        ceil_in(&self.head, &mut key, target).map(|v| (key, v))
    }

    /// Every key and value in ascending key order.
    pub fn for_each(&self, mut f: impl FnMut(&[u8], &V)) {
        let mut key = Vec::new();
        walk(&self.head, &mut key, &mut f);
    }
}

/// raxGenericInsert from node `h` with `s` the part of the key still to place.
fn insert_at<V>(h: &mut Node<V>, s: &[u8], value: V, added: &mut u64) -> Option<V> {
    if s.is_empty() {
        return h.value.replace(value);
    }
    if h.size() == 0 {
        // A childless node: the rest of the key becomes a compressed chain (or one edge).
        *added += 1;
        let mut child = Node::empty();
        child.value = Some(value);
        h.compressed = s.len() > 1;
        h.chars = s.to_vec();
        h.children = vec![child];
        return None;
    }
    if h.compressed {
        let j = h.chars.iter().zip(s).take_while(|(a, b)| a == b).count();
        if j == h.size() {
            return insert_at(&mut h.children[0], &s[j..], value, added);
        }
        if j == s.len() {
            // The key ends inside the chain (rax.c's ALGO 2): the chain splits there and the
            // lower half's node is the key.
            let next = h.children.pop().expect("a compressed node has a child");
            let rest = h.chars.split_off(j);
            let postfix = Node { compressed: rest.len() > 1, chars: rest, children: vec![next], value: Some(value) };
            h.compressed = j > 1;
            h.children = vec![postfix];
            *added += 1;
            return None;
        }
        // A mismatch inside the chain (ALGO 1): a split node branches at the differing byte.
        let next = h.children.pop().expect("a compressed node has a child");
        let postfix_chars = h.chars[j + 1..].to_vec();
        let postfix = if postfix_chars.is_empty() {
            next
        } else {
            *added += 1;
            Node { compressed: postfix_chars.len() > 1, chars: postfix_chars, children: vec![next], value: None }
        };
        let mut split = Node { compressed: false, chars: vec![h.chars[j]], children: vec![postfix], value: None };
        if j == 0 {
            split.value = h.value.take();
            *h = split;
            return add_edge(h, s, value, added);
        }
        h.chars.truncate(j);
        h.compressed = j > 1;
        h.children = vec![split];
        *added += 1;
        return add_edge(&mut h.children[0], &s[j..], value, added);
    }
    match h.chars.iter().position(|&c| c == s[0]) {
        Some(i) => insert_at(&mut h.children[i], &s[1..], value, added),
        None => add_edge(h, s, value, added),
    }
}

/// raxAddChild: a new edge for `s[0]` at its sorted place, then the rest below it.
fn add_edge<V>(h: &mut Node<V>, s: &[u8], value: V, added: &mut u64) -> Option<V> {
    let at = h.chars.partition_point(|&c| c < s[0]);
    h.chars.insert(at, s[0]);
    h.children.insert(at, Node::empty());
    *added += 1;
    insert_at(&mut h.children[at], &s[1..], value, added)
}

/// How the keys under a subtree whose prefix is `prefix` compare with `target`.
enum Relation {
    /// The prefix is a prefix of the target: the subtree may hold keys on both sides.
    OnPath,
    AllLess,
    AllGreater,
}

fn relation(prefix: &[u8], target: &[u8]) -> Relation {
    let n = prefix.len().min(target.len());
    match prefix[..n].cmp(&target[..n]) {
        Ordering::Less => Relation::AllLess,
        Ordering::Greater => Relation::AllGreater,
        // Longer than the target with the target as its prefix: every key is greater.
        Ordering::Equal if prefix.len() > target.len() => Relation::AllGreater,
        Ordering::Equal => Relation::OnPath,
    }
}

/// The edge bytes of child `i` (the chain of a compressed node, one byte otherwise).
fn edge<V>(h: &Node<V>, i: usize) -> &[u8] {
    if h.compressed { &h.chars } else { &h.chars[i..i + 1] }
}

fn leftmost<'a, V>(h: &'a Node<V>, key: &mut Vec<u8>) -> Option<&'a V> {
    if let Some(v) = &h.value {
        return Some(v);
    }
    let child = h.children.first()?;
    key.extend_from_slice(edge(h, 0));
    leftmost(child, key)
}

fn rightmost<'a, V>(h: &'a Node<V>, key: &mut Vec<u8>) -> Option<&'a V> {
    match h.children.len() {
        0 => h.value.as_ref(),
        n => {
            key.extend_from_slice(edge(h, n - 1));
            rightmost(&h.children[n - 1], key)
        }
    }
}

/// `key` holds the bytes leading to `h`, a prefix of `target`.
fn floor_in<'a, V>(h: &'a Node<V>, key: &mut Vec<u8>, target: &[u8]) -> Option<&'a V> {
    let base = key.len();
    for i in (0..h.children.len()).rev() {
        key.truncate(base);
        key.extend_from_slice(edge(h, i));
        match relation(key, target) {
            Relation::AllGreater => continue,
            Relation::AllLess => return rightmost(&h.children[i], key),
            Relation::OnPath => {
                if let Some(v) = floor_in(&h.children[i], key, target) {
                    return Some(v);
                }
            }
        }
    }
    key.truncate(base);
    h.value.as_ref()
}

fn ceil_in<'a, V>(h: &'a Node<V>, key: &mut Vec<u8>, target: &[u8]) -> Option<&'a V> {
    let base = key.len();
    if key.len() == target.len() {
        if let Some(v) = &h.value {
            return Some(v);
        }
    }
    for i in 0..h.children.len() {
        key.truncate(base);
        key.extend_from_slice(edge(h, i));
        match relation(key, target) {
            Relation::AllLess => continue,
            Relation::AllGreater => return leftmost(&h.children[i], key),
            Relation::OnPath => {
                if let Some(v) = ceil_in(&h.children[i], key, target) {
                    return Some(v);
                }
            }
        }
    }
    key.truncate(base);
    None
}

fn walk<V>(h: &Node<V>, key: &mut Vec<u8>, f: &mut impl FnMut(&[u8], &V)) {
    if let Some(v) = &h.value {
        f(key, v);
    }
    let base = key.len();
    for i in 0..h.children.len() {
        key.truncate(base);
        key.extend_from_slice(edge(h, i));
        walk(&h.children[i], key, f);
    }
    key.truncate(base);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn key(ms: u64, seq: u64) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&ms.to_be_bytes());
        k[8..].copy_from_slice(&seq.to_be_bytes());
        k
    }

    /// Node counts observed on redis-server 7.0.15 (stream-node-max-entries 2, entries
    /// 1-1..10-1, then XTRIM MAXLEN 3): 1 to 5 keys -> 2, 6, 8, 10, 12 nodes; after removing
    /// the first three keys, 2 keys -> 6 nodes.
    #[test]
    fn node_counts_match_redis() {
        let mut r = Rax::new();
        let mut counts = Vec::new();
        for ms in [1, 3, 5, 7, 9] {
            r.insert(&key(ms, 1), 0);
            counts.push(r.node_count());
        }
        assert_eq!(counts, [2, 6, 8, 10, 12]);
        for ms in [1, 3, 5] {
            assert!(r.remove(&key(ms, 1)).is_some());
        }
        assert_eq!((r.len(), r.node_count()), (2, 6));
    }

    #[test]
    fn behaves_as_an_ordered_map() {
        let mut r = Rax::new();
        let mut m = BTreeMap::new();
        let mut x = 0x9e3779b97f4a7c15u64;
        for step in 0..20000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let k = key(x % 50, (x >> 20) % 4).to_vec();
            if x % 3 == 0 {
                assert_eq!(r.remove(&k), m.remove(&k), "step {step}");
            } else {
                assert_eq!(r.insert(&k, step), m.insert(k.clone(), step));
            }
            assert_eq!(r.len(), m.len() as u64);
            let t = key((x >> 8) % 52, (x >> 30) % 5);
            let want_floor = m.range(..=t.to_vec()).next_back().map(|(k, v)| (k.clone(), *v));
            assert_eq!(r.floor(&t).map(|(k, v)| (k, *v)), want_floor);
            let want_ceil = m.range(t.to_vec()..).next().map(|(k, v)| (k.clone(), *v));
            assert_eq!(r.ceil(&t).map(|(k, v)| (k, *v)), want_ceil);
            assert_eq!(r.get(&t), m.get(&t.to_vec()));
        }
        let mut all = Vec::new();
        r.for_each(|k, v| all.push((k.to_vec(), *v)));
        assert_eq!(all, m.iter().map(|(k, v)| (k.clone(), *v)).collect::<Vec<_>>());
        assert_eq!(r.first().map(|(k, _)| k), m.keys().next().cloned());
        assert_eq!(r.last().map(|(k, _)| k), m.keys().next_back().cloned());
        // Emptied, the tree is back to its lone head.
        for k in m.keys() {
            r.remove(k);
        }
        assert_eq!((r.len(), r.node_count()), (0, 1));
    }

    #[test]
    fn variable_length_keys() {
        let mut r = Rax::new();
        for k in ["FOO", "FOOBAR", "FOOTER", "F", "BAR", ""] {
            r.insert(k.as_bytes(), k.len());
        }
        assert_eq!(r.get(b"FOO"), Some(&3));
        assert_eq!(r.get(b"FO"), None);
        assert_eq!(r.floor(b"FOOC").map(|(k, _)| k), Some(b"FOOBAR".to_vec()));
        assert_eq!(r.ceil(b"FOOC").map(|(k, _)| k), Some(b"FOOTER".to_vec()));
        for k in ["FOOTER", "FOO", "", "F", "BAR"] {
            r.remove(k.as_bytes());
        }
        assert_eq!(r.get(b"FOOBAR"), Some(&6));
        // One compressed chain from the head to the remaining key's node.
        assert_eq!(r.node_count(), 2);
    }
}

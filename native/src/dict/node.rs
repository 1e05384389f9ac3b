//! The table's nodes, and all of the table's `unsafe`. A node is one heap allocation holding,
//! in order: the link to the next node of its bucket's chain, the key's length (its top bit
//! says whether the extra slot is there), a 32-bit tag its user may keep per entry (the
//! keyspace's access clock), the value, the optional 64-bit extra slot (the keyspace's expire
//! time) and the key's bytes. Buckets and links are thin 8-byte pointers. With a 24-byte value
//! the fixed part is 40 bytes, so a key of up to 16 bytes keeps a whole keyspace entry in one
//! 64-byte malloc chunk (Redis spends a dictEntry, an sds key and a robj: 56 with jemalloc),
//! and only keys with a TTL pay 8 bytes for it.
//!
//! A node may also carry a tail: bytes stored right after the key's, whose length is then the
//! tag (a tailed node has no tag of its own). A hashtable hash keeps each value there, so a
//! field, its value and its link share one allocation (Redis's dictEntry + two sds).

use std::alloc::{self, Layout};
use std::marker::PhantomData;
use std::mem::{align_of, size_of, ManuallyDrop};
use std::ptr::{self, NonNull};

/// Set in `Header::key_len` when the node carries the extra slot.
const HAS_EXTRA: u32 = 1 << 31;
/// Set in `Header::key_len` when a non-empty tail follows the key (its length is the tag).
const HAS_TAIL: u32 = 1 << 30;
/// The longest key a node holds (Redis's keys and fields stop at 512 MB by default).
pub const MAX_KEY: usize = (HAS_TAIL - 1) as usize;

#[repr(C)]
struct Header<V> {
    next: Option<Node<V>>,
    key_len: u32,
    tag: u32,
    val: V,
}

/// An owned node, a thin pointer to its allocation as a Box is (the key's bytes and the extra
/// slot trail the header, so the allocation is larger than a `Header<V>`). Transparent over its
/// NonNull, so an empty link (`None`) is a null pointer: `empty_buckets` relies on it.
#[repr(transparent)]
pub struct Node<V> {
    ptr: NonNull<Header<V>>,
    owns: PhantomData<Header<V>>,
}

// SAFETY: a Node owns its allocation exclusively, as a Box<Header<V>> would, and gives access
// to it only through &self / &mut self: sending or sharing a node is sending or sharing its V
// (and its chain, which holds more of the same).
unsafe impl<V: Send> Send for Node<V> {}
// SAFETY: as for Send: &Node<V> only ever hands out shared access.
unsafe impl<V: Sync> Sync for Node<V> {}

/// The offset of the extra slot: right after the header, whose size is a multiple of its
/// alignment (at least a pointer's); written and read unaligned all the same.
#[inline(always)]
const fn extra_at<V>() -> usize { size_of::<Header<V>>() }

#[inline(always)]
const fn key_at<V>(extra: bool) -> usize { size_of::<Header<V>>() + if extra { 8 } else { 0 } }

/// The bytes a node of a key this long asks malloc for.
#[inline(always)]
pub const fn node_bytes<V>(key_len: usize, extra: bool) -> usize { key_at::<V>(extra) + key_len }

#[inline]
fn layout<V>(key_len: usize, extra: bool) -> Layout {
    Layout::from_size_align(node_bytes::<V>(key_len, extra), align_of::<Header<V>>()).expect("node layout")
}

/// A bucket array of `n` empty buckets, zeroed by the allocator (calloc: a large array's pages
/// stay the kernel's zero pages until a bucket is written), so a rehash's new table costs no
/// pass over its memory when it is made, as Redis's zcalloc'd tables.
pub(super) fn empty_buckets<V>(n: usize) -> Vec<Option<Node<V>>> {
    try_empty_buckets(n).unwrap_or_else(|| match Layout::array::<Option<Node<V>>>(n) {
        Ok(layout) => alloc::handle_alloc_error(layout),
        Err(_) => panic!("bucket array of {n} buckets"),
    })
}

/// `empty_buckets`, or None when the allocator refuses the array (a size asked for by a client,
/// as DEBUG POPULATE's count, must not abort the server).
pub(super) fn try_empty_buckets<V>(n: usize) -> Option<Vec<Option<Node<V>>>> {
    if n == 0 { return Some(Vec::new()); }
    let layout = Layout::array::<Option<Node<V>>>(n).ok()?;
    // SAFETY: the layout is not zero-sized (n > 0 pointers). An all-zero Option<Node<V>> is
    // None: Node is repr(transparent) over a NonNull, whose Option has the null niche (the
    // representation std::option guarantees). The Vec owns an allocation of the global
    // allocator made with the layout of `n` elements, the layout it frees with.
    unsafe {
        let raw = alloc::alloc_zeroed(layout);
        if raw.is_null() { return None; }
        Some(Vec::from_raw_parts(raw.cast::<Option<Node<V>>>(), n, n))
    }
}

/// Frees a bucket array whose buckets are all empty (a rehash's old table) without a pass over
/// it: dropping the Vec would read every bucket to find nothing to drop.
pub(super) fn free_empty_buckets<V>(mut buckets: Vec<Option<Node<V>>>) {
    debug_assert!(buckets.iter().all(Option::is_none), "only an emptied table is freed this way");
    // SAFETY: 0 is within the capacity, and the elements given up are None, which own nothing:
    // forgetting them leaks nothing.
    unsafe { buckets.set_len(0) };
}

impl<V> Node<V> {
    /// A node holding `key` and `val`, linked to nothing.
    pub fn new(key: &[u8], val: V, tag: u32, extra: Option<u64>) -> Node<V> {
        Self::with_tail(key, &[], val, tag, extra)
    }

    /// A node holding `key`, `tail` after it and `val`, linked to nothing. With a non-empty
    /// tail the tag is the tail's length (`tag` is ignored).
    pub fn new_tailed(key: &[u8], tail: &[u8], val: V, extra: Option<u64>) -> Node<V> {
        Self::with_tail(key, tail, val, 0, extra)
    }

    fn with_tail(key: &[u8], tail: &[u8], val: V, tag: u32, extra: Option<u64>) -> Node<V> {
        assert!(key.len() <= MAX_KEY, "key of {} bytes is too long for a table node", key.len());
        assert!(tail.len() <= u32::MAX as usize, "tail of {} bytes is too long for a table node", tail.len());
        let node = Self::allocate(key.len(), tail.len(), Header { next: None, key_len: 0, tag, val }, extra);
        let at = key_at::<V>(extra.is_some());
        // SAFETY: the allocation has key.len() + tail.len() bytes at the key offset (allocate
        // sized it so), and `key` and `tail` are other objects, so the ranges do not overlap.
        unsafe {
            ptr::copy_nonoverlapping(key.as_ptr(), node.base().add(at), key.len());
            ptr::copy_nonoverlapping(tail.as_ptr(), node.base().add(at + key.len()), tail.len());
        }
        node
    }

    /// A fresh allocation for a key of `key_len` bytes and a tail of `tail_len`, its header
    /// and extra slot written (`header.key_len` is set here, and `header.tag` to the tail's
    /// length when there is one); the key's and tail's bytes are the caller's to write.
    fn allocate(key_len: usize, tail_len: usize, mut header: Header<V>, extra: Option<u64>) -> Node<V> {
        let layout = layout::<V>(key_len + tail_len, extra.is_some());
        header.key_len = key_len as u32 | if extra.is_some() { HAS_EXTRA } else { 0 } | if tail_len > 0 { HAS_TAIL } else { 0 };
        if tail_len > 0 { header.tag = tail_len as u32; }
        // SAFETY: the layout is never zero-sized (the header holds a pointer and the length).
        let raw = unsafe { alloc::alloc(layout) };
        let Some(base) = NonNull::new(raw) else { alloc::handle_alloc_error(layout) };
        let ptr = base.cast::<Header<V>>();
        // SAFETY: `raw` is a fresh allocation of `layout`: it starts with room for a Header<V>
        // at its alignment, and holds 8 bytes at extra_at when there is an extra slot (the
        // unaligned write needs no alignment); nothing else refers to it yet.
        unsafe {
            ptr.as_ptr().write(header);
            if let Some(x) = extra { raw.add(extra_at::<V>()).cast::<u64>().write_unaligned(x) }
        }
        Node { ptr, owns: PhantomData }
    }

    #[inline(always)]
    fn base(&self) -> *mut u8 { self.ptr.as_ptr().cast::<u8>() }

    #[inline(always)]
    fn header(&self) -> &Header<V> {
        // SAFETY: ptr points to this node's live, initialized header (new/allocate wrote it;
        // it lives until drop or into_parts consume the node), borrowed as `self` is.
        unsafe { self.ptr.as_ref() }
    }

    #[inline(always)]
    fn header_mut(&mut self) -> &mut Header<V> {
        // SAFETY: as in header(), and &mut self makes the access exclusive.
        unsafe { self.ptr.as_mut() }
    }

    #[inline(always)]
    fn key_len(&self) -> usize { (self.header().key_len & (HAS_TAIL - 1)) as usize }

    #[inline(always)]
    fn has_extra(&self) -> bool { self.header().key_len & HAS_EXTRA != 0 }

    #[inline(always)]
    fn tail_len(&self) -> usize { if self.header().key_len & HAS_TAIL != 0 { self.header().tag as usize } else { 0 } }

    /// The key's and the tail's bytes: what the allocation holds after the header and extra slot.
    #[inline(always)]
    fn stored_len(&self) -> usize { self.key_len() + self.tail_len() }

    #[inline]
    pub fn key(&self) -> &[u8] {
        // SAFETY: the node's allocation holds key_len initialized bytes at key_at (written by
        // new, or copied along by with_extra; never changed after), outside the header, alive
        // while self is.
        unsafe { std::slice::from_raw_parts(self.base().add(key_at::<V>(self.has_extra())), self.key_len()) }
    }

    /// The bytes stored after the key (empty for a node made without a tail).
    #[inline]
    pub fn tail(&self) -> &[u8] {
        // SAFETY: a node's allocation holds tail_len initialized bytes right after the key's
        // (written by with_tail or overwrite_tail, copied along by with_extra), alive while
        // self is.
        unsafe { std::slice::from_raw_parts(self.base().add(key_at::<V>(self.has_extra()) + self.key_len()), self.tail_len()) }
    }

    /// Replaces the tail with `tail` of the same length, in place (false, and nothing done,
    /// when the lengths differ: the node must be remade, see `Dict::set_tail`).
    pub fn overwrite_tail(&mut self, tail: &[u8]) -> bool {
        if tail.len() != self.tail_len() { return false; }
        let at = key_at::<V>(self.has_extra()) + self.key_len();
        // SAFETY: the allocation holds tail.len() bytes at `at` (see tail()), &mut self makes
        // the write exclusive, and `tail` is another object (it cannot borrow this node mutably).
        unsafe { ptr::copy_nonoverlapping(tail.as_ptr(), self.base().add(at), tail.len()) };
        true
    }

    #[inline(always)]
    pub fn val(&self) -> &V { &self.header().val }

    #[inline(always)]
    pub fn val_mut(&mut self) -> &mut V { &mut self.header_mut().val }

    /// The key and a mutable value at once (they are disjoint parts of the allocation).
    #[inline]
    pub fn key_and_val_mut(&mut self) -> (&[u8], &mut V) {
        let (at, len) = (key_at::<V>(self.has_extra()), self.key_len());
        let base = self.base();
        // SAFETY: the key bytes (see key()) lie after the header and extra slot, so they do not
        // overlap `val`, which is reached through a raw place (no reference to the whole header
        // is made); both borrows last as long as the exclusive borrow of self.
        unsafe {
            let val = &mut *ptr::addr_of_mut!((*self.ptr.as_ptr()).val);
            (std::slice::from_raw_parts(base.add(at), len), val)
        }
    }

    #[inline(always)]
    pub fn tag(&self) -> u32 { self.header().tag }

    /// The tag, to change it (not on a tailed node, whose tag is its tail's length).
    #[inline(always)]
    pub fn tag_mut(&mut self) -> &mut u32 {
        assert!(self.tail_len() == 0, "a tailed node's tag is its tail's length");
        &mut self.header_mut().tag
    }

    /// The extra slot's value, when the node has one.
    #[inline]
    pub fn extra(&self) -> Option<u64> {
        if !self.has_extra() { return None; }
        // SAFETY: a node flagged HAS_EXTRA was allocated with 8 initialized bytes at extra_at.
        Some(unsafe { self.base().add(extra_at::<V>()).cast::<u64>().read_unaligned() })
    }

    /// Overwrites the extra slot of a node that has one (false, and nothing done, otherwise).
    pub fn overwrite_extra(&mut self, value: u64) -> bool {
        if !self.has_extra() { return false; }
        // SAFETY: as in extra(), and &mut self makes the write exclusive.
        unsafe { self.base().add(extra_at::<V>()).cast::<u64>().write_unaligned(value) };
        true
    }

    /// Hints the cache to load the node's header and the start of its key (a walk calls it for
    /// nodes it reaches soon; their length is not read, that would wait for the load).
    #[inline(always)]
    pub fn prefetch(&self) { crate::prefetch::prefetch_ptr(self.base(), key_at::<V>(false) + 16) }

    /// The bytes this node asked malloc for.
    pub fn alloc_bytes(&self) -> usize { node_bytes::<V>(self.stored_len(), self.has_extra()) }

    #[inline(always)]
    pub(super) fn next(&self) -> Option<&Node<V>> { self.header().next.as_ref() }

    #[inline(always)]
    pub(super) fn next_mut(&mut self) -> &mut Option<Node<V>> { &mut self.header_mut().next }

    /// The same node with the extra slot set to `extra` (or removed): moved into a new
    /// allocation of the right size when the slot comes or goes, kept in place otherwise. The
    /// chain link moves along.
    pub(super) fn with_extra(mut self, extra: Option<u64>) -> Node<V> {
        match extra {
            Some(x) if self.overwrite_extra(x) => return self,
            None if !self.has_extra() => return self,
            _ => {}
        }
        let (key_len, tail_len) = (self.key_len(), self.tail_len());
        let old_key_at = key_at::<V>(self.has_extra());
        let old_layout = layout::<V>(key_len + tail_len, self.has_extra());
        let old = ManuallyDrop::new(self);
        // SAFETY: the header is initialized; it is moved out exactly once here and `old` is
        // never dropped (ManuallyDrop), so its value and link now belong to `header` alone.
        let header = unsafe { ptr::read(old.ptr.as_ptr()) };
        let node = Self::allocate(key_len, tail_len, header, extra);
        // SAFETY: the old allocation still holds the key's and tail's bytes at old_key_at and
        // the new one has room for them at its own key offset; two allocations never overlap.
        // The old allocation is then freed with the layout it was made with, its header already
        // moved out (nothing is dropped twice).
        unsafe {
            ptr::copy_nonoverlapping(old.base().add(old_key_at), node.base().add(key_at::<V>(extra.is_some())), key_len + tail_len);
            alloc::dealloc(old.base(), old_layout);
        }
        node
    }

    /// A copy of this node (key, tail, value, tag and extra slot), linked to nothing.
    pub fn duplicate(&self) -> Node<V>
    where
        V: Clone,
    {
        Self::with_tail(self.key(), self.tail(), self.val().clone(), self.tag(), self.extra())
    }

    /// Takes the node apart (its allocation freed): its value, tag and extra slot. A node
    /// taken out of a table is unlinked first, so its link is empty.
    pub fn into_parts(self) -> (V, u32, Option<u64>) {
        let extra = self.extra();
        let layout = layout::<V>(self.stored_len(), self.has_extra());
        let me = ManuallyDrop::new(self);
        // SAFETY: the header is moved out exactly once and the node is never dropped
        // (ManuallyDrop); the allocation is freed with the layout it was made with.
        let header = unsafe {
            let h = ptr::read(me.ptr.as_ptr());
            alloc::dealloc(me.base(), layout);
            h
        };
        debug_assert!(header.next.is_none(), "a node taken apart is unlinked");
        (header.val, header.tag, extra)
    }
}

impl<V> Drop for Node<V> {
    fn drop(&mut self) {
        let layout = layout::<V>(self.stored_len(), self.has_extra());
        // SAFETY: ptr is this node's allocation, made with `layout` (key and tail lengths and
        // the extra flag never change after allocation); its initialized header (value and link) is
        // dropped once, then the memory is freed; the node is not used again.
        unsafe {
            ptr::drop_in_place(self.ptr.as_ptr());
            alloc::dealloc(self.base(), layout);
        }
    }
}

impl<V> std::ops::Deref for Node<V> {
    type Target = V;
    #[inline(always)]
    fn deref(&self) -> &V { self.val() }
}

impl<V> std::ops::DerefMut for Node<V> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut V { self.val_mut() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn keyspace_sized_node_fits_a_64_byte_chunk() {
        assert_eq!(size_of::<Option<Node<[u8; 24]>>>(), 8);
        assert_eq!(node_bytes::<[u64; 3]>(16, false), 56);
        assert_eq!(crate::alloc::chunk_size(node_bytes::<[u64; 3]>(16, false)), 64);
        assert_eq!(node_bytes::<[u64; 3]>(8, true), 56);
    }

    #[test]
    fn keys_of_every_length_and_byte_survive_extra_changes() {
        for len in [0usize, 1, 7, 8, 15, 16, 17, 22, 23, 64, 300, 70_000] {
            let key: Vec<u8> = (0..len).map(|i| (i * 131 % 256) as u8).collect();
            let mut n = Node::new(&key, vec![len as u8; 3], 7, None);
            assert_eq!(n.key(), &key[..]);
            assert_eq!(n.extra(), None);
            assert!(!n.overwrite_extra(1));
            n = n.with_extra(Some(u64::MAX - 3));
            assert_eq!((n.key(), n.extra(), n.tag(), &n.val()[..]), (&key[..], Some(u64::MAX - 3), 7, &[len as u8; 3][..]));
            *n.tag_mut() = 9;
            n = n.with_extra(Some(5));
            assert_eq!(n.extra(), Some(5));
            n.val_mut().push(1);
            n = n.with_extra(None);
            assert_eq!((n.key(), n.extra(), n.tag(), n.val().len()), (&key[..], None, 9, 4));
            let (k, v) = n.key_and_val_mut();
            assert_eq!(k, &key[..]);
            v.clear();
            let (val, tag, extra) = n.into_parts();
            assert_eq!((val.len(), tag, extra), (0, 9, None));
        }
    }

    #[test]
    fn tails_of_every_length_survive_extra_changes_and_copies() {
        for (klen, tlen) in [(0usize, 1usize), (1, 0), (4, 9), (16, 16), (17, 300), (300, 70_000)] {
            let key: Vec<u8> = (0..klen).map(|i| (i * 7 % 251) as u8).collect();
            let tail: Vec<u8> = (0..tlen).map(|i| (i * 13 % 253) as u8).collect();
            let mut n = Node::new_tailed(&key, &tail, vec![1u8], None);
            assert_eq!((n.key(), n.tail(), n.extra()), (&key[..], &tail[..], None));
            assert_eq!(n.alloc_bytes(), node_bytes::<Vec<u8>>(klen + tlen, false));
            n = n.with_extra(Some(42));
            assert_eq!((n.key(), n.tail(), n.extra()), (&key[..], &tail[..], Some(42)));
            let other: Vec<u8> = tail.iter().map(|b| b ^ 0xff).collect();
            assert!(n.overwrite_tail(&other));
            assert!(!n.overwrite_tail(&vec![0; tlen + 1]));
            let copy = n.duplicate();
            n = n.with_extra(None);
            for m in [&n, &copy] {
                assert_eq!((m.key(), m.tail(), &m.val()[..]), (&key[..], &other[..], &[1u8][..]));
            }
            assert_eq!(copy.extra(), Some(42));
        }
        // Without a tail the tag is the caller's; a copy keeps it.
        let n = Node::new(b"k", 5u8, 77, None);
        assert_eq!((n.tail(), n.tag(), n.duplicate().tag()), (&b""[..], 77, 77));
    }

    #[test]
    #[should_panic(expected = "tail's length")]
    fn a_tailed_nodes_tag_is_not_the_callers() {
        let mut n = Node::new_tailed(b"f", b"value", (), None);
        *n.tag_mut() = 1;
    }

    #[test]
    fn values_are_dropped_once() {
        let shared = Rc::new(());
        {
            let mut a = Node::new(b"a", Rc::clone(&shared), 0, Some(1));
            let b = Node::new(b"bb", Rc::clone(&shared), 0, None);
            *a.next_mut() = Some(b.with_extra(Some(2)));
            a = a.with_extra(None);
            assert_eq!(Rc::strong_count(&shared), 3);
            assert_eq!(a.next().map(|n| (n.key(), n.extra())), Some((&b"bb"[..], Some(2))));
        }
        assert_eq!(Rc::strong_count(&shared), 1);
        let (v, _, _) = Node::new(b"c", Rc::clone(&shared), 0, None).into_parts();
        assert_eq!(Rc::strong_count(&shared), 2);
        drop(v);
        assert_eq!(Rc::strong_count(&shared), 1);
    }
}

use super::*;

const LIMITS: NodeLimits = NodeLimits { max_bytes: 4096, max_entries: 100 };

fn id(ms: u64, seq: u64) -> StreamId {
    StreamId::new(ms, seq)
}

fn filled(n: u64, limits: NodeLimits) -> Stream {
    let mut s = Stream::new();
    for i in 1..=n {
        let v = i.to_string();
        s.append(id(i, 0), &[b"f", v.as_bytes()], limits).unwrap();
    }
    s
}

fn ids(it: Range<'_>) -> Vec<u64> {
    it.map(|e| e.id.ms).collect()
}

#[test]
fn nodes_split_by_entries_and_bytes() {
    let s = filled(250, LIMITS);
    assert_eq!(s.length, 250);
    assert_eq!(s.node_keys(), 3); // 100 + 100 + 50
    let small = filled(250, NodeLimits { max_bytes: 100, max_entries: 0 });
    assert!(small.node_keys() > 20);
    assert_eq!(ids(small.range(StreamId::ZERO, StreamId::MAX, false)), (1..=250).collect::<Vec<_>>());
    assert_eq!(ids(small.range(id(40, 0), id(60, 0), true)), (40..=60).rev().collect::<Vec<_>>());
}

#[test]
fn ranges_across_nodes_both_ways() {
    let s = filled(500, NodeLimits { max_bytes: 4096, max_entries: 7 });
    for (a, b) in [(1, 500), (3, 3), (6, 9), (7, 8), (0, 0), (499, 600), (200, 100)] {
        let want: Vec<u64> = (a.max(1)..=b.min(500)).collect();
        assert_eq!(ids(s.range(id(a, 0), id(b, 0), false)), want, "{a}..{b}");
        let back: Vec<u64> = want.iter().rev().copied().collect();
        assert_eq!(ids(s.range(id(a, 0), id(b, 0), true)), back, "{a}..{b} rev");
    }
}

#[test]
fn delete_and_trim_keep_counts() {
    let mut s = filled(300, LIMITS);
    assert!(s.delete(id(1, 0)));
    assert!(!s.delete(id(1, 0)));
    assert!(!s.delete(id(1000, 0)));
    assert_eq!(s.length, 299);
    // Deleting a whole node's entries removes the node.
    for i in 101..=200 {
        assert!(s.delete(id(i, 0)));
    }
    assert_eq!(s.node_keys(), 2);
    // Exact MAXLEN flags entries inside the head node (its deleted 1-0 is skipped).
    assert_eq!(s.trim(Trim::MaxLen(150), false, 0), 49);
    assert_eq!((s.length, s.first_id), (150, id(51, 0)));
    // Approximate MINID removes whole nodes only: the head node (last ID 100) goes.
    assert_eq!(s.trim(Trim::MinId(id(250, 0)), true, 0), 50);
    assert_eq!(s.length, 100);
    assert_eq!(s.trim(Trim::MinId(id(250, 0)), false, 0), 49);
    assert_eq!(ids(s.range(StreamId::ZERO, StreamId::MAX, false)).first(), Some(&250));
    assert_eq!(s.last_valid_id(), id(300, 0));
    assert_eq!(s.edge_id(true, false), id(201, 0)); // tombstones count when not skipped
    assert_eq!(s.trim(Trim::MaxLen(0), false, 0), 51);
    assert_eq!((s.length, s.node_keys(), s.first_id), (0, 0, StreamId::ZERO));
}

#[test]
fn approximate_trim_with_limit() {
    let mut s = filled(1000, LIMITS);
    assert_eq!(s.trim(Trim::MaxLen(10), true, 250), 200);
    assert_eq!(s.length, 800);
    assert_eq!(s.trim(Trim::MaxLen(10), true, 0), 700);
    assert_eq!(s.length, 100);
}

#[test]
fn lag_bookkeeping() {
    let mut s = filled(10, LIMITS);
    let g = Group::new(StreamId::ZERO, group::INVALID_ENTRIES_READ);
    assert_eq!(s.group_lag(&g), Some(10)); // before the first entry: nothing read yet
    let g = Group::new(id(10, 0), group::INVALID_ENTRIES_READ);
    assert_eq!(s.group_lag(&g), Some(0));
    s.max_deleted_entry_id = id(5, 0);
    assert!(s.range_has_tombstones(id(3, 0), StreamId::MAX));
    assert!(!s.range_has_tombstones(id(6, 0), StreamId::MAX));
    assert_eq!(s.estimate_distance(id(0, 5)), None);
}


//! Streams from an RDB file or DUMP payload: RDB_TYPE_STREAM_LISTPACKS (15, Redis 5-6.2),
//! _2 (19, Redis 7.0) and _3 (21, Redis 7.2, whose consumers also carry an active time that
//! 7.0's model has no place for).
//!
//! Every node is validated deeply (listpack, entry layout, IDs ordered within and across
//! nodes, counts), the stream's length must be the sum of its nodes' live entries and its last
//! ID at least its greatest entry, group and consumer names must be unique and every pending
//! entry must belong to one consumer: a corrupt value is an error, never a stream that would
//! break later commands.

use std::sync::Arc;

use crate::rdb::{rdb_type, RdbError, RdbResult, Reader};
use crate::types::stream::{group, node, Group, Nack, Stream, StreamId};

use super::load::TYPE_STREAM_LISTPACKS_3;

fn bad(msg: &'static str) -> RdbError {
    RdbError::new(msg)
}

fn read_id(r: &mut Reader<'_>) -> RdbResult<StreamId> {
    Ok(StreamId::new(r.read_len()?, r.read_len()?))
}

/// The value of type `t` (15, 19 or 21), its type byte already read.
pub fn read_stream(r: &mut Reader<'_>, t: u8) -> RdbResult<Stream> {
    let mut s = Stream::new();
    // Each node needs at least its 16-byte key and a 7-byte listpack.
    let nodes = r.read_count(24)?;
    let mut live_total = 0u64;
    let mut greatest: Option<StreamId> = None;
    for _ in 0..nodes {
        let key = r.read_string()?;
        let master = StreamId::from_key(&key).ok_or(bad("Stream node key entry is not the size of a stream ID"))?;
        if greatest.is_some_and(|g| master <= g) {
            return Err(bad("Stream node keys are not in ascending order"));
        }
        let lp = r.read_string()?.into_owned();
        let live = node::validate(&lp, master).map_err(RdbError::new)?;
        let loaded = node::Node::from_listpack(lp);
        let last = loaded.entries(master).next_back().map(|e| e.id);
        greatest = last.or(Some(master));
        live_total += live as u64;
        if !s.push_loaded_node(master, loaded) {
            return Err(bad("Listpack re-added with existing key"));
        }
    }
    s.length = r.read_len()?;
    s.last_id = read_id(r)?;
    if t >= rdb_type::STREAM_LISTPACKS_2 {
        s.first_id = read_id(r)?;
        s.max_deleted_entry_id = read_id(r)?;
        s.entries_added = r.read_len()?;
    } else {
        // Redis 7.0 migrates older streams this way: every entry counted as added, no
        // tombstone known, the first ID from the nodes.
        s.max_deleted_entry_id = StreamId::ZERO;
        s.entries_added = s.length;
        s.first_id = s.edge_id(true, true);
    }
    if s.length != live_total {
        return Err(bad("Stream length inconsistent with rax entries"));
    }
    if greatest.is_some_and(|g| g > s.last_id) {
        return Err(bad("Stream last ID is smaller than its entries"));
    }

    let groups = r.read_count(3)?;
    for _ in 0..groups {
        let name: Box<[u8]> = r.read_string()?.into_owned().into();
        let last_id = read_id(r)?;
        let entries_read = if t >= rdb_type::STREAM_LISTPACKS_2 {
            r.read_len()? as i64
        } else {
            s.estimate_distance(last_id).map_or(group::INVALID_ENTRIES_READ, |d| d as i64)
        };
        let mut g = Group::new(last_id, entries_read);
        let pel = r.read_count(17)?;
        for _ in 0..pel {
            let id = StreamId::from_key(r.read_bytes(16)?).ok_or(bad("Stream PEL entry is not an ID"))?;
            let delivery_time = r.read_ms_time()?;
            let delivery_count = r.read_len()?;
            let nack = Nack { delivery_time, delivery_count, consumer: None };
            if g.pel.insert(id, nack).is_some() {
                return Err(bad("Duplicated global PEL entry loading stream consumer group"));
            }
        }
        let consumers = r.read_count(10)?;
        for _ in 0..consumers {
            let cname: Arc<[u8]> = Arc::from(&*r.read_string()?);
            let seen_time = r.read_ms_time()?;
            if t == TYPE_STREAM_LISTPACKS_3 {
                r.read_ms_time()?; // active time (Redis 7.2)
            }
            if !g.create_consumer(&cname, seen_time) {
                return Err(bad("Duplicate stream consumer detected."));
            }
            let owned = r.read_count(16)?;
            for _ in 0..owned {
                let id = StreamId::from_key(r.read_bytes(16)?).ok_or(bad("Stream PEL entry is not an ID"))?;
                let nack = g.pel.get_mut(&id).ok_or(bad("Consumer entry not found in group global PEL"))?;
                if nack.consumer.is_some() {
                    return Err(bad("Duplicated consumer PEL entry  loading a stream consumer group"));
                }
                nack.consumer = Some(cname.clone());
                g.consumers.get_mut(&cname).expect("just created").pel.insert(id);
            }
        }
        if g.pel.values().any(|n| n.consumer.is_none()) {
            return Err(bad("Stream CG PEL entry without consumer"));
        }
        if s.groups.insert(name, g).is_some() {
            return Err(bad("Duplicated consumer group name"));
        }
    }
    Ok(s)
}

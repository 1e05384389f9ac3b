//! Cluster mode's calls into the keyspace (src/cluster/ is the other side): the slot index of
//! db 0 (keyspace/slots.rs) and what CLUSTER COUNTKEYSINSLOT / GETKEYSINSLOT and slot
//! ownership changes ask of it.

use crate::keyspace::slots::{key_hash_slot, CLUSTER_SLOTS};
use crate::napi::{Env, JsArgs, JsValue};
use crate::with_state;

fn slot_arg(env: &Env, a: &JsArgs, i: usize) -> Result<usize, String> {
    let slot = a.i64(env, i)?;
    if !(0..CLUSTER_SLOTS as i64).contains(&slot) { return Err(format!("slot {slot} out of range")); }
    Ok(slot as usize)
}

/// clusterSlotIndex(on): cluster mode keeps db 0's slot index (built from the keys there now).
fn slot_index(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let on = a.bool(env, 0)?;
    with_state(|st| st.ks.set_slot_index(on));
    Ok(env.undefined())
}

/// countKeysInSlot(slot).
fn count_keys_in_slot(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let slot = slot_arg(env, a, 0)?;
    let n = with_state(|st| st.ks.slots.as_ref().map_or(0, |ix| ix.count(slot)));
    Ok(env.double(n as f64))
}

/// getKeysInSlot(slot, max): up to `max` key names of `slot`, as Buffers.
fn get_keys_in_slot(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let slot = slot_arg(env, a, 0)?;
    let max = a.f64(env, 1)?.max(0.0) as usize;
    let keys = with_state(|st| st.ks.slots.as_ref().map_or_else(Vec::new, |ix| ix.keys(&st.ks.dbs[0].dict, slot, max)));
    let values: Vec<JsValue> = keys.iter().map(|k| env.buffer(k)).collect();
    env.array(&values)
}

/// delKeysInSlot(slot): deletes every key of `slot`, propagated as DELs; returns how many.
fn del_keys_in_slot(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let slot = slot_arg(env, a, 0)?;
    let n = with_state(|st| st.ks.del_keys_in_slot(slot));
    Ok(env.double(n as f64))
}

/// slotsWithKeys(): the slots db 0 has keys in, ascending.
fn slots_with_keys(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let slots: Vec<JsValue> = with_state(|st| match &st.ks.slots {
        Some(ix) => (0..CLUSTER_SLOTS).filter(|&s| ix.count(s) > 0).map(|s| env.int(s as i64)).collect(),
        None => Vec::new(),
    });
    env.array(&slots)
}

/// clusterKeyExists(key): db 0 holds `key` (getNodeByQuery's lookup: no stats, no LRU touch,
/// an expired key deleted as a lookup deletes it).
fn key_exists(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let key = a.bytes(env, 0)?;
    let found = with_state(|st| st.ks.peek(0, key, crate::now_ms()).is_some());
    Ok(env.boolean(found))
}

/// keyHashSlot(key: Buffer).
fn key_slot(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let key = a.bytes(env, 0)?;
    Ok(env.int(key_hash_slot(key) as i64))
}

/// lockFile(fd): flock(LOCK_EX|LOCK_NB) on an open descriptor; 0, or the errno of the failure.
fn lock_file(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let fd = a.i64(env, 0)? as i32;
    let errno = match crate::os::lock_exclusive_now(fd) {
        Ok(()) => 0,
        Err(e) => e.raw_os_error().unwrap_or(-1),
    };
    Ok(env.int(errno as i64))
}

/// clusterServedSlots(bitmap | null): the slots the fast paths may serve (cluster mode), or
/// none (cluster mode off: no check at all).
fn served_slots(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let served = if env.is_nullish(a.value(0)?) { None } else { Some(Box::from(a.bytes(env, 0)?)) };
    if served.as_ref().is_some_and(|b: &Box<[u8]>| b.len() != CLUSTER_SLOTS / 8) { return Err("the bitmap holds 2048 bytes".into()); }
    with_state(|st| st.settings.cluster_served = served);
    Ok(env.undefined())
}

pub fn register(env: &Env, exports: JsValue) -> Result<(), String> {
    env.export(exports, "clusterSlotIndex", slot_index)?;
    env.export(exports, "countKeysInSlot", count_keys_in_slot)?;
    env.export(exports, "getKeysInSlot", get_keys_in_slot)?;
    env.export(exports, "delKeysInSlot", del_keys_in_slot)?;
    env.export(exports, "slotsWithKeys", slots_with_keys)?;
    env.export(exports, "keyHashSlot", key_slot)?;
    env.export(exports, "lockFile", lock_file)?;
    env.export(exports, "clusterKeyExists", key_exists)?;
    env.export(exports, "clusterServedSlots", served_slots)?;
    Ok(())
}

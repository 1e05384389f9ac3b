//! What consumer-group reads and claims propagate (Redis 7.0's streamPropagateXCLAIM,
//! streamPropagateGroupID, streamPropagateConsumerCreation): XREADGROUP, XCLAIM and XAUTOCLAIM
//! never propagate themselves (preventCommandPropagation); each pending entry they create,
//! hand over or drop becomes an idempotent
//! `XCLAIM key group consumer 0 id TIME <ms> RETRYCOUNT <n> FORCE JUSTID LASTID <group last id>`,
//! a last ID moved without such an XCLAIM becomes `XGROUP SETID key group id ENTRIESREAD n`, and
//! a consumer XREADGROUP NOACK creates becomes `XGROUP CREATECONSUMER key group consumer`.
//!
//! The commands are collected while the handler holds the stream (borrowed from the keyspace)
//! and added to the execution unit by `emit`; nothing is collected while no consumer of
//! propagation is subscribed.

use crate::command::Ctx;
use crate::types::stream::{Group, StreamId};

pub(super) struct GroupPropagation<'a> {
    on: bool,
    /// The stream's key (XREADGROUP moves it from stream to stream).
    pub key: &'a [u8],
    group: &'a [u8],
    commands: Vec<Vec<Vec<u8>>>,
}

impl<'a> GroupPropagation<'a> {
    /// For the group `group` of the stream at `key`; the command's own propagation is prevented.
    pub fn new(ctx: &mut Ctx, key: &'a [u8], group: &'a [u8]) -> Self {
        ctx.prevent();
        GroupPropagation { on: ctx.ks.prop.on, key, group, commands: Vec::new() }
    }

    /// streamPropagateXCLAIM: pending entry `id` as it stands in `group` (call it before the
    /// entry is dropped from the PEL when the propagated XCLAIM is to drop it on the replica).
    pub fn claim(&mut self, group: &Group, id: StreamId) {
        if !self.on { return; }
        let Some(nack) = group.pel.get(&id) else { return };
        let consumer = nack.consumer.as_deref().unwrap_or_default();
        self.commands.push(vec![
            b"XCLAIM".to_vec(), self.key.to_vec(), self.group.to_vec(), consumer.to_vec(), b"0".to_vec(), id.text(),
            b"TIME".to_vec(), nack.delivery_time.to_string().into_bytes(),
            b"RETRYCOUNT".to_vec(), nack.delivery_count.to_string().into_bytes(),
            b"FORCE".to_vec(), b"JUSTID".to_vec(), b"LASTID".to_vec(), group.last_id.text(),
        ]);
    }

    /// streamPropagateGroupID: the group's last delivered ID and entries-read counter.
    pub fn set_id(&mut self, group: &Group) {
        if !self.on { return; }
        self.commands.push(vec![
            b"XGROUP".to_vec(), b"SETID".to_vec(), self.key.to_vec(), self.group.to_vec(), group.last_id.text(),
            b"ENTRIESREAD".to_vec(), group.entries_read.to_string().into_bytes(),
        ]);
    }

    /// streamPropagateConsumerCreation.
    pub fn consumer_created(&mut self, consumer: &[u8]) {
        if !self.on { return; }
        self.commands.push(vec![b"XGROUP".to_vec(), b"CREATECONSUMER".to_vec(), self.key.to_vec(), self.group.to_vec(), consumer.to_vec()]);
    }

    /// Adds the collected commands to the running execution unit (alsoPropagate).
    pub fn emit(self, ctx: &mut Ctx) {
        for argv in &self.commands {
            let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
            ctx.also(&refs);
        }
    }
}

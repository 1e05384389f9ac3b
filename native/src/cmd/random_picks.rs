//! Replies of random picks with repetition: HRANDFIELD, SRANDMEMBER and ZRANDMEMBER with a
//! negative count, which may ask for any number of picks.
//!
//! Redis builds such a reply pick by pick and stops as soon as its client is marked to be
//! closed for going over its output buffer limit (CLIENT_CLOSE_ASAP), so with a limit set a
//! huge count ends in a closed connection, not in a huge reply. keyfork stops where the reply
//! alone passes the hard limit of the client's class (the caller's exec flags say which):
//! TypeScript then closes the client before anything is written, so the rest is never built.
//! A script's call has no client behind it and is never cut short, as in Redis. Without a
//! limit, a reply estimated above `MAX_RANDOM_REPLY_BYTES` is refused with `ERR value is out of
//! range` instead of built.

use crate::command::{CmdError, Ctx};
use crate::napi::{Env, JsArgs, JsValue};
use crate::reply::Reply;
use std::sync::atomic::{AtomicU64, Ordering};

/// The largest reply of picks with repetition built when no output buffer limit would stop it.
pub const MAX_RANDOM_REPLY_BYTES: u64 = 1 << 30;

/// client-output-buffer-limit's hard limits of the normal and pubsub classes (0: none), kept by
/// TypeScript's ClientLimits.
static NORMAL_HARD: AtomicU64 = AtomicU64::new(0);
static PUBSUB_HARD: AtomicU64 = AtomicU64::new(0);

/// Reply.closing_bytes for a call with exec `flags`.
pub fn closing_bytes(flags: i64) -> u64 {
    if flags & crate::FLAG_OBUF_NORMAL != 0 {
        NORMAL_HARD.load(Ordering::Relaxed)
    } else if flags & crate::FLAG_OBUF_PUBSUB != 0 {
        PUBSUB_HARD.load(Ordering::Relaxed)
    } else {
        0
    }
}

/// getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX), as HRANDFIELD and SRANDMEMBER parse counts.
pub fn parse_random_count(ctx: &Ctx, arg: usize) -> Result<i64, CmdError> {
    let n = ctx.args.i64(arg)?;
    if n == i64::MIN {
        return Err(CmdError::Msg("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"));
    }
    Ok(n)
}

/// A reply of picks with repetition under construction.
pub struct RepeatedPicks {
    start: usize,
    closing_bytes: usize,
}

impl RepeatedPicks {
    /// Starts a reply of `count` picks whose payload averages `avg_payload` bytes; refused when
    /// it is estimated over MAX_RANDOM_REPLY_BYTES and no output limit would cut it short first.
    pub fn begin(reply: &Reply, count: u64, avg_payload: u64) -> Result<RepeatedPicks, CmdError> {
        let closing = reply.closing_bytes;
        let capped = closing != 0 && closing <= MAX_RANDOM_REPLY_BYTES;
        if !capped && count.saturating_mul(avg_payload + 16) > MAX_RANDOM_REPLY_BYTES {
            return Err(CmdError::Msg("ERR value is out of range"));
        }
        Ok(RepeatedPicks { start: reply.buf.len(), closing_bytes: if capped { closing as usize } else { 0 } })
    }

    /// The reply is over every hard limit: its client is being closed, stop picking.
    #[inline]
    pub fn client_closing(&self, reply: &Reply) -> bool {
        self.closing_bytes != 0 && reply.buf.len() - self.start > self.closing_bytes
    }
}

/// setOutputHardLimits(normal, pubsub): the classes' hard limits in bytes, 0 for none.
fn set_output_hard_limits(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    NORMAL_HARD.store(a.i64(env, 0)?.max(0) as u64, Ordering::Relaxed);
    PUBSUB_HARD.store(a.i64(env, 1)?.max(0) as u64, Ordering::Relaxed);
    Ok(env.undefined())
}

pub fn register(env: &Env, exports: JsValue) -> Result<(), String> {
    env.export(exports, "setOutputHardLimits", set_output_hard_limits)
}

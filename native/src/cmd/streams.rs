//! Stream commands (Redis 7.0's t_stream.c), by theme: `add` (XADD, XTRIM, XDEL, XLEN, XSETID),
//! `range` (XRANGE, XREVRANGE), `read` (XREAD, XREADGROUP, blocking included), `groups` (XGROUP,
//! XACK, XPENDING, XCLAIM, XAUTOCLAIM), `info` (XINFO). This file holds what they share: ID
//! arguments, the entry reply, the stream and group lookups and their errors.

use crate::command::{CmdError, CommandRow, WRONGTYPE};
use crate::keyspace::Entry;
use crate::rdb::Entry as Element;
use crate::reply::Reply;
use crate::settings::Settings;
use crate::types::stream::id::{parse_id, IdForm};
use crate::types::stream::node::EntryRef;
use crate::types::stream::{NodeLimits, Stream, StreamId};
use crate::types::Value;

mod add;
mod groups;
mod info;
mod propagate;
mod range;
mod read;

pub const COMMANDS: &[CommandRow] = &[
    ("xadd", add::xadd),
    ("xtrim", add::xtrim),
    ("xdel", add::xdel),
    ("xlen", add::xlen),
    ("xsetid", add::xsetid),
    ("xrange", range::xrange),
    ("xrevrange", range::xrevrange),
    ("xread", read::xread),
    ("xreadgroup", read::xreadgroup),
    ("xgroup|create", groups::xgroup_create),
    ("xgroup|setid", groups::xgroup_setid),
    ("xgroup|destroy", groups::xgroup_destroy),
    ("xgroup|createconsumer", groups::xgroup_createconsumer),
    ("xgroup|delconsumer", groups::xgroup_delconsumer),
    ("xack", groups::xack),
    ("xpending", groups::xpending),
    ("xclaim", groups::xclaim),
    ("xautoclaim", groups::xautoclaim),
    ("xinfo|stream", info::xinfo_stream),
    ("xinfo|groups", info::xinfo_groups),
    ("xinfo|consumers", info::xinfo_consumers),
];

const INVALID_ID: CmdError = CmdError::Msg("ERR Invalid stream ID specified as stream command argument");

fn stream_of(e: &mut Entry) -> Result<&mut Stream, CmdError> {
    match &mut e.value {
        Value::Stream(s) => Ok(s),
        _ => Err(WRONGTYPE),
    }
}

fn limits(settings: &Settings) -> NodeLimits {
    NodeLimits { max_bytes: settings.stream_node_max_bytes.max(0) as usize, max_entries: settings.stream_node_max_entries }
}

/// streamParseStrictIDOrReply: `-` and `+` refused; a missing sequence is `missing_seq`.
fn strict_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, CmdError> {
    parse_id(arg, missing_seq, IdForm::Strict).map(|p| p.id).ok_or(INVALID_ID)
}

/// streamParseIntervalIDOrReply: `(` makes the bound exclusive (then strict), else lenient.
fn interval_id(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), CmdError> {
    if arg.len() > 1 && arg[0] == b'(' {
        return Ok((strict_id(&arg[1..], missing_seq)?, true));
    }
    parse_id(arg, missing_seq, IdForm::Lenient).map(|p| (p.id, false)).ok_or(INVALID_ID)
}

/// A range's start: `-`, an ID (missing sequence 0), or `(ID` for the ID after it.
fn range_start(arg: &[u8]) -> Result<StreamId, CmdError> {
    match interval_id(arg, 0)? {
        (id, false) => Ok(id),
        (id, true) => id.next().ok_or(CmdError::Msg("ERR invalid start ID for the interval")),
    }
}

/// A range's end: `+`, an ID (missing sequence the greatest), or `(ID` for the ID before it.
fn range_end(arg: &[u8]) -> Result<StreamId, CmdError> {
    match interval_id(arg, u64::MAX)? {
        (id, false) => Ok(id),
        (id, true) => id.prev().ok_or(CmdError::Msg("ERR invalid end ID for the interval")),
    }
}

fn reply_id(reply: &mut Reply, id: StreamId) {
    let mut text = Vec::with_capacity(41);
    id.push_text(&mut text);
    reply.bulk(&text);
}

fn reply_element(reply: &mut Reply, e: Element<'_>) {
    match e {
        Element::Int(v) => reply.bulk_i64(v),
        Element::Bytes(b) => reply.bulk(b),
    }
}

/// One entry as Redis replies it: [id, [field, value, ...]].
fn reply_entry(reply: &mut Reply, e: &EntryRef<'_>) {
    reply.array(2);
    reply_id(reply, e.id);
    reply.array(2 * e.field_count());
    for (field, value) in e.fields() {
        reply_element(reply, field);
        reply_element(reply, value);
    }
}

/// addReplySubcommandSyntaxError: "unknown subcommand or wrong number of arguments for 'SUB'".
fn subcommand_syntax(args: crate::command::Args) -> CmdError {
    let sub = String::from_utf8_lossy(args.get(1)).chars().take(128).collect::<String>();
    let cmd = String::from_utf8_lossy(args.get(0)).to_ascii_uppercase();
    CmdError::Owned(format!("ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {cmd} HELP."))
}

/// A key or group name inside an error text (printed with %s by Redis: up to a NUL byte).
fn name_text(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]).into_owned()
}

/// "-NOGROUP No such key 'k' or consumer group 'g'" (+ `suffix`).
fn no_key_or_group(key: &[u8], group: &[u8], suffix: &str) -> CmdError {
    CmdError::Owned(format!("NOGROUP No such key '{}' or consumer group '{}'{suffix}", name_text(key), name_text(group)))
}

/// "-NOGROUP No such consumer group 'g' for key name 'k'".
fn no_group_for_key(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::Owned(format!("NOGROUP No such consumer group '{}' for key name '{}'", name_text(group), name_text(key)))
}

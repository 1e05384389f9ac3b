//! PING as the batch fast path runs it. TypeScript keeps its own PING for dispatch (a RESP2
//! client in a pub/sub context gets ["pong", msg] there); the batch never serves such a client,
//! so this row answers only where both replies are the same (see CommandTable's batch twins).

use crate::command::{CmdError, CmdResult, CommandRow, Ctx};

pub const COMMANDS: &[CommandRow] = &[("ping", ping)];

/// PING [message]: +PONG, or the message as a bulk string.
fn ping(ctx: &mut Ctx) -> CmdResult {
    match ctx.args.len() {
        1 => ctx.reply.simple("PONG"),
        2 => ctx.reply.bulk(ctx.args.get(1)),
        _ => return Err(CmdError::Msg("ERR wrong number of arguments for 'ping' command")),
    }
    Ok(())
}

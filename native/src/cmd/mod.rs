//! The data commands, one file per family (like Redis's t_string.c, t_list.c...). Each file
//! exports `COMMANDS`, its `(name, handler)` rows; names use Redis's lower-case spelling and
//! `container|sub` for subcommands (e.g. "object|encoding").

use crate::command::CommandRow;

pub mod bits;
pub mod connection;
pub mod geo;
pub mod hashes;
pub mod hll;
pub mod keys;
pub mod lists;
pub mod memory;
pub mod migrate;
pub mod random_picks;
pub mod server;
pub mod scan;
pub mod sets;
pub mod sort;
pub mod streams;
pub mod strings;
pub mod timeout;
pub mod zsets;

pub fn all() -> Vec<CommandRow> {
    let mut rows = Vec::new();
    for family in [strings::COMMANDS, bits::COMMANDS, keys::COMMANDS, lists::COMMANDS, hashes::COMMANDS, sets::COMMANDS, zsets::COMMANDS, streams::COMMANDS, hll::COMMANDS, geo::COMMANDS, sort::COMMANDS, server::COMMANDS, memory::COMMANDS, crate::persist::commands::COMMANDS, crate::script::commands::COMMANDS, connection::COMMANDS, migrate::COMMANDS] {
        rows.extend_from_slice(family);
    }
    rows
}

//! What a data command sees: its arguments, the keyspace, the reply, the clock and settings.
//! Each type module lists its commands as `(name, handler)` rows; lib.rs joins the lists into
//! the table the TypeScript dispatcher indexes by number.

use crate::keyspace::{Entry, Keyspace};
use crate::numfmt;
use crate::reply::Reply;
use crate::settings::Settings;

/// A Redis error reply, or the signal that a blocking command found nothing to serve.
#[derive(Debug)]
pub enum CmdError {
    Msg(&'static str),
    Owned(String),
    /// A blocking command (BLPOP...) found every key empty: the dispatcher blocks the client
    /// for `timeout_ms` (0: forever) and runs the command again when one of its keys is written,
    /// with the arguments in `rewrite` (index, new bytes) replaced first: what the command
    /// resolved at block time (XREAD's `$` becomes the stream's last ID then, as in Redis).
    WouldBlock { timeout_ms: i64, rewrite: Vec<(usize, Vec<u8>)> },
}

pub type CmdResult = Result<(), CmdError>;

pub const WRONGTYPE: CmdError = CmdError::Msg("WRONGTYPE Operation against a key holding the wrong kind of value");
pub const NOT_INTEGER: CmdError = CmdError::Msg("ERR value is not an integer or out of range");
pub const NOT_FLOAT: CmdError = CmdError::Msg("ERR value is not a valid float");
pub const SYNTAX: CmdError = CmdError::Msg("ERR syntax error");
pub const OVERFLOW: CmdError = CmdError::Msg("ERR increment or decrement would overflow");
pub const NO_SUCH_KEY: CmdError = CmdError::Msg("ERR no such key");
pub const OUT_OF_RANGE: CmdError = CmdError::Msg("ERR index out of range");

impl CmdError {
    /// WouldBlock with nothing to rewrite.
    pub fn block(timeout_ms: i64) -> CmdError {
        CmdError::WouldBlock { timeout_ms, rewrite: Vec::new() }
    }

    pub fn text(&self) -> &str {
        match self {
            CmdError::Msg(s) => s,
            CmdError::Owned(s) => s,
            CmdError::WouldBlock { .. } => "",
        }
    }
}

impl From<String> for CmdError {
    fn from(s: String) -> Self { CmdError::Owned(s) }
}

/// The arguments of one command (index 0 is the command name), borrowed from the client's
/// input Buffer through [start, end) offset pairs: no copies on the way in.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    input: &'a [u8],
    offsets: &'a [i32],
}

impl<'a> Args<'a> {
    /// `offsets` holds start/end pairs; every pair must lie within `input` (checked here once).
    pub fn new(input: &'a [u8], offsets: &'a [i32]) -> Result<Self, String> {
        if offsets.len() % 2 != 0 { return Err("odd offsets".into()); }
        for p in offsets.chunks_exact(2) {
            if p[0] < 0 || p[1] < p[0] || p[1] as usize > input.len() { return Err("argument offsets out of range".into()); }
        }
        Ok(Args { input, offsets })
    }
    #[inline] pub fn len(&self) -> usize { self.offsets.len() / 2 }
    #[inline] pub fn is_empty(&self) -> bool { self.offsets.is_empty() }
    #[inline]
    pub fn get(&self, i: usize) -> &'a [u8] {
        &self.input[self.offsets[2 * i] as usize..self.offsets[2 * i + 1] as usize]
    }
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + 'a {
        let Args { input, offsets } = *self;
        offsets.chunks_exact(2).map(move |p| &input[p[0] as usize..p[1] as usize])
    }
    /// Arguments from `from` to the end.
    pub fn from(&self, from: usize) -> impl Iterator<Item = &'a [u8]> + 'a { self.iter().skip(from) }

    pub fn i64(&self, i: usize) -> Result<i64, CmdError> { numfmt::parse_i64(self.get(i)).ok_or(NOT_INTEGER) }
    pub fn f64(&self, i: usize) -> Result<f64, CmdError> { numfmt::parse_f64(self.get(i)).ok_or(NOT_FLOAT) }
    /// Case-insensitive comparison with an ASCII option name (e.g. b"WITHSCORES").
    pub fn is(&self, i: usize, option: &[u8]) -> bool { self.get(i).eq_ignore_ascii_case(option) }
}

pub struct Ctx<'a> {
    pub ks: &'a mut Keyspace,
    pub db: usize,
    pub args: Args<'a>,
    pub reply: &'a mut Reply,
    /// Milliseconds since the epoch, fixed for the whole command (as Redis caches mstime).
    pub now_ms: i64,
    pub settings: &'a Settings,
    /// False inside MULTI/EXEC and scripts: blocking commands answer at once instead of blocking.
    pub may_block: bool,
    /// The calling client's id (for WATCH and CLIENT-scoped state).
    pub client_id: u64,
    /// A blocked client's command run again because one of its keys changed: keys now holding
    /// another type are skipped instead of failing, as Redis serves only matching keys.
    pub retrying: bool,
    /// The client's ACL user may read every key with this command (ACLUserCheckCmdWithUnrestrictedKeyAccess):
    /// SORT's BY and GET patterns, which name keys no key spec shows, need it.
    pub reads_every_key: bool,
}

impl<'a> Ctx<'a> {
    /// The same call with other arguments: a command that runs as another one (GEOADD is the
    /// ZADD it becomes).
    pub fn with_args<'b>(&'b mut self, args: Args<'b>) -> Ctx<'b> {
        Ctx {
            ks: &mut *self.ks,
            db: self.db,
            args,
            reply: &mut *self.reply,
            now_ms: self.now_ms,
            settings: self.settings,
            may_block: self.may_block,
            client_id: self.client_id,
            retrying: self.retrying,
            reads_every_key: self.reads_every_key,
        }
    }
}

pub type Handler = fn(&mut Ctx) -> CmdResult;

/// What the command propagates to the AOF and replicas (native/src/propagate.rs), named after
/// Redis's calls. Free when nothing consumes propagation.
impl Ctx<'_> {
    /// rewriteClientCommandVector: propagate `argv` instead of the command as received.
    pub fn rewrite(&mut self, argv: &[&[u8]]) { self.ks.prop.rewrite(argv); }

    /// alsoPropagate (in this command's db): `argv` joins what this execution unit propagates,
    /// before the command itself.
    pub fn also(&mut self, argv: &[&[u8]]) { self.ks.prop.also(self.db, crate::propagate::TARGET_ALL, argv); }

    /// preventCommandPropagation: the command itself propagates nothing.
    pub fn prevent(&mut self) { self.ks.prop.prevent(); }

    /// CMD_TOUCHES_ARBITRARY_KEYS (SCAN, RANDOMKEY): lazy-expiry DELs are not wrapped in MULTI/EXEC.
    pub fn touches_arbitrary_keys(&mut self) { self.ks.prop.touches_arbitrary_keys(); }

    /// forceCommandPropagation: the command propagates even though it changed nothing.
    pub fn force(&mut self) { self.ks.prop.force(); }

    /// True when something consumes propagation (skip building rewritten arguments otherwise).
    #[inline]
    pub fn propagating(&self) -> bool { self.ks.prop.on }
}

/// Keyspace events, placed in the reply as Redis writes them (keyspace/notify.rs).
impl Ctx<'_> {
    /// notifyKeyspaceEvent at this point of the reply: what the command replied so far goes
    /// to its own RESP3 subscription before the event, the rest after.
    #[inline]
    pub fn notify(&mut self, class: u32, event: &'static str, db: usize, key: &[u8]) {
        self.ks.at_reply(self.reply.buf.len());
        self.ks.notify(class, event, db, key);
    }

    /// What the keyspace notifies by itself from now on (a lookup's "expired" or "keymiss" in
    /// the middle of MGET's or SORT GET's reply, delete_if_empty's "del" after a pop's reply)
    /// goes after what was replied so far.
    #[inline]
    pub fn events_from_here(&mut self) { self.ks.at_reply(self.reply.buf.len()); }
}

/// HDEL, SREM, ZREM: removes each argument from 2 on from the collection at argument 1,
/// deletes the key when it empties, and replies how many were removed. `(class, event)` is
/// the keyspace event of a removal ("hdel", "srem", "zrem").
pub fn remove_members<C: ?Sized>(
    ctx: &mut Ctx,
    view: fn(&mut Entry) -> Result<&mut C, CmdError>,
    remove: fn(&mut C, &[u8]) -> bool,
    (class, event): (u32, &'static str),
) -> CmdResult {
    let (db, now, args) = (ctx.db, ctx.now_ms, ctx.args);
    let key = args.get(1);
    let Some(entry) = ctx.ks.lookup(db, key, now) else {
        ctx.reply.int(0);
        return Ok(());
    };
    let collection = view(entry)?;
    let removed = args.from(2).filter(|m| remove(collection, m)).count();
    if removed > 0 {
        ctx.ks.signal_modified(db, key);
        ctx.notify(class, event, db, key);
        ctx.ks.delete_if_empty(db, key);
        ctx.ks.dirty += removed as u64;
    }
    ctx.reply.int(removed as i64);
    Ok(())
}

/// One row of a type module's command list.
pub type CommandRow = (&'static str, Handler);

//! Propagation (seam 3): what an executed write becomes for the AOF and for replicas, in one
//! place, as Redis 7.0's call() / alsoPropagate / propagatePendingCommands decide it.
//!
//! - A command that moved `dirty` propagates its argv verbatim, unless its handler said
//!   otherwise through `Ctx::rewrite` (rewriteClientCommandVector), `Ctx::also`
//!   (alsoPropagate) or `Ctx::prevent` (preventCommandPropagation).
//! - Deletions the keyspace makes on its own (lazy and active expiry, eviction) propagate a DEL
//!   (UNLINK under lazyfree) through `Keyspace::propagate_deletion`.
//! - Everything one execution unit propagates (a command, an EXEC, a script; a served blocked
//!   client; one key of the active expire cycle) is collected, then wrapped in MULTI/EXEC when
//!   it is more than one command (Redis 7.0.15 wraps a lazy expiry DEL with the command that
//!   caused it, too, except under SCAN and RANDOMKEY run directly). TypeScript opens a unit
//!   around EXEC and scripts (`enter` / `leave`).
//!
//! Finished units go to one byte stream of RESP commands that TypeScript drains once per batch
//! into a Buffer it owns (src/propagate.ts), cut into segments by target (AOF and replicas, or
//! replicas only, as PUBLISH). Within a segment a SELECT is written where the db changes; at
//! a segment's start none is, and each consumer adds one when its own selected db differs
//! from the segment's first db. Nothing of this runs while no consumer is subscribed (`on`).

use crate::napi::I32Slots;
use crate::numfmt;

pub const TARGET_AOF: u8 = 1;
pub const TARGET_REPL: u8 = 2;
pub const TARGET_ALL: u8 = TARGET_AOF | TARGET_REPL;

/// A command collected in the running execution unit.
struct Op {
    db: u32,
    target: u8,
    start: usize,
    end: usize,
}

/// A run of finished commands with one target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segment {
    pub target: u8,
    pub first_db: u32,
    pub last_db: u32,
    /// Offset just past the segment's bytes in the stream.
    pub end: usize,
}

/// What the running command propagates of itself.
#[derive(Clone, Copy, PartialEq)]
enum Own {
    /// Its argv as received (when it moved dirty).
    Verbatim,
    /// What the handler wrote with `rewrite` (when it moved dirty).
    Rewritten,
    /// Nothing (the handler propagated what it did with `also`, or nothing at all).
    Prevented,
}

pub struct Propagator {
    /// A consumer is subscribed: without one nothing is recorded.
    pub on: bool,
    /// The targets some consumer subscribed to (shouldPropagate): a command for no subscribed
    /// target is not recorded, so it neither appears nor counts towards MULTI/EXEC wrapping.
    targets: u8,
    /// Execution units opened by TypeScript (EXEC, scripts); commands inside do not end one.
    depth: u32,
    /// The running unit is a command that touches arbitrary keys, run directly (SCAN,
    /// RANDOMKEY: CMD_TOUCHES_ARBITRARY_KEYS): its lazy-expiry DELs go unwrapped, as
    /// propagatePendingCommands leaves them (a replica must not see a transaction of deletions
    /// that no command of its own caused).
    unwrapped: bool,
    unit: Vec<u8>,
    ops: Vec<Op>,
    own: Own,
    own_buf: Vec<u8>,
    /// forceCommandPropagation: propagate the command even though it moved nothing.
    forced: bool,
    /// Where commands' own propagation may go: TARGET_ALL, or what a script chose with
    /// redis.set_repl (call()'s CMD_CALL_PROPAGATE_AOF / _REPL flags).
    pub own_targets: u8,
    out: Vec<u8>,
    segments: Vec<Segment>,
    /// TypeScript's view of the stream: [bytes waiting, segments waiting], kept current so that
    /// it knows without a call whether there is anything to drain (see `bind_status`).
    status: Option<I32Slots>,
}

impl Default for Propagator {
    fn default() -> Self {
        Propagator {
            on: false,
            targets: 0,
            depth: 0,
            unwrapped: false,
            unit: Vec::new(),
            ops: Vec::new(),
            own: Own::Verbatim,
            own_buf: Vec::new(),
            forced: false,
            own_targets: TARGET_ALL,
            out: Vec::new(),
            segments: Vec::new(),
            status: None,
        }
    }
}

/// `*<argc>\r\n` then `$<len>\r\n<arg>\r\n` per argument: what Redis writes to the AOF and to
/// replicas (catAppendOnlyGenericCommand).
pub fn encode_command<'a>(buf: &mut Vec<u8>, argc: usize, argv: impl Iterator<Item = &'a [u8]>) {
    buf.push(b'*');
    numfmt::push_i64(buf, argc as i64);
    buf.extend_from_slice(b"\r\n");
    for a in argv {
        buf.push(b'$');
        numfmt::push_i64(buf, a.len() as i64);
        buf.extend_from_slice(b"\r\n");
        buf.extend_from_slice(a);
        buf.extend_from_slice(b"\r\n");
    }
}

impl Propagator {
    /// The targets consumers are subscribed to (TARGET_* bits); none turns recording off and
    /// forgets whatever was not drained.
    pub fn set_targets(&mut self, targets: u8) {
        self.targets = targets & TARGET_ALL;
        self.on = self.targets != 0;
        if !self.on {
            self.unit.clear();
            self.ops.clear();
            self.out.clear();
            self.segments.clear();
            self.publish();
        }
    }

    /// The Int32Array whose slots 0 and 1 mirror `pending()` (its owner keeps it alive).
    pub fn bind_status(&mut self, status: I32Slots) {
        self.status = Some(status);
        self.publish();
    }

    fn publish(&mut self) {
        let (bytes, segments) = (self.out.len() as i32, self.segments.len() as i32);
        if let Some(s) = self.status.as_mut() {
            s.set(0, bytes);
            s.set(1, segments);
        }
    }

    /// call(): before a command's handler runs.
    #[inline]
    pub fn begin_command(&mut self) {
        self.own = Own::Verbatim;
        self.forced = false;
    }

    /// rewriteClientCommandVector: the command propagates `argv` instead of what it received.
    pub fn rewrite(&mut self, argv: &[&[u8]]) {
        if !self.on { return; }
        self.own_buf.clear();
        encode_command(&mut self.own_buf, argv.len(), argv.iter().copied());
        self.own = Own::Rewritten;
    }

    /// CMD_TOUCHES_ARBITRARY_KEYS: a command run at top level (not inside EXEC or a script)
    /// leaves what its unit propagates unwrapped.
    pub fn touches_arbitrary_keys(&mut self) {
        if self.depth == 0 { self.unwrapped = true; }
    }

    /// preventCommandPropagation: the command itself propagates nothing (what it added with
    /// `also` still goes).
    pub fn prevent(&mut self) { self.own = Own::Prevented; }

    /// forceCommandPropagation: the command propagates even if it changed nothing.
    pub fn force(&mut self) { self.forced = true; }

    /// alsoPropagate: adds a command to the running execution unit.
    pub fn also(&mut self, db: usize, target: u8, argv: &[&[u8]]) {
        let target = target & self.targets;
        if target == 0 { return; }
        let start = self.unit.len();
        encode_command(&mut self.unit, argv.len(), argv.iter().copied());
        self.ops.push(Op { db: db as u32, target, start, end: self.unit.len() });
    }

    /// After a command's handler: its own propagation joins the unit; at top level the unit ends.
    pub fn command_done<'a>(&mut self, db: usize, argv: impl ExactSizeIterator<Item = &'a [u8]>, dirty_moved: bool) {
        if !self.on { return; }
        let target = self.own_targets & self.targets;
        if (dirty_moved || self.forced) && target != 0 {
            let start = self.unit.len();
            match self.own {
                Own::Prevented => {}
                Own::Verbatim => encode_command(&mut self.unit, argv.len(), argv),
                Own::Rewritten => self.unit.extend_from_slice(&self.own_buf),
            }
            if self.unit.len() > start {
                self.ops.push(Op { db: db as u32, target, start, end: self.unit.len() });
            }
        }
        self.end_unit();
    }

    /// Opens an execution unit (EXEC, a script): the commands run inside end none.
    pub fn enter(&mut self) { self.depth += 1; }

    /// Closes what `enter` opened; the outermost close ends the unit.
    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.end_unit();
    }

    /// Ends the running execution unit unless TypeScript holds one open (propagatePendingCommands).
    #[inline]
    pub fn end_unit(&mut self) {
        if self.depth == 0 {
            if !self.ops.is_empty() { self.flush_unit(); }
            self.unwrapped = false;
        }
    }

    /// Moves the unit's commands to the stream, inside MULTI/EXEC when there are several. MULTI
    /// takes the first command's db (so a SELECT comes before it) and EXEC the last one's.
    fn flush_unit(&mut self) {
        let ops = std::mem::take(&mut self.ops);
        let unit = std::mem::take(&mut self.unit);
        let wrap = ops.len() > 1 && !self.unwrapped;
        let all = self.targets;
        if wrap { self.emit(ops[0].db, all, b"*1\r\n$5\r\nMULTI\r\n"); }
        for op in &ops { self.emit(op.db, op.target, &unit[op.start..op.end]); }
        if wrap { self.emit(ops[ops.len() - 1].db, all, b"*1\r\n$4\r\nEXEC\r\n"); }
        // Keep the allocations for the next unit.
        self.ops = ops;
        self.ops.clear();
        self.unit = unit;
        self.unit.clear();
        self.publish();
    }

    fn emit(&mut self, db: u32, target: u8, command: &[u8]) {
        match self.segments.last_mut() {
            Some(seg) if seg.target == target => {
                if seg.last_db != db {
                    let db_text = numfmt::IntText::new(db as i64);
                    encode_command(&mut self.out, 2, [&b"SELECT"[..], &db_text].into_iter());
                    seg.last_db = db;
                }
            }
            _ => self.segments.push(Segment { target, first_db: db, last_db: db, end: 0 }),
        }
        self.out.extend_from_slice(command);
        if let Some(seg) = self.segments.last_mut() { seg.end = self.out.len(); }
    }

    /// Bytes of finished commands waiting for TypeScript, and their segment count.
    pub fn pending(&self) -> (usize, usize) { (self.out.len(), self.segments.len()) }

    /// Commands collected in the running unit (not yet in the stream).
    pub fn unit_len(&self) -> usize { self.ops.len() }

    /// Hands the stream over: copies it into `into` (which must hold `pending().0` bytes),
    /// describes each segment as (target, first db, last db, end) in the status array from
    /// slot `at`, and forgets it. Returns the byte count.
    pub fn drain(&mut self, into: &mut [u8], at: usize) -> Result<usize, String> {
        let n = self.out.len();
        if into.len() < n { return Err(format!("propagation buffer too small: {} < {n}", into.len())); }
        let status = self.status.as_mut().ok_or("propagation status is not bound")?;
        if at + 4 * self.segments.len() > status.len() { return Err("propagation status array too small".into()); }
        into[..n].copy_from_slice(&self.out);
        for (i, seg) in self.segments.iter().enumerate() {
            let slot = at + 4 * i;
            status.set(slot, seg.target as i32);
            status.set(slot + 1, seg.first_db as i32);
            status.set(slot + 2, seg.last_db as i32);
            status.set(slot + 3, seg.end as i32);
        }
        self.out.clear();
        self.segments.clear();
        self.publish();
        Ok(n)
    }

    /// The stream as it stands (tests).
    pub fn stream(&self) -> (&[u8], &[Segment]) { (&self.out, &self.segments) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on() -> Propagator {
        let mut p = Propagator::default();
        p.set_targets(TARGET_ALL);
        p
    }

    fn text(p: &Propagator) -> String { String::from_utf8_lossy(p.stream().0).replace("\r\n", " ") }

    fn run(p: &mut Propagator, db: usize, argv: &[&[u8]], dirty: bool) {
        p.begin_command();
        p.command_done(db, argv.iter().copied(), dirty);
    }

    #[test]
    fn a_write_propagates_verbatim_and_a_read_nothing() {
        let mut p = on();
        run(&mut p, 0, &[b"SET", b"k", b"v"], true);
        run(&mut p, 0, &[b"GET", b"k"], false);
        assert_eq!(text(&p), "*3 $3 SET $1 k $1 v ");
        assert_eq!(p.stream().1, &[Segment { target: TARGET_ALL, first_db: 0, last_db: 0, end: 27 }]);
    }

    #[test]
    fn rewrite_replaces_and_prevent_drops_the_command() {
        let mut p = on();
        p.begin_command();
        p.rewrite(&[b"SET", b"k", b"v", b"PXAT", b"12"]);
        p.command_done(0, [&b"SET"[..], b"k", b"v", b"EX", b"1"].into_iter(), true);
        p.begin_command();
        p.also(0, TARGET_ALL, &[b"SREM", b"s", b"a"]);
        p.prevent();
        p.command_done(0, [&b"SPOP"[..], b"s"].into_iter(), true);
        assert_eq!(text(&p), "*5 $3 SET $1 k $1 v $4 PXAT $2 12 *3 $4 SREM $1 s $1 a ");
    }

    #[test]
    fn several_commands_of_one_unit_are_wrapped_in_multi_exec() {
        let mut p = on();
        p.begin_command();
        p.also(0, TARGET_ALL, &[b"DEL", b"old"]);
        p.command_done(0, [&b"SET"[..], b"old", b"new"].into_iter(), true);
        assert_eq!(text(&p), "*1 $5 MULTI *2 $3 DEL $3 old *3 $3 SET $3 old $3 new *1 $4 EXEC ");
    }

    #[test]
    fn a_command_touching_arbitrary_keys_leaves_its_deletions_unwrapped_at_top_level_only() {
        let mut p = on();
        p.begin_command();
        p.touches_arbitrary_keys();
        p.also(0, TARGET_ALL, &[b"DEL", b"a"]);
        p.also(0, TARGET_ALL, &[b"DEL", b"b"]);
        p.command_done(0, [&b"SCAN"[..], b"0"].into_iter(), false);
        assert_eq!(text(&p), "*2 $3 DEL $1 a *2 $3 DEL $1 b ");
        // The flag ends with its unit, even one that propagated nothing.
        let mut p = on();
        p.begin_command();
        p.touches_arbitrary_keys();
        p.command_done(0, [&b"RANDOMKEY"[..]].into_iter(), false);
        p.begin_command();
        p.also(0, TARGET_ALL, &[b"DEL", b"a"]);
        p.command_done(0, [&b"SET"[..], b"a", b"1"].into_iter(), true);
        assert_eq!(text(&p), "*1 $5 MULTI *2 $3 DEL $1 a *3 $3 SET $1 a $1 1 *1 $4 EXEC ");
        // Inside EXEC or a script the caller is EXEC / EVAL: wrapped.
        let mut p = on();
        p.enter();
        p.begin_command();
        p.touches_arbitrary_keys();
        p.also(0, TARGET_ALL, &[b"DEL", b"a"]);
        p.also(0, TARGET_ALL, &[b"DEL", b"b"]);
        p.command_done(0, [&b"SCAN"[..], b"0"].into_iter(), false);
        p.leave();
        assert_eq!(text(&p), "*1 $5 MULTI *2 $3 DEL $1 a *2 $3 DEL $1 b *1 $4 EXEC ");
    }

    #[test]
    fn an_open_unit_collects_until_the_outermost_leave() {
        let mut p = on();
        p.enter();
        run(&mut p, 0, &[b"SET", b"a", b"1"], true);
        run(&mut p, 1, &[b"SET", b"b", b"2"], true);
        assert_eq!(p.pending(), (0, 0));
        p.leave();
        // SELECT before the command whose db differs; EXEC takes the last db (no SELECT).
        assert_eq!(text(&p), "*1 $5 MULTI *3 $3 SET $1 a $1 1 *2 $6 SELECT $1 1 *3 $3 SET $1 b $1 2 *1 $4 EXEC ");
        let seg = p.stream().1[0];
        assert_eq!((seg.first_db, seg.last_db), (0, 1));
    }

    #[test]
    fn a_unit_of_one_command_is_not_wrapped() {
        let mut p = on();
        p.enter();
        run(&mut p, 3, &[b"SET", b"a", b"1"], true);
        p.leave();
        assert_eq!(text(&p), "*3 $3 SET $1 a $1 1 ");
        assert_eq!(p.stream().1[0].first_db, 3);
    }

    #[test]
    fn targets_cut_the_stream_into_segments() {
        let mut p = on();
        run(&mut p, 0, &[b"SET", b"a", b"1"], true);
        p.also(0, TARGET_REPL, &[b"PUBLISH", b"c", b"m"]);
        p.end_unit();
        run(&mut p, 2, &[b"SET", b"b", b"2"], true);
        let segs: Vec<(u8, u32, u32)> = p.stream().1.iter().map(|s| (s.target, s.first_db, s.last_db)).collect();
        assert_eq!(segs, vec![(TARGET_ALL, 0, 0), (TARGET_REPL, 0, 0), (TARGET_ALL, 2, 2)]);
        let ends: Vec<usize> = p.stream().1.iter().map(|s| s.end).collect();
        assert_eq!(ends.last().copied(), Some(p.stream().0.len()));
        assert_eq!(p.pending(), (p.stream().0.len(), 3));
    }

    #[test]
    fn commands_for_an_unsubscribed_target_are_not_recorded_nor_wrapped() {
        // Only the AOF consumes (no replica, no backlog): a replicas-only command (PUBLISH,
        // redis.set_repl(REPL_REPLICA)) is dropped, so the unit holds one command, unwrapped.
        let mut p = Propagator::default();
        p.set_targets(TARGET_AOF);
        p.enter();
        p.own_targets = TARGET_REPL;
        run(&mut p, 0, &[b"SET", b"replicas", b"1"], true);
        p.own_targets = TARGET_ALL;
        p.also(0, TARGET_REPL, &[b"PUBLISH", b"c", b"m"]);
        run(&mut p, 0, &[b"SET", b"shown", b"1"], true);
        p.leave();
        assert_eq!(text(&p), "*3 $3 SET $5 shown $1 1 ");
        assert_eq!(p.stream().1, &[Segment { target: TARGET_AOF, first_db: 0, last_db: 0, end: 31 }]);
    }

    #[test]
    fn off_records_nothing() {
        let mut p = Propagator::default();
        p.begin_command();
        p.rewrite(&[b"X"]);
        p.also(0, TARGET_ALL, &[b"Y"]);
        p.command_done(0, [&b"SET"[..], b"k", b"v"].into_iter(), false);
        assert_eq!(p.pending(), (0, 0));
    }
}

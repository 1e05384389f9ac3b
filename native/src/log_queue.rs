//! Log lines of native code that runs inside a command (RESTORE's reason for refusing a
//! payload, Redis's rdbReportCorruptRDB). TypeScript owns the log; native code never calls
//! into JavaScript in the middle of a command, so the lines wait here until TypeScript takes
//! them right after the command, before its reply is written (`takeLogLines`).

use crate::napi::{Env, JsArgs, JsValue};
use std::cell::RefCell;

/// Redis's LL_VERBOSE (levels 0-3: debug, verbose, notice, warning).
pub const LOG_VERBOSE: u8 = 1;

thread_local! {
    static LINES: RefCell<Vec<(u8, String)>> = const { RefCell::new(Vec::new()) };
}

pub fn push(level: u8, line: String) {
    LINES.with(|l| l.borrow_mut().push((level, line)));
}

/// takeLogLines(): the lines waiting, as [level, text, level, text, ...]; empty when none.
fn take_log_lines(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let lines = LINES.with(|l| std::mem::take(&mut *l.borrow_mut()));
    let mut values = Vec::with_capacity(lines.len() * 2);
    for (level, text) in &lines {
        values.push(env.int(*level as i64));
        values.push(env.string(text));
    }
    env.array(&values)
}

pub fn register(env: &Env, exports: JsValue) -> Result<(), String> {
    env.export(exports, "takeLogLines", take_log_lines)
}

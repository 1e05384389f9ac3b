//! SCRIPT and FUNCTION subcommands that manage the engines (native command rows; EVAL, EVALSHA
//! and FCALL themselves are run by TypeScript through `scriptRun`, see exports.rs).

use super::{eval, functions, with_run, BUSY_EVAL, BUSY_FUNCTION};
use crate::command::{CmdError, CmdResult, CommandRow, Ctx};

pub const COMMANDS: &[CommandRow] = &[
    ("script|load", script_load),
    ("script|exists", script_exists),
    ("script|flush", script_flush),
    ("script|kill", script_kill),
    ("function|load", function_load),
    ("function|list", function_list),
    ("function|delete", function_delete),
    ("function|flush", function_flush),
    ("function|dump", function_dump),
    ("function|restore", function_restore),
    ("function|stats", function_stats),
    ("function|kill", function_kill),
];

/// Every row answers this while liblua cannot be loaded.
fn available() -> CmdResult {
    match super::unavailable() {
        Some(e) => Err(CmdError::Owned(e)),
        None => Ok(()),
    }
}

/// addReplyErrorFormat: "ERR " before the text, trailing newlines dropped, others as spaces.
fn err(text: String) -> CmdError {
    CmdError::Owned(format!("ERR {}", text.trim_end_matches(['\r', '\n'])))
}

fn subcommand_syntax(ctx: &Ctx, container: &str) -> CmdError {
    let sub = String::from_utf8_lossy(ctx.args.get(1));
    let sub: String = sub.chars().take(128).collect();
    CmdError::Owned(format!("ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {container} HELP."))
}

fn script_load(ctx: &mut Ctx) -> CmdResult {
    available()?;
    let body = ctx.args.get(2);
    let sha = eval::with_engine(|e| e.create(body)).map_err(err)?;
    ctx.reply.bulk(&sha);
    Ok(())
}

fn script_exists(ctx: &mut Ctx) -> CmdResult {
    available()?;
    let n = ctx.args.len() - 2;
    ctx.reply.array(n);
    for sha in ctx.args.from(2) {
        ctx.reply.int(eval::exists(sha) as i64);
    }
    Ok(())
}

/// The [ASYNC|SYNC] argument of SCRIPT FLUSH / FUNCTION FLUSH (both run synchronously here).
fn flush_mode(ctx: &Ctx, error: &'static str) -> CmdResult {
    match ctx.args.len() {
        2 => Ok(()),
        3 if ctx.args.is(2, b"sync") || ctx.args.is(2, b"async") => Ok(()),
        _ => Err(CmdError::Msg(error)),
    }
}

fn script_flush(ctx: &mut Ctx) -> CmdResult {
    available()?;
    flush_mode(ctx, "ERR SCRIPT FLUSH only support SYNC|ASYNC option")?;
    eval::flush().map_err(err)?;
    ctx.reply.ok();
    Ok(())
}

/// SCRIPT KILL / FUNCTION KILL (scriptKill).
fn kill(ctx: &mut Ctx, eval_kill: bool) -> CmdResult {
    let outcome = with_run(|r| {
        if r.write_dirty {
            return Err("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.");
        }
        if eval_kill && !r.eval_mode {
            return Err(BUSY_FUNCTION);
        }
        if !eval_kill && r.eval_mode {
            return Err(BUSY_EVAL);
        }
        r.killed = true;
        Ok(())
    });
    match outcome {
        None => Err(CmdError::Msg("NOTBUSY No scripts in execution right now.")),
        Some(Err(e)) => Err(CmdError::Msg(e)),
        Some(Ok(())) => {
            ctx.reply.ok();
            Ok(())
        }
    }
}

fn script_kill(ctx: &mut Ctx) -> CmdResult {
    kill(ctx, true)
}

fn function_kill(ctx: &mut Ctx) -> CmdResult {
    kill(ctx, false)
}

fn function_load(ctx: &mut Ctx) -> CmdResult {
    available()?;
    let argc = ctx.args.len();
    let mut replace = false;
    let mut pos = 2;
    while pos < argc - 1 {
        if ctx.args.is(pos, b"replace") {
            replace = true;
            pos += 1;
            continue;
        }
        return Err(err(format!("Unknown option given: {}", String::from_utf8_lossy(super::convert::c_str(ctx.args.get(pos))))));
    }
    if pos >= argc {
        return Err(CmdError::Msg("ERR Function code is missing"));
    }
    let code = ctx.args.get(pos);
    let name = functions::with_engine(|e| e.load(code, replace, Some(functions::LOAD_TIMEOUT))).map_err(err)?;
    ctx.ks.dirty += 1;
    ctx.reply.bulk(&name);
    Ok(())
}

fn function_list(ctx: &mut Ctx) -> CmdResult {
    available()?;
    let (mut with_code, mut pattern): (bool, Option<&[u8]>) = (false, None);
    let mut i = 2;
    while i < ctx.args.len() {
        if !with_code && ctx.args.is(i, b"withcode") {
            with_code = true;
        } else if pattern.is_none() && ctx.args.is(i, b"libraryname") {
            if i >= ctx.args.len() - 1 {
                return Err(CmdError::Msg("ERR library name argument was not given"));
            }
            i += 1;
            pattern = Some(ctx.args.get(i));
        } else {
            return Err(err(format!("Unknown argument {}", String::from_utf8_lossy(super::convert::c_str(ctx.args.get(i))))));
        }
        i += 1;
    }
    let reply = &mut *ctx.reply;
    functions::with_engine(|e| {
        let libs: Vec<&functions::Library> = e.libraries.iter().filter(|l| pattern.map_or(true, |p| crate::glob::glob_match(p, &l.name, true))).collect();
        reply.array(libs.len());
        for lib in libs {
            reply.map(if with_code { 4 } else { 3 });
            reply.bulk(b"library_name");
            reply.bulk(&lib.name);
            reply.bulk(b"engine");
            reply.bulk(b"LUA");
            reply.bulk(b"functions");
            reply.array(lib.functions.len());
            for f in &lib.functions {
                reply.map(3);
                reply.bulk(b"name");
                reply.bulk(&f.name);
                reply.bulk(b"description");
                match &f.description {
                    Some(d) => reply.bulk(d),
                    None => reply.null(),
                }
                reply.bulk(b"flags");
                let names: Vec<&str> = super::FLAG_NAMES.iter().filter(|(bit, _)| f.flags & bit != 0).map(|(_, n)| *n).collect();
                reply.set(names.len());
                for n in names {
                    reply.simple(n);
                }
            }
            if with_code {
                reply.bulk(b"library_code");
                reply.bulk(&lib.code);
            }
        }
        Ok(())
    })
    .map_err(err)
}

fn function_delete(ctx: &mut Ctx) -> CmdResult {
    available()?;
    let name = ctx.args.get(2);
    if !functions::with_engine(|e| Ok(e.delete(name))).map_err(err)? {
        return Err(CmdError::Msg("ERR Library not found"));
    }
    ctx.ks.dirty += 1;
    ctx.reply.ok();
    Ok(())
}

fn function_flush(ctx: &mut Ctx) -> CmdResult {
    available()?;
    if ctx.args.len() > 3 {
        return Err(subcommand_syntax(ctx, "FUNCTION"));
    }
    flush_mode(ctx, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option")?;
    functions::flush().map_err(err)?;
    ctx.ks.dirty += 1;
    ctx.reply.ok();
    Ok(())
}

fn function_dump(ctx: &mut Ctx) -> CmdResult {
    available()?;
    let payload = crate::persist::dump::functions_payload(&functions::library_codes(), ctx.settings.rdb_compression != 0);
    ctx.reply.bulk(&payload);
    Ok(())
}

fn function_restore(ctx: &mut Ctx) -> CmdResult {
    available()?;
    if ctx.args.len() > 4 {
        return Err(subcommand_syntax(ctx, "FUNCTION"));
    }
    let (mut flush, mut replace) = (false, false);
    if ctx.args.len() == 4 {
        if ctx.args.is(3, b"append") {
        } else if ctx.args.is(3, b"replace") {
            replace = true;
        } else if ctx.args.is(3, b"flush") {
            flush = true;
        } else {
            return Err(CmdError::Msg("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE."));
        }
    }
    let codes = crate::persist::dump::payload_functions(ctx.args.get(2)).map_err(err)?;
    functions::restore(&codes, flush, replace).map_err(err)?;
    ctx.ks.dirty += 1;
    ctx.reply.ok();
    Ok(())
}

fn function_stats(ctx: &mut Ctx) -> CmdResult {
    available()?;
    let running = with_run(|r| (r.eval_mode, r.name.clone(), r.argv.clone(), r.start.elapsed().as_millis() as i64));
    if let Some((true, ..)) = running {
        return Err(CmdError::Msg(BUSY_EVAL));
    }
    let (libraries, functions) = functions::with_engine(|e| Ok((e.libraries.len(), e.function_count()))).map_err(err)?;
    let reply = &mut *ctx.reply;
    reply.map(2);
    reply.bulk(b"running_script");
    match running {
        None => reply.null(),
        Some((_, name, argv, ms)) => {
            reply.map(3);
            reply.bulk(b"name");
            reply.bulk(name.as_bytes());
            reply.bulk(b"command");
            reply.array(argv.len());
            for a in &argv {
                reply.bulk(a);
            }
            reply.bulk(b"duration_ms");
            reply.int(ms);
        }
    }
    reply.bulk(b"engines");
    reply.map(1);
    reply.bulk(b"LUA");
    reply.map(2);
    reply.bulk(b"libraries_count");
    reply.int(libraries as i64);
    reply.bulk(b"functions_count");
    reply.int(functions as i64);
    Ok(())
}

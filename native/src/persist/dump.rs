//! DUMP payloads (Redis's createDumpPayload / verifyDumpPayload): one RDB-encoded value — its
//! type byte and body, exactly as in a file — then the RDB version as 2 bytes little-endian and
//! the CRC64 of everything before, 8 bytes little-endian.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::rdb::{crc64, RdbError, RDB_VERSION, Reader};
use crate::settings::Settings;
use crate::types::Value;

use super::load::{read_object, Loaded};
use super::save::{type_byte, ValueWriter};

/// Version and CRC64.
const FOOTER_LEN: usize = 10;

/// DEBUG SET-SKIP-CHECKSUM-VALIDATION: RESTORE and RDB loading accept any CRC64 (Redis's
/// `server.skip_checksum_validation`, a testing switch).
static SKIP_CHECKSUM_VALIDATION: AtomicBool = AtomicBool::new(false);

pub fn set_skip_checksum_validation(skip: bool) { SKIP_CHECKSUM_VALIDATION.store(skip, Ordering::Relaxed); }

pub fn skipping_checksum_validation() -> bool { SKIP_CHECKSUM_VALIDATION.load(Ordering::Relaxed) }

/// The DUMP payload of `value`; `compress` is rdbcompression (LZF for long strings).
pub fn dump_payload(value: &Value, compress: bool, settings: &Settings) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(type_byte(value));
    ValueWriter::new(compress, settings).value(&mut out, value);
    out.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// verifyDumpPayload: long enough, a version this server reads, a matching CRC64.
pub fn verify_payload(payload: &[u8]) -> bool {
    if payload.len() < FOOTER_LEN {
        return false;
    }
    let footer = &payload[payload.len() - FOOTER_LEN..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version as u32 > RDB_VERSION {
        return false;
    }
    if skipping_checksum_validation() {
        return true;
    }
    let crc = crc64(0, &payload[..payload.len() - 8]);
    crc.to_le_bytes() == footer[2..]
}

/// FUNCTION DUMP's payload: each library's code as a FUNCTION2 opcode and a string, then the
/// version and CRC64 footer.
pub fn functions_payload(codes: &[Vec<u8>], compress: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut lzf = compress.then(crate::rdb::LzfCompressor::new);
    for code in codes {
        out.push(crate::rdb::opcode::FUNCTION2);
        crate::rdb::write_string(&mut out, code, lzf.as_mut());
    }
    out.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The library codes of a FUNCTION RESTORE payload, or FUNCTION RESTORE's error text.
pub fn payload_functions(payload: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if !verify_payload(payload) {
        return Err("DUMP payload version or checksum are wrong".into());
    }
    let body = &payload[..payload.len() - FOOTER_LEN];
    let mut r = Reader::new(body);
    let mut codes = Vec::new();
    while r.remaining() > 0 {
        let t = r.read_u8().map_err(|_| "can not read data type".to_string())?;
        if t == crate::rdb::opcode::FUNCTION_PRE_GA {
            return Err("Pre-GA function format not supported".into());
        }
        if t != crate::rdb::opcode::FUNCTION2 {
            return Err("given type is not a function".into());
        }
        codes.push(r.read_string().map_err(|_| "Failed loading library payload".to_string())?.into_owned());
    }
    Ok(codes)
}

/// The value in a verified payload; `None` when it does not decode ("Bad data format"),
/// including an empty collection, which RESTORE refuses.
pub fn payload_value(payload: &[u8], settings: &Settings) -> Option<Value> {
    decode_payload(payload, settings).ok()
}

/// `payload_value`, or why it does not decode: the reason rdbLoadObject reports, or None for
/// what it refuses without a word (an empty collection, an unknown type byte).
pub fn decode_payload(payload: &[u8], settings: &Settings) -> Result<Value, Option<RdbError>> {
    let body = &payload[..payload.len().checked_sub(FOOTER_LEN).ok_or(None)?];
    let mut r = Reader::new(body);
    let t = r.read_u8().map_err(|_| None)?;
    if !crate::rdb::rdb_type::is_loadable(t) {
        return Err(None);
    }
    let loaded: Loaded = read_object(&mut r, t, settings).map_err(Some)?;
    loaded.ok_or(None)
}

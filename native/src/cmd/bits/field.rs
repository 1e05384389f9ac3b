//! BITFIELD's integer fields: reading and writing `bits`-wide signed/unsigned integers at any
//! bit offset (most significant bit first), and Redis's overflow rules (WRAP, SAT, FAIL) from
//! bitops.c checkSignedBitfieldOverflow / checkUnsignedBitfieldOverflow.

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Overflow { Wrap, Sat, Fail }

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum OpKind { Get, Set, IncrBy }

/// i1..i64 or u1..u63.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct FieldType {
    pub signed: bool,
    pub bits: u32,
}

pub struct Op {
    pub kind: OpKind,
    pub ty: FieldType,
    pub offset: u64,
    pub value: i64,
    pub overflow: Overflow,
}

impl FieldType {
    /// "i8", "U16"...: Redis reads the width up to the first NUL byte.
    pub fn parse(text: &[u8]) -> Option<FieldType> {
        let signed = match text.first()? {
            b'i' | b'I' => true,
            b'u' | b'U' => false,
            _ => return None,
        };
        let digits = &text[1..];
        let digits = &digits[..digits.iter().position(|&c| c == 0).unwrap_or(digits.len())];
        let bits = crate::numfmt::parse_i64(digits)?;
        let max = if signed { 64 } else { 63 };
        if bits < 1 || bits > max { return None; }
        Some(FieldType { signed, bits: bits as u32 })
    }
}

/// The raw `bits`-wide value at bit `offset`; bytes past the end of `p` read as zero.
fn get_unsigned(p: &[u8], offset: u64, bits: u32) -> u64 {
    let mut value = 0u64;
    for k in 0..bits as u64 {
        let o = offset + k;
        let byte = p.get((o >> 3) as usize).copied().unwrap_or(0);
        value = (value << 1) | ((byte >> (7 - (o & 7))) & 1) as u64;
    }
    value
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    if bits < 64 && v & (1u64 << (bits - 1)) != 0 { (v | (u64::MAX << bits)) as i64 } else { v as i64 }
}

fn set_unsigned(p: &mut [u8], offset: u64, bits: u32, value: u64) {
    for k in 0..bits as u64 {
        let bit = (value >> (bits as u64 - 1 - k)) & 1;
        let o = offset + k;
        let byte = (o >> 3) as usize;
        let mask = 0x80u8 >> (o & 7);
        if bit == 1 { p[byte] |= mask } else { p[byte] &= !mask }
    }
}

/// GET: the field's value as Redis replies it.
pub fn get(p: &[u8], offset: u64, ty: FieldType) -> i64 {
    let v = get_unsigned(p, offset, ty.bits);
    if ty.signed { sign_extend(v, ty.bits) } else { v as i64 }
}

/// Signed overflow check of `value + incr` in `bits` bits: None when it fits, otherwise the
/// value to store instead (None inside for FAIL).
fn signed_overflow(value: i64, incr: i64, bits: u32, overflow: Overflow) -> Option<Option<i64>> {
    let max: i64 = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
    let min: i64 = -max - 1;
    // As in Redis these may wrap; they are only used once `value` is known to be in range.
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let too_big = value > max || (bits != 64 && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr);
    let too_small = !too_big && (value < min || (bits != 64 && incr < min_incr) || (value < 0 && incr < 0 && incr < min_incr));
    if !too_big && !too_small { return None; }
    Some(match overflow {
        Overflow::Fail => None,
        Overflow::Sat => Some(if too_big { max } else { min }),
        Overflow::Wrap => {
            let mut c = (value as u64).wrapping_add(incr as u64);
            if bits < 64 {
                let mask = u64::MAX << bits;
                if c & (1u64 << (bits - 1)) != 0 { c |= mask } else { c &= !mask }
            }
            Some(c as i64)
        }
    })
}

fn unsigned_overflow(value: u64, incr: i64, bits: u32, overflow: Overflow) -> Option<Option<u64>> {
    let max: u64 = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let too_big = value > max || (incr > 0 && incr > max_incr);
    let too_small = !too_big && incr < 0 && incr < min_incr;
    if !too_big && !too_small { return None; }
    Some(match overflow {
        Overflow::Fail => None,
        Overflow::Sat => Some(if too_big { max } else { 0 }),
        Overflow::Wrap => Some(value.wrapping_add(incr as u64) & !(u64::MAX << bits)),
    })
}

/// What one operation replies and whether it changed the stored bits.
#[derive(Debug, PartialEq)]
pub struct Outcome {
    /// Some(value), or None (a null reply) when OVERFLOW FAIL refused the write.
    pub reply: Option<i64>,
    pub changed: bool,
}

/// Runs one operation on a string already long enough for its writes.
pub fn apply(p: &mut [u8], op: &Op) -> Outcome {
    let bits = op.ty.bits;
    if op.kind == OpKind::Get { return Outcome { reply: Some(get(p, op.offset, op.ty)), changed: false }; }
    if op.ty.signed {
        let old = sign_extend(get_unsigned(p, op.offset, bits), bits);
        let (checked, plain, reply_old) = match op.kind {
            OpKind::IncrBy => (signed_overflow(old, op.value, bits, op.overflow), old.wrapping_add(op.value), false),
            _ => (signed_overflow(op.value, 0, bits, op.overflow), op.value, true),
        };
        let new = match checked {
            None => plain,
            Some(None) => return Outcome { reply: None, changed: false },
            Some(Some(v)) => v,
        };
        set_unsigned(p, op.offset, bits, new as u64);
        Outcome { reply: Some(if reply_old { old } else { new }), changed: old != new }
    } else {
        let old = get_unsigned(p, op.offset, bits);
        let (checked, plain, reply_old) = match op.kind {
            OpKind::IncrBy => (unsigned_overflow(old, op.value, bits, op.overflow), old.wrapping_add(op.value as u64), false),
            _ => (unsigned_overflow(op.value as u64, 0, bits, op.overflow), op.value as u64, true),
        };
        let new = match checked {
            None => plain,
            Some(None) => return Outcome { reply: None, changed: false },
            Some(Some(v)) => v,
        };
        set_unsigned(p, op.offset, bits, new);
        Outcome { reply: Some(if reply_old { old as i64 } else { new as i64 }), changed: old != new }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(kind: OpKind, ty: &str, offset: u64, value: i64, overflow: Overflow) -> Op {
        Op { kind, ty: FieldType::parse(ty.as_bytes()).unwrap(), offset, value, overflow }
    }

    #[test]
    fn types() {
        assert_eq!(FieldType::parse(b"i64"), Some(FieldType { signed: true, bits: 64 }));
        assert_eq!(FieldType::parse(b"u63"), Some(FieldType { signed: false, bits: 63 }));
        assert_eq!(FieldType::parse(b"u64"), None);
        assert_eq!(FieldType::parse(b"i0"), None);
        assert_eq!(FieldType::parse(b"x8"), None);
        assert_eq!(FieldType::parse(b"i"), None);
    }

    #[test]
    fn get_set_across_bytes() {
        let mut p = vec![0u8; 4];
        assert_eq!(apply(&mut p, &op(OpKind::Set, "u8", 4, 255, Overflow::Wrap)).reply, Some(0));
        assert_eq!(p, [0x0f, 0xf0, 0, 0]);
        assert_eq!(get(&p, 4, FieldType { signed: true, bits: 8 }), -1);
        assert_eq!(get(&p, 0, FieldType { signed: false, bits: 4 }), 0);
        // Reads past the end are zero padded.
        assert_eq!(get(&[0xff], 4, FieldType { signed: false, bits: 8 }), 0xf0);
        // Writing the same value is not a change (Redis's dirty accounting).
        assert!(!apply(&mut p, &op(OpKind::Set, "u8", 4, 255, Overflow::Wrap)).changed);
    }

    #[test]
    fn overflow_rules() {
        let mut p = vec![0u8; 8];
        // u2: 3 + 1 wraps to 0, saturates at 3, fails.
        assert_eq!(apply(&mut p, &op(OpKind::Set, "u2", 0, 3, Overflow::Wrap)).reply, Some(0));
        assert_eq!(apply(&mut p, &op(OpKind::IncrBy, "u2", 0, 1, Overflow::Sat)).reply, Some(3));
        assert_eq!(apply(&mut p, &op(OpKind::IncrBy, "u2", 0, 1, Overflow::Fail)).reply, None);
        assert_eq!(apply(&mut p, &op(OpKind::IncrBy, "u2", 0, 1, Overflow::Wrap)).reply, Some(0));
        assert_eq!(apply(&mut p, &op(OpKind::IncrBy, "u2", 0, -1, Overflow::Sat)).reply, Some(0));
        // i8: 127 + 1 wraps to -128; SAT keeps 127; -128 - 1 saturates at -128.
        assert_eq!(apply(&mut p, &op(OpKind::Set, "i8", 8, 127, Overflow::Wrap)).reply, Some(0));
        assert_eq!(apply(&mut p, &op(OpKind::IncrBy, "i8", 8, 1, Overflow::Wrap)).reply, Some(-128));
        assert_eq!(apply(&mut p, &op(OpKind::IncrBy, "i8", 8, -1, Overflow::Sat)).reply, Some(-128));
        assert_eq!(apply(&mut p, &op(OpKind::IncrBy, "i8", 8, 300, Overflow::Sat)).reply, Some(127));
        // SET of an out-of-range value: wrapped (or saturated), the old value is replied.
        assert_eq!(apply(&mut p, &op(OpKind::Set, "i8", 8, 200, Overflow::Wrap)).reply, Some(127));
        assert_eq!(get(&p, 8, FieldType { signed: true, bits: 8 }), -56);
        assert_eq!(apply(&mut p, &op(OpKind::Set, "u8", 16, -1, Overflow::Sat)).reply, Some(0));
        assert_eq!(get(&p, 16, FieldType { signed: false, bits: 8 }), 255);
        // i64 wraps around the full range.
        assert_eq!(apply(&mut p, &op(OpKind::Set, "i64", 0, i64::MAX, Overflow::Wrap)).reply.is_some(), true);
        assert_eq!(apply(&mut p, &op(OpKind::IncrBy, "i64", 0, 1, Overflow::Wrap)).reply, Some(i64::MIN));
        assert_eq!(apply(&mut p, &op(OpKind::IncrBy, "i64", 0, -1, Overflow::Fail)).reply, None);
    }
}

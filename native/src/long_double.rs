//! The x87 80-bit `long double` arithmetic Redis uses for HINCRBYFLOAT (and INCRBYFLOAT):
//! `strtold` parsing (string2ld's acceptance rules), one correctly rounded addition, and
//! `%.17Lf` printing with ld2string's LD_STR_HUMAN trimming. With f64 instead, 0.1 + 0.2 would
//! print 0.30000000000000004 where Redis prints 0.3, and 12345.678 would lose the digits Redis
//! shows (12345.67799999999999994). Exact big-integer arithmetic, no floating point involved.

/// A value of the 64-bit-mantissa format: `mant * 2^exp` (mant's top bit set when normal), or an
/// infinity. NaN never appears: string2ld rejects it and finite sums cannot produce it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LongDouble {
    Finite { neg: bool, mant: u64, exp: i32 },
    Inf { neg: bool },
}

/// Smallest exponent (of a 64-bit mantissa) the format reaches: subnormals bottom out here.
const MIN_EXP: i64 = -16445;
/// Largest exponent of a normalized 64-bit mantissa (values below 2^16384).
const MAX_EXP: i64 = 16320;

impl LongDouble {
    pub const ZERO: LongDouble = LongDouble::Finite { neg: false, mant: 0, exp: 0 };

    /// Redis's string2ld: the whole input must be a number strtold accepts (decimal or hex,
    /// "inf"/"infinity", optional sign), without leading space, at most 5119 bytes, not NaN, and
    /// neither overflowing nor underflowing to zero.
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() >= 5 * 1024 { return None; }
        let (neg, body) = match s[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let lower = body.to_ascii_lowercase();
        if lower == b"inf" || lower == b"infinity" { return Some(LongDouble::Inf { neg }); }
        let v = if lower.starts_with(b"0x") { parse_hex(&body[2..])? } else { parse_decimal(body)? };
        match v {
            Parsed::Zero => Some(LongDouble::Finite { neg, mant: 0, exp: 0 }),
            Parsed::Overflow | Parsed::Underflow => None,
            Parsed::Value(mant, exp) => Some(LongDouble::Finite { neg, mant, exp }),
        }
    }

    pub fn is_finite(&self) -> bool { matches!(self, LongDouble::Finite { .. }) }

    /// A double widened exactly (as C does passing it to a long double parameter).
    pub fn from_f64(d: f64) -> LongDouble {
        let bits = d.to_bits();
        let neg = bits >> 63 == 1;
        let biased = ((bits >> 52) & 0x7ff) as i32;
        let fraction = bits & ((1 << 52) - 1);
        if biased == 0x7ff {
            return LongDouble::Inf { neg };
        }
        if biased == 0 && fraction == 0 {
            return LongDouble::Finite { neg, mant: 0, exp: 0 };
        }
        // value = m * 2^e with m of 53 bits (normal) or fewer (subnormal): top bit to bit 63.
        let (m, e) = if biased == 0 { (fraction, -1074) } else { (fraction | (1 << 52), biased - 1075) };
        let shift = m.leading_zeros() as i32;
        LongDouble::Finite { neg, mant: m << shift, exp: e - shift }
    }

    /// Correctly rounded (to nearest, ties to even) sum, overflowing to an infinity. (inf + -inf
    /// would be NaN in C; it comes out as an infinity here, which callers reject the same way.)
    #[allow(clippy::should_implement_trait)] // one operation, not an operator type
    pub fn add(self, other: LongDouble) -> LongDouble {
        match (self, other) {
            (LongDouble::Finite { neg: na, mant: ma, exp: ea }, LongDouble::Finite { neg: nb, mant: mb, exp: eb }) => {
                add_finite((na, ma, ea), (nb, mb, eb))
            }
            (LongDouble::Inf { neg }, _) | (_, LongDouble::Inf { neg }) => LongDouble::Inf { neg },
        }
    }

    /// ld2string(LD_STR_HUMAN): `%.17Lf`, trailing zeros (and a bare '.') removed, "-0" as "0".
    pub fn to_human(&self) -> Vec<u8> {
        let (neg, mant, exp) = match *self {
            LongDouble::Inf { neg } => return if neg { b"-inf".to_vec() } else { b"inf".to_vec() },
            LongDouble::Finite { neg, mant, exp } => (neg, mant, exp),
        };
        const SCALE: u64 = 100_000_000_000_000_000; // 10^17
        let (int_part, frac) = if exp >= 0 {
            (Big::from_u64(mant).shl(exp as usize), 0u64)
        } else {
            let s = (-exp) as usize;
            let int = if s >= 64 { 0 } else { mant >> s };
            let frac_bits = Big::from_u64(mant).low_bits(s);
            let scaled = frac_bits.mul_u64(SCALE);
            let mut q = scaled.shr(s).to_u64();
            let rem = scaled.low_bits(s);
            let half = Big::from_u64(1).shl(s - 1);
            let round_up = match rem.cmp(&half) {
                std::cmp::Ordering::Greater => true,
                std::cmp::Ordering::Equal => q & 1 == 1,
                std::cmp::Ordering::Less => false,
            };
            let mut int = int as u128;
            if round_up {
                q += 1;
                if q == SCALE {
                    q = 0;
                    int += 1;
                }
            }
            (Big::from_u128(int), q)
        };
        let mut out = Vec::new();
        if neg { out.push(b'-'); }
        out.extend_from_slice(&int_part.to_decimal());
        out.push(b'.');
        let digits = frac.to_string();
        out.extend(std::iter::repeat_n(b'0', 17 - digits.len()));
        out.extend_from_slice(digits.as_bytes());
        while out.last() == Some(&b'0') { out.pop(); }
        if out.last() == Some(&b'.') { out.pop(); }
        if out == b"-0" { out = b"0".to_vec(); }
        out
    }
}

fn add_finite((na, ma, ea): (bool, u64, i32), (nb, mb, eb): (bool, u64, i32)) -> LongDouble {
    if ma == 0 && mb == 0 { return LongDouble::Finite { neg: na && nb, mant: 0, exp: 0 }; }
    if ma == 0 { return LongDouble::Finite { neg: nb, mant: mb, exp: eb }; }
    if mb == 0 { return LongDouble::Finite { neg: na, mant: ma, exp: ea }; }
    let base = ea.min(eb);
    let a = Big::from_u64(ma).shl((ea - base) as usize);
    let b = Big::from_u64(mb).shl((eb - base) as usize);
    let (neg, magnitude) = if na == nb {
        (na, a.add(&b))
    } else {
        match a.cmp(&b) {
            std::cmp::Ordering::Equal => return LongDouble::ZERO,
            std::cmp::Ordering::Greater => (na, a.sub(&b)),
            std::cmp::Ordering::Less => (nb, b.sub(&a)),
        }
    };
    match round(magnitude, base as i64, false) {
        Parsed::Value(mant, exp) => LongDouble::Finite { neg, mant, exp },
        Parsed::Overflow => LongDouble::Inf { neg },
        Parsed::Zero | Parsed::Underflow => LongDouble::Finite { neg, mant: 0, exp: 0 },
    }
}

enum Parsed {
    Zero,
    Value(u64, i32),
    Overflow,
    /// A non-zero input that rounds to zero (strtold's ERANGE with a zero result).
    Underflow,
}

/// Rounds `n * 2^exp2` (plus a non-zero remainder below it when `sticky`) to the format.
fn round(n: Big, exp2: i64, sticky: bool) -> Parsed {
    let len = n.bit_len() as i64;
    if len == 0 { return if sticky { Parsed::Underflow } else { Parsed::Zero }; }
    let shift = (len - 64).max(MIN_EXP - exp2);
    let (mant, exp) = if shift <= 0 {
        (n.shl((-shift) as usize).to_u64(), exp2 + shift)
    } else {
        let s = shift as usize;
        let q = n.shr(s);
        let half = n.bit(s - 1);
        let lower = sticky || n.any_low_bits(s - 1);
        let mut m = q.to_u64();
        let mut e = exp2 + shift;
        if half && (lower || m & 1 == 1) {
            let (next, carried) = m.overflowing_add(1);
            if carried {
                m = 1 << 63;
                e += 1;
            } else {
                m = next;
            }
        }
        (m, e)
    };
    // `shift` never takes the exponent below MIN_EXP: tiny values keep fewer mantissa bits
    // (subnormals), and one that rounds away entirely underflowed.
    if mant == 0 { return Parsed::Underflow; }
    if exp > MAX_EXP { return Parsed::Overflow; }
    Parsed::Value(mant, exp as i32)
}

/// Decimal strtold syntax: digits with an optional '.', then an optional exponent.
fn parse_decimal(s: &[u8]) -> Option<Parsed> {
    let mut digits = Vec::with_capacity(s.len());
    let mut i = 0;
    let mut frac_digits: i64 = 0;
    let mut seen_digit = false;
    while i < s.len() && s[i].is_ascii_digit() {
        digits.push(s[i] - b'0');
        seen_digit = true;
        i += 1;
    }
    if i < s.len() && s[i] == b'.' {
        i += 1;
        while i < s.len() && s[i].is_ascii_digit() {
            digits.push(s[i] - b'0');
            frac_digits += 1;
            seen_digit = true;
            i += 1;
        }
    }
    if !seen_digit { return None; }
    let mut exp10: i64 = 0;
    if i < s.len() && (s[i] == b'e' || s[i] == b'E') {
        let mut j = i + 1;
        let eneg = j < s.len() && s[j] == b'-';
        if j < s.len() && (s[j] == b'-' || s[j] == b'+') { j += 1; }
        if j >= s.len() || !s[j].is_ascii_digit() { return None; }
        while j < s.len() && s[j].is_ascii_digit() {
            // Saturate: anything this large over- or underflows anyway.
            exp10 = (exp10 * 10 + (s[j] - b'0') as i64).min(1_000_000);
            j += 1;
        }
        if eneg { exp10 = -exp10; }
        i = j;
    }
    if i != s.len() { return None; }
    let first_nonzero = digits.iter().position(|&d| d != 0);
    let Some(start) = first_nonzero else { return Some(Parsed::Zero) };
    let digits = &digits[start..];
    let exp10 = exp10 - frac_digits;
    let magnitude = exp10 + digits.len() as i64; // value < 10^magnitude
    if magnitude > 4934 { return Some(Parsed::Overflow); }
    if magnitude < -4952 { return Some(Parsed::Underflow); }
    let mut n = Big::zero();
    for chunk in digits.chunks(9) {
        let mut v = 0u32;
        for &d in chunk { v = v * 10 + d as u32; }
        n = n.mul_small(10u32.pow(chunk.len() as u32)).add_small(v);
    }
    if exp10 >= 0 {
        return Some(round(n.mul(&Big::pow10(exp10 as u32)), 0, false));
    }
    let den = Big::pow10((-exp10) as u32);
    // Enough quotient bits for 64 plus rounding: shift the numerator up first.
    let s = (66 + den.bit_len() as i64 - n.bit_len() as i64).max(0) as usize;
    let (q, rem_nonzero) = n.shl(s).div_rem_nonzero(&den);
    Some(round(q, -(s as i64), rem_nonzero))
}

/// Hex strtold syntax after "0x": hex digits with an optional '.', then an optional p-exponent.
fn parse_hex(s: &[u8]) -> Option<Parsed> {
    let mut n = Big::zero();
    let mut i = 0;
    let mut seen = false;
    let mut exp2: i64 = 0;
    let hex = |c: u8| (c as char).to_digit(16);
    while i < s.len() && hex(s[i]).is_some() {
        n = n.mul_small(16).add_small(hex(s[i])?);
        seen = true;
        i += 1;
    }
    if i < s.len() && s[i] == b'.' {
        i += 1;
        while i < s.len() && hex(s[i]).is_some() {
            n = n.mul_small(16).add_small(hex(s[i])?);
            exp2 -= 4;
            seen = true;
            i += 1;
        }
    }
    if !seen { return None; }
    if i < s.len() && (s[i] == b'p' || s[i] == b'P') {
        let mut j = i + 1;
        let eneg = j < s.len() && s[j] == b'-';
        if j < s.len() && (s[j] == b'-' || s[j] == b'+') { j += 1; }
        if j >= s.len() || !s[j].is_ascii_digit() { return None; }
        let mut e: i64 = 0;
        while j < s.len() && s[j].is_ascii_digit() {
            e = (e * 10 + (s[j] - b'0') as i64).min(1_000_000);
            j += 1;
        }
        exp2 += if eneg { -e } else { e };
        i = j;
    }
    if i != s.len() { return None; }
    if n.bit_len() == 0 { return Some(Parsed::Zero); }
    let top = exp2 + n.bit_len() as i64;
    if top > 16400 { return Some(Parsed::Overflow); }
    if top < -16500 { return Some(Parsed::Underflow); }
    Some(round(n, exp2, false))
}

/// A minimal unsigned big integer (little-endian 32-bit limbs, no trailing zero limbs).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn zero() -> Big { Big(Vec::new()) }

    fn from_u64(v: u64) -> Big { Big::from_u128(v as u128) }

    fn from_u128(mut v: u128) -> Big {
        let mut limbs = Vec::new();
        while v > 0 {
            limbs.push(v as u32);
            v >>= 32;
        }
        Big(limbs)
    }

    fn trim(mut self) -> Big {
        while self.0.last() == Some(&0) { self.0.pop(); }
        self
    }

    fn bit_len(&self) -> usize {
        match self.0.last() {
            None => 0,
            Some(&top) => (self.0.len() - 1) * 32 + (32 - top.leading_zeros() as usize),
        }
    }

    fn bit(&self, i: usize) -> bool { self.0.get(i / 32).is_some_and(|l| l >> (i % 32) & 1 == 1) }

    /// True when any of the lowest `n` bits is set.
    fn any_low_bits(&self, n: usize) -> bool {
        let full = n / 32;
        if self.0.iter().take(full).any(|&l| l != 0) { return true; }
        let rest = n % 32;
        rest > 0 && self.0.get(full).is_some_and(|&l| l & ((1u32 << rest) - 1) != 0)
    }

    fn low_bits(&self, n: usize) -> Big {
        let full = n / 32;
        let mut limbs: Vec<u32> = self.0.iter().take(full).copied().collect();
        let rest = n % 32;
        if rest > 0 {
            if let Some(&l) = self.0.get(full) { limbs.push(l & ((1u32 << rest) - 1)); }
        }
        Big(limbs).trim()
    }

    fn to_u64(&self) -> u64 {
        self.0.iter().take(2).enumerate().fold(0u64, |acc, (i, &l)| acc | (l as u64) << (32 * i))
    }

    fn shl(&self, n: usize) -> Big {
        if self.0.is_empty() { return Big::zero(); }
        let (limbs, bits) = (n / 32, n % 32);
        let mut out = vec![0u32; limbs];
        let mut carry = 0u32;
        for &l in &self.0 {
            if bits == 0 {
                out.push(l);
            } else {
                out.push(l << bits | carry);
                carry = l >> (32 - bits);
            }
        }
        if carry != 0 { out.push(carry); }
        Big(out).trim()
    }

    fn shr(&self, n: usize) -> Big {
        let (limbs, bits) = (n / 32, n % 32);
        if limbs >= self.0.len() { return Big::zero(); }
        let src = &self.0[limbs..];
        let mut out = Vec::with_capacity(src.len());
        for i in 0..src.len() {
            let hi = if bits == 0 { 0 } else { src.get(i + 1).map_or(0, |&h| h << (32 - bits)) };
            out.push(src[i] >> bits | hi);
        }
        Big(out).trim()
    }

    fn add(&self, other: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len().max(other.0.len()) + 1);
        let mut carry = 0u64;
        for i in 0..self.0.len().max(other.0.len()) {
            let s = *self.0.get(i).unwrap_or(&0) as u64 + *other.0.get(i).unwrap_or(&0) as u64 + carry;
            out.push(s as u32);
            carry = s >> 32;
        }
        if carry != 0 { out.push(carry as u32); }
        Big(out).trim()
    }

    /// self - other, for self >= other.
    fn sub(&self, other: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len());
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let mut d = self.0[i] as i64 - *other.0.get(i).unwrap_or(&0) as i64 - borrow;
            borrow = if d < 0 { d += 1 << 32; 1 } else { 0 };
            out.push(d as u32);
        }
        Big(out).trim()
    }

    fn cmp(&self, other: &Big) -> std::cmp::Ordering {
        self.0.len().cmp(&other.0.len()).then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    fn mul_small(&self, m: u32) -> Big {
        let mut out = Vec::with_capacity(self.0.len() + 1);
        let mut carry = 0u64;
        for &l in &self.0 {
            let p = l as u64 * m as u64 + carry;
            out.push(p as u32);
            carry = p >> 32;
        }
        if carry != 0 { out.push(carry as u32); }
        Big(out).trim()
    }

    fn mul_u64(&self, m: u64) -> Big { self.mul(&Big::from_u64(m)) }

    fn add_small(&self, a: u32) -> Big { self.add(&Big::from_u64(a as u64)) }

    fn mul(&self, other: &Big) -> Big {
        if self.0.is_empty() || other.0.is_empty() { return Big::zero(); }
        let mut out = vec![0u32; self.0.len() + other.0.len()];
        for (i, &a) in self.0.iter().enumerate() {
            let mut carry = 0u64;
            for (j, &b) in other.0.iter().enumerate() {
                let t = out[i + j] as u64 + a as u64 * b as u64 + carry;
                out[i + j] = t as u32;
                carry = t >> 32;
            }
            let mut k = i + other.0.len();
            while carry != 0 {
                let t = out[k] as u64 + carry;
                out[k] = t as u32;
                carry = t >> 32;
                k += 1;
            }
        }
        Big(out).trim()
    }

    fn pow10(n: u32) -> Big {
        // Square-and-multiply keeps the big multiplications few for exponents in the thousands.
        let (mut result, mut base, mut e) = (Big::from_u64(1), Big::from_u64(10), n);
        while e > 0 {
            if e & 1 == 1 { result = result.mul(&base); }
            e >>= 1;
            if e > 0 { base = base.mul(&base); }
        }
        result
    }

    /// Quotient (which must fit in u128 bits' worth of steps: callers keep it near 2^66) and
    /// whether a remainder is left, by shift-and-subtract.
    fn div_rem_nonzero(&self, den: &Big) -> (Big, bool) {
        if self.cmp(den) == std::cmp::Ordering::Less { return (Big::zero(), !self.0.is_empty()); }
        let top = self.bit_len() - den.bit_len();
        let mut rem = self.clone();
        let mut d = den.shl(top);
        let mut q = Big::zero();
        for i in (0..=top).rev() {
            if rem.cmp(&d) != std::cmp::Ordering::Less {
                rem = rem.sub(&d);
                q = q.add(&Big::from_u64(1).shl(i));
            }
            d = d.shr(1);
        }
        (q, !rem.0.is_empty())
    }

    fn to_decimal(&self) -> Vec<u8> {
        if self.0.is_empty() { return b"0".to_vec(); }
        let mut chunks = Vec::new();
        let mut n = self.0.clone();
        while !n.is_empty() {
            let mut rem = 0u64;
            for l in n.iter_mut().rev() {
                let cur = rem << 32 | *l as u64;
                *l = (cur / 1_000_000_000) as u32;
                rem = cur % 1_000_000_000;
            }
            while n.last() == Some(&0) { n.pop(); }
            chunks.push(rem as u32);
        }
        let mut out = chunks.last().expect("non-zero").to_string().into_bytes();
        for c in chunks.iter().rev().skip(1) { out.extend_from_slice(format!("{c:09}").as_bytes()); }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incr(a: &str, b: &str) -> String {
        let x = LongDouble::parse(a.as_bytes()).unwrap();
        let y = LongDouble::parse(b.as_bytes()).unwrap();
        String::from_utf8(x.add(y).to_human()).unwrap()
    }

    #[test]
    fn matches_redis_outputs() {
        // Each expected value was printed by redis-server 7.0.15 for HINCRBYFLOAT.
        assert_eq!(incr("0.1", "0.2"), "0.3");
        assert_eq!(incr("0", "12345.678"), "12345.67799999999999994");
        assert_eq!(incr("1e20", "1.5e-10"), "100000000000000000000");
        assert_eq!(incr("0", "3.0e3"), "3000");
        assert_eq!(incr("10.50", "0.1"), "10.6");
        assert_eq!(incr("9223372036854775807", "1"), "9223372036854775808");
        assert_eq!(incr("0", "-0"), "0");
        assert_eq!(incr("1.5", "-1.5"), "0");
        assert_eq!(incr("0", "1e400").len(), 401);
        assert!(incr("0", "1e400").starts_with("100000000000000000002818806839475865"));
        assert_eq!(incr("0x10", "1"), "17");
        assert_eq!(incr("-3", "0.25"), "-2.75");
    }

    #[test]
    fn string2ld_acceptance() {
        for ok in ["1", "-1.5", "+2", ".5", "5.", "1e3", "1E-3", "inf", "-Infinity", "0x1p-2", "0", "1e-4940"] {
            assert!(LongDouble::parse(ok.as_bytes()).is_some(), "{ok}");
        }
        for bad in ["", " 1", "1 ", "nan", "abc", "1e", ".", "e5", "1e5000", "1e-5000", "--1", "0x", "1.2.3"] {
            assert!(LongDouble::parse(bad.as_bytes()).is_none(), "{bad}");
        }
        assert_eq!(LongDouble::parse(b"1e4932").map(|v| v.is_finite()), Some(true));
        assert!(!LongDouble::parse(b"1e4932").unwrap().add(LongDouble::parse(b"1e4932").unwrap()).is_finite());
    }
}

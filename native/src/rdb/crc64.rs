//! Redis's CRC64: the Jones polynomial 0xad93d23594c935a9, reflected, initial
//! value 0, no final xor. It covers an RDB file from the magic through the EOF
//! opcode and is stored little-endian after it (0 means "not computed").
//!
//! The snapshot child runs every byte of the file through this, so it must stay far above
//! disk speed: on x86-64 with PCLMULQDQ, inputs of 128 bytes and more are folded 16 bytes at a
//! time by carry-less multiplication (`clmul`, ~10x the tables' speed); the rest, and other
//! CPUs, use slicing-by-16 with tables built at compile time.

/// The polynomial with its bits reversed, for the reflected (LSB-first) form.
const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;
const SLICES: usize = 16;

const fn build_tables() -> [[u64; 256]; SLICES] {
    let mut tables = [[0u64; 256]; SLICES];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ POLY_REFLECTED } else { crc >> 1 };
            bit += 1;
        }
        tables[0][i] = crc;
        i += 1;
    }
    // tables[k][i] is the CRC of byte i followed by k zero bytes.
    let mut k = 1;
    while k < SLICES {
        let mut i = 0;
        while i < 256 {
            let prev = tables[k - 1][i];
            tables[k][i] = (prev >> 8) ^ tables[0][(prev & 0xff) as usize];
            i += 1;
        }
        k += 1;
    }
    tables
}

static TABLES: [[u64; 256]; SLICES] = build_tables();

/// Extends `crc` (0 to start) over `data`; `crc64(crc64(0, a), b) == crc64(0, a ++ b)`.
pub fn crc64(crc: u64, data: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if data.len() >= clmul::MIN_LEN && clmul::available() {
        return clmul::crc64(crc, data);
    }
    crc64_table(crc, data)
}

/// `crc64` by slicing-by-16.
fn crc64_table(crc: u64, data: &[u8]) -> u64 {
    let t = &TABLES;
    let mut crc = crc;
    let mut chunks = data.chunks_exact(SLICES);
    for chunk in &mut chunks {
        let lo = crc ^ u64::from_le_bytes([
            chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
        ]);
        let hi = u64::from_le_bytes([
            chunk[8], chunk[9], chunk[10], chunk[11], chunk[12], chunk[13], chunk[14], chunk[15],
        ]);
        crc = t[15][(lo & 0xff) as usize]
            ^ t[14][((lo >> 8) & 0xff) as usize]
            ^ t[13][((lo >> 16) & 0xff) as usize]
            ^ t[12][((lo >> 24) & 0xff) as usize]
            ^ t[11][((lo >> 32) & 0xff) as usize]
            ^ t[10][((lo >> 40) & 0xff) as usize]
            ^ t[9][((lo >> 48) & 0xff) as usize]
            ^ t[8][(lo >> 56) as usize]
            ^ t[7][(hi & 0xff) as usize]
            ^ t[6][((hi >> 8) & 0xff) as usize]
            ^ t[5][((hi >> 16) & 0xff) as usize]
            ^ t[4][((hi >> 24) & 0xff) as usize]
            ^ t[3][((hi >> 32) & 0xff) as usize]
            ^ t[2][((hi >> 40) & 0xff) as usize]
            ^ t[1][((hi >> 48) & 0xff) as usize]
            ^ t[0][(hi >> 56) as usize];
    }
    for &byte in chunks.remainder() {
        crc = t[0][((crc ^ byte as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

/// The polynomial in normal form: bit i is the coefficient of x^i (x^64 implied).
const POLY_NORMAL: u64 = POLY_REFLECTED.reverse_bits();

/// x^n mod P in normal form.
const fn x_pow_mod(n: u32) -> u64 {
    let mut r: u64 = 1;
    let mut i = 0;
    while i < n {
        let carry = r >> 63;
        r <<= 1;
        if carry == 1 {
            r ^= POLY_NORMAL;
        }
        i += 1;
    }
    r
}

/// The constant that moves a 64-bit half `d` bits further along the message: x^n mod P,
/// reflected, with n one less than the distance because a reflected carry-less product comes
/// out multiplied by x (see `clmul`).
const fn fold_constant(n: u32) -> u64 {
    x_pow_mod(n).reverse_bits()
}

/// Carry-less folding. A 16-byte block loaded little-endian is a polynomial whose low half
/// (the first 8 bytes) holds the higher coefficients: A = L0*x^64 + L1. Moving it `d` bits
/// along, A*x^d = L0*x^(d+64) + L1*x^d, is two products with x^(d+63) and x^(d-1) mod P. The
/// state stays congruent to the message mod P, and a CRC only depends on the message mod P,
/// so the last 16-byte state's CRC (by the tables) is the message's.
#[cfg(target_arch = "x86_64")]
mod clmul {
    use std::arch::x86_64::{__m128i, _mm_clmulepi64_si128, _mm_loadu_si128, _mm_set_epi64x, _mm_storeu_si128, _mm_xor_si128};

    use super::{crc64_table, fold_constant};

    /// Below this the tables are as fast (the eight lanes need 128 bytes to start).
    pub const MIN_LEN: usize = 128;
    const LANES: usize = 8;
    /// (low half, high half) constants: 8 blocks (1024 bits) ahead, and 1 block (128 bits).
    const AHEAD_8_BLOCKS: (u64, u64) = (fold_constant(1024 + 63), fold_constant(1024 - 1));
    const AHEAD_1_BLOCK: (u64, u64) = (fold_constant(128 + 63), fold_constant(128 - 1));

    pub fn available() -> bool {
        std::arch::is_x86_feature_detected!("pclmulqdq")
    }

    /// `super::crc64` for `data` of at least `MIN_LEN` bytes, once `available()` said yes.
    pub fn crc64(crc: u64, data: &[u8]) -> u64 {
        assert!(data.len() >= MIN_LEN && available());
        // SAFETY: the CPU has PCLMULQDQ (checked just above); SSE2 is part of x86-64.
        unsafe { fold_all(crc, data) }
    }

    #[target_feature(enable = "pclmulqdq")]
    unsafe fn fold_all(crc: u64, data: &[u8]) -> u64 {
        let blocks = data.len() / 16;
        // SAFETY: every block index read is below `blocks`, so its 16 bytes are inside `data`;
        // loadu has no alignment requirement.
        let block = |i: usize| unsafe { _mm_loadu_si128(data.as_ptr().add(i * 16).cast::<__m128i>()) };
        let ahead8 = _mm_set_epi64x(AHEAD_8_BLOCKS.1 as i64, AHEAD_8_BLOCKS.0 as i64);
        let ahead1 = _mm_set_epi64x(AHEAD_1_BLOCK.1 as i64, AHEAD_1_BLOCK.0 as i64);

        // Starting from `crc` is the same as xoring it into the message's first 8 bytes.
        let mut lanes: [__m128i; LANES] = std::array::from_fn(block);
        lanes[0] = _mm_xor_si128(lanes[0], _mm_set_epi64x(0, crc as i64));
        let mut next = LANES;
        while next + LANES <= blocks {
            for (j, lane) in lanes.iter_mut().enumerate() {
                *lane = _mm_xor_si128(fold(*lane, ahead8), block(next + j));
            }
            next += LANES;
        }
        let mut state = lanes[0];
        for lane in &lanes[1..] {
            state = _mm_xor_si128(fold(state, ahead1), *lane);
        }
        while next < blocks {
            state = _mm_xor_si128(fold(state, ahead1), block(next));
            next += 1;
        }
        let mut bytes = [0u8; 16];
        // SAFETY: `bytes` has the 16 bytes storeu writes, with no alignment requirement.
        unsafe { _mm_storeu_si128(bytes.as_mut_ptr().cast::<__m128i>(), state) };
        crc64_table(crc64_table(0, &bytes), &data[blocks * 16..])
    }

    #[inline]
    #[target_feature(enable = "pclmulqdq")]
    fn fold(x: __m128i, k: __m128i) -> __m128i {
        _mm_xor_si128(_mm_clmulepi64_si128::<0x00>(x, k), _mm_clmulepi64_si128::<0x11>(x, k))
    }
}

/// `crc64(0, a ++ b)` from `crc_a = crc64(0, a)`, `crc_b = crc64(0, b)` and `b.len()`, without
/// reading either: lets threads checksum their own parts of a file and the writer chain them.
/// The CRC is linear (initial value 0, no final xor), so the result is `crc_a` run through
/// `len_b` zero bytes, xor `crc_b`.
pub fn crc64_combine(crc_a: u64, crc_b: u64, len_b: u64) -> u64 {
    if crc_a == 0 || len_b == 0 {
        // Zero bytes keep a zero state zero; an empty `b` has crc_b == 0.
        return crc_a ^ crc_b;
    }
    let ops = zero_byte_operators();
    let mut crc = crc_a;
    let mut n = len_b;
    let mut k = 0;
    while n != 0 {
        if n & 1 == 1 {
            crc = gf2_apply(&ops[k], crc);
        }
        n >>= 1;
        k += 1;
    }
    crc ^ crc_b
}

/// A linear map on CRC states as its 64 columns: `m[i]` is the image of bit `i`.
type Gf2Matrix = [u64; 64];

fn gf2_apply(m: &Gf2Matrix, mut v: u64) -> u64 {
    let mut out = 0;
    let mut i = 0;
    while v != 0 {
        if v & 1 == 1 {
            out ^= m[i];
        }
        v >>= 1;
        i += 1;
    }
    out
}

fn gf2_square(m: &Gf2Matrix) -> Gf2Matrix {
    let mut out = [0u64; 64];
    for (i, col) in out.iter_mut().enumerate() {
        *col = gf2_apply(m, m[i]);
    }
    out
}

/// `ops[k]` runs a CRC state through 2^k zero bytes. Built once per process (~0.3 ms).
fn zero_byte_operators() -> &'static [Gf2Matrix; 64] {
    static OPS: std::sync::OnceLock<Box<[Gf2Matrix; 64]>> = std::sync::OnceLock::new();
    OPS.get_or_init(|| {
        // One zero bit: shift right, xor the polynomial when the low bit falls out.
        let mut one_bit = [0u64; 64];
        one_bit[0] = POLY_REFLECTED;
        for (i, col) in one_bit.iter_mut().enumerate().skip(1) {
            *col = 1u64 << (i - 1);
        }
        let mut ops = Box::new([[0u64; 64]; 64]);
        ops[0] = gf2_square(&gf2_square(&gf2_square(&one_bit)));
        for k in 1..64 {
            ops[k] = gf2_square(&ops[k - 1]);
        }
        ops
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit-at-a-time reference, straight from the definition.
    fn crc64_bitwise(mut crc: u64, data: &[u8]) -> u64 {
        for &byte in data {
            crc ^= byte as u64;
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ POLY_REFLECTED } else { crc >> 1 };
            }
        }
        crc
    }

    #[test]
    fn redis_check_value() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6d914c4b8d9ca);
        assert_eq!(crc64(0, b""), 0);
    }

    #[test]
    fn redis_test_vectors() {
        // From the self-test in Redis's crc64.c, which hashes sizeof(li): the text plus its NUL.
        let li = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum.\0";
        assert_eq!(li.len(), 446);
        assert_eq!(crc64(0, li), 0xc7794709e69683b3);
    }

    #[test]
    fn sliced_matches_bitwise_at_every_length_and_split() {
        let data: Vec<u8> = (0..300u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        for len in 0..data.len() {
            assert_eq!(crc64(0, &data[..len]), crc64_bitwise(0, &data[..len]), "len {len}");
        }
        let whole = crc64(0, &data);
        for split in 0..data.len() {
            assert_eq!(crc64(crc64(0, &data[..split]), &data[split..]), whole, "split {split}");
        }
    }

    #[test]
    fn the_polynomial_is_jones() {
        assert_eq!(POLY_NORMAL, 0xad93_d235_94c9_35a9);
    }

    #[test]
    fn folded_matches_the_tables_at_every_length_start_and_seed() {
        let data: Vec<u8> = (0..2200u32).map(|i| (i.wrapping_mul(2654435761) >> 7) as u8).collect();
        for len in 0..data.len() {
            assert_eq!(crc64(0, &data[..len]), crc64_table(0, &data[..len]), "len {len}");
        }
        for start in 0..40 {
            for seed in [0, 1, 0xdead_beef_cafe_f00d, u64::MAX] {
                let part = &data[start..];
                assert_eq!(crc64(seed, part), crc64_table(seed, part), "start {start} seed {seed:x}");
            }
        }
        let big: Vec<u8> = (0..1_000_003u32).map(|i| (i.wrapping_mul(2246822519) >> 11) as u8).collect();
        assert_eq!(crc64(7, &big), crc64_table(7, &big));
    }

    #[test]
    fn combine_matches_the_crc_of_the_concatenation() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2246822519) >> 11) as u8).collect();
        let whole = crc64(0, &data);
        for split in [0, 1, 7, 8, 15, 16, 17, 255, 256, 1000, 4095, 4096, 4999, 5000] {
            let (a, b) = data.split_at(split);
            assert_eq!(crc64_combine(crc64(0, a), crc64(0, b), b.len() as u64), whole, "split {split}");
        }
        // Chaining many parts, as the parallel RDB writer does.
        let mut crc = 0;
        for part in data.chunks(333) {
            crc = crc64_combine(crc, crc64(0, part), part.len() as u64);
        }
        assert_eq!(crc, whole);
    }

    #[test]
    fn zero_byte_operator_matches_the_table() {
        let ops = zero_byte_operators();
        for state in [1u64, 0x8000_0000_0000_0000, 0xdead_beef_cafe_f00d, u64::MAX] {
            assert_eq!(gf2_apply(&ops[0], state), crc64(state, &[0]));
            assert_eq!(gf2_apply(&ops[10], state), crc64(state, &[0u8; 1024]));
        }
    }
}

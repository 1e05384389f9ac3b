//! Redis's CRC64: the Jones polynomial 0xad93d23594c935a9, reflected, initial
//! value 0, no final xor. It covers an RDB file from the magic through the EOF
//! opcode and is stored little-endian after it (0 means "not computed").
//!
//! Slicing-by-16 with tables built at compile time: the snapshot child runs
//! every byte of the file through this, so it must stay far above disk speed.

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
}

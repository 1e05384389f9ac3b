//! LEB128 lengths (7 bits per byte, low bits first, high bit = more follows): the length
//! prefixes of the packed small-collection layouts (list chunks, listpack-like hashes and
//! sorted sets).

/// Bytes `n` takes.
#[inline]
pub fn size(mut n: usize) -> usize {
    let mut size = 1;
    while n >= 0x80 {
        n >>= 7;
        size += 1;
    }
    size
}

#[inline]
pub fn push(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Writes `n` at the start of `out` (which has room for `size(n)` bytes); returns that size.
#[inline]
pub fn write(out: &mut [u8], mut n: usize) -> usize {
    let mut i = 0;
    while n >= 0x80 {
        out[i] = (n as u8 & 0x7f) | 0x80;
        n >>= 7;
        i += 1;
    }
    out[i] = n as u8;
    i + 1
}

/// Reads a length at `at`: (value, position after it).
#[inline]
pub fn read(buf: &[u8], mut at: usize) -> (usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    loop {
        let b = buf[at];
        at += 1;
        n |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 { return (n, at); }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips() {
        for n in [0usize, 1, 127, 128, 300, 16383, 16384, usize::MAX >> 1] {
            let mut v = Vec::new();
            super::push(&mut v, n);
            assert_eq!(v.len(), super::size(n));
            assert_eq!(super::read(&v, 0), (n, v.len()));
            let mut w = [0u8; 10];
            assert_eq!(super::write(&mut w, n), v.len());
            assert_eq!(&w[..v.len()], &v[..]);
        }
    }
}

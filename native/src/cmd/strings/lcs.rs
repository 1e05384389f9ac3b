//! Longest common subsequence for the LCS command, with Redis's exact tie-breaking: the walk
//! back through the table prefers stepping in `b` (j--) unless LCS(i-1,j) is strictly longer,
//! and matches are reported as ranges from the end of the strings towards their start.
//! The caller bounds the table size (Redis's proto-max-bulk-len rule) before calling.

/// One run of contiguous matching bytes: inclusive ranges in `a` and in `b`.
#[derive(Debug, PartialEq, Eq)]
pub struct Match {
    pub a: (u32, u32),
    pub b: (u32, u32),
    pub len: u32,
}

pub struct Lcs {
    /// The common subsequence itself.
    pub common: Vec<u8>,
    /// Every contiguous run, last one first (Redis's order).
    pub matches: Vec<Match>,
}

/// Only the length: two rows of the table.
pub fn lcs_len(a: &[u8], b: &[u8]) -> u32 {
    let mut prev = vec![0u32; b.len() + 1];
    let mut cur = vec![0u32; b.len() + 1];
    for &ca in a {
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = if ca == cb { prev[j] + 1 } else { prev[j + 1].max(cur[j]) };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The full computation; None when the table cannot be allocated.
pub fn lcs(a: &[u8], b: &[u8]) -> Option<Lcs> {
    let width = b.len() + 1;
    let cells = (a.len() + 1).checked_mul(width)?;
    let mut table: Vec<u32> = Vec::new();
    table.try_reserve_exact(cells).ok()?;
    table.resize(cells, 0);
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    let at = |i: usize, j: usize| table[i * width + j];
    let total = at(a.len(), b.len()) as usize;
    let mut common = vec![0u8; total];
    let mut matches = Vec::new();
    let mut left = total;
    // The open range, as (a_start, a_end, b_start, b_end).
    let mut open: Option<(usize, usize, usize, usize)> = None;
    let (mut i, mut j) = (a.len(), b.len());
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            common[left - 1] = a[i - 1];
            open = Some(match open {
                None => (i - 1, i - 1, j - 1, j - 1),
                // After a match both indexes moved back by one: the range always extends.
                Some((_, ae, _, be)) => (i - 1, ae, j - 1, be),
            });
            if i - 1 == 0 || j - 1 == 0 { emit = true; }
            left -= 1;
            i -= 1;
            j -= 1;
        } else {
            if at(i - 1, j) > at(i, j - 1) { i -= 1; } else { j -= 1; }
            if open.is_some() { emit = true; }
        }
        if emit {
            if let Some((as_, ae, bs, be)) = open.take() {
                matches.push(Match { a: (as_ as u32, ae as u32), b: (bs as u32, be as u32), len: (ae - as_ + 1) as u32 });
            }
        }
    }
    Some(Lcs { common, matches })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_doc_example() {
        let r = lcs(b"ohmytext", b"mynewtext").unwrap();
        assert_eq!(r.common, b"mytext");
        assert_eq!(r.matches, vec![
            Match { a: (4, 7), b: (5, 8), len: 4 },
            Match { a: (2, 3), b: (0, 1), len: 2 },
        ]);
        assert_eq!(lcs_len(b"ohmytext", b"mynewtext"), 6);
    }

    #[test]
    fn empty_and_disjoint() {
        assert_eq!(lcs(b"", b"abc").unwrap().common, b"");
        assert_eq!(lcs(b"abc", b"xyz").unwrap().matches, vec![]);
        assert_eq!(lcs_len(b"", b""), 0);
    }

    #[test]
    fn len_matches_full() {
        let a = b"the quick brown fox jumps over";
        let b = b"a lazy dog quickly jumped over it";
        assert_eq!(lcs_len(a, b) as usize, lcs(a, b).unwrap().common.len());
    }
}

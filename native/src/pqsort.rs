//! Redis's pqsort.c: Bentley & McIlroy's quicksort that recurses only into the parts
//! overlapping a range of ranks, so that only those end up in order. GEORADIUS with COUNT and
//! SORT with BY and LIMIT use it, and the order it leaves equal elements in is part of their
//! replies, so it is reproduced step for step (median of three or of nine, the equal-keys
//! partitioning, insertion sort for runs below 7). No switch to insertion sort after a
//! partition that swapped nothing, although pqsort.c's text has one: the orders of equal keys
//! redis-server 7.0.15 gives (GEOSEARCH ... COUNT, SORT ... BY ... LIMIT) follow the
//! partition alone, in every one of ~2200 tie cases measured, and the switch contradicts them
//! (test/server/fuzz-regressions.test.ts, docs/handover/fuzz2.md).

use std::cmp::Ordering;

/// Puts the ranks `lrange..=rrange` of `v` in order as Redis's pqsort does.
pub fn partial_sort<T>(v: &mut [T], cmp: &impl Fn(&T, &T) -> Ordering, lrange: usize, rrange: usize) {
    pqsort(v, 0, cmp, lrange, rrange);
}

fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> usize {
    use Ordering::{Greater, Less};
    if cmp(&v[a], &v[b]) == Less {
        if cmp(&v[b], &v[c]) == Less { b } else if cmp(&v[a], &v[c]) == Less { c } else { a }
    } else if cmp(&v[b], &v[c]) == Greater {
        b
    } else if cmp(&v[a], &v[c]) == Less {
        a
    } else {
        c
    }
}

fn insertion_sort<T>(v: &mut [T], cmp: &impl Fn(&T, &T) -> Ordering) {
    for m in 1..v.len() {
        let mut l = m;
        while l > 0 && cmp(&v[l - 1], &v[l]) == Ordering::Greater {
            v.swap(l, l - 1);
            l -= 1;
        }
    }
}

fn vecswap<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

/// `base`: where `v` starts in the whole array (the ranks to sort are absolute).
fn pqsort<T>(mut v: &mut [T], mut base: usize, cmp: &impl Fn(&T, &T) -> Ordering, lrange: usize, rrange: usize) {
    use Ordering::{Equal, Greater, Less};
    loop {
        let n = v.len();
        if n < 7 {
            insertion_sort(v, cmp);
            return;
        }
        let mut pm = n / 2;
        if n > 7 {
            let mut pl = 0;
            let mut pn = n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(0, pm);
        let (mut pa, mut pb) = (1usize, 1usize);
        let (mut pc, mut pd) = (n as isize - 1, n as isize - 1);
        loop {
            while pb as isize <= pc {
                let r = cmp(&v[pb], &v[0]);
                if r == Greater {
                    break;
                }
                if r == Equal {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb as isize <= pc {
                let r = cmp(&v[pc as usize], &v[0]);
                if r == Less {
                    break;
                }
                if r == Equal {
                    v.swap(pc as usize, pd as usize);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb as isize > pc {
                break;
            }
            v.swap(pb, pc as usize);
            pb += 1;
            pc -= 1;
        }
        let pn = n;
        let r = pa.min(pb - pa);
        vecswap(v, 0, pb - r, r);
        let (pc, pd) = (pc as usize, pd as usize);
        let r = (pd - pc).min(pn - pd - 1);
        vecswap(v, pb, pn - r, r);
        let left = pb - pa;
        if left > 1 && !(rrange < base || lrange >= base + left) {
            pqsort(&mut v[..left], base, cmp, lrange, rrange);
        }
        let right = pd - pc;
        if right > 1 {
            let start = pn - right;
            if rrange < base + start || lrange >= base + start + right {
                return;
            }
            v = &mut v[start..];
            base += start;
            continue;
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_sort_orders_the_requested_ranks() {
        let mut x = 12345u64;
        for n in [0usize, 1, 5, 7, 8, 40, 41, 100, 1000] {
            let v: Vec<u64> = (0..n).map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % 50
            }).collect();
            for k in [0usize, 1, 3, 10] {
                if k >= n {
                    continue;
                }
                let mut p = v.clone();
                partial_sort(&mut p, &|a: &u64, b: &u64| a.cmp(b), 0, k);
                let mut s = v.clone();
                s.sort();
                assert_eq!(p[..=k], s[..=k], "n {n} k {k}");
            }
        }
    }
}
